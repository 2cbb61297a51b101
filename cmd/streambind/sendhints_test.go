package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/kafka/kafkatest"
)

// TestSendSaysWhatIsWrong: send's errors say what the user got wrong in
// their words: a 'null' payload on a binding whose
// partition-key-expression reads payload.id is "the payload is null: it
// has no field \"id\"" (it was `cannot take "id" of invalid`), and a
// --header content-type=text/plain (headers are case-sensitive) that left
// the binding's JSON type to check "hello" against points at contentType.
func TestSendSaysWhatIsWrong(t *testing.T) {
	t.Parallel()
	c := kafkatest.Start(t)
	topic := fmt.Sprintf("cli-%d", time.Now().UnixNano())
	dir := writeFiles(t, map[string]string{"application.yaml": fmt.Sprintf(kafkaService, topic)})
	env := []string{"KAFKA_BROKERS=" + c.Brokers()}
	r := runIn(t, dir, env, "send", "--binding", "emit-out-0", "null")
	if r.code != exitFailure || !strings.Contains(r.stderr, `the payload is null: it has no field "id"`) || strings.Contains(r.stderr, "invalid") {
		t.Errorf("send null: exit status %d, stderr %q", r.code, r.stderr)
	}
	for _, h := range []string{"content-type", "Content-Type", "contenttype"} {
		r = runIn(t, dir, env, "send", "--destination", topic, "--header", h+"=text/plain", "hello")
		want := fmt.Sprintf(`the content type's header is contentType, not %q: --header contentType=text/plain`, h)
		if r.code != exitFailure || !strings.Contains(r.stderr, `argument 1 is not JSON (content type application/json)`) || !strings.Contains(r.stderr, want) {
			t.Errorf("send --header %s=text/plain: exit status %d, stderr %q; want %q", h, r.code, r.stderr, want)
		}
	}
}
