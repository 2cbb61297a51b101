package idempotency_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/streambind/streambind/binder/rabbit"
	"github.com/streambind/streambind/binder/rabbit/rabbittest"
	"github.com/streambind/streambind/internal/syncbuf"
	"github.com/streambind/streambind/stream"
)

// TestUnkeyedMessageHandledWithoutDeduplication: on every store, a
// RabbitMQ message without message_id (as Spring AMQP publishes by
// default) and without id has no key under the default key-expression and
// no delivery identity: it is handled — not dead-lettered, not dropped —
// without deduplication and without a mark; with the postgres store in a
// transaction all the same, so that the handler's Tx(ctx) is there and
// its writes commit. It is counted (Stats.Unkeyed,
// streambind_idempotency_unkeyed_total) and warned of once for the
// binding. Before, it failed for good ("expression ... yielded null").
func TestUnkeyedMessageHandledWithoutDeduplication(t *testing.T) {
	t.Parallel()
	for _, store := range []string{"postgres", "redis", "memory"} {
		t.Run(store, func(t *testing.T) {
			rabbittest.Require(t)
			vhost := rabbittest.VHost(t)
			br := broker{kind: "rabbit", yaml: fmt.Sprintf("    rabbit: { type: rabbit, environment: { addresses: %q, virtual-host: %q } }\n", rabbittest.Address(), vhost),
				options: []stream.Option{stream.WithBinderType(rabbit.Type, rabbit.New)}}
			st := newStores(t, store)
			var logs syncbuf.Buffer
			st.logger = testLoggerTo(&logs)
			calls := make(chan call, 10)
			ta := startApp(t, br, st, appSpec{store: store, consumer: "dlq: true, ", attempts: 1, handler: func(ctx context.Context, m stream.Message[order]) error {
				if store == "postgres" {
					if err := txEffect(ctx, st, m.Payload.N); err != nil {
						return err
					}
				}
				calls <- call{m.Headers.Get(stream.HeaderID), m.Payload.N}
				return nil
			}})
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			ch := rabbittest.Channel(t, vhost)
			for n := 1; n <= 2; n++ {
				if err := ch.PublishWithContext(ctx, "evt", "evt", false, false, amqp.Publishing{
					ContentType: "application/json", Body: []byte(fmt.Sprintf(`{"n":%d}`, n))}); err != nil {
					t.Fatal(err)
				}
			}
			for range 2 {
				if c := receive(t, calls, 30*time.Second); c.id != "" {
					t.Fatalf("the message has an id %q: not the case under test", c.id)
				}
			}
			if s := ta.idem.Stats("handle-in-0"); s.Unkeyed != 2 || s.Processed != 0 || s.Skipped != 0 {
				t.Errorf("stats %+v; want 2 unkeyed", s)
			}
			if n := counterValue(t, ta, "streambind_idempotency_unkeyed_total"); n != 2 {
				t.Errorf("streambind_idempotency_unkeyed_total %v, want 2", n)
			}
			if store == "postgres" {
				if n := st.count(t, "marks"); n != 0 {
					t.Errorf("%d marks written for messages without a key", n)
				}
				// The handler's send to calls comes before its transaction
				// commits (after it returned): the second commit may still
				// be on its way.
				waitFor(t, 10*time.Second, "both effects committed", func() bool { return st.count(t, "effects") >= 2 })
				if n := st.count(t, "effects"); n != 2 {
					t.Errorf("%d effects committed, want 2", n)
				}
			}
			var warned int
			for _, line := range strings.Split(logs.String(), "\n") {
				if strings.Contains(line, "level=WARN") && strings.Contains(line, "handled without deduplication") &&
					strings.Contains(line, "binding=handle-in-0") && strings.Contains(line, "message_id") {
					warned++
				}
			}
			if warned != 1 {
				t.Errorf("%d WARNs saying the message is handled without deduplication and to set message_id; want 1:\n%s", warned, logs.String())
			}
		})
	}
}

// testLoggerTo is a text logger into w.
func testLoggerTo(w io.Writer) *slog.Logger { return slog.New(slog.NewTextHandler(w, nil)) }

// counterValue is the value of ta's counter name for handle-in-0.
func counterValue(t testing.TB, ta *testApp, name string) float64 {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(ta.idem)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "binding" && l.GetValue() == "handle-in-0" {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	t.Fatalf("no %s for handle-in-0", name)
	return 0
}
