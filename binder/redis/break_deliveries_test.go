package redis_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	redisbinder "github.com/streambind/streambind/binder/redis"
	"github.com/streambind/streambind/binder/redis/redistest"
	"github.com/streambind/streambind/stream"
)

// TestBreakBlipsDoNotSpendDeliveries: an entry the member holds all along
// (its handler Naks it while a downstream is down) does not spend
// max-deliveries when the member's connections are cut (CLIENT KILL of the
// test's own connections, far shorter than claim-min-idle) several times:
// the package doc says only a member that stops holding an entry spends a
// delivery. After the blips the member stops (giving the entry back) and
// another member takes it: it is handled, not dead-lettered as "delivered
// too many times".
func TestBreakBlipsDoNotSpendDeliveries(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	admin := redistest.Client(t, redistest.Addr(), "", "")
	ctx := context.Background()
	dest := "blips"
	key := redisbinder.StreamKey(e.prefix, dest, -1)
	ext := map[string]any{"max-deliveries": 3, "redelivery-delay": "20ms"}
	p := bindProducer(t, e.binder(t, nil), stream.ProducerSpec{Destination: dest, Producer: stream.ProducerConfig{RequiredGroups: []string{"g"}}})

	var naks atomic.Int64
	probes := newTracker()
	bA := e.binder(t, nil)
	a := bindConsumer(t, bA, stream.ConsumerSpec{Destination: dest, Group: "g", Consumer: stream.ConsumerConfig{Concurrency: 16, DLQ: true}, // the probes (keyless, round robin) go to other workers than the held entry's
		Extension: ext,
		Handler: func(_ context.Context, m stream.Envelope) error {
			id := m.Headers[idHeader]
			if id == "held" {
				naks.Add(1)
				return stream.ErrNak // the downstream is down
			}
			probes.receive(id)
			return nil
		}})
	send(t, p, []string{"held"})
	waitFor(t, 10*time.Second, "the entry Nak'ed", func() bool { return naks.Load() > 0 })
	for i := range 5 {
		n, err := redistest.KillClients(ctx, admin, e.name)
		if err != nil || n == 0 {
			t.Fatalf("CLIENT KILL: %d, %v", n, err)
		}
		// The member reads again (a new connection): a probe sent now is handled.
		probe := fmt.Sprintf("probe-%d", i)
		send(t, p, []string{probe})
		probes.wait(t, []string{probe}, 10*time.Second)
	}
	pend, err := admin.XPendingExt(ctx, &goredis.XPendingExtArgs{Stream: key, Group: "g", Start: "-", End: "+", Count: 10}).Result()
	if err == nil {
		for _, x := range pend {
			t.Logf("pending %s of %s: %d deliveries", x.ID, x.Consumer, x.RetryCount)
		}
	}
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := a.Stop(sctx); err != nil {
		t.Fatal(err)
	}

	var mu sync.Mutex
	var outcome []string
	dead := newTracker()
	bindConsumer(t, e.binder(t, nil), stream.ConsumerSpec{Binding: "dlq-in-0", Destination: stream.DLQName(dest, "g"), Group: "r",
		Handler: func(_ context.Context, m stream.Envelope) error {
			mu.Lock()
			outcome = append(outcome, "dead-lettered: "+m.Headers[stream.HeaderExceptionMessage])
			mu.Unlock()
			dead.receive(m.Headers[idHeader])
			return nil
		}})
	bindConsumer(t, e.binder(t, nil), stream.ConsumerSpec{Destination: dest, Group: "g", Consumer: stream.ConsumerConfig{DLQ: true},
		Extension: ext,
		Handler: func(_ context.Context, m stream.Envelope) error {
			if id := m.Headers[idHeader]; id == "held" {
				mu.Lock()
				outcome = append(outcome, "handled")
				mu.Unlock()
				dead.receive(id) // either way: settled
			}
			return nil
		}})
	dead.wait(t, []string{"held"}, 10*time.Second)
	mu.Lock()
	defer mu.Unlock()
	if len(outcome) != 1 || outcome[0] != "handled" {
		t.Errorf("after 5 connection blips and a Stop, the entry (delivered once, held all along) was %q, want handled", outcome)
	}
}
