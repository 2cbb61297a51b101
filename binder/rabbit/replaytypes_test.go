package rabbit

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/streambind/streambind/binder/rabbit/rabbittest"
	"github.com/streambind/streambind/stream"
)

// TestReplayNativeHeadersFallBackToText: a producer sends an envelope's
// NativeHeaders (a replayed dead letter's AMQP header values) in place of
// the text headers that still read as them, and the text otherwise: a
// header changed on the way stays text, a value AMQP cannot encode goes
// as its text with a warning, and a message whose typed headers do not fit
// the frame (an array of int64 zeros: 9 bytes each, 2 as text) goes with
// all its headers as text, with a warning, by Send and by SendAsync: the
// replay never loses the message for its types.
func TestReplayNativeHeadersFallBackToText(t *testing.T) {
	t.Parallel()
	vhost := rabbittest.VHost(t)
	_, tr := newTestBinder(t, map[string]any{"virtual-host": vhost})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	log, logs := newLevelLog()
	dest := uniqueDest(t, "replaytypes")
	p, err := tr.BindProducer(ctx, stream.ProducerSpec{Binding: "rt-out-0", Destination: dest, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(context.Background())
	ch := rabbittest.Channel(t, vhost)
	q := dest + ".raw"
	if _, err := ch.QueueDeclare(q, false, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	if err := ch.QueueBind(q, "#", dest, false, nil); err != nil {
		t.Fatal(err)
	}
	next := func() amqp.Delivery {
		t.Helper()
		for {
			d, ok, err := ch.Get(q, true)
			if err != nil {
				t.Fatal(err)
			}
			if ok {
				return d
			}
			if ctx.Err() != nil {
				t.Fatal("no message")
			}
			time.Sleep(20 * time.Millisecond) // polling the queue
		}
	}

	type odd struct{}
	env := stream.Envelope{Payload: []byte("a"),
		Headers:       stream.Headers{"n": "7", "changed": "new", "bad": headerString(odd{})},
		NativeHeaders: map[string]any{"n": int32(7), "changed": int32(1), "bad": odd{}, "gone": true}}
	if err := p.Send(ctx, env); err != nil {
		t.Fatal(err)
	}
	d := next()
	for k, v := range map[string]any{"n": int32(7), "changed": "new", "bad": "{}"} {
		if !reflect.DeepEqual(d.Headers[k], v) {
			t.Errorf("header %s = %#v (%T), want %#v (%T)", k, d.Headers[k], d.Headers[k], v, v)
		}
	}
	if _, ok := d.Headers["gone"]; ok {
		t.Error("a native value without its text header was sent")
	}
	if l := logs(); !strings.Contains(l, "level=WARN") || !strings.Contains(l, "header values AMQP cannot encode are sent as text") || !strings.Contains(l, "headers=bad") {
		t.Errorf("no warning naming the header sent as text:\n%s", l)
	}

	zeros := make([]any, 20000)
	for i := range zeros {
		zeros[i] = int64(0)
	}
	big := stream.Envelope{Payload: []byte("b"),
		Headers:       stream.Headers{"zeros": headerString(zeros), "n": "7"},
		NativeHeaders: map[string]any{"zeros": zeros, "n": int32(7)}}
	check := func(how string) {
		t.Helper()
		d := next()
		if d.Headers["zeros"] != headerString(zeros) || d.Headers["n"] != "7" {
			t.Errorf("%s: headers n=%#v, zeros %T; want both as text", how, d.Headers["n"], d.Headers["zeros"])
		}
		if n := strings.Count(logs(), "message sent with its headers as text"); n == 0 {
			t.Errorf("%s: no warning that the headers went as text:\n%s", how, logs())
		}
	}
	if err := p.Send(ctx, big); err != nil {
		t.Fatalf("Send: %v", err)
	}
	check("Send")
	done := make(chan error, 1)
	p.(stream.AsyncProducer).SendAsync(ctx, big, func(err error) { done <- err })
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("SendAsync: %v", err)
		}
	case <-ctx.Done():
		t.Fatal("SendAsync: no result")
	}
	check("SendAsync")
	if n := strings.Count(logs(), "message sent with its headers as text"); n != 2 {
		t.Errorf("%d warnings that the headers went as text, want 2:\n%s", n, logs())
	}
}
