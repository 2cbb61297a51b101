package rabbit

import (
	"context"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/streambind/streambind/binder/rabbit/rabbittest"
	"github.com/streambind/streambind/stream"
)

// TestResubscribeRefusedIsUnhealthy: a consumer that cannot subscribe
// again after the broker cancelled it (its queue deleted, and declaring it
// again refused) consumes nothing while its connection is up; its Health
// says so (readiness), and clears once it subscribed again. Before, Health
// stayed nil: the app was ready and consumed nothing.
func TestResubscribeRefusedIsUnhealthy(t *testing.T) {
	t.Parallel()
	vhost := rabbittest.VHost(t)
	// The re-subscribe back-off is capped at half a second (default 5s):
	// it doubles while rabbitmqctl gives the permission back (seconds
	// under load), and the test then waited out the back-off.
	_, tr := newTestBinder(t, map[string]any{"virtual-host": vhost, "reconnect-max-interval": "500ms"})
	dest := uniqueDest(t, "resub")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	got := make(chan string, 16)
	c, err := tr.BindConsumer(ctx, stream.ConsumerSpec{Binding: "resub-in-0", Destination: dest, Group: "g",
		Handler: func(_ context.Context, m stream.Envelope) error {
			got <- string(m.Payload)
			return nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop(context.Background())
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	hc := c.(stream.BindingHealthChecker)
	if err := hc.Health(ctx); err != nil {
		t.Fatalf("Health before: %v", err)
	}
	waitHealth := func(down bool) error {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			err := hc.Health(ctx)
			if (err != nil) == down {
				return err
			}
			if time.Now().After(deadline) {
				t.Fatalf("Health = %v after 20s, want down %v", err, down)
			}
			time.Sleep(20 * time.Millisecond) // polling the binding's state
		}
	}

	// No configure permission: the queue (and exchange) cannot be declared.
	rabbittest.SetPermissions(t, vhost, "^$", ".*", ".*")
	rabbittest.Ctl(t, "delete_queue", "-p", vhost, dest+".g")
	err = waitHealth(true)
	t.Logf("Health while re-subscribing is refused: %v", err)

	rabbittest.SetPermissions(t, vhost, ".*", ".*", ".*")
	waitHealth(false)
	conn, err := amqp.Dial(rabbittest.VHostURL(vhost))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	if err := ch.PublishWithContext(ctx, dest, "", false, false, amqp.Publishing{Body: []byte("after")}); err != nil {
		t.Fatal(err)
	}
	select {
	case p := <-got:
		if p != "after" {
			t.Fatalf("got %q", p)
		}
	case <-ctx.Done():
		t.Fatal("nothing consumed after the consumer subscribed again")
	}
}
