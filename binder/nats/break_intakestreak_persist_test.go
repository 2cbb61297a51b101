package nats_test

import (
	"context"
	"log/slog"
	"slices"
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
	srv := natstest.Start(t, natstest.Options{Config: `accounts { A: { jetstream: { max_consumers: 1 }, users: [{user: a, password: streakpass}] } }`})
	// Not a one-letter password: the log hides the password wherever it
	// occurs, and the test reads the logged errors.
	url := strings.Replace(srv.URL(), "nats://", "nats://a:streakpass@", 1)
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
	// From here on the binding cannot make its consumer: a pull that
	// begins after it failed to make it fails by missing heartbeats, about
	// 10s after it began, and continues the streak of the failure before
	// it (which may have been logged before the blocker took the slot).
	// Not a pull on the consumer made again in between: the blocker's
	// deletion of it may have come before the pull reached the server, and
	// that pull (on a consumer the binding had made) began a new streak.
	noHeartbeatAfterOpenFail := func(f failure) bool {
		return f.afterOpenFail && strings.Contains(f.err, jetstream.ErrNoHeartbeat.Error())
	}
	got, fails := h.waitUntil(t, "a pull after a failed reopen to fail by missing heartbeats", func(_ []int64, fails []failure) bool {
		return slices.ContainsFunc(fails, noHeartbeatAfterOpenFail)
	})
	i := slices.IndexFunc(fails, noHeartbeatAfterOpenFail)
	if i == 0 {
		t.Fatalf("the first consuming failure logged is by missing heartbeats (%+v), want the deletion's before it", fails[0])
	}
	if got[i] != got[i-1]+1 {
		t.Errorf("attempts logged %v (failures %+v) during one lasting outage, want them counting up: attempt %d after %d", got[:i+1], fails[:i+1], got[i], got[i-1])
	}
}
