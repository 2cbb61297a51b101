package rabbit

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/rabbit/rabbittest"
	"github.com/streambind/streambind/stream"
)

var _ stream.DeadLetterBatcher = (*rabbitDeadLetters)(nil)

// TestDeadLettersBatch: the cursor reads in batches (NextBatch: up to max,
// in the queue's order, past its prefetch window) and removes a batch
// with one multiple basic.ack while no dead letter it holds comes before
// (RemoveBatch). A dead letter passed over (Release) stays held and goes
// back to the queue at Close; those after it are acknowledged one by one,
// never with a multiple ack that would take it too.
func TestDeadLettersBatch(t *testing.T) {
	t.Parallel()
	type ack struct {
		tag      uint64
		multiple bool
	}
	var (
		mu   sync.Mutex
		acks []ack
	)
	px := rabbittest.NewProxy(t, func(typ byte, _ uint16, pl []byte) {
		// basic.ack (60, 80): delivery tag, then the multiple bit.
		if typ == 1 && len(pl) >= 13 && binary.BigEndian.Uint16(pl) == 60 && binary.BigEndian.Uint16(pl[2:]) == 80 {
			mu.Lock()
			acks = append(acks, ack{binary.BigEndian.Uint64(pl[4:]), pl[12]&1 == 1})
			mu.Unlock()
		}
	})
	vhost := rabbittest.VHost(t)
	b, _ := newTestBinder(t, map[string]any{"virtual-host": vhost, "addresses": px.Addr()})
	const n, kept = 2*dlqWindow + 100, 400
	spec, ready := dlqFixture(t, vhost, n)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dl, bt := openBatchCursor(t, ctx, b, spec)
	read, removed, batches := 0, 0, 0
	multiples := 0 // multiple acks seen while nothing was kept
	var keptTag uint64
	for {
		ds, err := bt.NextBatch(ctx, 128)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("after %d: %v", read, err)
		}
		if len(ds) == 0 || len(ds) > 128 {
			t.Fatalf("a batch of %d", len(ds))
		}
		batches++
		var rm []stream.DeadLetter
		before, after := 0, 0 // of rm: read before the kept one, after it
		for _, d := range ds {
			if string(d.Payload) != strconv.Itoa(read) {
				t.Fatalf("dead letter %d has payload %q: out of the queue's order", read, d.Payload)
			}
			read++
			switch {
			case read-1 == kept:
				keptTag = dl.(*rabbitDeadLetters).tags[d.ID].tag
				if err := dl.Release(ctx, d); err != nil {
					t.Fatal(err)
				}
				continue
			case read-1 < kept:
				before++
			default:
				after++
			}
			rm = append(rm, d)
		}
		mu.Lock()
		seen := len(acks)
		mu.Unlock()
		if errs := bt.RemoveBatch(ctx, rm); errs != nil {
			t.Fatalf("RemoveBatch: %v", errors.Join(errs...))
		}
		removed += len(rm)
		// RemoveBatch returned once the broker answered the basic.qos
		// sent after the acks (confirmAcks), and the proxy saw them
		// before it passed that on: they are all in acks[seen:].
		// Those before the kept one: one ack; those after it: one each.
		want := after
		if before > 0 {
			want++
		}
		mu.Lock()
		got := slices.Clone(acks[seen:])
		mu.Unlock()
		if len(got) != want {
			t.Fatalf("batch %d: acks %v; want %d", batches, got, want)
		}
		if before > 1 {
			if !got[0].multiple {
				t.Fatalf("batch %d (%d dead letters, none kept before them): acks %v; want one multiple ack first", batches, before, got)
			}
			multiples++
		}
		for _, a := range got {
			if keptTag != 0 && a.multiple && a.tag > keptTag {
				t.Fatalf("batch %d: a multiple ack (tag %d) past the kept dead letter's (tag %d)", batches, a.tag, keptTag)
			}
		}
	}
	if read != n || removed != n-1 {
		t.Fatalf("read %d, removed %d; want %d and %d", read, removed, n, n-1)
	}
	if multiples < 2 {
		t.Fatalf("%d multiple acks; want one a batch before the kept dead letter", multiples)
	}
	if err := dl.Close(ctx); err != nil {
		t.Fatal(err)
	}
	awaitReady(t, ready, 1, 10*time.Second, "after Close: the one passed over")
	t.Logf("%d dead letters in %d batches", n, batches)
}

// TestDeadLettersRemoveBatchUnknown: RemoveBatch fails, per dead letter,
// for one the cursor does not hold (removed already, or never returned),
// and removes the others.
func TestDeadLettersRemoveBatchUnknown(t *testing.T) {
	t.Parallel()
	vhost := rabbittest.VHost(t)
	b, _ := newTestBinder(t, map[string]any{"virtual-host": vhost})
	spec, ready := dlqFixture(t, vhost, 5)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dl, bt := openBatchCursor(t, ctx, b, spec)
	var ds []stream.DeadLetter
	for len(ds) < 5 {
		got, err := bt.NextBatch(ctx, 5-len(ds))
		if err != nil {
			t.Fatal(err)
		}
		ds = append(ds, got...)
	}
	if err := dl.Remove(ctx, ds[1]); err != nil {
		t.Fatal(err)
	}
	errs := bt.RemoveBatch(ctx, []stream.DeadLetter{ds[0], ds[1], ds[2], {ID: "99"}})
	if len(errs) != 4 || errs[0] != nil || errs[1] == nil || errs[2] != nil || errs[3] == nil {
		t.Fatalf("RemoveBatch: %v; want errors for the second and the fourth only", errs)
	}
	if err := dl.Close(ctx); err != nil {
		t.Fatal(err)
	}
	awaitReady(t, ready, 2, 10*time.Second, "left")
}

// TestDeadLettersBatchQuorum: the same on a quorum DLQ (its consumer's
// prefetch is per consumer, and it takes multiple acks as a classic queue
// does): every dead letter but the one passed over is removed, that one
// goes back to the queue at Close.
func TestDeadLettersBatchQuorum(t *testing.T) {
	t.Parallel()
	vhost := rabbittest.VHost(t)
	b, _ := newTestBinder(t, map[string]any{"virtual-host": vhost})
	const n, kept = dlqWindow + 50, 150
	spec, ch := quorumDLQFixture(t, vhost, 20, n, nil)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dl, bt := openBatchCursor(t, ctx, b, spec)
	drainBatches(t, ctx, dl, bt, n, func(i int, _ stream.DeadLetter) bool { return i == kept })
	waitReady(t, ch, spec.Destination+".g.dlq", 1)
}

// TestDeadLettersBatchReleasedPastWindow: a filtered replay's batches,
// passing over every other dead letter, hold more than a prefetch window
// unremoved: the cursor lets the broker send the rest (a new consumer, as
// Next does), in the queue's order, and Close gives back only those
// passed over, in their order.
func TestDeadLettersBatchReleasedPastWindow(t *testing.T) {
	t.Parallel()
	vhost := rabbittest.VHost(t)
	b, _ := newTestBinder(t, map[string]any{"virtual-host": vhost})
	const n = 3*dlqWindow + 10
	spec, ready := dlqFixture(t, vhost, n)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dl, bt := openBatchCursor(t, ctx, b, spec)
	drainBatches(t, ctx, dl, bt, n, func(i int, d stream.DeadLetter) bool {
		if string(d.Payload) != strconv.Itoa(i) {
			t.Fatalf("dead letter %d has payload %q: out of the queue's order", i, d.Payload)
		}
		return i%2 == 1
	})
	awaitReady(t, ready, n/2, 10*time.Second, "after Close: those passed over")
	// They are back in their order: a plain cursor lists 1, 3, 5, ...
	dl, err := b.OpenDeadLetters(ctx, spec, stream.DeadLetterOpen{})
	if err != nil {
		t.Fatal(err)
	}
	defer dl.Close(context.Background())
	for i := 1; i < n; i += 2 {
		d, err := dl.Next(ctx)
		if err != nil {
			t.Fatalf("listing %d: %v", i, err)
		}
		if string(d.Payload) != strconv.Itoa(i) {
			t.Fatalf("listed %q, want %d", d.Payload, i)
		}
	}
}

// drainBatches reads the n dead letters of cursor dl (bt) a batch at a
// time until io.EOF, passes over (Release) each that pass(i, d) says, the
// i-th read, removes the others a batch at a time, and closes dl.
func drainBatches(t *testing.T, ctx context.Context, dl stream.DeadLetters, bt stream.DeadLetterBatcher, n int, pass func(i int, d stream.DeadLetter) bool) (batches int) {
	t.Helper()
	read := 0
	for {
		ds, err := bt.NextBatch(ctx, 128)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("after %d: %v", read, err)
		}
		batches++
		var rm []stream.DeadLetter
		for _, d := range ds {
			if pass(read, d) {
				if err := dl.Release(ctx, d); err != nil {
					t.Fatal(err)
				}
			} else {
				rm = append(rm, d)
			}
			read++
		}
		if errs := bt.RemoveBatch(ctx, rm); errs != nil {
			t.Fatalf("RemoveBatch: %v", errors.Join(errs...))
		}
	}
	if read != n {
		t.Fatalf("read %d of %d", read, n)
	}
	if err := dl.Close(ctx); err != nil {
		t.Fatal(err)
	}
	return batches
}

// openBatchCursor opens a claiming dead-letter cursor of b on spec's DLQ,
// which must batch (a stream.DeadLetterBatcher).
func openBatchCursor(t *testing.T, ctx context.Context, b *Binder, spec stream.ConsumerSpec) (stream.DeadLetters, stream.DeadLetterBatcher) {
	t.Helper()
	dl, err := b.OpenDeadLetters(ctx, spec, stream.DeadLetterOpen{Claim: true})
	if err != nil {
		t.Fatal(err)
	}
	bt, ok := dl.(stream.DeadLetterBatcher)
	if !ok {
		t.Fatalf("%T is no stream.DeadLetterBatcher", dl)
	}
	return dl, bt
}

// TestDeadLettersRemoveCancelled: a removal asked with a context already
// done fails and acknowledges nothing: the dead letters go back to the
// queue at Close. It acknowledged them, then failed them all in
// confirmAcks, so a caller told "not removed" (an interrupted purge's
// count) had them removed all the same.
func TestDeadLettersRemoveCancelled(t *testing.T) {
	t.Parallel()
	vhost := rabbittest.VHost(t)
	b, _ := newTestBinder(t, map[string]any{"virtual-host": vhost})
	const n = 10
	spec, ready := dlqFixture(t, vhost, n)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dl, bt := openBatchCursor(t, ctx, b, spec)
	var ds []stream.DeadLetter
	for len(ds) < n {
		b, err := bt.NextBatch(ctx, n-len(ds))
		if err != nil {
			t.Fatal(err)
		}
		ds = append(ds, b...)
	}
	done, stop := context.WithCancel(ctx)
	stop()
	if errs := bt.RemoveBatch(done, ds[:n-1]); countErrs(errs) != n-1 {
		t.Errorf("RemoveBatch with a cancelled context: %d of %d failed; want all", countErrs(errs), n-1)
	}
	if err := dl.Remove(done, ds[n-1]); !errors.Is(err, context.Canceled) {
		t.Errorf("Remove with a cancelled context: %v; want context.Canceled", err)
	}
	if err := dl.Close(ctx); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for ready() != n && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if r := ready(); r != n {
		t.Errorf("%d dead letters in the queue after Close; want all %d (none removed)", r, n)
	}
}
