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
	r := New(func(ctx context.Context) ([]stream.PartitionLag, error) {
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

	// Errors: returned, logged once within LogEvery.
	mu.Lock()
	fail = errors.New("broker says no")
	mu.Unlock()
	r.maxAge = 0
	for range 3 {
		if _, err := r.Lag(context.Background()); err == nil || err.Error() != "broker says no" {
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
