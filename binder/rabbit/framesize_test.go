package rabbit

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/streambind/streambind/binder/rabbit/rabbittest"
	"github.com/streambind/streambind/stream"
)

// TestHeaderFrameSizeExact: the size checkPublishing computes for a
// content-header frame is the size amqp091-go puts on the wire, measured by
// a proxy between the binder and the broker, for every field type and
// property.
func TestHeaderFrameSizeExact(t *testing.T) {
	var (
		mu    sync.Mutex
		sizes []int
	)
	px := rabbittest.NewProxy(t, func(typ byte, _ uint16, payload []byte) {
		if typ == 2 { // content header
			mu.Lock()
			sizes = append(sizes, len(payload))
			mu.Unlock()
		}
	})
	b, tr := newTestBinder(t, map[string]any{"addresses": px.Addr()})
	dest := uniqueDest(t, "framesize")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := tr.BindProducer(ctx, stream.ProducerSpec{Binding: "fs-out-0", Destination: dest}); err != nil {
		t.Fatal(err)
	}
	msgs := []amqp.Publishing{
		{MessageId: "m1", Body: []byte("x")},
		{MessageId: "m2", ContentType: "application/json", DeliveryMode: amqp.Persistent, Headers: amqp.Table{"a": "b", "contentType": "application/json"}},
		{MessageId: "m3", ContentEncoding: "gzip", CorrelationId: "c", ReplyTo: "r", Expiration: "60000", Type: "t", UserId: "guest", AppId: "app",
			Priority: 3, Timestamp: time.Unix(1700000000, 0), Headers: amqp.Table{
				"s": "str", "bytes": []byte{1, 2, 3}, "bool": true, "i8": int8(-1), "u8": byte(2), "i16": int16(3), "u16": uint16(4),
				"i": 5, "i32": int32(6), "u32": uint32(7), "i64": int64(8), "f32": float32(1.5), "f64": 2.5, "dec": amqp.Decimal{Scale: 2, Value: 314},
				"time": time.Unix(1700000000, 0), "nil": nil, "table": amqp.Table{"k": "v", "n": int64(1)}, "array": []any{"a", int32(1), []byte("z")},
			}},
		{MessageId: "m4", Headers: amqp.Table{"big": strings.Repeat("h", 10_000)}},
	}
	for _, m := range msgs {
		if err := b.pub.publish(ctx, dest, "k", false, m); err != nil {
			t.Fatalf("publish %s: %v", m.MessageId, err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(sizes) != len(msgs) {
		t.Fatalf("saw %d header frames, want %d", len(sizes), len(msgs))
	}
	for i := range msgs {
		want, err := headerFrameSize(&msgs[i])
		if err != nil {
			t.Fatal(err)
		}
		if sizes[i] != want {
			t.Errorf("%s: header frame of %d bytes on the wire, computed %d", msgs[i].MessageId, sizes[i], want)
		}
	}
}

// TestLargestHeaderFrameAccepted: a message whose header frame is exactly
// as large as checkPublishing admits (frame_max − 8) is accepted by the
// broker, one byte more is refused before publishing.
func TestLargestHeaderFrameAccepted(t *testing.T) {
	b, tr := newTestBinder(t, nil)
	dest := uniqueDest(t, "largest")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := tr.BindProducer(ctx, stream.ProducerSpec{Binding: "l-out-0", Destination: dest}); err != nil {
		t.Fatal(err)
	}
	conn, _, err := b.pubMgr.get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	limit := frameMax(conn) - frameOverhead
	msg := amqp.Publishing{MessageId: "largest", Headers: amqp.Table{"h": ""}}
	n, _ := headerFrameSize(&msg)
	msg.Headers["h"] = strings.Repeat("h", limit-n)
	if n, _ := headerFrameSize(&msg); n != limit {
		t.Fatalf("built %d bytes, want %d", n, limit)
	}
	gen := b.pubMgr.generation()
	if err := b.pub.publish(ctx, dest, "k", false, msg); err != nil {
		t.Fatalf("header frame of frame_max-8 bytes: %v", err)
	}
	msg.Headers["h"] = msg.Headers["h"].(string) + "h"
	if err := b.pub.publish(ctx, dest, "k", false, msg); !isPermanent(err) {
		t.Fatalf("one byte more: %v, want ErrTooLarge", err)
	}
	if g := b.pubMgr.generation(); g != gen {
		t.Fatalf("the connection was lost %d times", g-gen)
	}
}
