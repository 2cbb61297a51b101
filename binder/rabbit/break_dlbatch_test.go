package rabbit

// Attacks on the batched dead-letter cursor (NextBatch, RemoveBatch): a
// connection cut and a channel closed by the broker mid-batch, dead
// letters arriving while it reads, and message sizes at both ends.

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/streambind/streambind/binder/rabbit/rabbittest"
	"github.com/streambind/streambind/stream"
)

// drainOrder reads spec's DLQ with a fresh cursor of b and returns the
// payloads in the order read, giving them all back.
func drainOrder(t *testing.T, b *Binder, spec stream.ConsumerSpec) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dl, err := b.OpenDeadLetters(ctx, spec, stream.DeadLetterOpen{})
	if err != nil {
		t.Fatal(err)
	}
	defer dl.Close(ctx)
	bt := dl.(stream.DeadLetterBatcher)
	var out []string
	for {
		ds, err := bt.NextBatch(ctx, 128)
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("after %d: %v", len(out), err)
		}
		for _, d := range ds {
			out = append(out, string(d.Payload))
		}
	}
}

// wantRange fails unless got is the payloads from..to-1, in order.
func wantRange(t *testing.T, got []string, from, to int) {
	t.Helper()
	if len(got) != to-from {
		t.Fatalf("%d dead letters in the queue; want %d (%d..%d)", len(got), to-from, from, to-1)
	}
	for i, p := range got {
		if p != strconv.Itoa(from+i) {
			t.Fatalf("dead letter %d of the queue is %q; want %d: lost, or out of its place", i, p, from+i)
		}
	}
}

// readRemoveFirst reads the first 128 dead letters and removes them. The
// removal returns once the broker confirmed the acknowledgement
// (confirmAcks: its basic.qos answered, which the proxy passed on after
// the ack), so the proxy saw it by then and the broker took it: nothing
// to wait for.
func readRemoveFirst(t *testing.T, ctx context.Context, bt stream.DeadLetterBatcher, acks *atomic.Int32) {
	t.Helper()
	var ds []stream.DeadLetter
	for len(ds) < 128 { // a batch ends early where a delivery is slow
		b, err := bt.NextBatch(ctx, 128-len(ds))
		if err != nil {
			t.Fatal(err)
		}
		ds = append(ds, b...)
	}
	if errs := bt.RemoveBatch(ctx, ds); errs != nil {
		t.Fatal(errors.Join(errs...))
	}
	if acks.Load() == 0 {
		t.Fatal("RemoveBatch returned, and the proxy saw no ack")
	}
}

// onAMQP counts basic.ack frames and records the channel of basic.consume.
func onAMQP(acks *atomic.Int32, consumeCh *atomic.Int32) func(byte, uint16, []byte) {
	return func(typ byte, channel uint16, pl []byte) {
		if typ != 1 || len(pl) < 4 || binary.BigEndian.Uint16(pl) != 60 {
			return
		}
		switch binary.BigEndian.Uint16(pl[2:]) {
		case 80:
			acks.Add(1)
		case 20:
			consumeCh.Store(int32(channel))
		}
	}
}

// TestBreakDLBatchCutMidBatch: the connection is cut between a batch's
// read and its removal (the replay's copies confirmed, say). The removal
// fails (before confirmAcks it said all removed), so does the next read,
// promptly, and Close returns: the broker requeued every dead letter of the
// batch, in its place, and only the first batch (acknowledged before the
// cut) is gone.
func TestBreakDLBatchCutMidBatch(t *testing.T) {
	t.Parallel()
	const n = 700
	h := holdingBatch(t, n)
	ctx, dl, bt, ds := h.ctx, h.dl, h.bt, h.ds
	if h.px.Cut() == 0 {
		t.Fatal("nothing cut")
	}
	errs := bt.RemoveBatch(ctx, ds)
	start := time.Now()
	for {
		_, err := bt.NextBatch(ctx, 128)
		if errors.Is(err, io.EOF) {
			t.Fatal("EOF after a cut: the read looks complete")
		}
		if err != nil {
			break
		}
		if time.Since(start) > 5*time.Second {
			t.Fatal("reads go on after the cut")
		}
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("the read after the cut failed only after %s", d)
	}
	if err := dl.Close(ctx); err != nil {
		t.Logf("Close: %v", err)
	}
	if k := countErrs(errs); k != len(ds) {
		t.Errorf("RemoveBatch after the cut: %d of %d failed; want all (their acks never reached the broker)", k, len(ds))
	}
	h.wantBackAfterFirst(t, n)
}

func countErrs(errs []error) int {
	k := 0
	for _, e := range errs {
		if e != nil {
			k++
		}
	}
	return k
}

// TestBreakDLBatchChannelClosed: the broker closes the cursor's channel
// (a consumer_timeout: injected by the proxy, to which the broker answers
// by closing the connection) while the cursor holds a batch. Reading and
// removing fail, Close returns, and the dead letters are back in place.
func TestBreakDLBatchChannelClosed(t *testing.T) {
	t.Parallel()
	const n = 500
	h := holdingBatch(t, n)
	ctx, dl, bt, ds := h.ctx, h.dl, h.bt, h.ds
	ch := h.consumeCh.Load()
	if ch < 0 {
		t.Fatal("no basic.consume seen")
	}
	if h.px.CloseChannel(uint16(ch), amqp.PreconditionFailed, "PRECONDITION_FAILED - delivery acknowledgement on channel 1 timed out") == 0 {
		t.Fatal("no connection to close the channel of")
	}
	deadline := time.Now().Add(5 * time.Second)
	for !dl.(*rabbitDeadLetters).ch.IsClosed() {
		if time.Now().After(deadline) {
			t.Fatal("the channel did not close")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := dl.Hold(ctx, ds[0]); !errors.Is(err, stream.ErrClaimLost) {
		t.Errorf("Hold after the channel closed: %v; want ErrClaimLost", err)
	}
	if errs := bt.RemoveBatch(ctx, ds); countErrs(errs) != len(ds) {
		t.Errorf("RemoveBatch on the closed channel: %d of %d failed; want all", countErrs(errs), len(ds))
	}
	if _, err := bt.NextBatch(ctx, 128); err == nil || errors.Is(err, io.EOF) {
		t.Errorf("NextBatch on the closed channel: %v; want an error", err)
	}
	start := time.Now()
	if err := dl.Close(ctx); err != nil {
		t.Logf("Close: %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Close took %s", d)
	}
	h.wantBackAfterFirst(t, n)
}

// holding is a claiming cursor through a loopback proxy on a DLQ of its
// own, that read and removed its first batch and holds its second (ds).
type holding struct {
	px        *rabbittest.Proxy
	direct    *Binder // the vhost without the proxy
	spec      stream.ConsumerSpec
	consumeCh atomic.Int32 // the channel of the cursor's basic.consume; -1 before
	ctx       context.Context
	dl        stream.DeadLetters
	bt        stream.DeadLetterBatcher
	ds        []stream.DeadLetter
}

// holdingBatch makes a holding cursor on a DLQ of n dead letters.
func holdingBatch(t *testing.T, n int) *holding {
	t.Helper()
	h := &holding{}
	var acks atomic.Int32
	h.consumeCh.Store(-1)
	h.px = rabbittest.NewProxy(t, onAMQP(&acks, &h.consumeCh))
	vhost := rabbittest.VHost(t)
	b, _ := newTestBinder(t, map[string]any{"virtual-host": vhost, "addresses": h.px.Addr()})
	h.direct, _ = newTestBinder(t, map[string]any{"virtual-host": vhost})
	h.spec, _ = dlqFixture(t, vhost, n)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	h.ctx = ctx
	h.dl, h.bt = openBatchCursor(t, ctx, b, h.spec)
	readRemoveFirst(t, ctx, h.bt, &acks)
	var err error
	if h.ds, err = h.bt.NextBatch(ctx, 128); err != nil {
		t.Fatal(err)
	}
	return h
}

// wantBackAfterFirst checks, once the broker put them back (10 s at
// most), that the DLQ holds all but the first batch, in their order.
func (h *holding) wantBackAfterFirst(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	var got []string
	for {
		got = drainOrder(t, h.direct, h.spec)
		if len(got) == n-128 || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond) // polling the queue
	}
	wantRange(t, got, 128, n)
}

// TestBreakDLBatchArrivalsDuringRead: dead letters dead-lettered while a
// cursor reads are sent to it within its window, unread (it reads only
// the count at open). Removing everything it read with one multiple ack
// must not take them: they stay, in their order, after Close. The batch
// ends at the count at open at once, not after the idle wait.
func TestBreakDLBatchArrivalsDuringRead(t *testing.T) {
	t.Parallel()
	vhost := rabbittest.VHost(t)
	b, _ := newTestBinder(t, map[string]any{"virtual-host": vhost})
	const n, more = 100, 60
	spec, ready := dlqFixture(t, vhost, n)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dl, bt := openBatchCursor(t, ctx, b, spec)
	pub := rabbittest.Channel(t, vhost)
	for i := n; i < n+more; i++ {
		if err := pub.Publish("", spec.Destination+".g.dlq", false, false, amqp.Publishing{Body: []byte(strconv.Itoa(i))}); err != nil {
			t.Fatal(err)
		}
	}
	// The broker sends them all to the cursor's consumer (its prefetch
	// window holds n+more): none is left ready in the queue. Waited for,
	// so that the read below has the arrivals in hand to refuse.
	deadline := time.Now().Add(10 * time.Second)
	for ready() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d dead letters still ready in the queue: the cursor's consumer did not get the arrivals", ready())
		}
		time.Sleep(10 * time.Millisecond)
	}
	var all []stream.DeadLetter
	start := time.Now()
	for {
		ds, err := bt.NextBatch(ctx, 128)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, ds...)
	}
	if d := time.Since(start); d > dlqIdle {
		t.Errorf("reading %d took %s: waited for the idle end", n, d)
	}
	if len(all) != n {
		t.Fatalf("read %d; want the %d at open", len(all), n)
	}
	for i, d := range all {
		if string(d.Payload) != strconv.Itoa(i) {
			t.Fatalf("dead letter %d is %q", i, d.Payload)
		}
	}
	if errs := bt.RemoveBatch(ctx, all); errs != nil {
		t.Fatal(errors.Join(errs...))
	}
	if err := dl.Close(ctx); err != nil {
		t.Fatal(err)
	}
	deadline = time.Now().Add(10 * time.Second)
	for ready() != more && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	wantRange(t, drainOrder(t, b, spec), n, n+more)
}

// TestBreakDLBatchSizes: empty bodies and 256 KiB ones (amqp091-go hands
// them over slower than batchGap: batches end early) read in batches, in
// order, and removed; nothing else goes. One in four is large (12.5 MB in
// all): with one in two (25 MB) a removal's confirmation (confirmAcks,
// its basic.qos answer behind the window's deliveries) took over its 5 s
// at load 12 under -race.
func TestBreakDLBatchSizes(t *testing.T) {
	t.Parallel()
	vhost := rabbittest.VHost(t)
	b, _ := newTestBinder(t, map[string]any{"virtual-host": vhost})
	const n = 200
	spec, ready := dlqFixture(t, vhost, 0)
	q := spec.Destination + ".g.dlq"
	pub := rabbittest.Channel(t, vhost)
	big := bytes.Repeat([]byte("x"), 256<<10)
	body := func(i int) []byte {
		if i%4 != 1 {
			return nil
		}
		return append(append([]byte(nil), big...), strconv.Itoa(i)...)
	}
	for i := range n {
		if err := pub.Publish("", q, false, false, amqp.Publishing{Body: body(i), Headers: amqp.Table{"i": strconv.Itoa(i)}}); err != nil {
			t.Fatal(err)
		}
	}
	awaitReady(t, ready, n, 20*time.Second, "dead letters ready")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	dl, bt := openBatchCursor(t, ctx, b, spec)
	batches := drainBatches(t, ctx, dl, bt, n, func(i int, d stream.DeadLetter) bool {
		if d.Headers["i"] != strconv.Itoa(i) || !bytes.Equal(d.Payload, body(i)) {
			t.Fatalf("dead letter %d: header i %q, %d bytes", i, d.Headers["i"], len(d.Payload))
		}
		return i == 7 // one passed over
	})
	awaitReady(t, ready, 1, 10*time.Second, "the one passed over")
	t.Logf("%d dead letters (a quarter 256 KiB, the rest empty) in %d batches", n, batches)
}

// TestBreakDLBatchRemoveLost: the path to the broker stalls after the
// cursor read its last batch (the next read is io.EOF, with no round trip
// that would notice), and breaks while it removes it. An acknowledgement
// has no answer: amqp091-go writes it to a connection that looks alive.
// Without a round trip after it, RemoveBatch said all 300 removed and
// Close, finding the channel closed, said nothing: a replay ended
// "replayed 300" with all 300 back in the queue, replayed again by the
// next one. RemoveBatch must fail for those whose removal the broker did
// not confirm.
func TestBreakDLBatchRemoveLost(t *testing.T) {
	t.Parallel()
	var blackhole atomic.Bool
	gate := make(chan struct{})
	px := rabbittest.NewProxy(t, func(typ byte, _ uint16, pl []byte) {
		// basic.ack (60, 80): held back until the connection is cut,
		// then dropped.
		if blackhole.Load() && typ == 1 && len(pl) >= 4 && binary.BigEndian.Uint16(pl) == 60 && binary.BigEndian.Uint16(pl[2:]) == 80 {
			<-gate
		}
	})
	vhost := rabbittest.VHost(t)
	b, _ := newTestBinder(t, map[string]any{"virtual-host": vhost, "addresses": px.Addr()})
	direct, _ := newTestBinder(t, map[string]any{"virtual-host": vhost})
	const n = 300
	spec, _ := dlqFixture(t, vhost, n)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dl, bt := openBatchCursor(t, ctx, b, spec)
	var all []stream.DeadLetter
	for {
		ds, err := bt.NextBatch(ctx, 128)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, ds...)
	}
	if len(all) != n {
		t.Fatalf("read %d of %d", len(all), n)
	}
	blackhole.Store(true)
	cut := make(chan struct{})
	go func() {
		defer close(cut)
		time.Sleep(500 * time.Millisecond)
		px.Cut()
		close(gate)
	}()
	errs := bt.RemoveBatch(ctx, all)
	<-cut
	closeErr := dl.Close(ctx)
	deadline := time.Now().Add(10 * time.Second)
	var got []string
	for {
		got = drainOrder(t, direct, spec)
		if len(got) == n || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	wantRange(t, got, 0, n)
	if k := countErrs(errs); k != n {
		t.Fatalf("RemoveBatch whose acks were lost: %d of %d failed (Close: %v); want all: none was removed", k, n, closeErr)
	}
	t.Logf("RemoveBatch: %v", errs[0])
}
