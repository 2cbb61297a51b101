package kafka_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/streambind/streambind/binder/kafka"
	"github.com/streambind/streambind/binder/kafka/kafkatest"
	"github.com/streambind/streambind/stream"
)

// TestHeaderMappingMessageKey: a function header mapping that sets
// kafka_messageKey (KafkaHeaders.KEY) gives the record its key, as in
// SCF + SCSt, where the mapped header is on the message the producer
// handler takes the key from: an output mapping's on a payload and on a
// Message output, sequential and pipelined, and an input mapping's (SCF
// copies the input's headers to a payload output). The header itself is
// not sent. Before, output mappings ran after the key was taken (the
// record had no key and a plain kafka_messageKey header) and an input
// mapping's key was dropped with the input's kafka_* headers.
func TestHeaderMappingMessageKey(t *testing.T) {
	t.Parallel()
	for _, mif := range []int{1, 64} {
		t.Run(fmt.Sprintf("max-in-flight=%d", mif), func(t *testing.T) {
			c := kafkatest.Start(t)
			fns := stream.NewCatalog()
			stream.AddFunction(fns, "up", func(_ context.Context, s string) (string, error) { return strings.ToUpper(s), nil })
			stream.AddFunction(fns, "msg", func(_ context.Context, s string) (stream.Message[string], error) {
				return stream.Message[string]{Payload: strings.ToUpper(s), Key: []byte("own")}, nil
			})
			stream.AddFunction(fns, "inkey", func(_ context.Context, s string) (string, error) { return strings.ToUpper(s), nil })
			in := func(g string) stream.BindingConfig {
				return stream.BindingConfig{Destination: "hmk-in", Group: g, Consumer: stream.ConsumerConfig{MaxInFlight: mif}}
			}
			outKey := stream.FunctionSettings{OutputHeaderMappingExpression: map[string]any{stream.HeaderMessageKey: "'K-' + payload"}}
			cfg := &stream.Config{
				Function: stream.FunctionConfig{Definition: "up;msg;inkey", Configuration: map[string]stream.FunctionSettings{
					"up": outKey, "msg": outKey,
					"inkey": {InputHeaderMappingExpression: map[string]any{stream.HeaderMessageKey: "'I-' + payload"}},
				}},
				OutputBindings: "feed",
				Binders:        map[string]stream.BinderConfig{"k": {Type: kafka.Type, Environment: map[string]any{"brokers": c.Brokers()}}},
				DefaultBinder:  "k",
				Bindings: map[string]stream.BindingConfig{
					"feed":        {Destination: "hmk-in"},
					"up-in-0":     in("up"),
					"up-out-0":    {Destination: "hmk-up"},
					"msg-in-0":    in("msg"),
					"msg-out-0":   {Destination: "hmk-msg"},
					"inkey-in-0":  in("inkey"),
					"inkey-out-0": {Destination: "hmk-inkey"},
				},
			}
			app := runApp(t, cfg, fns, slog.New(slog.DiscardHandler))
			if err := app.Bridge().Send(context.Background(), "feed", "a"); err != nil {
				t.Fatal(err)
			}
			for topic, want := range map[string]string{"hmk-up": "K-A", "hmk-msg": "K-A", "hmk-inkey": "I-a"} {
				r := readRaw(t, c, topic, 1)[0]
				if string(r.Key) != want {
					t.Errorf("%s: record %q has key %q, want %q", topic, r.Value, r.Key, want)
				}
				for _, h := range r.Headers {
					if h.Key == stream.HeaderMessageKey {
						t.Errorf("%s: record has a %s header %q", topic, h.Key, h.Value)
					}
				}
			}
		})
	}
}
