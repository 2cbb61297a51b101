package rabbit

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/streambind/streambind/binder/rabbit/rabbittest"
	"github.com/streambind/streambind/stream"
)

// TestBatchTypedHeaders: a batching producer sends an envelope's
// NativeHeaders in their AMQP types, as Send does unbatched: a batch of one
// (Send, released by batch-timeout) keeps its typed int32 and bool
// headers, and a batch of two carries its first message's typed headers
// (SimpleBatchingStrategy: the batch has the first message's headers),
// compressed or not. Before, a batching producer sent them as text.
func TestBatchTypedHeaders(t *testing.T) {
	t.Parallel()
	for _, compress := range []bool{false, true} {
		t.Run(fmt.Sprintf("compress=%v", compress), func(t *testing.T) {
			t.Parallel()
			vhost := rabbittest.VHost(t)
			_, tr := newTestBinder(t, map[string]any{"virtual-host": vhost})
			dest := uniqueDest(t, "batchtyped")
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			p := batchingProducer(t, ctx, tr, dest, stream.ProducerConfig{}, map[string]any{
				"batch-size": 2, "batch-timeout": "100ms", "compress": compress})
			defer p.Close(context.Background())
			ch := rabbittest.Channel(t, vhost)
			env := func(n int32) stream.Envelope {
				return stream.Envelope{Payload: []byte(fmt.Sprint("m", n)),
					Headers:       stream.Headers{"n": fmt.Sprint(n), "ok": "true"},
					NativeHeaders: map[string]any{"n": n, "ok": true}}
			}
			check := func(what string, d amqp.Delivery, n int32) {
				t.Helper()
				if d.Headers["n"] != n || d.Headers["ok"] != true {
					t.Errorf("%s: headers n=%#v (%T) ok=%#v (%T), want int32 %d and bool true", what, d.Headers["n"], d.Headers["n"], d.Headers["ok"], d.Headers["ok"], n)
				}
			}

			// A batch of one.
			if err := p.Send(ctx, env(7)); err != nil {
				t.Fatal(err)
			}
			d := getRaw(t, ch, dest+".raw")
			if d.Headers[springBatchFormatHeader] != nil {
				t.Errorf("a lone message went as a batch: %v", d.Headers)
			}
			check("batch of one", d, 7)

			// A batch of two: the first message's typed headers.
			res := make(chan error, 2)
			for _, n := range []int32{8, 9} {
				p.(stream.AsyncProducer).SendAsync(ctx, env(n), func(err error) { res <- err })
			}
			for range 2 {
				if err := <-res; err != nil {
					t.Fatal(err)
				}
			}
			d = getRaw(t, ch, dest+".raw")
			if d.Headers[amqpBatchSizeHeader] != int32(2) {
				t.Errorf("not a batch of two: %v", d.Headers)
			}
			check("batch of two", d, 8)
		})
	}
}

// TestBatcherEndsWhenBindRefused: a batching producer that the binder
// refuses because it was closed while binding (addProducer) has its
// batcher's goroutine ended. Before, run stayed blocked for ever.
func TestBatcherEndsWhenBindRefused(t *testing.T) {
	t.Parallel()
	b, _ := newTestBinder(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := b.Close(ctx); err != nil {
		t.Fatal(err)
	}
	p := &producer{bd: b, spec: stream.ProducerSpec{Binding: "x-out-0", Destination: "x"}}
	p.batch = newBatcher(p, 10, 1000, time.Minute, 0)
	if err := b.addProducer(p); !errors.Is(err, stream.ErrClosed) {
		t.Fatalf("addProducer on a closed binder: %v, want ErrClosed", err)
	}
	select {
	case <-p.batch.runDone:
	case <-ctx.Done():
		t.Fatal("the refused producer's batcher goroutine still runs")
	}
}

// TestBatchFrameMaxPerConnection: a batching producer checks its messages
// against the frame_max of the publisher's connection of the moment, not
// the first one's: a connection negotiated with another frame_max (here
// one dialed with 8192, put in the manager's place for the check) is
// honoured. Before, the first connection's frame_max was kept for ever.
func TestBatchFrameMaxPerConnection(t *testing.T) {
	t.Parallel()
	vhost := rabbittest.VHost(t)
	_, tr := newTestBinder(t, map[string]any{"virtual-host": vhost})
	dest := uniqueDest(t, "batchfm")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sp := batchingProducer(t, ctx, tr, dest, stream.ProducerConfig{}, map[string]any{"batch-timeout": "50ms"})
	defer sp.Close(context.Background())
	p := sp.(*producer)
	first := p.batch.frameMax()
	if first <= 8192 {
		t.Fatalf("frame_max of the binder's connection %d, want the broker's default (over 8192)", first)
	}
	c, err := amqp.DialConfig(rabbittest.VHostURL(vhost), amqp.Config{FrameSize: 8192, Vhost: vhost})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	m := p.bd.pub.mgr
	m.mu.Lock()
	old := m.conn
	m.conn = c
	m.mu.Unlock()
	got := p.batch.frameMax()
	m.mu.Lock()
	m.conn = old
	m.mu.Unlock()
	if got != 8192 {
		t.Errorf("frame_max with a connection of frame_max 8192: %d (first connection's %d)", got, first)
	}
	// A message whose headers fit the first connection's frame but not
	// 8192 is refused on the smaller one.
	m.mu.Lock()
	m.conn = c
	m.mu.Unlock()
	err = p.checkBatched(dest, amqp.Publishing{Headers: amqp.Table{"big": strings.Repeat("h", 9000)}})
	m.mu.Lock()
	m.conn = old
	m.mu.Unlock()
	if !errors.Is(err, ErrTooLarge) {
		t.Errorf("headers over the connection's frame_max: %v, want ErrTooLarge", err)
	}
}

// TestBatchTypedHeadersTooLargeGoAsText: a batching producer sends a
// message whose typed headers do not fit the frame but whose text ones do
// (bigTyped) with its headers as text and a warning, as an unbatched Send does
// (sendAsText), instead of failing it.
func TestBatchTypedHeadersTooLargeGoAsText(t *testing.T) {
	t.Parallel()
	vhost := rabbittest.VHost(t)
	_, tr := newTestBinder(t, map[string]any{"virtual-host": vhost})
	dest := uniqueDest(t, "batchtext")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	log, logs := newLevelLog()
	p, err := tr.BindProducer(ctx, stream.ProducerSpec{Binding: "bt-out-0", Destination: dest, Logger: log,
		Producer:  stream.ProducerConfig{RequiredGroups: []string{"raw"}},
		Extension: map[string]any{"batching-enabled": true, "batch-timeout": "100ms"}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(context.Background())
	ch := rabbittest.Channel(t, vhost)
	big := bigTyped("", "b")
	if err := p.Send(ctx, big); err != nil {
		t.Fatalf("Send: %v", err)
	}
	d := getRaw(t, ch, dest+".raw")
	if d.Headers["zeros"] != big.Headers["zeros"] {
		t.Errorf("headers zeros %T, want the text", d.Headers["zeros"])
	}
	if !strings.Contains(logs(), "message sent with its headers as text") {
		t.Errorf("no warning that the headers went as text:\n%s", logs())
	}
}
