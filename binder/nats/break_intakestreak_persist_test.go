package nats_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	natsbinder "github.com/streambind/streambind/binder/nats"
	"github.com/streambind/streambind/binder/nats/natstest"
	"github.com/streambind/streambind/stream"
)

// TestBreakIntakeStreakGoesOn: while the group's durable consumer cannot
// be made again (deleted, and the account's consumer limit taken by
// another), every pull fails only by missing heartbeats, about 10s after
// it began — as long as the default reconnect-stable-interval. Such a
// pull did not run well: the failures go on counting (attempt 1, 2, ...)
// rather than each starting a new streak at attempt 1, which logged a
// lasting outage as ever new ones with the shortest back-off.
func TestBreakIntakeStreakGoesOn(t *testing.T) {
	t.Parallel()
	srv := natstest.Start(t, natstest.Options{Config: `accounts { A: { jetstream: { max_consumers: 1 }, users: [{user: a, password: a}] } }`})
	url := strings.Replace(srv.URL(), "nats://", "nats://a:a@", 1)
	h := &attemptsLog{changed: make(chan struct{}, 1)}
	b, err := natsbinder.New(context.Background(), stream.BinderSettings{Name: "nats", Type: natsbinder.Type,
		Environment: map[string]any{"servers": url}, Logger: slog.New(h)})
	if err != nil {
		t.Fatal(err)
	}
	closeBinder(t, b)
	dest := unique(t, "persist")
	startConsumer(t, b, stream.ConsumerSpec{Destination: dest, Group: "g", Handler: newTracker().handler(0)})
	js := jsAt(t, url)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for { // the binding makes its consumer again at once: take the slot in between
		_ = js.DeleteConsumer(ctx, natsbinder.StreamName(dest), natsbinder.DurableName("g", -1))
		_, err := js.CreateConsumer(ctx, natsbinder.StreamName(dest), jetstream.ConsumerConfig{Durable: "blocker"})
		if err == nil {
			break
		}
		// The binding made its consumer again in between: that ended its
		// failure streak, and the next deletion starts another at 1.
		if ctx.Err() != nil {
			t.Fatal(err)
		}
	}
	// From here on the binding cannot make its consumer: one streak,
	// which may have begun before the blocker took the slot.
	h.mu.Lock()
	from := len(h.attempts)
	h.mu.Unlock()
	if got := h.waitFor(t, from+2)[from:]; got[1] != got[0]+1 {
		t.Errorf("attempts logged %v during one lasting outage, want them counting up", got)
	}
}
