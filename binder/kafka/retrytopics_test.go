package kafka_test

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/streambind/streambind/binder/bindertest"
	"github.com/streambind/streambind/binder/kafka"
	"github.com/streambind/streambind/binder/kafka/kafkatest"
	"github.com/streambind/streambind/internal/syncbuf"
	"github.com/streambind/streambind/stream"
)

// TestRetryDelays: non-blocking retries through per-delay retry topics
// whose partitions are held until each message is due, on an in-process
// kfake cluster (bindertest.RunRetryDelays).
func TestRetryDelays(t *testing.T) {
	c := kafkatest.Start(t)
	bindertest.RunRetryDelays(t, bindertest.RetryDelaysHarness{
		Type: kafka.Type, Factory: kafka.New, Destination: "orders",
		Environment: map[string]any{"brokers": c.Brokers()},
	})
}

// TestRetryDelaysBrokerRestart: the broker restarts (keeping its data)
// while the failed message waits in its retry topic; it is still handled
// on its third attempt and the poison message still reaches the DLQ.
func TestRetryDelaysBrokerRestart(t *testing.T) {
	c := kafkatest.StartRestartable(t)
	bindertest.RunRetryDelays(t, bindertest.RetryDelaysHarness{
		Type: kafka.Type, Factory: kafka.New, Destination: "orders",
		Environment: map[string]any{"brokers": c.Brokers()},
		Duplicates:  true, // offsets committed after the restart's cut are read again
		Interrupt: func(t *testing.T) {
			if err := c.Restart(); err != nil {
				t.Fatal(err)
			}
		},
	})
}

// TestRetryDueCapped: a retry topic's record whose due time is far ahead
// (the parking instance's clock runs fast) is held for at most the
// topic's delay, not for the skew; its retry headers count (attempt 1 on
// the retry topic is the second delivery).
func TestRetryDueCapped(t *testing.T) {
	t.Parallel()
	c := kafkatest.Start(t)
	const delay = time.Second
	rt := kafka.RetryTopicName("skewed", "g", delay)
	got := make(chan stream.Headers, 1)
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "work", func(_ context.Context, m stream.Message[string]) error {
		select {
		case got <- m.Headers.Clone():
		default:
		}
		return nil
	})
	cfg := &stream.Config{
		Function:       stream.FunctionConfig{Definition: "work"},
		OutputBindings: "send",
		Binders:        map[string]stream.BinderConfig{"k": {Type: kafka.Type, Environment: map[string]any{"brokers": c.Brokers()}}},
		DefaultBinder:  "k",
		Bindings: map[string]stream.BindingConfig{
			"send":      {Destination: rt, ContentType: "text/plain"},
			"work-in-0": {Destination: "skewed", Group: "g", ContentType: "text/plain", Consumer: stream.ConsumerConfig{RetryDelays: []time.Duration{delay}}},
		},
	}
	app, err := stream.NewApp(cfg, fns, stream.WithBinderType(kafka.Type, kafka.New), stream.WithoutSignals(), stream.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- app.Run(ctx) }()
	defer func() { cancel(); <-done }()
	select {
	case <-app.Ready():
	case err := <-done:
		t.Fatal(err)
	case <-time.After(30 * time.Second):
		t.Fatal("not ready")
	}
	due := time.Now().Add(time.Hour).UnixMilli()
	if err := app.Bridge().Send(ctx, "send", stream.NewMessage("late", stream.HeaderRetryAttempts, "1", stream.HeaderRetryDue, strconv.FormatInt(due, 10))); err != nil {
		t.Fatal(err)
	}
	select {
	case h := <-got:
		if h[stream.HeaderRetryAttempts] != "1" {
			t.Errorf("retry delivery: %s = %q, want 1 (counted on the retry path)", stream.HeaderRetryAttempts, h[stream.HeaderRetryAttempts])
		}
	case <-time.After(delay + 30*time.Second): // generous: a shared machine; the due time is an hour away
		t.Fatal("the message due in an hour was not handled within its retry topic's delay (plus slack)")
	}
}

// TestValidateRetryTopicNames: a retry topic name Kafka would refuse (the
// destination and group are part of it) is a configuration error at the
// binding's destination, as for the dead-letter topic.
func TestValidateRetryTopicNames(t *testing.T) {
	b, err := kafka.New(context.Background(), stream.BinderSettings{Name: "kafka", Type: kafka.Type})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = b.Close(context.Background()) }()
	sv := b.(stream.SpecValidator)
	spec := stream.ConsumerSpec{Binding: "in", Destination: strings.Repeat("x", 235), Group: "g"}
	spec.Consumer.RetryDelays = []time.Duration{100 * time.Millisecond} // .g-retry-100: 246 characters
	if err := sv.ValidateConsumer(spec); err != nil {
		t.Errorf("retry topic of 246 characters: %v", err)
	}
	spec.Consumer.RetryDelays = append(spec.Consumer.RetryDelays, 1000*time.Second) // .g-retry-1000000: 251
	var ce *stream.ConfigError
	if err := sv.ValidateConsumer(spec); !errors.As(err, &ce) || ce.Path != "stream.bindings.in.destination" || !strings.Contains(ce.Msg, "retry topic of group g for 16m40s") || !strings.Contains(ce.Msg, "251 characters") {
		t.Errorf("retry topic of 251 characters: %v", err)
	}
	spec = stream.ConsumerSpec{Binding: "in", Destination: "orders", Group: "a b"}
	spec.Consumer.RetryDelays = []time.Duration{time.Second}
	if err := sv.ValidateConsumer(spec); !errors.As(err, &ce) || !strings.Contains(ce.Msg, `"orders.a b-retry-1000" has ' '`) {
		t.Errorf("group with a space: %v", err)
	}
}

// TestLeftoverRetryTopicDrained: a message parked on the retry topic of a
// delay that retry-delays no longer lists (the delays changed, or were
// removed, while it waited) is still handled once due: the consumer finds
// the group's retry topics that hold unconsumed records and reads them
// too (before, it was stranded there without a word).
func TestLeftoverRetryTopicDrained(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		delays []time.Duration
		// attempts is the message's retry attempt count as its handler
		// sees it: the old ladder's goes on under the new delays; without
		// retry-delays the message starts again (max-attempts), and its
		// dead letter must not carry the old ladder's count.
		attempts string
		// latest: start-offset latest, which must not skip the group's
		// own parked messages on a retry topic it has no commits for.
		latest bool
	}{
		{"delays changed", []time.Duration{100 * time.Millisecond}, "1", false},
		{"delays removed", nil, "", false},
		{"delays removed, start-offset latest", nil, "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := kafkatest.Start(t)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			const old = 2 * time.Second
			rt := kafka.RetryTopicName("drain", "g", old)
			bd, err := kafka.New(ctx, stream.BinderSettings{Name: "k", Type: kafka.Type, Environment: map[string]any{"brokers": c.Brokers()}, Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				t.Fatal(err)
			}
			defer bd.Close(context.Background())
			p, err := bd.BindProducer(ctx, stream.ProducerSpec{Binding: "park", Destination: rt, ContentType: "text/plain"})
			if err != nil {
				t.Fatal(err)
			}
			due := time.Now().Add(old / 2).UnixMilli()
			if err := p.Send(ctx, stream.Envelope{Payload: []byte("parked"), Headers: stream.Headers{
				stream.HeaderRetryAttempts: "1", stream.HeaderRetryDue: strconv.FormatInt(due, 10)}}); err != nil {
				t.Fatal(err)
			}
			got := make(chan stream.Message[string], 1)
			fns := stream.NewCatalog()
			stream.AddConsumer(fns, "work", func(_ context.Context, m stream.Message[string]) error {
				select {
				case got <- m:
				default:
				}
				return nil
			})
			cfg := &stream.Config{
				Function:      stream.FunctionConfig{Definition: "work"},
				Binders:       map[string]stream.BinderConfig{"k": {Type: kafka.Type, Environment: map[string]any{"brokers": c.Brokers()}}},
				DefaultBinder: "k",
				Bindings: map[string]stream.BindingConfig{
					"work-in-0": {Destination: "drain", Group: "g", ContentType: "text/plain", Consumer: stream.ConsumerConfig{RetryDelays: tc.delays}},
				},
			}
			if tc.latest {
				cfg.Extensions = map[string]stream.ExtensionConfig{kafka.Type: {Bindings: map[string]stream.ExtensionBindingConfig{
					"work-in-0": {Consumer: map[string]any{"start-offset": "latest"}}}}}
			}
			app, err := stream.NewApp(cfg, fns, stream.WithBinderType(kafka.Type, kafka.New), stream.WithoutSignals(), stream.WithLogger(slog.New(slog.DiscardHandler)))
			if err != nil {
				t.Fatal(err)
			}
			bindertest.RunApp(t, app)
			select {
			case m := <-got:
				if m.Payload != "parked" {
					t.Errorf("handled %q", m.Payload)
				}
				if a := m.Headers[stream.HeaderRetryAttempts]; a != tc.attempts {
					t.Errorf("%s = %q, want %q", stream.HeaderRetryAttempts, a, tc.attempts)
				}
				if tc.attempts == "" && m.Headers[stream.HeaderRetryDue] != "" {
					t.Errorf("%s = %q carried over without retry-delays", stream.HeaderRetryDue, m.Headers[stream.HeaderRetryDue])
				}
			case <-ctx.Done():
				t.Fatalf("the message parked on %s (a delay no longer configured) was not handled", rt)
			}
		})
	}
}

// TestDeletedTopicDoesNotLoopRebalances: a topic the group reads (here a
// retry topic) deleted while the consumer runs makes the consumer WARN
// and wait for it, rather than rejoin the group in a loop (kafka-go's
// balancer assigns nothing while a subscribed topic is missing: it made
// about a thousand generations a second).
func TestDeletedTopicDoesNotLoopRebalances(t *testing.T) {
	t.Parallel()
	c := kafkatest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rt := kafka.RetryTopicName("gone", "g", 100*time.Millisecond)
	var logs syncbuf.Buffer
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "work", func(context.Context, string) error { return nil })
	cfg := &stream.Config{
		Function:      stream.FunctionConfig{Definition: "work"},
		Binders:       map[string]stream.BinderConfig{"k": {Type: kafka.Type, Environment: map[string]any{"brokers": c.Brokers()}}},
		DefaultBinder: "k",
		Bindings: map[string]stream.BindingConfig{
			"work-in-0": {Destination: "gone", Group: "g", ContentType: "text/plain", Consumer: stream.ConsumerConfig{RetryDelays: []time.Duration{100 * time.Millisecond}}},
		},
	}
	factory := func(ctx context.Context, s stream.BinderSettings) (stream.Binder, error) {
		b, err := kafka.New(ctx, s)
		if err == nil {
			kafka.SetPartitionWatchInterval(b, 100*time.Millisecond)
		}
		return b, err
	}
	app, err := stream.NewApp(cfg, fns, stream.WithBinderType(kafka.Type, factory), stream.WithoutSignals(),
		stream.WithLogger(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	if err != nil {
		t.Fatal(err)
	}
	bindertest.RunApp(t, app)
	waitLog := func(what string) {
		t.Helper()
		for !strings.Contains(logs.String(), what) {
			select {
			case <-ctx.Done():
				t.Fatalf("no %q in the log:\n%s", what, logs.String())
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
	waitLog("generation started")
	cl := &kafkago.Client{Addr: kafkago.TCP(c.Addrs()...)}
	if _, err := cl.DeleteTopics(ctx, &kafkago.DeleteTopicsRequest{Topics: []string{rt}}); err != nil {
		t.Fatal(err)
	}
	waitLog("does not exist")
	before := strings.Count(logs.String(), "generation started")
	// Ten partition watches: a loop would start hundreds of generations.
	time.Sleep(time.Second)
	if n := strings.Count(logs.String(), "generation started") - before; n > 2 {
		t.Errorf("%d generations in a second after %s was deleted: the group rejoins in a loop", n, rt)
	}
}

// TestBindsListTheClusterOnce: consumers bound one after another (an
// application's start-up) list the cluster's topics for leftover retry
// topics (leftoverRetryTopics) once, not once each. Each listing is the
// whole cluster's metadata: 100 bindings beside 20,000 partitions of
// other topics took 7.5–8.4 s and 575–668 MB to start.
func TestBindsListTheClusterOnce(t *testing.T) {
	t.Parallel()
	c := kafkatest.Start(t)
	const n = 20
	topics := make([]string, n)
	for i := range topics {
		topics[i] = uniqueTopic(t) + "-" + strconv.Itoa(i)
		createTopic(t, c, topics[i], 1, nil)
	}
	// Metadata requests for every topic (a null topic list), from any
	// client: the listings, and the binder's transport's own refreshes
	// (at most one in 2s; no topic is created here to trigger more).
	var all atomic.Int64
	c.Kfake.ControlKey(int16(kmsg.Metadata), func(kr kmsg.Request) (kmsg.Response, error, bool) {
		c.Kfake.KeepControl()
		if kr.(*kmsg.MetadataRequest).Topics == nil {
			all.Add(1)
		}
		return nil, nil, false
	})
	bd := newBinder(t, c, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	start := time.Now()
	for _, topic := range topics {
		cons, err := bd.BindConsumer(ctx, consumerSpec(topic, "g", func(context.Context, stream.Envelope) error { return nil }))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cons.Stop(context.Background()) })
	}
	took := time.Since(start)
	// The listing may be asked again after retryListingMaxAge (5s), and
	// the transport refreshes every 2s at most.
	limit := int64(2 + 2*int(took/time.Second))
	if got := all.Load(); got > limit {
		t.Errorf("binding %d consumers in %v asked for every topic's metadata %d times, want at most %d", n, took.Round(time.Millisecond), got, limit)
	}
	t.Logf("%d consumers bound in %v; metadata of every topic asked %d times", n, took.Round(time.Millisecond), all.Load())
}
