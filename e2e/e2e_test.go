package e2e_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/streambind/streambind/binder/kafka"
	"github.com/streambind/streambind/binder/kafka/kafkatest"
	"github.com/streambind/streambind/binder/rabbit"
	"github.com/streambind/streambind/binder/rabbit/rabbittest"
	"github.com/streambind/streambind/management"
	"github.com/streambind/streambind/stream"
)

const wait = 30 * time.Second

type order struct {
	ID string `json:"id"`
}

func runApp(t *testing.T, app *stream.App) func() error {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- app.Run(ctx) }()
	select {
	case <-app.Ready():
	case err := <-done:
		cancel()
		t.Fatalf("Run: %v", err)
	case <-time.After(wait):
		cancel()
		t.Fatal("app not ready")
	}
	var once sync.Once
	var err error
	stop := func() error {
		once.Do(func() { cancel(); err = <-done })
		return err
	}
	t.Cleanup(func() { _ = stop() })
	return stop
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// A trace started by a supplier survives supplier → Kafka → function →
// RabbitMQ → consumer; the management endpoints see both binders and the
// Kafka consumer's lag.
func TestTraceAcrossKafkaAndRabbit(t *testing.T) {
	t.Parallel() // its own Kafka cluster and exchange names
	rabbittest.Require(t)
	cluster := kafkatest.Start(t)
	suffix := fmt.Sprintf("%d", rand.Int64())
	topic, exchange := "e2e-orders-"+suffix, "e2e-payments-"+suffix
	rabbittest.Cleanup(t, func() []string { return []string{exchange + ".notify"} }, func() []string { return []string{exchange} })

	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })

	orders := make(chan order, 1)
	got := make(chan trace.SpanContext, 1)
	fns := stream.NewCatalog()
	stream.AddSource(fns, "place", stream.FromChannel(orders))
	stream.AddFunction(fns, "charge", func(_ context.Context, o order) (order, error) { return o, nil })
	stream.AddConsumer(fns, "notify", func(ctx context.Context, o order) error {
		got <- trace.SpanContextFromContext(ctx)
		return nil
	})
	cfg := &stream.Config{
		Function:      stream.FunctionConfig{Definition: "place;charge;notify"},
		DefaultBinder: "kafka",
		Binders: map[string]stream.BinderConfig{
			"kafka":  {Type: kafka.Type, Environment: map[string]any{"brokers": strings.Join(cluster.Addrs(), ",")}},
			"rabbit": {Type: rabbit.Type, Environment: map[string]any{"addresses": rabbittest.Address()}},
		},
		Bindings: map[string]stream.BindingConfig{
			"place-out-0":  {Destination: topic},
			"charge-in-0":  {Destination: topic, Group: "payment"},
			"charge-out-0": {Destination: exchange, Binder: "rabbit", Producer: stream.ProducerConfig{RequiredGroups: []string{"notify"}}},
			"notify-in-0":  {Destination: exchange, Group: "notify", Binder: "rabbit"},
		},
	}
	app, err := stream.NewApp(cfg, fns, stream.WithBinderType(kafka.Type, kafka.New), stream.WithBinderType(rabbit.Type, rabbit.New),
		stream.WithTracerProvider(tp), stream.WithoutSignals(), stream.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	srv := management.New(app, management.Options{Config: management.Config{Address: "127.0.0.1:0"}})
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Shutdown(context.Background()) })
	stop := runApp(t, app)

	orders <- order{ID: "o-1"}
	var sc trace.SpanContext
	select {
	case sc = <-got:
	case <-time.After(wait):
		t.Fatal("the order did not reach the consumer")
	}

	base := "http://" + srv.Addr()
	if code, body := get(t, base+"/health/readiness"); code != 200 || !strings.Contains(body, `"kafka"`) || !strings.Contains(body, `"rabbit"`) {
		t.Fatalf("readiness: %d %s", code, body)
	}
	// The Kafka worker records its lag just after the handler returned,
	// which may be a moment after the message reached the end of the chain:
	// scrape until everything is there, as Prometheus would.
	wants := []string{
		`streambind_binder_up{binder="kafka",type="kafka"} 1`,
		`streambind_binder_up{binder="rabbit",type="rabbit"} 1`,
		`streambind_consumer_lag{binding="charge-in-0",partition="0",topic="` + topic + `"} 0`,
		`streambind_binding_messages_received_total{binder="rabbit",binding="notify-in-0",destination="` + exchange + `",group="notify"} 1`,
	}
	for deadline := time.Now().Add(wait); ; {
		code, body := get(t, base+"/metrics")
		var missing []string
		for _, want := range wants {
			if code != 200 || !strings.Contains(body, want) {
				missing = append(missing, want)
			}
		}
		if len(missing) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("metrics lack %v\n%s", missing, grepLines(body, "streambind_"))
		}
		time.Sleep(20 * time.Millisecond) // a scrape interval
	}

	if err := stop(); err != nil {
		t.Fatal(err)
	}
	want := []string{"send " + topic, "process " + topic, "send " + exchange, "process " + exchange}
	byName := map[string]sdktrace.ReadOnlySpan{}
	for _, s := range rec.Ended() {
		byName[s.Name()] = s
	}
	for i, name := range want {
		s, ok := byName[name]
		if !ok {
			t.Fatalf("no span %q (have %v)", name, keys(byName))
		}
		if s.SpanContext().TraceID() != sc.TraceID() {
			t.Errorf("%s is in another trace", name)
		}
		if i > 0 && s.Parent().SpanID() != byName[want[i-1]].SpanContext().SpanID() {
			t.Errorf("%s is not the child of %s", name, want[i-1])
		}
	}
	if byName[want[3]].SpanContext().SpanID() != sc.SpanID() {
		t.Error("the consumer did not run in its process span")
	}
}

func keys(m map[string]sdktrace.ReadOnlySpan) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func rabbitmqctl(t *testing.T, args ...string) {
	t.Helper()
	out, err := exec.Command("rabbitmqctl", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("rabbitmqctl %v: %v\n%s", args, err, out)
	}
}

// Readiness turns 503 when rabbitmqctl close_all_connections drops the
// RabbitMQ binder (and it cannot come back), and 200 again once it has
// reconnected. The test works in a virtual host of its own, so that the
// rest of the broker's clients are not disturbed.
func TestReadinessFollowsRabbitConnection(t *testing.T) {
	t.Parallel() // its own virtual host
	// Made with its permissions in one rabbitmqctl call (each starts an
	// Erlang VM: about a second, more under load).
	vhost := rabbittest.VHost(t)

	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "sink", func(context.Context, string) error { return nil })
	cfg := &stream.Config{
		Function:      stream.FunctionConfig{Definition: "sink"},
		DefaultBinder: "rabbit",
		Binders: map[string]stream.BinderConfig{"rabbit": {Type: rabbit.Type, Environment: map[string]any{
			"addresses": rabbittest.Address(), "virtual-host": vhost,
			"reconnect-initial-interval": "50ms", "reconnect-max-interval": "200ms"}}},
		Bindings: map[string]stream.BindingConfig{"sink-in-0": {Destination: "events", Group: "g"}},
	}
	app, err := stream.NewApp(cfg, fns, stream.WithBinderType(rabbit.Type, rabbit.New), stream.WithoutSignals(),
		stream.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	srv := management.New(app, management.Options{Config: management.Config{Address: "127.0.0.1:0"}})
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Shutdown(context.Background()) })
	runApp(t, app)
	url := "http://" + srv.Addr() + "/health/readiness"
	waitFor := func(code int) string {
		deadline := time.Now().Add(wait)
		for {
			c, body := get(t, url)
			if c == code {
				return body
			}
			if time.Now().After(deadline) {
				t.Fatalf("readiness stayed %d, want %d: %s", c, code, body)
			}
			time.Sleep(20 * time.Millisecond) // a probe's poll interval
		}
	}
	waitFor(200)
	// Without permissions the binder cannot reconnect, so the outage lasts
	// until they are back.
	rabbitmqctl(t, "clear_permissions", "-p", vhost, "guest")
	rabbitmqctl(t, "close_all_connections", "-p", vhost, "e2e readiness test")
	body := waitFor(503)
	if !strings.Contains(body, "connection down") || strings.Contains(body, "guest:guest") {
		t.Fatalf("readiness body: %s", body)
	}
	rabbitmqctl(t, "set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
	waitFor(200)
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// A function that panics on Kafka is retried and then dead-lettered with the
// panic in its headers, while the other messages of the partition flow.
func TestPanicOnKafkaIsDeadLettered(t *testing.T) {
	t.Parallel() // its own Kafka cluster
	cluster := kafkatest.Start(t)
	topic := fmt.Sprintf("e2e-panic-%d", rand.Int64())
	var calls sync.Map // order id → attempts
	ok := make(chan string, 20)
	dead := make(chan stream.Message[order], 1)
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "work", func(_ context.Context, o order) error {
		n, _ := calls.LoadOrStore(o.ID, new(int))
		*n.(*int)++
		if o.ID == "poison" {
			panic("cannot handle " + o.ID)
		}
		ok <- o.ID
		return nil
	})
	stream.AddConsumer(fns, "audit", func(_ context.Context, m stream.Message[order]) error { dead <- m; return nil })
	cfg := &stream.Config{
		Function:       stream.FunctionConfig{Definition: "work;audit"},
		DefaultBinder:  "kafka",
		OutputBindings: "in",
		Binders: map[string]stream.BinderConfig{
			"kafka": {Type: kafka.Type, Environment: map[string]any{"brokers": strings.Join(cluster.Addrs(), ",")}},
		},
		Bindings: map[string]stream.BindingConfig{
			"in":         {Destination: topic},
			"work-in-0":  {Destination: topic, Group: "g", Consumer: stream.ConsumerConfig{MaxAttempts: 3, BackOffInitialInterval: time.Millisecond, BackOffMaxInterval: 5 * time.Millisecond, DLQ: true}},
			"audit-in-0": {Destination: stream.DLQName(topic, "g"), Group: "audit"},
		},
	}
	app, err := stream.NewApp(cfg, fns, stream.WithBinderType(kafka.Type, kafka.New), stream.WithoutSignals(),
		stream.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	runApp(t, app)
	for _, id := range []string{"a", "poison", "b", "c"} {
		if err := app.Bridge().Send(context.Background(), "in", order{ID: id}); err != nil {
			t.Fatal(err)
		}
	}
	for _, want := range []string{"a", "b", "c"} {
		select {
		case id := <-ok:
			if id != want {
				t.Fatalf("got %s, want %s (order of the partition)", id, want)
			}
		case <-time.After(wait):
			t.Fatalf("%s did not arrive", want)
		}
	}
	select {
	case m := <-dead:
		if m.Payload.ID != "poison" || !strings.Contains(m.Headers[stream.HeaderExceptionMessage], "cannot handle poison") ||
			m.Headers[stream.HeaderExceptionFQCN] == "" || m.Headers[stream.HeaderOriginalTopic] != topic {
			t.Fatalf("dead letter %+v", m)
		}
	case <-time.After(wait):
		t.Fatal("the poison message was not dead-lettered")
	}
	if n, _ := calls.Load("poison"); *n.(*int) != 3 {
		t.Fatalf("poison handled %d times, want 3 (max-attempts)", *n.(*int))
	}
}
