package rabbit

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/streambind/streambind/stream"
)

// startRetriedOnceThenPoison binds and starts a consumer of dest, group g,
// with a DLQ and one retry-delays wait (50ms): its handler asks for the
// delayed retry on a first delivery and fails the retried one, so each
// message goes through the wait queue and then to the dead-letter queue
// dest.g.dlq. contentType is the binding's ("" the default).
func startRetriedOnceThenPoison(ctx context.Context, t *testing.T, b stream.Binder, binding, dest, contentType string) {
	t.Helper()
	const delay = 50 * time.Millisecond
	c, err := b.BindConsumer(ctx, stream.ConsumerSpec{Binding: binding, Destination: dest, Group: "g", ContentType: contentType,
		Consumer: stream.ConsumerConfig{DLQ: true, MaxAttempts: 1, RetryDelays: []time.Duration{delay}},
		Handler: func(_ context.Context, m stream.Envelope) error {
			if m.Headers["x-streambind-retry-delivery"] == "" {
				return &stream.DelayedRetry{Err: errors.New("later"), Delay: delay, Headers: m.Headers.Clone()}
			}
			return errors.New("poison")
		}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Stop(context.Background()) })
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
}
