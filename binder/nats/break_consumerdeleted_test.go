package nats_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	natsbinder "github.com/streambind/streambind/binder/nats"
	"github.com/streambind/streambind/binder/nats/natstest"
	"github.com/streambind/streambind/stream"
)

// deleteConsumer deletes the durable consumer of dest's group on the
// server at url as an operator would. NATS 2.9 sometimes fails a delete
// while the consumer's state is being written (500, "directory not
// empty"): it is tried again until the consumer is gone.
func deleteConsumer(t *testing.T, url, dest, group string) {
	t.Helper()
	js := jsAt(t, url)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	stream, durable := natsbinder.StreamName(dest), natsbinder.DurableName(group, -1)
	var created time.Time
	if c, err := js.Consumer(ctx, stream, durable); err == nil {
		created = c.CachedInfo().Created
	}
	for {
		err := js.DeleteConsumer(ctx, stream, durable)
		if err == nil || errors.Is(err, jetstream.ErrConsumerNotFound) {
			return
		}
		// The server can fail a deletion that took effect (under load:
		// "unlinkat ...: directory not empty", code 500) and the binding
		// may have made the consumer again meanwhile: deleting that one
		// too would be a second outage the test did not mean.
		if c, cerr := js.Consumer(ctx, stream, durable); errors.Is(cerr, jetstream.ErrConsumerNotFound) ||
			(cerr == nil && !created.IsZero() && !c.CachedInfo().Created.Equal(created)) {
			t.Logf("deleting consumer %s: %v; it was deleted all the same", group, err)
			return
		}
		t.Logf("deleting consumer %s: %v; trying again", group, err)
		select {
		case <-ctx.Done():
			t.Fatal(err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// TestBreakConsumerDeletedKeepsNaked: the group's durable consumer is
// deleted while messages that the handler Nak'ed wait for their
// redelivery, and later messages were acknowledged. The binding makes the
// consumer again and the Nak'ed messages are handled all the same: a Nak
// is "handle it later", never "lose it".
func TestBreakConsumerDeletedKeepsNaked(t *testing.T) {
	srv := natstest.Start(t, natstest.Options{})
	b := newBinder(t, srv.URL(), nil)
	closeBinder(t, b)
	dest := unique(t, "cdel")
	tr := newTracker()
	var (
		mu    sync.Mutex
		tries = map[string]int{}
	)
	naked := make(chan string, 10)
	h := func(_ context.Context, m stream.Envelope) error {
		id := m.Headers[idHeader]
		mu.Lock()
		tries[id]++
		n := tries[id]
		mu.Unlock()
		if id == "m-0" && n == 1 {
			naked <- id
			return fmt.Errorf("later: %w", stream.ErrNak)
		}
		tr.receive(0, id)
		return nil
	}
	c := startConsumer(t, b, stream.ConsumerSpec{Destination: dest, Group: "g", Handler: h,
		Extension: map[string]any{"redelivery-delay": "3s"}})
	p := bindProducer(t, b, stream.ProducerSpec{Destination: dest})
	var want []string
	for i := range 10 {
		id := "m-" + strconv.Itoa(i)
		want = append(want, id)
		if err := p.Send(context.Background(), msg(id)); err != nil {
			t.Fatal(err)
		}
	}
	<-naked
	tr.wait(t, want[1:], 10*time.Second) // the later ones are acknowledged
	deleteConsumer(t, srv.URL(), dest, "g")
	// The consumer is made again within about a pull's heartbeats; m-0
	// must come back (its Nak asked for it in 3s).
	tr.wait(t, want, 30*time.Second)
	if err := c.(stream.BindingHealthChecker).Health(context.Background()); err != nil {
		t.Errorf("consumer health: %v", err)
	}
}

// TestBreakConsumerDeletedWhileHandling: the group's durable consumer is
// deleted while a handler holds a message, and the binding makes the
// consumer again before that handler returns a Nak. The message is
// handled again all the same.
func TestBreakConsumerDeletedWhileHandling(t *testing.T) {
	srv := natstest.Start(t, natstest.Options{})
	b := newBinder(t, srv.URL(), nil)
	closeBinder(t, b)
	dest := unique(t, "cdel")
	tr := newTracker()
	var (
		mu    sync.Mutex
		tries = map[string]int{}
	)
	holding, release := make(chan struct{}), make(chan struct{})
	h := func(_ context.Context, m stream.Envelope) error {
		id := m.Headers[idHeader]
		mu.Lock()
		tries[id]++
		n := tries[id]
		mu.Unlock()
		if id == "m-0" && n == 1 {
			close(holding)
			<-release
			return fmt.Errorf("later: %w", stream.ErrNak)
		}
		tr.receive(0, id)
		return nil
	}
	startConsumer(t, b, stream.ConsumerSpec{Destination: dest, Group: "g", Handler: h,
		Consumer:  stream.ConsumerConfig{Concurrency: 2},
		Extension: map[string]any{"redelivery-delay": "500ms"}})
	p := bindProducer(t, b, stream.ProducerSpec{Destination: dest})
	m := msg("m-0")
	m.Key = []byte("a")
	if err := p.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	<-holding
	var want []string
	for i := 1; i < 10; i++ {
		id := "m-" + strconv.Itoa(i)
		want = append(want, id)
		m := msg(id)
		m.Key = []byte("b")
		if err := p.Send(context.Background(), m); err != nil {
			t.Fatal(err)
		}
	}
	tr.wait(t, want, 10*time.Second)
	deleteConsumer(t, srv.URL(), dest, "g")
	m = msg("after")
	m.Key = []byte("b")
	if err := p.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	tr.wait(t, []string{"after"}, 30*time.Second) // the consumer was made again
	close(release)
	tr.wait(t, []string{"m-0"}, 10*time.Second)
}
