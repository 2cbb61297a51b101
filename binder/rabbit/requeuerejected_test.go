package rabbit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/streambind/streambind/binder/bindertest"
	"github.com/streambind/streambind/binder/rabbit/rabbittest"
	"github.com/streambind/streambind/config"
	"github.com/streambind/streambind/internal/syncbuf"
	"github.com/streambind/streambind/stream"
)

// With requeue-rejected a message that failed every attempt is requeued,
// not dead-lettered or dropped: the core counts an error, no failure,
// drop or dead letter, logs that it is requeued (not "DROPPED" or "sending
// to the dead-letter queue"), and calls no ErrorHandler; the message comes
// again and succeeds, and the DLQ stays empty. That is so without dlq, and
// with dlq only when retries are off and republish-to-dlq is false, as in
// SCSt's binder: with dlq otherwise the first arrival's failure goes to
// the DLQ (republished, or rejected for the broker to dead-letter), with
// a WARN at bind.
func TestRequeueRejectedCountedAsRequeued(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		dlq         bool
		maxAttempts int
		republish   bool
	}{{false, 1, true}, {false, 2, true}, {true, 1, false}, {true, 1, true}, {true, 2, false}} {
		dlq := tc.dlq
		requeued := !dlq || tc.maxAttempts == 1 && !tc.republish
		t.Run(fmt.Sprintf("dlq=%v,max-attempts=%d,republish=%v", dlq, tc.maxAttempts, tc.republish), func(t *testing.T) {
			t.Parallel()
			vhost := rabbittest.VHost(t)
			dest := uniqueDest(t, "rqr")
			fails := 3 * tc.maxAttempts // three arrivals fail
			if !requeued {
				fails = tc.maxAttempts // one arrival, then its dead letter
			}
			var mu sync.Mutex
			calls := 0
			handled := make(chan struct{})
			fns := stream.NewCatalog()
			stream.AddConsumer(fns, "pay", func(_ context.Context, s string) error {
				mu.Lock()
				defer mu.Unlock()
				calls++
				if calls < fails {
					return errors.New("card declined")
				}
				if calls == fails {
					if !requeued {
						close(handled) // its dead letter follows
					}
					return errors.New("card declined")
				}
				if calls == fails+1 && requeued {
					close(handled)
				}
				return nil
			})
			yaml := fmt.Sprintf(`stream:
  function:
    definition: pay
  default-binder: r
  binders:
    r:
      type: rabbit
      environment:
        addresses: %q
        virtual-host: %q
  bindings:
    pay-in-0:
      destination: %s
      group: g
      content-type: text/plain
      consumer:
        max-attempts: %d
        back-off-initial-interval: 1ms
        dlq: %v
  rabbit:
    bindings:
      pay-in-0:
        consumer:
          requeue-rejected: true
          republish-to-dlq: %v
          redelivery-delay: 10ms
`, rabbittest.Address(), vhost, dest, tc.maxAttempts, dlq, tc.republish)
			l, err := config.Load(config.Options{Data: []byte(yaml), Env: []string{}})
			if err != nil {
				t.Fatal(err)
			}
			var logs syncbuf.Buffer
			errHandler := make(chan stream.FailedMessage, 10)
			app, err := stream.NewApp(l.Stream, fns, stream.WithBinderType(Type, New), stream.WithoutSignals(),
				stream.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))),
				stream.WithErrorHandler("pay-in-0", func(_ context.Context, m stream.FailedMessage) { errHandler <- m }))
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			stop := bindertest.RunApp(t, app)
			ch := rabbittest.Channel(t, vhost)
			if err := ch.PublishWithContext(ctx, dest, "", false, false, amqp.Publishing{ContentType: "text/plain", Body: []byte("order-1")}); err != nil {
				t.Fatal(err)
			}
			select {
			case <-handled:
			case <-ctx.Done():
				t.Fatalf("not handled; log:\n%s", logs.String())
			}
			if !requeued {
				// Dead-lettered: wait for the DLQ to hold it.
				for {
					q, err := ch.QueueDeclarePassive(dest+".g.dlq", true, false, false, false, nil)
					if err != nil {
						t.Fatal(err)
					}
					if q.Messages == 1 {
						break
					}
					select {
					case <-ctx.Done():
						t.Fatalf("no dead letter; log:\n%s", logs.String())
					case <-time.After(10 * time.Millisecond):
					}
				}
			}
			if err := stop(); err != nil {
				t.Fatal(err)
			}
			st := app.Binding("pay-in-0").Stats()
			out := logs.String()
			if !requeued {
				if st.Processed != 0 || st.Failed != 1 || st.DeadLettered != 1 || st.Errors != 0 {
					t.Errorf("stats %+v: want one failure, dead-lettered", st)
				}
				select {
				case m := <-errHandler:
					if !m.DeadLettered {
						t.Errorf("ErrorHandler: %+v, want DeadLettered", m)
					}
				default:
					t.Error("ErrorHandler not called for the dead-lettered message")
				}
				if !strings.Contains(out, "requeue-rejected has no effect") {
					t.Errorf("no WARN that requeue-rejected does not apply:\n%s", out)
				}
				return
			}
			const arrivals = 3
			if st.Processed != 1 || st.Failed != 0 || st.Dropped != 0 || st.DeadLettered != 0 || st.Errors != arrivals {
				t.Errorf("stats %+v: want processed 1, errors %d, no failure, drop or dead letter", st, arrivals)
			}
			select {
			case m := <-errHandler:
				t.Errorf("ErrorHandler called for a requeued message: %+v", m)
			default:
			}
			if strings.Contains(out, "DROPPED") || strings.Contains(out, "dead-letter queue") || strings.Contains(out, "has no effect") {
				t.Errorf("a requeued message logged as dropped or dead-lettered, or a false WARN:\n%s", out)
			}
			if n := strings.Count(out, "requeued for redelivery (requeue-rejected)"); n != arrivals {
				t.Errorf("%d requeue lines, want %d:\n%s", n, arrivals, out)
			}
			if dlq {
				q, err := ch.QueueDeclarePassive(dest+".g.dlq", true, false, false, false, nil)
				if err != nil {
					t.Fatal(err)
				}
				if q.Messages != 0 {
					t.Errorf("%d dead letters, want 0", q.Messages)
				}
			}
		})
	}
}
