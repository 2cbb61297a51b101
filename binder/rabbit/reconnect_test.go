package rabbit

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/streambind/streambind/binder/rabbit/rabbittest"
	"github.com/streambind/streambind/stream"
)

func uniqueDest(t testing.TB, what string) string {
	return "rabbit-test." + what + "." + randomID()
}

// idSet counts deliveries by id.
type idSet struct {
	mu   sync.Mutex
	seen map[string]int
	ch   chan struct{}
}

func newIDSet() *idSet { return &idSet{seen: map[string]int{}, ch: make(chan struct{}, 1)} }

func (s *idSet) add(id string) {
	s.mu.Lock()
	s.seen[id]++
	s.mu.Unlock()
	select {
	case s.ch <- struct{}{}:
	default:
	}
}

// waitAll waits until every id in want was seen, or the deadline.
func (s *idSet) waitAll(t testing.TB, want []string, d time.Duration) (lost, dups int) {
	t.Helper()
	deadline := time.After(d)
	for {
		s.mu.Lock()
		lost, dups = 0, 0
		for _, id := range want {
			switch n := s.seen[id]; {
			case n == 0:
				lost++
			case n > 1:
				dups += n - 1
			}
		}
		s.mu.Unlock()
		if lost == 0 {
			return
		}
		select {
		case <-s.ch:
		case <-deadline:
			return
		}
	}
}

// TestReconnectResends closes the binder's own connections (not the
// broker's other clients') several times while producers send: every Send
// succeeds and every confirmed message arrives.
func TestReconnectResends(t *testing.T) {
	t.Parallel()
	faultRun(t, nil, 3000, false, func(t *testing.T, b *Binder, _ stream.Producer) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		for range 3 {
			b.pubMgr.forceClose()
			b.sub.forceClose()
			if _, _, err := b.pubMgr.get(ctx); err != nil { // wait for the reconnection
				t.Fatal(err)
			}
		}
	})
}

// TestReconnectAfterNetworkCut: the network between the binder and the
// broker fails (a proxy the test runs cuts both connections) three times
// while producers send; every Send succeeds and every message arrives.
func TestReconnectAfterNetworkCut(t *testing.T) {
	t.Parallel()
	px := rabbittest.NewProxy(t, nil)
	faultRun(t, map[string]any{"addresses": px.Addr()}, 3000, false, func(t *testing.T, b *Binder, _ stream.Producer) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		for range 3 {
			gen := b.pubMgr.generation()
			if n := px.Cut(); n == 0 {
				t.Fatal("no connection to cut")
			}
			for b.pubMgr.generation() == gen { // wait for the reconnection
				if _, _, err := b.pubMgr.get(ctx); err != nil {
					t.Fatal(err)
				}
				if b.pubMgr.generation() == gen {
					time.Sleep(10 * time.Millisecond) // the cut is not seen yet
				}
			}
		}
	})
}

// faultRun sends n messages from 4 goroutines to a consumer group of a
// binder with settings env, calls disrupt once a quarter was sent, and
// checks that every confirmed id arrived. The senders go on past n until
// disrupt returned, so that every fault of a long disruption (rabbitmqctl
// takes seconds a call) meets a producer that sends: with n alone, the
// sends could all be done before its second fault. With retry, a failed Send is sent
// again, as an application would (for outages longer than a Send may wait);
// without, every Send must succeed across the disruption.
func faultRun(t *testing.T, env map[string]any, n int, retry bool, disrupt func(t *testing.T, b *Binder, p stream.Producer)) {
	b, tr := newTestBinder(t, env)
	dest := uniqueDest(t, "fault")
	got := newIDSet()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c, err := tr.BindConsumer(ctx, stream.ConsumerSpec{Binding: "f-in-0", Destination: dest, Group: "g", ContentType: "application/json",
		Consumer: stream.ConsumerConfig{Concurrency: 4},
		Handler:  func(_ context.Context, m stream.Envelope) error { got.add(m.Headers["x-id"]); return nil }})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop(context.Background())
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	p, err := tr.BindProducer(ctx, stream.ProducerSpec{Binding: "f-out-0", Destination: dest, ContentType: "application/json"})
	if err != nil {
		t.Fatal(err)
	}
	const senders = 4
	var (
		mu      sync.Mutex
		sent    []string
		retries atomic.Int64
		wg      sync.WaitGroup
		quarter = make(chan struct{})
		once    sync.Once
		done    = make(chan struct{}) // disrupt returned
	)
	for g := range senders {
		wg.Go(func() {
			for i := 0; ; i++ {
				if i >= n/senders {
					select {
					case <-done:
						return
					default:
					}
				}
				id := strconv.Itoa(g) + "-" + strconv.Itoa(i)
				for {
					sctx, scancel := context.WithTimeout(ctx, 5*time.Second)
					err := p.Send(sctx, stream.Envelope{Payload: []byte(`{"id":"` + id + `"}`), Headers: stream.Headers{"x-id": id}})
					scancel()
					if err == nil {
						break
					}
					if !retry || ctx.Err() != nil {
						t.Errorf("send %s: %v", id, err)
						return
					}
					retries.Add(1)
				}
				mu.Lock()
				sent = append(sent, id)
				if len(sent) == n/4 {
					once.Do(func() { close(quarter) })
				}
				mu.Unlock()
			}
		})
	}
	<-quarter
	func() {
		defer close(done) // also when disrupt fails the test
		disrupt(t, b, p)
	}()
	wg.Wait()
	lost, dups := got.waitAll(t, sent, 60*time.Second)
	t.Logf("sent %d (%d sends retried), received all but %d, duplicates %d", len(sent), retries.Load(), lost, dups)
	if lost != 0 {
		t.Fatalf("%d confirmed messages lost", lost)
	}
}

// TestStaleDeliveryTagGuard: a handler that finishes after its channel was
// lost must not settle its delivery tag on the new channel (where the same
// tag names another delivery).
func TestStaleDeliveryTagGuard(t *testing.T) {
	b, tr := newTestBinder(t, nil)
	dest := uniqueDest(t, "stale")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var (
		mu      sync.Mutex
		calls   = map[string]int{}
		first   = make(chan struct{})
		release = make(chan struct{})
		again   = make(chan struct{}, 10)
	)
	handler := func(_ context.Context, m stream.Envelope) error {
		id := m.Headers["x-id"]
		mu.Lock()
		calls[id]++
		n := calls[id]
		mu.Unlock()
		if id == "a" && n == 1 {
			close(first)
			<-release // finishes after the channel is gone
			return nil
		}
		again <- struct{}{}
		return nil
	}
	cons, err := tr.BindConsumer(ctx, stream.ConsumerSpec{Binding: "s-in-0", Destination: dest, Group: "g", ContentType: "application/json",
		Consumer: stream.ConsumerConfig{Concurrency: 2}, Handler: handler})
	if err != nil {
		t.Fatal(err)
	}
	if err := cons.Start(ctx); err != nil {
		t.Fatal(err)
	}
	p, err := tr.BindProducer(ctx, stream.ProducerSpec{Binding: "s-out-0", Destination: dest, ContentType: "application/json"})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Send(ctx, stream.Envelope{Payload: []byte("a"), Headers: stream.Headers{"x-id": "a"}}); err != nil {
		t.Fatal(err)
	}
	<-first
	b.sub.forceClose() // delivery tag 1 of the old channel is now stale
	select {
	case <-again: // "a" redelivered on the new channel, as tag 1 there, and acked
	case <-ctx.Done():
		t.Fatal("message not redelivered after the channel was lost")
	}
	close(release) // the old handler returns nil: its ack must be dropped
	c := cons.(*consumer)
	deadline := time.Now().Add(10 * time.Second)
	for c.staleAcks.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if n := c.staleAcks.Load(); n != 1 {
		t.Fatalf("stale acks dropped: %d, want 1", n)
	}
	// The new channel is healthy (a wrong ack of an already acked tag would
	// have closed it with PRECONDITION_FAILED) and nothing is left over.
	if err := p.Send(ctx, stream.Envelope{Payload: []byte("b"), Headers: stream.Headers{"x-id": "b"}}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-again:
	case <-ctx.Done():
		t.Fatal("b not delivered")
	}
	s := c.latest.Load().session.Load()
	if s.ch.IsClosed() {
		t.Fatal("the new consuming channel was closed")
	}
	if err := cons.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if calls["a"] != 2 || calls["b"] != 1 {
		t.Fatalf("calls %v, want a twice (original + redelivery), b once", calls)
	}
	conn, err := amqp.Dial(rabbittest.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ch, _ := conn.Channel()
	q, err := ch.QueueDeclarePassive(dest+".g", true, false, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if q.Messages != 0 {
		t.Fatalf("%d messages left in the queue, want 0", q.Messages)
	}
	_ = fmt.Sprint()
}
