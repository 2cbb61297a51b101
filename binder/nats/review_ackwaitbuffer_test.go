package nats_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/nats/natstest"
	"github.com/streambind/streambind/stream"
)

// A rolling deployment lowers the group's ack-wait 30s → 2s while member A
// holds a backlog: prefetch messages tracked (its handler is busy) and,
// beyond them, what the client had pulled into its buffer and the binder
// had not taken yet. Those were delivered as long ago as the tracked ones
// but were not acknowledged in progress when A took the announcement, so
// JetStream, re-checking its pending messages by the new ack-wait right
// after the update, redelivered them — to B, and A handled them as well
// (the rolling trial: 94 of 2,400 handled twice with prefetch 128 and 50ms
// handlers). No message may be handled twice.
func TestReviewAckWaitLoweredBufferedKept(t *testing.T) {
	natstest.Require(t)
	t.Parallel()
	url := natstest.URL()
	dest := ownDest(t, url, "ackwait-buffer")
	const total = 40

	var mu sync.Mutex
	handled := map[string][]string{} // id → members that handled it
	progress := make(chan struct{}, 4*total)
	note := func(member, id string) {
		mu.Lock()
		handled[id] = append(handled[id], member)
		mu.Unlock()
		progress <- struct{}{}
	}
	gate := make(chan struct{}) // A's handler waits for it
	startedA := make(chan struct{}, 4*total)

	a := newBinder(t, url, nil)
	closeBinder(t, a)
	startConsumer(t, a, stream.ConsumerSpec{Binding: "in-0", Destination: dest, Group: "g",
		Extension: map[string]any{"ack-wait": "30s", "prefetch": 8},
		Handler: func(ctx context.Context, m stream.Envelope) error {
			startedA <- struct{}{}
			select {
			case <-gate:
			case <-ctx.Done():
				return ctx.Err()
			}
			note("A", m.Headers[idHeader])
			return nil
		}})
	p := bindProducer(t, a, stream.ProducerSpec{Destination: dest})
	for i := range total {
		if err := p.Send(context.Background(), msg(fmt.Sprintf("m%02d", i))); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case <-startedA:
	case <-time.After(10 * time.Second):
		t.Fatal("member A received nothing")
	}
	// A holds prefetch (8) messages and its client buffers what it pulled
	// beyond them; let all of them age past the ack-wait B sets.
	time.Sleep(2500 * time.Millisecond)

	b := newBinder(t, url, nil)
	closeBinder(t, b)
	startConsumer(t, b, stream.ConsumerSpec{Binding: "in-0", Destination: dest, Group: "g",
		Extension: map[string]any{"ack-wait": "2s"},
		Handler: func(_ context.Context, m stream.Envelope) error {
			note("B", m.Headers[idHeader])
			return nil
		}})
	// A redelivery of what A holds happens about 100ms after B's update
	// (then every 2s): give it time to reach B before A handles anything.
	time.Sleep(3 * time.Second)
	close(gate)

	// Every message handled, then a quiet second (more than the time A
	// takes for one): a late second handling would come within it.
	deadline := time.After(15 * time.Second)
	for {
		mu.Lock()
		n := len(handled)
		mu.Unlock()
		if n == total {
			break
		}
		select {
		case <-progress:
		case <-deadline:
			t.Fatalf("%d of %d messages handled in time", n, total)
		}
	}
	for quiet := time.NewTimer(time.Second); ; {
		select {
		case <-progress:
			quiet.Reset(time.Second)
			continue
		case <-quiet.C:
		}
		break
	}
	mu.Lock()
	defer mu.Unlock()
	var twice []string
	for id, by := range handled {
		if len(by) != 1 {
			twice = append(twice, fmt.Sprintf("%s by %v", id, by))
		}
	}
	if len(twice) > 0 {
		t.Errorf("%d of %d messages handled more than once: %v", len(twice), total, twice)
	}
}
