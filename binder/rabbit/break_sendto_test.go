package rabbit

// Adversarial tests of routing FROM a function (the
// spring.cloud.stream.sendto.destination header, b9a0ec1) on RabbitMQ.

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/rabbit/rabbittest"
	"github.com/streambind/streambind/stream"
)

// A function's output names, by the header, an exchange the broker will
// never let the app declare: a reserved "amq." name (ACCESS_REFUSED), a
// name over AMQP's 255-byte limit. The name comes from the message: it
// will never bind, so the input is a poison message — as a name the
// allow-list refuses, it is dead-lettered. Before the fix the failed bind
// was an output's transient failure: the input was requeued for ever and
// the messages behind it (max-in-flight 1) waited.
func TestBreakSendToRefusedExchange(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, to string }{
		{"reserved", "amq.sendto-refused"},
		{"too long", strings.Repeat("x", 300)},
	} {
		for _, maxInFlight := range []int{1, 8} {
			name := tc.name + "/sequential"
			if maxInFlight > 1 {
				name = tc.name + "/pipelined"
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				vhost := rabbittest.VHost(t)
				fns := stream.NewCatalog()
				stream.AddFunction(fns, "route", func(_ context.Context, s string) (stream.Message[string], error) {
					if s == "poison" {
						return stream.NewMessage(s, stream.HeaderSendToDestination, tc.to), nil
					}
					return stream.NewMessage(s), nil
				})
				cfg := &stream.Config{
					Function:      stream.FunctionConfig{Definition: "route"},
					DefaultBinder: "rabbit",
					Binders: map[string]stream.BinderConfig{"rabbit": {Type: Type, Environment: map[string]any{
						"addresses": rabbittest.Address(), "virtual-host": vhost, "reconnect-initial-interval": "50ms"}}},
					Bindings: map[string]stream.BindingConfig{
						"route-in-0": {Destination: "sendto-in", Group: "g", Consumer: stream.ConsumerConfig{
							MaxAttempts: 2, BackOffInitialInterval: time.Millisecond, BackOffMaxInterval: time.Millisecond,
							DLQ: true, MaxInFlight: maxInFlight}},
						"route-out-0": {Destination: "sendto-out", Producer: stream.ProducerConfig{RequiredGroups: []string{"g"}}},
					},
				}
				app, err := stream.NewApp(cfg, fns, stream.WithBinderType(Type, New), stream.WithoutSignals(),
					stream.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
				if err != nil {
					t.Fatal(err)
				}
				ctx, cancel := context.WithCancel(context.Background())
				done := make(chan error, 1)
				go func() { done <- app.Run(ctx) }()
				t.Cleanup(func() { cancel(); <-done })
				select {
				case <-app.Ready():
				case err := <-done:
					t.Fatalf("app ended: %v", err)
				case <-time.After(20 * time.Second):
					t.Fatal("app not ready")
				}
				for _, s := range []string{"poison", "after"} {
					if err := app.Bridge().Send(ctx, "sendto-in", s); err != nil {
						t.Fatal(err)
					}
				}
				deadline := time.Now().Add(10 * time.Second)
				for time.Now().Before(deadline) {
					s := app.Binding("route-in-0").Stats()
					if s.DeadLettered == 1 && s.Processed == 1 {
						return
					}
					time.Sleep(50 * time.Millisecond)
				}
				t.Fatalf("header naming %.40q: input neither dead-lettered nor passed in 10s: stats %+v", tc.to, app.Binding("route-in-0").Stats())
			})
		}
	}
}
