package kafka_test

// Adversarial tests of routing FROM a function (the
// spring.cloud.stream.sendto.destination header, b9a0ec1) on kfake.

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/streambind/streambind/binder/kafka"
	"github.com/streambind/streambind/binder/kafka/kafkatest"
	"github.com/streambind/streambind/stream"
)

// refuseInvalidTopics makes kfake answer as a Kafka broker does to the
// creation of a topic whose name Kafka does not allow (kfake creates it):
// INVALID_TOPIC_EXCEPTION.
func refuseInvalidTopics(c *kafkatest.Cluster) {
	valid := func(name string) bool {
		if name == "" || name == "." || name == ".." || len(name) > 249 {
			return false
		}
		for _, r := range name {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
				return false
			}
		}
		return true
	}
	c.Kfake.ControlKey(int16(kmsg.CreateTopics), func(kr kmsg.Request) (kmsg.Response, error, bool) {
		c.Kfake.KeepControl()
		req := kr.(*kmsg.CreateTopicsRequest)
		bad := false
		for _, rt := range req.Topics {
			bad = bad || !valid(rt.Topic)
		}
		if !bad {
			return nil, nil, false
		}
		resp := req.ResponseKind().(*kmsg.CreateTopicsResponse)
		for _, rt := range req.Topics {
			st := kmsg.NewCreateTopicsResponseTopic()
			st.Topic = rt.Topic
			if !valid(rt.Topic) {
				st.ErrorCode = kerr.InvalidTopicException.Code
			} else {
				st.ErrorCode = kerr.UnknownServerError.Code
			}
			resp.Topics = append(resp.Topics, st)
		}
		return resp, nil, true
	})
}

// A function's output names, by the header, a topic Kafka never accepts
// (a space in it; 250 characters). The name comes from the message, not
// the configuration: it will never bind, so the input is a poison message
// — as a name the allow-list refuses, it is dead-lettered. Before the fix
// the failed bind was an output's transient failure: the input was Nak'ed
// and redelivered for ever, and the partition behind it stuck (sequential
// or pipelined).
func TestBreakSendToInvalidTopicName(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, to string }{
		{"space", "bad topic"},
		{"too long", strings.Repeat("t", 250)},
	} {
		for _, pipelined := range []bool{false, true} {
			name := tc.name + "/sequential"
			maxInFlight := 1
			if pipelined {
				name, maxInFlight = tc.name+"/pipelined", 0
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				c := kafkatest.Start(t)
				refuseInvalidTopics(c)
				in := uniqueTopic(t)
				createTopic(t, c, in, 1, nil)
				fns := stream.NewCatalog()
				stream.AddFunction(fns, "route", func(_ context.Context, s string) (stream.Message[string], error) {
					if s == "poison" {
						return stream.NewMessage(s, stream.HeaderSendToDestination, tc.to), nil
					}
					return stream.NewMessage(s), nil
				})
				cfg := &stream.Config{
					Function:      stream.FunctionConfig{Definition: "route"},
					DefaultBinder: "k",
					Binders: map[string]stream.BinderConfig{"k": {Type: kafka.Type, Environment: map[string]any{
						"brokers": c.Brokers(), "auto-create-topics": true}}},
					Bindings: map[string]stream.BindingConfig{
						"route-in-0": {Destination: in, Group: "g", Consumer: stream.ConsumerConfig{
							MaxAttempts: 2, BackOffInitialInterval: time.Millisecond, BackOffMaxInterval: time.Millisecond,
							DLQ: true, MaxInFlight: maxInFlight}},
						"route-out-0": {Destination: in + "-out"},
					},
				}
				app := runApp(t, cfg, fns, (&logRecorder{}).logger())
				ctx := context.Background()
				for _, s := range []string{"poison", "after"} {
					if err := app.Bridge().Send(ctx, in, s); err != nil {
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
				t.Fatalf("header naming %q: input neither dead-lettered nor passed in 10s: stats %+v", tc.to, app.Binding("route-in-0").Stats())
			})
		}
	}
}
