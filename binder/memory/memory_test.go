package memory_test

import (
	"bytes"
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/bindertest"
	"github.com/streambind/streambind/binder/memory"
	"github.com/streambind/streambind/stream"
)

// wait bounds every wait of these tests.
const wait = 10 * time.Second

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	t.Cleanup(cancel)
	return ctx
}

func newBroker(t testing.TB, cfg memory.Config) *memory.Broker {
	t.Helper()
	b, err := memory.NewBroker(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := b.Close(ctxT(t)); err != nil {
			t.Errorf("closing broker: %v", err)
		}
	})
	return b
}

// newBinder makes a binder on broker b with the given settings.
func newBinder(t testing.TB, b *memory.Broker, env map[string]any) *memory.Binder {
	t.Helper()
	bd, err := memory.Factory(b)(ctxT(t), stream.BinderSettings{Name: "memory", Type: memory.Type, Environment: env})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := bd.Close(ctxT(t)); err != nil {
			t.Errorf("closing binder: %v", err)
		}
	})
	return bd.(*memory.Binder)
}

func TestConformance(t *testing.T) {
	b := newBroker(t, memory.Config{})
	bindertest.Run(t, bindertest.Harness{
		NewBinder:  func(t *testing.T) stream.Binder { return newBinder(t, b, nil) },
		Persistent: true,
	})
}

// TestConformanceSmallQueues runs the suite with queues small enough that
// back-pressure and refilling are exercised throughout.
func TestConformanceSmallQueues(t *testing.T) {
	b := newBroker(t, memory.Config{BufferSize: 64, RedeliveryDelay: time.Millisecond})
	bindertest.Run(t, bindertest.Harness{
		NewBinder:  func(t *testing.T) stream.Binder { return newBinder(t, b, nil) },
		Persistent: true,
	})
}

func producer(t testing.TB, bd stream.Binder, spec stream.ProducerSpec) stream.Producer {
	t.Helper()
	if spec.Binding == "" {
		spec.Binding = "test-out-0"
	}
	p, err := bd.BindProducer(ctxT(t), spec)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func consumer(t testing.TB, bd stream.Binder, spec stream.ConsumerSpec) stream.Consumer {
	t.Helper()
	if spec.Binding == "" {
		spec.Binding = "test-in-0"
	}
	c, err := bd.BindConsumer(ctxT(t), spec)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.Stop(ctxT(t)); err != nil {
			t.Errorf("stop: %v", err)
		}
	})
	return c
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// msg returns an envelope with payload id and, if part >= 0, a partition.
func msg(id string, part int) stream.Envelope {
	m := stream.Envelope{Payload: []byte(id)}
	if part >= 0 {
		m.Headers = stream.Headers{stream.HeaderPartition: strconv.Itoa(part)}
	}
	return m
}

// inbox collects copies of received messages.
type inbox chan stream.Envelope

func newInbox() inbox { return make(inbox, 4096) }

func (in inbox) handler(_ context.Context, m stream.Envelope) error {
	in <- stream.Envelope{Payload: bytes.Clone(m.Payload), Headers: m.Headers.Clone(), Key: bytes.Clone(m.Key)}
	return nil
}

// next returns the next received message, failing after wait.
func (in inbox) next(t testing.TB) stream.Envelope {
	t.Helper()
	select {
	case m := <-in:
		return m
	case <-time.After(wait):
		t.Fatal("timed out waiting for a message")
		return stream.Envelope{}
	}
}

// expect receives len(want) messages and checks their payloads in order.
func (in inbox) expect(t testing.TB, want ...string) {
	t.Helper()
	for i, w := range want {
		if got := string(in.next(t).Payload); got != w {
			t.Fatalf("message %d: got %q, want %q", i, got, w)
		}
	}
}

// jsonCT is the default content type, as the core passes it to binders.
const jsonCT = stream.DefaultContentType

// BenchmarkSendReceive measures Send → queue → handler; one op is one
// message (handled once per group).
func BenchmarkSendReceive(b *testing.B) {
	cases := []struct {
		name        string
		groups      int
		concurrency int
		headers     stream.Headers
		producerCT  string
		consumerCT  string
	}{
		// As the core binds: both bindings application/json, no headers.
		{name: "nil-headers", groups: 1, concurrency: 1, producerCT: jsonCT, consumerCT: jsonCT},
		{name: "headers", groups: 1, concurrency: 1, producerCT: jsonCT, consumerCT: jsonCT,
			headers: stream.Headers{stream.HeaderContentType: jsonCT, "x-trace": "abc"}},
		// The consumer binding has another content type: the header is written.
		{name: "content-type-differs", groups: 1, concurrency: 1, producerCT: "text/plain", consumerCT: jsonCT},
		{name: "concurrency-4", groups: 1, concurrency: 4, producerCT: jsonCT, consumerCT: jsonCT},
		{name: "fan-out-2-groups", groups: 2, concurrency: 1, producerCT: jsonCT, consumerCT: jsonCT},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			br := newBroker(b, memory.Config{})
			bd := newBinder(b, br, nil)
			var n atomic.Int64
			done := make(chan struct{})
			target := int64(b.N * tc.groups)
			h := func(context.Context, stream.Envelope) error {
				if n.Add(1) == target {
					close(done)
				}
				return nil
			}
			for g := range tc.groups {
				c := consumer(b, bd, stream.ConsumerSpec{Destination: "bench", Group: "g" + strconv.Itoa(g), Handler: h,
					ContentType: tc.consumerCT, Consumer: stream.ConsumerConfig{Concurrency: tc.concurrency}})
				must(b, c.Start(ctxT(b)))
			}
			p := producer(b, bd, stream.ProducerSpec{Destination: "bench", ContentType: tc.producerCT})
			m := stream.Envelope{Payload: []byte(`{"order":42}`), Headers: tc.headers}
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if err := p.Send(ctx, m); err != nil {
					b.Fatal(err)
				}
			}
			<-done
		})
	}
}

// TestHotPathAllocations guards the hot path: Send → queue → handler with
// nil headers and concurrency 1, bound as the core binds (content type
// application/json on both sides). Its only allocations are the headers
// Send writes (the id and contentType, in a new map: two allocations; the
// ids are made sixteen to an allocation, see binder/internal/msgid); a
// message that has both allocates nothing.
func TestHotPathAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under the race detector")
	}
	br := newBroker(t, memory.Config{})
	bd := newBinder(t, br, nil)
	got := make(chan struct{}, 1)
	c := consumer(t, bd, stream.ConsumerSpec{Destination: "hot", Group: "g", ContentType: jsonCT, Handler: func(context.Context, stream.Envelope) error {
		got <- struct{}{}
		return nil
	}})
	must(t, c.Start(ctxT(t)))
	p := producer(t, bd, stream.ProducerSpec{Destination: "hot", ContentType: jsonCT})
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		m    stream.Envelope
		max  float64
	}{
		// the map (2); a sixteenth of an ids block rounds away (AllocsPerRun truncates)
		{"no headers", stream.Envelope{Payload: []byte("x")}, 2},
		{"id and contentType set", stream.Envelope{Payload: []byte("x"), Headers: stream.Headers{stream.HeaderID: "1", stream.HeaderContentType: jsonCT}}, 0},
	} {
		allocs := testing.AllocsPerRun(1000, func() {
			if err := p.Send(ctx, tc.m); err != nil {
				t.Fatal(err)
			}
			<-got
		})
		if allocs > tc.max {
			t.Errorf("hot path, %s: %v allocations per message, want at most %v", tc.name, allocs, tc.max)
		}
	}
}

// TestSendStampsIDAndContentType: every message arrives with an id (unique,
// or the caller's) and a contentType (the producer binding's, or the
// caller's), as on the wire binders; the caller's headers are not modified.
func TestSendStampsIDAndContentType(t *testing.T) {
	br := newBroker(t, memory.Config{})
	bd := newBinder(t, br, nil)
	got := make(chan stream.Envelope, 4)
	c := consumer(t, bd, stream.ConsumerSpec{Destination: "stamp", Group: "g", ContentType: jsonCT, Handler: func(_ context.Context, e stream.Envelope) error {
		got <- e
		return nil
	}})
	must(t, c.Start(ctxT(t)))
	const producerCT = "text/plain"
	p := producer(t, bd, stream.ProducerSpec{Destination: "stamp", ContentType: producerCT})
	own := stream.Headers{"x-a": "b"}
	for _, m := range []stream.Envelope{
		{Payload: []byte("1")},
		{Payload: []byte("2"), Headers: own},
		{Payload: []byte("3"), Headers: stream.Headers{stream.HeaderID: "mine", stream.HeaderContentType: "application/xml"}},
	} {
		must(t, p.Send(ctxT(t), m))
	}
	if len(own) != 1 {
		t.Errorf("Send modified the caller's headers: %v", own)
	}
	ids := map[string]bool{}
	for i := range 3 {
		var e stream.Envelope
		select {
		case e = <-got:
		case <-ctxT(t).Done():
			t.Fatalf("message %d not received", i+1)
		}
		id, ct := e.Headers[stream.HeaderID], e.Headers[stream.HeaderContentType]
		switch string(e.Payload) {
		case "3":
			if id != "mine" || ct != "application/xml" {
				t.Errorf("caller's id and contentType: got %q, %q", id, ct)
			}
		default:
			if id == "" || ids[id] || ct != producerCT {
				t.Errorf("message %s: id %q (seen before: %v), contentType %q; want a new id and %q", e.Payload, id, ids[id], ct, producerCT)
			}
			ids[id] = true
		}
		if string(e.Payload) == "2" && e.Headers["x-a"] != "b" {
			t.Errorf("message 2 lost its header x-a: %v", e.Headers)
		}
	}
}
