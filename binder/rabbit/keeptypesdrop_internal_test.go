package rabbit

import (
	"strings"
	"testing"

	amqp "github.com/rabbitmq/amqp091-go"
)

// A header adjust leaves out (a dead letter's x-death of wait queues
// only) stays out when the typed headers are too large to go and the
// text ones go instead (the reviewer: the whole typed table was thrown
// away, the drop with it, and x-death went out as the Go printing of the
// entries it was to leave out).
func TestKeepHeaderTypesTooLargeKeepsDrops(t *testing.T) {
	death := []any{amqp.Table{"queue": "q.wait", "count": int64(1)}}
	orig := amqp.Table{"x-death": death, "n": int64(7), "big": strings.Repeat("b", 200)}
	msg := amqp.Publishing{Headers: amqp.Table{"x-death": headerString(death), "n": "7", "big": strings.Repeat("b", 200)}}
	drop := func(k string, v any) any {
		if k == "x-death" {
			return dropHeader{}
		}
		return v
	}
	keepHeaderTypes(&msg, orig, 10, drop) // room for no table
	if _, ok := msg.Headers["x-death"]; ok {
		t.Errorf("x-death went out (as %T) though adjust left it out", msg.Headers["x-death"])
	}
	if msg.Headers["n"] != "7" {
		t.Errorf("n = %#v; want the text 7 (the typed table did not fit)", msg.Headers["n"])
	}
	if _, ok := orig["x-death"]; !ok {
		t.Error("the original's headers were changed")
	}
}
