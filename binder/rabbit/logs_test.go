package rabbit

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/streambind/streambind/binder/bindertest"
	"github.com/streambind/streambind/binder/rabbit/rabbittest"
	"github.com/streambind/streambind/stream"
)

// attrCheck is a slog handler that records every line and the problems of
// its attributes: a key that appears twice on one line (the core's loggers
// already carry binder, binding, destination and group), and an error text
// that repeats the "rabbit:" prefix (context wrapped more than once).
type attrCheck struct {
	mu       *sync.Mutex
	lines    *[]string
	problems *[]string
	keys     []string
	vals     []string
}

func (h attrCheck) Enabled(context.Context, slog.Level) bool { return true }

func (h attrCheck) Handle(_ context.Context, r slog.Record) error {
	keys, vals := append([]string(nil), h.keys...), append([]string(nil), h.vals...)
	r.Attrs(func(a slog.Attr) bool {
		keys = append(keys, a.Key)
		vals = append(vals, a.Value.String())
		return true
	})
	h.mu.Lock()
	defer h.mu.Unlock()
	*h.lines = append(*h.lines, r.Message)
	seen := map[string]bool{}
	for i, k := range keys {
		if seen[k] {
			*h.problems = append(*h.problems, fmt.Sprintf("%q: attribute %s twice (%v)", r.Message, k, keys))
		}
		seen[k] = true
		if n := strings.Count(vals[i], "rabbit:"); n > 1 {
			*h.problems = append(*h.problems, fmt.Sprintf("%q: %s=%q repeats the rabbit: prefix", r.Message, k, vals[i]))
		}
	}
	return nil
}

func (h attrCheck) WithAttrs(as []slog.Attr) slog.Handler {
	h.keys, h.vals = append([]string(nil), h.keys...), append([]string(nil), h.vals...)
	for _, a := range as {
		h.keys = append(h.keys, a.Key)
		h.vals = append(h.vals, a.Value.String())
	}
	return h
}

func (h attrCheck) WithGroup(string) slog.Handler { return h }

// TestLogAttributesOnce runs an app on the binder and makes its binder,
// consumer and producer loggers speak (a connection lost, a consumer
// re-subscribing, an output exchange declared again): no line carries an
// attribute twice, and no error text repeats the "rabbit:" prefix.
func TestLogAttributesOnce(t *testing.T) {
	t.Parallel()
	vhost := rabbittest.VHost(t)
	var (
		mu              sync.Mutex
		lines, problems []string
	)
	log := slog.New(attrCheck{mu: &mu, lines: &lines, problems: &problems})
	in, out := uniqueDest(t, "orders"), uniqueDest(t, "checked")
	fns := stream.NewCatalog()
	got := make(chan string, 10)
	stream.AddFunction(fns, "check", func(_ context.Context, s string) (string, error) { return s, nil })
	stream.AddConsumer(fns, "sink", func(_ context.Context, s string) error { got <- s; return nil })
	var bd *Binder
	factory := func(ctx context.Context, s stream.BinderSettings) (stream.Binder, error) {
		b, err := New(ctx, s)
		if err == nil {
			bd = b.(*Binder)
		}
		return b, err
	}
	cfg := &stream.Config{
		Function:      stream.FunctionConfig{Definition: "check;sink"},
		DefaultBinder: "rabbit",
		Binders: map[string]stream.BinderConfig{"rabbit": {Type: Type, Environment: map[string]any{
			"addresses": rabbittest.Address(), "virtual-host": vhost, "reconnect-initial-interval": "50ms"}}},
		Bindings: map[string]stream.BindingConfig{
			"check-in-0":  {Destination: in, Group: "check"},
			"check-out-0": {Destination: out},
			"sink-in-0":   {Destination: out, Group: "sink"},
		},
	}
	app, err := stream.NewApp(cfg, fns, stream.WithBinderType(Type, factory), stream.WithoutSignals(), stream.WithLogger(log))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	stop := bindertest.RunApp(t, app)
	ch := rabbittest.Channel(t, vhost)
	publish := func(body string) {
		t.Helper()
		if err := ch.PublishWithContext(ctx, in, "", false, false, amqp.Publishing{ContentType: "text/plain", Body: []byte(body)}); err != nil {
			t.Fatal(err)
		}
		for { // at least once: an earlier message may come again after the connection was closed
			select {
			case s := <-got:
				if s == body {
					return
				}
			case <-ctx.Done():
				t.Fatalf("%q did not come through", body)
			}
		}
	}
	publish("one")
	bd.sub.forceClose() // consumers re-subscribe on the new connection
	for resubscribed := 0; resubscribed < 2; {
		if ctx.Err() != nil {
			t.Fatal("consumers did not re-subscribe")
		}
		time.Sleep(10 * time.Millisecond) // polling the log, bounded by ctx
		mu.Lock()
		resubscribed = 0
		for _, l := range lines {
			if l == "rabbit: consumer re-subscribed" {
				resubscribed++
			}
		}
		mu.Unlock()
	}
	// The output exchange is deleted: the producer declares it again.
	if err := ch.ExchangeDelete(out, false, false); err != nil {
		t.Fatal(err)
	}
	publish("two")
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, want := range []string{"rabbit: connected", "rabbit: consumer re-subscribed", "rabbit: output exchange was deleted; declared it again"} {
		found := false
		for _, l := range lines {
			found = found || l == want
		}
		if !found {
			t.Errorf("no line %q; lines: %q", want, lines)
		}
	}
	for _, p := range problems {
		t.Error(p)
	}
}

// TestErrorsPrefixedOnce: errors the binder returns name it once, with
// their context wrapped once ("rabbit: send to ...: message too large",
// not "rabbit: send to ...: rabbit: message too large").
func TestErrorsPrefixedOnce(t *testing.T) {
	t.Parallel()
	_, tr := newTestBinder(t, map[string]any{"max-message-size": 1000})
	dest := uniqueDest(t, "prefix")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	errs := map[string]error{}
	p, err := tr.BindProducer(ctx, stream.ProducerSpec{Binding: "p-out-0", Destination: dest})
	if err != nil {
		t.Fatal(err)
	}
	errs["too large"] = p.Send(ctx, stream.Envelope{Payload: make([]byte, 1001)})
	errs["unroutable"] = p.Send(ctx, stream.Envelope{Payload: []byte("x")})
	_, errs["topology clash"] = tr.BindConsumer(ctx, stream.ConsumerSpec{Binding: "c-in-0", Destination: dest, Group: "g",
		Extension: map[string]any{"exchange-type": "direct"}, Handler: func(context.Context, stream.Envelope) error { return nil }})
	closed, err := New(context.Background(), stream.BinderSettings{Name: "c", Type: Type, Environment: map[string]any{"addresses": closedPort(t), "connection-timeout": "500ms"}})
	if err != nil {
		t.Fatal(err)
	}
	defer closed.Close(context.Background())
	_, errs["unreachable"] = closed.BindProducer(ctx, stream.ProducerSpec{Binding: "u-out-0", Destination: dest})
	refused, err := New(context.Background(), stream.BinderSettings{Name: "r", Type: Type, Environment: map[string]any{"addresses": rabbittest.Address(), "password": "wrong", "connection-timeout": "1s"}})
	if err != nil {
		t.Fatal(err)
	}
	defer refused.Close(context.Background())
	_, errs["refused"] = refused.BindConsumer(ctx, stream.ConsumerSpec{Binding: "r-in-0", Destination: dest, Group: "g", Handler: func(context.Context, stream.Envelope) error { return nil }})
	errs["health"] = refused.(stream.HealthChecker).Health(ctx)
	for what, err := range errs {
		if err == nil {
			t.Errorf("%s: no error", what)
			continue
		}
		if n := strings.Count(err.Error(), "rabbit:") + strings.Count(err.Error(), "rabbit binder"); n != 1 {
			t.Errorf("%s: %q has the rabbit prefix %d times", what, err, n)
		}
	}
}
