package redis_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	redisbinder "github.com/streambind/streambind/binder/redis"
	"github.com/streambind/streambind/binder/redis/redistest"
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
	id := m.Headers[idHeader]
	o.ids = append(o.ids, id)
	if id == o.last {
		close(o.done)
	}
}

func (o *inOrder) wait(t *testing.T, name string, want []string) {
	t.Helper()
	select {
	case <-o.done:
	case <-time.After(20 * time.Second):
		t.Fatalf("%s did not handle %s within 20s", name, o.last)
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if !slices.Equal(o.ids, want) {
		t.Errorf("%s handled %v, want %v", name, o.ids, want)
	}
}

// A replayed copy for one group (stream.HeaderReplayGroup, as streambind
// dlq replay sends it) is handled by that group's consumer only; the
// consumers of other groups, anonymous ones and batch-mode ones
// acknowledge it without handling it (nothing stays pending for them).
func TestReplayedCopyForOneGroupOnly(t *testing.T) {
	e := newEnv(t)
	b := e.binder(t, nil)
	const dest = "orders"
	one := func(o *inOrder) stream.Handler {
		return func(_ context.Context, m stream.Envelope) error { o.add(m); return nil }
	}
	payment, inventory, anon, batch := newInOrder("end"), newInOrder("end"), newInOrder("end"), newInOrder("end")
	bindConsumer(t, b, stream.ConsumerSpec{Destination: dest, Group: "payment", Handler: one(payment)})
	bindConsumer(t, b, stream.ConsumerSpec{Destination: dest, Group: "inventory", Handler: one(inventory)})
	bindConsumer(t, b, stream.ConsumerSpec{Destination: dest, Handler: one(anon)})
	bindConsumer(t, b, stream.ConsumerSpec{Destination: dest, Group: "shipping", Consumer: stream.ConsumerConfig{BatchMode: true},
		BatchHandler: func(_ context.Context, ms []stream.Envelope) error {
			for _, m := range ms {
				batch.add(m)
			}
			return nil
		}})
	p := bindProducer(t, b, stream.ProducerSpec{Destination: dest})
	for _, id := range []string{"m1", "copy1", "copy2", "m2", "end"} {
		m := msg(id)
		if id == "copy1" || id == "copy2" {
			m.Headers[stream.HeaderReplayGroup] = "payment"
		}
		if err := p.Send(context.Background(), m); err != nil {
			t.Fatal(err)
		}
	}
	payment.wait(t, "payment", []string{"m1", "copy1", "copy2", "m2", "end"})
	others := []string{"m1", "m2", "end"}
	inventory.wait(t, "inventory", others)
	anon.wait(t, "an anonymous consumer", others)
	batch.wait(t, "shipping (batch mode)", others)

	admin := redistest.Client(t, redistest.Addr(), "", "")
	key := redisbinder.StreamKey(e.prefix, dest, -1)
	for _, g := range []string{"inventory", "shipping"} {
		waitFor(t, 10*time.Second, g+" has nothing pending", func() bool {
			s, err := admin.XPending(context.Background(), key, g).Result()
			return err == nil && s.Count == 0
		})
	}
}
