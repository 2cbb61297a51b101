package redis_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	redisbinder "github.com/streambind/streambind/binder/redis"
	"github.com/streambind/streambind/binder/redis/redistest"
	"github.com/streambind/streambind/stream"
)

// earlyHeld is a batch consumer (through a black-hole proxy) whose first
// batch of more than one entry has its entry 1 fail for good, settled
// early inside the handler call (stream.BatchSettler, as the core does
// before it goes on with the entries after it), while Redis cannot take
// the dead letter (the proxy frozen just before).
type earlyHeld struct {
	e        env
	px       *holeProxy
	dest     string
	c        stream.Consumer
	returned chan struct{} // closed when the settler returned
	mu       sync.Mutex
	failed   string
	err      error // the settler's
}

func (h *earlyHeld) settleErr() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.err
}

func startEarlyHeld(t *testing.T, dest string) *earlyHeld {
	t.Helper()
	h := &earlyHeld{e: newEnv(t), px: newHoleProxy(t), dest: dest, returned: make(chan struct{})}
	b := newBinder(t, map[string]any{"address": h.px.addr(), "key-prefix": h.e.prefix, "client-name": h.e.name, "command-timeout": "300ms"})
	sig := retrySignal{once: new(sync.Once), retried: make(chan struct{}), warns: new(atomic.Int64)}
	sent := make(chan struct{})
	var firstCall atomic.Bool
	h.c = bindConsumer(t, b, stream.ConsumerSpec{Destination: dest, Group: "g", Logger: slog.New(sig),
		Consumer:  stream.ConsumerConfig{DLQ: true, BatchMode: true},
		Extension: map[string]any{"batch-size": 3},
		BatchHandler: func(ctx context.Context, ms []stream.Envelope) error {
			if !firstCall.Swap(true) {
				<-sent // the next call takes what is queued: more than one
			}
			h.mu.Lock()
			// The failing call has an entry after the failed one, which
			// a Stop must leave pending: in a call of two (a read split
			// by load) nothing would be left to check.
			if h.failed != "" || len(ms) < 3 {
				h.mu.Unlock()
				return nil
			}
			h.failed = ms[1].Headers[idHeader]
			h.mu.Unlock()
			settle := stream.BatchSettlerFrom(ctx)
			if settle == nil {
				close(h.returned)
				return errors.New("no BatchSettler")
			}
			h.px.freeze() // the dead letter cannot be written for now
			err := settle(2, stream.NewBatchOutcome([]error{nil, stream.Permanent(errors.New("bad"))}))
			h.mu.Lock()
			h.err = err
			h.mu.Unlock()
			close(h.returned)
			if errors.Is(err, stream.ErrBatchStop) {
				// As the core does: the rest is left for redelivery.
				outs := make([]error, len(ms))
				outs[1] = stream.Permanent(errors.New("bad"))
				for i := 2; i < len(ms); i++ {
					outs[i] = fmt.Errorf("%w: %w", stream.ErrNak, err)
				}
				return stream.NewBatchOutcome(outs)
			}
			return nil
		}})
	// Sent around the proxy.
	p := bindProducer(t, h.e.binder(t, nil), stream.ProducerSpec{Destination: dest})
	ids := make([]string, 8)
	for i := range ids {
		ids[i] = fmt.Sprintf("m%d", i)
	}
	send(t, p, ids)
	close(sent)
	select {
	case <-sig.retried:
	case <-time.After(20 * time.Second):
		t.Fatal("no WARN that the dead letter is held")
	}
	return h
}

func (h *earlyHeld) dlqLen(t *testing.T) int64 {
	t.Helper()
	admin := redistest.Client(t, redistest.Addr(), "", "")
	defer admin.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	n, err := admin.XLen(ctx, redisbinder.StreamKey(h.e.prefix, stream.DLQName(h.dest, "g"), -1)).Result()
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestEarlyDeadLetterHeldPause: while a batch entry's dead letter,
// settled early inside the handler call, is held (Redis cannot take it),
// Pause returns, as with a hold after the call; and once Redis can take
// it again, the function does not go on with the entries after it while
// the binding is paused, only after Resume.
func TestEarlyDeadLetterHeldPause(t *testing.T) {
	h := startEarlyHeld(t, "heldearlypause")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	h.pauseThenThaw(t, ctx)
	select {
	case <-h.returned:
		t.Fatal("the batch function went on with the entries after the failed one while the binding was paused")
	case <-time.After(1500 * time.Millisecond): // watching for what must not come
	}
	if err := h.c.Resume(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case <-h.returned:
	case <-ctx.Done():
		t.Fatal("the batch function did not go on after Resume")
	}
	// At least once: an XADD the frozen proxy held may reach Redis too.
	if n := h.dlqLen(t); n < 1 {
		t.Errorf("the dead-letter stream has %d entries, want the dead letter", n)
	}
}

// TestEarlyDeadLetterHeldStop: Stop while a batch entry's dead letter,
// settled early inside the handler call, is held returns within its ctx
// and hands the entry back: no dead letter (Redis checked directly, the
// proxy still frozen), and the entry is still
// pending in the group (another member claims it).
func TestEarlyDeadLetterHeldStop(t *testing.T) {
	h := startEarlyHeld(t, "heldearlystop")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	// Redis still cannot be reached: Stop may say that the acks of the
	// entries handled after the held one got no answer (redelivered).
	h.stop(t, ctx)
	if n := h.dlqLen(t); n != 0 {
		t.Errorf("the dead-letter stream has %d entries, want 0", n)
	}
	if err := h.settleErr(); !errors.Is(err, stream.ErrBatchStop) {
		t.Errorf("BatchSettler after Stop cut the dead letter's hold short: %v, want stream.ErrBatchStop (the function must not go on)", err)
	}
	if n := unsettled(t, redisbinder.StreamKey(h.e.prefix, h.dest, -1), "g"); n < 1 {
		t.Errorf("%d entries unsettled after Stop; want at least 1 (the held one handed back)", n)
	}
}

// TestEarlyDeadLetterHeldPauseStop: Pause while a batch entry's dead
// letter, settled early inside the handler call, is held; Redis can be
// reached again; then Stop. The hold, waiting for a Resume that does not
// come, is cut short: the settler reports stream.ErrBatchStop (it returned
// nil before), so that the core does not call the function on the
// entries after it on a stopping binding; they stay pending in the group
// (another member claims them).
func TestEarlyDeadLetterHeldPauseStop(t *testing.T) {
	h := startEarlyHeld(t, "heldearlypausestop")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	h.pauseThenThaw(t, ctx)
	h.stop(t, ctx)
	if err := h.settleErr(); !errors.Is(err, stream.ErrBatchStop) {
		t.Fatalf("BatchSettler after Pause and Stop: %v, want stream.ErrBatchStop (the function must not go on)", err)
	}
	if n := unsettled(t, redisbinder.StreamKey(h.e.prefix, h.dest, -1), "g"); n < 1 {
		t.Errorf("%d entries unsettled after Stop; want at least 1", n)
	}
}

// pauseThenThaw pauses the binding while the dead letter is held, then
// lets Redis be reached again.
func (h *earlyHeld) pauseThenThaw(t *testing.T, ctx context.Context) {
	t.Helper()
	pctx, pcancel := context.WithTimeout(ctx, 10*time.Second)
	err := h.c.Pause(pctx)
	pcancel()
	if err != nil {
		t.Fatalf("Pause while a dead letter is held inside a batch call: %v", err)
	}
	h.px.thaw()
}

// stop stops the binding (logging what Stop says) and checks that the
// batch call ended before Stop returned.
func (h *earlyHeld) stop(t *testing.T, ctx context.Context) {
	t.Helper()
	sctx, scancel := context.WithTimeout(ctx, 10*time.Second)
	err := h.c.Stop(sctx)
	scancel()
	t.Logf("Stop: %v", err)
	select {
	case <-h.returned:
	default:
		t.Fatal("Stop returned before the batch call ended")
	}
}
