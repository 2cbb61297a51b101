package kafka_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/streambind/streambind/binder/kafka"
	"github.com/streambind/streambind/binder/kafka/kafkatest"
	"github.com/streambind/streambind/stream"
)

// TestJavaHeaderTypesThroughFunction: the headers a Java SCSt producer
// wrote as Integer, Boolean and Double (its spring_json_header_types)
// leave a Go function's output with those classes, as SCSt passes the
// header objects through: for a function that returns a payload (the
// output inherits the headers) and one that returns a Message with the
// input's headers; a header the function changed goes as a String.
// Before, the output listed every one as java.lang.String, and a
// downstream Java headers['level'] > 3 or a partition key on it broke.
func TestJavaHeaderTypesThroughFunction(t *testing.T) {
	t.Parallel()
	c := kafkatest.Start(t)
	fns := stream.NewCatalog()
	stream.AddFunction(fns, "plain", func(_ context.Context, s string) (string, error) { return strings.ToUpper(s), nil })
	stream.AddFunction(fns, "msg", func(_ context.Context, m stream.Message[string]) (stream.Message[string], error) {
		return stream.Message[string]{Payload: m.Payload + "!", Headers: m.Headers.With("changed", "2")}, nil
	})
	cfg := &stream.Config{
		Function:      stream.FunctionConfig{Definition: "plain;msg"},
		DefaultBinder: "k",
		Binders: map[string]stream.BinderConfig{"k": {Type: kafka.Type, Environment: map[string]any{
			"brokers": c.Brokers()}}},
		Bindings: map[string]stream.BindingConfig{
			"plain-in-0":  {Destination: "typed-in1", Group: "g", ContentType: "text/plain"},
			"plain-out-0": {Destination: "typed-out1", ContentType: "text/plain"},
			"msg-in-0":    {Destination: "typed-in2", Group: "g", ContentType: "text/plain"},
			"msg-out-0":   {Destination: "typed-out2", ContentType: "text/plain"},
		},
	}
	runApp(t, cfg, fns, slog.New(slog.DiscardHandler))
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.Addrs()...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// As Spring Kafka's BinderHeaderMapper writes them.
	headers := []kgo.RecordHeader{
		{Key: "contentType", Value: []byte(`"text/plain"`)},
		{Key: "level", Value: []byte("5")},
		{Key: "flag", Value: []byte("true")},
		{Key: "ratio", Value: []byte("0.5")},
		{Key: "changed", Value: []byte("1")},
		{Key: "x-tenant", Value: []byte(`"t1"`)},
		{Key: "spring_json_header_types", Value: []byte(`{"contentType":"java.lang.String","level":"java.lang.Integer","flag":"java.lang.Boolean","ratio":"java.lang.Double","changed":"java.lang.Integer","x-tenant":"java.lang.String"}`)},
	}
	for _, topic := range []string{"typed-in1", "typed-in2"} {
		if err := cl.ProduceSync(ctx, &kgo.Record{Topic: topic, Value: []byte("m"), Headers: headers}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	for _, out := range []string{"typed-out1", "typed-out2"} {
		r := readRaw(t, c, out, 1)[0]
		raw := map[string]string{}
		for _, h := range r.Headers {
			raw[h.Key] = string(h.Value)
		}
		var types map[string]string
		if err := json.Unmarshal([]byte(raw["spring_json_header_types"]), &types); err != nil {
			t.Fatalf("%s: spring_json_header_types %q: %v", out, raw["spring_json_header_types"], err)
		}
		want := map[string][2]string{"level": {"5", "java.lang.Integer"}, "flag": {"true", "java.lang.Boolean"},
			"ratio": {"0.5", "java.lang.Double"}, "changed": {"1", "java.lang.Integer"}, "x-tenant": {"t1", "java.lang.String"}}
		if out == "typed-out2" {
			want["changed"] = [2]string{"2", "java.lang.String"} // changed by the function
		}
		for k, w := range want {
			if raw[k] != w[0] || types[k] != w[1] {
				t.Errorf("%s: header %s = %q as %q, want %q as %q", out, k, raw[k], types[k], w[0], w[1])
			}
		}
	}
}
