package rabbit

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/streambind/streambind/binder/rabbit/rabbittest"
	"github.com/streambind/streambind/stream"
)

// springBatch is a body as Spring AMQP's SimpleBatchingStrategy assembles
// it: [4-byte big-endian length][bytes] per message.
func springBatch(parts ...string) []byte {
	var b []byte
	for _, p := range parts {
		b = binary.BigEndian.AppendUint32(b, uint32(len(p)))
		b = append(b, p...)
	}
	return b
}

// compressed writes b through w (made on out) and returns what it wrote.
func compressed(t *testing.T, out *bytes.Buffer, w io.WriteCloser, b []byte) []byte {
	t.Helper()
	if _, err := w.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func gzipped(t *testing.T, b []byte) []byte {
	var out bytes.Buffer
	return compressed(t, &out, gzip.NewWriter(&out), b)
}

func deflated(t *testing.T, b []byte) []byte {
	var out bytes.Buffer
	return compressed(t, &out, zlib.NewWriter(&out), b)
}

// zipWriter is a zip archive of one entry, "amqp" (ZipPostProcessor's),
// closed with the archive.
type zipWriter struct {
	io.Writer
	z *zip.Writer
}

func (w zipWriter) Close() error { return w.z.Close() }

func zipped(t *testing.T, b []byte) []byte {
	var out bytes.Buffer
	z := zip.NewWriter(&out)
	f, err := z.Create("amqp")
	if err != nil {
		t.Fatal(err)
	}
	return compressed(t, &out, zipWriter{f, z}, b)
}

// bindStarted binds spec on tr and starts it.
func bindStarted(t *testing.T, ctx context.Context, tr *tracked, spec stream.ConsumerSpec) stream.Consumer {
	t.Helper()
	c, err := tr.BindConsumer(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	return c
}

// TestSpringBatchAndCompressionConsumed: messages as a Java SCSt producer
// sends them with batching-enabled (one AMQP message, springBatchFormat
// lengthHeader4, its body the parts each after a 4-byte big-endian length)
// and with compress (content_encoding gzip:UTF-8, deflate, zip) reach the
// handler as SCSt's listener gets them: a batch as its parts, one message
// each, in order, with the batch's headers but springBatchFormat; a
// compressed body decompressed. A failed part is dead-lettered alone
// (republish-to-dlq) and the others handled; the delivery is acked. A
// malformed batch (a length past the end) and a body that decompresses past
// max-message-size go to the DLQ with the reason, never to the handler.
// Before, the handler got each batch and compressed body whole.
func TestSpringBatchAndCompressionConsumed(t *testing.T) {
	t.Parallel()
	vhost := rabbittest.VHost(t)
	_, tr := newTestBinder(t, map[string]any{"virtual-host": vhost, "max-message-size": 1 << 20})
	dest := uniqueDest(t, "springbatch")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var mu sync.Mutex
	var got []stream.Envelope
	arrived := make(chan struct{}, 64)
	c := bindStarted(t, ctx, tr, stream.ConsumerSpec{Binding: "sb-in-0", Destination: dest, Group: "g",
		Consumer: stream.ConsumerConfig{DLQ: true, MaxAttempts: 1},
		Handler: func(_ context.Context, m stream.Envelope) error {
			mu.Lock()
			got = append(got, m)
			mu.Unlock()
			arrived <- struct{}{}
			if strings.HasPrefix(string(m.Payload), "fail") {
				return stream.Permanent(errors.New("handler refuses " + string(m.Payload)))
			}
			return nil
		}})
	ch := rabbittest.Channel(t, vhost)
	batchHeaders := func() amqp.Table {
		return amqp.Table{"springBatchFormat": "lengthHeader4", "amqp_batchSize": int32(3), "keep": "me"}
	}
	bomb := gzipped(t, make([]byte, 2<<20))
	msgs := []amqp.Publishing{
		{Headers: batchHeaders(), ContentType: "text/plain", Body: springBatch("a1", "fail-a2", "a3")},
		{Headers: batchHeaders(), ContentType: "text/plain", MessageId: "malformed", Body: append(springBatch("m1"), 0, 0, 0, 9, 'x')},
		{ContentEncoding: "gzip:UTF-8", ContentType: "text/plain", Body: gzipped(t, []byte("gz"))},
		{ContentEncoding: "deflate", ContentType: "text/plain", Body: deflated(t, []byte("defl"))},
		{ContentEncoding: "zip:UTF-8", ContentType: "text/plain", Body: zipped(t, []byte("zp"))},
		{ContentEncoding: "gzip:UTF-8", ContentType: "text/plain", MessageId: "bomb", Body: bomb},
		// compressed and batched: decompressed first, then split
		{Headers: batchHeaders(), ContentEncoding: "gzip:UTF-8", ContentType: "text/plain", Body: gzipped(t, springBatch("c1", "c2"))},
		{ContentType: "text/plain", Body: []byte("plain")},
	}
	for _, m := range msgs {
		if err := ch.PublishWithContext(ctx, dest, "", false, false, m); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{"a1", "fail-a2", "a3", "gz", "defl", "zp", "c1", "c2", "plain"}
	for range want {
		select {
		case <-arrived:
		case <-time.After(20 * time.Second):
			mu.Lock()
			t.Fatalf("handled %d of %d messages", len(got), len(want))
		}
	}
	if err := c.Stop(ctx); err != nil { // the unacked ones would be requeued
		t.Fatal(err)
	}
	mu.Lock()
	var bodies []string
	for _, m := range got {
		bodies = append(bodies, string(m.Payload))
	}
	if strings.Join(bodies, " ") != strings.Join(want, " ") {
		t.Errorf("handled %q, want %q", bodies, want)
	}
	for _, m := range got[:3] {
		if m.Headers["keep"] != "me" || m.Headers["springBatchFormat"] != "" || m.Headers[stream.HeaderContentType] != "text/plain" {
			t.Errorf("part %q headers %v", m.Payload, m.Headers)
		}
	}
	mu.Unlock()
	if n := queueMessages(t, vhost, dest+".g"); n != 0 {
		t.Errorf("%d messages left in the group's queue (a batch not acked)", n)
	}
	dls := map[string]amqp.Delivery{}
	deadline := time.Now().Add(10 * time.Second)
	for len(dls) < 3 {
		d, ok, err := ch.Get(dest+".g.dlq", true)
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			k := string(d.Body)
			if d.MessageId == "malformed" || d.MessageId == "bomb" {
				k = d.MessageId
			}
			dls[k] = d
			continue
		}
		if time.Now().After(deadline) {
			t.Fatalf("dead letters: %d of 3", len(dls))
		}
		time.Sleep(50 * time.Millisecond) // polling the DLQ
	}
	if d, ok := dls["fail-a2"]; !ok || d.Headers["springBatchFormat"] != nil || d.Headers["keep"] != "me" {
		t.Errorf("failed part's dead letter: %v (headers %v)", ok, d.Headers)
	}
	if d, ok := dls["malformed"]; !ok || !strings.Contains(headerString(d.Headers["x-exception-message"]), "past the end") {
		t.Errorf("malformed batch's dead letter: %v, x-exception-message %q", ok, d.Headers["x-exception-message"])
	}
	if d, ok := dls["bomb"]; !ok || !bytes.Equal(d.Body, bomb) || d.ContentEncoding != "gzip:UTF-8" ||
		!strings.Contains(headerString(d.Headers["x-exception-message"]), "max-message-size") {
		t.Errorf("zip bomb's dead letter: %v, %d bytes, encoding %q, x-exception-message %q", ok, len(d.Body), d.ContentEncoding, d.Headers["x-exception-message"])
	}
	if d, ok, _ := ch.Get(dest+".g.dlq", true); ok {
		t.Errorf("unexpected dead letter %q", d.Body)
	}
}

// TestSpringBatchNakRequeuesWhole: a part Nak'ed has the whole delivery
// requeued (the parts after it are not handled: they come again with it),
// and the redelivered batch is handled in full: at least once.
func TestSpringBatchNakRequeuesWhole(t *testing.T) {
	t.Parallel()
	vhost := rabbittest.VHost(t)
	_, tr := newTestBinder(t, map[string]any{"virtual-host": vhost})
	dest := uniqueDest(t, "springbatchnak")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var mu sync.Mutex
	var got []string
	nakked := false
	done := make(chan struct{})
	c := bindStarted(t, ctx, tr, stream.ConsumerSpec{Binding: "sbn-in-0", Destination: dest, Group: "g",
		Consumer: stream.ConsumerConfig{MaxAttempts: 1},
		Handler: func(_ context.Context, m stream.Envelope) error {
			mu.Lock()
			defer mu.Unlock()
			got = append(got, string(m.Payload))
			if string(m.Payload) == "b2" && !nakked {
				nakked = true
				return stream.ErrNak
			}
			if string(m.Payload) == "b3" {
				close(done)
			}
			return nil
		}})
	ch := rabbittest.Channel(t, vhost)
	if err := ch.PublishWithContext(ctx, dest, "", false, false, amqp.Publishing{
		Headers: amqp.Table{"springBatchFormat": "lengthHeader4"}, Body: springBatch("b1", "b2", "b3")}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-ctx.Done():
		t.Fatal("batch not handled in full")
	}
	if err := c.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if g := strings.Join(got, " "); g != "b1 b2 b1 b2 b3" {
		t.Errorf("handled %q, want b1 b2 (Nak: requeued whole) b1 b2 b3", g)
	}
	if n := queueMessages(t, vhost, dest+".g"); n != 0 {
		t.Errorf("%d messages left in the group's queue", n)
	}
}

// TestSpringBatchFromAmqpPublish: a batch published by another client
// (amqp-tools' amqp-publish, the body from stdin) is split as well.
func TestSpringBatchFromAmqpPublish(t *testing.T) {
	t.Parallel()
	bin, err := exec.LookPath("amqp-publish")
	if err != nil {
		t.Skip("amqp-publish (amqp-tools) not installed")
	}
	vhost := rabbittest.VHost(t)
	_, tr := newTestBinder(t, map[string]any{"virtual-host": vhost})
	dest := uniqueDest(t, "springbatchcli")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	got := make(chan string, 8)
	c := bindStarted(t, ctx, tr, stream.ConsumerSpec{Binding: "sbc-in-0", Destination: dest, Group: "g",
		Handler: func(_ context.Context, m stream.Envelope) error {
			got <- string(m.Payload) + "|" + m.Headers["springBatchFormat"]
			return nil
		}})
	defer c.Stop(context.Background())
	cmd := exec.CommandContext(ctx, bin, "--url="+rabbittest.VHostURL(vhost), "-e", dest, "-r", "x",
		"-H", "springBatchFormat: lengthHeader4", "-E", "gzip:UTF-8", "-C", "application/json")
	cmd.Stdin = bytes.NewReader(gzipped(t, springBatch(`{"n":1}`, `{"n":2}`)))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("amqp-publish: %v: %s", err, out)
	}
	for _, want := range []string{`{"n":1}|`, `{"n":2}|`} {
		select {
		case g := <-got:
			if g != want {
				t.Errorf("handled %q, want %q", g, want)
			}
		case <-ctx.Done():
			t.Fatalf("%q not handled", want)
		}
	}
}

func TestSplitLengthHeader4(t *testing.T) {
	for _, tc := range []struct {
		body []byte
		want string // parts joined by |, or "error"
	}{
		{springBatch("a", "", "bc"), "a||bc"},
		{springBatch("x"), "x"},
		{nil, "error"},
		{[]byte{0, 0, 0}, "error"},
		{append(springBatch("a"), 0, 0), "error"},
		{[]byte{0xff, 0xff, 0xff, 0xff, 'a'}, "error"},
		{[]byte{0, 0, 0, 2, 'a'}, "error"},
	} {
		parts, err := splitLengthHeader4(tc.body)
		g := "error"
		if err == nil {
			var s []string
			for _, p := range parts {
				s = append(s, string(p))
			}
			g = strings.Join(s, "|")
		}
		if g != tc.want {
			t.Errorf("%v: %q (%v), want %q", tc.body, g, err, tc.want)
		}
	}
	for enc, want := range map[string]string{"gzip:UTF-8": "gzip UTF-8", "gzip": "gzip ", "deflate, UTF-8": "deflate UTF-8", "zip:": "zip ", "br": "", "UTF-8": "", "": ""} {
		k, rest, ok := springDecoder(enc)
		g := ""
		if ok {
			g = k + " " + rest
		}
		if g != want {
			t.Errorf("springDecoder(%q) = %q, want %q", enc, g, want)
		}
	}
}

// TestSpringBatchOtherWorkers: the parts of a Spring AMQP batch reach a
// batch-mode BatchHandler and a pipelined AsyncHandler as messages of
// their own too, the delivery acked once all are settled, a failed part
// (pipelined) dead-lettered alone, a malformed batch dead-lettered without
// a handler call.
func TestSpringBatchOtherWorkers(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{"batch-mode", "pipelined"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			vhost := rabbittest.VHost(t)
			_, tr := newTestBinder(t, map[string]any{"virtual-host": vhost})
			dest := uniqueDest(t, "springbatchw")
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			got := make(chan string, 16)
			spec := stream.ConsumerSpec{Binding: "sbw-in-0", Destination: dest, Group: "g",
				Consumer: stream.ConsumerConfig{DLQ: true, MaxAttempts: 1, Concurrency: 1, InstanceCount: 1}}
			want := "x1 fail-x2 x3 after"
			if mode == "batch-mode" {
				want = "x1 x2 x3 after"
				spec.Consumer.BatchMode = true
				spec.Extension = map[string]any{"batch-size": 8}
				spec.BatchHandler = func(_ context.Context, ms []stream.Envelope) error {
					for _, m := range ms {
						got <- string(m.Payload)
					}
					return nil
				}
			} else {
				spec.Handler = func(context.Context, stream.Envelope) error { return errors.New("Handler called") }
				spec.AsyncHandler = func(_ context.Context, m stream.Envelope, done func(error)) {
					got <- string(m.Payload)
					if strings.HasPrefix(string(m.Payload), "fail") {
						done(stream.Permanent(errors.New("refused")))
						return
					}
					done(nil)
				}
			}
			c := bindStarted(t, ctx, tr, spec)
			ch := rabbittest.Channel(t, vhost)
			parts := strings.Fields(want)
			for _, m := range []amqp.Publishing{
				{Headers: amqp.Table{"springBatchFormat": "lengthHeader4"}, Body: springBatch(parts[:3]...)},
				{Headers: amqp.Table{"springBatchFormat": "lengthHeader4"}, MessageId: "malformed", Body: []byte{0, 0, 1, 0, 'y'}},
				{Body: []byte("after")},
			} {
				if err := ch.PublishWithContext(ctx, dest, "", false, false, m); err != nil {
					t.Fatal(err)
				}
			}
			var handled []string
			for range parts {
				select {
				case g := <-got:
					handled = append(handled, g)
				case <-ctx.Done():
					t.Fatalf("handled %q of %q", handled, want)
				}
			}
			if err := c.Stop(ctx); err != nil {
				t.Fatal(err)
			}
			if g := strings.Join(handled, " "); g != want {
				t.Errorf("handled %q, want %q", g, want)
			}
			if n := queueMessages(t, vhost, dest+".g"); n != 0 {
				t.Errorf("%d messages left in the group's queue", n)
			}
			wantDL := 1
			if mode == "pipelined" {
				wantDL = 2
			}
			if n := queueMessages(t, vhost, dest+".g.dlq"); n != wantDL {
				t.Errorf("%d dead letters, want %d", n, wantDL)
			}
		})
	}
}

// TestSpringBatchRejectedWhole: with republish-to-dlq false a failed part
// has the whole delivery rejected once every part was handled: the broker
// dead-letters the batch as it came (as Spring AMQP's
// RejectAndDontRequeueRecoverer rejects the batch message).
func TestSpringBatchRejectedWhole(t *testing.T) {
	t.Parallel()
	vhost := rabbittest.VHost(t)
	_, tr := newTestBinder(t, map[string]any{"virtual-host": vhost})
	dest := uniqueDest(t, "springbatchrej")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	got := make(chan string, 8)
	c := bindStarted(t, ctx, tr, stream.ConsumerSpec{Binding: "sbr-in-0", Destination: dest, Group: "g",
		Consumer:  stream.ConsumerConfig{DLQ: true, MaxAttempts: 1},
		Extension: map[string]any{"republish-to-dlq": false},
		Handler: func(_ context.Context, m stream.Envelope) error {
			got <- string(m.Payload)
			if strings.HasPrefix(string(m.Payload), "fail") {
				return stream.Permanent(errors.New("refused"))
			}
			return nil
		}})
	defer c.Stop(context.Background())
	ch := rabbittest.Channel(t, vhost)
	body := springBatch("r1", "fail-r2", "r3")
	if err := ch.PublishWithContext(ctx, dest, "", false, false, amqp.Publishing{
		Headers: amqp.Table{"springBatchFormat": "lengthHeader4"}, Body: body}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"r1", "fail-r2", "r3"} {
		select {
		case g := <-got:
			if g != want {
				t.Errorf("handled %q, want %q", g, want)
			}
		case <-ctx.Done():
			t.Fatalf("%q not handled", want)
		}
	}
	for {
		d, ok, err := ch.Get(dest+".g.dlq", true)
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			if !bytes.Equal(d.Body, body) || d.Headers["springBatchFormat"] != "lengthHeader4" {
				t.Errorf("dead letter %q headers %v, want the batch as published", d.Body, d.Headers)
			}
			return
		}
		select {
		case <-ctx.Done():
			t.Fatal("no dead letter")
		case <-time.After(50 * time.Millisecond): // polling the DLQ
		}
	}
}

// TestSpringDecompressBounded: the decompressed bodies held at once stay
// within the consumer's budget (twice max-message-size), however many
// compressible deliveries prefetch brings while the handler is slow; each
// is handled once the ones before it are settled. Before, the dispatcher
// decompressed all of them as they came (here 6 of 0.9 MiB each at once).
func TestSpringDecompressBounded(t *testing.T) {
	t.Parallel()
	for _, async := range []bool{false, true} {
		t.Run(map[bool]string{false: "handler", true: "async"}[async], func(t *testing.T) {
			t.Parallel()
			const limit = 1 << 20
			vhost := rabbittest.VHost(t)
			_, tr := newTestBinder(t, map[string]any{"virtual-host": vhost, "max-message-size": limit})
			dest := uniqueDest(t, "springmem")
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			var co *consumer
			ready := make(chan struct{})
			arrived := make(chan string, 64)
			first := true
			handle := func(m stream.Envelope) {
				<-ready
				if first {
					// Slow on the first: without the bound the dispatcher
					// decompresses everything prefetched meanwhile.
					first = false
					deadline := time.Now().Add(2 * time.Second)
					for time.Now().Before(deadline) && co.expandPeak.Load() <= 2*limit {
						time.Sleep(10 * time.Millisecond) // polling the peak
					}
				}
				arrived <- string(m.Payload[:min(len(m.Payload), 1)])
			}
			spec := stream.ConsumerSpec{Binding: "sm-in-0", Destination: dest, Group: "g",
				Consumer: stream.ConsumerConfig{DLQ: true, MaxAttempts: 1}}
			spec.Handler = func(_ context.Context, m stream.Envelope) error { handle(m); return nil }
			if async {
				spec.AsyncHandler = func(_ context.Context, m stream.Envelope, done func(error)) {
					go func() { handle(m); done(nil) }()
				}
				spec.Consumer.MaxInFlight = 1 // in order: first is the first handled
			}
			c, err := tr.BindConsumer(ctx, spec)
			if err != nil {
				t.Fatal(err)
			}
			co = c.(*consumer)
			close(ready)
			if err := c.Start(ctx); err != nil {
				t.Fatal(err)
			}
			ch := rabbittest.Channel(t, vhost)
			body := bytes.Repeat([]byte{'z'}, limit*9/10)
			const n = 6
			gz := gzipped(t, body)
			for i := range n {
				m := amqp.Publishing{ContentEncoding: "gzip", Body: gz}
				if i == n-1 { // a batch: its share is given back with its last part
					m.Headers = amqp.Table{"springBatchFormat": "lengthHeader4"}
					m.Body = gzipped(t, springBatch(string(body), "b"))
				}
				if err := ch.PublishWithContext(ctx, dest, "", false, false, m); err != nil {
					t.Fatal(err)
				}
			}
			for i := range n + 1 {
				select {
				case <-arrived:
				case <-time.After(20 * time.Second):
					t.Fatalf("handled %d of %d messages (peak %d bytes held)", i, n+1, co.expandPeak.Load())
				}
			}
			if err := c.Stop(ctx); err != nil {
				t.Fatal(err)
			}
			if peak := co.expandPeak.Load(); peak <= limit || peak > 2*limit {
				t.Errorf("peak of decompressed bytes held %d, want within (%d, %d]", peak, limit, 2*limit)
			}
			if q := queueMessages(t, vhost, dest+".g"); q != 0 {
				t.Errorf("%d messages left in the group's queue", q)
			}
			if q := queueMessages(t, vhost, dest+".g.dlq"); q != 0 {
				t.Errorf("%d messages dead-lettered", q)
			}
		})
	}
}

// TestDecompressSizedFromTrailer: a gzip body is decompressed into a
// buffer sized from its trailer (ISIZE), not doubled from small (which
// held up to twice the body).
func TestDecompressSizedFromTrailer(t *testing.T) {
	const size = 3<<20 + 1
	out, err := decompress("gzip", gzipped(t, make([]byte, size)), 8<<20)
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != size || cap(out) > size+size/100 { // doubled: 4 MiB or more
		t.Errorf("decompressed %d bytes into a buffer of %d", len(out), cap(out))
	}
}
