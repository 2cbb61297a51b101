package stream_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/streambind/streambind/stream"
)

// Regression tests for defects found by an adversarial review of the
// polled-supplier poller (commits 9d25095, 26ebfcc). They fail on the code
// they were written against; each says what is wrong and what is expected.

// breakTick is a supplier value; boom makes its MarshalJSON panic.
type breakTick struct {
	V    string `json:"v"`
	boom bool
}

func (b *breakTick) MarshalJSON() ([]byte, error) {
	if b.boom {
		panic("breakTick: cannot encode")
	}
	return []byte(`{"v":"` + b.V + `"}`), nil
}

// breakSupplierApp starts supplier "tick" (values from next) into consumer
// "sink" with poller p, and returns the app and what sink receives.
func breakSupplierApp(t *testing.T, p stream.PollerConfig, next func(i int) *breakTick) (*running, <-chan string, func() int) {
	t.Helper()
	got := make(chan string, 100)
	var mu sync.Mutex
	calls := 0
	fns := stream.NewCatalog()
	stream.AddSupplier(fns, "tick", func(context.Context) (*breakTick, error) {
		mu.Lock()
		i := calls
		calls++
		mu.Unlock()
		return next(i), nil
	})
	stream.AddConsumer(fns, "sink", func(_ context.Context, m map[string]string) error { got <- m["v"]; return nil })
	cfg := &stream.Config{
		Function: stream.FunctionConfig{Definition: "tick;sink"},
		Bindings: map[string]stream.BindingConfig{
			"tick-out-0": {Destination: "break-ticks", Producer: stream.ProducerConfig{Poller: p, RequiredGroups: []string{"g"}}},
			"sink-in-0":  {Destination: "break-ticks", Group: "g"},
		},
	}
	r := start(t, cfg, fns)
	return r, got, func() int { mu.Lock(); defer mu.Unlock(); return calls }
}

// TestBreakPollerRestartDuringWaitBeginsAnew: PollerConfig's doc and
// docs/conventions.md say "A binding stopped and started again begins its
// schedule anew (initial-delay included), as SCSt's poller does" (SCSt
// stops and starts the SourcePollingChannelAdapter with its binding; the
// restarted adapter schedules a fresh PeriodicTrigger, whose first
// execution is now + initial-delay). But poller.run only notices a stop
// when its sleep ends: an output binding stopped and started again while
// the poller waits for its next poll keeps the old schedule. With
// fixed-delay 1h, Stop+Start of tick-out-0 a moment after the first poll
// gives no poll for an hour, where SCSt polls at once. Expected: the
// restarted binding is polled right away (initial-delay 0). Fix: make the
// wait in poller.run also end on the binding's state change (wait on the
// binding's changed channel beside the timer), and begin the schedule anew
// when the binding was stopped in between.
func TestBreakPollerRestartDuringWaitBeginsAnew(t *testing.T) {
	r, got, _ := breakSupplierApp(t, stream.PollerConfig{FixedDelay: time.Hour}, func(i int) *breakTick {
		return &breakTick{V: string(rune('a' + i))}
	})
	if v := recv(t, got); v != "a" {
		t.Fatalf("first poll sent %q", v)
	}
	restartBinding(t, r, "tick-out-0")
	select {
	case v := <-got:
		if v != "b" {
			t.Fatalf("after the restart got %q, want b", v)
		}
	case <-time.After(wait):
		t.Fatalf("tick-out-0 stopped and started again: no poll within %s (the schedule did not begin anew: the next poll is still the old one, an hour after the first)", wait)
	}
}

// TestBreakPollerSendFailureEndsPoll: docs/conventions.md says a poll
// "ends at the first call that returns nothing ... or fails (logged,
// counted as the binding's error)", as Spring Integration's poll ends at
// the exception of a send (AbstractPollingEndpoint.pollForMessage: the
// exception leaves the receive loop). The polled supplier's poll() returns
// more=true whatever emitRetrying did with the value: a send that failed
// for good (here the value's MarshalJSON panics: emitValue makes the
// PanicError permanent and emitRetrying returns nil) does not end the
// poll. With max-messages-per-poll 1000 the first poll calls the supplier
// 1000 times in a row, dropping each value; with -1 (no limit) it spins
// for ever, the supplier called as fast as the CPU allows, each failure
// logged. Expected: one call, the poll ends at the failed send (the next
// poll an hour later). Fix: poll() reports the send's failure (emitValue's
// error) so that the poll ends, as composedRunner's callback does.
func TestBreakPollerSendFailureEndsPoll(t *testing.T) {
	// The first value cannot be encoded, the next can: the second call
	// must come with the next poll, a fixed-delay after the first ended,
	// not at once in the same poll (a lower bound: it cannot flake).
	var mu sync.Mutex
	var at []time.Time
	_, got, _ := breakSupplierApp(t, stream.PollerConfig{FixedDelay: 200 * time.Millisecond, MaxMessagesPerPoll: 1000}, func(i int) *breakTick {
		mu.Lock()
		at = append(at, time.Now())
		mu.Unlock()
		if i > 1 {
			return nil // nothing more: the polls end here
		}
		return &breakTick{V: "ok", boom: i == 0}
	})
	if v := recv(t, got); v != "ok" {
		t.Fatalf("got %q", v)
	}
	mu.Lock()
	defer mu.Unlock()
	if gap := at[1].Sub(at[0]); gap < 200*time.Millisecond {
		t.Errorf("second call %s after the failed first, in the same poll: a failed send (a value that cannot be encoded) must end the poll", gap)
	}
}

// restartBinding stops binding name of r's app and starts it again.
func restartBinding(t *testing.T, r *running, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	b := r.app.Binding(name)
	if err := b.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if err := b.Start(ctx); err != nil {
		t.Fatal(err)
	}
}
