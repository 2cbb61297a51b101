package nats_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/streambind/streambind/stream"
)

// TestBreakHandlerPanics: a handler that panics (one message of many, on
// a binding of concurrency 3, and a batch handler) does not take the
// binding down: the message is dead-lettered with the panic in its
// exception headers, and the others are handled.
func TestBreakHandlerPanics(t *testing.T) {
	for _, batch := range []bool{false, true} {
		t.Run("batch="+strconv.FormatBool(batch), func(t *testing.T) {
			b, _ := shared(t, nil)
			dest := unique(t, "panic")
			dead := newEnvelopes()
			startConsumer(t, b, stream.ConsumerSpec{Destination: stream.DLQName(dest, "g"), Group: "dlq-reader", Handler: dead.handler})
			tr := newTracker()
			spec := stream.ConsumerSpec{Destination: dest, Group: "g", Consumer: stream.ConsumerConfig{DLQ: true, Concurrency: 3, BatchMode: batch}}
			if batch {
				spec.BatchHandler = func(_ context.Context, ms []stream.Envelope) error {
					for _, m := range ms {
						if m.Headers[idHeader] == "boom" {
							panic("boom in a batch")
						}
					}
					for _, m := range ms {
						tr.receive(0, m.Headers[idHeader])
					}
					return nil
				}
				spec.Extension = map[string]any{"batch-size": 1} // only boom's batch fails
			} else {
				spec.Handler = func(_ context.Context, m stream.Envelope) error {
					if m.Headers[idHeader] == "boom" {
						var xs []int
						xs[len(m.Headers)]++ // a runtime panic (index out of range)
					}
					tr.receive(0, m.Headers[idHeader])
					return nil
				}
			}
			startConsumer(t, b, spec)
			p := bindProducer(t, b, stream.ProducerSpec{Destination: dest})
			var want []string
			for i := range 30 {
				id := "m-" + strconv.Itoa(i)
				if i == 10 {
					id = "boom"
				} else {
					want = append(want, id)
				}
				if err := p.Send(context.Background(), msg(id)); err != nil {
					t.Fatal(err)
				}
			}
			tr.wait(t, want, 10*time.Second)
			dead.tr.wait(t, []string{"boom"}, 10*time.Second)
			h := dead.get("boom").Headers
			if !strings.Contains(h[stream.HeaderExceptionMessage], "panic") {
				t.Errorf("dead letter %s = %q, want the panic", stream.HeaderExceptionMessage, h[stream.HeaderExceptionMessage])
			}
			t.Logf("dead letter: %s = %q", stream.HeaderExceptionMessage, h[stream.HeaderExceptionMessage])
		})
	}
}
