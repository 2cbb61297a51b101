package main

import (
	"context"
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

// The audit sees what payment dead-letters: an order that can never be
// charged (at once), one whose card is declined (after its attempts) and
// bytes that are not an order at all; a good order is not dead-lettered.
func TestAuditReadsPaymentsDeadLetters(t *testing.T) {
	loaded, err := config.Load(config.Options{Env: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	// Retries are not what this test is about: make them quick.
	for name, b := range loaded.Stream.Bindings {
		if strings.EqualFold(name, "chargePayment-in-0") {
			b.Consumer.BackOffInitialInterval = time.Millisecond
			loaded.Stream.Bindings[name] = b
		}
	}
	if b := loaded.Stream.Binding("chargePayment-in-0"); b.Consumer.BackOffInitialInterval != time.Millisecond {
		t.Fatalf("back-off not shortened: %+v", b.Consumer)
	}

	audited := make(chan DeadLetter, 10)
	env := streamtest.Start(t, loaded.Stream, catalog(func(dl DeadLetter) { audited <- dl }))

	env.Send(t, "chargePayment-in-0", Order{ID: "o-1", AmountCents: 500, Card: "ok"})
	env.Send(t, "chargePayment-in-0", Order{ID: "o-2", AmountCents: 0, Card: "ok"})
	env.Send(t, "chargePayment-in-0", Order{ID: "o-3", AmountCents: 700, Card: "declined"})
	env.Send(t, "chargePayment-in-0", "not json")

	want := []struct{ id, reason string }{
		{"o-2", "order o-2: amount must be positive"},
		{"o-3", "order o-3: card declined"},
		{"", "invalid character"},
	}
	for _, w := range want {
		select {
		case dl := <-audited:
			if dl.OrderID != w.id || !strings.Contains(dl.Reason, w.reason) || dl.From != "orders" {
				t.Errorf("audited %+v, want order %q from orders saying %q", dl, w.id, w.reason)
			}
		case <-time.After(streamtest.DefaultTimeout):
			t.Fatalf("no dead letter audited; want order %q", w.id)
		}
	}
	st := env.App.Binding("chargePayment-in-0").Stats()
	if st.Processed != 1 || st.DeadLettered != 3 || st.Retried != 2 {
		t.Errorf("payment: processed %d, dead-lettered %d, retried %d; want 1, 3, 2 (only the declined card is retried)",
			st.Processed, st.DeadLettered, st.Retried)
	}
}

// main, on the in-process binder: a dead letter is reported on stdout.
func TestRun(t *testing.T) {
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
	stdout, stderr := newLines(), newLines()
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, nil, []string{}, stdout, stderr, stream.WithBinderType(memory.Type, memory.Factory(broker)))
	}()
	stderr.waitFor(t, "msg=ready", done)
	sendOrder(t, ctx, side, `{"id":"o-7","amountCents":-1}`)
	stdout.waitFor(t, "dead letter from orders: order o-7: permanent: order o-7: amount must be positive (*errors.errorString)", done)
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("exit status %d:\n%s", code, stderr)
	}
}

// main on Kafka (kfake, in process) with the kafka profile: the same
// bindings, the dead-letter topic error.orders.payment.
func TestRunOnKafka(t *testing.T) {
	cluster := kafkatest.Start(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	side, err := kafka.New(ctx, stream.BinderSettings{Name: "test", Type: kafka.Type, Environment: map[string]any{"brokers": cluster.Brokers()}})
	if err != nil {
		t.Fatal(err)
	}
	defer closeAll(t, side)
	stdout, stderr := newLines(), newLines()
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"--profile", "kafka"}, []string{"KAFKA_BROKERS=" + cluster.Brokers()}, stdout, stderr)
	}()
	stderr.waitFor(t, "msg=ready", done)
	sendOrder(t, ctx, side, `{"id":"o-8","amountCents":-1}`)
	stdout.waitFor(t, "dead letter from orders: order o-8:", done)
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("exit status %d:\n%s", code, stderr)
	}
}

// main on the local RabbitMQ with the rabbit profile, in a virtual host of
// the test's own: the audit reads the queue orders.payment.dlq. Skipped
// (loudly) when RabbitMQ is not there, except in CI.
func TestRunOnRabbitMQ(t *testing.T) {
	rabbittest.Require(t)
	vhost := rabbittest.VHost(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	side, err := rabbit.New(ctx, stream.BinderSettings{Name: "test", Type: rabbit.Type,
		Environment: map[string]any{"addresses": rabbittest.Address(), "virtual-host": vhost}})
	if err != nil {
		t.Fatal(err)
	}
	defer closeAll(t, side)
	stdout, stderr := newLines(), newLines()
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"--profile", "rabbit"}, []string{"RABBIT_ADDRESSES=" + rabbittest.Address(), "RABBIT_VHOST=" + vhost}, stdout, stderr)
	}()
	stderr.waitFor(t, "msg=ready", done)
	sendOrder(t, ctx, side, `{"id":"o-9","amountCents":-1}`)
	stdout.waitFor(t, "dead letter from orders: order o-9:", done)
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("exit status %d:\n%s", code, stderr)
	}
}

// sendOrder sends a JSON order to "orders" through b.
func sendOrder(t *testing.T, ctx context.Context, b stream.Binder, order string) {
	t.Helper()
	p, err := b.BindProducer(ctx, stream.ProducerSpec{Binding: "test", Destination: "orders", ContentType: "application/json"})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Send(ctx, stream.Envelope{Payload: []byte(order)}); err != nil {
		t.Fatal(err)
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
		if _, _, err := buildApp(loaded, io.Discard, func(DeadLetter) {}); err != nil {
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
