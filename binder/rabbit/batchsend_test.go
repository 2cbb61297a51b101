package rabbit

import (
	"context"
	"encoding/binary"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/streambind/streambind/binder/rabbit/rabbittest"
	"github.com/streambind/streambind/stream"
)

// readLengthHeader4 decodes a lengthHeader4 body on its own (not with the
// consumer's splitLengthHeader4): [4-byte big-endian length][bytes]...
func readLengthHeader4(t *testing.T, b []byte) []string {
	t.Helper()
	var out []string
	for len(b) > 0 {
		if len(b) < 4 {
			t.Fatalf("truncated length: %x", b)
		}
		n := int(binary.BigEndian.Uint32(b))
		if n > len(b)-4 {
			t.Fatalf("length %d past the end (%d left)", n, len(b)-4)
		}
		out = append(out, string(b[4:4+n]))
		b = b[4+n:]
	}
	return out
}

// batchingProducer binds a producer of dest with batching-enabled and ext,
// with the required group "raw" that the test reads with basic.get.
func batchingProducer(t *testing.T, ctx context.Context, tr *tracked, dest string, cfg stream.ProducerConfig, ext map[string]any) stream.Producer {
	t.Helper()
	e := map[string]any{"batching-enabled": true}
	for k, v := range ext {
		e[k] = v
	}
	cfg.RequiredGroups = append(cfg.RequiredGroups, "raw")
	p, err := tr.BindProducer(ctx, stream.ProducerSpec{Binding: "bp-out-0", Destination: dest, ContentType: "text/plain",
		Producer: cfg, Extension: e})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// sendAll sends payloads with SendAsync, in order from one goroutine, and
// returns the channel of their results (in completion order, each
// "<payload>: <error>").
func sendAll(ctx context.Context, p stream.Producer, headers func(i int) map[string]string, payloads ...string) chan string {
	res := make(chan string, len(payloads))
	for i, s := range payloads {
		var h map[string]string
		if headers != nil {
			h = headers(i)
		}
		p.(stream.AsyncProducer).SendAsync(ctx, stream.Envelope{Payload: []byte(s), Headers: h}, func(err error) {
			res <- fmt.Sprintf("%s: %v", s, err)
		})
	}
	return res
}

// TestBatchProduced: a producer with SCSt's batching-enabled: true
// publishes its messages as Spring AMQP's SimpleBatchingStrategy does:
// batch-size messages of a routing key in one AMQP message (header
// springBatchFormat lengthHeader4, amqp_batchSize, the first message's
// properties and headers, a body of 4-byte big-endian lengths and bodies),
// decoded here from the raw delivery with a reader of the test's own; a
// SendAsync reports once the batch is confirmed; the binder's consumer gets
// each message in order. A lone message goes after batch-timeout as it is
// (no springBatchFormat: Spring's batch of one), and Send returns only
// then. With compress: true the whole batch is gzipped (content_encoding
// gzip). A message over batch-buffer-limit goes alone at once, releasing
// the batch before it. The batch's messages after the first are received
// with ids of their own (<id>#<position>), not the first one's. Before,
// batching-enabled: true was refused (and the consumer gave every message
// of a batch the batch's id).
func TestBatchProduced(t *testing.T) {
	t.Parallel()
	for _, compress := range []bool{false, true} {
		t.Run(fmt.Sprintf("compress=%v", compress), func(t *testing.T) {
			t.Parallel()
			vhost := rabbittest.VHost(t)
			_, tr := newTestBinder(t, map[string]any{"virtual-host": vhost})
			dest := uniqueDest(t, "batchsend")
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			var mu sync.Mutex
			var got []stream.Envelope
			arrived := make(chan struct{}, 16)
			c := bindStarted(t, ctx, tr, stream.ConsumerSpec{Binding: "bp-in-0", Destination: dest, Group: "g",
				Handler: func(_ context.Context, m stream.Envelope) error {
					mu.Lock()
					got = append(got, m)
					mu.Unlock()
					arrived <- struct{}{}
					return nil
				}})
			defer func() { _ = c.Stop(ctx) }()
			p := batchingProducer(t, ctx, tr, dest, stream.ProducerConfig{}, map[string]any{
				"batch-size": 3, "batch-buffer-limit": 40, "batch-timeout": "300ms", "compress": compress})
			ch := rabbittest.Channel(t, vhost)
			raw := func() amqp.Delivery {
				d := getRaw(t, ch, dest+".raw")
				if compress {
					if d.ContentEncoding != "gzip" {
						t.Errorf("content_encoding %q, want gzip", d.ContentEncoding)
					}
					d.Body = gunzip(t, d.Body)
				}
				return d
			}

			// batch-size
			res := sendAll(ctx, p, func(i int) map[string]string {
				return map[string]string{"n": fmt.Sprint(i), stream.HeaderID: fmt.Sprint("id-", i)}
			}, "m1", "m2", "m3")
			for range 3 {
				if r := <-res; !strings.HasSuffix(r, ": <nil>") {
					t.Errorf("SendAsync %s", r)
				}
			}
			d := raw()
			if d.Headers[springBatchFormatHeader] != batchFormatLengthHeader4 || d.Headers[amqpBatchSizeHeader] != int32(3) ||
				d.Headers["n"] != "0" || d.ContentType != "text/plain" {
				t.Errorf("batch properties: content_type %q, headers %v", d.ContentType, d.Headers)
			}
			if parts := readLengthHeader4(t, d.Body); strings.Join(parts, " ") != "m1 m2 m3" {
				t.Errorf("batch holds %q", parts)
			}

			// batch-timeout: a lone message, Send waiting for it
			start := time.Now()
			if err := p.Send(ctx, stream.Envelope{Payload: []byte("lone")}); err != nil {
				t.Fatal(err)
			}
			if el := time.Since(start); el < 250*time.Millisecond {
				t.Errorf("Send of a lone message returned after %v, before batch-timeout", el)
			}
			if d := raw(); string(d.Body) != "lone" || d.Headers[springBatchFormatHeader] != nil {
				t.Errorf("lone message sent as %q, headers %v", d.Body, d.Headers)
			}

			// batch-buffer-limit 40: "small" (4+5) waits; a 40-byte message
			// releases it and goes alone, both at once.
			big := strings.Repeat("B", 40)
			start = time.Now()
			res = sendAll(ctx, p, nil, "small", big)
			for range 2 {
				if r := <-res; !strings.HasSuffix(r, ": <nil>") {
					t.Errorf("SendAsync %s", r)
				}
			}
			if el := time.Since(start); el > 250*time.Millisecond {
				t.Errorf("a message over batch-buffer-limit waited %v", el)
			}
			if d := raw(); string(d.Body) != "small" {
				t.Errorf("first release %q, want the lone small message", d.Body)
			}
			if d := raw(); string(d.Body) != big {
				t.Errorf("second release %q, want the big message alone", d.Body)
			}

			want := []string{"m1", "m2", "m3", "lone", "small", big}
			for range want {
				select {
				case <-arrived:
				case <-ctx.Done():
					t.Fatal("the consumer did not get every message")
				}
			}
			mu.Lock()
			defer mu.Unlock()
			var bodies []string
			for _, m := range got {
				bodies = append(bodies, string(m.Payload))
			}
			if strings.Join(bodies, " ") != strings.Join(want, " ") {
				t.Errorf("consumer got %q, want %q", bodies, want)
			}
			// The batch carries the first message's id; the consumer gives
			// the others ids of their own (an idempotent consumer would
			// skip them otherwise).
			if len(got) >= 3 {
				var ids []string
				for _, m := range got[:3] {
					ids = append(ids, m.Headers[stream.HeaderID])
				}
				if strings.Join(ids, " ") != "id-0 id-0#1 id-0#2" {
					t.Errorf("batch parts' ids %q, want id-0 id-0#1 id-0#2", ids)
				}
			}
		})
	}
}

// TestBatchPartitioned: a partitioned producer batches per routing key
// (partition): interleaved messages of partitions 0 and 1 go as one batch
// per partition queue, each in order.
func TestBatchPartitioned(t *testing.T) {
	t.Parallel()
	vhost := rabbittest.VHost(t)
	_, tr := newTestBinder(t, map[string]any{"virtual-host": vhost})
	dest := uniqueDest(t, "batchpart")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p := batchingProducer(t, ctx, tr, dest, stream.ProducerConfig{PartitionCount: 2, PartitionKeyExpression: "headers['k']"},
		map[string]any{"batch-size": 2, "batch-timeout": "1m"})
	res := sendAll(ctx, p, func(i int) map[string]string {
		return map[string]string{stream.HeaderPartition: fmt.Sprint(i % 2), "k": fmt.Sprint(i % 2)}
	}, "p0-a", "p1-a", "p0-b", "p1-b")
	for range 4 {
		if r := <-res; !strings.HasSuffix(r, ": <nil>") {
			t.Errorf("SendAsync %s", r)
		}
	}
	ch := rabbittest.Channel(t, vhost)
	for _, part := range []string{"0", "1"} {
		d := getRaw(t, ch, dest+".raw-"+part)
		if parts := readLengthHeader4(t, d.Body); strings.Join(parts, " ") != "p"+part+"-a p"+part+"-b" {
			t.Errorf("partition %s: batch %q", part, parts)
		}
	}
}

// TestBatchCloseFlushes: Close publishes the open batches at once (not
// after batch-timeout) and returns once they are confirmed; every
// SendAsync has its result; a Send after Close fails.
func TestBatchCloseFlushes(t *testing.T) {
	t.Parallel()
	vhost := rabbittest.VHost(t)
	_, tr := newTestBinder(t, map[string]any{"virtual-host": vhost})
	dest := uniqueDest(t, "batchclose")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p := batchingProducer(t, ctx, tr, dest, stream.ProducerConfig{}, map[string]any{"batch-timeout": "1m"})
	res := sendAll(ctx, p, nil, "c1", "c2", "c3", "c4", "c5")
	start := time.Now()
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el > 10*time.Second {
		t.Errorf("Close took %v", el)
	}
	for range 5 {
		select {
		case r := <-res:
			if !strings.HasSuffix(r, ": <nil>") {
				t.Errorf("SendAsync %s", r)
			}
		default:
			t.Fatal("Close returned before every SendAsync had its result")
		}
	}
	d := getRaw(t, rabbittest.Channel(t, vhost), dest+".raw")
	if parts := readLengthHeader4(t, d.Body); strings.Join(parts, " ") != "c1 c2 c3 c4 c5" {
		t.Errorf("flushed batch %q", parts)
	}
	if err := p.Send(ctx, stream.Envelope{Payload: []byte("late")}); err == nil {
		t.Error("Send after Close succeeded")
	}
}

// TestBatchFailureFailsAll: when the publish of a batch fails (its
// exchange does not exist: declare-exchange false, in the test's vhost),
// every message of it fails, Send and SendAsync alike, none reported sent.
func TestBatchFailureFailsAll(t *testing.T) {
	t.Parallel()
	vhost := rabbittest.VHost(t)
	_, tr := newTestBinder(t, map[string]any{"virtual-host": vhost})
	dest := uniqueDest(t, "batchfail")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p, err := tr.BindProducer(ctx, stream.ProducerSpec{Binding: "bf-out-0", Destination: dest,
		Extension: map[string]any{"batching-enabled": true, "batch-size": 3, "batch-timeout": "1m", "declare-exchange": false}})
	if err != nil {
		t.Fatal(err)
	}
	res := sendAll(ctx, p, nil, "f1", "f2")
	sendErr := make(chan error, 1)
	go func() { sendErr <- p.Send(ctx, stream.Envelope{Payload: []byte("f3")}) }()
	if err := <-sendErr; err == nil || !strings.Contains(err.Error(), "does not exist") && !strings.Contains(err.Error(), "NOT_FOUND") {
		t.Errorf("Send in the failed batch: %v", err)
	}
	for range 2 {
		if r := <-res; strings.HasSuffix(r, ": <nil>") {
			t.Errorf("SendAsync in the failed batch succeeded: %s", r)
		}
	}
}

// TestBatchConfig: SCSt's producer batching keys and defaults.
func TestBatchConfig(t *testing.T) {
	o, err := parseProducerOptions("p-out-0", nil)
	if err != nil || o.batching || o.batchSize != 100 || o.batchBufferLimit != 10000 || o.batchTimeout != 5*time.Second {
		t.Errorf("defaults: %v %+v", err, o)
	}
	o, err = parseProducerOptions("p-out-0", map[string]any{"batchingEnabled": true, "batchSize": 5, "batchBufferLimit": 64, "batchTimeout": 250})
	if err != nil || !o.batching || o.batchSize != 5 || o.batchBufferLimit != 64 || o.batchTimeout != 250*time.Millisecond {
		t.Errorf("set: %v %+v", err, o)
	}
	// A batch of several messages fits max-message-size.
	b := newBatcher(&producer{}, 100, 10000, time.Second, 4096)
	defer b.close(nil, false)
	if b.limit != 4096 {
		t.Errorf("batch-buffer-limit over max-message-size: %d, want 4096", b.limit)
	}
}
