package rabbit_test

import (
	"context"
	"strings"
	"testing"

	"github.com/streambind/streambind/binder/rabbit"
	"github.com/streambind/streambind/stream"
)

// TestEmptyPrefixAccepted: SCSt's RabbitMQ prefix is empty by default,
// and a file that gives it per environment (prefix: ${QUEUE_PREFIX:})
// holds the empty string where none is set. It was refused at every
// value; empty asks for nothing and is accepted, any other stays refused.
func TestEmptyPrefixAccepted(t *testing.T) {
	b, err := rabbit.New(context.Background(), stream.BinderSettings{Name: "rabbit", Type: rabbit.Type})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = b.Close(context.Background()) }()
	sv := b.(stream.SpecValidator)
	for _, v := range []any{"", nil} {
		if err := sv.ValidateConsumer(stream.ConsumerSpec{Binding: "in", Destination: "d", Group: "g", Extension: map[string]any{"prefix": v}}); err != nil {
			t.Errorf("consumer prefix %q: %v", v, err)
		}
		if err := sv.ValidateProducer(stream.ProducerSpec{Binding: "out", Destination: "d", Extension: map[string]any{"prefix": v}}); err != nil {
			t.Errorf("producer prefix %q: %v", v, err)
		}
	}
	err = sv.ValidateConsumer(stream.ConsumerSpec{Binding: "in", Destination: "d", Group: "g", Extension: map[string]any{"prefix": "dev."}})
	if err == nil || !strings.Contains(err.Error(), "stream.rabbit.bindings.in.consumer.prefix: not supported") {
		t.Errorf("prefix dev.: %v", err)
	}
}
