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
// another), the binding tries to make it again with a growing back-off,
// its attempts counting up (1, 2, 3, ...) as one outage rather than each
// starting a new streak at attempt 1, unhealthy meanwhile; and it does not
// pull on the consumer the server lacks. Once the slot is free it makes
// the consumer again within its back-off and consumes.
//
// Before, it pulled on the lost consumer after each failed attempt: such
// a pull fails only by missing heartbeats, about 10s after it began, so
// the binding noticed a free slot 5-20s late (found by a test-time
// review), and each such pull had been logged as a new outage.
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
	tr := newTracker()
	c := startConsumer(t, b, stream.ConsumerSpec{Destination: dest, Group: "g", Handler: tr.handler(0)})
	p := bindProducer(t, b, stream.ProducerSpec{Destination: dest})
	js := jsAt(t, url)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for { // the binding makes its consumer again at once: take the slot in between
		_ = js.DeleteConsumer(ctx, natsbinder.StreamName(dest), natsbinder.DurableName("g", -1))
		_, err := js.CreateConsumer(ctx, natsbinder.StreamName(dest), jetstream.ConsumerConfig{Durable: "blocker"})
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			t.Fatal(err)
		}
	}
	// From here on the binding cannot make its consumer. Three attempts
	// after the last failed pull: with a back-off of 0.1s, 0.2s, 0.4s,
	// well within the waiting's 30s; a binding that pulled on the lost
	// consumer between attempts would take 10s an attempt, and log a
	// failed pull (missing heartbeats) between them.
	since := func(fails []failure) int { // the attempts after the last failed pull
		n := 0
		for _, f := range fails {
			if !f.open {
				n = 0
				continue
			}
			n++
		}
		return n
	}
	got, fails := h.waitUntil(t, "three attempts to make the consumer again", func(_ []int64, fails []failure) bool {
		return since(fails) >= 3
	})
	pulledOnLost(t, fails)
	k := len(fails) - since(fails) - 1 // the last failed pull
	if k < 0 {
		t.Fatalf("failures %+v: want a failed pull (the consumer's deletion) before the attempts to make it again", fails)
	}
	for i := k + 1; i < len(got); i++ {
		if got[i] != got[i-1]+1 {
			t.Errorf("attempts logged %v (failures %+v) during one lasting outage, want them counting up after the failed pull: attempt %d after %d", got, fails, got[i], got[i-1])
		}
	}
	if err := c.(stream.BindingHealthChecker).Health(ctx); err == nil {
		t.Error("consumer healthy while its JetStream consumer cannot be made")
	}

	// The slot is free again: the binding makes its consumer within its
	// back-off (0.8s now) and consumes.
	if err := js.DeleteConsumer(ctx, natsbinder.StreamName(dest), "blocker"); err != nil {
		t.Fatal(err)
	}
	freed := time.Now()
	if err := p.Send(ctx, msg("after")); err != nil {
		t.Fatal(err)
	}
	tr.wait(t, []string{"after"}, 30*time.Second)
	t.Logf("consumed %s after the slot was freed", time.Since(freed).Round(time.Millisecond))
	if err := c.(stream.BindingHealthChecker).Health(ctx); err != nil {
		t.Errorf("consumer health after it consumed again: %v", err)
	}
	_, fails = h.waitUntil(t, "the failures so far", func([]int64, []failure) bool { return true })
	pulledOnLost(t, fails)
}

// pulledOnLost fails t when a pull that began after the consumer could
// not be made again failed by missing heartbeats: the binding pulled on a
// consumer the server lacks. (A pull on the consumer it had may fail so:
// that is how a deletion without a 409 is noticed.)
func pulledOnLost(t *testing.T, fails []failure) {
	t.Helper()
	for i, f := range fails {
		if strings.Contains(f.err, jetstream.ErrNoHeartbeat.Error()) && (f.afterOpenFail || i > 0 && fails[i-1].open) {
			t.Errorf("failure %d of %+v is by missing heartbeats after the consumer could not be made: the binding pulled on a consumer the server lacks", i, fails)
		}
	}
}
