package redis_test

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
	goredis "github.com/redis/go-redis/v9"

	redisbinder "github.com/streambind/streambind/binder/redis"
	"github.com/streambind/streambind/binder/redis/redistest"
	"github.com/streambind/streambind/stream"
)

const benchBatch = 256

// cpuTime is the CPU time (user and system) the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// report reports msgs/s since start and the process's CPU time per
// message since cpu0 (this side only: not the server's).
func report(b *testing.B, start time.Time, cpu0 time.Duration) {
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/msg")
}

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
	ctx := context.Background()
	for done := 0; done < n; {
		k := min(benchBatch, n-done)
		pipe := c.Pipeline()
		for range k {
			pipe.XAdd(ctx, &goredis.XAddArgs{Stream: key, MaxLen: maxLen, Approx: maxLen > 0, Values: rawEntry()})
		}
		if _, err := pipe.Exec(ctx); err != nil {
			b.Fatal(err)
		}
		done += k
	}
}

// BenchmarkRedisPublish: the binder's Send from benchBatch goroutines
// against raw go-redis pipelines of benchBatch XADDs, in the same run.
func BenchmarkRedisPublish(b *testing.B) {
	redistest.Require(b)
	b.Run("raw", func(b *testing.B) {
		c := redistest.Client(b, redistest.Addr(), "", "")
		key := redistest.Prefix(b) + "pub"
		b.ResetTimer()
		start, cpu0 := time.Now(), cpuTime()
		rawPublish(b, c, key, b.N, redisbinder.DefaultMaxLength)
		report(b, start, cpu0)
	})
	b.Run("binder", func(b *testing.B) {
		e := env{prefix: redistest.Prefix(b), name: "sbbench"}
		p := bindProducer(b, e.binder(b, nil), stream.ProducerSpec{Destination: "pub"})
		var next atomic.Int64
		var wg sync.WaitGroup
		b.ResetTimer()
		start, cpu0 := time.Now(), cpuTime()
		for range benchBatch {
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

// BenchmarkRedisConsume: a consumer group member handling b.N entries
// (and acknowledging them) against raw XREADGROUP COUNT 128 + XACK of
// each reply, in the same run.
func BenchmarkRedisConsume(b *testing.B) {
	redistest.Require(b)
	ctx := context.Background()
	b.Run("raw", func(b *testing.B) {
		c := redistest.Client(b, redistest.Addr(), "", "")
		key := redistest.Prefix(b) + "con"
		if err := c.XGroupCreateMkStream(ctx, key, "g", "0").Err(); err != nil {
			b.Fatal(err)
		}
		rawPublish(b, c, key, b.N, 0)
		b.ResetTimer()
		start, cpu0 := time.Now(), cpuTime()
		for n := 0; n < b.N; {
			res, err := c.XReadGroup(ctx, &goredis.XReadGroupArgs{Group: "g", Consumer: "c", Streams: []string{key, ">"}, Count: redisbinder.DefaultPrefetch, Block: time.Second}).Result()
			if err != nil {
				b.Fatal(err)
			}
			ids := make([]string, 0, len(res[0].Messages))
			for _, m := range res[0].Messages {
				ids = append(ids, m.ID)
			}
			if err := c.XAck(ctx, key, "g", ids...).Err(); err != nil {
				b.Fatal(err)
			}
			n += len(ids)
		}
		report(b, start, cpu0)
	})
	b.Run("binder", func(b *testing.B) {
		e := env{prefix: redistest.Prefix(b), name: "sbbench"}
		c := redistest.Client(b, redistest.Addr(), "", "")
		key := redisbinder.StreamKey(e.prefix, "con", -1)
		if err := c.XGroupCreateMkStream(ctx, key, "g", "0").Err(); err != nil {
			b.Fatal(err)
		}
		rawPublish(b, c, key, b.N, 0)
		var n atomic.Int64
		done := make(chan struct{})
		bd := e.binder(b, nil)
		cons, err := bd.BindConsumer(ctx, stream.ConsumerSpec{Binding: "b-in-0", Destination: "con", Group: "g", ContentType: "application/json",
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
		if err := cons.Start(ctx); err != nil {
			b.Fatal(err)
		}
		select {
		case <-done:
		case <-time.After(2 * time.Minute):
			b.Fatalf("%d of %d handled", n.Load(), b.N)
		}
		for c.XPending(ctx, key, "g").Val().Count > 0 { // acknowledged, as raw's
			time.Sleep(time.Millisecond)
		}
		report(b, start, cpu0)
		b.StopTimer()
		_ = cons.Stop(ctx)
	})
}

// BenchmarkRedisLatency: send-to-handler latency at 2,000 msgs/s; each
// iteration is one second of traffic (run it with -benchtime Nx).
func BenchmarkRedisLatency(b *testing.B) {
	redistest.Require(b)
	const rate = 2000
	e := env{prefix: redistest.Prefix(b), name: "sbbench"}
	bd := e.binder(b, nil)
	var mu sync.Mutex
	var lat []time.Duration
	bindConsumer(b, bd, stream.ConsumerSpec{Destination: "lat", Group: "g",
		Handler: func(_ context.Context, m stream.Envelope) error {
			ns, _ := strconv.ParseInt(m.Headers["x-sent"], 10, 64)
			d := time.Since(time.Unix(0, ns))
			mu.Lock()
			lat = append(lat, d)
			mu.Unlock()
			return nil
		}})
	p := bindProducer(b, bd, stream.ProducerSpec{Destination: "lat"})
	ctx := context.Background()
	b.ResetTimer()
	for range b.N {
		t := time.NewTicker(time.Second / rate)
		for range rate {
			<-t.C
			go func() {
				m := stream.Envelope{Payload: benchPayload, Headers: stream.Headers{"x-sent": strconv.FormatInt(time.Now().UnixNano(), 10)}}
				if err := p.Send(ctx, m); err != nil {
					b.Error(err)
				}
			}()
		}
		t.Stop()
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		n := len(lat)
		mu.Unlock()
		if n >= b.N*rate || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	b.StopTimer()
	mu.Lock()
	defer mu.Unlock()
	slices.Sort(lat)
	if len(lat) == 0 {
		b.Fatal("nothing received")
	}
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}
