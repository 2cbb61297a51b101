package memory_test

import (
	"context"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/memory"
	"github.com/streambind/streambind/stream"
)

// blockedSenders counts goroutines waiting in the broker's send (sendStored).
func blockedSenders() int {
	buf := make([]byte, 1<<20)
	n := 0
	for _, g := range strings.Split(string(buf[:runtime.Stack(buf, true)]), "\n\n") {
		if strings.Contains(g, "memory.(*destination).sendStored(") && strings.Contains(g, "[select") {
			n++
		}
	}
	return n
}

func waitBlocked(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for blockedSenders() != n {
		if time.Now().After(deadline) {
			t.Fatalf("%d sends blocked, want %d", blockedSenders(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

// A send woken when its first full queue got room, that then waits for
// another group's queue and gives up (its ctx ends), passes the wake-up on
// to the other sends waiting for the first queue. It did not: here B
// waited for g1's queue, which was empty, with nothing left to wake it
// (for ever with a ctx without deadline), though both queues had room.
func TestSendWakeUpPassedOn(t *testing.T) {
	br := newBroker(t, memory.Config{BufferSize: 1})
	bd := newBinder(t, br, nil)
	g1 := newInbox()
	c1 := consumer(t, bd, stream.ConsumerSpec{Destination: "d", Group: "g1", Handler: g1.handler})
	c2 := consumer(t, bd, stream.ConsumerSpec{Destination: "d", Group: "g2", Handler: newInbox().handler})
	p := producer(t, bd, stream.ProducerSpec{Destination: "d"})
	must(t, p.Send(ctxT(t), msg("m0", -1))) // both queues full

	ctxA, cancelA := context.WithCancel(context.Background())
	defer cancelA()
	errA, errB := make(chan error, 1), make(chan error, 1)
	go func() { errA <- p.Send(ctxA, msg("a", -1)) }()
	waitBlocked(t, 1) // A waits first for g1's queue: the first wake-up is A's
	go func() { errB <- p.Send(ctxT(t), msg("b", -1)) }()
	waitBlocked(t, 2)

	must(t, c1.Start(ctxT(t))) // takes m0: A is woken, and waits for g2's queue
	g1.expect(t, "m0")
	cancelA()
	if err := <-errA; err == nil {
		t.Fatal("A was sent")
	}
	must(t, c2.Start(ctxT(t))) // g2's queue has room too
	select {
	case err := <-errB:
		must(t, err)
	case <-time.After(2 * time.Second):
		t.Fatalf("B still blocked though both queues have room (g1 depth, g2 depth: %v)", depths(br, "d", "g1", "g2"))
	}
	g1.expect(t, "b")
}

func depths(br *memory.Broker, dest string, groups ...string) []int {
	var out []int
	for _, g := range groups {
		n, _ := br.Depth(dest, g)
		out = append(out, n)
	}
	return out
}

// A consumer of several destinations whose Start fails for one of them
// (here: b's previous run is still finishing) is left
// stopped, as the Consumer contract and the core's Binding.Start expect:
// the other destinations' consumers stayed started, so a binding the core
// reported STOPPED went on delivering (and a Stop of it was a no-op).
func TestMultipleDestinationsStartFailsWhole(t *testing.T) {
	bd := newBinder(t, newBroker(t, memory.Config{}), nil)
	in := newInbox()
	entered, release := make(chan struct{}, 1), make(chan struct{})
	c := consumer(t, bd, stream.ConsumerSpec{Destination: "a, b", Group: "g", Handler: func(ctx context.Context, m stream.Envelope) error {
		if string(m.Payload) == "stuck" {
			entered <- struct{}{}
			<-release // ignores ctx
		}
		return in.handler(ctx, m)
	}})
	defer close(release)
	must(t, c.Start(ctxT(t)))
	must(t, producer(t, bd, stream.ProducerSpec{Destination: "b"}).Send(ctxT(t), msg("stuck", -1)))
	<-entered
	short, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := c.Stop(short); err == nil {
		t.Fatal("Stop with a handler that ignores its ctx: no error")
	}
	short2, cancel2 := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel2()
	if err := c.Start(short2); err == nil {
		t.Fatal("Start while b's previous run is still finishing: no error")
	}
	must(t, producer(t, bd, stream.ProducerSpec{Destination: "a"}).Send(ctxT(t), msg("to-a", -1)))
	select {
	case m := <-in:
		t.Fatalf("a consumer whose Start failed delivered %q", m.Payload)
	case <-time.After(50 * time.Millisecond):
	}
}

// inStack counts goroutines whose stack has fn.
func inStack(fn string) int {
	buf := make([]byte, 1<<20)
	n := 0
	for _, g := range strings.Split(string(buf[:runtime.Stack(buf, true)]), "\n\n") {
		if strings.Contains(g, fn) {
			n++
		}
	}
	return n
}

// Stop and Pause of a consumer of several destinations, and Close of a
// binder or broker with several consumers, stop the intake of all of them
// at once and then wait for their handlers: one after the other, while the
// first waited for a handler in flight, the others went on taking
// messages. Here each of two consumers has a handler in flight: both wait
// in their Stop (Pause) at the same time.
func TestStopIntakeAtOnce(t *testing.T) {
	for _, op := range []string{"stop", "pause", "binder close", "broker close"} {
		t.Run(op, func(t *testing.T) {
			br, err := memory.NewBroker(memory.Config{})
			must(t, err)
			defer br.Close(context.Background())
			bd, err := memory.Factory(br)(ctxT(t), stream.BinderSettings{Name: "memory", Type: memory.Type})
			must(t, err)
			entered, release := make(chan struct{}, 2), make(chan struct{})
			h := func(context.Context, stream.Envelope) error {
				entered <- struct{}{}
				<-release
				return nil
			}
			var cs []stream.Consumer
			if strings.HasSuffix(op, "close") { // two bindings
				for _, d := range []string{"a", "b"} {
					c, err := bd.BindConsumer(ctxT(t), stream.ConsumerSpec{Binding: d + "-in-0", Destination: d, Group: "g", Handler: h})
					must(t, err)
					cs = append(cs, c)
				}
			} else { // one binding of two destinations
				c, err := bd.BindConsumer(ctxT(t), stream.ConsumerSpec{Binding: "x-in-0", Destination: "a,b", Group: "g", Handler: h})
				must(t, err)
				cs = append(cs, c)
			}
			for _, c := range cs {
				must(t, c.Start(ctxT(t)))
			}
			for _, d := range []string{"a", "b"} {
				p, err := bd.BindProducer(ctxT(t), stream.ProducerSpec{Binding: d + "-out-0", Destination: d})
				must(t, err)
				must(t, p.Send(ctxT(t), msg(d, -1)))
				<-entered
			}
			done := make(chan error, 1)
			waitIn := "memory.(*run).Stop("
			if op == "pause" {
				waitIn = "memory.(*run).Pause("
			}
			go func() {
				switch op {
				case "stop":
					done <- cs[0].Stop(ctxT(t))
				case "pause":
					done <- cs[0].Pause(ctxT(t))
				case "binder close":
					done <- bd.Close(ctxT(t))
				default:
					done <- br.Close(ctxT(t))
				}
			}()
			deadline := time.Now().Add(wait / 2)
			for inStack(waitIn) < 2 {
				if time.Now().After(deadline) {
					n := inStack(waitIn)
					close(release)
					t.Fatalf("%s: the consumers wait one after the other (%d waiting at once)", op, n)
				}
				time.Sleep(time.Millisecond)
			}
			close(release)
			must(t, <-done)
			must(t, bd.Close(ctxT(t)))
		})
	}
}
