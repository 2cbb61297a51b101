package memory_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/streambind/streambind/binder/memory"
	"github.com/streambind/streambind/internal/syncbuf"
	"github.com/streambind/streambind/stream"
)

// A partitioned consumer of a named group with instance-count > 1 reads
// only its share: the other instances' queues are read by nobody unless
// they bind on this broker, and once full every send blocks. The bind
// logs a WARN saying so and what to do; an unpartitioned consumer, one
// of instance-count 1 and an anonymous one (which gets every partition:
// partitioned does not apply to it) log none.
func TestPartitionedConsumerWarnsAtBind(t *testing.T) {
	bd := newBinder(t, newBroker(t, memory.Config{}), nil)
	handler := func(context.Context, stream.Envelope) error { return nil }
	bind := func(group string, cc stream.ConsumerConfig) string {
		var logged syncbuf.Buffer
		consumer(t, bd, stream.ConsumerSpec{Binding: "audit-in-0", Destination: "reservations-" + group, Group: group, Consumer: cc,
			Logger: slog.New(slog.NewTextHandler(&logged, nil)), Handler: handler})
		return logged.String()
	}
	line := bind("audit", stream.ConsumerConfig{Partitioned: true, InstanceCount: 3, InstanceIndex: 2})
	if !strings.Contains(line, "level=WARN") || !strings.Contains(line, "set partitioned: false") ||
		!strings.Contains(line, "instance-count=3") || !strings.Contains(line, "instance-index=2") {
		t.Errorf("instance 2 of 3 bound: logged %q, want the WARN", line)
	}
	for name, cc := range map[string]stream.ConsumerConfig{
		"unpartitioned": {InstanceCount: 3, InstanceIndex: 2},
		"one":           {Partitioned: true, InstanceCount: 1},
	} {
		if line := bind(name, cc); strings.Contains(line, "WARN") {
			t.Errorf("%s: logged %q, want no WARN", name, line)
		}
	}
	if line := bind("", stream.ConsumerConfig{Partitioned: true, InstanceCount: 3, InstanceIndex: 2}); strings.Contains(line, "WARN") {
		t.Errorf("anonymous: logged %q, want no WARN", line)
	}
}
