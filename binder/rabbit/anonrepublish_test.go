package rabbit

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/streambind/streambind/binder/rabbit/rabbittest"
	"github.com/streambind/streambind/internal/syncbuf"
	"github.com/streambind/streambind/stream"
)

// TestAnonymousConsumerRepublishesToDLX: an anonymous consumer with dlq
// (SCSt's auto-bind-dlq) and republish-to-dlq (the default) publishes a
// failed message to the DLX itself, as SCSt's RabbitMessageChannelBinder
// does for every consumer (its error handler does not depend on the
// group), with the key its queue's x-dead-letter-routing-key names
// (dead-letter-routing-key, else the queue's own name) and the headers a
// group's dead letter has: x-exception-message, x-exception-stacktrace,
// x-original-exchange, x-original-routingKey, and no x-death. Before, it
// was rejected and the broker dead-lettered it with x-death only. With
// republish-to-dlq: false it still is.
func TestAnonymousConsumerRepublishesToDLX(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		ext       map[string]any
		republish bool
	}{
		{"queue name as key", nil, true},
		{"dead-letter-routing-key", map[string]any{"dead-letter-routing-key": "anon-dl"}, true},
		{"republish-to-dlq false", map[string]any{"dead-letter-routing-key": "anon-dl", "republish-to-dlq": false}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			vhost := rabbittest.VHost(t)
			_, tr := newTestBinder(t, map[string]any{"virtual-host": vhost})
			dest := uniqueDest(t, "anonrepub")
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			admin := rabbittest.Channel(t, vhost)
			if err := admin.ExchangeDeclare("DLX", "direct", true, false, false, false, nil); err != nil {
				t.Fatal(err)
			}
			if _, err := admin.QueueDeclare("anon-dead", true, false, false, false, nil); err != nil {
				t.Fatal(err)
			}
			var calls atomic.Int32
			c, err := tr.BindConsumer(ctx, stream.ConsumerSpec{Binding: "an-in-0", Destination: dest,
				Consumer:  stream.ConsumerConfig{DLQ: true, MaxAttempts: 1},
				Extension: tc.ext,
				Handler: func(context.Context, stream.Envelope) error {
					calls.Add(1)
					return errors.New("refused by the handler")
				}})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Stop(context.Background())
			if err := c.Start(ctx); err != nil {
				t.Fatal(err)
			}
			q := *c.(*consumer).running.Load()
			key := q
			if k, ok := tc.ext["dead-letter-routing-key"].(string); ok {
				key = k
			}
			if err := admin.QueueBind("anon-dead", key, "DLX", false, nil); err != nil {
				t.Fatal(err)
			}
			publish(ctx, t, rabbittest.Channel(t, vhost), dest, "rk-1", "failing")
			d := getOne(ctx, t, admin, "anon-dead")
			if string(d.Body) != "failing" {
				t.Errorf("dead-lettered %q", d.Body)
			}
			xs, _ := d.Headers["x-death"].([]any)
			if !tc.republish {
				if len(xs) == 0 {
					t.Errorf("no x-death: %v", d.Headers)
				} else if x, _ := xs[0].(amqp.Table); x["queue"] != q || x["reason"] != "rejected" {
					t.Errorf("x-death[0] %v, want queue %s, reason rejected", xs[0], q)
				}
				for h := range d.Headers {
					if strings.HasPrefix(h, "x-exception-") {
						t.Errorf("header %s on a message the broker dead-lettered: %v", h, d.Headers)
					}
				}
				return
			}
			if len(xs) != 0 {
				t.Errorf("x-death %v on a republished dead letter", xs)
			}
			for h, want := range map[string]string{
				stream.HeaderExceptionMessage:   "refused by the handler",
				stream.HeaderOriginalExchange:   dest,
				stream.HeaderOriginalRoutingKey: "rk-1",
			} {
				if got, _ := d.Headers[h].(string); got != want {
					t.Errorf("%s = %q, want %q (headers %v)", h, got, want, d.Headers)
				}
			}
			if st, _ := d.Headers[stream.HeaderExceptionStacktrace].(string); st == "" {
				t.Errorf("no %s: %v", stream.HeaderExceptionStacktrace, d.Headers)
			}
			if n := calls.Load(); n != 1 {
				t.Errorf("handler called %d times, want 1", n)
			}
		})
	}
}

// TestAnonymousDeadLetterToNowhereDropped: an anonymous consumer has no
// DLQ (none is declared for it, as in SCSt), so its republished dead
// letter may reach no queue: nothing bound to the DLX with its key
// (returned as unroutable), or no DLX at all. It is then dropped at once,
// counted and logged at ERROR, as the broker's own dead-lettering would
// drop it: not declared again, retried or requeued (a group's dead letter
// is, its DLQ declared again). A message after it is handled, and the
// failed one is not handled again.
func TestAnonymousDeadLetterToNowhereDropped(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name       string
		declareDLX bool
	}{{"unroutable", true}, {"no DLX", false}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			vhost := rabbittest.VHost(t)
			logs := &syncbuf.Buffer{}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			bd := newLoggedBinder(t, vhost, logs)
			admin := rabbittest.Channel(t, vhost)
			if tc.declareDLX {
				if err := admin.ExchangeDeclare("DLX", "direct", true, false, false, false, nil); err != nil {
					t.Fatal(err)
				}
			}
			dest := uniqueDest(t, "anonnowhere")
			var failing atomic.Int32
			handled := make(chan struct{}, 1)
			c, err := bd.BindConsumer(ctx, stream.ConsumerSpec{Binding: "an-in-0", Destination: dest,
				Consumer: stream.ConsumerConfig{DLQ: true, MaxAttempts: 1, Concurrency: 1},
				Handler: func(_ context.Context, m stream.Envelope) error {
					if string(m.Payload) == "failing" {
						failing.Add(1)
						return errors.New("refused by the handler")
					}
					handled <- struct{}{}
					return nil
				}})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Stop(context.Background())
			if err := c.Start(ctx); err != nil {
				t.Fatal(err)
			}
			pub := rabbittest.Channel(t, vhost)
			publish(ctx, t, pub, dest, "", "failing")
			dr := c.(stream.DeadLetterReporter)
			tick := time.NewTicker(10 * time.Millisecond)
			defer tick.Stop()
			for dr.DeadLetterStats().Dropped == 0 {
				select {
				case <-ctx.Done():
					t.Fatalf("the failed message was not dropped (handled %d times); logs:\n%.3000s", failing.Load(), logs.String())
				case <-tick.C:
				}
			}
			// The worker (concurrency 1) takes the next message only once
			// the failed one is settled: requeued, it would come again.
			publish(ctx, t, pub, dest, "", "next")
			select {
			case <-handled:
			case <-ctx.Done():
				t.Fatal("the message after the failed one was not handled")
			}
			if n, d := failing.Load(), dr.DeadLetterStats().Dropped; n != 1 || d != 1 {
				t.Errorf("failed message handled %d times, %d dropped; want 1 and 1", n, d)
			}
			var errLines []string
			for _, l := range strings.Split(logs.String(), "\n") {
				if strings.Contains(l, "without a DLQ reached no queue") {
					errLines = append(errLines, l)
				}
			}
			if len(errLines) != 1 || !strings.Contains(errLines[0], "level=ERROR") {
				t.Errorf("want one ERROR line saying the dead letter reached no queue; logs:\n%.3000s", logs.String())
			}
		})
	}
}
