package stream_test

import (
	"context"
	"strings"
	"testing"

	"github.com/streambind/streambind/stream"
)

// TestDefinitionTranspositionHint: a function name with two adjacent
// letters swapped (lgo for log) is one edit from the registered name, so
// the definition's error points at it, as for any other one-letter typo.
// Before, the swap counted two edits, over the bound of a 3-letter name.
func TestDefinitionTranspositionHint(t *testing.T) {
	fns := stream.NewCatalog()
	stream.AddFunction(fns, "uppercase", func(_ context.Context, s string) (string, error) { return strings.ToUpper(s), nil })
	stream.AddConsumer(fns, "log", func(context.Context, string) error { return nil })
	cfg := loadYAML(t, "spring:\n  cloud:\n    function:\n      definition: uppercase;lgo\n")
	_, err := stream.NewApp(cfg, fns, typesOpts("memory")...)
	if err == nil {
		t.Fatal("no error for the unregistered lgo")
	}
	if want := `function "lgo" is not registered; did you mean log?`; !strings.Contains(err.Error(), want) {
		t.Errorf("got %v\nwant it to contain %s", err, want)
	}
}
