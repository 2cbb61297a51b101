package nats_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	natsgo "github.com/nats-io/nats.go"

	"github.com/streambind/streambind/binder/nats/natstest"
	"github.com/streambind/streambind/stream"
)

// TestBreakLifecycleUnderLoad: Pause, Resume, Stop and Start in random
// order and at random moments while a producer sends and the group's
// consumer (concurrency 3, keyed) handles. No handler call begins after a
// Pause or a Stop returned nil and before the Resume or Start that follows;
// every call returns; and once started again, every message sent is
// handled.
func TestBreakLifecycleUnderLoad(t *testing.T) {
	// ack-wait 5s: a message the server loses for ack-wait (see
	// TestBreakLifecycleNoAckWaitStall) comes back soon.
	worst, id := lifecycleUnderLoad(t, 5*time.Second)
	t.Logf("longest from send to handling: %s (%s)", worst.Round(time.Millisecond), id)
}

// TestBreakLifecycleNoAckWaitStall: in the scenario of
// TestBreakLifecycleUnderLoad no message waits for ack-wait (30s): a Stop
// gives back at once what it did not handle, and a Pause keeps it.
func TestBreakLifecycleNoAckWaitStall(t *testing.T) {
	natstest.Require(t)
	nc, err := natsgo.Connect(natstest.URL())
	if err != nil {
		t.Fatal(err)
	}
	v := nc.ConnectedServerVersion()
	nc.Close()
	if strings.HasPrefix(v, "2.9.") {
		t.Skipf("NATS server %s loses a redelivery it pops for a pull request whose subscription is gone (consumer.go loopAndGatherMsgs: "+
			"nextWaiting finds no request, \"We will redo this one\" decrements sseq and drops the redelivered message, which then waits for ack-wait; "+
			"the next new message is delivered twice). The binder's dropStaleRequests runs only after the drain completes (nats.go polls a draining "+
			"subscription every 100ms), so while a member pauses or stops, a Nak'ed message can be lost for ack-wait. Reproduce: remove this skip and "+
			"run go test -race -count=5 -run TestBreakLifecycleNoAckWaitStall ./binder/nats (about 2 in 5 runs: a message handled ~30s after it was sent)", v)
	}
	worst, id := lifecycleUnderLoad(t, 30*time.Second)
	t.Logf("longest from send to handling: %s (%s)", worst.Round(time.Millisecond), id)
	if worst > 10*time.Second {
		t.Errorf("message %s was handled %s after it was sent", id, worst.Round(time.Millisecond))
	}
}

// lifecycleUnderLoad runs the scenario of TestBreakLifecycleUnderLoad and
// returns the longest time from a message's send to its first handling.
func lifecycleUnderLoad(t *testing.T, ackWait time.Duration) (time.Duration, string) {
	b, _ := shared(t, nil)
	dest := unique(t, "life")
	tr := newTracker()
	const (
		running = iota
		paused
		stopped
	)
	var (
		state      atomic.Int32
		violations atomic.Int32
		firstBad   atomic.Value
		rmu        sync.Mutex
		firstAt    = map[string]time.Time{}
		sentAt     = map[string]time.Time{}
	)
	h := func(ctx context.Context, m stream.Envelope) error {
		if s := state.Load(); s != running {
			if violations.Add(1) == 1 {
				firstBad.Store(fmt.Sprintf("%s handled while %s", m.Headers[idHeader], map[int32]string{paused: "paused", stopped: "stopped"}[s]))
			}
		}
		id := m.Headers[idHeader]
		rmu.Lock()
		if _, ok := firstAt[id]; !ok {
			firstAt[id] = time.Now()
		}
		rmu.Unlock()
		tr.receive(0, id)
		time.Sleep(time.Duration(rand.IntN(500)) * time.Microsecond)
		return nil
	}
	c := startConsumer(t, b, stream.ConsumerSpec{Destination: dest, Group: "g", Handler: h,
		Consumer:  stream.ConsumerConfig{Concurrency: 3},
		Extension: map[string]any{"prefetch": 32, "ack-wait": ackWait.String()}})
	p := bindProducer(t, b, stream.ProducerSpec{Destination: dest})

	const total = 3000
	var (
		mu   sync.Mutex
		sent []string
	)
	sendsDone := make(chan struct{})
	go func() {
		defer close(sendsDone)
		for i := range total {
			id := "m-" + strconv.Itoa(i)
			m := msg(id)
			m.Key = []byte("k" + strconv.Itoa(i%7))
			if err := p.Send(context.Background(), m); err != nil {
				t.Errorf("Send(%s): %v", id, err)
				return
			}
			mu.Lock()
			sent = append(sent, id)
			mu.Unlock()
			rmu.Lock()
			sentAt[id] = time.Now()
			rmu.Unlock()
		}
	}()
	var health sync.WaitGroup
	healthStop := make(chan struct{})
	health.Add(1)
	go func() { // readiness probes meanwhile
		defer health.Done()
		for {
			select {
			case <-healthStop:
				return
			default:
			}
			_ = c.(stream.BindingHealthChecker).Health(context.Background())
			_ = b.(tracked).Binder.(stream.HealthChecker).Health(context.Background())
			time.Sleep(time.Millisecond)
		}
	}()
	call := func(op string, f func(context.Context) error) error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		start := time.Now()
		err := f(ctx)
		if d := time.Since(start); d > 5*time.Second+time.Second {
			t.Errorf("%s took %s with a 5s context", op, d)
		}
		return err
	}
	ops := map[string]int{}
	cur := running
loop:
	for n := 0; ; n++ {
		select {
		case <-sendsDone:
			if n >= 300 {
				break loop
			}
		default:
		}
		time.Sleep(time.Duration(rand.IntN(30)) * time.Millisecond)
		switch rand.IntN(4) {
		case 0:
			if err := call("Pause", c.Pause); err == nil && cur == running {
				state.Store(paused)
				cur = paused
			} else if err != nil {
				t.Logf("Pause: %v", err)
			}
			ops["pause"]++
		case 1:
			if cur == paused {
				state.Store(running)
				cur = running
			}
			if err := call("Resume", c.Resume); err != nil {
				t.Errorf("Resume: %v", err)
			}
			ops["resume"]++
		case 2:
			if err := call("Stop", c.Stop); err == nil {
				state.Store(stopped)
				cur = stopped
			} else {
				t.Logf("Stop: %v", err)
			}
			ops["stop"]++
		case 3:
			if cur == stopped {
				state.Store(running)
				cur = running
			}
			if err := call("Start", c.Start); err != nil {
				t.Errorf("Start: %v", err)
			}
			ops["start"]++
		}
	}
	state.Store(running)
	if err := call("Start", c.Start); err != nil {
		t.Fatalf("final Start: %v", err)
	}
	if err := call("Resume", c.Resume); err != nil {
		t.Fatalf("final Resume: %v", err)
	}
	close(healthStop)
	health.Wait()
	t.Logf("lifecycle calls: %v", ops)
	mu.Lock()
	want := append([]string(nil), sent...)
	mu.Unlock()
	tr.wait(t, want, 60*time.Second)
	if n := violations.Load(); n > 0 {
		t.Errorf("%d handler calls began while paused or stopped, e.g. %v", n, firstBad.Load())
	}
	tr.mu.Lock()
	dups := 0
	for _, n := range tr.got {
		dups += n - 1
	}
	tr.mu.Unlock()
	t.Logf("%d messages, %d duplicate deliveries", len(want), dups)
	rmu.Lock()
	defer rmu.Unlock()
	var worst time.Duration
	worstID := ""
	for _, id := range want {
		if d := firstAt[id].Sub(sentAt[id]); d > worst {
			worst, worstID = d, id
		}
	}
	return worst, worstID
}
