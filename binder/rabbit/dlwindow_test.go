package rabbit

import (
	"context"
	"errors"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/rabbit/rabbittest"
	"github.com/streambind/streambind/stream"
)

// TestDeadLettersWindowed: a dead-letter cursor has the broker send it at
// most dlqWindow dead letters ahead of its reader, not the whole queue
// (amqp091-go buffers what arrives without bound: `dlq ls --limit 10` held
// every dead letter of the queue in memory); a listing past the window
// still returns every dead letter once, in the queue's order, and removes
// what it is told to; a replay (Remove after each Next) reads them all.
func TestDeadLettersWindowed(t *testing.T) {
	t.Parallel()
	rabbittest.RequireCtl(t)
	vhost := rabbittest.VHost(t)
	b, _ := newTestBinder(t, map[string]any{"virtual-host": vhost})
	const n = 2*dlqWindow + 50
	spec, ready := dlqFixture(t, vhost, n)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	dl, err := b.OpenDeadLetters(ctx, spec, stream.DeadLetterOpen{})
	if err != nil {
		t.Fatal(err)
	}
	next := func(want int) stream.DeadLetter {
		t.Helper()
		d, err := dl.Next(ctx)
		if err != nil {
			t.Fatalf("dead letter %d: %v", want, err)
		}
		if got := string(d.Payload); got != strconv.Itoa(want) {
			t.Fatalf("dead letter %d (id %s): payload %q, want %d", want, d.ID, got, want)
		}
		return d
	}
	for i := range 10 {
		next(i)
	}
	// The broker sends the cursor one window, then waits (after the
	// first dead letter, read with basic.get: it tells the window's size,
	// a full one for dead letters this small).
	sent := 1 + dlqWindow
	deadline := time.Now().Add(10 * time.Second)
	for ready() > n-sent {
		if time.Now().After(deadline) {
			t.Fatalf("%d ready, want %d (one window sent)", ready(), n-sent)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// No more arrive: the broker holds the cursor's consumer to its
	// prefetch (basic.qos), which it reports as it applies it, rather
	// than a wait for deliveries that might come later.
	out := rabbittest.Ctl(t, "list_consumers", "--vhost", vhost, "--no-table-headers", "--quiet", "queue_name", "prefetch_count")
	if want := spec.Destination + ".g.dlq\t" + strconv.Itoa(dlqWindow); strings.TrimSpace(out) != want {
		t.Fatalf("consumers of the vhost (queue, prefetch): %q, want %q", out, want)
	}
	if got := ready(); got != n-sent {
		t.Fatalf("after reading 10 of %d: %d still in the queue, want %d (the broker sent the cursor more than its window)", n, got, n-sent)
	}
	// Listing past the window, removing a few on the way (of the first
	// consumer, and of a later one).
	removed := 0
	for i := 10; i < n; i++ {
		d := next(i)
		if i == 20 || i == dlqWindow+5 || i == n-1 {
			if err := dl.Remove(ctx, d); err != nil {
				t.Fatal(err)
			}
			removed++
		}
	}
	if _, err := dl.Next(ctx); !errors.Is(err, io.EOF) {
		t.Fatalf("after %d: %v, want io.EOF", n, err)
	}
	if err := dl.Close(ctx); err != nil {
		t.Fatal(err)
	}
	deadline = time.Now().Add(10 * time.Second)
	for ready() != n-removed {
		if time.Now().After(deadline) {
			t.Fatalf("after Close: %d in the queue, want %d", ready(), n-removed)
		}
		time.Sleep(20 * time.Millisecond)
	}

	// A replay: each dead letter removed once read.
	dl, err = b.OpenDeadLetters(ctx, spec, stream.DeadLetterOpen{Claim: true})
	if err != nil {
		t.Fatal(err)
	}
	defer dl.Close(context.Background())
	got := 0
	for {
		d, err := dl.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("replay after %d: %v", got, err)
		}
		if err := dl.Remove(ctx, d); err != nil {
			t.Fatal(err)
		}
		got++
	}
	if got != n-removed {
		t.Fatalf("replay read %d, want %d", got, n-removed)
	}
	if err := dl.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if r := ready(); r != 0 {
		t.Fatalf("after the replay: %d in the queue, want 0", r)
	}
}
