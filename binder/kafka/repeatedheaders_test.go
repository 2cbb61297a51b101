package kafka_test

// A record may carry a header more than once (legal in Kafka). The
// handler reads its last value (as Spring Kafka's header mapper keeps
// one), but the dead letter must be faithful to the record: every value,
// in order, and so must the replay of that dead letter.

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/streambind/streambind/binder/kafka"
	"github.com/streambind/streambind/binder/kafka/kafkatest"
	"github.com/streambind/streambind/stream"
)

// headerValuesOf returns the values of header k of the first record of
// topic, in record order, read with a plain Kafka client.
func headerValuesOf(ctx context.Context, t *testing.T, c *kafkatest.Cluster, topic, k string) []string {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.Addrs()...), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	for {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("no record on %s", topic)
		}
		var r *kgo.Record
		fs.EachRecord(func(rec *kgo.Record) {
			if r == nil {
				r = rec
			}
		})
		if r == nil {
			continue
		}
		var vs []string
		for _, h := range r.Headers {
			if h.Key == k {
				vs = append(vs, string(h.Value))
			}
		}
		return vs
	}
}

// TestRepeatedHeaderKeptInDeadLetterAndReplay: a failing record with
// header h twice (a, then b) is dead-lettered with h a and h b, and the
// dead letter read back and replayed is written with h a and h b again.
func TestRepeatedHeaderKeptInDeadLetterAndReplay(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c := kafkatest.Start(t)
	b := newBinder(t, c, nil)
	closeBinder(t, b)
	src := uniqueTopic(t)
	dlq := stream.DLQName(src, "g")
	createTopic(t, c, src, 1, nil)
	createTopic(t, c, dlq, 1, nil)

	cl, err := kgo.NewClient(kgo.SeedBrokers(c.Addrs()...), kgo.DefaultProduceTopic(src))
	if err != nil {
		t.Fatal(err)
	}
	err = cl.ProduceSync(ctx, &kgo.Record{Value: []byte("v"), Headers: []kgo.RecordHeader{
		{Key: "h", Value: []byte("a")}, {Key: idHeader, Value: []byte("poison-1")}, {Key: "h", Value: []byte("b")},
	}}).FirstErr()
	cl.Close()
	if err != nil {
		t.Fatal(err)
	}

	seen := make(chan string, 1)
	spec := consumerSpec(src, "g", func(_ context.Context, m stream.Envelope) error {
		select {
		case seen <- m.Headers["h"]:
		default:
		}
		return stream.Permanent(errors.New("fails"))
	})
	spec.Consumer.DLQ = true
	startConsumer(t, b, spec)
	select {
	case h := <-seen:
		if h != "b" {
			t.Errorf("the handler read header h %q, want the last value, b", h)
		}
	case <-ctx.Done():
		t.Fatal("the record was not handled")
	}
	if got := headerValuesOf(ctx, t, c, dlq, "h"); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("dead letter's header h values %q, want [a b] (the record's)", got)
	}

	dls, err := b.(*kafka.Binder).OpenDeadLetters(ctx, spec, stream.DeadLetterOpen{})
	if err != nil {
		t.Fatal(err)
	}
	d, err := dls.Next(ctx)
	_ = dls.Close(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if d.Headers["h"] != "b" {
		t.Errorf("the dead letter read back has header h %q, want b", d.Headers["h"])
	}
	out := uniqueTopic(t)
	createTopic(t, c, out, 1, nil)
	p := bindProducer(t, b, out, 1)
	if err := p.Send(ctx, stream.ReplayEnvelope(d)); err != nil {
		t.Fatal(err)
	}
	if got := headerValuesOf(ctx, t, c, out, "h"); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("replayed copy's header h values %q, want [a b]", got)
	}
}
