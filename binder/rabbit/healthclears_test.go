package rabbit

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/streambind/streambind/binder/rabbit/rabbittest"
	"github.com/streambind/streambind/stream"
)

// TestHealthClearsWhenExchangeAppears: a producer binding with
// declare-exchange false whose exchange does not exist reports itself
// down, naming the exchange, once a send fails; once the exchange is
// declared (by someone else) and sends succeed, the binding and the
// binder report themselves up again at once, with no stale reason left,
// also with many SendAsyncs in flight while the exchange appears (the
// first hundred fail, the later ones succeed). A report said the reason
// stayed; it does not: a send that succeeds clears it (producer.result).
func TestHealthClearsWhenExchangeAppears(t *testing.T) {
	t.Parallel()
	vhost := rabbittest.VHost(t)
	_, tr := newTestBinder(t, map[string]any{"virtual-host": vhost})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	admin, err := amqp.Dial(rabbittest.VHostURL(vhost))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	declare := func(dest string) {
		t.Helper()
		ch, err := admin.Channel()
		if err != nil {
			t.Fatal(err)
		}
		defer ch.Close()
		// With a queue bound, so that the (mandatory) sends are routed.
		if err := ch.ExchangeDeclare(dest, "topic", true, false, false, false, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := ch.QueueDeclare(dest+".q", false, false, false, false, nil); err != nil {
			t.Fatal(err)
		}
		if err := ch.QueueBind(dest+".q", "#", dest, false, nil); err != nil {
			t.Fatal(err)
		}
	}
	bind := func(dest string) (stream.Producer, stream.BindingHealthChecker) {
		t.Helper()
		p, err := tr.BindProducer(ctx, stream.ProducerSpec{Binding: "x-out-0", Destination: dest,
			Extension: map[string]any{"declare-exchange": false}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { p.Close(context.Background()) })
		return p, p.(stream.BindingHealthChecker)
	}
	send := func(p stream.Producer) error {
		sctx, scancel := context.WithTimeout(ctx, 5*time.Second)
		defer scancel()
		return p.Send(sctx, stream.Envelope{Payload: []byte("x")})
	}

	t.Run("send", func(t *testing.T) {
		dest := uniqueDest(t, "appears")
		p, h := bind(dest)
		if err := send(p); err == nil {
			t.Fatal("send to a missing exchange succeeded")
		}
		herr := h.Health(ctx)
		if herr == nil || !strings.Contains(herr.Error(), dest) {
			t.Fatalf("health after a send to the missing exchange: %v; want down, naming %s", herr, dest)
		}
		t.Logf("down: %v", herr)
		declare(dest)
		if err := send(p); err != nil {
			t.Fatalf("send once the exchange exists: %v", err)
		}
		if err := h.Health(ctx); err != nil {
			t.Fatalf("health after a send succeeded: %v", err)
		}
		if err := tr.Health(ctx); err != nil {
			t.Fatalf("binder health: %v", err)
		}
	})

	t.Run("async", func(t *testing.T) {
		dest := uniqueDest(t, "appears-async")
		p, h := bind(dest)
		ap := p.(stream.AsyncProducer)
		// Sends in flight while the exchange appears: some fail (404),
		// the later ones succeed. The last to succeed must leave the
		// binding up, whichever order the results come in.
		var wg sync.WaitGroup
		var mu sync.Mutex
		var failed, ok int
		for i := range 400 {
			if i == 100 {
				declare(dest)
			}
			wg.Add(1)
			ap.SendAsync(ctx, stream.Envelope{Payload: []byte("x")}, func(err error) {
				mu.Lock()
				if err != nil {
					failed++
				} else {
					ok++
				}
				mu.Unlock()
				wg.Done()
			})
		}
		wg.Wait()
		t.Logf("%d sends failed, %d succeeded", failed, ok)
		if ok == 0 {
			t.Fatal("no send succeeded once the exchange existed")
		}
		if err := h.Health(ctx); err != nil {
			t.Fatalf("health after sends succeeded: %v", err)
		}
		if err := tr.Health(ctx); err != nil {
			t.Fatalf("binder health: %v", err)
		}
	})
}
