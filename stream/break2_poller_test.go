package stream_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/memory"
	"github.com/streambind/streambind/stream"
)

// Second-round regression tests for the polled-supplier poller (after
// 4ef01a1 and c79200e). They fail on the code they were written against;
// each says what is wrong and what is expected.

// TestBreak2PollerRestartDuringPollBeginsAnew: 4ef01a1 made a restart
// during the poller's wait begin the schedule anew (Binding.stateChanged
// ends the wait), as PollerConfig's doc and docs/conventions.md promise ("A
// binding stopped and started again begins its schedule anew,
// initial-delay included, as SCSt's poller does": SCSt stops the
// SourcePollingChannelAdapter with its binding — cancelling the running
// poll — and the restarted adapter schedules a fresh PeriodicTrigger whose
// first execution is now + initial-delay). But a restart while a poll is
// running (the supplier is being called: a slow query, a remote call) is
// not seen: poller.run takes stateChanged only after the poll, when the
// binding is started again, and computes the next poll from the old
// schedule (after(next, now)). With fixed-delay 1h, an operator's
// Stop+Start during the first poll gives no poll for an hour after the
// restart, where SCSt polls at once. Expected: a supplier call begun after
// Start returned, within `wait` (initial-delay 0). Fix: capture
// stateChanged before the poll (or keep a restart counter in Binding) and,
// when the binding changed state during the poll, begin the schedule anew
// (next = zero) instead of p.after.
func TestBreak2PollerRestartDuringPollBeginsAnew(t *testing.T) {
	release := make(chan struct{})
	calls := make(chan int, 10)
	got := make(chan string, 10)
	n := 0
	fns := stream.NewCatalog()
	stream.AddSupplier(fns, "tick", func(ctx context.Context) (*breakTick, error) {
		i := n // one poller goroutine calls the supplier: no race
		n++
		calls <- i
		if i == 0 {
			select { // the first poll is slow
			case <-release:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		return &breakTick{V: string(rune('a' + i))}, nil
	})
	stream.AddConsumer(fns, "sink", func(_ context.Context, m map[string]string) error { got <- m["v"]; return nil })
	cfg := &stream.Config{
		Function: stream.FunctionConfig{Definition: "tick;sink"},
		Bindings: map[string]stream.BindingConfig{
			"tick-out-0": {Destination: "break2-ticks", Producer: stream.ProducerConfig{Poller: stream.PollerConfig{FixedDelay: time.Hour}, RequiredGroups: []string{"g"}}},
			"sink-in-0":  {Destination: "break2-ticks", Group: "g"},
		},
	}
	r := start(t, cfg, fns)
	if i := recv(t, calls); i != 0 {
		t.Fatalf("first call %d", i)
	}
	// The first poll is running (the supplier has not returned): restart.
	restartBinding(t, r, "tick-out-0")
	close(release)
	select {
	case i := <-calls:
		if i != 1 {
			t.Fatalf("call %d after the restart", i)
		}
	case <-time.After(wait):
		t.Fatalf("tick-out-0 stopped and started again during a poll: no supplier call within %s of the restart (the schedule did not begin anew: the next poll is an hour after the first's end)", wait)
	}
}

// TestBreak2StreamPollerProblemAtItsKey: c79200e added stream.Config.Poller
// (stream.poller, the application-wide poller) but validates it only as
// part of each output binding's effective configuration
// (Config.Binding copies it into the binding's Producer.Poller, and
// prepareBinding reports its problems at the binding's path). A Config
// built in code with Poller.FixedDelay -1s (or a cron that does not parse)
// is refused with "stream.bindings.tick-out-0.producer.poller.fixed-delay:
// must not be negative" — a key nobody wrote — once per polled binding
// (here twice, tick and tock), and the key that is wrong, stream.poller.*,
// is not named. The project's rule for an inherited value ("one problem,
// one error, at the key the user wrote": Config.InheritedProblem
// for stream.instance-index/-count) is not applied to the new inherited
// poller. Expected: one problem, at stream.poller.fixed-delay. Fix:
// validate Config.Poller once at stream.poller (as Validate does a
// binding's poller), and skip a binding's producer.poller problem when
// the binding uses the stream poller (UsesStreamPoller) — as
// inheritedProblem does for instance-index.
func TestBreak2StreamPollerProblemAtItsKey(t *testing.T) {
	fns := stream.NewCatalog()
	stream.AddSupplier(fns, "tick", func(context.Context) (*breakTick, error) { return nil, nil })
	stream.AddSupplier(fns, "tock", func(context.Context) (*breakTick, error) { return nil, nil })
	cfg := &stream.Config{
		Function: stream.FunctionConfig{Definition: "tick;tock"},
		Poller:   stream.PollerConfig{FixedDelay: -time.Second},
	}
	_, err := stream.NewApp(cfg, fns, stream.WithBinderType(memory.Type, memory.New), stream.WithoutSignals())
	var ces stream.ConfigErrors
	if !errors.As(err, &ces) {
		t.Fatalf("NewApp: %v, want a ConfigErrors", err)
	}
	if len(ces) != 1 || ces[0].Path != "stream.poller.fixed-delay" {
		t.Errorf("problems %v\nwant one, at stream.poller.fixed-delay (the key that is wrong, once)", err)
	}
}
