package kafka_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/streambind/streambind/binder/kafka/kafkatest"
	"github.com/streambind/streambind/idempotency"
	"github.com/streambind/streambind/stream"
)

// TestIdlessRetryCopyKeyedAsItsOriginal: a record without an id (a Java
// producer's) that fails once goes to its retry topic (retry-delays); the
// copy succeeds there. Its default idempotency key must be the original's
// (kafka:<main topic>:<partition>:<offset>), as a copy of a record with an
// id keeps the id: otherwise a redelivery of the original (a restart or a
// rebalance before its offset was committed, here a consumer of the
// binding in another group sharing the marks, as in
// TestIdempotentConsumerOfJavaRecords) runs the handler a second time.
// Before, the copy was keyed by its own position on the retry topic
// (kafka:<retry topic>:0:0), and the original's key stayed unmarked.
func TestIdlessRetryCopyKeyedAsItsOriginal(t *testing.T) {
	t.Parallel()
	c := kafkatest.Start(t)
	topic := uniqueTopic(t)
	marks := idempotency.NewMemoryStore()
	handled := make(chan string, 8)
	var mu sync.Mutex
	failedOnce := false
	start := func(group string) (*idempotency.Consumer, func() error) {
		return startIdempotentOrders(t, c, topic, group, marks, []time.Duration{50 * time.Millisecond}, func(m stream.Message[javaOrder]) error {
			mu.Lock()
			first := !failedOnce
			failedOnce = true
			mu.Unlock()
			if first {
				return errors.New("fails once")
			}
			handled <- group + " " + m.Payload.OrderID + " " + m.Received.Destination
			return nil
		})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	createTopic(t, c, topic, 1, nil)
	w := &kafkago.Writer{Addr: kafkago.TCP(c.Addrs()...), Topic: topic, RequiredAcks: kafkago.RequireAll, Transport: &kafkago.Transport{}}
	defer w.Close()
	ct := []kafkago.Header{{Key: "contentType", Value: []byte(`"application/json"`)},
		{Key: "spring_json_header_types", Value: []byte(`{"contentType":"java.lang.String"}`)}}
	if err := w.WriteMessages(ctx, kafkago.Message{Value: []byte(`{"orderId":"j-1"}`), Headers: ct}); err != nil {
		t.Fatal(err)
	}

	first, stop := start("g1")
	select {
	case h := <-handled:
		if want := "g1 j-1 " + topic + ".g1-retry-"; len(h) < len(want) || h[:len(want)] != want {
			t.Fatalf("handled %q; want the retry topic's copy (%s...)", h, want)
		}
	case <-ctx.Done():
		t.Fatalf("the retry copy was not handled; stats %+v", first.Stats("orders-in-0"))
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if s := first.Stats("orders-in-0"); s.Processed != 1 || s.Unkeyed != 0 {
		t.Fatalf("first consumer's stats %+v; want 1 processed (keyed)", s)
	}

	// The original again, as a redelivery before its commit reads it.
	second, _ := start("g2")
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for second.Stats("orders-in-0").Skipped < 1 {
		select {
		case h := <-handled:
			t.Fatalf("the original, whose retry copy succeeded, ran the handler again: %s; stats %+v", h, second.Stats("orders-in-0"))
		case <-tick.C:
		case <-ctx.Done():
			t.Fatalf("second consumer's stats %+v; want the original skipped", second.Stats("orders-in-0"))
		}
	}
}
