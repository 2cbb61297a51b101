package rabbit

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/streambind/streambind/binder/rabbit/rabbittest"
	"github.com/streambind/streambind/stream"
)

// The tests of this file check that streambind's RabbitMQ topology is
// SCSt's (issue 9): a queue declared with SCSt's exact arguments is used
// as it is, the dead-letter arrangement works both ways SCSt dead-letters,
// and partitioned required groups are provisioned per partition.

// vhostBinder is a binder in a virtual host of the test's own (deleted
// with all it holds when the test ends), logging to log (nil: discard),
// and an admin channel in that virtual host to declare and inspect with.
func vhostBinder(t *testing.T, log *slog.Logger) (*Binder, *amqp.Channel) {
	t.Helper()
	vhost := rabbittest.VHost(t)
	if log == nil {
		log = testLogger()
	}
	b, err := New(context.Background(), stream.BinderSettings{Name: "scst", Type: Type, Logger: log,
		Environment: map[string]any{"addresses": rabbittest.Address(), "virtual-host": vhost, "reconnect-initial-interval": "50ms"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := b.Close(ctx); err != nil {
			t.Errorf("close binder: %v", err)
		}
	})
	conn, err := amqp.Dial(rabbittest.VHostURL(vhost))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	return b.(*Binder), ch
}

// scstDeclare declares, on ch, what SCSt's RabbitExchangeQueueProvisioner
// declares for a consumer of dest in group with auto-bind-dlq and
// max-length 1000 (Java Integers: AMQP 32-bit integers).
func scstDeclare(t *testing.T, ch *amqp.Channel, dest, group string) {
	t.Helper()
	q := dest + "." + group
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("declaring as SCSt does: %v", err)
		}
	}
	must(ch.ExchangeDeclare(dest, "topic", true, false, false, false, nil))
	_, err := ch.QueueDeclare(q, true, false, false, false, amqp.Table{
		"x-dead-letter-exchange":    "DLX",
		"x-dead-letter-routing-key": q,
		"x-max-length":              int32(1000),
	})
	must(err)
	must(ch.QueueBind(q, "#", dest, false, nil))
	_, err = ch.QueueDeclare(q+".dlq", true, false, false, false, amqp.Table{})
	must(err)
	must(ch.ExchangeDeclare("DLX", "direct", true, false, false, false, nil))
	must(ch.QueueBind(q+".dlq", q, "DLX", false, nil))
}

// getOne waits for a message in queue q (polling basic.get, as a DLQ
// inspector does) and returns it.
func getOne(ctx context.Context, t *testing.T, ch *amqp.Channel, q string) amqp.Delivery {
	t.Helper()
	for {
		d, ok, err := ch.Get(q, true)
		if err != nil {
			t.Fatalf("get from %s: %v", q, err)
		}
		if ok {
			return d
		}
		select {
		case <-ctx.Done():
			t.Fatalf("no message in %s", q)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func publish(ctx context.Context, t *testing.T, ch *amqp.Channel, exchange, key, body string) {
	t.Helper()
	if err := ch.PublishWithContext(ctx, exchange, key, false, false, amqp.Publishing{Body: []byte(body)}); err != nil {
		t.Fatal(err)
	}
}

// TestSCStDeclaredQueueConsumed: a queue that an SCSt service declared
// (auto-bind-dlq, max-length) before start-up is consumed without a
// PRECONDITION_FAILED; a failed message is republished to the DLQ with
// SCSt's headers; SCSt declaring the queue again after streambind is
// accepted too; and the binding's INFO line names the topology.
func TestSCStDeclaredQueueConsumed(t *testing.T) {
	t.Parallel()
	var logBuf bytes.Buffer
	var logMu sync.Mutex
	b, admin := vhostBinder(t, newLockedLogger(&logBuf, &logMu))
	dest := "orders"
	scstDeclare(t, admin, dest, "billing")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	got := make(chan string, 10)
	c, err := b.BindConsumer(ctx, stream.ConsumerSpec{Binding: "bill-in-0", Destination: dest, Group: "billing",
		Consumer:  stream.ConsumerConfig{DLQ: true},
		Extension: map[string]any{"max-length": 1000},
		Handler: func(_ context.Context, m stream.Envelope) error {
			if string(m.Payload) == "bad" {
				return errors.New("card declined")
			}
			got <- string(m.Payload)
			return nil
		}})
	if err != nil {
		t.Fatalf("binding to the queue SCSt declared: %v", err)
	}
	defer c.Stop(context.Background())
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	publish(ctx, t, admin, dest, "orders", "good")
	select {
	case s := <-got:
		if s != "good" {
			t.Fatalf("got %q", s)
		}
	case <-ctx.Done():
		t.Fatal("message not consumed")
	}
	publish(ctx, t, admin, dest, "orders", "bad")
	d := getOne(ctx, t, admin, dest+".billing.dlq")
	if string(d.Body) != "bad" {
		t.Fatalf("dead letter body %q", d.Body)
	}
	for k, want := range map[string]string{"x-original-exchange": dest, "x-original-routingKey": "orders"} {
		if got, _ := d.Headers[k].(string); got != want {
			t.Errorf("dead letter header %s = %q, want %q", k, got, want)
		}
	}
	if m, _ := d.Headers["x-exception-message"].(string); !strings.Contains(m, "card declined") {
		t.Errorf("x-exception-message = %q", m)
	}
	if st, _ := d.Headers["x-exception-stacktrace"].(string); st == "" {
		t.Error("no x-exception-stacktrace")
	}
	if _, ok := d.Headers["x-death"]; ok {
		t.Error("a republished dead letter has an x-death header: the broker dead-lettered it instead")
	}
	// SCSt (re)starting after streambind declared: the same declarations
	// succeed.
	scstDeclare(t, admin, dest, "billing")

	logMu.Lock()
	out := logBuf.String()
	logMu.Unlock()
	var line string
	for l := range strings.SplitSeq(out, "\n") {
		if strings.Contains(l, "rabbit: consumer bound") {
			line = l
		}
	}
	for _, want := range []string{"level=INFO", "exchange=orders", "orders.billing <- orders (#)", "dlx=DLX", "orders.billing.dlq <- DLX (orders.billing)", "dead_letter_routing_key=orders.billing"} {
		if !strings.Contains(line, want) {
			t.Errorf("start-up line %q lacks %q", line, want)
		}
	}
}

// TestSCStBrokerDeadLettering: with republish-to-dlq false a failed
// message is rejected and the broker moves it to the DLQ through the
// queue's x-dead-letter-* arguments (x-death, no x-exception-* headers).
func TestSCStBrokerDeadLettering(t *testing.T) {
	t.Parallel()
	b, admin := vhostBinder(t, nil)
	dest := "payments"
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := b.BindConsumer(ctx, stream.ConsumerSpec{Binding: "pay-in-0", Destination: dest, Group: "g",
		Consumer:  stream.ConsumerConfig{DLQ: true},
		Extension: map[string]any{"republish-to-dlq": false},
		Handler:   func(context.Context, stream.Envelope) error { return errors.New("nope") }})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop(context.Background())
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	publish(ctx, t, admin, dest, "k", "poison")
	d := getOne(ctx, t, admin, dest+".g.dlq")
	if string(d.Body) != "poison" {
		t.Fatalf("dead letter body %q", d.Body)
	}
	deaths, _ := d.Headers["x-death"].([]any)
	if len(deaths) == 0 {
		t.Fatalf("no x-death header: %v", d.Headers)
	}
	if death, _ := deaths[0].(amqp.Table); death["queue"] != dest+".g" || death["reason"] != "rejected" {
		t.Errorf("x-death = %v, want queue %s.g, reason rejected", deaths[0], dest)
	}
	if _, ok := d.Headers["x-exception-message"]; ok {
		t.Error("x-exception-message on a message the broker dead-lettered")
	}
	// The queue carries SCSt's arguments, so SCSt's declaration is accepted.
	if _, err := admin.QueueDeclare(dest+".g", true, false, false, false, amqp.Table{"x-dead-letter-exchange": "DLX", "x-dead-letter-routing-key": dest + ".g"}); err != nil {
		t.Fatalf("SCSt's declaration of the queue: %v", err)
	}
}

// TestRequiredGroupsAutoBindDLQ: a producer's required-groups queue with
// auto-bind-dlq is the queue a consumer with dlq declares (no clash), and
// without it the clash is a TopologyError naming the argument, as with
// SCSt.
func TestRequiredGroupsAutoBindDLQ(t *testing.T) {
	t.Parallel()
	b, _ := vhostBinder(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	h := func(context.Context, stream.Envelope) error { return nil }
	ext := map[string]any{"ttl": "1m", "dead-letter-routing-key": "dead"}
	if _, err := b.BindProducer(ctx, stream.ProducerSpec{Binding: "o-out-0", Destination: "o",
		Producer:  stream.ProducerConfig{RequiredGroups: []string{"g"}},
		Extension: map[string]any{"auto-bind-dlq": true, "ttl": 60000, "dead-letter-routing-key": "dead"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.BindConsumer(ctx, stream.ConsumerSpec{Binding: "o-in-0", Destination: "o", Group: "g",
		Consumer: stream.ConsumerConfig{DLQ: true}, Extension: ext, Handler: h}); err != nil {
		t.Fatalf("consumer after the producer provisioned its queue: %v", err)
	}
	if _, err := b.BindProducer(ctx, stream.ProducerSpec{Binding: "p-out-0", Destination: "p",
		Producer: stream.ProducerConfig{RequiredGroups: []string{"g"}}}); err != nil {
		t.Fatal(err)
	}
	_, err := b.BindConsumer(ctx, stream.ConsumerSpec{Binding: "p-in-0", Destination: "p", Group: "g",
		Consumer: stream.ConsumerConfig{DLQ: true}, Handler: h})
	var te *TopologyError
	if !errors.As(err, &te) || te.Name != "p.g" || !strings.HasPrefix(te.Arg, "x-dead-letter-") {
		t.Fatalf("got %v, want a TopologyError naming queue p.g and an x-dead-letter-* argument", err)
	}
	if !strings.Contains(err.Error(), "auto-bind-dlq: true") {
		t.Errorf("the clash does not say how to fix it: %v", err)
	}
}

// TestPartitionedRequiredGroups: a partitioned producer with
// required-groups provisions <destination>.<group>-<p> bound with
// <destination>-<p>, so messages sent before any consumer started wait in
// their partition's queue, and the partition's consumer gets them.
func TestPartitionedRequiredGroups(t *testing.T) {
	t.Parallel()
	b, admin := vhostBinder(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p, err := b.BindProducer(ctx, stream.ProducerSpec{Binding: "s-out-0", Destination: "stock",
		Producer:  stream.ProducerConfig{RequiredGroups: []string{"wh"}, PartitionCount: 3, PartitionKeyExpression: "key"},
		Extension: map[string]any{"auto-bind-dlq": true}})
	if err != nil {
		t.Fatal(err)
	}
	for part, body := range []string{"zero", "one", "two"} {
		if err := p.Send(ctx, stream.Envelope{Payload: []byte(body), Headers: stream.Headers{stream.HeaderPartition: itoa(part)}}); err != nil {
			t.Fatalf("send to partition %d before any consumer: %v", part, err)
		}
	}
	for part := range 3 {
		q, err := admin.QueueDeclarePassive("stock.wh-"+itoa(part), true, false, false, false, nil)
		if err != nil {
			t.Fatal(err)
		}
		if q.Messages != 1 {
			t.Errorf("queue %s holds %d messages, want 1", q.Name, q.Messages)
		}
	}
	got := make(chan string, 3)
	c, err := b.BindConsumer(ctx, stream.ConsumerSpec{Binding: "s-in-0", Destination: "stock", Group: "wh",
		Consumer: stream.ConsumerConfig{DLQ: true, Partitioned: true, InstanceIndex: 1, InstanceCount: 3},
		Handler:  func(_ context.Context, m stream.Envelope) error { got <- string(m.Payload); return nil }})
	if err != nil {
		t.Fatalf("partition consumer on the provisioned queue: %v", err)
	}
	defer c.Stop(context.Background())
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case s := <-got:
		if s != "one" {
			t.Fatalf("partition 1 consumer got %q", s)
		}
	case <-ctx.Done():
		t.Fatal("partition 1's message not consumed")
	}
}

// TestRoutingKeyExpression: routing-key-expression picks each message's
// routing key; a consumer bound with a key gets only its messages, and a
// message the expression finds no key in fails permanently.
func TestRoutingKeyExpression(t *testing.T) {
	t.Parallel()
	b, _ := vhostBinder(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	got := make(chan string, 3)
	c, err := b.BindConsumer(ctx, stream.ConsumerSpec{Binding: "e-in-0", Destination: "events", Group: "audit",
		Extension: map[string]any{"binding-routing-key": "created;updated", "binding-routing-key-delimiter": ";"},
		Handler:   func(_ context.Context, m stream.Envelope) error { got <- string(m.Payload); return nil }})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop(context.Background())
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	p, err := b.BindProducer(ctx, stream.ProducerSpec{Binding: "e-out-0", Destination: "events",
		Extension: map[string]any{"routing-key-expression": "headers['event']"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range []string{"created", "updated"} {
		if err := p.Send(ctx, stream.Envelope{Payload: []byte(ev), Headers: stream.Headers{"event": ev}}); err != nil {
			t.Fatal(err)
		}
		if s := <-got; s != ev {
			t.Fatalf("got %q, want %q", s, ev)
		}
	}
	if err := p.Send(ctx, stream.Envelope{Payload: []byte("x"), Headers: stream.Headers{"event": "deleted"}}); !errors.Is(err, ErrUnroutable) {
		t.Fatalf("send with a key no queue is bound with: %v, want ErrUnroutable", err)
	}
	if err := p.Send(ctx, stream.Envelope{Payload: []byte("x")}); err == nil || !stream.IsPermanent(err) {
		t.Fatalf("send without the header: %v, want a permanent error", err)
	}
	// The SpEL subset, on the JSON payload.
	p2, err := b.BindProducer(ctx, stream.ProducerSpec{Binding: "e2-out-0", Destination: "events",
		Extension: map[string]any{"routingKeyExpression": "payload.kind == 'c' ? 'created' : 'updated'"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := p2.Send(ctx, stream.Envelope{Payload: []byte(`{"kind":"c"}`)}); err != nil {
		t.Fatal(err)
	}
	if s := <-got; s != `{"kind":"c"}` {
		t.Fatalf("got %q", s)
	}
	if _, err := b.BindProducer(ctx, stream.ProducerSpec{Binding: "e3-out-0", Destination: "events",
		Extension: map[string]any{"routing-key-expression": "T(java.lang.Math).random()"}}); err == nil || !strings.Contains(err.Error(), "routing-key-expression") {
		t.Fatalf("an expression outside the subset: %v, want an error naming the key", err)
	}
	// A number is the text Spring converts it to: the JSON 7 an Integer
	// ("7"), the JSON 2.0 a Double ("2.0", not Go's "2"), integers with
	// every digit (were 1.234567e+06 and a rounded 9.007199254740992e+15).
	c4, err := b.BindConsumer(ctx, stream.ConsumerSpec{Binding: "n-in-0", Destination: "numbers", Group: "audit",
		Extension: map[string]any{"binding-routing-key": "7;2.0;1234567;9007199254740993", "binding-routing-key-delimiter": ";"},
		Handler:   func(_ context.Context, m stream.Envelope) error { got <- string(m.Payload); return nil }})
	if err != nil {
		t.Fatal(err)
	}
	defer c4.Stop(context.Background())
	if err := c4.Start(ctx); err != nil {
		t.Fatal(err)
	}
	p4, err := b.BindProducer(ctx, stream.ProducerSpec{Binding: "n-out-0", Destination: "numbers",
		Extension: map[string]any{"routing-key-expression": "payload.n"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, payload := range []string{`{"n":7}`, `{"n":2.0}`, `{"n":1234567}`, `{"n":9007199254740993}`} {
		if err := p4.Send(ctx, stream.Envelope{Payload: []byte(payload)}); err != nil {
			t.Fatalf("send %s: %v", payload, err)
		}
		if s := <-got; s != payload {
			t.Fatalf("got %q, want %q", s, payload)
		}
	}
	// An object is no routing key (it was Go's "map[a:1]").
	if err := p4.Send(ctx, stream.Envelope{Payload: []byte(`{"n":{"a":1}}`)}); err == nil || !stream.IsPermanent(err) || !strings.Contains(err.Error(), "not a routing key") {
		t.Fatalf("send with an object as routing key: %v, want a permanent error", err)
	}
}

// TestSCStQueueArgs: the properties become the arguments SCSt's
// provisioner declares, with the same names, types (32-bit integers) and
// defaults; bad values are errors naming the key.
func TestSCStQueueArgs(t *testing.T) {
	o, err := parseConsumerOptions("c-in-0", 1, map[string]any{
		"ttl": "5s", "expires": 60000, "max-length": 10, "max-length-bytes": 1024, "max-priority": 5,
		"overflowBehavior": "reject-publish", "lazy": true, "single-active-consumer": true,
		"dead-letter-exchange": "errors", "dlq-ttl": 1000, "dlq-dead-letter-exchange": "parking",
		"dlq-quorum":       map[string]any{"enabled": true, "delivery-limit": 3, "initial-group-size": 1},
		"republish-to-dlq": false, "requeue-rejected": true,
	})
	if err != nil {
		t.Fatal(err)
	}
	if o.republishToDlq || !o.requeueRejected {
		t.Error("republish-to-dlq / requeue-rejected not read")
	}
	want := amqp.Table{"x-dead-letter-exchange": "errors", "x-dead-letter-routing-key": "d.g-2",
		"x-message-ttl": int32(5000), "x-expires": int32(60000), "x-max-length": int32(10), "x-max-length-bytes": int32(1024),
		"x-max-priority": int32(5), "x-overflow": "reject-publish", "x-queue-mode": "lazy", "x-single-active-consumer": true}
	if got := o.queueArgs(o.queueName("d", "g", true, 2), true); !equalTables(got, want) {
		t.Errorf("queue args\n got %v\nwant %v", got, want)
	}
	dlq := o.dlqSpec(o.baseQueue("d", "g"), "d.g-2", true)
	wantDLQ := amqp.Table{"x-dead-letter-exchange": "parking", "x-message-ttl": int32(1000), "x-queue-type": "quorum",
		"x-delivery-limit": int32(3), "x-quorum-initial-group-size": int32(1)}
	if dlq.name != "d.g.dlq" || dlq.exchange != "errors" || strings.Join(dlq.keys, ",") != "d.g-2,d.g" || !equalTables(dlq.args, wantDLQ) {
		t.Errorf("dlq %+v, want d.g.dlq on errors with keys d.g-2,d.g and args %v", dlq, wantDLQ)
	}

	d, _ := parseConsumerOptions("c-in-0", 1, nil)
	if !d.republishToDlq || d.dlx() != "DLX" || d.deadLetterExchangeType != "direct" || !d.declareDLX {
		t.Errorf("defaults: republish %v, dlx %s %s, declare %v", d.republishToDlq, d.dlx(), d.deadLetterExchangeType, d.declareDLX)
	}
	if got := d.queueArgs("d.g", false); got != nil {
		t.Errorf("no properties, no dlq: args %v, want none", got)
	}
	if k := d.bindingKeys("d", true, 1); strings.Join(k, ",") != "d-1" {
		t.Errorf("partitioned binding keys %v", k)
	}

	_, err = parseConsumerOptions("c-in-0", 1, map[string]any{"max-priority": 256, "ttl": "1.5ms", "overflow-behavior": "drop",
		"quorum": map[string]any{"enabled": true, "nope": 1}, "dead-letter-args": true, "dlq-expires": 0, "dlqMaxLength": -1})
	for _, k := range []string{"consumer.max-priority", "consumer.ttl", "consumer.overflow-behavior", "consumer.quorum.nope",
		"consumer.dead-letter-args: dead-letter-args was removed", "consumer.dlq-expires", "consumer.dlqMaxLength"} {
		if err == nil || !strings.Contains(err.Error(), k) {
			t.Errorf("error does not name %s: %v", k, err)
		}
	}
	_, err = parseProducerOptions("p-out-0", map[string]any{"routing-key": "a", "routing-key-expression": "headers['x']", "partitioned-required-groups": true})
	for _, k := range []string{"set routing-key or routing-key-expression, not both", "partitioned-required-groups was removed"} {
		if err == nil || !strings.Contains(err.Error(), k) {
			t.Errorf("error does not say %q: %v", k, err)
		}
	}
	if _, err := parseProducerOptions("p-out-0", map[string]any{"routing-key-expression": "payload.a..b"}); err == nil {
		t.Error("bad routing-key-expression accepted")
	}
}

func equalTables(a, b amqp.Table) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestConsumerDLQ: the DLQ of a binding follows its properties, and the
// defaults give <destination>.<group>.dlq on DLX.
func TestConsumerDLQ(t *testing.T) {
	q, err := consumerDLQ(stream.ConsumerSpec{Binding: "c-in-0", Destination: "d", Group: "g",
		Consumer:  stream.ConsumerConfig{DLQ: true, Partitioned: true, InstanceIndex: 1, InstanceCount: 2},
		Extension: map[string]any{"dead-letter-queue-name": "parked", "dead-letter-exchange": "errors"}})
	if err != nil || q.name != "parked" || q.exchange != "errors" || strings.Join(q.keys, ",") != "d.g-1,d.g" {
		t.Errorf("custom DLQ %+v (%v)", q, err)
	}
	if d := dlqSpec("d", "g"); d.name != "d.g.dlq" || d.exchange != DLXName || strings.Join(d.keys, ",") != "d.g" {
		t.Errorf("default DLQ %+v", d)
	}
}
