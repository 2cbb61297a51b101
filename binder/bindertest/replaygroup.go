package bindertest

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/streambind/streambind/stream"
)

// inOrder records the ids a consumer handled, in order, and says when it
// handled the last one.
type inOrder struct {
	mu   sync.Mutex
	ids  []string
	last string
	done chan struct{}
}

func newInOrder(last string) *inOrder { return &inOrder{last: last, done: make(chan struct{})} }

func (o *inOrder) add(m stream.Envelope) {
	o.mu.Lock()
	defer o.mu.Unlock()
	id := m.Header(IDHeader)
	o.ids = append(o.ids, id)
	if id == o.last {
		close(o.done)
	}
}

func (o *inOrder) wait(s *suite, name string, want []string) {
	s.t.Helper()
	select {
	case <-o.done:
	case <-time.After(s.h.Timeout):
		s.t.Fatalf("%s did not handle %s within %s", name, o.last, s.h.Timeout)
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if !slices.Equal(o.ids, want) {
		s.t.Errorf("%s handled %v, want %v", name, o.ids, want)
	}
}

// testReplayGroup (Harness.ReplayGroups): a replayed copy for one group
// (stream.HeaderReplayGroup, as streambind dlq replay sends it) is handled
// by that group's consumer only, in its place in the destination's order;
// the consumers of other groups, anonymous ones and batch-mode ones
// acknowledge it without handling it (with Harness.Unsettled: nothing
// stays unsettled for them).
func testReplayGroup(s *suite) {
	if !s.h.ReplayGroups {
		s.t.Skip("the binder hands replayed copies to every group (Harness.ReplayGroups)")
	}
	dest := s.dest("replay")
	one := func(o *inOrder) stream.Handler {
		return func(_ context.Context, m stream.Envelope) error { o.add(m); return nil }
	}
	payment, inventory, anon, batch := newInOrder("end"), newInOrder("end"), newInOrder("end"), newInOrder("end")
	s.started(s.b, stream.ConsumerSpec{Destination: dest, Group: "payment", Handler: one(payment)})
	s.started(s.b, stream.ConsumerSpec{Destination: dest, Group: "inventory", Handler: one(inventory), LazyHeaders: true})
	s.started(s.b, stream.ConsumerSpec{Destination: dest, Handler: one(anon)})
	s.started(s.b, stream.ConsumerSpec{Destination: dest, Group: "shipping", Consumer: stream.ConsumerConfig{BatchMode: true},
		BatchHandler: func(_ context.Context, ms []stream.Envelope) error {
			for _, m := range ms {
				batch.add(m)
			}
			return nil
		}})
	p := s.producer(s.b, stream.ProducerSpec{Destination: dest})
	for _, id := range []string{"m1", "copy1", "copy2", "m2", "end"} {
		m := message(id)
		if id == "copy1" || id == "copy2" {
			m.Headers[stream.HeaderReplayGroup] = "payment"
		}
		s.sendEnv(p, m)
	}
	payment.wait(s, "payment", []string{"m1", "copy1", "copy2", "m2", "end"})
	others := []string{"m1", "m2", "end"}
	inventory.wait(s, "inventory (lazy headers)", others)
	anon.wait(s, "an anonymous consumer", others)
	batch.wait(s, "shipping (batch mode)", others)
	if s.h.Unsettled == nil {
		s.t.Log("Harness.Unsettled is not set: the skipped copies' acknowledgement is not checked on the broker")
		return
	}
	for _, g := range []string{"inventory", "shipping"} {
		deadline := time.Now().Add(s.h.Timeout)
		for n := s.h.Unsettled(s.t, dest, g); n > 0; n = s.h.Unsettled(s.t, dest, g) {
			if time.Now().After(deadline) {
				s.t.Fatalf("group %s has %d messages unsettled after %s: the copies it skipped were not acknowledged", g, n, s.h.Timeout)
			}
			time.Sleep(50 * time.Millisecond) // polling the broker's state, bounded by deadline
		}
	}
}
