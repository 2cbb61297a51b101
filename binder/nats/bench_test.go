package nats_test

import (
	"context"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nuid"

	"github.com/streambind/streambind/binder/bindertest"
	natsbinder "github.com/streambind/streambind/binder/nats"
	"github.com/streambind/streambind/binder/nats/natstest"
	"github.com/streambind/streambind/stream"
)

// The benchmarks run the binder beside raw nats.go (jetstream) in the same
// run, on the shared server, with the message the binder puts on the wire
// (contentType and id headers, Nats-Msg-Id, Nats-Expected-Stream), so that
// the comparison measures the binder, not the convention.

var benchPayload = []byte(`{"orderId":"o-123456","customerId":"c-42","quantity":3,"amount":29.97}`)

// benchWindow is the raw publisher's window of unacknowledged publishes
// and the number of concurrent binder senders.
const benchWindow = 256

// benchStream makes the stream of a new destination (as the binder would)
// and returns the destination; the stream is deleted at the end.
func benchStream(b *testing.B, js jetstream.JetStream, name string) string {
	b.Helper()
	dest := "bench." + name + "." + uuid.NewString()[:8]
	s := newStreams(b, natstest.URL())
	s.add(dest)
	if _, err := js.CreateStream(context.Background(), jetstream.StreamConfig{
		Name: natsbinder.StreamName(dest), Subjects: []string{dest, dest + ".>"}, Duplicates: 2 * time.Minute,
	}); err != nil {
		b.Fatal(err)
	}
	return dest
}

func rawJS(b *testing.B) (*natsgo.Conn, jetstream.JetStream) {
	b.Helper()
	natstest.Require(b)
	nc, err := natsgo.Connect(natstest.URL())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(nc.Close)
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(benchWindow))
	if err != nil {
		b.Fatal(err)
	}
	return nc, js
}

// rawPublish publishes n messages asynchronously (at most benchWindow
// unacknowledged) and waits for every PubAck. A full window waits for
// room (up to a minute) instead of failing after nats.go's default 200ms:
// on the loaded machine PubAcks can take that long.
func rawPublish(b *testing.B, js jetstream.JetStream, dest string, n int) {
	b.Helper()
	publishAs(b, js, dest, n, benchPayload, "application/json")
}

// publishAs is rawPublish of payload with content type ct, as the binder
// puts a message on the wire (contentType and id headers, Nats-Msg-Id,
// Nats-Expected-Stream).
func publishAs(b *testing.B, js jetstream.JetStream, dest string, n int, payload []byte, ct string) {
	b.Helper()
	name := natsbinder.StreamName(dest)
	for range n {
		id := nuid.Next()
		m := &natsgo.Msg{Subject: dest, Data: payload, Header: natsgo.Header{
			stream.HeaderContentType: {ct}, stream.HeaderID: {id},
		}}
		if _, err := js.PublishMsgAsync(m, jetstream.WithMsgID(id), jetstream.WithExpectStream(name), jetstream.WithStallWait(time.Minute)); err != nil {
			b.Fatal(err)
		}
	}
	select {
	case <-js.PublishAsyncComplete():
	case <-time.After(time.Minute):
		b.Fatal("PubAcks missing after a minute")
	}
}

// benchRounds is how many rounds a paired benchmark alternates its sides
// in: the machine's other load changes from second to second, and a side
// measured only before or after the other would be measured under
// another load. Each side gets b.N messages, b.N/benchRounds a round.
const benchRounds = 6

// side is one way of doing a paired benchmark's work: run does n
// messages and returns the wall and CPU time of the timed part (see
// set-up left out).
type side struct {
	name string
	run  func(n int) span
}

// span is the wall and CPU time (this process's) of a measured part.
type span struct{ wall, cpu time.Duration }

// paired runs the sides in turn, benchRounds times, and reports each
// side's msgs/s over its rounds and each side's rate relative to the
// first side's (the baseline) as <name>/<first>.
func paired(b *testing.B, sides ...side) {
	b.Helper()
	// The sides time themselves; the benchmark's own timer runs on, set-up
	// included, so that -benchtime <duration> sizes b.N sensibly.
	b.ResetTimer()
	per := max(b.N/benchRounds, 1)
	took := make([]time.Duration, len(sides))
	cpu := make([]time.Duration, len(sides))
	for range benchRounds {
		for i, s := range sides {
			sp := s.run(per)
			took[i] += sp.wall
			cpu[i] += sp.cpu
		}
	}
	total := float64(per * benchRounds)
	for i, s := range sides {
		b.ReportMetric(total/took[i].Seconds(), s.name+"-msgs/s")
		b.ReportMetric(float64(cpu[i].Microseconds())/total, s.name+"-cpu-µs/msg")
		if i > 0 {
			b.ReportMetric(took[0].Seconds()/took[i].Seconds(), s.name+"/"+sides[0].name)
		}
	}
	b.ReportMetric(0, "ns/op")
}

// concurrently calls send n times from benchWindow goroutines and
// returns how long that took.
func concurrently(b *testing.B, n int, send func() error) span {
	var next atomic.Int64
	var wg sync.WaitGroup
	c0, start := bindertest.CPUTime(), time.Now()
	for range benchWindow {
		wg.Go(func() {
			for next.Add(1) <= int64(n) {
				if err := send(); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	return span{time.Since(start), bindertest.CPUTime() - c0}
}

// BenchmarkNATSPublish: b.N messages a side with at most benchWindow
// PubAcks outstanding, the sides alternating in rounds (see paired):
//
//   - raw: benchWindow goroutines, each publishing with nats.go's
//     PublishMsgAsync and waiting for its own PubAck before the next — what
//     the binder's Send promises (it returns once the message is stored),
//     with the same concurrency the binder is given. The baseline.
//   - binder: benchWindow goroutines calling Send.
//   - raw-window: one goroutine publishing asynchronously with a window of
//     benchWindow unacknowledged messages, waiting only at the end: the
//     ceiling of nats.go, which no API that confirms each send reaches.
//   - binder-async: one goroutine calling SendAsync (pipelined processing's
//     way) b.N times, its done counting the answers, waiting for every
//     one at the end: raw-window's shape through the binder (its own window
//     of 4,096 unanswered sends rather than benchWindow).
//
// Every message carries what the binder puts on the wire (contentType and
// id headers, Nats-Msg-Id, Nats-Expected-Stream).
func BenchmarkNATSPublish(b *testing.B) {
	_, js := rawJS(b)
	rawDest, winDest, binDest := benchStream(b, js, "pub.raw"), benchStream(b, js, "pub.win"), benchStream(b, js, "pub.binder")
	asyncDest := benchStream(b, js, "pub.async")
	rawName := natsbinder.StreamName(rawDest)
	bd := newBinder(b, natstest.URL(), nil)
	closeBinder(b, bd)
	p, err := bd.BindProducer(context.Background(), stream.ProducerSpec{Binding: "b-out-0", Destination: binDest, ContentType: "application/json"})
	if err != nil {
		b.Fatal(err)
	}
	ap, err := bd.BindProducer(context.Background(), stream.ProducerSpec{Binding: "b-out-1", Destination: asyncDest, ContentType: "application/json"})
	if err != nil {
		b.Fatal(err)
	}
	paired(b,
		side{"raw", func(n int) span {
			return concurrently(b, n, func() error {
				id := nuid.Next()
				m := &natsgo.Msg{Subject: rawDest, Data: benchPayload, Header: natsgo.Header{
					stream.HeaderContentType: {"application/json"}, stream.HeaderID: {id},
				}}
				f, err := js.PublishMsgAsync(m, jetstream.WithMsgID(id), jetstream.WithExpectStream(rawName))
				if err != nil {
					return err
				}
				select {
				case <-f.Ok():
					return nil
				case err := <-f.Err():
					return err
				}
			})
		}},
		side{"binder", func(n int) span {
			return concurrently(b, n, func() error {
				return p.Send(context.Background(), stream.Envelope{Payload: benchPayload})
			})
		}},
		side{"raw-window", func(n int) span {
			c0, start := bindertest.CPUTime(), time.Now()
			rawPublish(b, js, winDest, n)
			return span{time.Since(start), bindertest.CPUTime() - c0}
		}},
		side{"binder-async", func(n int) span {
			return sendAsync(b, ap.(stream.AsyncProducer), n)
		}},
	)
}

// sendAsync calls p.SendAsync n times from one goroutine and waits for
// every answer; an error fails the benchmark.
func sendAsync(b *testing.B, p stream.AsyncProducer, n int) span {
	var (
		left   atomic.Int64
		failed atomic.Pointer[error]
	)
	all := make(chan struct{})
	left.Store(int64(n))
	done := func(err error) {
		if err != nil {
			failed.CompareAndSwap(nil, &err)
		}
		if left.Add(-1) == 0 {
			close(all)
		}
	}
	ctx := context.Background()
	c0, start := bindertest.CPUTime(), time.Now()
	for range n {
		p.SendAsync(ctx, stream.Envelope{Payload: benchPayload}, done)
	}
	select {
	case <-all:
	case <-time.After(time.Minute):
		b.Fatalf("%d SendAsyncs unanswered after a minute", left.Load())
	}
	sp := span{time.Since(start), bindertest.CPUTime() - c0}
	if err := failed.Load(); err != nil {
		b.Fatal(*err)
	}
	return sp
}

// BenchmarkNATSConsume: a durable pull consumer reading messages already
// in the stream and acknowledging each after its handler, b.N a side, the
// sides alternating in rounds (see paired); each round publishes its
// messages first (not timed) and times from the start of consuming to
// the last message handled:
//
//   - raw: nats.go's Consume with PullMaxMessages(prefetch) and a handler
//     that counts and acks each message (Ack, as the binder's; one
//     callback goroutine, as the binder's concurrency 1), on a durable
//     consumer with the binder's default settings (explicit acks,
//     max-ack-pending, ack-wait). After each round (not timed) it asks
//     for the consumer's info, as the binder does when it stops: NATS 2.9
//     otherwise hands messages of the next round to the stopped pull's
//     requests, and they wait for ack-wait (a 30s round).
//   - binder: a consumer binding with concurrency 1 and the default
//     prefetch, Start to the last handler call (Stop not timed).
func BenchmarkNATSConsume(b *testing.B) {
	_, js := rawJS(b)
	ctx := context.Background()
	rawDest, binDest := benchStream(b, js, "con.raw"), benchStream(b, js, "con.binder")
	rc, err := js.CreateOrUpdateConsumer(ctx, natsbinder.StreamName(rawDest), jetstream.ConsumerConfig{
		Durable: "g", AckPolicy: jetstream.AckExplicitPolicy,
		MaxAckPending: natsbinder.DefaultMaxAckPending, AckWait: natsbinder.DefaultAckWait,
	})
	if err != nil {
		b.Fatal(err)
	}
	bd := newBinder(b, natstest.URL(), nil)
	closeBinder(b, bd)
	var target, handled atomic.Int64
	var done chan struct{}
	count := func() {
		if handled.Add(1) == target.Load() {
			close(done)
		}
	}
	c, err := bd.BindConsumer(ctx, stream.ConsumerSpec{Binding: "b-in-0", Destination: binDest, Group: "g", ContentType: "application/json",
		Consumer: stream.ConsumerConfig{Concurrency: 1, MaxAttempts: 1, InstanceCount: 1}, LazyHeaders: true,
		Handler: func(context.Context, stream.Envelope) error { count(); return nil }})
	if err != nil {
		b.Fatal(err)
	}
	wait := func(n int) {
		select {
		case <-done:
		case <-time.After(2 * time.Minute):
			b.Fatalf("%d of %d handled", handled.Load(), n)
		}
	}
	reset := func(n int) { handled.Store(0); target.Store(int64(n)); done = make(chan struct{}) }
	paired(b,
		side{"raw", func(n int) span {
			rawPublish(b, js, rawDest, n)
			reset(n)
			c0, start := bindertest.CPUTime(), time.Now()
			cc, err := rc.Consume(func(m jetstream.Msg) {
				_ = m.Ack()
				count()
			}, jetstream.PullMaxMessages(natsbinder.DefaultPrefetch))
			if err != nil {
				b.Fatal(err)
			}
			wait(n)
			d := span{time.Since(start), bindertest.CPUTime() - c0}
			cc.Stop()
			<-cc.Closed()
			if _, err := rc.Info(ctx); err != nil {
				b.Fatal(err)
			}
			return d
		}},
		side{"binder", func(n int) span {
			rawPublish(b, js, binDest, n)
			reset(n)
			c0, start := bindertest.CPUTime(), time.Now()
			if err := c.Start(ctx); err != nil {
				b.Fatal(err)
			}
			wait(n)
			d := span{time.Since(start), bindertest.CPUTime() - c0}
			if err := c.Stop(ctx); err != nil {
				b.Fatal(err)
			}
			return d
		}},
	)
}

// BenchmarkNATSLatency sends b.N messages at 2,000 msgs/s and reports the
// end-to-end latency percentiles (send → JetStream → handler): raw
// nats.go (publish, pull consume with ack) and the binder, in the same
// run. Run it with -benchtime=4000x (two seconds each).
func BenchmarkNATSLatency(b *testing.B) {
	b.Run("raw", func(b *testing.B) {
		_, js := rawJS(b)
		dest := benchStream(b, js, "lat.raw")
		ctx := context.Background()
		c, err := js.CreateOrUpdateConsumer(ctx, natsbinder.StreamName(dest), jetstream.ConsumerConfig{Durable: "g", AckPolicy: jetstream.AckExplicitPolicy})
		if err != nil {
			b.Fatal(err)
		}
		rec := newLatencies(b.N)
		cc, err := c.Consume(func(m jetstream.Msg) {
			_ = m.Ack()
			rec.add(m.Headers().Get("x-sent"))
		}, jetstream.PullMaxMessages(natsbinder.DefaultPrefetch))
		if err != nil {
			b.Fatal(err)
		}
		defer cc.Stop()
		paced(b, func() error {
			m := &natsgo.Msg{Subject: dest, Data: benchPayload, Header: natsgo.Header{"x-sent": {strconv.FormatInt(time.Now().UnixNano(), 10)}}}
			_, err := js.PublishMsg(ctx, m)
			return err
		})
		rec.report(b)
	})
	b.Run("binder", func(b *testing.B) {
		_, js := rawJS(b)
		dest := benchStream(b, js, "lat.binder")
		bd := newBinder(b, natstest.URL(), nil)
		closeBinder(b, bd)
		ctx := context.Background()
		rec := newLatencies(b.N)
		c, err := bd.BindConsumer(ctx, stream.ConsumerSpec{Binding: "b-in-0", Destination: dest, Group: "g", ContentType: "application/json",
			Consumer: stream.ConsumerConfig{Concurrency: 1, MaxAttempts: 1, InstanceCount: 1},
			Handler: func(_ context.Context, m stream.Envelope) error {
				rec.add(m.Headers["x-sent"])
				return nil
			}})
		if err != nil {
			b.Fatal(err)
		}
		if err := c.Start(ctx); err != nil {
			b.Fatal(err)
		}
		defer func() { _ = c.Stop(ctx) }()
		p, err := bd.BindProducer(ctx, stream.ProducerSpec{Binding: "b-out-0", Destination: dest, ContentType: "application/json"})
		if err != nil {
			b.Fatal(err)
		}
		paced(b, func() error {
			return p.Send(ctx, stream.Envelope{Payload: benchPayload, Headers: stream.Headers{"x-sent": strconv.FormatInt(time.Now().UnixNano(), 10)}})
		})
		rec.report(b)
	})
}

// paced calls send b.N times at 2,000 calls/s, each in a goroutine of its
// own (sends overlap as they would from concurrent handlers).
func paced(b *testing.B, send func() error) {
	const rate = 2000
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for i := range b.N {
		if d := time.Until(start.Add(time.Duration(i) * time.Second / rate)); d > 0 {
			time.Sleep(d)
		}
		wg.Go(func() {
			if err := send(); err != nil {
				b.Error(err)
			}
		})
	}
	wg.Wait()
}

// latencies records end-to-end latencies from x-sent headers.
type latencies struct {
	mu   sync.Mutex
	n    int
	lat  []time.Duration
	done chan struct{}
}

func newLatencies(n int) *latencies {
	return &latencies{n: n, lat: make([]time.Duration, 0, n), done: make(chan struct{})}
}

func (l *latencies) add(sent string) {
	ns, _ := strconv.ParseInt(sent, 10, 64)
	d := time.Since(time.Unix(0, ns))
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.lat) < l.n {
		l.lat = append(l.lat, d)
		if len(l.lat) == l.n {
			close(l.done)
		}
	}
}

func (l *latencies) report(b *testing.B) {
	select {
	case <-l.done:
	case <-time.After(30 * time.Second):
		b.Fatal("not every message arrived")
	}
	b.StopTimer()
	l.mu.Lock()
	defer l.mu.Unlock()
	slices.Sort(l.lat)
	pct := func(p float64) float64 {
		return float64(l.lat[min(len(l.lat)-1, int(p*float64(len(l.lat))))].Microseconds())
	}
	b.ReportMetric(pct(0.5), "p50-µs")
	b.ReportMetric(pct(0.99), "p99-µs")
	b.ReportMetric(0, "ns/op")
}
