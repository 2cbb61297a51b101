package binding

import (
	"fmt"

	"github.com/streambind/streambind/stream"
)

// Registry is the set of a binder's open consumer and producer bindings,
// and whether the binder is closed: bindings register when they are bound
// (refused once the binder is closed), producers leave when they are
// closed, and the binder's Close takes them all at once.
//
// It holds no lock of its own: the binder guards it with its mutex, which
// also guards the binder's other state (its connection), so that a bind
// and Close see one order. The zero Registry is open and empty.
type Registry[C, P comparable] struct {
	closed    bool
	consumers map[C]struct{}
	producers map[P]struct{}
}

// errClosed is the error of a bind after Close.
func errClosed() error { return fmt.Errorf("binder %w", stream.ErrClosed) }

// Closed reports whether Close was called; CheckOpen is the same as an
// error (wrapping [stream.ErrClosed]).
func (r *Registry[C, P]) Closed() bool { return r.closed }

// CheckOpen returns an error wrapping [stream.ErrClosed] after Close.
func (r *Registry[C, P]) CheckOpen() error {
	if r.closed {
		return errClosed()
	}
	return nil
}

// AddConsumers registers cs, or none of them after Close (an error
// wrapping [stream.ErrClosed]).
func (r *Registry[C, P]) AddConsumers(cs ...C) error {
	if r.closed {
		return errClosed()
	}
	if r.consumers == nil {
		r.consumers = make(map[C]struct{})
	}
	for _, c := range cs {
		r.consumers[c] = struct{}{}
	}
	return nil
}

// AddProducer registers p, or not after Close (an error wrapping
// [stream.ErrClosed]).
func (r *Registry[C, P]) AddProducer(p P) error {
	if r.closed {
		return errClosed()
	}
	if r.producers == nil {
		r.producers = make(map[P]struct{})
	}
	r.producers[p] = struct{}{}
	return nil
}

// Consumers returns the consumers registered (none after Close).
func (r *Registry[C, P]) Consumers() []C {
	out := make([]C, 0, len(r.consumers))
	for c := range r.consumers {
		out = append(out, c)
	}
	return out
}

// RemoveProducer forgets p (a producer closed on its own).
func (r *Registry[C, P]) RemoveProducer(p P) { delete(r.producers, p) }

// Close marks the registry closed and returns the bindings registered
// (for [CloseAll]), forgetting them; first is false when it was closed
// already (and then nothing is returned).
func (r *Registry[C, P]) Close() (consumers []C, producers []P, first bool) {
	if r.closed {
		return nil, nil, false
	}
	r.closed = true
	consumers = make([]C, 0, len(r.consumers))
	for c := range r.consumers {
		consumers = append(consumers, c)
	}
	producers = make([]P, 0, len(r.producers))
	for p := range r.producers {
		producers = append(producers, p)
	}
	r.consumers, r.producers = nil, nil
	return consumers, producers, true
}

// One returns the binding of the group: its only member, or the group.
func (g Group[C]) One() stream.Consumer {
	if len(g) == 1 {
		return g[0]
	}
	return g
}
