package nats_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/streambind/streambind/stream"
)

// earlyHeld is a batch consumer whose first batch of more than one
// message has its message 1 fail for good, settled early inside the
// handler call (stream.BatchSettler, as the core does before it goes on
// with the messages after it), while the full dead-letter stream refuses
// the dead letter.
type earlyHeld struct {
	f        *heldDLQ
	c        stream.Consumer
	returned chan struct{} // closed when the settler returned
	mu       sync.Mutex
	failed   string
	err      error // the settler's
}

func (e *earlyHeld) settleErr() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.err
}

func startEarlyHeld(t *testing.T) *earlyHeld {
	t.Helper()
	e := &earlyHeld{f: setUpHeldDLQ(t, "heldearly"), returned: make(chan struct{})}
	ctx, cancel := context.WithTimeout(e.f.ctx, 30*time.Second)
	defer cancel()
	p := bindProducer(t, e.f.b, stream.ProducerSpec{Destination: e.f.dest})
	for i := range 6 { // before the consumer starts: batches of more than one
		if err := p.Send(ctx, msg(fmt.Sprintf("m%d", i))); err != nil {
			t.Fatal(err)
		}
	}
	e.c = startConsumer(t, e.f.b, stream.ConsumerSpec{Destination: e.f.dest, Group: "g", Logger: slog.New(e.f.ll),
		BatchHandler: func(ctx context.Context, ms []stream.Envelope) error {
			e.mu.Lock()
			if e.failed != "" || len(ms) < 2 {
				e.mu.Unlock()
				return nil
			}
			e.failed = ms[1].Headers[idHeader]
			e.mu.Unlock()
			settle := stream.BatchSettlerFrom(ctx)
			if settle == nil {
				close(e.returned)
				return errors.New("no BatchSettler")
			}
			err := settle(2, stream.NewBatchOutcome([]error{nil, stream.Permanent(errors.New("bad"))}))
			e.mu.Lock()
			e.err = err
			e.mu.Unlock()
			close(e.returned)
			return restOutcome(ms, err)
		},
		Consumer:  stream.ConsumerConfig{DLQ: true, BatchMode: true},
		Extension: map[string]any{"ack-wait": "1s", "redelivery-delay": "100ms", "dlq-attempts": 2, "batch-size": 3}})
	if !e.f.ll.wait(heldWarn, 10*time.Second) {
		t.Fatal("no WARN that the failed message is held")
	}
	return e
}

func (e *earlyHeld) dlqMsgs(t *testing.T) uint64 {
	t.Helper()
	info, err := e.f.dls.Info(e.f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	return info.State.Msgs
}

// TestEarlyDeadLetterHeldPause: while a batch message's dead letter,
// settled early inside the handler call, is held (the dead-letter stream
// is full), Pause returns, as with a hold after the call; and once the
// stream takes the dead letter, the function does not go on with the
// messages after it while the binding is paused, only after Resume.
func TestEarlyDeadLetterHeldPause(t *testing.T) {
	e := startEarlyHeld(t)
	ctx, cancel := context.WithTimeout(e.f.ctx, 60*time.Second)
	defer cancel()
	e.pauseThenFree(t, ctx)
	// The hold waits while paused (dispatch.Pool.Hold): the function must
	// not go on meanwhile, dead letter sent or not.
	select {
	case <-e.returned:
		t.Fatal("the batch function went on with the messages after the failed one while the binding was paused")
	case <-time.After(1500 * time.Millisecond): // watching for what must not come
	}
	if err := e.c.Resume(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case <-e.returned:
	case <-ctx.Done():
		t.Fatal("the batch function did not go on after Resume")
	}
	if n := e.dlqMsgs(t); n != 2 {
		t.Errorf("the dead-letter stream has %d messages, want 2 (its filler and the dead letter)", n)
	}
}

// TestEarlyDeadLetterHeldStop: Stop while a batch message's dead letter,
// settled early inside the handler call, is held returns within its ctx
// and hands the message back: no dead letter, and the message is not
// acknowledged on the broker (a consumer of the group gets it again).
func TestEarlyDeadLetterHeldStop(t *testing.T) {
	e := startEarlyHeld(t)
	ctx, cancel := context.WithTimeout(e.f.ctx, 60*time.Second)
	defer cancel()
	e.stop(t, ctx, "Stop while a dead letter is held inside a batch call")
	if n := e.dlqMsgs(t); n != 1 {
		t.Errorf("the dead-letter stream has %d messages, want 1 (its filler only)", n)
	}
	if err := e.settleErr(); !errors.Is(err, stream.ErrBatchStop) {
		t.Errorf("BatchSettler after Stop cut the dead letter's hold short: %v, want stream.ErrBatchStop (the function must not go on)", err)
	}
	if n := unsettled(t, e.f.dest, "g"); n < 1 {
		t.Errorf("%d messages unsettled after Stop; want at least 1 (the held one handed back)", n)
	}
}

// restOutcome is what the batch function of these tests returns after its
// settler returned err: as the core does, on stream.ErrBatchStop the
// messages after the settled ones are left for redelivery.
func restOutcome(ms []stream.Envelope, err error) error {
	if !errors.Is(err, stream.ErrBatchStop) {
		return nil
	}
	outs := make([]error, len(ms))
	outs[1] = stream.Permanent(errors.New("bad"))
	for i := 2; i < len(ms); i++ {
		outs[i] = fmt.Errorf("%w: %w", stream.ErrNak, err)
	}
	return stream.NewBatchOutcome(outs)
}

// TestEarlyDeadLetterHeldPauseStop: Pause while a batch message's dead
// letter, settled early inside the handler call, is held; the stream
// could take it now; then Stop. The hold, waiting for a Resume that does
// not come, is cut short: the settler reports stream.ErrBatchStop (it
// returned nil before), so that the core does not call the function on
// the messages after it on a stopping binding; the held one is handed
// back (not acknowledged).
func TestEarlyDeadLetterHeldPauseStop(t *testing.T) {
	e := startEarlyHeld(t)
	ctx, cancel := context.WithTimeout(e.f.ctx, 60*time.Second)
	defer cancel()
	e.pauseThenFree(t, ctx)
	e.stop(t, ctx, "Stop")
	if err := e.settleErr(); !errors.Is(err, stream.ErrBatchStop) {
		t.Fatalf("BatchSettler after Pause and Stop: %v, want stream.ErrBatchStop (the function must not go on)", err)
	}
	if n := unsettled(t, e.f.dest, "g"); n < 1 {
		t.Errorf("%d messages unsettled after Stop; want at least 1 (the held one handed back)", n)
	}
}

// pauseThenFree pauses the binding while the dead letter is held, then
// lets the dead-letter stream take it (no more message limit).
func (e *earlyHeld) pauseThenFree(t *testing.T, ctx context.Context) {
	t.Helper()
	pctx, pcancel := context.WithTimeout(ctx, 10*time.Second)
	err := e.c.Pause(pctx)
	pcancel()
	if err != nil {
		t.Fatalf("Pause while a dead letter is held inside a batch call: %v", err)
	}
	cfg := e.f.dls.CachedInfo().Config
	cfg.MaxMsgs = -1
	if _, err := e.f.js.UpdateStream(ctx, cfg); err != nil {
		t.Fatal(err)
	}
}

// stop stops the binding (failing as what on an error) and checks that
// the batch call ended before Stop returned.
func (e *earlyHeld) stop(t *testing.T, ctx context.Context, what string) {
	t.Helper()
	sctx, scancel := context.WithTimeout(ctx, 10*time.Second)
	err := e.c.Stop(sctx)
	scancel()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	select {
	case <-e.returned:
	default:
		t.Fatal("Stop returned before the batch call ended")
	}
}
