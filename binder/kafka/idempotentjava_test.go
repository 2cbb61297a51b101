package kafka_test

import (
	"context"
	"log/slog"
	"sort"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/streambind/streambind/binder/bindertest"
	"github.com/streambind/streambind/binder/kafka"
	"github.com/streambind/streambind/binder/kafka/kafkatest"
	"github.com/streambind/streambind/idempotency"
	"github.com/streambind/streambind/stream"
)

// TestIdempotentConsumerOfJavaRecords: records as a Java Spring Cloud
// Stream producer writes them — no id header: Spring Kafka's header
// mapper excludes id ("!id", "!timestamp", "*") — reach an idempotent
// binding under the default key-expression, keyed by topic, partition and
// offset: two records are two messages, and a second delivery of the same
// stored records (here to a second consumer of the binding, in another
// group, sharing the marks, as a redelivery after a restart without a
// commit reads them again) is skipped. Before, every such record failed
// for good ("idempotency key: expression ... yielded null"): dead-lettered
// with a DLQ, else dropped, and the handler never ran.
func TestIdempotentConsumerOfJavaRecords(t *testing.T) {
	t.Parallel()
	c := kafkatest.Start(t)
	topic := uniqueTopic(t)
	marks := idempotency.NewMemoryStore()
	handled := make(chan string, 8)
	start := func(group string) (*idempotency.Consumer, func() error) {
		return startIdempotentOrders(t, c, topic, group, marks, nil, func(m stream.Message[javaOrder]) error {
			handled <- group + " " + m.Payload.OrderID
			return nil
		})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	createTopic(t, c, topic, 2, nil)
	w := &kafkago.Writer{Addr: kafkago.TCP(c.Addrs()...), Topic: topic, RequiredAcks: kafkago.RequireAll, Transport: &kafkago.Transport{},
		// j-1 to partition 0, j-2 to partition 1: both at offset 0, two
		// records all the same.
		Balancer: kafkago.BalancerFunc(func(m kafkago.Message, parts ...int) int {
			if string(m.Value) == `{"orderId":"j-2"}` {
				return parts[1]
			}
			return parts[0]
		})}
	defer w.Close()
	ct := []kafkago.Header{{Key: "contentType", Value: []byte(`"application/json"`)},
		{Key: "spring_json_header_types", Value: []byte(`{"contentType":"java.lang.String"}`)}}
	if err := w.WriteMessages(ctx,
		kafkago.Message{Value: []byte(`{"orderId":"j-1"}`), Headers: ct},
		kafkago.Message{Value: []byte(`{"orderId":"j-2"}`), Headers: ct}); err != nil {
		t.Fatal(err)
	}

	first, stop := start("g1")
	var got []string
	for len(got) < 2 {
		select {
		case h := <-handled:
			got = append(got, h)
		case <-ctx.Done():
			t.Fatalf("handled %v of the 2 Java records; stats %+v", got, first.Stats("orders-in-0"))
		}
	}
	sort.Strings(got)
	if got[0] != "g1 j-1" || got[1] != "g1 j-2" {
		t.Fatalf("handled %v", got)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if s := first.Stats("orders-in-0"); s.Processed != 2 || s.Unkeyed != 0 {
		t.Fatalf("first consumer's stats %+v; want 2 processed (keyed by offset)", s)
	}

	second, _ := start("g2")
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for second.Stats("orders-in-0").Skipped < 2 {
		select {
		case h := <-handled:
			t.Fatalf("a second delivery of a stored record ran the handler again: %s", h)
		case <-tick.C:
		case <-ctx.Done():
			t.Fatalf("second consumer's stats %+v; want 2 skipped", second.Stats("orders-in-0"))
		}
	}
	select {
	case h := <-handled:
		t.Fatalf("handler ran again: %s", h)
	default:
	}
}

// startIdempotentOrders runs an app whose consumer orders reads topic in
// group on c, with the default idempotency key over marks (shared between
// calls, as instances sharing a store see them) and at most one attempt
// (retryDelays, when set, parks a failed one on the retry topics), calling
// handle for each order. It returns the idempotent consumer and the app's
// stop.
func startIdempotentOrders(t *testing.T, c *kafkatest.Cluster, topic, group string, marks *idempotency.MemoryStore,
	retryDelays []time.Duration, handle func(stream.Message[javaOrder]) error) (*idempotency.Consumer, func() error) {
	t.Helper()
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "orders", func(_ context.Context, m stream.Message[javaOrder]) error { return handle(m) })
	cfg := &stream.Config{
		Function:      stream.FunctionConfig{Definition: "orders"},
		Binders:       map[string]stream.BinderConfig{"k": {Type: kafka.Type, Environment: map[string]any{"brokers": c.Brokers()}}},
		DefaultBinder: "k",
		Bindings: map[string]stream.BindingConfig{
			"orders-in-0": {Destination: topic, Group: group, Consumer: stream.ConsumerConfig{MaxAttempts: 1, RetryDelays: retryDelays,
				Idempotency: stream.IdempotencyConfig{Store: stream.IdempotencyStoreMemory}}},
		},
	}
	app, err := stream.NewApp(cfg, fns, stream.WithBinderType(kafka.Type, kafka.New), stream.WithoutSignals(), stream.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	idem, err := idempotency.New(app, idempotency.Config{}, idempotency.Options{Memory: marks})
	if err != nil {
		t.Fatal(err)
	}
	return idem, bindertest.RunApp(t, app)
}
