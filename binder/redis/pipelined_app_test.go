package redis_test

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/kafka"
	"github.com/streambind/streambind/binder/kafka/kafkatest"
	redisbinder "github.com/streambind/streambind/binder/redis"
	"github.com/streambind/streambind/binder/redis/redistest"
	"github.com/streambind/streambind/config"
	"github.com/streambind/streambind/internal/syncbuf"
	"github.com/streambind/streambind/stream"
)

// A function whose input is on Kafka and whose output is on Redis is
// processed pipelined (the Redis producer is a stream.AsyncProducer): the
// "binding bound" line says so, and every output is in the Redis stream
// once, in input order.
func TestPipelinedFromKafka(t *testing.T) {
	e := newEnv(t)
	cluster := kafkatest.Start(t)
	const n = 2000

	fns := stream.NewCatalog()
	stream.AddFunction(fns, "transform", func(_ context.Context, b []byte) ([]byte, error) {
		return append([]byte("out-"), b...), nil
	})
	yaml := fmt.Sprintf(`stream:
  function:
    definition: transform
  binders:
    k:
      type: kafka
      environment:
        brokers: %q
    r:
      type: redis
      environment:
        address: %q
        key-prefix: %q
        client-name: %q
  bindings:
    transform-in-0:
      destination: orders
      group: g
      binder: k
      content-type: application/octet-stream
    transform-out-0:
      destination: out
      binder: r
      content-type: application/octet-stream
`, cluster.Brokers(), redistest.Addr(), e.prefix, e.name)
	l, err := config.Load(config.Options{Data: []byte(yaml), Env: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	var logs syncbuf.Buffer
	app, err := stream.NewApp(l.Stream, fns, stream.WithBinderType(kafka.Type, kafka.New), stream.WithBinderType(redisbinder.Type, redisbinder.New),
		stream.WithoutSignals(), stream.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- app.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-ran; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	select {
	case <-app.Ready():
	case err := <-ran:
		t.Fatalf("Run ended: %v", err)
	case <-time.After(time.Minute):
		t.Fatal("the App was not ready in a minute")
	}
	var bound string
	for _, line := range strings.Split(logs.String(), "\n") {
		if strings.Contains(line, "binding=transform-in-0") && strings.Contains(line, "pipelined=") {
			bound = line
		}
	}
	if !strings.Contains(bound, "pipelined=true") {
		t.Fatalf("the input's bound line %q does not say pipelined=true", bound)
	}

	// The inputs, one after another to one partition.
	kb, err := kafka.New(ctx, stream.BinderSettings{Name: "feed", Type: kafka.Type, Environment: map[string]any{"brokers": cluster.Brokers()}})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = kb.Close(context.Background()) }()
	p, err := kb.BindProducer(ctx, stream.ProducerSpec{Binding: "feed-out-0", Destination: "orders"})
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if err := p.Send(ctx, stream.Envelope{Payload: []byte(strconv.Itoa(i)), Key: []byte("one")}); err != nil {
			t.Fatal(err)
		}
	}

	c := redistest.Client(t, redistest.Addr(), "", "")
	deadline := time.Now().Add(time.Minute)
	for {
		got, err := c.XLen(ctx, e.prefix+"out").Result()
		if err != nil {
			t.Fatal(err)
		}
		if got >= n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d outputs in the Redis stream after a minute", got, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
	entries, err := c.XRange(ctx, e.prefix+"out", "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != n {
		t.Fatalf("%d outputs, want %d (duplicates?)", len(entries), n)
	}
	for i, en := range entries {
		if want := "out-" + strconv.Itoa(i); en.Values["payload"] != want {
			t.Fatalf("output %d is %q, want %q: out of order", i, en.Values["payload"], want)
		}
	}
	if s := app.Binding("transform-in-0").Stats(); s.Processed != n {
		t.Errorf("input binding processed %d, want %d", s.Processed, n)
	}
}
