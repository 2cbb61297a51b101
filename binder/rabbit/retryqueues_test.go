package rabbit_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/bindertest"
	"github.com/streambind/streambind/binder/rabbit"
	"github.com/streambind/streambind/binder/rabbit/rabbittest"
	"github.com/streambind/streambind/stream"
)

// TestRetryDelays: non-blocking retries through per-delay wait queues (TTL
// + dead-letter back to the consumer's queue), in a virtual host of the
// test's own (bindertest.RunRetryDelays).
func TestRetryDelays(t *testing.T) {
	vhost := rabbittest.VHost(t)
	bindertest.RunRetryDelays(t, bindertest.RetryDelaysHarness{
		Type: rabbit.Type, Factory: rabbit.New, Destination: "orders",
		Environment: map[string]any{"addresses": rabbittest.Address(), "virtual-host": vhost},
	})
}

// TestValidateWaitQueueNames: a wait queue name over RabbitMQ's 255 bytes
// (<destination>.<group>.retry.<ms>) is a configuration error at the
// binding's destination, found without a broker.
func TestValidateWaitQueueNames(t *testing.T) {
	b, err := rabbit.New(context.Background(), stream.BinderSettings{Name: "rabbit", Type: rabbit.Type})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = b.Close(context.Background()) }()
	sv := b.(stream.SpecValidator)
	spec := stream.ConsumerSpec{Binding: "in", Destination: strings.Repeat("x", 240), Group: "g"}
	spec.Consumer.RetryDelays = []time.Duration{100 * time.Millisecond} // <dest>.g.retry.100: 252 bytes
	if err := sv.ValidateConsumer(spec); err != nil {
		t.Errorf("wait queue of 252 bytes: %v", err)
	}
	spec.Consumer.RetryDelays = append(spec.Consumer.RetryDelays, 1000*time.Second) // .retry.1000000: 256
	var ce *stream.ConfigError
	if err := sv.ValidateConsumer(spec); !errors.As(err, &ce) || ce.Path != "stream.bindings.in.destination" || !strings.Contains(ce.Msg, "wait queue of group g for 16m40s") || !strings.Contains(ce.Msg, "256 bytes") {
		t.Errorf("wait queue of 256 bytes: %v", err)
	}
}
