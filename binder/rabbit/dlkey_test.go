package rabbit

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/rabbit/rabbittest"
	"github.com/streambind/streambind/internal/syncbuf"
	"github.com/streambind/streambind/stream"
)

// TestDeadLetterHugeKeyDroppedSaysSo: the key travels as a header
// (x-streambind-key), and a dead letter's headers are fitted to frame_max
// less 20,000 bytes, so a 120 KiB key, which fits the frame on the way
// in, cannot stay on the dead letter. It was dropped as any other header,
// listed only as "header:x-streambind-key": the dead letter (and its
// replay) had no key, and nothing said it was the key, or how large. Now
// x-streambind-truncated lists "key", x-streambind-key-size gives its
// size, and a WARN line names the binding and the size; a small key stays
// on its dead letter, and the payload and other headers stay on both.
func TestDeadLetterHugeKeyDroppedSaysSo(t *testing.T) {
	t.Parallel()
	vhost := rabbittest.VHost(t)
	logs := &syncbuf.Buffer{}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	bd := newLoggedBinder(t, vhost, logs)
	dest := "orders"
	dead := make(chan stream.Envelope, 4)
	spec := dlqReader(dest, "g")
	spec.Binding = "dlq-in-0"
	spec.Handler = func(_ context.Context, m stream.Envelope) error { dead <- m; return nil }
	dc, err := bd.BindConsumer(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	if err := dc.Start(ctx); err != nil {
		t.Fatal(err)
	}
	c, err := bd.BindConsumer(ctx, stream.ConsumerSpec{Binding: "bigkey-in-0", Destination: dest, Group: "g",
		Consumer: stream.ConsumerConfig{DLQ: true, Concurrency: 1},
		Handler:  func(context.Context, stream.Envelope) error { return errors.New("rejected") }})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	p, err := bd.BindProducer(ctx, stream.ProducerSpec{Binding: "bigkey-out-0", Destination: dest})
	if err != nil {
		t.Fatal(err)
	}
	bigKey := strings.Repeat("k", 120*1024)
	for _, m := range []stream.Envelope{
		{Payload: []byte(`{"n":1}`), Key: []byte(bigKey), Headers: stream.Headers{"x-id": "big"}},
		{Payload: []byte(`{"n":2}`), Key: []byte("small-key"), Headers: stream.Headers{"x-id": "small"}},
	} {
		if err := p.Send(ctx, m); err != nil {
			t.Fatalf("send %s: %v", m.Headers["x-id"], err)
		}
	}
	got := map[string]stream.Envelope{}
	for len(got) < 2 {
		select {
		case dl := <-dead:
			got[dl.Headers["x-id"]] = dl
		case <-ctx.Done():
			t.Fatalf("dead letters: %d of 2", len(got))
		}
	}
	big := got["big"]
	if len(big.Key) != 0 {
		t.Errorf("big: the dead letter has a key of %d bytes; want none (it cannot fit)", len(big.Key))
	}
	if tr := big.Headers[stream.HeaderTruncated]; tr != "key" {
		t.Errorf("big: %s = %q, want \"key\"", stream.HeaderTruncated, tr)
	}
	if n := big.Headers[stream.HeaderKeySize]; n != strconv.Itoa(len(bigKey)) {
		t.Errorf("big: %s = %q, want %d", stream.HeaderKeySize, n, len(bigKey))
	}
	if string(big.Payload) != `{"n":1}` || big.Headers[stream.HeaderExceptionMessage] != "rejected" {
		t.Errorf("big: payload %q, exception %q; want them kept", big.Payload, big.Headers[stream.HeaderExceptionMessage])
	}
	small := got["small"]
	if string(small.Key) != "small-key" || small.Headers[stream.HeaderTruncated] != "" || small.Headers[stream.HeaderKeySize] != "" {
		t.Errorf("small: key %q, %s %q, %s %q; want the key kept, nothing cut", small.Key,
			stream.HeaderTruncated, small.Headers[stream.HeaderTruncated], stream.HeaderKeySize, small.Headers[stream.HeaderKeySize])
	}
	var warn string
	for _, l := range strings.Split(logs.String(), "\n") {
		if strings.Contains(l, "WITHOUT its key") {
			warn = l
		}
	}
	for _, want := range []string{"level=WARN", "binding=bigkey-in-0", "key_bytes=" + strconv.Itoa(len(bigKey)), "max_header_bytes="} {
		if !strings.Contains(warn, want) {
			t.Errorf("no %q in the WARN line %q; logs:\n%.2000s", want, warn, logs.String())
		}
	}
}
