package stream_test

import (
	"testing"

	"github.com/streambind/streambind/stream"
)

// A trial's handler did m := stream.NewMessage(p); m.Headers[k] = v and
// panicked on the nil map, which sent the message through its retries to
// be dropped.
func TestNewMessageHeadersSettable(t *testing.T) {
	m := stream.NewMessage("p")
	m.Headers[stream.HeaderSendToDestination] = "de" // must not panic
	if got := m.Headers[stream.HeaderSendToDestination]; got != "de" {
		t.Fatalf("header = %q, want de", got)
	}
	m = stream.NewMessage("p", "a", "1", "b", "2", "odd")
	if len(m.Headers) != 2 || m.Headers["a"] != "1" || m.Headers["b"] != "2" {
		t.Fatalf("headers = %v, want a=1 b=2 (the odd trailing key ignored)", m.Headers)
	}
}
