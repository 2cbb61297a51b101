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

// TestReclaimedEntriesNotHandledAgain (found by the pause trial): entries
// this consumer held that another member reclaimed meanwhile (a process
// paused past claim-min-idle) were handled anyway once it went on, each
// a duplicate, with a WARN per entry. They are left to their new owner
// now, with one WARN.
func TestReclaimedEntriesNotHandledAgain(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var logs syncbuf.Buffer
	b := e.binder(t, nil)
	p := bindProducer(t, b, stream.ProducerSpec{Destination: "lost"})
	first := make(chan struct{})
	release := make(chan struct{})
	var mu sync.Mutex
	var handled []string
	var once sync.Once
	spec := stream.ConsumerSpec{Binding: "test-in-0", Destination: "lost", Group: "g", ContentType: stream.DefaultContentType,
		Consumer:  stream.ConsumerConfig{Concurrency: 1, MaxAttempts: 1, InstanceCount: 1},
		Extension: map[string]any{"claim-min-idle": "300ms", "claim-interval": "1h"},
		Logger:    slog.New(slog.NewTextHandler(&logs, nil)),
		Handler: func(_ context.Context, m stream.Envelope) error {
			mu.Lock()
			handled = append(handled, m.Headers[idHeader])
			mu.Unlock()
			once.Do(func() { close(first); <-release })
			return nil
		}}
	cons, err := b.BindConsumer(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cons.Stop(context.Background()) })
	send(t, p, ids("m", 5))
	if err := cons.Start(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case <-first:
	case <-ctx.Done():
		t.Fatal("nothing handled")
	}
	// The first entry is in the handler, the other four held behind it.
	// Another member takes all five, as after this one's pause.
	c := redistest.Client(t, redistest.Addr(), "", "")
	key := redisbinder.StreamKey(e.prefix, "lost", -1)
	var pend []goredis.XPendingExt
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
	for !strings.Contains(logs.String(), "another member reclaimed entries") {
		if ctx.Err() != nil {
			t.Fatalf("no WARN of the reclaimed entries; log:\n%s", logs.String())
		}
		time.Sleep(20 * time.Millisecond) // polling the log, bounded by ctx
	}
	close(release)
	// An entry sent now comes after the four: once it is handled, they
	// were handled or skipped.
	send(t, p, []string{"after"})
	for {
		mu.Lock()
		got := append([]string(nil), handled...)
		mu.Unlock()
		if len(got) > 0 && got[len(got)-1] == "after" {
			if strings.Join(got, ",") != "m-0,after" {
				t.Fatalf("handled %v: the four entries another member reclaimed were handled here too", got)
			}
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("handled %v; log:\n%s", got, logs.String())
		}
		time.Sleep(10 * time.Millisecond) // polling the handler's record, bounded by ctx
	}
	if n := strings.Count(logs.String(), "another member reclaimed entries"); n != 1 {
		t.Errorf("%d WARN lines about the reclaimed entries, want 1:\n%s", n, logs.String())
	}
}

// TestTrimmedHeldEntriesStillHandled (found by the review of the fix
// above): entries trimmed from the stream (max-length, max-age, XDEL)
// while the consumer held them are pending with no one — XCLAIM drops a
// deleted entry from the pending list — and were taken for reclaimed and
// skipped; the consumer has their fields and handles them.
func TestTrimmedHeldEntriesStillHandled(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var logs syncbuf.Buffer
	b := e.binder(t, nil)
	p := bindProducer(t, b, stream.ProducerSpec{Destination: "trim"})
	first := make(chan struct{})
	release := make(chan struct{})
	var mu sync.Mutex
	var handled []string
	var once sync.Once
	spec := stream.ConsumerSpec{Binding: "test-in-0", Destination: "trim", Group: "g", ContentType: stream.DefaultContentType,
		Consumer:  stream.ConsumerConfig{Concurrency: 1, MaxAttempts: 1, InstanceCount: 1},
		Extension: map[string]any{"claim-min-idle": "300ms", "claim-interval": "1h"},
		Logger:    slog.New(slog.NewTextHandler(&logs, nil)),
		Handler: func(_ context.Context, m stream.Envelope) error {
			mu.Lock()
			handled = append(handled, m.Headers[idHeader])
			mu.Unlock()
			once.Do(func() { close(first); <-release })
			return nil
		}}
	cons, err := b.BindConsumer(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cons.Stop(context.Background()) })
	send(t, p, ids("m", 5))
	if err := cons.Start(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case <-first:
	case <-ctx.Done():
		t.Fatal("nothing handled")
	}
	c := redistest.Client(t, redistest.Addr(), "", "")
	key := redisbinder.StreamKey(e.prefix, "trim", -1)
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
	close(release)
	send(t, p, []string{"after"})
	for {
		mu.Lock()
		got := append([]string(nil), handled...)
		mu.Unlock()
		if len(got) > 0 && got[len(got)-1] == "after" {
			if strings.Join(got, ",") != "m-0,m-1,m-2,m-3,m-4,after" {
				t.Fatalf("handled %v: the entries trimmed while held must still be handled; log:\n%s", got, logs.String())
			}
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("handled %v; log:\n%s", got, logs.String())
		}
		time.Sleep(10 * time.Millisecond) // polling the handler's record, bounded by ctx
	}
	if strings.Contains(logs.String(), "another member reclaimed") {
		t.Errorf("trimmed entries reported as reclaimed:\n%s", logs.String())
	}
}
