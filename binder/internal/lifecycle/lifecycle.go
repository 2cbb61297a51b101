// Package lifecycle serialises the Start, Stop, Pause and Resume of a
// broker binder's consumer binding, as [stream.Consumer] defines them, for
// the binders of this module that run a binding as a sequence of runs (one
// per Start):
//
//   - each call takes the binding's lifecycle lock, bounded by its
//     context (a call that cannot take it returns the context's error);
//   - Start on a started binding does nothing; Start after [Lifecycle.Close]
//     fails with [stream.ErrClosed]; Start first waits (bounded by its
//     context) until the previous run has finished ([Run.Done]), then
//     starts a new run;
//   - Pause and Resume on a stopped binding do nothing; Stop ends the
//     current run, which is then no longer current even if its Stop
//     fails; Stop (and Close) on a stopped binding waits, bounded by its
//     context, until the last run has finished, so that one whose Stop
//     ran out of time can be stopped again and nil means nothing of the
//     binding runs any more;
//   - a call whose context has ended still takes a free lock (a Close
//     with the expired context of a shutdown closes the binding), but a
//     Start with an ended context on a stopped binding starts nothing
//     and returns the context's error;
//   - Stop (and Close) of a [HandlerCanceler] run cancels its handlers'
//     context [dispatch.SettleReserve] before the end of its context, so
//     that a handler that honours its context returns, and its message is
//     settled, while there is time left for that;
//   - Close marks the binding closed and stops it; it may be called more
//     than once. Start fails after a Close began, even one that could not
//     take the lock before its context ended.
//
// Every error is passed through the binding's wrap function with the
// operation's name ("start", "stop", "pause", "resume", "close").
//
// It is internal to the binders of this module.
package lifecycle

import (
	"context"
	"fmt"
	"sync/atomic"

	"github.com/streambind/streambind/binder/internal/dispatch"
	"github.com/streambind/streambind/stream"
)

// Run is one started run of a consumer binding.
type Run interface {
	// Pause stops intake and waits, bounded by ctx, for the handler calls
	// in flight.
	Pause(ctx context.Context) error
	// Resume undoes Pause.
	Resume()
	// Stop ends the run, bounded by ctx.
	Stop(ctx context.Context) error
	// Done is closed when everything of the run has finished (also after
	// a Stop that returned early because of its context).
	Done() <-chan struct{}
}

// HandlerCanceler is a [Run] whose handlers' context can be cancelled
// apart from its Stop. Stopping it, [Lifecycle] calls CancelHandlers
// [dispatch.SettleReserve] before the deadline of the Stop's (or
// Close's) context ([dispatch.CancelBefore]): a handler that returns when
// its context ends then does so early enough for its message to be
// settled (Nak'ed, requeued, its offset left uncommitted) and the run to
// end before the context does, where a run that cancels them only when
// the context has ended leaves that no time (the binder's Close, which
// follows in a shutdown, closes the connection meanwhile). The run's own
// Stop still cancels them when the context ends. A run implements it only
// when that context is the handlers' alone: cancelling it must not end
// the run's own acknowledging, dead-lettering or collecting of finished
// calls (the RabbitMQ and in-process runs share one context for both,
// and do not implement it; nor does Kafka's yet, though its settling has
// a context of its own and every handler call gets the handlers': in one
// loaded CI run its Stop failed at 10.3s of 10s with it, unexplained).
type HandlerCanceler interface {
	CancelHandlers()
}

// ResumeChecker is a Run with a check to make, bounded by Resume's ctx,
// before it resumes (whether what it holds is still valid, say).
type ResumeChecker interface {
	BeforeResume(ctx context.Context)
}

// Waiter is implemented by a [Run] that can say what its end is waiting
// for; a repeated Stop that runs out of time says that rather than the
// busy text given to [New].
type Waiter interface {
	Waiting() string
}

// Lifecycle holds the lifecycle state of one consumer binding. Make it with
// [New]; its methods may be called from any goroutine.
type Lifecycle struct {
	sem    chan struct{} // lifecycle lock (capacity 1)
	cur    Run           // the started run, or nil
	last   Run           // the run started last, or nil
	closed bool
	// closing is set by Close before it takes the lock: a Close that
	// cannot take it before its context ends (a Start holds it, waiting
	// for the previous run) still refuses every later Start — the binder
	// forgets its consumers when it closes, and a run started then would
	// never be stopped.
	closing atomic.Bool
	wrap    func(op string, err error) error
	busy    string
}

// New returns the lifecycle of a stopped binding. wrap gives an error of
// the operation op its context (binding, destination; and redacts
// secrets); busy says what Start (or a repeated Stop) found when the
// previous run has not finished by the end of its context, for example
// "the previous run's handlers are still running".
func New(wrap func(op string, err error) error, busy string) *Lifecycle {
	return &Lifecycle{sem: make(chan struct{}, 1), wrap: wrap, busy: busy}
}

func (l *Lifecycle) lock(ctx context.Context, op string) error {
	// A free lock first: with ctx ended, select would choose at random, and
	// a Close with the ended context of a shutdown that ran out of time
	// would then leave the binding open half of the time.
	select {
	case l.sem <- struct{}{}:
		return nil
	default:
	}
	select {
	case l.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return l.wrap(op, ctx.Err())
	}
}

func (l *Lifecycle) unlock() { <-l.sem }

// finished reports whether r has finished, without waiting: checked before
// a select against ctx, which with ctx ended would choose at random.
func finished(r Run) bool {
	select {
	case <-r.Done():
		return true
	default:
		return false
	}
}

// Wait waits until done is closed (nil) or ctx ends (its error). A closed
// done wins over an ended ctx (a select of both would choose at random).
func Wait(ctx context.Context, done <-chan struct{}) error {
	select {
	case <-done:
		return nil
	default:
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Start starts a run with start unless the binding is started already. It
// fails with [stream.ErrClosed] after Close. start is called with the lock
// held; when it fails, the binding stays stopped.
func (l *Lifecycle) Start(ctx context.Context, start func(context.Context) (Run, error)) error {
	if err := l.lock(ctx, "start"); err != nil {
		return err
	}
	defer l.unlock()
	if l.closed || l.closing.Load() {
		return l.wrap("start", stream.ErrClosed)
	}
	if l.cur != nil {
		return nil
	}
	if err := ctx.Err(); err != nil { // the lock was free (see lock): nothing to start for
		return l.wrap("start", err)
	}
	if p := l.last; p != nil && !finished(p) {
		if err := Wait(ctx, p.Done()); err != nil {
			return l.wrap("start", fmt.Errorf("%s: %w", l.busy, err))
		}
		if l.closing.Load() { // a Close came while it waited
			return l.wrap("start", stream.ErrClosed)
		}
	}
	r, err := start(ctx)
	if err != nil {
		return l.wrap("start", err)
	}
	l.cur, l.last = r, r
	return nil
}

// Stop stops the current run, if any.
func (l *Lifecycle) Stop(ctx context.Context) error {
	if err := l.lock(ctx, "stop"); err != nil {
		return err
	}
	defer l.unlock()
	return l.stopLocked(ctx)
}

func (l *Lifecycle) stopLocked(ctx context.Context) error {
	r := l.cur
	if r == nil {
		// Stopped already; an earlier Stop may have run out of time with
		// the run's handlers still returning: this one waits for them
		// (bounded by ctx), so that a Stop or Close that returns nil means
		// that nothing of the binding runs any more.
		p := l.last
		if p == nil {
			return nil
		}
		if err := Wait(ctx, p.Done()); err != nil {
			what := l.busy
			if w, ok := p.(Waiter); ok {
				what = w.Waiting()
			}
			return l.wrap("stop", fmt.Errorf("%s: %w", what, err))
		}
		return nil
	}
	l.cur = nil
	if hc, ok := r.(HandlerCanceler); ok {
		defer dispatch.CancelBefore(ctx, hc.CancelHandlers)()
	}
	if err := r.Stop(ctx); err != nil {
		return l.wrap("stop", err)
	}
	return nil
}

// Pause pauses the current run, if any.
func (l *Lifecycle) Pause(ctx context.Context) error {
	if err := l.lock(ctx, "pause"); err != nil {
		return err
	}
	defer l.unlock()
	if l.cur == nil {
		return nil
	}
	if err := l.cur.Pause(ctx); err != nil {
		return l.wrap("pause", err)
	}
	return nil
}

// Resume resumes the current run, if any.
func (l *Lifecycle) Resume(ctx context.Context) error {
	if err := l.lock(ctx, "resume"); err != nil {
		return err
	}
	defer l.unlock()
	if l.cur != nil {
		if rc, ok := l.cur.(ResumeChecker); ok {
			rc.BeforeResume(ctx)
		}
		l.cur.Resume()
	}
	return nil
}

// Close marks the binding closed (Start fails from now on) and stops the
// current run, if any.
func (l *Lifecycle) Close(ctx context.Context) error { return l.CloseThen(ctx, nil) }

// CloseThen is Close, and then, the first time a Close took the lock,
// calls release (when not nil) with the lock held, whatever stopping the
// run returned: it undoes the binding's set-up (leaves a group) once, and
// never while a Start that holds the lock uses it.
func (l *Lifecycle) CloseThen(ctx context.Context, release func()) error {
	l.closing.Store(true)
	if err := l.lock(ctx, "close"); err != nil {
		return err
	}
	defer l.unlock()
	first := !l.closed
	l.closed = true
	err := l.stopLocked(ctx)
	if first && release != nil {
		release()
	}
	return err
}
