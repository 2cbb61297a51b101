package nats_test

import (
	"context"
	"fmt"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/streambind/streambind/stream"
)

// TestBreakNakForeverKeyed: one keyed message that its handler Naks for
// ever (max-deliver -1, the default) holds up nothing else on a binding of
// concurrency 4: 1000 messages of 100 other keys are all handled, and the
// Nak'ed one comes back at redelivery-delay's pace, not in a hot loop.
func TestBreakNakForeverKeyed(t *testing.T) {
	b, _ := shared(t, nil)
	dest := unique(t, "nakforever")
	tr := newTracker()
	var poison atomic.Int64
	h := func(_ context.Context, m stream.Envelope) error {
		if m.Headers[idHeader] == "poison" {
			poison.Add(1)
			return fmt.Errorf("not yet: %w", stream.ErrNak)
		}
		tr.receive(0, m.Headers[idHeader])
		return nil
	}
	const delay = 200 * time.Millisecond
	startConsumer(t, b, stream.ConsumerSpec{Destination: dest, Group: "g", Handler: h,
		Consumer:  stream.ConsumerConfig{Concurrency: 4},
		Extension: map[string]any{"redelivery-delay": delay.String(), "prefetch": 32}})
	p := bindProducer(t, b, stream.ProducerSpec{Destination: dest})
	pm := msg("poison")
	pm.Key = []byte("k0")
	if err := p.Send(context.Background(), pm); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	var want []string
	for i := range 1000 {
		id := "m-" + strconv.Itoa(i)
		want = append(want, id)
		m := msg(id)
		m.Key = []byte("k" + strconv.Itoa(i%100))
		if err := p.Send(context.Background(), m); err != nil {
			t.Fatal(err)
		}
	}
	tr.wait(t, want, 20*time.Second)
	time.Sleep(time.Second) // the poison message keeps coming back meanwhile
	took := time.Since(start)
	n := poison.Load()
	t.Logf("all 1000 handled; the Nak'ed message was delivered %d times in %s", n, took.Round(time.Millisecond))
	if n < 2 {
		t.Errorf("the Nak'ed message came back %d times in %s", n, took)
	}
	if limit := int64(took/delay) + 3; n > limit {
		t.Errorf("the Nak'ed message was delivered %d times in %s with redelivery-delay %s (at most %d): a hot loop", n, took, delay, limit)
	}
}
