package main

// Attacks on dlq replay and purge over RabbitMQ's batched dead-letter
// cursor (see also binder/rabbit/break_dlbatch_test.go).

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/rabbit/rabbittest"
)

// TestBreakRabbitReplayWhilePurge: a pipelined replay (no --rate: batches
// of 128 and a window of 256 held by its cursor) and a purge at once on
// one DLQ: each dead letter is replayed or purged, never both, and none
// is left. The existing concurrent tests pace the replays (--rate), which
// read and remove one at a time, and TestDLQBreakManyRabbit does not look
// at the copies.
func TestBreakRabbitReplayWhilePurge(t *testing.T) {
	t.Parallel()
	replayAlongside(t, "purge", "--yes")
}

// TestBreakRabbitReplayWhileReplay: two pipelined replays at once.
func TestBreakRabbitReplayWhileReplay(t *testing.T) {
	t.Parallel()
	replayAlongside(t, "replay")
}

func replayAlongside(t *testing.T, other ...string) {
	dir, env, depth, claims := rabbitService(t)
	handleConcurrently(t, dir)
	a := startDLQApp(t, dir, env)
	const n = 1200
	a.sendPoison(t, n)
	a.waitDeadLettered(t, n, depth)
	c := collectCopies(t, a)
	replay := startDLQ(t, dir, env, "replay")
	eventually(t, "100 replayed", func() bool { d, _ := c.counts(); return d >= 100 })
	second := startDLQ(t, dir, env, other[0], other[1:]...)
	replay.wait(t, time.Minute)
	second.wait(t, time.Minute)
	if replay.err != nil || second.err != nil {
		t.Fatalf("replay: %v\n%s\n%s: %v\n%s", replay.err, replay.out, other[0], second.err, second.out)
	}
	first, other2 := replay.count(t), second.count(t)
	if first+other2 != n {
		t.Errorf("replay %d, %s %d: %d of %d", first, other[0], other2, first+other2, n)
	}
	replayed := first
	if other[0] == "replay" {
		replayed += other2
	}
	eventually(t, "every copy", func() bool { d, _ := c.counts(); return d >= replayed })
	time.Sleep(200 * time.Millisecond)
	if d, dups := c.counts(); d != replayed || dups != 0 {
		t.Errorf("%d distinct copies, %d duplicates; the replays say %d", d, dups, replayed)
	}
	if d := depth(); d != 0 {
		t.Errorf("%d dead letters left", d)
	}
	if k := claims(); k != 0 {
		t.Errorf("%d consumers left on the DLQ", k)
	}
	t.Logf("replay %d, %s %d", first, other[0], other2)
}

// TestBreakRabbitReplayLimitAtBatch: --limit at the batch (128) and the
// cursor's window (256) boundaries replays exactly that many, each once,
// and leaves the rest; a purge --limit at the window boundary too.
func TestBreakRabbitReplayLimitAtBatch(t *testing.T) {
	t.Parallel()
	dir, env, depth, _ := rabbitService(t)
	handleConcurrently(t, dir)
	a := startDLQApp(t, dir, env)
	const n = 700
	a.sendPoison(t, n)
	a.waitDeadLettered(t, n, depth)
	c := collectCopies(t, a)
	steps := []limitStep{{"replay", "256", 256}, {"replay", "128", 128}, {"purge", "256", 256}, {"replay", "257", n - 256 - 128 - 256}}
	copies := runLimitSteps(t, dir, env, c, n, steps, func(_ limitStep, left int) {
		eventually(t, "the dead letters left", func() bool { return depth() == left })
	})
	time.Sleep(200 * time.Millisecond)
	if d, dups := c.counts(); d != copies || dups != 0 {
		t.Errorf("%d distinct copies, %d duplicates; want %d, 0", d, dups, copies)
	}
}

// TestBreakRabbitReplayAcksLost: the replay's path to the broker stalls
// (its acknowledgements held back) and then breaks. What the replay
// says it replayed and removed must be what left the queue: before the
// cursor confirmed its acknowledgements, it said "replayed 256" (its
// window, read without a round trip) with all 300 back in the queue.
func TestBreakRabbitReplayAcksLost(t *testing.T) {
	t.Parallel()
	var blackhole atomic.Bool
	gate := make(chan struct{})
	var once sync.Once
	open := func() { once.Do(func() { close(gate) }) }
	px := rabbittest.NewProxy(t, func(typ byte, _ uint16, pl []byte) {
		// basic.ack (60, 80) from the replay's cursor: held back until
		// the connection is cut, then dropped.
		if blackhole.Load() && typ == 1 && len(pl) >= 4 && binary.BigEndian.Uint16(pl) == 60 && binary.BigEndian.Uint16(pl[2:]) == 80 {
			<-gate
		}
	})
	t.Cleanup(open) // before the proxy's Close, which waits for onFrame
	dir, env, depth, claims := rabbitService(t)
	handleConcurrently(t, dir)
	a := startDLQApp(t, dir, env)
	const n = 300
	a.sendPoison(t, n)
	a.waitDeadLettered(t, n, depth)
	c := collectCopies(t, a)
	blackhole.Store(true)
	r := startDLQ(t, dir, append(env, "RABBIT_ADDRESSES="+px.Addr()), "replay")
	eventually(t, "the first copies", func() bool { d, _ := c.counts(); return d > 0 })
	time.Sleep(300 * time.Millisecond)
	px.Cut()
	open()
	r.wait(t, 30*time.Second)
	said := 0
	if m := summaryCount.FindStringSubmatch(r.out.String()); m != nil {
		said, _ = strconv.Atoi(m[1])
	}
	// The broker gives the cursor's unacknowledged dead letters back as
	// it drops its consumer (the connection cut): waited for, not slept
	// on (a depth read before it counted them as gone).
	eventually(t, "the replay's cursor gone from the DLQ", func() bool { return claims() == 0 })
	left := depth()
	t.Logf("replay (%v): %s; %d dead letters left", r.err, strings.TrimSpace(r.out.String()), left)
	if r.err == nil {
		t.Errorf("the replay succeeded although none of its removals reached the broker")
	}
	if said != n-left {
		t.Errorf("the replay says it replayed %d; %d left the queue", said, n-left)
	}
}

// rabbitDLQOrder reads the ids of the jobs in vhost's work.g.dlq, in the
// queue's order, and gives them back (in their places: the channel closes
// without acknowledging).
func rabbitDLQOrder(t *testing.T, vhost string, n int) []string {
	t.Helper()
	ch := rabbittest.Channel(t, vhost)
	defer ch.Close()
	ds, err := ch.Consume("work.g.dlq", "", false, false, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	timeout := time.After(10 * time.Second)
	for len(ids) < n {
		select {
		case d := <-ds:
			var j job
			if err := json.Unmarshal(d.Body, &j); err != nil {
				t.Fatalf("dead letter %q: %v", d.Body, err)
			}
			ids = append(ids, d.Headers["customer"].(string)+j.ID)
		case <-timeout:
			t.Fatalf("%d of %d dead letters read", len(ids), n)
		}
	}
	return ids
}

// TestBreakRabbitFilteredReplayKeepsPlaces: a replay --header that
// matches every other dead letter (600, interleaved: its batches pass
// over more than the cursor's window unremoved) replays those and leaves
// the others, all of them, in their order.
func TestBreakRabbitFilteredReplayKeepsPlaces(t *testing.T) {
	t.Parallel()
	dir, env, depth, _ := rabbitService(t)
	vhost := strings.TrimPrefix(env[0], "VHOST=")
	handleConcurrently(t, dir)
	a := startDLQApp(t, dir, env)
	const per = 300
	var wg sync.WaitGroup
	for _, cust := range []string{"c", "d"} {
		wg.Go(func() {
			for i := range per {
				a.send(t, cust, job{fmt.Sprint(i), "poison"})
			}
		})
	}
	wg.Wait()
	a.waitDeadLettered(t, 2*per, depth)
	before := rabbitDLQOrder(t, vhost, 2*per)
	c := collectCopies(t, a)
	r := startDLQ(t, dir, env, "replay", "--header", "customer=c")
	r.wait(t, time.Minute)
	if r.err != nil || r.count(t) != per {
		t.Fatalf("replay: %v\n%s", r.err, r.out)
	}
	eventually(t, "the copies", func() bool { d, _ := c.counts(); return d >= per })
	eventually(t, "the others back", func() bool { return depth() == per })
	var want []string
	for _, id := range before {
		if strings.HasPrefix(id, "d") {
			want = append(want, id)
		}
	}
	after := rabbitDLQOrder(t, vhost, per)
	if !slices.Equal(after, want) {
		t.Errorf("the dead letters passed over are not in their places:\nbefore %v\nafter  %v", want, after)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, m := range c.order {
		if m.Headers["customer"] != "c" {
			t.Fatalf("a copy of customer %q's job %s", m.Headers["customer"], m.Payload.ID)
		}
	}
}
