package bindertest

import (
	"context"
	"runtime"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// CPUTime is the process's user and system CPU time so far: a benchmark's
// CPU per message, with the broker's share when the broker runs in the
// process (kfake), without it otherwise.
func CPUTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func mallocs() uint64 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.Mallocs
}

// RoundCounter is the handler side of a benchmark round that is measured
// from its first message handled to its last (start-up not counted): it
// counts the round's messages and notes, at the first one, the time, the
// process's CPU time and its allocation count. Arm it before each round;
// call Handled from the handler; Wait for the last message.
type RoundCounter struct {
	n, want  atomic.Int64
	first    atomic.Int64 // Unix nanoseconds
	cpu0     atomic.Int64 // CPUTime at the first message
	mallocs0 atomic.Uint64
	done     chan struct{}
}

// Arm readies c for a round of n messages.
func (c *RoundCounter) Arm(n int) {
	c.n.Store(0)
	c.want.Store(int64(n))
	c.done = make(chan struct{})
}

// Handled counts a message handled.
func (c *RoundCounter) Handled() {
	i := c.n.Add(1)
	if i == 1 {
		c.first.Store(time.Now().UnixNano())
		c.cpu0.Store(int64(CPUTime()))
		c.mallocs0.Store(mallocs())
	}
	if i == c.want.Load() {
		close(c.done)
	}
}

// Wait waits for the round's last message, up to two minutes (then the
// benchmark fails, naming what).
func (c *RoundCounter) Wait(b *testing.B, what string) {
	select {
	case <-c.done:
	case <-time.After(2 * time.Minute):
		b.Fatalf("%s: %d of %d messages handled in two minutes", what, c.n.Load(), c.want.Load())
	}
}

// RoundMeter sums a stack's rounds, each measured by a RoundCounter.
type RoundMeter struct {
	Name    string
	msgs    int
	wall    time.Duration
	cpu     time.Duration
	mallocs uint64
}

// End accounts a round of n messages that c has just seen handled.
func (m *RoundMeter) End(c *RoundCounter, n int) {
	m.wall += time.Since(time.Unix(0, c.first.Load()))
	m.cpu += CPUTime() - time.Duration(c.cpu0.Load())
	m.mallocs += mallocs() - c.mallocs0.Load()
	m.msgs += n
}

// Rate is the stack's messages a second over its rounds.
func (m *RoundMeter) Rate() float64 { return float64(m.msgs) / m.wall.Seconds() }

// CPUPerMsg is the process's CPU time a message, in µs.
func (m *RoundMeter) CPUPerMsg() float64 {
	return float64(m.cpu.Nanoseconds()) / 1000 / float64(m.msgs)
}

// Report reports <name>-msgs/s, <name>-cpu-µs/msg and <name>-allocs/msg.
func (m *RoundMeter) Report(b *testing.B) {
	b.ReportMetric(m.Rate(), m.Name+"-msgs/s")
	b.ReportMetric(m.CPUPerMsg(), m.Name+"-cpu-µs/msg")
	b.ReportMetric(float64(m.mallocs)/float64(m.msgs), m.Name+"-allocs/msg")
}

// Startable is a consumer a benchmark starts and stops each round: a bare
// binder's consumer, or an App's binding.
type Startable interface {
	Start(context.Context) error
	Stop(context.Context) error
}

// CompareAppToBinder runs the rounds of an App-versus-bare-binder consume
// benchmark (issue 10's shape (b)): stack 0 is the bare binder's consumer
// of binderDest, stack 1 the App's binding of appDest, in rounds
// alternating as Paired does. A round fills its stack's destination with
// fill(dest, group, n) (group: "binder" or "app", the stack's name; not
// timed), starts the consumer, waits for cnt (which both stacks' handlers
// call) to count the round's last message, accounts the round from its
// first message handled to its last, and stops the consumer. It reports
// each stack's msgs/s, cpu-µs/msg and allocs/msg, app-cpu/binder (the
// App's CPU a message over the bare binder's) and app/binder (rates).
func CompareAppToBinder(b *testing.B, rounds int, cnt *RoundCounter, fill func(dest, group string, n int),
	binder Startable, binderDest string, app Startable, appDest string) {
	b.Helper()
	ctx := context.Background()
	round := func(m *RoundMeter, dest string, n int, c Startable) {
		fill(dest, m.Name, n)
		cnt.Arm(n)
		runtime.GC() // not the fill's garbage in the round
		if err := c.Start(ctx); err != nil {
			b.Fatal(err)
		}
		cnt.Wait(b, m.Name)
		m.End(cnt, n)
		if err := c.Stop(ctx); err != nil {
			b.Fatal(err)
		}
	}
	ms := []*RoundMeter{{Name: "binder"}, {Name: "app"}}
	Paired(b, rounds, len(ms), func(i, n int) {
		if i == 0 {
			round(ms[0], binderDest, n, binder)
		} else {
			round(ms[1], appDest, n, app)
		}
	})
	for _, m := range ms {
		m.Report(b)
	}
	b.ReportMetric(ms[1].CPUPerMsg()/ms[0].CPUPerMsg(), "app-cpu/binder")
	b.ReportMetric(ms[1].Rate()/ms[0].Rate(), "app/binder")
	b.ReportMetric(0, "ns/op")
}
