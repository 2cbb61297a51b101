package kafka_test

import (
	"context"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/kafka/kafkatest"
	"github.com/streambind/streambind/stream"
)

// TestReceived: a consumer binding of two topics tells its handler what
// Spring Kafka's received headers tell: the topic each record was read
// from, its partition, offset and timestamp, in the plain, keyed
// (ordering: key) and batch paths. The handler could not tell the topics apart before.
func TestReceived(t *testing.T) {
	t.Parallel()
	c := kafkatest.Start(t)
	b := newBinder(t, c, nil)
	closeBinder(t, b)
	ta, tb := uniqueTopic(t)+"-a", uniqueTopic(t)+"-b"
	ctx := context.Background()
	before := time.Now().Add(-time.Second)
	for _, s := range []struct {
		topic string
		ids   []string
		part  int
	}{{ta, []string{"a0", "a1"}, 1}, {tb, []string{"b0"}, 0}} {
		p := bindProducer(t, b, s.topic, 2)
		for _, id := range s.ids {
			if err := p.Send(ctx, toPartition(id, s.part)); err != nil {
				t.Fatal(err)
			}
		}
	}
	want := map[string]stream.Received{
		"a0": {Destination: ta, Partition: 1, HasPartition: true, Offset: 0, HasOffset: true},
		"a1": {Destination: ta, Partition: 1, HasPartition: true, Offset: 1, HasOffset: true},
		"b0": {Destination: tb, Partition: 0, HasPartition: true, Offset: 0, HasOffset: true},
	}
	check := func(t *testing.T, got <-chan stream.Envelope) {
		t.Helper()
		for range want {
			select {
			case m := <-got:
				id := m.Headers[idHeader]
				r := m.Received
				if r.Timestamp.Before(before) || r.Timestamp.After(time.Now()) {
					t.Errorf("%s: timestamp %v, want the record's (about now)", id, r.Timestamp)
				}
				r.Timestamp = time.Time{}
				if r != want[id] {
					t.Errorf("%s: Received %+v\nwant %+v", id, r, want[id])
				}
			case <-time.After(20 * time.Second):
				t.Fatal("timed out")
			}
		}
	}
	t.Run("plain", func(t *testing.T) {
		got := make(chan stream.Envelope, 3)
		startConsumer(t, b, consumerSpec(ta+","+tb, "plain", func(_ context.Context, m stream.Envelope) error { got <- m; return nil }))
		check(t, got)
	})
	t.Run("ordering-key", func(t *testing.T) { // lanes by key (keyorder.go)
		got := make(chan stream.Envelope, 3)
		spec := consumerSpec(ta+","+tb, "keyed", func(_ context.Context, m stream.Envelope) error { got <- m; return nil })
		spec.Consumer.Concurrency = 2
		spec.Extension = map[string]any{"ordering": "key"}
		startConsumer(t, b, spec)
		check(t, got)
	})
	t.Run("batch", func(t *testing.T) {
		got := make(chan stream.Envelope, 3)
		spec := consumerSpec(ta+", "+tb, "batch", nil)
		spec.Consumer.BatchMode = true
		spec.BatchHandler = func(_ context.Context, ms []stream.Envelope) error {
			for _, m := range ms {
				got <- m
			}
			return nil
		}
		startConsumer(t, b, spec)
		check(t, got)
	})
}
