package main

import (
	"context"
	"encoding/json"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/kafka"
	"github.com/streambind/streambind/binder/kafka/kafkatest"
	"github.com/streambind/streambind/binder/memory"
	"github.com/streambind/streambind/binder/rabbit"
	"github.com/streambind/streambind/binder/rabbit/rabbittest"
	"github.com/streambind/streambind/config"
	"github.com/streambind/streambind/stream"
	"github.com/streambind/streambind/stream/streamtest"
)

// The function through its bindings, on the in-process binder: streamtest
// runs every binding in process whatever binders the configuration names.
func TestPlanShipment(t *testing.T) {
	loaded, err := config.Load(config.Options{Env: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	env := streamtest.Start(t, loaded.Stream, catalog())

	env.Send(t, "planShipment-in-0", Order{ID: "o-1", Country: "fr", Items: 2})
	if got := streamtest.Receive[Shipment](t, env, "planShipment-out-0").Payload; got != (Shipment{OrderID: "o-1", Warehouse: "lyon", Items: 2}) {
		t.Fatalf("shipment %+v", got)
	}
	env.Send(t, "planShipment-in-0", Order{ID: "o-2", Country: "NZ", Items: 1})
	dl := streamtest.ReceiveDeadLetter[Order](t, env, "planShipment-in-0")
	if msg := dl.Headers.Get("x-exception-message"); dl.Payload.ID != "o-2" || !strings.Contains(msg, `no warehouse serves the country "NZ"`) {
		t.Fatalf("dead letter %+v, %q", dl.Payload, msg)
	}
}

// main with the inprocess profile: both named binders in process (on one
// broker the test shares, to feed orders and read shipments).
func TestRunInProcess(t *testing.T) {
	broker, err := memory.NewBroker(memory.Config{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	side, err := memory.Factory(broker)(ctx, stream.BinderSettings{Name: "test", Type: memory.Type})
	if err != nil {
		t.Fatal(err)
	}
	defer closeAll(t, side, broker)

	logs := newLines()
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"--profile", "inprocess"}, []string{}, logs,
			stream.WithBinderType(memory.Type, memory.Factory(broker)))
	}()
	logs.waitFor(t, "planShipment-in-0 on events", done)
	roundTrip(t, ctx, side, side, logs)
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("exit status %d:\n%s", code, logs)
	}
}

// main for real: orders from a Kafka cluster (kfake, in process), shipments
// to the local RabbitMQ in a virtual host of the test's own, configured by
// the environment variables application.yaml reads. Skipped (loudly) when
// RabbitMQ is not there, except in CI.
func TestRunOnKafkaAndRabbitMQ(t *testing.T) {
	rabbittest.Require(t)
	vhost := rabbittest.VHost(t)
	cluster := kafkatest.Start(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	orders, err := kafka.New(ctx, stream.BinderSettings{Name: "test-kafka", Type: kafka.Type,
		Environment: map[string]any{"brokers": cluster.Brokers()}})
	if err != nil {
		t.Fatal(err)
	}
	shipments, err := rabbit.New(ctx, stream.BinderSettings{Name: "test-rabbit", Type: rabbit.Type,
		Environment: map[string]any{"addresses": rabbittest.Address(), "virtual-host": vhost}})
	if err != nil {
		t.Fatal(err)
	}
	defer closeAll(t, orders, shipments)

	logs := newLines()
	done := make(chan int, 1)
	env := []string{"KAFKA_BROKERS=" + cluster.Brokers(), "RABBIT_ADDRESSES=" + rabbittest.Address(), "RABBIT_VHOST=" + vhost}
	go func() { done <- run(ctx, nil, env, logs) }()
	logs.waitFor(t, "msg=ready", done)
	roundTrip(t, ctx, orders, shipments, logs)

	// The undeliverable order is on Kafka's dead-letter topic.
	dls := make(chan stream.Envelope, 1)
	c, err := orders.BindConsumer(ctx, stream.ConsumerSpec{Binding: "test-dlq", Destination: "error.orders.shipping", Group: "test",
		Consumer: stream.ConsumerConfig{Concurrency: 1, MaxAttempts: 1, InstanceCount: 1},
		Handler: func(_ context.Context, m stream.Envelope) error {
			dls <- stream.Envelope{Payload: append([]byte(nil), m.Payload...), Headers: m.Headers.Clone()}
			return nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-dls:
		if !strings.Contains(string(m.Payload), `"o-2"`) || m.Headers.Get("x-original-topic") != "orders" {
			t.Fatalf("dead letter %s %v", m.Payload, m.Headers)
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("no dead letter on error.orders.shipping:\n%s", logs)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("exit status %d:\n%s", code, logs)
	}
}

// roundTrip sends a good and an undeliverable order to "orders" through
// in, and expects the good one's shipment on the queue of group warehouse
// of "shipments" through out.
func roundTrip(t *testing.T, ctx context.Context, in, out stream.Binder, logs *lines) {
	t.Helper()
	got := make(chan Shipment, 2)
	c, err := out.BindConsumer(ctx, stream.ConsumerSpec{Binding: "test-warehouse", Destination: "shipments", Group: "warehouse",
		Consumer: stream.ConsumerConfig{Concurrency: 1, MaxAttempts: 1, InstanceCount: 1},
		Handler: func(_ context.Context, m stream.Envelope) error {
			var s Shipment
			if err := json.Unmarshal(m.Payload, &s); err != nil {
				t.Errorf("shipment %q: %v", m.Payload, err)
			}
			got <- s
			return nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	p, err := in.BindProducer(ctx, stream.ProducerSpec{Binding: "test-orders", Destination: "orders", ContentType: "application/json"})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range []string{`{"id":"o-2","country":"NZ","items":1}`, `{"id":"o-1","country":"DE","items":3}`} {
		if err := p.Send(ctx, stream.Envelope{Payload: []byte(o)}); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case s := <-got:
		if s != (Shipment{OrderID: "o-1", Warehouse: "leipzig", Items: 3}) {
			t.Fatalf("shipment %+v", s)
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("no shipment:\n%s", logs)
	}
}

func closeAll(t *testing.T, cs ...interface{ Close(context.Context) error }) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, c := range cs {
		if err := c.Close(ctx); err != nil {
			t.Logf("close: %v", err)
		}
	}
}

// Every profile of this directory loads and builds (without connecting to
// anything), so none can rot unnoticed.
func TestProfilesBuild(t *testing.T) {
	files, err := filepath.Glob("application-*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no profile files: %v", err)
	}
	for _, f := range files {
		profile := strings.TrimSuffix(strings.TrimPrefix(f, "application-"), ".yaml")
		loaded, err := config.Load(config.Options{Profiles: []string{profile}, Env: []string{}})
		if err != nil {
			t.Errorf("profile %s: %v", profile, err)
			continue
		}
		if _, _, err := buildApp(loaded, io.Discard); err != nil {
			t.Errorf("profile %s: %v", profile, err)
		}
	}
}

// lines collects what run writes, and lets a test wait for a text in it.
type lines struct {
	mu      sync.Mutex
	buf     strings.Builder
	changed chan struct{}
}

func newLines() *lines { return &lines{changed: make(chan struct{}, 1)} }

func (l *lines) Write(p []byte) (int, error) {
	l.mu.Lock()
	l.buf.Write(p)
	l.mu.Unlock()
	select {
	case l.changed <- struct{}{}:
	default:
	}
	return len(p), nil
}

func (l *lines) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// waitFor returns once text was written; it fails the test when run ends
// first (done) or after 20 s.
func (l *lines) waitFor(t *testing.T, text string, done <-chan int) {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for !strings.Contains(l.String(), text) {
		select {
		case <-l.changed:
		case code := <-done:
			t.Fatalf("run ended (status %d) before writing %q:\n%s", code, text, l)
		case <-deadline:
			t.Fatalf("no %q after 20s:\n%s", text, l)
		}
	}
}
