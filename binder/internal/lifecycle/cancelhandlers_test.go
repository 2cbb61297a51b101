package lifecycle

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/internal/dispatch"
)

// handlerRun is a run whose one handler call returns when the handlers'
// context ends, and whose Stop waits for it until ctx ends (cancelling
// the context then, as the binders' runs do).
type handlerRun struct {
	hctx     context.Context
	hcancel  context.CancelFunc
	returned chan time.Time
	done     chan struct{}
}

func newHandlerRun() *handlerRun {
	r := &handlerRun{returned: make(chan time.Time, 1), done: make(chan struct{})}
	r.hctx, r.hcancel = context.WithCancel(context.Background())
	go func() {
		<-r.hctx.Done() // the handler honours its context
		r.returned <- time.Now()
		close(r.done)
	}()
	return r
}

func (r *handlerRun) Pause(context.Context) error { return nil }
func (r *handlerRun) Resume()                     {}
func (r *handlerRun) Done() <-chan struct{}       { return r.done }
func (r *handlerRun) CancelHandlers()             { r.hcancel() }
func (r *handlerRun) Stop(ctx context.Context) error {
	if err := Wait(ctx, r.done); err != nil {
		r.hcancel()
		return errors.New("handler still running")
	}
	return nil
}

// TestStopCancelsHandlersBeforeDeadline: Stop (and Close) of a
// HandlerCanceler run cancels its handlers' context SettleReserve before
// the deadline, so that a handler that honours it has returned when the
// run's Stop returns, within its time, and Stop returns nil. Before, the
// run cancelled it only when its Stop's context had ended: Stop failed,
// and the binder's Close that follows in a shutdown closed the connection
// before the handler's message could be given back.
func TestStopCancelsHandlersBeforeDeadline(t *testing.T) {
	for _, op := range []string{"stop", "close"} {
		l := New(wrap, "busy")
		r := newHandlerRun()
		if err := l.Start(context.Background(), func(context.Context) (Run, error) { return r, nil }); err != nil {
			t.Fatal(err)
		}
		const budget = 500 * time.Millisecond
		ctx, cancel := context.WithTimeout(context.Background(), budget)
		deadline, _ := ctx.Deadline()
		var err error
		if op == "stop" {
			err = l.Stop(ctx)
		} else {
			err = l.Close(ctx)
		}
		cancel()
		if err != nil {
			t.Fatalf("%s with a handler that honours its context: %v", op, err)
		}
		if left := deadline.Sub(<-r.returned); left < dispatch.SettleReserve(budget)/2 {
			t.Errorf("%s: the handler returned %s before the deadline; want about SettleReserve (%s)", op, left, dispatch.SettleReserve(budget))
		}
	}
}
