package rabbit

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"sync"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/streambind/streambind/binder/rabbit/rabbittest"
	"github.com/streambind/streambind/stream"
)

// getRaw polls queue q of ch (acking) until a message comes, for the
// test's raw reads of what the producer put on the wire.
func getRaw(t *testing.T, ch *amqp.Channel, q string) amqp.Delivery {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		d, ok, err := ch.Get(q, true)
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			return d
		}
		if time.Now().After(deadline) {
			t.Fatalf("no message in %s", q)
		}
		time.Sleep(20 * time.Millisecond) // polling the queue (basic.get)
	}
}

// gunzip decodes b with the standard library's reader, independent of the
// binder's consumer.
func gunzip(t *testing.T, b []byte) []byte {
	t.Helper()
	r, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("not gzip: %v", err)
	}
	out, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("gunzip: %v", err)
	}
	return out
}

// TestCompressProduced: a producer with SCSt's compress: true publishes
// every body gzipped as Spring AMQP's GZipPostProcessor (SCSt's) does:
// content_encoding "gzip", header springAutoDecompress true, the gzip
// stream at SCSt's default compression-level 1 (BEST_SPEED: the gzip
// header's XFL is 4) or the binder's compression-level (9: XFL 2), its
// headers kept. The raw delivery decodes with compress/gzip; the binder's
// own consumer gets the payload and headers as sent (Send and SendAsync,
// a partitioned producer's partition queues). Before, compress: true was
// refused when the binding was bound.
func TestCompressProduced(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		env   map[string]any
		xfl   byte
		parts int
	}{
		{"default level", nil, 4, 0},
		{"level 9, partitioned", map[string]any{"compression-level": 9}, 2, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			vhost := rabbittest.VHost(t)
			env := map[string]any{"virtual-host": vhost}
			for k, v := range tc.env {
				env[k] = v
			}
			_, tr := newTestBinder(t, env)
			dest := uniqueDest(t, "compress")
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			var mu sync.Mutex
			got := map[string]stream.Envelope{}
			arrived := make(chan struct{}, 16)
			spec := stream.ConsumerSpec{Binding: "z-in-0", Destination: dest, Group: "g",
				Handler: func(_ context.Context, m stream.Envelope) error {
					mu.Lock()
					got[string(m.Payload)] = m
					mu.Unlock()
					arrived <- struct{}{}
					return nil
				}}
			pspec := stream.ProducerSpec{Binding: "z-out-0", Destination: dest, ContentType: "text/plain",
				Producer:  stream.ProducerConfig{RequiredGroups: []string{"raw"}},
				Extension: map[string]any{"compress": true}}
			if tc.parts > 0 {
				spec.Consumer.Partitioned, spec.Consumer.InstanceCount = true, 1
				pspec.Producer.PartitionCount = tc.parts
				pspec.Producer.PartitionKeyExpression = "headers['k']"
			}
			c := bindStarted(t, ctx, tr, spec)
			defer func() { _ = c.Stop(ctx) }()
			p, err := tr.BindProducer(ctx, pspec)
			if err != nil {
				t.Fatal(err)
			}
			big := bytes.Repeat([]byte("compressible "), 1000)
			msgs := []stream.Envelope{
				{Payload: []byte("one"), Headers: map[string]string{"h": "v1", "k": "0"}},
				{Payload: big, Headers: map[string]string{"h": "big", "k": "0"}},
			}
			for _, m := range msgs {
				if tc.parts > 0 {
					m.Headers[stream.HeaderPartition] = "0"
				}
				if err := p.Send(ctx, m); err != nil {
					t.Fatal(err)
				}
			}
			async := stream.Envelope{Payload: []byte("async"), Headers: map[string]string{"h": "a", "k": "0"}}
			if tc.parts > 0 {
				async.Headers[stream.HeaderPartition] = "0"
			}
			res := make(chan error, 1)
			p.(stream.AsyncProducer).SendAsync(ctx, async, func(err error) { res <- err })
			if err := <-res; err != nil {
				t.Fatal(err)
			}
			msgs = append(msgs, async)

			raw := dest + ".raw"
			if tc.parts > 0 {
				raw += "-0"
			}
			ch := rabbittest.Channel(t, vhost)
			for _, m := range msgs {
				d := getRaw(t, ch, raw)
				if d.ContentEncoding != "gzip" || d.Headers[springAutoDecompressHeader] != true || d.Headers["h"] != m.Headers["h"] {
					t.Errorf("raw delivery: content_encoding %q, headers %v", d.ContentEncoding, d.Headers)
				}
				if len(d.Body) < 10 || d.Body[8] != tc.xfl {
					t.Errorf("gzip header XFL %v, want %d (compression level)", d.Body[:min(10, len(d.Body))], tc.xfl)
				}
				if body := gunzip(t, d.Body); !bytes.Equal(body, m.Payload) {
					t.Errorf("raw body gunzips to %.40q, want %.40q", body, m.Payload)
				}
				if len(m.Payload) == len(big) && len(d.Body) > len(big)/10 {
					t.Errorf("compressible payload of %d bytes sent as %d", len(big), len(d.Body))
				}
			}
			for range msgs {
				select {
				case <-arrived:
				case <-ctx.Done():
					t.Fatal("the consumer did not get every message")
				}
			}
			mu.Lock()
			defer mu.Unlock()
			for _, m := range msgs {
				g, ok := got[string(m.Payload)]
				if !ok || g.Headers["h"] != m.Headers["h"] || g.Headers[springAutoDecompressHeader] != "" ||
					g.Headers[stream.HeaderContentType] != "text/plain" {
					t.Errorf("consumer got %.20q: %v, headers %v", m.Payload, ok, g.Headers)
				}
			}
		})
	}
}

// TestCompressSizeLimits: with compress: true, max-message-size bounds a
// payload both before compression (a consumer decompresses a body to at
// most max-message-size, so a larger one would be dead-lettered by it)
// and on the wire (an incompressible payload grows by gzip's framing):
// either is refused for good (ErrTooLarge, stream.Permanent) before it is
// published; a compressible payload at the limit goes, and the binding
// stays up.
func TestCompressSizeLimits(t *testing.T) {
	t.Parallel()
	vhost := rabbittest.VHost(t)
	_, tr := newTestBinder(t, map[string]any{"virtual-host": vhost, "max-message-size": 1024})
	dest := uniqueDest(t, "compresssize")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p, err := tr.BindProducer(ctx, stream.ProducerSpec{Binding: "zs-out-0", Destination: dest,
		Producer:  stream.ProducerConfig{RequiredGroups: []string{"raw"}},
		Extension: map[string]any{"compress": true}})
	if err != nil {
		t.Fatal(err)
	}
	random := make([]byte, 1020)
	_, _ = rand.Read(random)
	for name, payload := range map[string][]byte{
		"compressible over the limit":       make([]byte, 1025),
		"incompressible, over once gzipped": random,
	} {
		err := p.Send(ctx, stream.Envelope{Payload: payload})
		if !errors.Is(err, ErrTooLarge) || !stream.IsPermanent(err) {
			t.Errorf("%s: %v, want a permanent ErrTooLarge", name, err)
		}
	}
	if err := p.Send(ctx, stream.Envelope{Payload: make([]byte, 1024)}); err != nil {
		t.Errorf("compressible payload at the limit: %v", err)
	}
	if err := p.(stream.BindingHealthChecker).Health(ctx); err != nil {
		t.Errorf("binding down after refused sizes: %v", err)
	}
	d := getRaw(t, rabbittest.Channel(t, vhost), dest+".raw")
	if body := gunzip(t, d.Body); len(body) != 1024 {
		t.Errorf("sent %d bytes, want 1024", len(body))
	}
}

// TestCompressConfig: compress and compression-level are read (SCSt's
// default level 1); a level outside Deflater's -1 to 9 is refused.
func TestCompressConfig(t *testing.T) {
	o, err := parseProducerOptions("p-out-0", map[string]any{"compress": "true"})
	if err != nil || !o.compress {
		t.Errorf("compress: true: %v, %v", o.compress, err)
	}
	if o, _ := parseProducerOptions("p-out-0", nil); o.compress {
		t.Error("compress is on by default")
	}
	bs := func(env map[string]any) stream.BinderSettings {
		return stream.BinderSettings{Name: "r", Type: Type, Environment: env}
	}
	if s, err := parseSettings(bs(nil)); err != nil || s.compressionLevel != 1 {
		t.Errorf("default compression-level %d (%v), want SCSt's 1", s.compressionLevel, err)
	}
	if s, err := parseSettings(bs(map[string]any{"compressionLevel": -1})); err != nil || s.compressionLevel != -1 {
		t.Errorf("compression-level -1: %d (%v)", s.compressionLevel, err)
	}
	for _, bad := range []any{10, -2, "fast"} {
		if _, err := parseSettings(bs(map[string]any{"compression-level": bad})); err == nil {
			t.Errorf("compression-level %v accepted", bad)
		}
	}
}
