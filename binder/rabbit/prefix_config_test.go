package rabbit_test

import (
	"context"
	"strings"
	"testing"

	"github.com/streambind/streambind/binder/rabbit"
	"github.com/streambind/streambind/stream"
)

// TestPrefixAccepted: SCSt's RabbitMQ prefix is empty by default, and a
// file that gives it per environment (prefix: ${QUEUE_PREFIX:}) holds the
// empty string where none is set; any other value names the exchange and
// queues (TestPrefixNamesAsSCSt). Names it makes too long for RabbitMQ
// are refused at the binding's destination.
func TestPrefixAccepted(t *testing.T) {
	b, err := rabbit.New(context.Background(), stream.BinderSettings{Name: "rabbit", Type: rabbit.Type})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = b.Close(context.Background()) }()
	sv := b.(stream.SpecValidator)
	for _, v := range []any{"", nil, "dev."} {
		if err := sv.ValidateConsumer(stream.ConsumerSpec{Binding: "in", Destination: "d", Group: "g", Extension: map[string]any{"prefix": v}}); err != nil {
			t.Errorf("consumer prefix %q: %v", v, err)
		}
		if err := sv.ValidateProducer(stream.ProducerSpec{Binding: "out", Destination: "d", Extension: map[string]any{"prefix": v}}); err != nil {
			t.Errorf("producer prefix %q: %v", v, err)
		}
	}
	long := strings.Repeat("p", 250)
	err = sv.ValidateProducer(stream.ProducerSpec{Binding: "out", Destination: "orders", Extension: map[string]any{"prefix": long}})
	if err == nil || !strings.Contains(err.Error(), "stream.bindings.out.destination: destination (the exchange)") {
		t.Errorf("producer prefix of 250 bytes: %v", err)
	}
	err = sv.ValidateConsumer(stream.ConsumerSpec{Binding: "in", Destination: "orders", Group: "g", Extension: map[string]any{"prefix": long[:249]}})
	if err == nil || !strings.Contains(err.Error(), "the queue of group g") {
		t.Errorf("consumer prefix making the queue 257 bytes: %v", err)
	}
	err = sv.ValidateProducer(stream.ProducerSpec{Binding: "out", Destination: "orders", Extension: map[string]any{"prefix": "amq."}})
	if err == nil || !strings.Contains(err.Error(), `exchange "amq.orders"`) {
		t.Errorf("prefix amq.: %v", err)
	}
}
