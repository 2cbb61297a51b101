package redis_test

import (
	"context"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	goredis "github.com/redis/go-redis/v9"

	"github.com/streambind/streambind/binder/bindertest"
	redisbinder "github.com/streambind/streambind/binder/redis"
	"github.com/streambind/streambind/binder/redis/redistest"
	"github.com/streambind/streambind/stream"
)

const benchBatch = 256

var benchPayload = []byte(`{"orderId":"o-123456","customerId":"c-42","quantity":3,"amount":29.97}`)

// rawEntry is the entry the binder writes for benchPayload (contentType,
// id, payload), so that the comparison measures the binder, not the
// format.
func rawEntry() []any {
	return []any{"h:contentType", "application/json", "h:id", uuid.NewString(), "payload", benchPayload}
}

// rawPublish writes n entries to key in pipelines of benchBatch XADDs,
// capping the stream at maxLen entries as the binder does (0: no cap).
func rawPublish(b *testing.B, c *goredis.Client, key string, n int, maxLen int64) {
	publishEntries(b, c, key, n, maxLen, rawEntry)
}

// publishEntries is rawPublish of the entries entry makes.
func publishEntries(b *testing.B, c *goredis.Client, key string, n int, maxLen int64, entry func() []any) {
	ctx := context.Background()
	for done := 0; done < n; {
		k := min(benchBatch, n-done)
		pipe := c.Pipeline()
		for range k {
			pipe.XAdd(ctx, &goredis.XAddArgs{Stream: key, MaxLen: maxLen, Approx: maxLen > 0, Values: entry()})
		}
		if _, err := pipe.Exec(ctx); err != nil {
			b.Fatal(err)
		}
		done += k
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
// side's msgs/s and client CPU per message over its rounds, and the
// binder's rate relative to the first side's (the baseline).
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

// BenchmarkRedisPublish: b.N entries a side, the sides alternating in
// rounds (see paired):
//
//   - raw: go-redis pipelines of benchBatch XADDs from one goroutine, each
//     pipeline's replies awaited before the next — the ceiling of
//     go-redis, and the baseline.
//   - binder: Send from benchBatch goroutines (benchBatch sends
//     outstanding, as the raw pipeline has), each returning once Redis
//     answered its XADD; the binder coalesces them into pipelines.
//   - raw-concurrent: benchBatch goroutines each calling go-redis XAdd and
//     waiting for its reply (the client's default pool): raw go-redis with
//     the concurrency the binder is given, for comparison (go-redis does
//     not pipeline concurrent calls by itself).
//   - binder-async: one goroutine calling SendAsync b.N times, the way a
//     pipelined function binding sends its outputs, until every done was
//     called (an error fails the benchmark): raw's shape (one goroutine,
//     the binder's ordered lane writing pipelines of up to benchBatch, the
//     default batch-size, one at a time).
//
// All write the binder's entry (contentType, id, payload) with the
// binder's MAXLEN ~ cap.
func BenchmarkRedisPublish(b *testing.B) {
	redistest.Require(b)
	c := redistest.Client(b, redistest.Addr(), "", "")
	e := env{prefix: redistest.Prefix(b), name: "sbbench"}
	rawKey := e.prefix + "pub.raw"
	p := bindProducer(b, e.binder(b, nil), stream.ProducerSpec{Destination: "pub"})
	ap := p.(stream.AsyncProducer)
	paired(b,
		side{"raw", func(n int) span {
			c0, start := bindertest.CPUTime(), time.Now()
			rawPublish(b, c, rawKey, n, redisbinder.DefaultMaxLength)
			return span{time.Since(start), bindertest.CPUTime() - c0}
		}},
		side{"binder", func(n int) span {
			return concurrently(b, n, func() error {
				return p.Send(context.Background(), stream.Envelope{Payload: benchPayload})
			})
		}},
		side{"raw-concurrent", func(n int) span {
			return concurrently(b, n, func() error {
				return c.XAdd(context.Background(), &goredis.XAddArgs{Stream: rawKey, MaxLen: redisbinder.DefaultMaxLength, Approx: true, Values: rawEntry()}).Err()
			})
		}},
		side{"binder-async", func(n int) span {
			return sendAsyncN(b, ap, n)
		}},
	)
}

// sendAsyncN calls ap.SendAsync n times from one goroutine and waits
// until every done was called; an error fails b.
func sendAsyncN(b *testing.B, ap stream.AsyncProducer, n int) span {
	var answered atomic.Int64
	all := make(chan struct{})
	done := func(err error) {
		if err != nil {
			b.Error(err)
		}
		if answered.Add(1) == int64(n) {
			close(all)
		}
	}
	ctx := context.Background()
	c0, start := bindertest.CPUTime(), time.Now()
	for range n {
		ap.SendAsync(ctx, stream.Envelope{Payload: benchPayload}, done)
	}
	<-all
	return span{time.Since(start), bindertest.CPUTime() - c0}
}

// concurrently calls send n times from benchBatch goroutines and returns
// how long that took.
func concurrently(b *testing.B, n int, send func() error) span {
	var next atomic.Int64
	var wg sync.WaitGroup
	c0, start := bindertest.CPUTime(), time.Now()
	for range benchBatch {
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

// BenchmarkRedisConsume: a consumer group member reading entries already
// in the stream and acknowledging them, b.N a side, the sides alternating
// in rounds (see paired); each round writes its entries first (not timed)
// and times from the start of reading to the last entry acknowledged:
//
//   - raw: XREADGROUP COUNT prefetch in a loop (one goroutine), one XACK
//     of each reply's ids sent in the pipeline of the next XREADGROUP (one
//     round trip a reply), the last one alone — the binder's wire shape.
//   - binder: a consumer binding with concurrency 1 and the default
//     prefetch, from Start to the last entry acknowledged (XPENDING
//     empty); Stop not timed.
//   - raw-sequential: XREADGROUP COUNT prefetch, then one XACK of the
//     reply's ids, each awaited (two round trips a reply), for comparison.
func BenchmarkRedisConsume(b *testing.B) {
	redistest.Require(b)
	ctx := context.Background()
	c := redistest.Client(b, redistest.Addr(), "", "")
	e := env{prefix: redistest.Prefix(b), name: "sbbench"}
	rawKey := e.prefix + "con.raw"
	seqKey := e.prefix + "con.seq"
	binKey := redisbinder.StreamKey(e.prefix, "con", -1)
	for _, k := range []string{rawKey, seqKey, binKey} {
		if err := c.XGroupCreateMkStream(ctx, k, "g", "$").Err(); err != nil {
			b.Fatal(err)
		}
	}
	var target, handled atomic.Int64
	var done chan struct{}
	bd := e.binder(b, nil)
	cons, err := bd.BindConsumer(ctx, stream.ConsumerSpec{Binding: "b-in-0", Destination: "con", Group: "g", ContentType: "application/json",
		Consumer: stream.ConsumerConfig{Concurrency: 1, MaxAttempts: 1, InstanceCount: 1}, LazyHeaders: true,
		Handler: func(context.Context, stream.Envelope) error {
			if handled.Add(1) == target.Load() {
				close(done)
			}
			return nil
		}})
	if err != nil {
		b.Fatal(err)
	}
	paired(b,
		side{"raw", func(n int) span {
			rawPublish(b, c, rawKey, n, 0)
			c0, start := bindertest.CPUTime(), time.Now()
			var ids []string // the previous reply's, to acknowledge
			for got := 0; got < n; {
				pipe := c.Pipeline()
				if len(ids) > 0 {
					pipe.XAck(ctx, rawKey, "g", ids...)
				}
				read := pipe.XReadGroup(ctx, &goredis.XReadGroupArgs{Group: "g", Consumer: "c", Streams: []string{rawKey, ">"}, Count: redisbinder.DefaultPrefetch, Block: time.Second})
				if _, err := pipe.Exec(ctx); err != nil {
					b.Fatal(err)
				}
				res := read.Val()
				ids = make([]string, 0, len(res[0].Messages))
				for _, m := range res[0].Messages {
					ids = append(ids, m.ID)
				}
				got += len(ids)
			}
			if err := c.XAck(ctx, rawKey, "g", ids...).Err(); err != nil {
				b.Fatal(err)
			}
			return span{time.Since(start), bindertest.CPUTime() - c0}
		}},
		side{"binder", func(n int) span {
			rawPublish(b, c, binKey, n, 0)
			handled.Store(0)
			target.Store(int64(n))
			done = make(chan struct{})
			c0, start := bindertest.CPUTime(), time.Now()
			if err := cons.Start(ctx); err != nil {
				b.Fatal(err)
			}
			select {
			case <-done:
			case <-time.After(2 * time.Minute):
				b.Fatalf("%d of %d handled", handled.Load(), n)
			}
			// Acknowledged, as raw's: polled without a pause (each XPENDING is
			// a round trip), so that the end is timed as closely as raw's.
			for c.XPending(ctx, binKey, "g").Val().Count > 0 {
			}
			d := span{time.Since(start), bindertest.CPUTime() - c0}
			if err := cons.Stop(ctx); err != nil {
				b.Fatal(err)
			}
			return d
		}},
		side{"raw-sequential", func(n int) span {
			rawPublish(b, c, seqKey, n, 0)
			c0, start := bindertest.CPUTime(), time.Now()
			for got := 0; got < n; {
				res, err := c.XReadGroup(ctx, &goredis.XReadGroupArgs{Group: "g", Consumer: "c", Streams: []string{seqKey, ">"}, Count: redisbinder.DefaultPrefetch, Block: time.Second}).Result()
				if err != nil {
					b.Fatal(err)
				}
				ids := make([]string, 0, len(res[0].Messages))
				for _, m := range res[0].Messages {
					ids = append(ids, m.ID)
				}
				if err := c.XAck(ctx, seqKey, "g", ids...).Err(); err != nil {
					b.Fatal(err)
				}
				got += len(ids)
			}
			return span{time.Since(start), bindertest.CPUTime() - c0}
		}},
	)
}

// BenchmarkRedisLatency: send-to-handler latency of b.N messages sent at
// 2,000 msgs/s (run it with -benchtime 4000x: two seconds), each send in
// a goroutine of its own (sends overlap as from concurrent handlers), as
// BenchmarkNATSLatency:
//
//   - raw: go-redis XADD, and one goroutine reading with XREADGROUP COUNT
//     prefetch BLOCK 1s and acknowledging each reply with one XACK.
//   - binder: Send, and a consumer binding of a group.
func BenchmarkRedisLatency(b *testing.B) {
	redistest.Require(b)
	b.Run("raw", func(b *testing.B) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		c := redistest.Client(b, redistest.Addr(), "", "")
		rc := redistest.Client(b, redistest.Addr(), "", "") // the reader's: XREADGROUP blocks its connection
		key := redistest.Prefix(b) + "lat.raw"
		if err := c.XGroupCreateMkStream(ctx, key, "g", "$").Err(); err != nil {
			b.Fatal(err)
		}
		var rec latencies
		go func() {
			for ctx.Err() == nil {
				res, err := rc.XReadGroup(ctx, &goredis.XReadGroupArgs{Group: "g", Consumer: "c", Streams: []string{key, ">"}, Count: redisbinder.DefaultPrefetch, Block: time.Second}).Result()
				if err != nil {
					continue
				}
				ids := make([]string, 0, len(res[0].Messages))
				for _, m := range res[0].Messages {
					rec.add(m.Values["h:x-sent"])
					ids = append(ids, m.ID)
				}
				_ = rc.XAck(ctx, key, "g", ids...).Err()
			}
		}()
		pace(b, func() error {
			v := append(rawEntry(), "h:x-sent", strconv.FormatInt(time.Now().UnixNano(), 10))
			return c.XAdd(ctx, &goredis.XAddArgs{Stream: key, MaxLen: redisbinder.DefaultMaxLength, Approx: true, Values: v}).Err()
		})
		rec.report(b)
	})
	b.Run("binder", func(b *testing.B) {
		e := env{prefix: redistest.Prefix(b), name: "sbbench"}
		bd := e.binder(b, nil)
		var rec latencies
		bindConsumer(b, bd, stream.ConsumerSpec{Destination: "lat", Group: "g",
			Handler: func(_ context.Context, m stream.Envelope) error {
				rec.add(m.Headers["x-sent"])
				return nil
			}})
		p := bindProducer(b, bd, stream.ProducerSpec{Destination: "lat"})
		ctx := context.Background()
		pace(b, func() error {
			return p.Send(ctx, stream.Envelope{Payload: benchPayload, Headers: stream.Headers{"x-sent": strconv.FormatInt(time.Now().UnixNano(), 10)}})
		})
		rec.report(b)
	})
}

// latencyRate is the send rate of the latency benchmarks.
const latencyRate = 2000

// pace calls send b.N times, latencyRate times a second, each call in a
// goroutine of its own.
func pace(b *testing.B, send func() error) {
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for i := range b.N {
		if d := time.Until(start.Add(time.Duration(i) * time.Second / latencyRate)); d > 0 {
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

// latencies records send-to-handler latencies from x-sent values (Unix
// nanoseconds).
type latencies struct {
	mu  sync.Mutex
	lat []time.Duration
}

func (l *latencies) add(sent any) {
	s, _ := sent.(string)
	ns, _ := strconv.ParseInt(s, 10, 64)
	d := time.Since(time.Unix(0, ns))
	l.mu.Lock()
	l.lat = append(l.lat, d)
	l.mu.Unlock()
}

// report waits (up to 10s) for every message sent and reports p50 and p99.
func (l *latencies) report(b *testing.B) {
	want := b.N
	deadline := time.Now().Add(10 * time.Second)
	for {
		l.mu.Lock()
		n := len(l.lat)
		l.mu.Unlock()
		if n >= want {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d messages arrived", n, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
	b.StopTimer()
	l.mu.Lock()
	defer l.mu.Unlock()
	slices.Sort(l.lat)
	b.ReportMetric(float64(l.lat[len(l.lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(l.lat[len(l.lat)*99/100].Microseconds())/1000, "p99-ms")
	b.ReportMetric(0, "ns/op")
}
