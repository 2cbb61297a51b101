package nats_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/nats/natstest"
	"github.com/streambind/streambind/stream"
)

// A rolling deployment lowers the group's ack-wait: member A, bound with
// ack-wait 30s, holds messages whose handler takes 3s each when member B
// binds with ack-wait 2s and so updates the durable consumer the group
// shares. A must time its in-progress acks by the durable's ack-wait as
// the server has it, not by its own configuration: before, A sent them
// every 10s, JetStream redelivered what A held after 2s, and every message
// was handled twice (seen in the trial: a, c, e, g of 8). No message may be
// handled twice while A is alive and handles each within its handler time.
func TestRollingAckWaitLoweredNoRedelivery(t *testing.T) {
	natstest.Require(t)
	t.Parallel()
	url := natstest.URL()
	dest := ownDest(t, url, "rolling-ackwait")
	const handlerTime = 3 * time.Second
	ids := []string{"a", "b", "c", "d"}

	var mu sync.Mutex
	handled := map[string][]string{} // id → members that handled it
	started := make(chan string, 16) // A began to handle an id
	doneA := make(chan string, 16)   // A finished an id
	note := func(member, id string) {
		mu.Lock()
		handled[id] = append(handled[id], member)
		mu.Unlock()
	}

	a := newBinder(t, url, nil)
	closeBinder(t, a)
	startConsumer(t, a, stream.ConsumerSpec{Binding: "in-0", Destination: dest, Group: "g",
		Extension: map[string]any{"ack-wait": "30s"},
		Handler: func(ctx context.Context, m stream.Envelope) error {
			id := m.Headers[idHeader]
			note("A", id)
			started <- id
			select { // the slow handler: bounded, not cancelled by the test
			case <-time.After(handlerTime):
			case <-ctx.Done():
				return ctx.Err()
			}
			doneA <- id
			return nil
		}})
	p := bindProducer(t, a, stream.ProducerSpec{Destination: dest})
	for _, id := range ids {
		if err := p.Send(context.Background(), msg(id)); err != nil {
			t.Fatal(err)
		}
	}
	// A holds all four (prefetch 128) and handles the first.
	select {
	case <-started:
	case <-time.After(10 * time.Second):
		t.Fatal("member A received nothing")
	}

	b := newBinder(t, url, nil)
	closeBinder(t, b)
	startConsumer(t, b, stream.ConsumerSpec{Binding: "in-0", Destination: dest, Group: "g",
		Extension: map[string]any{"ack-wait": "2s"},
		Handler: func(_ context.Context, m stream.Envelope) error {
			note("B", m.Headers[idHeader])
			return nil
		}})

	// A handles the four one after another (about 12s); a redelivery of
	// one it holds goes to B (or A), whose handler records it at once.
	deadline := time.After(time.Duration(len(ids))*handlerTime + 20*time.Second)
	for range ids {
		select {
		case <-doneA:
		case <-deadline:
			t.Fatal("member A did not handle its messages in time")
		}
	}
	mu.Lock()
	defer mu.Unlock()
	for _, id := range ids {
		if got := handled[id]; len(got) != 1 {
			t.Errorf("message %s handled %d times, by %v; want once", id, len(got), got)
		}
	}
	for id, by := range handled {
		if !slices.Contains(ids, id) {
			t.Errorf("unexpected message %q handled by %v", id, by)
		}
	}
}
