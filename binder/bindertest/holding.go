package bindertest

import (
	"sync"
	"sync/atomic"
)

// Holding counts the messages a binder holds in flight through a
// consumer's [stream.ConsumerSpec.Holding] hook, as the core's in-flight
// gauges count them, for a binder's own tests (which bind without the
// core): set the spec's Holding to its Hold and read N.
//
//	var h bindertest.Holding
//	spec.Holding = h.Hold
//	...
//	if n := h.N(); n != 1 { ... }
type Holding struct {
	n atomic.Int64
}

// Hold counts k messages until the func it returns is called (once: again
// does nothing), as stream.ConsumerSpec.Holding does.
func (h *Holding) Hold(k int) (release func()) {
	h.n.Add(int64(k))
	var once sync.Once
	return func() { once.Do(func() { h.n.Add(-int64(k)) }) }
}

// N is how many messages are counted now.
func (h *Holding) N() int64 { return h.n.Load() }
