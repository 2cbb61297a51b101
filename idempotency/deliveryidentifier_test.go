package idempotency_test

import (
	"context"
	"strings"
	"testing"

	"github.com/streambind/streambind/binder/kafka"
	"github.com/streambind/streambind/binder/memory"
	"github.com/streambind/streambind/binder/nats"
	"github.com/streambind/streambind/binder/rabbit"
	"github.com/streambind/streambind/binder/redis"
	"github.com/streambind/streambind/config"
	"github.com/streambind/streambind/idempotency"
	"github.com/streambind/streambind/stream"
)

// identifiedBinder is a binder of a type of its own whose deliveries
// have an identity (stream.DeliveryIdentifier).
type identifiedBinder struct{ stream.Binder }

func (identifiedBinder) DeliveryIdentity(r stream.Received) (string, bool) {
	return "custom:" + r.Destination, r.Destination != ""
}

// TestDeliveryIdentifierIsTheBinders: whether a binding's deliveries have
// an identity for the default idempotency key to fall back to is the
// binder's to say (stream.DeliveryIdentifier), not its type name's: the
// five binders answer as the type names did (Kafka, NATS and Redis with
// stream.DeliveryIdentity of their type; RabbitMQ and the in-process
// binder not at all), and a binder of another type that implements it is
// keyed by its identity under header-mode none. Before, HasDeliveryIdentity
// switched on the names kafka, nats and redis, so such a binder was
// refused ('the custom binder gives a delivery no identity').
func TestDeliveryIdentifierIsTheBinders(t *testing.T) {
	r := stream.Received{Destination: "orders", Partition: 2, HasPartition: true, Offset: 7, HasOffset: true, Stream: "sb:orders", EntryID: "1-0"}
	for _, c := range []struct {
		b    stream.Binder
		typ  string
		want bool
	}{
		{(*kafka.Binder)(nil), kafka.Type, true},
		{(*nats.Binder)(nil), nats.Type, true},
		{(*redis.Binder)(nil), redis.Type, true},
		{(*rabbit.Binder)(nil), rabbit.Type, false},
		{(*memory.Binder)(nil), memory.Type, false},
	} {
		if got := stream.HasDeliveryIdentity(c.b); got != c.want {
			t.Errorf("%s: HasDeliveryIdentity %v, want %v", c.typ, got, c.want)
		}
		if !c.want {
			continue
		}
		id, ok := c.b.(stream.DeliveryIdentifier).DeliveryIdentity(r)
		want, wantOK := stream.DeliveryIdentity(c.typ, r)
		if id != want || ok != wantOK || !ok {
			t.Errorf("%s: DeliveryIdentity %q %v, want %q %v", c.typ, id, ok, want, wantOK)
		}
		key, err := stream.CompileIdempotencyKeyOn(stream.IdempotencyConfig{}, c.typ, c.b)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := key.Of(stream.Envelope{Received: r}); err != nil || got != want {
			t.Errorf("%s: default key of a message without id: %q %v, want %q", c.typ, got, err, want)
		}
	}

	// A binder of a type of its own.
	y := "stream:\n  default-binder: custom\n  binders:\n    custom: { type: custom }\n  function: { definition: handle }\n  bindings:\n    handle-in-0: { group: g, consumer: { header-mode: none, idempotency: { store: memory } } }\n"
	l, err := config.Load(config.Options{Data: []byte(y), Env: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "handle", func(context.Context, order) error { return nil })
	custom := func(ctx context.Context, s stream.BinderSettings) (stream.Binder, error) {
		b, err := memory.New(ctx, s)
		return identifiedBinder{b}, err
	}
	app, err := stream.NewApp(l.Stream, fns, stream.WithBinderType("custom", custom), stream.WithoutSignals())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := idempotency.New(app, idempotency.Config{}, idempotency.Options{}); err != nil {
		t.Fatalf("header-mode none with the default key on a binder that identifies its deliveries: %v", err)
	}
	key, err := stream.CompileIdempotencyKeyOn(stream.IdempotencyConfig{}, "custom", app.Binders()["custom"])
	if err != nil {
		t.Fatal(err)
	}
	if got, err := key.Of(stream.Envelope{Received: stream.Received{Destination: "orders"}}); err != nil || got != "custom:orders" {
		t.Errorf("the custom binder's default key: %q %v, want custom:orders", got, err)
	}
	// Its type's name alone says nothing: the in-process binder under
	// another name has no identity.
	key, err = stream.CompileIdempotencyKeyOn(stream.IdempotencyConfig{}, "custom", (*memory.Binder)(nil))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := key.Of(stream.Envelope{Received: r}); err == nil || !strings.Contains(err.Error(), "no identity") {
		t.Errorf("a binder without identity: %v, want no key", err)
	}
}
