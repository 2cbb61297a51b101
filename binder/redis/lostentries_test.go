package redis_test

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	redisbinder "github.com/streambind/streambind/binder/redis"
	"github.com/streambind/streambind/binder/redis/redistest"
	"github.com/streambind/streambind/internal/syncbuf"
	"github.com/streambind/streambind/stream"
)

// heldFixture is a consumer (concurrency 1, claim-min-idle 300ms: a
// keep-alive round every 100ms) whose handler holds the first of five
// entries m-0..m-4 until release is closed, so that the other four wait
// held behind it.
type heldFixture struct {
	ctx     context.Context
	key     string // the destination's stream
	c       *goredis.Client
	p       stream.Producer
	logs    *syncbuf.Buffer
	release chan struct{}
	mu      sync.Mutex
	handled []string
}

func newHeldFixture(t *testing.T, dest string) *heldFixture {
	t.Helper()
	e := newEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	f := &heldFixture{ctx: ctx, key: redisbinder.StreamKey(e.prefix, dest, -1), c: redistest.Client(t, redistest.Addr(), "", ""),
		logs: &syncbuf.Buffer{}, release: make(chan struct{})}
	b := e.binder(t, nil)
	f.p = bindProducer(t, b, stream.ProducerSpec{Destination: dest})
	first := make(chan struct{})
	var once sync.Once
	spec := stream.ConsumerSpec{Binding: "test-in-0", Destination: dest, Group: "g", ContentType: stream.DefaultContentType,
		Consumer:  stream.ConsumerConfig{Concurrency: 1, MaxAttempts: 1, InstanceCount: 1},
		Extension: map[string]any{"claim-min-idle": "300ms", "claim-interval": "1h"},
		Logger:    slog.New(slog.NewTextHandler(f.logs, nil)),
		Handler: func(_ context.Context, m stream.Envelope) error {
			f.mu.Lock()
			f.handled = append(f.handled, m.Headers[idHeader])
			f.mu.Unlock()
			once.Do(func() { close(first); <-f.release })
			return nil
		}}
	cons, err := b.BindConsumer(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cons.Stop(context.Background()) })
	redisbinder.MeasuredCost(cons, time.Microsecond) // it reads ahead (see bindReadingAhead)
	send(t, f.p, ids("m", 5))
	if err := cons.Start(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case <-first:
	case <-ctx.Done():
		t.Fatal("nothing handled")
	}
	return f
}

// handledAfterRelease releases the first entry, sends "after" (it comes
// after the other four) and returns what was handled once it was.
func (f *heldFixture) handledAfterRelease(t *testing.T) string {
	t.Helper()
	close(f.release)
	send(t, f.p, []string{"after"})
	for {
		f.mu.Lock()
		got := append([]string(nil), f.handled...)
		f.mu.Unlock()
		if len(got) > 0 && got[len(got)-1] == "after" {
			return strings.Join(got, ",")
		}
		if f.ctx.Err() != nil {
			t.Fatalf("handled %v; log:\n%s", got, f.logs.String())
		}
		time.Sleep(10 * time.Millisecond) // polling the handler's record, bounded by ctx
	}
}

// TestReclaimedEntriesNotHandledAgain (found by the pause trial): entries
// this consumer held that another member reclaimed meanwhile (a process
// paused past claim-min-idle) were handled anyway once it went on, each
// a duplicate, with a WARN per entry. They are left to their new owner
// now, with one WARN.
func TestReclaimedEntriesNotHandledAgain(t *testing.T) {
	f := newHeldFixture(t, "lost")
	ctx, c, key := f.ctx, f.c, f.key
	// The first entry is in the handler, the other four held behind it.
	// Another member takes all five, as after this one's pause.
	var pend []goredis.XPendingExt
	var err error
	for len(pend) < 5 { // until intake read all five
		if pend, err = c.XPendingExt(ctx, &goredis.XPendingExtArgs{Stream: key, Group: "g", Start: "-", End: "+", Count: 10}).Result(); err != nil {
			t.Fatal(err)
		}
		if ctx.Err() != nil {
			t.Fatalf("%d pending, want 5", len(pend))
		}
		if len(pend) < 5 {
			time.Sleep(5 * time.Millisecond) // polling the broker, bounded by ctx
		}
	}
	claim := make([]string, len(pend))
	for i, pe := range pend {
		claim[i] = pe.ID
	}
	if err := c.XClaimJustID(ctx, &goredis.XClaimArgs{Stream: key, Group: "g", Consumer: "other", Messages: claim}).Err(); err != nil {
		t.Fatal(err)
	}
	for !strings.Contains(f.logs.String(), "another member reclaimed entries") {
		if ctx.Err() != nil {
			t.Fatalf("no WARN of the reclaimed entries; log:\n%s", f.logs.String())
		}
		time.Sleep(20 * time.Millisecond) // polling the log, bounded by ctx
	}
	if got := f.handledAfterRelease(t); got != "m-0,after" {
		t.Fatalf("handled %s: the four entries another member reclaimed were handled here too", got)
	}
	if n := strings.Count(f.logs.String(), "another member reclaimed entries"); n != 1 {
		t.Errorf("%d WARN lines about the reclaimed entries, want 1:\n%s", n, f.logs.String())
	}
}

// TestTrimmedHeldEntriesStillHandled (found by the review of the fix
// above): entries trimmed from the stream (max-length, max-age, XDEL)
// while the consumer held them are pending with no one — XCLAIM drops a
// deleted entry from the pending list — and were taken for reclaimed and
// skipped; the consumer has their fields and handles them.
func TestTrimmedHeldEntriesStillHandled(t *testing.T) {
	f := newHeldFixture(t, "trim")
	ctx, c, key := f.ctx, f.c, f.key
	if err := c.XTrimMaxLen(ctx, key, 0).Err(); err != nil {
		t.Fatal(err)
	}
	// The keep-alive round (every 100ms here) drops them from the pending
	// list; the next rounds then find them pending with no one.
	for {
		n, err := c.XPending(ctx, key, "g").Result()
		if err != nil {
			t.Fatal(err)
		}
		if n.Count == 0 {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("still %d pending after the trim", n.Count)
		}
		time.Sleep(20 * time.Millisecond) // polling the broker, bounded by ctx
	}
	time.Sleep(400 * time.Millisecond) // four more rounds (their effect is what is checked)
	if got := f.handledAfterRelease(t); got != "m-0,m-1,m-2,m-3,m-4,after" {
		t.Fatalf("handled %s: the entries trimmed while held must still be handled; log:\n%s", got, f.logs.String())
	}
	if strings.Contains(f.logs.String(), "another member reclaimed") {
		t.Errorf("trimmed entries reported as reclaimed:\n%s", f.logs.String())
	}
}
