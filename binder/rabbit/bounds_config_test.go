package rabbit

import (
	"strings"
	"testing"

	"github.com/streambind/streambind/stream"
)

// TestCountsBounded: prefetch is AMQP's prefetch-count, 16 bits: a larger
// value was sent truncated (65536 became 0, no limit at all: the broker
// pushed the whole queue; 70000 became 4464), so it is refused at start-up,
// as Spring AMQP's basicQos refuses it. confirm-window and
// publisher-channels size buffers made when the binder is created (a
// lane's queue of confirm-window entries, per lane), so they are bounded
// too.
func TestCountsBounded(t *testing.T) {
	for _, n := range []int{65535, 1} {
		o, err := parseConsumerOptions("c-in-0", 1, map[string]any{"prefetch": n})
		if err != nil || o.prefetch != n {
			t.Errorf("prefetch %d: %v (%d)", n, err, o.prefetch)
		}
	}
	for _, n := range []int{65536, 70000, 1 << 30} {
		_, err := parseConsumerOptions("c-in-0", 1, map[string]any{"prefetch": n})
		if err == nil || !strings.Contains(err.Error(), "prefetch") || !strings.Contains(err.Error(), "at most 65535") {
			t.Errorf("prefetch %d: %v, want refused (at most 65535)", n, err)
		}
	}
	binder := func(k string, v int) error {
		_, err := parseSettings(stream.BinderSettings{Name: "r", Type: Type, Environment: map[string]any{k: v}})
		return err
	}
	for k, max := range map[string]int{"confirm-window": maxConfirmWindow, "publisher-channels": maxPublisherChannels} {
		if err := binder(k, max); err != nil {
			t.Errorf("%s %d: %v", k, max, err)
		}
		if err := binder(k, max+1); err == nil || !strings.Contains(err.Error(), k) {
			t.Errorf("%s %d: %v, want refused", k, max+1, err)
		}
	}
}
