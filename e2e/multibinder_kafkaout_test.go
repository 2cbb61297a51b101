package e2e_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	kafkago "github.com/segmentio/kafka-go"

	"github.com/streambind/streambind/binder/kafka"
	"github.com/streambind/streambind/binder/kafka/kafkatest"
	"github.com/streambind/streambind/binder/rabbit"
	"github.com/streambind/streambind/binder/rabbit/rabbittest"
	"github.com/streambind/streambind/config"
	"github.com/streambind/streambind/stream"
)

// The mirror of TestKafkaToRabbitOutputOutage: RabbitMQ in, Kafka out, with
// a JSON-typed function, and the Kafka cluster gone for a while under
// traffic. No input is acknowledged on RabbitMQ before Kafka took its
// output (the queue keeps every input of the outage), the app's health
// names the Kafka binder, and after the cluster is back (same port, same
// data) every id is on the output topic.
func TestRabbitToKafkaOutputOutage(t *testing.T) {
	t.Parallel() // its own virtual host and Kafka cluster
	rabbittest.RequireCtl(t)
	vhost := rabbittest.VHost(t)
	cluster := kafkatest.StartRestartable(t)

	dir := t.TempDir()
	yaml := fmt.Sprintf(`stream:
  function:
    definition: typed
  binders:
    bus:
      type: rabbit
      environment:
        addresses: %s
        virtual-host: %s
    log:
      type: kafka
      environment:
        brokers: %s
  bindings:
    typed-in-0:
      binder: bus
      destination: orders
      group: g
    typed-out-0:
      binder: log
      destination: shipments
`, rabbittest.Address(), vhost, cluster.Brokers())
	if err := os.WriteFile(filepath.Join(dir, "application.yaml"), []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	loaded, err := config.Load(config.Options{Dir: dir, Env: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	type rec struct {
		ID  string `json:"id"`
		Seq int    `json:"seq"`
	}
	var handled atomic.Int64
	fns := stream.NewCatalog()
	stream.AddFunction(fns, "typed", func(_ context.Context, r rec) (rec, error) {
		handled.Add(1)
		return r, nil
	})
	app, err := stream.NewApp(loaded.Stream, fns, stream.WithBinderType(kafka.Type, kafka.New),
		stream.WithBinderType(rabbit.Type, rabbit.New), stream.WithoutSignals(), stream.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	stop := runApp(t, app)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ch := rabbittest.Channel(t, vhost)
	if err := ch.Confirm(false); err != nil {
		t.Fatal(err)
	}
	const perPhase = 200
	produce := func(from int) {
		t.Helper()
		for i := from; i < from+perPhase; i++ {
			dc, err := ch.PublishWithDeferredConfirmWithContext(ctx, "orders", "orders", true, false, amqp.Publishing{
				ContentType: "application/json", Body: fmt.Appendf(nil, `{"id":"m-%d","seq":%d}`, i, i)})
			if err != nil {
				t.Fatal(err)
			}
			if ok, err := dc.WaitContext(ctx); err != nil || !ok {
				t.Fatalf("publish m-%d: confirmed %v, %v", i, ok, err)
			}
		}
	}
	// queued is what the input queue holds, ready and unacknowledged.
	queued := func() int {
		t.Helper()
		out := rabbittest.Ctl(t, "list_queues", "-p", vhost, "-q", "--no-table-headers", "name", "messages")
		for _, line := range strings.Split(out, "\n") {
			if f := strings.Fields(line); len(f) == 2 && f[0] == "orders.g" {
				n, err := strconv.Atoi(f[1])
				if err != nil {
					t.Fatalf("list_queues: %q", line)
				}
				return n
			}
		}
		t.Fatalf("list_queues: no orders.g in %q", out)
		return 0
	}
	until := func(what string, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(wait); !cond(); time.Sleep(50 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
		}
	}
	kafkaDown := func() bool {
		for _, h := range app.Health(ctx) {
			if h.Name == "log" {
				return !h.Up
			}
		}
		t.Fatal("no health of binder log")
		return false
	}

	produce(0)
	until("the first phase handled and acknowledged", func() bool { return handled.Load() >= perPhase && queued() == 0 })

	cluster.Close()
	produce(perPhase)
	until("the Kafka binder reported down", kafkaDown)
	until("the handler to take inputs of the outage", func() bool { return handled.Load() > perPhase })
	for end := time.Now().Add(2 * time.Second); time.Now().Before(end); time.Sleep(200 * time.Millisecond) {
		if q := queued(); q < perPhase {
			t.Fatalf("%d inputs of the outage acknowledged while Kafka was down (queue holds %d of %d)", perPhase-q, q, perPhase)
		}
	}
	for _, h := range app.Health(ctx) {
		if h.Name == "bus" && !h.Up {
			t.Fatalf("the RabbitMQ binder reported down with Kafka: %+v", h)
		}
	}

	if err := cluster.Restart(); err != nil {
		t.Fatal(err)
	}
	produce(2 * perPhase)
	until("every input acknowledged", func() bool { return queued() == 0 && handled.Load() >= 3*perPhase })
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}

	r := kafkago.NewReader(kafkago.ReaderConfig{Brokers: cluster.Addrs(), Topic: "shipments", Partition: 0, MaxWait: time.Second})
	t.Cleanup(func() { _ = r.Close() })
	seen := map[string]int{}
	records := 0
	rctx, rcancel := context.WithTimeout(ctx, wait)
	defer rcancel()
	for len(seen) < 3*perPhase {
		m, err := r.ReadMessage(rctx)
		if err != nil {
			t.Fatalf("after %d records (%d ids): %v", records, len(seen), err)
		}
		records++
		var v rec
		if err := json.Unmarshal(m.Value, &v); err != nil {
			t.Fatalf("output %q: %v", m.Value, err)
		}
		seen[v.ID]++
	}
	for i := range 3 * perPhase {
		if seen[fmt.Sprintf("m-%d", i)] == 0 {
			t.Fatalf("m-%d lost", i)
		}
	}
	t.Logf("%d ids on the output topic (%d records read), %d handler calls", len(seen), records, handled.Load())
}
