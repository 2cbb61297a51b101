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

// TestHeaderTypesThroughFunction: a Java producer's typed AMQP headers
// (int32, bool, double, int64) leave a Go function's output in their
// types, as SCSt passes the header objects through: for a function that
// returns a payload (the output inherits the headers) and one that
// returns a Message with the input's headers; a header the function
// changed goes as its new text. Before, every one left as a string, and a
// downstream Java headers['level'] > 3 or a partition key on it broke.
func TestHeaderTypesThroughFunction(t *testing.T) {
	t.Parallel()
	vhost := rabbittest.VHost(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	fns := stream.NewCatalog()
	stream.AddFunction(fns, "plain", func(_ context.Context, s string) (string, error) { return strings.ToUpper(s), nil })
	stream.AddFunction(fns, "msg", func(_ context.Context, m stream.Message[string]) (stream.Message[string], error) {
		return stream.Message[string]{Payload: m.Payload + "!", Headers: m.Headers.With("changed", "2")}, nil
	})
	stop := startPrefixApp(t, vhost, `  function:
    definition: plain;msg
  bindings:
    plain-in-0:
      destination: in1
      group: g
      content-type: text/plain
    plain-out-0:
      destination: out1
      content-type: text/plain
    msg-in-0:
      destination: in2
      group: g
      content-type: text/plain
    msg-out-0:
      destination: out2
      content-type: text/plain
`, fns)
	defer func() { _ = stop() }()
	ch := rabbittest.Channel(t, vhost)
	typed := amqp.Table{"level": int32(5), "flag": true, "ratio": 0.5, "big": int64(1) << 40, "changed": int32(1), "text": "t"}
	for _, d := range []string{"1", "2"} {
		raw := "out" + d + ".raw"
		if _, err := ch.QueueDeclare(raw, false, false, false, false, nil); err != nil {
			t.Fatal(err)
		}
		if err := ch.QueueBind(raw, "#", "out"+d, false, nil); err != nil {
			t.Fatal(err)
		}
		if err := ch.PublishWithContext(ctx, "in"+d, "in"+d, false, false, amqp.Publishing{ContentType: "text/plain", Headers: typed, Body: []byte("m")}); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range []string{"1", "2"} {
		out := getOne(ctx, t, ch, "out"+d+".raw")
		want := amqp.Table{"level": int32(5), "flag": true, "ratio": 0.5, "big": int64(1) << 40, "changed": int32(1), "text": "t"}
		if d == "2" {
			want["changed"] = "2" // changed by the function: its new text
		}
		for k, v := range want {
			if out.Headers[k] != v {
				t.Errorf("out%s: header %s = %#v (%T), want %#v (%T)", d, k, out.Headers[k], out.Headers[k], v, v)
			}
		}
	}
}
