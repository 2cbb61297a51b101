package rabbit

import (
	"context"
	"maps"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/streambind/streambind/binder/memory"
	"github.com/streambind/streambind/binder/rabbit/rabbittest"
	"github.com/streambind/streambind/stream"
)

// TestDeadLetterPropertiesAsHeaders: a dead letter read through the
// DeadLetterStore (streambind dlq show, tail, replay) has its AMQP
// properties that an envelope does not carry as the headers SCSt's
// RabbitMQ binder gives them (amqp_contentEncoding, amqp_correlationId,
// amqp_replyTo, amqp_type, amqp_appId, priority), unless the message has
// a header of that name itself: dlq show says that a body is gzip, and a
// replay to another binder (here the in-process one; Kafka and NATS send
// an envelope's headers as they are) carries them. Before, they were only
// under a NativeHeaders key, which no other binder reads: the copy had
// none of them, and show did not list them. A replay to RabbitMQ sends
// them as the properties, not also as headers, and keeps the message's
// own headers of those names.
func TestDeadLetterPropertiesAsHeaders(t *testing.T) {
	t.Parallel()
	vhost := rabbittest.VHost(t)
	b, tr := newTestBinder(t, map[string]any{"virtual-host": vhost})
	dest := uniqueDest(t, "propheaders")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ch := rabbittest.Channel(t, vhost)
	q := dest + ".g.dlq"
	if _, err := ch.QueueDeclare(q, true, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	props := amqp.Publishing{Body: []byte("all"), ContentType: "application/json",
		ContentEncoding: "gzip", CorrelationId: "corr-1", ReplyTo: "replies", Type: "order.created", AppId: "billing", Priority: 3}
	own := props
	own.Body = []byte("own")
	own.Headers = amqp.Table{"priority": "high", "amqp_type": "mine"}
	for _, m := range []amqp.Publishing{props, own, {Body: []byte("none")}} {
		if err := ch.PublishWithContext(ctx, "", q, false, false, m); err != nil {
			t.Fatal(err)
		}
	}
	awaitReady(t, func() int {
		st, err := ch.QueueDeclarePassive(q, true, false, false, false, nil)
		if err != nil {
			t.Fatal(err)
		}
		return st.Messages
	}, 3, 10*time.Second, "ready in "+q)

	dl, err := b.OpenDeadLetters(ctx, stream.ConsumerSpec{Binding: "ph-in-0", Destination: dest, Group: "g"}, stream.DeadLetterOpen{})
	if err != nil {
		t.Fatal(err)
	}
	defer dl.Close(context.Background())
	var ds []stream.DeadLetter
	for range 3 {
		d, err := dl.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		ds = append(ds, d)
	}
	all := map[string]string{"amqp_contentEncoding": "gzip", "amqp_correlationId": "corr-1", "amqp_replyTo": "replies",
		"amqp_type": "order.created", "amqp_appId": "billing", "priority": "3"}
	wants := []map[string]string{all, maps.Clone(all), {}}
	wants[1]["priority"], wants[1]["amqp_type"] = "high", "mine"
	for i, d := range ds {
		for _, k := range propertyHeaders {
			if got, want := d.Headers[k], wants[i][k]; got != want {
				t.Errorf("dead letter %s: header %s = %q, want %q", d.Payload, k, got, want)
			}
		}
	}

	// To another binder: the copy has them as headers.
	mem, err := memory.New(ctx, stream.BinderSettings{Name: "other", Type: memory.Type, Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer mem.Close(context.Background())
	got := make(chan stream.Envelope, 1)
	mc, err := mem.BindConsumer(ctx, stream.ConsumerSpec{Binding: "other-in-0", Destination: "elsewhere", Group: "g",
		Handler: func(_ context.Context, m stream.Envelope) error { got <- m; return nil }})
	if err != nil {
		t.Fatal(err)
	}
	if err := mc.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer mc.Stop(context.Background())
	mp, err := mem.BindProducer(ctx, stream.ProducerSpec{Binding: "other-out-0", Destination: "elsewhere"})
	if err != nil {
		t.Fatal(err)
	}
	defer mp.Close(context.Background())
	if err := mp.Send(ctx, stream.ReplayEnvelope(ds[0])); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-got:
		for k, want := range all {
			if m.Headers[k] != want {
				t.Errorf("replayed to another binder: header %s = %q, want %q (headers %v)", k, m.Headers[k], want, m.Headers)
			}
		}
	case <-ctx.Done():
		t.Fatal("the copy sent to the in-process binder was not delivered")
	}

	// To RabbitMQ: the properties, not the headers withPropertyHeaders
	// added; the message's own headers of those names are kept.
	to := uniqueDest(t, "propheadersto")
	p, err := tr.BindProducer(ctx, stream.ProducerSpec{Binding: "ph-out-0", Destination: to})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(context.Background())
	raw := to + ".raw"
	if _, err := ch.QueueDeclare(raw, false, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	if err := ch.QueueBind(raw, "#", to, false, nil); err != nil {
		t.Fatal(err)
	}
	for _, d := range ds[:2] {
		if err := p.Send(ctx, stream.ReplayEnvelope(d)); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 2 {
		m := getOne(ctx, t, ch, raw)
		if m.ContentEncoding != "gzip" || m.CorrelationId != "corr-1" || m.ReplyTo != "replies" || m.Type != "order.created" || m.AppId != "billing" || m.Priority != 3 {
			t.Errorf("replayed %s: properties %q %q %q %q %q %d", m.Body, m.ContentEncoding, m.CorrelationId, m.ReplyTo, m.Type, m.AppId, m.Priority)
		}
		wantHeaders := map[string]any{}
		if i == 1 {
			wantHeaders = map[string]any{"priority": "high", "amqp_type": "mine"}
		}
		for _, k := range propertyHeaders {
			if v, ok := m.Headers[k]; ok != (wantHeaders[k] != nil) || (ok && v != wantHeaders[k]) {
				t.Errorf("replayed %s: header %s = %v (present %v), want %v", m.Body, k, v, ok, wantHeaders[k])
			}
		}
	}
}
