package rabbit

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strconv"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/streambind/streambind/binder/rabbit/rabbittest"
)

// TestBreakDLBatchSlowLink: over a slow link (the proxy passes the
// broker's bytes at 1 MiB/s) a removal's confirmation (confirmAcks: its
// basic.qos answer) comes behind the window's deliveries the broker
// already sent: 256 dead letters of 32 KiB, about 8 s, while each
// arrives within ~32 ms. The connection is alive and the acks taken:
// every removal must succeed. The 5 s wait failed the first one ("not
// confirmed by the broker within 5s"), as a purge of 25 MB of 256 KiB
// dead letters did under load. The deliveries taken while it waits are
// read next, in order.
func TestBreakDLBatchSlowLink(t *testing.T) {
	t.Parallel()
	const (
		n    = 300
		size = 32 << 10
		rate = 1 << 20 // bytes/s: a window of n's dead letters takes ~8 s
	)
	px := rabbittest.NewProxy(t, nil)
	px.Throttle(rate)
	vhost := rabbittest.VHost(t)
	b, _ := newTestBinder(t, map[string]any{"virtual-host": vhost, "addresses": px.Addr()})
	spec, ready := dlqFixture(t, vhost, 0)
	q := spec.Destination + ".g.dlq"
	pub := rabbittest.Channel(t, vhost)
	pad := bytes.Repeat([]byte("x"), size)
	body := func(i int) []byte { return append(append([]byte(nil), pad...), strconv.Itoa(i)...) }
	for i := range n {
		if err := pub.Publish("", q, false, false, amqp.Publishing{Body: body(i)}); err != nil {
			t.Fatal(err)
		}
	}
	awaitReady(t, ready, n, 20*time.Second, "dead letters ready")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	dl, bt := openBatchCursor(t, ctx, b, spec)
	read := 0
	var slowest time.Duration
	for {
		ds, err := bt.NextBatch(ctx, 128)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("after %d: %v", read, err)
		}
		for _, d := range ds {
			if !bytes.Equal(d.Payload, body(read)) {
				t.Fatalf("dead letter %d: %d bytes ending %q; want dead letter %d (lost, or out of its place)", read, len(d.Payload), d.Payload[max(0, len(d.Payload)-4):], read)
			}
			read++
		}
		start := time.Now()
		if errs := bt.RemoveBatch(ctx, ds); errs != nil {
			t.Fatalf("RemoveBatch after %d read, after %s: %v", read, time.Since(start).Round(time.Millisecond), errors.Join(errs...))
		}
		slowest = max(slowest, time.Since(start))
	}
	if read != n {
		t.Fatalf("read %d of %d", read, n)
	}
	if err := dl.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if slowest <= dlqCloseTimeout {
		t.Fatalf("the slowest removal took %s: the test no longer makes one wait longer than %s for its confirmation", slowest, dlqCloseTimeout)
	}
	awaitReady(t, ready, 0, 10*time.Second, "none left")
	t.Logf("%d dead letters of %d KiB at %d KiB/s; slowest removal %s", n, size>>10, rate>>10, slowest.Round(time.Millisecond))
}
