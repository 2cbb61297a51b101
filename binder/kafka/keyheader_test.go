package kafka_test

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/streambind/streambind/binder/kafka/kafkatest"
	"github.com/streambind/streambind/stream"
)

// A header named key is a header only, as in SCSt: the record of a message
// without a key has a null key (the producer used the header as the record
// key), and the header travels on.
func TestKeyHeaderIsNotTheRecordKey(t *testing.T) {
	c := kafkatest.Start(t)
	bd := newBinder(t, c, nil)
	topic := uniqueTopic(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p, err := bd.BindProducer(ctx, stream.ProducerSpec{Binding: "out-0", Destination: topic, ContentType: "text/plain"})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(context.Background())
	if err := p.Send(ctx, stream.Envelope{Payload: []byte("x"), Headers: stream.Headers{"key": "k1"}}); err != nil {
		t.Fatal(err)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.Addrs()...), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	for {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatal("no record within 30s")
		}
		var r *kgo.Record
		fs.EachRecord(func(rec *kgo.Record) { r = rec })
		if r == nil {
			continue
		}
		if r.Key != nil {
			t.Errorf("record key %q, want none (null)", r.Key)
		}
		var hv string
		for _, h := range r.Headers {
			if h.Key == "key" {
				hv = string(h.Value)
			}
		}
		if hv != "k1" {
			t.Errorf("header key = %q, want k1", hv)
		}
		return
	}
}
