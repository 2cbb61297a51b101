package rabbit

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/streambind/streambind/binder/rabbit/rabbittest"
	"github.com/streambind/streambind/stream"
)

// TestLongContentTypeAndIDHeaders: a contentType or id header over 255
// bytes is legal in an AMQP table (another client may publish one) but
// cannot go into the content_type and message_id properties (short
// strings). Such a message is sent with the header kept and the property
// left empty, and its dead letter (a few hundred bytes) arrives, with the
// header. (Before the fix the header was copied into the property: Send
// failed as unencodable and the dead letter was dropped.)
func TestLongContentTypeAndIDHeaders(t *testing.T) {
	t.Parallel()
	vhost := rabbittest.VHost(t)
	_, tr := newTestBinder(t, map[string]any{"virtual-host": vhost})
	dest := uniqueDest(t, "longct")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dead := startDLQReader(t, ctx, tr, dest, "g")
	got := make(chan stream.Envelope, 1)
	c, err := tr.BindConsumer(ctx, stream.ConsumerSpec{Binding: "ct-in-0", Destination: dest, Group: "g",
		Consumer: stream.ConsumerConfig{DLQ: true},
		Handler: func(_ context.Context, m stream.Envelope) error {
			if m.Headers["x-from"] == "binder" {
				got <- m
				return nil
			}
			return errors.New("bad")
		}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop(context.Background())
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	ct := "application/json;profile=" + strings.Repeat("p", 300)
	id := "id-" + strings.Repeat("i", 300)

	// Published by another client, failing in the handler: dead-lettered.
	conn, err := amqp.Dial(rabbittest.VHostURL(vhost))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	if err := ch.PublishWithContext(ctx, dest, "", false, false, amqp.Publishing{
		Headers: amqp.Table{"contentType": ct, "id": id}, Body: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	select {
	case dl := <-dead:
		if dl.Headers[stream.HeaderContentType] != ct || dl.Headers[stream.HeaderID] != id {
			t.Errorf("dead letter headers: contentType %d bytes, id %d bytes; want them as sent", len(dl.Headers[stream.HeaderContentType]), len(dl.Headers[stream.HeaderID]))
		}
	case <-time.After(5 * time.Second):
		t.Errorf("no dead letter for a small message with a %d-byte contentType header; stats %+v", len(ct),
			c.(stream.DeadLetterReporter).DeadLetterStats())
	}
	if s := c.(stream.DeadLetterReporter).DeadLetterStats(); s.Dropped != 0 {
		t.Errorf("stats %+v", s)
	}

	// Sent by the binder: accepted, received with both headers.
	p, err := tr.BindProducer(ctx, stream.ProducerSpec{Binding: "ct-out-0", Destination: dest})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Send(ctx, stream.Envelope{Payload: []byte(`{}`), Headers: stream.Headers{stream.HeaderContentType: ct, stream.HeaderID: id, "x-from": "binder"}}); err != nil {
		t.Fatalf("send with long contentType and id headers: %v", err)
	}
	select {
	case m := <-got:
		if m.Headers[stream.HeaderContentType] != ct || m.Headers[stream.HeaderID] != id {
			t.Errorf("received contentType %d bytes, id %d bytes; want them as sent", len(m.Headers[stream.HeaderContentType]), len(m.Headers[stream.HeaderID]))
		}
	case <-ctx.Done():
		t.Fatal("not received")
	}
}

// TestDeadLetterDLXCannotBeDeclared: DLX is deleted at run time and the
// app may not declare it again (configure permission on DLX revoked). A
// poison message is dropped at once with an ERROR line and counted, not
// requeued for ever, and the consumer binding reports itself down until a
// dead letter succeeds again. (Before the fix: 8 handler calls and 30 WARN
// lines in 3s for one message, nothing dropped, readiness up.)
func TestDeadLetterDLXCannotBeDeclared(t *testing.T) {
	t.Parallel()
	vhost := rabbittest.VHost(t)
	var logs strings.Builder
	var mu sync.Mutex
	_, tr := newTestBinder(t, map[string]any{"virtual-host": vhost})
	dest := uniqueDest(t, "dlxgone")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var calls atomic.Int64
	c, err := tr.BindConsumer(ctx, stream.ConsumerSpec{Binding: "dg-in-0", Destination: dest, Group: "g",
		Consumer: stream.ConsumerConfig{DLQ: true}, Logger: newLockedLogger(&logs, &mu),
		Handler: func(context.Context, stream.Envelope) error { calls.Add(1); return errors.New("bad") }})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	health := c.(stream.BindingHealthChecker)
	r := c.(stream.DeadLetterReporter)
	conn, err := amqp.Dial(rabbittest.VHostURL(vhost))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	if err := ch.ExchangeDelete(DLXName, false, false); err != nil {
		t.Fatal(err)
	}
	rabbittest.SetPermissions(t, vhost, "^(?!DLX$).*", ".*", ".*")
	if err := ch.PublishWithContext(ctx, dest, "", false, false, amqp.Publishing{Body: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	for r.DeadLetterStats().Dropped == 0 {
		if ctx.Err() != nil {
			t.Fatalf("the message was not dropped: %d handler calls; stats %+v", calls.Load(), r.DeadLetterStats())
		}
		time.Sleep(10 * time.Millisecond) // polling a counter, bounded by ctx
	}
	herr := health.Health(ctx)
	if herr == nil || !strings.Contains(herr.Error(), "ACCESS_REFUSED") || !strings.Contains(herr.Error(), "dead letter") {
		t.Errorf("binding health while DLX cannot be declared: %v", herr)
	}
	t.Logf("down: %v", herr)
	mu.Lock()
	out := logs.String()
	mu.Unlock()
	warns, errs := strings.Count(out, "level=WARN"), strings.Count(out, "level=ERROR")
	if n := calls.Load(); n != 1 || errs != 1 || warns > 1 || !strings.Contains(out, "DROPPED") {
		t.Errorf("%d handler calls, %d ERROR and %d WARN lines for one message; want 1, 1 and at most 1:\n%s", n, errs, warns, out)
	}

	// Once DLX may be declared again, the next dead letter declares it and
	// goes through, and the binding is up again.
	rabbittest.SetPermissions(t, vhost, ".*", ".*", ".*")
	if err := ch.PublishWithContext(ctx, dest, "", false, false, amqp.Publishing{Body: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	for {
		q, err := ch.QueueDeclarePassive(dest+".g.dlq", true, false, false, false, nil)
		if err == nil && q.Messages == 1 {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("the dead letter did not arrive once DLX could be declared: %v", err)
		}
		if err != nil { // a passive declare of a missing queue closes the channel
			if ch, err = conn.Channel(); err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(20 * time.Millisecond) // polling the queue depth, bounded by ctx
	}
	// The dead letter is in the queue once the broker routed it; the binder
	// marks the binding up when its confirm arrives, just after.
	for health.Health(ctx) != nil {
		if ctx.Err() != nil {
			t.Fatalf("binding health after a dead letter succeeded: %v", health.Health(context.Background()))
		}
		time.Sleep(10 * time.Millisecond) // polling known state, bounded by ctx
	}
	sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer scancel()
	if err := c.Stop(sctx); err != nil {
		t.Errorf("stop: %v", err)
	}
}

// TestSendRefusedIsTransient: publishing to an exchange the app may not
// write to (403 ACCESS_REFUSED) is the binding's fault, not the message's:
// Send fails with a transient error (the core leaves the input for
// redelivery), the producer binding reports itself down, and it is up
// again once a send succeeds.
func TestSendRefusedIsTransient(t *testing.T) {
	t.Parallel()
	vhost := rabbittest.VHost(t)
	_, tr := newTestBinder(t, map[string]any{"virtual-host": vhost})
	dest := uniqueDest(t, "forbidden")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p, err := tr.BindProducer(ctx, stream.ProducerSpec{Binding: "f-out-0", Destination: dest, Producer: stream.ProducerConfig{RequiredGroups: []string{"g"}}})
	if err != nil {
		t.Fatal(err)
	}
	health := p.(stream.BindingHealthChecker)
	rabbittest.SetPermissions(t, vhost, ".*", "^(?!"+strings.ReplaceAll(dest, ".", `\.`)+"$).*", ".*")
	err = p.Send(ctx, stream.Envelope{Payload: []byte("x")})
	if err == nil || stream.IsPermanent(err) || !strings.Contains(err.Error(), "ACCESS_REFUSED") {
		t.Fatalf("send without write permission: %v, want a transient ACCESS_REFUSED error", err)
	}
	herr := health.Health(ctx)
	if herr == nil || !strings.Contains(herr.Error(), "ACCESS_REFUSED") || !strings.Contains(herr.Error(), dest) {
		t.Fatalf("health while publishing is refused: %v", herr)
	}
	t.Logf("send: %v\nhealth: %v", err, herr)
	rabbittest.SetPermissions(t, vhost, ".*", ".*", ".*")
	if err := p.Send(ctx, stream.Envelope{Payload: []byte("x")}); err != nil {
		t.Fatalf("send once permitted: %v", err)
	}
	if err := health.Health(ctx); err != nil {
		t.Fatalf("health after a send succeeded: %v", err)
	}
}
