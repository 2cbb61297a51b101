package rabbit_test

import (
	"context"
	"strings"
	"testing"

	"github.com/streambind/streambind/binder/rabbit"
	"github.com/streambind/streambind/stream"
)

// TestValidateNameLengths: an exchange or queue name RabbitMQ would
// refuse (over 255 bytes of UTF-8), the destination's or one derived from
// it (<destination>.<group>, its .dlq), is a configuration error at the
// binding's destination, found without a broker.
func TestValidateNameLengths(t *testing.T) {
	b, err := rabbit.New(context.Background(), stream.BinderSettings{Name: "rabbit", Type: rabbit.Type})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = b.Close(context.Background()) }()
	sv := b.(stream.SpecValidator)
	long := strings.Repeat("x", 256)
	err = sv.ValidateProducer(stream.ProducerSpec{Binding: "out", Destination: long})
	var ce *stream.ConfigError
	if !asConfigError(err, &ce) || ce.Path != "stream.bindings.out.destination" || !strings.Contains(ce.Msg, "256 bytes") {
		t.Errorf("long exchange: %v", err)
	}
	if err := sv.ValidateProducer(stream.ProducerSpec{Binding: "out", Destination: strings.Repeat("x", 255)}); err != nil {
		t.Errorf("255 bytes: %v", err)
	}
	// 126 two-byte runes: 252 bytes; the queue <dest>.g is 254, its DLQ 258.
	dest := strings.Repeat("é", 126)
	spec := stream.ConsumerSpec{Binding: "in", Destination: dest, Group: "g"}
	if err := sv.ValidateConsumer(spec); err != nil {
		t.Errorf("queue of 254 bytes: %v", err)
	}
	spec.Consumer.DLQ = true
	err = sv.ValidateConsumer(spec)
	if !asConfigError(err, &ce) || ce.Path != "stream.bindings.in.destination" || !strings.Contains(ce.Msg, "dead-letter queue of group g") || !strings.Contains(ce.Msg, "258 bytes") {
		t.Errorf("long DLQ: %v", err)
	}
}

func asConfigError(err error, ce **stream.ConfigError) bool {
	c, ok := err.(*stream.ConfigError)
	*ce = c
	return ok
}

// TestValidateReservedExchangeNames: RabbitMQ refuses to declare any
// exchange whose name starts with amq. (ACCESS_REFUSED, even one that
// exists), so a binding that would declare one is a configuration error
// naming the way to use an existing one; with declare-exchange false it is
// accepted.
func TestValidateReservedExchangeNames(t *testing.T) {
	b, err := rabbit.New(context.Background(), stream.BinderSettings{Name: "rabbit", Type: rabbit.Type})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = b.Close(context.Background()) }()
	sv := b.(stream.SpecValidator)
	var ce *stream.ConfigError
	err = sv.ValidateProducer(stream.ProducerSpec{Binding: "out", Destination: "amq.topic"})
	if !asConfigError(err, &ce) || ce.Path != "stream.bindings.out.destination" || !strings.Contains(ce.Msg, "stream.rabbit.bindings.out.producer.declare-exchange: false") {
		t.Errorf("producer to amq.topic: %v", err)
	}
	err = sv.ValidateConsumer(stream.ConsumerSpec{Binding: "in", Destination: "orders,amq.direct", Group: "g"})
	if !asConfigError(err, &ce) || !strings.Contains(ce.Msg, `exchange "amq.direct"`) || !strings.Contains(ce.Msg, "in.consumer.declare-exchange") {
		t.Errorf("consumer of amq.direct: %v", err)
	}
	if err := sv.ValidateProducer(stream.ProducerSpec{Binding: "out", Destination: "amq.topic", Extension: map[string]any{"declare-exchange": false}}); err != nil {
		t.Errorf("declare-exchange false: %v", err)
	}
	if err := sv.ValidateProducer(stream.ProducerSpec{Binding: "out", Destination: "amqp.orders"}); err != nil {
		t.Errorf("amqp.orders is not reserved: %v", err)
	}
}
