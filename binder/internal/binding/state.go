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
	s.health.Store(&err)
}

// Gate counts a producer's sends in progress and closes the producer to
// new ones: Enter before a send, Exit after it, Close to stop accepting
// sends and learn when those in progress are done. The zero value is
// open, with nothing in progress; its methods may be called from any
// goroutine.
type Gate struct {
	mu       sync.Mutex
	closed   bool
	inflight int
	idle     chan struct{} // nil or closed while inflight == 0
}

// Enter counts a send in; it returns false (count nothing) once the gate
// is closed.
func (g *Gate) Enter() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return false
	}
	if g.inflight == 0 {
		g.idle = make(chan struct{})
	}
	g.inflight++
	return true
}

// Exit counts out a send that Enter counted in.
func (g *Gate) Exit() {
	g.mu.Lock()
	g.inflight--
	if g.inflight == 0 {
		close(g.idle)
	}
	g.mu.Unlock()
}

// Close closes the gate to new sends. It returns whether it was closed
// already, and a channel that is closed once the sends in progress (at
// the time of the call) have all exited.
func (g *Gate) Close() (already bool, idle <-chan struct{}) {
	g.mu.Lock()
	defer g.mu.Unlock()
	already, g.closed = g.closed, true
	if g.inflight == 0 {
		c := make(chan struct{})
		close(c)
		return already, c
	}
	return already, g.idle
}
