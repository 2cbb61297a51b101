package redis_test

import (
	"context"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/streambind/streambind/binder/bindertest"
	redisbinder "github.com/streambind/streambind/binder/redis"
	"github.com/streambind/streambind/binder/redis/redistest"
	"github.com/streambind/streambind/idempotency"
	"github.com/streambind/streambind/stream"
)

// TestIdempotentIdlessEntriesOfTwoPartitionStreams: entries without an id
// header (another client's XADD, as a Java producer's messages lack one)
// are keyed under the default key-expression by where Redis stored them.
// Entry IDs are numbered per stream, and a consumer that is not
// partitioned reads the destination's partition streams too: two entries
// with the same ID in <destination>:0 and <destination>:1 (XADDs of the
// same millisecond) are two messages, both handled. The key named the
// destination and entry ID only, so the second was acknowledged as a
// duplicate of the first and never handled.
func TestIdempotentIdlessEntriesOfTwoPartitionStreams(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	dest := "idem-parts"
	// A partitioned producer records the destination's two partitions, so
	// the consumer reads <dest>:0 and <dest>:1 beside <dest>.
	bindProducer(t, e.binder(t, nil), stream.ProducerSpec{Destination: dest,
		Producer: stream.ProducerConfig{PartitionCount: 2, PartitionKeyExpression: "key"}})
	handled := make(chan string, 8)
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "orders", func(_ context.Context, s string) error { handled <- s; return nil })
	cfg := &stream.Config{
		Function:      stream.FunctionConfig{Definition: "orders"},
		DefaultBinder: "r",
		Binders: map[string]stream.BinderConfig{"r": {Type: redisbinder.Type, Environment: map[string]any{
			"address": redistest.Addr(), "key-prefix": e.prefix, "client-name": e.name}}},
		Bindings: map[string]stream.BindingConfig{
			"orders-in-0": {Destination: dest, Group: "g", ContentType: "text/plain", Consumer: stream.ConsumerConfig{MaxAttempts: 1,
				Idempotency: stream.IdempotencyConfig{Store: stream.IdempotencyStoreMemory}}},
		},
	}
	app, err := stream.NewApp(cfg, fns, stream.WithBinderType(redisbinder.Type, redisbinder.New), stream.WithoutSignals(), stream.WithLogger(testLogger(t)))
	if err != nil {
		t.Fatal(err)
	}
	idem, err := idempotency.New(app, idempotency.Config{}, idempotency.Options{Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	bindertest.RunApp(t, app)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := redistest.Client(t, redistest.Addr(), "", "")
	const id = "9999999999999-0" // the same ID in both streams
	for p, body := range []string{"first", "second"} {
		key := e.prefix + dest + ":" + string(rune('0'+p))
		if err := c.XAdd(ctx, &goredis.XAddArgs{Stream: key, ID: id, Values: []any{"payload", body, "h:contentType", "text/plain"}}).Err(); err != nil {
			t.Fatal(err)
		}
	}
	want := map[string]bool{"first": true, "second": true}
	for len(want) > 0 {
		select {
		case s := <-handled:
			if !want[s] {
				t.Fatalf("%q handled twice", s)
			}
			delete(want, s)
		case <-ctx.Done():
			t.Fatalf("not handled: %v; stats %+v", want, idem.Stats("orders-in-0"))
		}
	}
	// The handler's send comes before the idempotent consumer counts its
	// call: wait for the count (a CI run read Processed:1 at once).
	for {
		s := idem.Stats("orders-in-0")
		if s.Skipped != 0 {
			t.Fatalf("stats %+v; want 2 processed, none skipped", s)
		}
		if s.Processed == 2 {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("stats %+v; want 2 processed, none skipped", s)
		case <-time.After(5 * time.Millisecond):
		}
	}
}
