package nats_test

import (
	"context"
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/streambind/streambind/binder/bindertest"
	natsbinder "github.com/streambind/streambind/binder/nats"
	"github.com/streambind/streambind/binder/nats/natstest"
	"github.com/streambind/streambind/stream"
)

// BenchmarkNATSConsumeSides is BenchmarkNATSConsume's two sides one at a
// time, to see where the binder's client CPU goes rather than to rate it:
// each sub-benchmark fills a stream with b.N messages (the binder's wire
// form), then measures consuming them only — the process's CPU a message
// (getrusage), its allocations, the write system calls it made (nats.go's
// flusher writing the acknowledgements; /proc/self/io, 0 where there is
// none), and the garbage collector's cycles and CPU (runtime/metrics'
// estimate: marking and pauses, not the background sweep). With -count,
// raw and binder alternate:
//
//	go test -run '^$' -bench BenchmarkNATSConsumeSides -benchtime 200000x -count 5 ./binder/nats
//
// Add -cpuprofile to see a side's profile (the filling is in it too;
// -bench 'BenchmarkNATSConsumeSides/binder' for one side).
func BenchmarkNATSConsumeSides(b *testing.B) {
	b.Run("raw", func(b *testing.B) { consumeSide(b, true) })
	b.Run("binder", func(b *testing.B) { consumeSide(b, false) })
}

func consumeSide(b *testing.B, raw bool) {
	_, js := rawJS(b)
	ctx := context.Background()
	dest := benchStream(b, js, "sides")
	n := b.N
	var handled atomic.Int64
	done := make(chan struct{})
	count := func() {
		if handled.Add(1) == int64(n) {
			close(done)
		}
	}
	rawPublish(b, js, dest, n)
	var start, stop func()
	if raw {
		rc, err := js.CreateOrUpdateConsumer(ctx, natsbinder.StreamName(dest), jetstream.ConsumerConfig{
			Durable: "g", AckPolicy: jetstream.AckExplicitPolicy,
			MaxAckPending: natsbinder.DefaultMaxAckPending, AckWait: natsbinder.DefaultAckWait,
		})
		if err != nil {
			b.Fatal(err)
		}
		var cc jetstream.ConsumeContext
		start = func() {
			if cc, err = rc.Consume(func(m jetstream.Msg) { _ = m.Ack(); count() },
				jetstream.PullMaxMessages(natsbinder.DefaultPrefetch)); err != nil {
				b.Fatal(err)
			}
		}
		stop = func() { cc.Stop(); <-cc.Closed() }
	} else {
		bd := newBinder(b, natstest.URL(), nil)
		closeBinder(b, bd)
		c, err := bd.BindConsumer(ctx, stream.ConsumerSpec{Binding: "b-in-0", Destination: dest, Group: "g", ContentType: "application/json",
			Consumer: stream.ConsumerConfig{Concurrency: 1, MaxAttempts: 1, InstanceCount: 1},
			Handler:  func(context.Context, stream.Envelope) error { count(); return nil }})
		if err != nil {
			b.Fatal(err)
		}
		start = func() {
			if err := c.Start(ctx); err != nil {
				b.Fatal(err)
			}
		}
		stop = func() { _ = c.Stop(ctx) }
	}
	runtime.GC()
	b.ResetTimer()
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	g0, w0 := gcSample(), writeCalls()
	c0, t0 := bindertest.CPUTime(), time.Now()
	start()
	select {
	case <-done:
	case <-time.After(3 * time.Minute):
		b.Fatalf("%d of %d handled", handled.Load(), n)
	}
	cpu, wall := bindertest.CPUTime()-c0, time.Since(t0)
	g1, w1 := gcSample(), writeCalls()
	runtime.ReadMemStats(&ms1)
	b.StopTimer()
	stop()
	per := func(v float64) float64 { return v / float64(n) }
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(float64(n)/wall.Seconds(), "msgs/s")
	b.ReportMetric(per(float64(cpu.Nanoseconds())/1e3), "cpu-µs/msg")
	b.ReportMetric(per(float64(ms1.Mallocs-ms0.Mallocs)), "allocs/msg")
	b.ReportMetric(per(float64(ms1.TotalAlloc-ms0.TotalAlloc)), "B/msg")
	b.ReportMetric(per(float64(w1-w0)), "writes/msg")
	b.ReportMetric(per((g1[0]-g0[0])*1e6), "gc-cpu-µs/msg")
	b.ReportMetric(g1[1]-g0[1], "gc-cycles")
}

// gcSample is the runtime's estimate of the collector's CPU so far
// (seconds) and its cycles.
func gcSample() [2]float64 {
	s := []metrics.Sample{{Name: "/cpu/classes/gc/total:cpu-seconds"}, {Name: "/gc/cycles/total:gc-cycles"}}
	metrics.Read(s)
	var out [2]float64
	if s[0].Value.Kind() == metrics.KindFloat64 {
		out[0] = s[0].Value.Float64()
	}
	if s[1].Value.Kind() == metrics.KindUint64 {
		out[1] = float64(s[1].Value.Uint64())
	}
	return out
}

// writeCalls is the process's write system calls so far (syscw of
// /proc/self/io); 0 where it cannot be read.
func writeCalls() uint64 {
	raw, err := os.ReadFile("/proc/self/io")
	if err != nil {
		return 0
	}
	for l := range strings.SplitSeq(string(raw), "\n") {
		if v, ok := strings.CutPrefix(l, "syscw: "); ok {
			n, _ := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
			return n
		}
	}
	return 0
}
