package nats_test

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/streambind/streambind/stream"
)

// TestBreakPauseHoldsPastAckWait: messages received before a Pause that
// lasts four times ack-wait stay with the binding (in-progress acks) and
// are handled once each after Resume: none is redelivered meanwhile.
func TestBreakPauseHoldsPastAckWait(t *testing.T) {
	t.Parallel() // waits on ack-wait and timers: runs beside the others
	for _, conc := range []int{1, 3} {
		t.Run("concurrency="+strconv.Itoa(conc), func(t *testing.T) {
			b, _ := shared(t, nil)
			dest := unique(t, "held")
			tr := newTracker()
			first := make(chan struct{})
			release := make(chan struct{})
			var once sync.Once
			h := func(_ context.Context, m stream.Envelope) error {
				if m.Headers[idHeader] == "m-0" {
					once.Do(func() { close(first); <-release })
				}
				tr.receive(0, m.Headers[idHeader])
				return nil
			}
			c := startConsumer(t, b, stream.ConsumerSpec{Destination: dest, Group: "g", Handler: h,
				Consumer:  stream.ConsumerConfig{Concurrency: conc},
				Extension: map[string]any{"ack-wait": "1s", "prefetch": 16}})
			p := bindProducer(t, b, stream.ProducerSpec{Destination: dest})
			var want []string
			for i := range 40 {
				id := "m-" + strconv.Itoa(i)
				want = append(want, id)
				m := msg(id)
				m.Key = []byte("k") // one route: the others wait behind m-0
				if err := p.Send(context.Background(), m); err != nil {
					t.Fatal(err)
				}
			}
			<-first
			time.Sleep(200 * time.Millisecond) // intake takes in what it may meanwhile
			paused := make(chan error, 1)
			go func() { paused <- c.Pause(context.Background()) }()
			close(release)
			if err := <-paused; err != nil {
				t.Fatal(err)
			}
			time.Sleep(4 * time.Second)
			tr.mu.Lock()
			during := len(tr.got)
			tr.mu.Unlock()
			if err := c.Resume(context.Background()); err != nil {
				t.Fatal(err)
			}
			tr.wait(t, want, 10*time.Second)
			time.Sleep(1500 * time.Millisecond) // a redelivery would come within ack-wait
			tr.mu.Lock()
			defer tr.mu.Unlock()
			dups := 0
			for id, n := range tr.got {
				if n > 1 {
					dups++
					t.Errorf("%s handled %d times", id, n)
				}
			}
			t.Logf("%d handled before the pause ended, %d duplicates", during, dups)
		})
	}
}
