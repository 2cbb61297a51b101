package e2e_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/streambind/streambind/binder/kafka"
	"github.com/streambind/streambind/binder/kafka/kafkatest"
	"github.com/streambind/streambind/binder/rabbit"
	"github.com/streambind/streambind/binder/rabbit/rabbittest"
	"github.com/streambind/streambind/config"
	"github.com/streambind/streambind/management"
	"github.com/streambind/streambind/stream"
)

// A multi-binder app (Kafka in, RabbitMQ out, both named binders declared in
// YAML) whose output broker first stalls (its confirms held), then goes
// away, while the input keeps delivering: nothing is committed on Kafka that
// RabbitMQ has not confirmed, readiness names the binder that is down, the
// app recovers without a restart, and every id arrives (duplicates only
// from re-sent unconfirmed outputs).
func TestKafkaToRabbitOutputOutage(t *testing.T) {
	t.Parallel() // its own virtual host, proxy and Kafka cluster
	vhost := rabbittest.VHost(t)
	proxy := rabbittest.NewProxy(t, nil)
	proxyAddr := proxy.Addr()
	cluster := kafkatest.Start(t)

	dir := t.TempDir()
	yaml := fmt.Sprintf(`stream:
  function:
    definition: relay
  binders:
    events:
      type: kafka
      environment:
        brokers: %s
    warehouse:
      type: rabbit
      environment:
        addresses: %s
        virtual-host: %s
  bindings:
    relay-in-0:
      binder: events
      destination: orders
      group: shipping
      consumer:
        max-in-flight: 32
    relay-out-0:
      binder: warehouse
      destination: shipments
      producer:
        required-groups: wh
`, cluster.Brokers(), proxyAddr, vhost)
	if err := os.WriteFile(filepath.Join(dir, "application.yaml"), []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	loaded, err := config.Load(config.Options{Dir: dir, Env: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	var handled atomic.Int64
	fns := stream.NewCatalog()
	stream.AddFunction(fns, "relay", func(_ context.Context, b []byte) ([]byte, error) {
		handled.Add(1)
		return b, nil
	})
	app, err := stream.NewApp(loaded.Stream, fns, stream.WithBinderType(kafka.Type, kafka.New),
		stream.WithBinderType(rabbit.Type, rabbit.New), stream.WithoutSignals(), stream.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	srv := management.New(app, management.Options{Config: management.Config{Address: "127.0.0.1:0"}})
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Shutdown(context.Background()) })
	stop := runApp(t, app)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	w := &kafkago.Writer{Addr: kafkago.TCP(cluster.Addrs()...), Topic: "orders", RequiredAcks: kafkago.RequireAll,
		BatchTimeout: time.Millisecond, Transport: &kafkago.Transport{}}
	t.Cleanup(func() { _ = w.Close() })
	const perPhase = 200
	produce := func(from int) {
		t.Helper()
		msgs := make([]kafkago.Message, perPhase)
		for i := range msgs {
			msgs[i] = kafkago.Message{Value: fmt.Appendf(nil, `{"id":"m-%d"}`, from+i)}
		}
		if err := w.WriteMessages(ctx, msgs...); err != nil {
			t.Fatal(err)
		}
	}
	ch := rabbittest.Channel(t, vhost)
	queued := func() int {
		t.Helper()
		q, err := ch.QueueDeclarePassive("shipments.wh", true, false, false, false, nil)
		if err != nil {
			t.Fatal(err)
		}
		return q.Messages
	}
	kc := &kafkago.Client{Addr: kafkago.TCP(cluster.Addrs()...), Transport: &kafkago.Transport{}}
	committed := func() int64 {
		t.Helper()
		res, err := kc.OffsetFetch(ctx, &kafkago.OffsetFetchRequest{GroupID: "shipping", Topics: map[string][]int{"orders": {0}}})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Topics["orders"]) == 0 || res.Topics["orders"][0].CommittedOffset < 0 {
			return 0
		}
		return res.Topics["orders"][0].CommittedOffset
	}
	until := func(what string, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(wait); !cond(); time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
		}
	}
	readiness := func() (int, management.Health) {
		t.Helper()
		resp, err := http.Get("http://" + srv.Addr() + "/health/readiness")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var h management.Health
		if err := json.NewDecoder(resp.Body).Decode(&h); err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, h
	}

	// Phase 1: all up.
	produce(0)
	until("the first phase on the queue", func() bool { return queued() >= perPhase })

	// Phase 2: the broker receives the outputs but its confirms are held
	// (a stalled network): the outputs reach the queue, yet none of their
	// inputs may be committed.
	proxy.Stall()
	produce(perPhase)
	until("the stalled outputs on the queue", func() bool { return queued() > perPhase })
	for end := time.Now().Add(time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if c := committed(); c > perPhase {
			t.Fatalf("committed offset %d while the outputs after %d are unconfirmed", c, perPhase)
		}
	}
	proxy.Unstall()
	until("the stalled phase committed", func() bool { return committed() == 2*perPhase })

	// Phase 3: the output broker is unreachable (connections cut, new ones
	// refused) while orders keep arriving on Kafka.
	proxy.Close()
	produce(2 * perPhase)
	until("the handler to take inputs of the outage", func() bool { return handled.Load() > 2*perPhase })
	until("readiness to name the warehouse binder down", func() bool {
		code, h := readiness()
		return code == http.StatusServiceUnavailable && !h.Binders["warehouse"].Up && h.Binders["events"].Up
	})
	// The consumer may still pull what it has room for (max-in-flight), but
	// nothing past what RabbitMQ confirmed may be committed; check it for a
	// while, as the handler keeps trying.
	for end := time.Now().Add(2 * time.Second); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		if c, q := committed(), queued(); c > int64(q) {
			t.Fatalf("committed offset %d while only %d outputs are on the queue", c, q)
		}
	}
	if h := handled.Load(); h > 3*perPhase {
		t.Fatalf("%d handler calls for %d inputs while the output was down", h, 3*perPhase)
	}

	// Phase 4: the broker is back on the same address; the app recovers
	// without a restart.
	rabbittest.ListenProxy(t, proxyAddr, nil)
	produce(3 * perPhase)
	until("everything committed", func() bool { return committed() == 4*perPhase })
	if code, h := readiness(); code != http.StatusOK {
		t.Fatalf("readiness after recovery: %d %+v", code, h)
	}
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}

	seen := map[string]int{}
	for {
		d, ok, err := ch.Get("shipments.wh", true)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			break
		}
		var m struct{ ID string }
		if err := json.Unmarshal(d.Body, &m); err != nil {
			t.Fatalf("output %q: %v", d.Body, err)
		}
		seen[m.ID]++
	}
	var missing []string
	dups := 0
	for i := range 4 * perPhase {
		id := fmt.Sprintf("m-%d", i)
		if seen[id] == 0 {
			missing = append(missing, id)
		}
		if seen[id] > 1 {
			dups += seen[id] - 1
		}
	}
	if len(missing) > 0 {
		t.Fatalf("%d of %d ids lost: %s", len(missing), 4*perPhase, strings.Join(missing[:min(len(missing), 10)], ", "))
	}
	t.Logf("%d ids delivered, %d duplicates, %d handler calls", 4*perPhase, dups, handled.Load())
}
