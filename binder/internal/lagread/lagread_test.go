package lagread

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/streambind/streambind/internal/syncbuf"
	"github.com/streambind/streambind/stream"
)

// TestReaderSharesAndBounds: calls within MaxAge share one read, and a
// read in progress is waited for, not repeated; a caller whose context
// ends first gets its error and the read lands for the next; an error is
// served as the lag (left out), logged once within LogEvery; a read that
// says the broker cannot tell is logged once and never made again.
func TestReaderSharesAndBounds(t *testing.T) {
	var logs syncbuf.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	var reads atomic.Int64
	release := make(chan struct{})
	var mu sync.Mutex
	var fail, unsupported error
	r := New(context.Background(), func(ctx context.Context) ([]stream.PartitionLag, error) {
		reads.Add(1)
		<-release
		mu.Lock()
		defer mu.Unlock()
		if unsupported != nil {
			return nil, unsupported
		}
		return []stream.PartitionLag{{Topic: "q", Lag: reads.Load()}}, fail
	}, log, "test: reading the lag failed")
	r.maxAge = time.Hour

	// A caller whose context ends before the read does: its error; the
	// read goes on and a second caller waits for it (no second read).
	short, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := r.Lag(short); !errors.Is(err, context.Canceled) {
		t.Fatalf("Lag with an ended context: %v", err)
	}
	got := make(chan []stream.PartitionLag)
	go func() {
		l, _ := r.Lag(context.Background())
		got <- l
	}()
	close(release)
	if l := <-got; len(l) != 1 || l[0].Lag != 1 {
		t.Fatalf("lag %+v, want the one read's", l)
	}
	// Within maxAge: served as read.
	if l, err := r.Lag(context.Background()); err != nil || len(l) != 1 || l[0].Lag != 1 || reads.Load() != 1 {
		t.Fatalf("lag %+v, %v after %d reads, want the first read's", l, err, reads.Load())
	}

	// Errors: served (after the read that got them landed), logged once
	// within LogEvery.
	mu.Lock()
	fail = errors.New("broker says no")
	mu.Unlock()
	r.maxAge = 0
	r.Lag(context.Background()) // serves the last read, starts one
	settle(r)
	for range 3 {
		_, err := r.Lag(context.Background())
		settle(r)
		if err == nil || err.Error() != "broker says no" {
			t.Fatalf("Lag: %v, want the read's error", err)
		}
	}
	if n := strings.Count(logs.String(), "test: reading the lag failed"); n != 1 {
		t.Fatalf("%d WARNs of 3 failed reads, want 1:\n%s", n, logs.String())
	}

	// Unsupported: nothing, logged once, no read again.
	mu.Lock()
	unsupported = errors.Join(errors.New("old server"), ErrUnsupported)
	mu.Unlock()
	r.Lag(context.Background())
	settle(r)
	if l, err := r.Lag(context.Background()); l != nil || err != nil {
		t.Fatalf("Lag of an unsupported broker: %+v, %v", l, err)
	}
	n := reads.Load()
	if l, err := r.Lag(context.Background()); l != nil || err != nil || reads.Load() != n {
		t.Fatalf("Lag after unsupported: %+v, %v, %d reads (was %d)", l, err, reads.Load(), n)
	}
	if !strings.Contains(logs.String(), "level=INFO") || !strings.Contains(logs.String(), "old server") {
		t.Fatalf("no INFO of the unsupported broker:\n%s", logs.String())
	}
}

// settle waits for r's read in progress, if any, to land.
func settle(r *Reader) {
	r.mu.Lock()
	w := r.reading
	r.mu.Unlock()
	if w != nil {
		<-w
	}
}

// TestSlowReadServesLastValue: once a read landed, Lag answers at once
// with it while a newer read, slow, runs in the background (one slow
// broker must not use up a scrape); that read lands for a later call.
// Only the first call waits for a read. After the binder's lifetime ends
// a read in progress is cancelled and no WARN is logged.
func TestSlowReadServesLastValue(t *testing.T) {
	var logs syncbuf.Buffer
	life, closeBinder := context.WithCancel(context.Background())
	defer closeBinder()
	const slow = 3 * time.Second
	var reads atomic.Int64
	started := make(chan struct{}, 10)
	r := New(life, func(ctx context.Context) ([]stream.PartitionLag, error) {
		n := reads.Add(1)
		started <- struct{}{}
		if n > 1 {
			select {
			case <-time.After(slow):
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		return []stream.PartitionLag{{Topic: "q", Lag: n}}, nil
	}, slog.New(slog.NewTextHandler(&logs, nil)), "test: reading the lag failed")
	r.maxAge = 0

	// The first call waits for the first read.
	if l, err := r.Lag(context.Background()); err != nil || len(l) != 1 || l[0].Lag != 1 {
		t.Fatalf("first Lag: %+v, %v, want the first read's", l, err)
	}
	<-started
	// The second: the cached value at once, the slow read started.
	ctx, cancel := context.WithTimeout(context.Background(), slow/10)
	defer cancel()
	begin := time.Now()
	l, err := r.Lag(ctx)
	if took := time.Since(begin); err != nil || len(l) != 1 || l[0].Lag != 1 || took > slow/10 {
		t.Fatalf("second Lag: %+v, %v after %v, want the first read's at once", l, err, took)
	}
	select {
	case <-started:
	case <-time.After(time.Second):
		t.Fatal("no refresh started by the stale read")
	}
	settle(r)
	if l, err := r.Lag(context.Background()); err != nil || len(l) != 1 || l[0].Lag != 2 {
		t.Fatalf("Lag after the refresh landed: %+v, %v, want the second read's", l, err)
	}

	// Closed while a read runs: it ends at once, logs nothing; Lag after
	// the close reports nothing and reads no more.
	<-started // the refresh the last call started
	begin = time.Now()
	closeBinder()
	settle(r)
	if took := time.Since(begin); took > slow/2 {
		t.Fatalf("read ran %v after the binder's lifetime ended", took)
	}
	if strings.Contains(logs.String(), "level=WARN") {
		t.Fatalf("WARN after the binder closed:\n%s", logs.String())
	}
	n := reads.Load()
	if l, err := r.Lag(context.Background()); l != nil || err != nil || reads.Load() != n {
		t.Fatalf("Lag after close: %+v, %v, %d reads (was %d)", l, err, reads.Load(), n)
	}
}
