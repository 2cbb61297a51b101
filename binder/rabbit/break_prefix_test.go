package rabbit

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/streambind/streambind/binder/bindertest"
	"github.com/streambind/streambind/binder/rabbit/rabbittest"
	"github.com/streambind/streambind/config"
	"github.com/streambind/streambind/stream"
)

// startPrefixApp runs the streambind YAML body (under stream:, after the
// binder) with the functions of fns in vhost.
func startPrefixApp(t *testing.T, vhost, body string, fns *stream.Catalog) func() error {
	t.Helper()
	yaml := fmt.Sprintf(`stream:
  default-binder: r
  binders:
    r:
      type: rabbit
      environment:
        addresses: %q
        virtual-host: %q
`, rabbittest.Address(), vhost) + body
	l, err := config.Load(config.Options{Data: []byte(yaml), Env: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	app, err := stream.NewApp(l.Stream, fns, stream.WithBinderType(Type, New), stream.WithoutSignals())
	if err != nil {
		t.Fatal(err)
	}
	return bindertest.RunApp(t, app)
}

// TestPrefixDeadLettersOfReader: a dead-letter reader
// (consumer.dead-letters-of) consumes the source's DLQ by name (its group,
// with queue-name-group-only). With the prefix given per environment in
// stream.rabbit.default, the reader got it too and read
// <prefix><prefix><destination>.<group>.dlq, a queue it declared and
// nothing dead-letters to: it never saw a dead letter.
func TestPrefixDeadLettersOfReader(t *testing.T) {
	t.Parallel()
	vhost := rabbittest.VHost(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	read := make(chan string, 4)
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "work", func(_ context.Context, s string) error { return errors.New("refused " + s) })
	stream.AddConsumer(fns, "audit", func(_ context.Context, s string) error { read <- s; return nil })
	stop := startPrefixApp(t, vhost, `  function:
    definition: work;audit
  bindings:
    work-in-0:
      destination: work
      group: g
      content-type: text/plain
      consumer:
        dlq: true
        max-attempts: 1
    audit-in-0:
      group: audit
      content-type: text/plain
      consumer:
        dead-letters-of: work-in-0
  rabbit:
    default:
      consumer:
        prefix: dev.
`, fns)
	defer func() { _ = stop() }()
	ch := rabbittest.Channel(t, vhost)
	if err := ch.PublishWithContext(ctx, "dev.work", "work", true, false, amqp.Publishing{ContentType: "text/plain", Body: []byte("m1")}); err != nil {
		t.Fatal(err)
	}
	select {
	case s := <-read:
		if s != "m1" {
			t.Errorf("the reader read %q", s)
		}
	case <-ctx.Done():
		t.Fatalf("the reader read no dead letter; queues:\n%s", rabbittest.Ctl(t, "list_queues", "-p", vhost, "name", "messages", "consumers"))
	}
	if out := rabbittest.Ctl(t, "list_queues", "-p", vhost, "name"); strings.Contains(out, "dev.dev.") {
		t.Errorf("a queue with the prefix twice:\n%s", out)
	}
}

// TestPrefixLongNamesRefusedAtKey: names the prefix makes longer than
// RabbitMQ takes are refused when the configuration is checked, at the
// binding's destination, as the exchange and group queue were; the
// anonymous queue, the DLX <prefix>DLX (with dead-letter-queue-name and
// queue-name-group-only the longest name) and a producer's required
// groups' queues were not, and the app failed at bind instead.
func TestPrefixLongNamesRefusedAtKey(t *testing.T) {
	b, err := New(context.Background(), stream.BinderSettings{Name: "rabbit", Type: Type})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = b.Close(context.Background()) }()
	sv := b.(stream.SpecValidator)
	p := func(n int) string { return strings.Repeat("p", n) }
	for _, tc := range []struct {
		what string
		err  error
		want string
	}{
		{"anonymous", sv.ValidateConsumer(stream.ConsumerSpec{Binding: "in", Destination: "orders", Extension: map[string]any{"prefix": p(230)}}),
			"the anonymous queue"},
		{"dlx", sv.ValidateConsumer(stream.ConsumerSpec{Binding: "in", Destination: "o", Group: "g", Consumer: stream.ConsumerConfig{DLQ: true},
			Extension: map[string]any{"prefix": p(253), "queue-name-group-only": true, "dead-letter-queue-name": "short"}}),
			"the dead-letter exchange"},
		{"required group", sv.ValidateProducer(stream.ProducerSpec{Binding: "out", Destination: "orders",
			Producer: stream.ProducerConfig{RequiredGroups: []string{"audit"}}, Extension: map[string]any{"prefix": p(246)}}),
			"queue name"},
	} {
		var ce *stream.ConfigError
		if !errors.As(tc.err, &ce) || !strings.Contains(ce.Path, "destination") || !strings.Contains(ce.Msg, tc.want) {
			t.Errorf("%s: %v, want a configuration error at the destination naming %s", tc.what, tc.err, tc.want)
		}
	}
	// Not refused: names that fit.
	if err := sv.ValidateConsumer(stream.ConsumerSpec{Binding: "in", Destination: "orders", Extension: map[string]any{"prefix": p(200)}}); err != nil {
		t.Errorf("anonymous with a prefix of 200: %v", err)
	}
	if err := sv.ValidateProducer(stream.ProducerSpec{Binding: "out", Destination: "orders",
		Producer: stream.ProducerConfig{RequiredGroups: []string{"audit"}}, Extension: map[string]any{"prefix": p(200)}}); err != nil {
		t.Errorf("required group with a prefix of 200: %v", err)
	}
}
