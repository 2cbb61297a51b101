package binding

import (
	"context"
	"sync"
	"sync/atomic"
)

// State is a binding's health for readiness: nil, or why it cannot do its
// work. Embed it in a consumer or producer binding to give it the Health
// method of [stream.BindingHealthChecker]. The zero value is healthy; its
// methods may be called from any goroutine.
type State struct {
	health atomic.Pointer[error]
}

// Health returns nil while the binding can do its work, else the last
// error given to SetHealth. It does no I/O.
func (s *State) Health(context.Context) error {
	if e := s.health.Load(); e != nil {
		return *e
	}
	return nil
}

// SetHealth records the binding's state: nil (healthy) or why it cannot do
// its work. Setting nil on a healthy binding does not write (it is called
// on every successful send or receipt).
func (s *State) SetHealth(err error) {
	if err == nil {
		if s.health.Load() != nil {
			s.health.Store(nil)
		}
		return
	}
	e := err // a copy: were err's own address taken, every call (nil too) would allocate
	s.health.Store(&e)
}

// Gate counts a producer's sends in progress and closes the producer to
// new ones: Enter before a send, Exit after it, Close to stop accepting
// sends and learn when those in progress are done. The zero value is
// open, with nothing in progress; its methods may be called from any
// goroutine.
type Gate struct {
	// state is the number of sends in progress, plus gateClosed once
	// closed: Enter and Exit are one atomic add each, without a lock
	// (hundreds of goroutines send at once through one producer).
	state atomic.Int64
	mu    sync.Mutex    // Close's
	idle  chan struct{} // made by the first Close; closed once closed and idle
	once  sync.Once
}

const gateClosed = 1 << 62

// Enter counts a send in; it returns false (count nothing) once the gate
// is closed.
func (g *Gate) Enter() bool {
	if g.state.Add(1)&gateClosed != 0 {
		g.Exit() // closed: undo
		return false
	}
	return true
}

// Exit counts out a send that Enter counted in.
func (g *Gate) Exit() {
	if g.state.Add(-1) == gateClosed {
		g.done() // closed, and the last send has exited
	}
}

// done closes idle; Close made it before it set gateClosed, which Exit
// observed.
func (g *Gate) done() { g.once.Do(func() { close(g.idle) }) }

// Close closes the gate to new sends. It returns whether it was closed
// already, and a channel that is closed once the sends in progress (at
// the time of the call) have all exited.
func (g *Gate) Close() (already bool, idle <-chan struct{}) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.idle == nil {
		g.idle = make(chan struct{})
	}
	for {
		v := g.state.Load()
		if v&gateClosed != 0 {
			return true, g.idle
		}
		if g.state.CompareAndSwap(v, v|gateClosed) {
			if v == 0 {
				g.done()
			}
			return false, g.idle
		}
	}
}
