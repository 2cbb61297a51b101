package nats_test

import (
	"context"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

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

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// report reports the rate and the client CPU per message (a steadier
// figure than the rate on a shared machine) since start and cpu0.
func report(b *testing.B, start time.Time, cpu0 time.Duration) {
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/msg")
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
// unacknowledged) and waits for every PubAck.
func rawPublish(b *testing.B, js jetstream.JetStream, dest string, n int) {
	b.Helper()
	name := natsbinder.StreamName(dest)
	for i := range n {
		id := "raw-" + strconv.Itoa(i)
		m := &natsgo.Msg{Subject: dest, Data: benchPayload, Header: natsgo.Header{
			stream.HeaderContentType: {"application/json"}, stream.HeaderID: {id},
		}}
		if _, err := js.PublishMsgAsync(m, jetstream.WithMsgID(id), jetstream.WithExpectStream(name)); err != nil {
			b.Fatal(err)
		}
	}
	select {
	case <-js.PublishAsyncComplete():
	case <-time.After(time.Minute):
		b.Fatal("PubAcks missing after a minute")
	}
}

// BenchmarkNATSPublish: b.N messages with at most benchWindow PubAcks
// outstanding, three ways in the same run.
//
//   - raw: benchWindow goroutines, each publishing with PublishMsgAsync
//     and waiting for its own PubAck before the next — what the binder's
//     Send promises (it returns once the message is stored), with the
//     same concurrency the binder is given. This is the baseline of the
//     ratio.
//   - raw-window: one goroutine publishing asynchronously with a window of
//     benchWindow unacknowledged messages, waiting only at the end: the
//     ceiling of nats.go, which no API that confirms each send reaches.
//   - binder: benchWindow goroutines calling Send.
func BenchmarkNATSPublish(b *testing.B) {
	b.Run("raw", func(b *testing.B) {
		_, js := rawJS(b)
		dest := benchStream(b, js, "pub.rawc")
		name := natsbinder.StreamName(dest)
		var next atomic.Int64
		var wg sync.WaitGroup
		b.ResetTimer()
		start, cpu0 := time.Now(), cpuTime()
		for range benchWindow {
			wg.Go(func() {
				for i := next.Add(1); i <= int64(b.N); i = next.Add(1) {
					id := "raw-" + strconv.FormatInt(i, 10)
					m := &natsgo.Msg{Subject: dest, Data: benchPayload, Header: natsgo.Header{
						stream.HeaderContentType: {"application/json"}, stream.HeaderID: {id},
					}}
					f, err := js.PublishMsgAsync(m, jetstream.WithMsgID(id), jetstream.WithExpectStream(name))
					if err != nil {
						b.Error(err)
						return
					}
					select {
					case <-f.Ok():
					case err := <-f.Err():
						b.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
		report(b, start, cpu0)
	})
	b.Run("raw-window", func(b *testing.B) {
		_, js := rawJS(b)
		dest := benchStream(b, js, "pub.raw")
		b.ResetTimer()
		start, cpu0 := time.Now(), cpuTime()
		rawPublish(b, js, dest, b.N)
		report(b, start, cpu0)
	})
	b.Run("binder", func(b *testing.B) {
		_, js := rawJS(b)
		dest := benchStream(b, js, "pub.binder")
		bd := newBinder(b, natstest.URL(), nil)
		closeBinder(b, bd)
		p, err := bd.BindProducer(context.Background(), stream.ProducerSpec{Binding: "b-out-0", Destination: dest, ContentType: "application/json"})
		if err != nil {
			b.Fatal(err)
		}
		var next atomic.Int64
		var wg sync.WaitGroup
		b.ResetTimer()
		start, cpu0 := time.Now(), cpuTime()
		for range benchWindow { // as many senders as the raw window holds
			wg.Go(func() {
				for next.Add(1) <= int64(b.N) {
					if err := p.Send(context.Background(), stream.Envelope{Payload: benchPayload}); err != nil {
						b.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
		report(b, start, cpu0)
	})
}

// BenchmarkNATSConsume reads b.N messages already in the stream with a
// durable pull consumer, acknowledging each.
func BenchmarkNATSConsume(b *testing.B) {
	b.Run("raw", func(b *testing.B) {
		_, js := rawJS(b)
		dest := benchStream(b, js, "con.raw")
		rawPublish(b, js, dest, b.N)
		ctx := context.Background()
		c, err := js.CreateOrUpdateConsumer(ctx, natsbinder.StreamName(dest), jetstream.ConsumerConfig{Durable: "g", AckPolicy: jetstream.AckExplicitPolicy})
		if err != nil {
			b.Fatal(err)
		}
		done := make(chan struct{})
		var n atomic.Int64
		b.ResetTimer()
		start, cpu0 := time.Now(), cpuTime()
		cc, err := c.Consume(func(m jetstream.Msg) {
			_ = m.Ack()
			if n.Add(1) == int64(b.N) {
				close(done)
			}
		}, jetstream.PullMaxMessages(natsbinder.DefaultPrefetch))
		if err != nil {
			b.Fatal(err)
		}
		<-done
		report(b, start, cpu0)
		b.StopTimer()
		cc.Stop()
	})
	b.Run("binder", func(b *testing.B) {
		_, js := rawJS(b)
		dest := benchStream(b, js, "con.binder")
		rawPublish(b, js, dest, b.N)
		bd := newBinder(b, natstest.URL(), nil)
		closeBinder(b, bd)
		done := make(chan struct{})
		var n atomic.Int64
		ctx := context.Background()
		c, err := bd.BindConsumer(ctx, stream.ConsumerSpec{Binding: "b-in-0", Destination: dest, Group: "g", ContentType: "application/json",
			Consumer: stream.ConsumerConfig{Concurrency: 1, MaxAttempts: 1, InstanceCount: 1},
			Handler: func(context.Context, stream.Envelope) error {
				if n.Add(1) == int64(b.N) {
					close(done)
				}
				return nil
			}})
		if err != nil {
			b.Fatal(err)
		}
		b.ResetTimer()
		start, cpu0 := time.Now(), cpuTime()
		if err := c.Start(ctx); err != nil {
			b.Fatal(err)
		}
		<-done
		report(b, start, cpu0)
		b.StopTimer()
		_ = c.Stop(ctx)
	})
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
