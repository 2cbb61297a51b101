package memory_test

import (
	"bytes"
	"context"
	"log/slog"
	"runtime"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/bindertest"
	"github.com/streambind/streambind/binder/memory"
	"github.com/streambind/streambind/stream"
)

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// appPayload is the 100-byte payload of BenchmarkMemoryConsumeApp.
var appPayload = bytes.Repeat([]byte("x"), 100)

// appRounds is the number of alternating rounds of BenchmarkMemoryConsumeApp.
const appRounds = 10

// appCounter is the handler side of both stacks of BenchmarkMemoryConsumeApp:
// it counts a round's messages and notes, at the first one, the time, the
// process's CPU time and its allocation count, so that a round is measured
// from its first message handled to its last (start-up not counted).
type appCounter struct {
	n, want  atomic.Int64
	first    atomic.Int64 // Unix nanoseconds
	cpu0     atomic.Int64 // cpuTime at the first message
	mallocs0 atomic.Uint64
	done     chan struct{}
}

func (c *appCounter) arm(n int) {
	c.n.Store(0)
	c.want.Store(int64(n))
	c.done = make(chan struct{})
}

func (c *appCounter) handled() {
	i := c.n.Add(1)
	if i == 1 {
		c.first.Store(time.Now().UnixNano())
		c.cpu0.Store(int64(cpuTime()))
		c.mallocs0.Store(appMallocs())
	}
	if i == c.want.Load() {
		close(c.done)
	}
}

// wait waits for the round's last message (up to two minutes).
func (c *appCounter) wait(b *testing.B, what string) {
	select {
	case <-c.done:
	case <-time.After(2 * time.Minute):
		b.Fatalf("%s: %d of %d messages handled in two minutes", what, c.n.Load(), c.want.Load())
	}
}

func appMallocs() uint64 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.Mallocs
}

// appMeter sums a stack's rounds.
type appMeter struct {
	name    string
	msgs    int
	wall    time.Duration
	cpu     time.Duration
	mallocs uint64
}

// end accounts a round of n messages that c has just seen handled.
func (m *appMeter) end(c *appCounter, n int) {
	m.wall += time.Since(time.Unix(0, c.first.Load()))
	m.cpu += cpuTime() - time.Duration(c.cpu0.Load())
	m.mallocs += appMallocs() - c.mallocs0.Load()
	m.msgs += n
}

func (m *appMeter) rate() float64      { return float64(m.msgs) / m.wall.Seconds() }
func (m *appMeter) cpuPerMsg() float64 { return float64(m.cpu.Nanoseconds()) / 1000 / float64(m.msgs) }

func (m *appMeter) report(b *testing.B) {
	b.ReportMetric(m.rate(), m.name+"-msgs/s")
	b.ReportMetric(m.cpuPerMsg(), m.name+"-cpu-µs/msg")
	b.ReportMetric(float64(m.mallocs)/float64(m.msgs), m.name+"-allocs/msg")
}

// BenchmarkMemoryConsumeApp is shape (b) of issue 10 on the in-process
// binder: one consumer (concurrency 1) of a named group whose queue a bare
// producer filled with the round's messages (100-byte payloads, content
// type application/octet-stream) before the consumer starts (not timed);
// the broker's queues are sized to hold a whole round. Stacks, in
// appRounds alternating rounds (see bindertest.Paired), each on a
// destination and group of its own on one shared broker:
//
//   - binder: the bare binder consumer, its handler counting;
//   - app: a stream.App with a typed []byte consumer (the binding's
//     auto-startup off, started and stopped with the App's binding each
//     round).
//
// A round is measured from its first message handled to its last: msgs/s,
// and the process's CPU time (cpu-µs/msg) and allocations (allocs/msg)
// over that span; start-up, Stop and the fill are not counted.
// app-cpu/binder is the App's CPU per message over the bare binder's
// (issue 10's target: at most 1.15), app/binder the App's share of the
// bare binder's msgs/s.
//
//	go test -run '^$' -bench BenchmarkMemoryConsumeApp -benchtime 1000000x -count 3 ./binder/memory
func BenchmarkMemoryConsumeApp(b *testing.B) {
	ctx := context.Background()
	// A round's messages wait in the queue before its consumer starts: the
	// queues hold them all (b.N is more than a round's share).
	br := newBroker(b, memory.Config{BufferSize: max(b.N, 1)})
	bd := newBinder(b, br, nil)
	const ct = "application/octet-stream"
	binDest, appDest := "conapp.binder", "conapp.app"
	var cnt appCounter

	bc, err := bd.BindConsumer(ctx, stream.ConsumerSpec{Binding: "sink-in-0", Destination: binDest, Group: "binder",
		ContentType: ct,
		Consumer:    stream.ConsumerConfig{Concurrency: 1, MaxAttempts: stream.DefaultMaxAttempts, InstanceCount: 1},
		Handler:     func(context.Context, stream.Envelope) error { cnt.handled(); return nil }})
	if err != nil {
		b.Fatal(err)
	}
	producers := map[string]stream.Producer{}
	for _, d := range []string{binDest, appDest} {
		producers[d] = producer(b, bd, stream.ProducerSpec{Binding: "fill-out-0", Destination: d, ContentType: ct})
	}

	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "sink", func(_ context.Context, _ []byte) error { cnt.handled(); return nil })
	cfg := &stream.Config{
		Function:      stream.FunctionConfig{Definition: "sink"},
		DefaultBinder: "m",
		Binders:       map[string]stream.BinderConfig{"m": {Type: memory.Type}},
		Bindings: map[string]stream.BindingConfig{
			"sink-in-0": {Destination: appDest, Group: "app", ContentType: ct,
				Consumer: stream.ConsumerConfig{AutoStartup: new(bool)}},
		},
	}
	app, err := stream.NewApp(cfg, fns, stream.WithBinderType(memory.Type, memory.Factory(br)), stream.WithoutSignals(),
		stream.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		b.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	ran := make(chan error, 1)
	go func() { ran <- app.Run(runCtx) }()
	defer func() {
		cancel()
		if err := <-ran; err != nil {
			b.Errorf("Run: %v", err)
		}
	}()
	select {
	case <-app.Ready():
	case err := <-ran:
		b.Fatalf("Run ended: %v", err)
	case <-time.After(time.Minute):
		b.Fatal("the app is not ready after a minute")
	}
	appBinding := app.Binding("sink-in-0")

	// round fills dest with n messages, starts the stack, waits for the
	// last message handled, accounts the round in m and stops the stack.
	round := func(m *appMeter, dest string, n int, c interface {
		Start(context.Context) error
		Stop(context.Context) error
	}) {
		p := producers[dest]
		for range n {
			if err := p.Send(ctx, stream.Envelope{Payload: appPayload}); err != nil {
				b.Fatal(err)
			}
		}
		if depth, _ := br.Depth(dest, m.name); depth != n {
			b.Fatalf("%s: %d messages in the queue of group %s, want %d", dest, depth, m.name, n)
		}
		cnt.arm(n)
		runtime.GC() // not the fill's garbage in the round
		if err := c.Start(ctx); err != nil {
			b.Fatal(err)
		}
		cnt.wait(b, m.name)
		m.end(&cnt, n)
		if err := c.Stop(ctx); err != nil {
			b.Fatal(err)
		}
	}
	ms := []*appMeter{{name: "binder"}, {name: "app"}}
	bindertest.Paired(b, appRounds, len(ms), func(i, n int) {
		if i == 0 {
			round(ms[0], binDest, n, bc)
		} else {
			round(ms[1], appDest, n, appBinding)
		}
	})
	for _, m := range ms {
		m.report(b)
	}
	b.ReportMetric(ms[1].cpuPerMsg()/ms[0].cpuPerMsg(), "app-cpu/binder")
	b.ReportMetric(ms[1].rate()/ms[0].rate(), "app/binder")
	b.ReportMetric(0, "ns/op")
}
