package rabbit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/streambind/streambind/binder/rabbit/rabbittest"
	"github.com/streambind/streambind/stream"
)

// sizedDLQFixture is dlqFixture with dead letters of the given sizes: the
// i-th one's payload is its index (six digits), padded to sizes[i] bytes.
func sizedDLQFixture(t *testing.T, vhost string, sizes []int) (stream.ConsumerSpec, func() int) {
	t.Helper()
	dest := uniqueDest(t, "dlbytes")
	q := dest + ".g.dlq"
	conn, err := amqp.Dial(rabbittest.VHostURL(vhost))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ch.QueueDeclare(q, true, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	if err := ch.Confirm(false); err != nil {
		t.Fatal(err)
	}
	for i, n := range sizes {
		body := bytes.Repeat([]byte{'x'}, max(n, 6))
		copy(body, fmt.Sprintf("%06d", i))
		c, err := ch.PublishWithDeferredConfirm("", q, false, false, amqp.Publishing{Body: body})
		if err != nil {
			t.Fatal(err)
		}
		if !c.Wait() {
			t.Fatalf("dead letter %d: nacked", i)
		}
	}
	ready := func() int {
		st, err := ch.QueueDeclarePassive(q, true, false, false, false, nil)
		if err != nil {
			t.Fatal(err)
		}
		return st.Messages
	}
	awaitReady(t, ready, len(sizes), 10*time.Second, "ready in queue "+q)
	return stream.ConsumerSpec{Binding: "x-in-0", Destination: dest, Group: "g"}, ready
}

func sameSizes(n, size int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = size
	}
	return s
}

// checkDLPos fails unless d, the pos-th dead letter (0-based) the cursor
// read, is the want-th of the fixture, with the id of its position.
func checkDLPos(t *testing.T, d stream.DeadLetter, pos, want int) {
	t.Helper()
	if len(d.Payload) < 6 || string(d.Payload[:6]) != fmt.Sprintf("%06d", want) {
		t.Fatalf("dead letter %d: payload starts %.6q, want %06d: out of the queue's order", pos, d.Payload, want)
	}
	if d.ID != strconv.Itoa(pos+1) {
		t.Fatalf("dead letter %d: id %s, want %d", pos, d.ID, pos+1)
	}
}

// TestDeadLettersWindowBytes: the cursor's window is bounded by bytes, not
// only by its count (RabbitMQ implements no prefetch-size): with dead
// letters larger than budget/dlqWindow, a window of dlqWindow of them held
// 256 × their size (4-8 MB dead letters: `dlq replay --limit 5` held 3
// GB). A listing (Next, nothing removed), a purge (NextBatch through all,
// then RemoveBatch) and replays (NextBatch then RemoveBatch, batch by
// batch, one stopping at a limit) never hold more than the budget of one
// consumer's deliveries, each batch weighs at most the budget, and every
// dead letter is read once, in order, with the id of its position, and
// removed exactly when told.
func TestDeadLettersWindowBytes(t *testing.T) {
	t.Parallel()
	rabbittest.RequireCtl(t)
	vhost := rabbittest.VHost(t)
	b, _ := newTestBinder(t, map[string]any{"virtual-host": vhost})
	const budget, size, n = 1 << 20, 64 << 10, 200 // a window of 15
	b.dlqBytes = budget
	spec, ready := sizedDLQFixture(t, vhost, sameSizes(n, size))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	checkPeak := func(what string, dl stream.DeadLetters) {
		t.Helper()
		c := dl.(*rabbitDeadLetters)
		if c.peakBytes > budget {
			t.Fatalf("%s: one consumer's deliveries held %d bytes (window %d), more than the budget %d", what, c.peakBytes, c.win, budget)
		}
		if c.win != budget/c.largest {
			t.Fatalf("%s: window %d, want %d (budget %d / dead letters of %d bytes)", what, c.win, budget/c.largest, budget, c.largest)
		}
	}

	// A listing.
	dl, err := b.OpenDeadLetters(ctx, spec, stream.DeadLetterOpen{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		d, err := dl.Next(ctx)
		if err != nil {
			t.Fatalf("dead letter %d: %v", i, err)
		}
		checkDLPos(t, d, i, i)
	}
	if _, err := dl.Next(ctx); !errors.Is(err, io.EOF) {
		t.Fatalf("after %d: %v, want io.EOF", n, err)
	}
	checkPeak("listing", dl)
	if err := dl.Close(ctx); err != nil {
		t.Fatal(err)
	}
	awaitReady(t, ready, n, 10*time.Second, "after the listing")

	// Replays: a batch at a time, each removed once read; the first stops
	// after limit dead letters.
	replay := func(what string, from, limit int) int {
		t.Helper()
		dl, bt := openBatchCursor(t, ctx, b, spec)
		got := 0
		for limit == 0 || got < limit {
			room := 128
			if limit > 0 {
				room = min(room, limit-got)
			}
			ds, err := bt.NextBatch(ctx, room)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("%s after %d: %v", what, got, err)
			}
			weight := 0
			for _, d := range ds {
				checkDLPos(t, d, got, from+got)
				got++
				weight += len(d.Payload)
			}
			if len(ds) > 1 && weight > budget {
				t.Fatalf("%s: a batch of %d dead letters weighs %d bytes, more than the budget %d", what, len(ds), weight, budget)
			}
			if errs := bt.RemoveBatch(ctx, ds); errs != nil {
				t.Fatalf("%s: RemoveBatch: %v", what, errors.Join(errs...))
			}
		}
		checkPeak(what, dl)
		if err := dl.Close(ctx); err != nil {
			t.Fatal(err)
		}
		return got
	}
	const limit = 37
	if got := replay("replay --limit", 0, limit); got != limit {
		t.Fatalf("replay --limit %d: %d replayed", limit, got)
	}
	awaitReady(t, ready, n-limit, 10*time.Second, "after the limited replay")

	// A purge: reads all first, then removes in batches.
	dl, bt := openBatchCursor(t, ctx, b, spec)
	var all []stream.DeadLetter
	for {
		ds, err := bt.NextBatch(ctx, 256)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("purge after %d: %v", len(all), err)
		}
		weight := 0
		for _, d := range ds {
			checkDLPos(t, d, len(all), limit+len(all))
			weight += len(d.Payload)
			d.Payload = nil
			all = append(all, d)
		}
		if len(ds) > 1 && weight > budget {
			t.Fatalf("purge: a batch of %d dead letters weighs %d bytes, more than the budget %d", len(ds), weight, budget)
		}
	}
	if len(all) != n-limit {
		t.Fatalf("purge read %d, want %d", len(all), n-limit)
	}
	checkPeak("purge", dl)
	for len(all) > 0 {
		batch := all[:min(len(all), 256)]
		all = all[len(batch):]
		if errs := bt.RemoveBatch(ctx, batch); errs != nil {
			t.Fatalf("purge: RemoveBatch: %v", errors.Join(errs...))
		}
	}
	if err := dl.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if r := ready(); r != 0 {
		t.Fatalf("after the purge: %d in the queue, want 0", r)
	}
}

// TestDeadLettersWindowShrinks: dead letters larger than those before make
// the cursor's window smaller, in a replay too, whose removals let the
// broker refill the current window (it never fills by itself, and only a
// full window can be cancelled: fill takes its rest first), and every dead
// letter is still read once, in order, and removed.
func TestDeadLettersWindowShrinks(t *testing.T) {
	t.Parallel()
	rabbittest.RequireCtl(t)
	vhost := rabbittest.VHost(t)
	b, _ := newTestBinder(t, map[string]any{"virtual-host": vhost})
	const budget, small, large = 1 << 20, 1 << 10, 64 << 10
	b.dlqBytes = budget
	sizes := append(sameSizes(40, small), sameSizes(2*dlqWindow+100, large)...)
	spec, ready := sizedDLQFixture(t, vhost, sizes)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dl, bt := openBatchCursor(t, ctx, b, spec)
	c := dl.(*rabbitDeadLetters)
	got, grown := 0, 0
	for {
		ds, err := bt.NextBatch(ctx, 128)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("after %d: %v", got, err)
		}
		grown = max(grown, c.win)
		for _, d := range ds {
			checkDLPos(t, d, got, got)
			got++
		}
		if errs := bt.RemoveBatch(ctx, ds); errs != nil {
			t.Fatalf("RemoveBatch: %v", errors.Join(errs...))
		}
	}
	if got != len(sizes) {
		t.Fatalf("replayed %d, want %d", got, len(sizes))
	}
	if grown != dlqWindow {
		t.Fatalf("the window of the small dead letters was %d, want %d", grown, dlqWindow)
	}
	if want := budget / c.largest; c.win != want {
		t.Fatalf("after the large dead letters: window %d, want %d (budget %d / %d bytes)", c.win, want, budget, c.largest)
	}
	if err := dl.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if r := ready(); r != 0 {
		t.Fatalf("after the replay: %d in the queue, want 0", r)
	}
}

// TestDeadLettersBatchStopsBeforeLarge: a batch stops before the dead
// letter that would take it past the budget, which begins the next batch
// (alone when it weighs more than the budget). NextBatch checked the
// budget only before taking the next dead letter: 49 dead letters of 1
// KiB then one of 1 MiB+1 came as one batch of 1.1 MB over a 1 MiB
// budget (the first batch of one, removed, leaves the rest of the window
// pending, so the next batch takes it at once).
func TestDeadLettersBatchStopsBeforeLarge(t *testing.T) {
	t.Parallel()
	rabbittest.RequireCtl(t)
	vhost := rabbittest.VHost(t)
	b, _ := newTestBinder(t, map[string]any{"virtual-host": vhost})
	const budget = 1 << 20
	b.dlqBytes = budget
	sizes := append(sameSizes(50, 1<<10), budget+1)
	sizes = append(sizes, sameSizes(30, 1<<10)...)
	spec, ready := sizedDLQFixture(t, vhost, sizes)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dl, bt := openBatchCursor(t, ctx, b, spec)
	got := 0
	for {
		room := 128
		if got == 0 {
			room = 1
		}
		ds, err := bt.NextBatch(ctx, room)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("after %d: %v", got, err)
		}
		weight := 0
		for _, d := range ds {
			checkDLPos(t, d, got, got)
			got++
			weight += len(d.Payload)
		}
		if len(ds) > 1 && weight > budget {
			t.Fatalf("a batch of %d dead letters weighs %d bytes, more than the budget %d", len(ds), weight, budget)
		}
		if errs := bt.RemoveBatch(ctx, ds); errs != nil {
			t.Fatalf("RemoveBatch: %v", errors.Join(errs...))
		}
	}
	if err := dl.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if got != len(sizes) {
		t.Fatalf("replayed %d, want %d", got, len(sizes))
	}
	if r := ready(); r != 0 {
		t.Fatalf("after the replay: %d in the queue, want 0", r)
	}
}

// TestDeadLettersSlowLinkNotIdle: a dead letter that takes longer than
// the cursor's idle wait to arrive (a large one over a slow link) is not
// taken for the end of the queue: a listing of 5 dead letters of 200 KiB
// at 200 KiB/s, with an idle wait of 200 ms, ended after 1 with io.EOF
// and 4 "held elsewhere". The cursor makes a round trip on its channel
// first, whose answer comes after the deliveries sent before it.
func TestDeadLettersSlowLinkNotIdle(t *testing.T) {
	t.Parallel()
	rabbittest.RequireCtl(t)
	px := rabbittest.NewProxy(t, nil)
	vhost := rabbittest.VHost(t)
	b, _ := newTestBinder(t, map[string]any{"virtual-host": vhost, "addresses": px.Addr()})
	sizes := sameSizes(5, 200<<10)
	spec, ready := sizedDLQFixture(t, vhost, sizes)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dl, err := b.OpenDeadLetters(ctx, spec, stream.DeadLetterOpen{})
	if err != nil {
		t.Fatal(err)
	}
	c := dl.(*rabbitDeadLetters)
	c.idle = 200 * time.Millisecond
	px.Throttle(200 << 10)
	for i := range sizes {
		d, err := dl.Next(ctx)
		if err != nil {
			t.Fatalf("dead letter %d over a slow link: %v (held elsewhere: %d)", i, err, c.HeldElsewhere())
		}
		checkDLPos(t, d, i, i)
	}
	if _, err := dl.Next(ctx); !errors.Is(err, io.EOF) {
		t.Fatalf("after %d: %v, want io.EOF", len(sizes), err)
	}
	px.Throttle(0)
	if err := dl.Close(ctx); err != nil {
		t.Fatal(err)
	}
	awaitReady(t, ready, len(sizes), 10*time.Second, "after the listing")
}
