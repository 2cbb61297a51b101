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
	for len(pend) < 5 {
		if pend, err = c.XPendingExt(ctx, &goredis.XPendingExtArgs{Stream: key, Group: "g", Start: "-", End: "+", Count: 10}).Result(); err != nil {
			t.Fatal(err)
		}
		if ctx.Err() != nil {
			t.Fatalf("%d pending, want 5", len(pend))
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
