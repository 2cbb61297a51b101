package rabbit

import (
	"context"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/streambind/streambind/binder/rabbit/rabbittest"
	"github.com/streambind/streambind/stream"
)

// TestProducerRedeclaresDeletedExchange is case 6 of issue 8: after the
// output exchange is deleted at run time, the next send declares it again
// (and this binder's consumer queue is bound to it again) and succeeds.
// When it cannot be declared (no configure permission), sends fail with a
// transient error and the producer binding reports itself down, until a
// send succeeds again.
func TestProducerRedeclaresDeletedExchange(t *testing.T) {
	t.Parallel()
	vhost := rabbittest.VHost(t)
	_, tr := newTestBinder(t, map[string]any{"virtual-host": vhost})
	dest := uniqueDest(t, "deleted")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	got := make(chan string, 10)
	c, err := tr.BindConsumer(ctx, stream.ConsumerSpec{Binding: "x-in-0", Destination: dest, Group: "g",
		Handler: func(_ context.Context, m stream.Envelope) error { got <- string(m.Payload); return nil }})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop(context.Background())
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	p, err := tr.BindProducer(ctx, stream.ProducerSpec{Binding: "x-out-0", Destination: dest})
	if err != nil {
		t.Fatal(err)
	}
	health := p.(stream.BindingHealthChecker)
	send := func(payload string) error {
		sctx, scancel := context.WithTimeout(ctx, 5*time.Second)
		defer scancel()
		return p.Send(sctx, stream.Envelope{Payload: []byte(payload)})
	}
	receive := func(want string) {
		t.Helper()
		select {
		case s := <-got:
			if s != want {
				t.Fatalf("received %q, want %q", s, want)
			}
		case <-ctx.Done():
			t.Fatalf("%q not received", want)
		}
	}
	admin, err := amqp.Dial(rabbittest.VHostURL(vhost))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	deleteExchange := func() {
		t.Helper()
		ch, err := admin.Channel()
		if err != nil {
			t.Fatal(err)
		}
		defer ch.Close()
		if err := ch.ExchangeDelete(dest, false, false); err != nil {
			t.Fatal(err)
		}
	}

	if err := send("one"); err != nil {
		t.Fatal(err)
	}
	receive("one")
	deleteExchange()
	if err := send("two"); err != nil {
		t.Fatalf("send after the exchange was deleted: %v", err)
	}
	receive("two")
	if err := health.Health(ctx); err != nil {
		t.Fatalf("health: %v", err)
	}

	// Now it cannot be declared again: no configure permission.
	deleteExchange()
	rabbittest.SetPermissions(t, vhost, "^$", ".*", ".*")
	err = send("three")
	if err == nil || stream.IsPermanent(err) || !strings.Contains(err.Error(), "404") {
		t.Fatalf("send with the exchange gone for good: %v, want a transient NOT_FOUND error", err)
	}
	herr := health.Health(ctx)
	if herr == nil || !strings.Contains(herr.Error(), dest) || !strings.Contains(herr.Error(), "ACCESS_REFUSED") {
		t.Fatalf("health while the exchange cannot be declared: %v", herr)
	}
	t.Logf("down: %v", herr)
	rabbittest.SetPermissions(t, vhost, ".*", ".*", ".*")
	// Declaring again is tried at most once per redeclareInterval.
	deadline := time.Now().Add(redeclareInterval + 5*time.Second)
	for {
		err := send("four")
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("sends still fail after the permission came back: %v", err)
		}
		time.Sleep(100 * time.Millisecond) // an application's retry interval
	}
	receive("four")
	if err := health.Health(ctx); err != nil {
		t.Fatalf("health after a send succeeded: %v", err)
	}
}
