package docs_test

import (
	"os"
	"strings"
	"testing"
)

// TestReadersColumnSaysWhereKeysWork: the bindings table's column of the
// binders whose code reads a key was headed "binders that read it", so
// that consumer.max-attempts, read by RabbitMQ's code only (for SCSt's
// requeue-rejected rule), looked RabbitMQ-only, when the core retries on
// every binder. The column must say that binder code reads the key too,
// and the text above the table that the core reads every key on every
// binder and that the column is not where a key works.
func TestReadersColumnSaysWhereKeysWork(t *testing.T) {
	b, err := os.ReadFile("configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	start := strings.Index(doc, "### Bindings: ")
	if start < 0 {
		t.Fatal("no Bindings section")
	}
	section := doc[start:]
	table := strings.Index(section, "\n| key |")
	if table < 0 {
		t.Fatal("no table in the Bindings section")
	}
	intro, header := section[:table], section[table+1:]
	header = header[:strings.IndexByte(header, '\n')]
	if !strings.Contains(header, "| binder code that also reads it |") {
		t.Errorf("bindings table header %q: want the column 'binder code that also reads it'", header)
	}
	for _, want := range []string{
		"Every key below is read by the core (package stream), whatever the binder",
		"It is not the list of binders where the key works",
	} {
		if !strings.Contains(intro, want) {
			t.Errorf("text above the bindings table lacks %q:\n%s", want, intro)
		}
	}
	// The row that misled: still listing RabbitMQ's code, under that column.
	if !strings.Contains(section, "| `consumer.max-attempts` | `3` | `consumer.maxAttempts` | rabbit |") {
		t.Error("consumer.max-attempts row changed: check this test's premise")
	}
}
