package redis_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/streambind/streambind/binder/redis/redistest"
	"github.com/streambind/streambind/stream"
)

// TestBreakTwoMembersNeverConcurrent: two members of one group (two
// binders, concurrency 4 each, claim-min-idle 300ms and reclaim every
// 100ms) share a stream whose handlers now and then run past
// claim-min-idle, while member A's connections are killed (CLIENT KILL of
// its own client name) twenty times, each far shorter than claim-min-idle.
// No message is ever handled by both members at once, and every one is
// handled.
func TestBreakTwoMembersNeverConcurrent(t *testing.T) {
	e := newEnv(t)
	admin := redistest.Client(t, redistest.Addr(), "", "")
	ctx := context.Background()
	dest := "members"
	const killRounds, killGap = 20, 60 // ms between kills: killGap, +7 each round
	ext := map[string]any{"claim-min-idle": "300ms", "claim-interval": "100ms"}
	p := bindProducer(t, e.binder(t, nil), stream.ProducerSpec{Destination: dest, Producer: stream.ProducerConfig{RequiredGroups: []string{"g"}}})

	var mu sync.Mutex
	inFlight := map[string]int{} // id: member handling it (+1)
	var overlaps []string
	tr := newTracker()
	handler := func(member int) stream.Handler {
		return func(_ context.Context, m stream.Envelope) error {
			id := m.Headers[idHeader]
			mu.Lock()
			if o := inFlight[id]; o != 0 {
				overlaps = append(overlaps, fmt.Sprintf("%s by %d while %d", id, member, o-1))
			}
			inFlight[id] = member + 1
			mu.Unlock()
			var n int
			_, _ = fmt.Sscanf(id, "m-%d", &n)
			if n%25 == 0 {
				time.Sleep(700 * time.Millisecond)
			} else {
				time.Sleep(2 * time.Millisecond)
			}
			mu.Lock()
			delete(inFlight, id)
			mu.Unlock()
			tr.receive(id)
			return nil
		}
	}
	nameA := "sbtest-a-" + uuid.NewString()[:8]
	bA := newBinder(t, map[string]any{"address": redistest.Addr(), "key-prefix": e.prefix, "client-name": nameA})
	bindConsumer(t, bA, stream.ConsumerSpec{Destination: dest, Group: "g", Consumer: stream.ConsumerConfig{Concurrency: 4}, Extension: ext, Handler: handler(0)})
	bindConsumer(t, e.binder(t, nil), stream.ConsumerSpec{Destination: dest, Group: "g", Consumer: stream.ConsumerConfig{Concurrency: 4}, Extension: ext, Handler: handler(1)})

	sent := ids("m", 400)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range killRounds {
			time.Sleep(time.Duration(killGap+7*i) * time.Millisecond)
			if _, err := redistest.KillClients(ctx, admin, nameA); err != nil {
				t.Errorf("CLIENT KILL: %v", err)
			}
		}
	}()
	send(t, p, sent)
	<-done
	tr.wait(t, sent, 30*time.Second)
	mu.Lock()
	defer mu.Unlock()
	for i, o := range overlaps {
		if i < 10 {
			t.Errorf("handled by both members at once: %s", o)
		}
	}
	if len(overlaps) > 0 {
		t.Errorf("%d overlaps", len(overlaps))
	}
}
