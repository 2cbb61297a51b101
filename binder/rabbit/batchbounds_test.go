package rabbit

import (
	"context"
	"crypto/rand"
	"fmt"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/streambind/streambind/binder/rabbit/rabbittest"
	"github.com/streambind/streambind/stream"
)

// drainBatched reads every message of q (acking) with basic.get, splitting
// batches into their messages.
func drainBatched(t *testing.T, ch *amqp.Channel, q string) []string {
	t.Helper()
	var out []string
	for {
		d, ok, err := ch.Get(q, true)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			return out
		}
		if d.Headers[springBatchFormatHeader] == batchFormatLengthHeader4 {
			out = append(out, readLengthHeader4(t, d.Body)...)
		} else {
			out = append(out, string(d.Body))
		}
	}
}

// waitBlocked waits (polling the flag, bounded by ctx) until the
// publisher's connection is blocked (want true) or not.
func waitBlocked(t *testing.T, ctx context.Context, b *Binder, want bool) {
	t.Helper()
	for b.pubMgr.blockedFlag.Load() != want {
		if ctx.Err() != nil {
			t.Fatalf("connection blocked %v: never seen", want)
		}
		time.Sleep(10 * time.Millisecond) // polling the state, bounded by ctx
	}
}

// TestBatchBlockedEndsAtCtx: while the connection is blocked (so that run
// waits in publishAsync), every Send and SendAsync of a batching producer
// ends with its ctx, Close with its own, however many batches are released
// meanwhile; after the block, the producer publishes again, every message
// whose Send returned nil is stored, and run ends after Close. The batcher
// sent released batches to run on a channel of 16 while holding its
// mutex: the 18th release blocked in add with the mutex held, and every
// later Send, SendAsync (whose ctx it never looked at) and Close (in
// flush) with it, until the block ended.
func TestBatchBlockedEndsAtCtx(t *testing.T) {
	t.Parallel()
	vhost := rabbittest.VHost(t)
	px := rabbittest.NewProxy(t, nil)
	b, tr := newTestBinder(t, map[string]any{"virtual-host": vhost, "addresses": px.Addr()})
	dest := uniqueDest(t, "batchblock")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	p := batchingProducer(t, ctx, tr, dest, stream.ProducerConfig{}, map[string]any{"batch-size": 1, "batch-timeout": "20ms"})
	if err := p.Send(ctx, stream.Envelope{Payload: []byte("warm")}); err != nil {
		t.Fatal(err)
	}
	ok := map[string]bool{"warm": true}
	type result struct {
		s   string
		d   time.Duration
		err error
	}
	// send sends payloads, even ones with Send, odd ones with SendAsync,
	// each from a goroutine of its own with a ctx of timeout.
	send := func(prefix string, n int, timeout time.Duration) chan result {
		res := make(chan result, n)
		for i := range n {
			s := fmt.Sprintf("%s%d", prefix, i)
			go func() {
				sctx, sc := context.WithTimeout(ctx, timeout)
				t0 := time.Now()
				if i%2 == 0 {
					err := p.Send(sctx, stream.Envelope{Payload: []byte(s)})
					sc()
					res <- result{s, time.Since(t0), err}
					return
				}
				p.(stream.AsyncProducer).SendAsync(sctx, stream.Envelope{Payload: []byte(s)}, func(err error) {
					sc()
					res <- result{s, time.Since(t0), err}
				})
			}()
		}
		return res
	}
	collect := func(res chan result, n int, within time.Duration) {
		t.Helper()
		deadline := time.After(within)
		for i := range n {
			select {
			case r := <-res:
				if r.err == nil {
					ok[r.s] = true
				} else if !strings.Contains(r.err.Error(), "context") {
					t.Errorf("%s: %v", r.s, r.err)
				}
			case <-deadline:
				t.Fatalf("%d of %d sends returned within %v", i, n, within)
			}
		}
	}

	if px.Block("batch test") == 0 {
		t.Fatal("no connection to block")
	}
	waitBlocked(t, ctx, b, true)
	// 40 sends of 1 s each, 40 batches of one: more than run's queue holds.
	collect(send("a", 40, time.Second), 40, 3*time.Second)

	px.Unblock()
	waitBlocked(t, ctx, b, false)
	collect(send("b", 4, 30*time.Second), 4, 30*time.Second)
	for i := range 4 {
		if s := fmt.Sprintf("b%d", i); !ok[s] {
			t.Errorf("%s after the block failed", s)
		}
	}

	px.Block("batch test")
	waitBlocked(t, ctx, b, true)
	pending := send("c", 6, 30*time.Second)
	for pp := p.(*producer); pp.pending.Load() < 6; {
		if ctx.Err() != nil {
			t.Fatal("the sends never started")
		}
		time.Sleep(5 * time.Millisecond) // polling the count, bounded by ctx
	}
	closed := make(chan error, 1)
	go func() {
		cctx, cc := context.WithTimeout(ctx, time.Second)
		defer cc()
		closed <- p.Close(cctx)
	}()
	select {
	case err := <-closed:
		t.Logf("Close while blocked: %v", err)
	case <-time.After(3 * time.Second):
		t.Fatal("Close with a ctx of 1s still running after 3s")
	}
	// Close's ended ctx fails what it left unconfirmed.
	collect(pending, 6, 5*time.Second)
	px.Unblock()
	select {
	case <-p.(*producer).batch.runDone:
	case <-time.After(10 * time.Second):
		t.Fatal("the batcher's run goroutine did not end after Close")
	}
	got := map[string]bool{}
	for _, s := range drainBatched(t, rabbittest.Channel(t, vhost), dest+".raw") {
		got[s] = true
	}
	for s := range ok {
		if !got[s] {
			t.Errorf("%s: Send returned nil, not stored", s)
		}
	}
	t.Logf("%d sends returned nil, %d messages stored", len(ok), len(got))
}

// TestBatchFrameMaxRefusedAlone: a message whose headers exceed the
// broker's frame_max is refused alone (permanent ErrTooLarge) and the
// others of its batch are stored; a message whose header frame fits
// frame_max exactly, but not with the headers a batch adds, is stored too
// (in a batch of its own), as are the messages around it. sendBatched
// checked with no frame_max, so the oversized message joined a batch and
// the whole batch failed.
func TestBatchFrameMaxRefusedAlone(t *testing.T) {
	t.Parallel()
	vhost := rabbittest.VHost(t)
	b, tr := newTestBinder(t, map[string]any{"virtual-host": vhost})
	dest := uniqueDest(t, "batchframe")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p := batchingProducer(t, ctx, tr, dest, stream.ProducerConfig{}, map[string]any{"batch-size": 3, "batch-timeout": "200ms", "batch-buffer-limit": 100000})
	// The broker's frame_max, and a message of the producer's whose header
	// frame is exactly as large as one frame holds.
	conn, _, err := b.pubMgr.get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	limit := frameMax(conn) - frameOverhead
	pp := p.(*producer)
	probe := toPublishing(stream.Envelope{Payload: []byte("exact"), Headers: stream.Headers{"h": ""}}, pp.spec.ContentType)
	pp.withDeliveryMode(&probe)
	n, _ := headerFrameSize(&probe)
	exact := strings.Repeat("h", limit-n)
	probe.Headers["h"] = exact
	if n, _ := headerFrameSize(&probe); n != limit {
		t.Fatalf("built a header frame of %d bytes, want %d", n, limit)
	}

	res := sendAll(ctx, p, func(i int) map[string]string {
		switch i {
		case 0:
			return map[string]string{"big": strings.Repeat("h", limit+1000)}
		case 3:
			return map[string]string{"h": exact}
		}
		return nil
	}, "big", "a1", "a2", "exact", "e1", "e2")
	results := map[string]string{}
	for range 6 {
		r := <-res
		s, e, _ := strings.Cut(r, ": ")
		results[s] = e
	}
	if !strings.Contains(results["big"], "over the") || !strings.Contains(results["big"], "frame") {
		t.Errorf("big: %s, want refused for frame_max", results["big"])
	}
	for _, s := range []string{"a1", "a2", "exact", "e1", "e2"} {
		if results[s] != "<nil>" {
			t.Errorf("%s: %s", s, results[s])
		}
	}
	got := drainBatched(t, rabbittest.Channel(t, vhost), dest+".raw")
	if strings.Join(got, " ") != "a1 a2 exact e1 e2" {
		t.Errorf("stored %q", got)
	}
}

// TestBatchCompressSplit: with compress: true, incompressible messages
// that together fill batch-buffer-limit (capped at max-message-size) make
// a batch gzip takes past max-message-size; it is split and every message
// is stored, in order. Every one of them failed ("payload of 1028 bytes,
// over max-message-size 1000") though each alone went.
func TestBatchCompressSplit(t *testing.T) {
	t.Parallel()
	vhost := rabbittest.VHost(t)
	_, tr := newTestBinder(t, map[string]any{"virtual-host": vhost, "max-message-size": 1000})
	dest := uniqueDest(t, "batchgzsplit")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p := batchingProducer(t, ctx, tr, dest, stream.ProducerConfig{}, map[string]any{"batch-size": 10, "batch-timeout": "1m", "batch-buffer-limit": 1000, "compress": true})
	random := func(i int) string {
		b := make([]byte, 246)
		_, _ = rand.Read(b)
		copy(b, fmt.Sprintf("%d:", i))
		return string(b)
	}
	var pl []string
	for i := range 4 {
		pl = append(pl, random(i))
	}
	res := sendAll(ctx, p, nil, pl...) // 4 × (4+246): the limit, released at once
	for range 4 {
		if r := <-res; !strings.HasSuffix(r, ": <nil>") {
			t.Errorf("SendAsync: %s", r[246:])
		}
	}
	ch := rabbittest.Channel(t, vhost)
	var got []string
	for {
		d, ok, err := ch.Get(dest+".raw", true)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			break
		}
		if len(d.Body) > 1000 {
			t.Errorf("stored a body of %d bytes", len(d.Body))
		}
		body := gunzip(t, d.Body)
		if d.Headers[springBatchFormatHeader] == batchFormatLengthHeader4 {
			got = append(got, readLengthHeader4(t, body)...)
		} else {
			got = append(got, string(body))
		}
	}
	if len(got) != 4 {
		t.Fatalf("stored %d messages, want 4", len(got))
	}
	for i := range got {
		if got[i] != pl[i] {
			t.Errorf("message %d stored out of order or changed", i)
		}
	}
}
