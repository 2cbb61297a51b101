package nats_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/streambind/streambind/binder/nats/natstest"
	"github.com/streambind/streambind/stream"
)

// A destination that is no literal NATS subject is a configuration error
// at the binding's destination key (so the app and streambind lint report
// it), not only a failed bind.
func TestValidateDestination(t *testing.T) {
	b := newBinder(t, "nats://127.0.0.1:1", nil)
	for _, d := range []string{"orders eu", "orders.*", "orders.>", "orders..eu"} {
		var ce *stream.ConfigError
		err := b.ValidateProducer(stream.ProducerSpec{Binding: "out-0", Destination: d})
		if !errors.As(err, &ce) || ce.Path != "stream.bindings.out-0.destination" {
			t.Errorf("ValidateProducer(%q): %v, want a ConfigError at stream.bindings.out-0.destination", d, err)
		}
		err = b.ValidateConsumer(stream.ConsumerSpec{Binding: "in-0", Destination: d, Group: "g"})
		if !errors.As(err, &ce) || ce.Path != "stream.bindings.in-0.destination" {
			t.Errorf("ValidateConsumer(%q): %v, want a ConfigError at stream.bindings.in-0.destination", d, err)
		}
	}
	var ce *stream.ConfigError
	err := b.ValidateConsumer(stream.ConsumerSpec{Binding: "in-0", Destination: "orders", Group: "my group", Consumer: stream.ConsumerConfig{DLQ: true}})
	if !errors.As(err, &ce) || ce.Path != "stream.bindings.in-0.group" {
		t.Errorf("ValidateConsumer(group with a space, dlq): %v, want a ConfigError at stream.bindings.in-0.group", err)
	}
	if err := b.ValidateConsumer(stream.ConsumerSpec{Binding: "in-0", Destination: "orders.eu", Group: "g", Consumer: stream.ConsumerConfig{DLQ: true}}); err != nil {
		t.Errorf("ValidateConsumer(orders.eu): %v", err)
	}
}

// Destinations of which one is the other's prefix at a '.' (x.orders and
// x.orders.eu) fail to bind with an error naming the overlap, in either
// order; the longer one bound second used the shorter one's stream (its
// messages read by the shorter one's consumers) and failed, if at all,
// with a misleading error about NATS 2.10.
func TestOverlappingDestinations(t *testing.T) {
	natstest.Require(t)
	t.Parallel()
	url := natstest.URL()
	s := newStreams(t, url)
	b := newBinder(t, url, nil)
	closeBinder(t, b)
	ctx := context.Background()

	short := unique(t, "orders")
	long := short + ".eu"
	s.add(short)
	s.add(long)
	bindProducer(t, b, stream.ProducerSpec{Destination: short})
	_, err := b.BindConsumer(ctx, stream.ConsumerSpec{Binding: "in-0", Destination: long, Group: "g", ContentType: stream.DefaultContentType, Handler: nopHandler,
		Consumer: stream.ConsumerConfig{Concurrency: 1, MaxAttempts: 1, InstanceCount: 1}})
	if err == nil || !strings.Contains(err.Error(), "overlaps destination "+short) {
		t.Errorf("consumer of %s after %s: %v, want an error naming the overlap", long, short, err)
	}
	_, err = b.BindProducer(ctx, stream.ProducerSpec{Binding: "out-1", Destination: long, ContentType: stream.DefaultContentType})
	if err == nil || !strings.Contains(err.Error(), "overlaps destination "+short) {
		t.Errorf("producer of %s after %s: %v, want an error naming the overlap", long, short, err)
	}

	short2 := unique(t, "orders2")
	long2 := short2 + ".eu"
	s.add(short2)
	s.add(long2)
	bindProducer(t, b, stream.ProducerSpec{Destination: long2})
	_, err = b.BindProducer(ctx, stream.ProducerSpec{Binding: "out-2", Destination: short2, ContentType: stream.DefaultContentType})
	if err == nil || !strings.Contains(err.Error(), "overlaps destination "+long2) {
		t.Errorf("producer of %s after %s: %v, want an error naming the overlap", short2, long2, err)
	}
}
