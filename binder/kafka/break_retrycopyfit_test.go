package kafka_test

// A failed message close to its topic's size limit and non-blocking
// retries (found by the "breaker" review): its retry copy carries the
// failure's x-exception-* headers, and with a long exception text it was
// over the retry topic's max.message.bytes: refused for its size, the
// message was dead-lettered at once, never retried.

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/kafka"
	"github.com/streambind/streambind/binder/kafka/kafkatest"
	"github.com/streambind/streambind/stream"
)

// longFailure is an error with a 3000-byte text.
type longFailure struct{}

func (longFailure) Error() string { return "database down: " + strings.Repeat("x", 3000) }

// TestBreakRetryCopyFitsRetryTopic: topics of max.message.bytes 20000; an
// 18500-byte message fails once with a 3000-byte error text. It is
// parked on the retry topic (its exception texts shortened to fit) and
// handled on its retry delivery with its payload, headers and retry
// headers whole; nothing is dead-lettered.
func TestBreakRetryCopyFitsRetryTopic(t *testing.T) {
	t.Parallel()
	const delay = 100 * time.Millisecond
	c := kafkatest.Start(t)
	topic := uniqueTopic(t)
	limit := map[string]string{"max.message.bytes": "20000"}
	createTopic(t, c, topic, 1, limit)
	createTopic(t, c, kafka.RetryTopicName(topic, "g", delay), 1, limit)
	createTopic(t, c, stream.DLQName(topic, "g"), 1, limit)
	var calls atomic.Int64
	retried := make(chan stream.Message[[]byte], 1)
	dead := make(chan stream.Message[[]byte], 1)
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "work", func(_ context.Context, m stream.Message[[]byte]) error {
		if calls.Add(1) == 1 {
			return longFailure{}
		}
		retried <- m
		return nil
	})
	stream.AddConsumer(fns, "audit", func(_ context.Context, m stream.Message[[]byte]) error { dead <- m; return nil })
	const bytes = "application/octet-stream"
	app := runApp(t, &stream.Config{
		Function:       stream.FunctionConfig{Definition: "work;audit"},
		DefaultBinder:  "kafka",
		OutputBindings: "in",
		Binders:        map[string]stream.BinderConfig{"kafka": {Type: kafka.Type, Environment: map[string]any{"brokers": c.Brokers()}}},
		Bindings: map[string]stream.BindingConfig{
			"in": {Destination: topic, ContentType: bytes},
			"work-in-0": {Destination: topic, Group: "g", ContentType: bytes,
				Consumer: stream.ConsumerConfig{MaxAttempts: 1, DLQ: true, RetryDelays: []time.Duration{delay}}},
			"audit-in-0": {Destination: stream.DLQName(topic, "g"), Group: "audit", ContentType: bytes},
		},
	}, fns, testLogger(t))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	payload := []byte(strings.Repeat("p", 18500))
	if err := app.Bridge().Send(ctx, "in", stream.Message[[]byte]{Payload: payload, Headers: stream.Headers{"x-mine": "kept"}}); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-retried:
		if string(m.Payload) != string(payload) || m.Headers["x-mine"] != "kept" || m.Headers[stream.HeaderRetryAttempts] == "" {
			t.Errorf("retry delivery: %d payload bytes, headers %v", len(m.Payload), headerNames(m.Headers))
		}
		if msg := m.Headers[stream.HeaderExceptionMessage]; msg != "" && len(msg) >= 3000 {
			t.Errorf("x-exception-message of %d bytes: not shortened", len(msg))
		}
		t.Logf("retried: handler calls %d, x-exception-message %d bytes", calls.Load(), len(m.Headers[stream.HeaderExceptionMessage]))
	case m := <-dead:
		t.Fatalf("dead-lettered after %d handler call(s), never retried (truncated %q)", calls.Load(), m.Headers[stream.HeaderTruncated])
	case <-ctx.Done():
		t.Fatal("neither retried nor dead-lettered")
	}
}

func headerNames(h stream.Headers) []string {
	var out []string
	for k := range h {
		out = append(out, k)
	}
	return out
}
