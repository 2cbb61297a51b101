package rabbit

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/streambind/streambind/stream"
)

// Batch mode hands the handler slices of up to batch-size messages, in
// order, and acks them together; a Term'ed batch is dead-lettered message
// by message.
func TestBatchMode(t *testing.T) {
	t.Parallel()
	_, tr := newTestBinder(t, nil)
	dest := "rabbit-test.batch." + randomID()
	ctx := context.Background()
	p, err := tr.BindProducer(ctx, stream.ProducerSpec{Binding: "b-out-0", Destination: dest, ContentType: "text/plain",
		Producer: stream.ProducerConfig{RequiredGroups: []string{"g"}}, Extension: map[string]any{"auto-bind-dlq": true}})
	if err != nil {
		t.Fatal(err)
	}
	const n = 50
	for i := range n {
		if err := p.Send(ctx, stream.Envelope{Payload: []byte(fmt.Sprint(i))}); err != nil {
			t.Fatal(err)
		}
	}
	batches := make(chan []string, n)
	dead := make(chan stream.Envelope, n)
	dlq, err := tr.BindConsumer(ctx, withHandler(dlqReader(dest, "g"), func(_ context.Context, m stream.Envelope) error { dead <- m; return nil }))
	if err != nil {
		t.Fatal(err)
	}
	if err := dlq.Start(ctx); err != nil {
		t.Fatal(err)
	}
	c, err := tr.BindConsumer(ctx, stream.ConsumerSpec{Binding: "b-in-0", Destination: dest, Group: "g", ContentType: "text/plain",
		Consumer:  stream.ConsumerConfig{BatchMode: true, DLQ: true, Concurrency: 1, MaxAttempts: 1, InstanceCount: 1},
		Extension: map[string]any{"batch-size": 8},
		BatchHandler: func(_ context.Context, ms []stream.Envelope) error {
			var b []string
			for _, m := range ms {
				b = append(b, string(m.Payload))
			}
			batches <- b
			if b[0] == "0" {
				return fmt.Errorf("the first batch fails")
			}
			return nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer c.Stop(ctx)
	defer dlq.Stop(ctx)
	next, first := 0, 0
	for next < n {
		select {
		case b := <-batches:
			if len(b) == 0 || len(b) > 8 {
				t.Fatalf("batch of %d", len(b))
			}
			if next == 0 {
				first = len(b)
			}
			for _, s := range b {
				if s != fmt.Sprint(next) {
					t.Fatalf("got %s, want %d (order)", s, next)
				}
				next++
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("only %d of %d messages arrived in batches", next, n)
		}
	}
	for i := range first {
		select {
		case m := <-dead:
			if string(m.Payload) != fmt.Sprint(i) || m.Headers[stream.HeaderExceptionMessage] == "" {
				t.Fatalf("dead letter %q %v", m.Payload, m.Headers)
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("dead letter %d of the failed batch missing", i)
		}
	}
}

func withHandler(s stream.ConsumerSpec, h stream.Handler) stream.ConsumerSpec {
	s.Handler = h
	return s
}
