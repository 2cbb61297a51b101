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

// TestPrefixDeadLetterReaderOwnDLX: a dead-letter reader with dlq of its
// own sends its failures to the DLX of its configuration, <prefix>DLX,
// into <prefix><destination>.<group>.dlq.dlq, as SCSt names a consumer's
// DLX. Its prefix was cleared (so that it read the source's prefixed DLQ
// by name), and its dead letters went to the bare DLX, an exchange of no
// environment on a broker the environments share. The source declares
// its DLQ with the dead-letter arguments the reader's dlq declares the
// queue with (dlq-dead-letter-*: <prefix>DLX, the queue's name), else the
// two declarations clash; without the fix the reader asked for DLX there.
func TestPrefixDeadLetterReaderOwnDLX(t *testing.T) {
	t.Parallel()
	vhost := rabbittest.VHost(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "work", func(_ context.Context, s string) error { return errors.New("refused " + s) })
	stream.AddConsumer(fns, "audit", func(_ context.Context, s string) error { return errors.New("audit refused " + s) })
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
        dlq: true
        max-attempts: 1
  rabbit:
    default:
      consumer:
        prefix: dev.
    bindings:
      work-in-0:
        consumer:
          dlq-dead-letter-exchange: dev.DLX
          dlq-dead-letter-routing-key: dev.work.g.dlq
`, fns)
	defer func() { _ = stop() }()
	ch := rabbittest.Channel(t, vhost)
	// The reader's DLQ exists once the app is ready (the reader declared it).
	dls, err := ch.Consume("dev.work.g.dlq.dlq", "", true, false, false, false, nil)
	if err != nil {
		t.Fatalf("consume the reader's DLQ: %v; queues:\n%s", err, rabbittest.Ctl(t, "list_queues", "-p", vhost, "name"))
	}
	if err := ch.PublishWithContext(ctx, "dev.work", "work", true, false, amqp.Publishing{ContentType: "text/plain", Body: []byte("m1")}); err != nil {
		t.Fatal(err)
	}
	select {
	case d := <-dls:
		if string(d.Body) != "m1" || d.Exchange != "dev.DLX" || d.RoutingKey != "dev.work.g.dlq" {
			t.Errorf("the reader's dead letter %q came from exchange %q with key %q, want m1 from dev.DLX with dev.work.g.dlq", d.Body, d.Exchange, d.RoutingKey)
		}
		if m, _ := d.Headers[stream.HeaderExceptionMessage].(string); !strings.Contains(m, "audit refused m1") {
			t.Errorf("the reader's dead letter has %s %q, want the reader's failure", stream.HeaderExceptionMessage, m)
		}
	case <-ctx.Done():
		t.Fatalf("no dead letter of the reader; queues:\n%s", rabbittest.Ctl(t, "list_queues", "-p", vhost, "name", "messages", "consumers"))
	}
	if out := rabbittest.Ctl(t, "list_exchanges", "-p", vhost, "name"); strings.Contains("\n"+out+"\n", "\nDLX\n") {
		t.Errorf("the bare DLX was declared:\n%s", out)
	}
}
