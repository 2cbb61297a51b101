package main

// dlq replay's pipeline on NATS, Redis and RabbitMQ (cursors that batch): a killed
// replay duplicates at most its window, a send that fails mid-batch
// leaves only what was not confirmed, and the copies of one key keep
// their order.

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/streambind/streambind/binder/nats"
	"github.com/streambind/streambind/binder/nats/natstest"
	"github.com/streambind/streambind/binder/rabbit/rabbittest"
	"github.com/streambind/streambind/stream"
)

// copies collects a's replayed copies (by payload id, in arrival order)
// until the test ends.
type copies struct {
	mu    sync.Mutex
	seen  map[string]int
	order []stream.Message[job]
}

func collectCopies(t *testing.T, a *dlqApp) *copies {
	c := &copies{seen: map[string]int{}}
	stop := make(chan struct{})
	done := make(chan struct{})
	t.Cleanup(func() { close(stop); <-done })
	go func() {
		defer close(done)
		for {
			select {
			case m := <-a.back:
				c.mu.Lock()
				c.seen[m.Payload.ID]++
				c.order = append(c.order, m)
				c.mu.Unlock()
			case <-stop:
				return
			}
		}
	}()
	return c
}

// counts returns how many distinct ids arrived, and the duplicates.
func (c *copies) counts() (distinct, dups int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, n := range c.seen {
		dups += n - 1
	}
	return len(c.seen), dups
}

// pipelinedKilled: n dead letters replayed without --rate, the replay
// killed (SIGKILL) part-way, then run again: every dead letter replayed,
// none lost, at most replayWindow of them twice (those whose copies were
// in flight, or confirmed and not yet removed).
//
// The claims the killed replay held run out within its lease of the kill:
// those of the dead letters it removed but had not yet given back (killed
// between its removal of a batch and the release of the batch's claims)
// hold up nothing (no dead letter has their IDs: Redis entry IDs and a
// NATS stream's sequences only grow), so the second replay may finish
// before they run out.
func pipelinedKilled(t *testing.T, dir string, env []string, a *dlqApp, depth, claims func() int) {
	pipelinedStopped(t, dir, env, a, depth, claims, syscall.SIGKILL, replayWindow)
}

// pipelinedLease is the --lease of pipelinedStopped's replays (the claims
// of natsService's NATS ones are in the bucket of this lease).
const pipelinedLease = 6 * time.Second

// pipelinedStopped is pipelinedKilled with the first replay stopped by sig,
// and at most maxDups duplicates.
func pipelinedStopped(t *testing.T, dir string, env []string, a *dlqApp, depth, claims func() int, sig syscall.Signal, maxDups int) {
	pipelinedStoppedAt(t, dir, env, a, depth, claims, sig, maxDups, 2000, "500 replayed", func(c *copies) bool { d, _ := c.counts(); return d >= 500 })
}

// pipelinedStoppedAt is pipelinedStopped with n dead letters, the first
// replay stopped once stop (what) says so.
func pipelinedStoppedAt(t *testing.T, dir string, env []string, a *dlqApp, depth, claims func() int, sig syscall.Signal, maxDups, n int, what string, stop func(*copies) bool) {
	a.sendPoison(t, n)
	a.waitDeadLettered(t, n, depth)
	c := collectCopies(t, a)
	first := startDLQ(t, dir, env, "replay", "--lease", pipelinedLease.String())
	eventuallyWithin(t, 2*time.Minute, what, func() bool { return stop(c) })
	stoppedAt := time.Now() // its claims were last renewed before this
	if err := first.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	first.wait(t, 20*time.Second)
	stoppedClaims := claims() // the stopped replay's: nothing else claims
	if sig == syscall.SIGINT {
		// It gave back what it held at once: wait only for what it
		// sent to arrive.
		eventuallyWithin(t, 30*time.Second, "the interrupted replay's copies to arrive", func() bool {
			d, dups := c.counts()
			return d+dups+depth() >= n
		})
	}
	killedAt, _ := c.counts()
	if killedAt >= n {
		t.Fatalf("the first replay finished (%d) before it was killed", killedAt)
	}
	second := startDLQ(t, dir, env, "replay", "--lease", pipelinedLease.String())
	second.wait(t, 3*time.Minute)
	if second.err != nil {
		t.Fatalf("second replay: %v\n%s", second.err, second.out)
	}
	eventuallyWithin(t, time.Minute, "every dead letter replayed", func() bool { d, _ := c.counts(); return d == n })
	a.stop()
	if d := depth(); d != 0 {
		t.Errorf("%d dead letters left", d)
	}
	// The second replay gave back every claim it took before it exited,
	// and so did an interrupted one. A killed one could not: its claims
	// on the dead letters it had removed stay until they run out, and
	// the second replay, which never reads those, may be done first.
	left := claims()
	switch {
	case left == 0:
	case sig != syscall.SIGKILL:
		t.Errorf("%d claims left", left)
	case left > stoppedClaims:
		t.Errorf("%d claims left; the killed replay held %d", left, stoppedClaims)
	default:
		eventuallyWithin(t, time.Until(stoppedAt.Add(pipelinedLease+10*time.Second)), fmt.Sprintf("the %d claims the killed replay left to run out", left),
			func() bool { return claims() == 0 })
	}
	_, dups := c.counts()
	t.Logf("stopped (%s) after %d of %d copies arrived, holding %d claims; second run: %s; %d claims of the stopped replay left then (%s after it was stopped); duplicates %d",
		sig, killedAt, n, stoppedClaims, strings.TrimSpace(second.out.String()), left, time.Since(stoppedAt).Round(time.Millisecond), dups)
	if dups > maxDups {
		t.Errorf("%d duplicates after %s; want at most %d", dups, sig, maxDups)
	}
}

// TestDLQReplayPipelinedInterruptedNATS: a replay interrupted (SIGINT,
// Ctrl-C) lets the copies in flight be confirmed and removes their dead
// letters before it exits: the next replay sends none of them again. The
// sends were cancelled with the interrupt, and a copy the broker stored
// anyway was replayed again: up to a batch of duplicates for a Ctrl-C.
func TestDLQReplayPipelinedInterruptedNATS(t *testing.T) {
	t.Parallel()
	dir, env, opt := natsService(t)
	handleConcurrently(t, dir)
	a := startDLQApp(t, dir, env, opt)
	pipelinedStopped(t, dir, env, a, natsDepth(t, dir), natsLeaseClaims(t, dir, pipelinedLease), syscall.SIGINT, 0)
}

func TestDLQReplayPipelinedKilledNATS(t *testing.T) {
	t.Parallel()
	dir, env, opt := natsService(t)
	handleConcurrently(t, dir)
	a := startDLQApp(t, dir, env, opt)
	pipelinedKilled(t, dir, env, a, natsDepth(t, dir), natsLeaseClaims(t, dir, pipelinedLease))
}

func TestDLQReplayPipelinedKilledRedis(t *testing.T) {
	t.Parallel()
	dir, env, opt, depth := redisService(t)
	handleConcurrently(t, dir)
	a := startDLQApp(t, dir, env, opt)
	pipelinedKilled(t, dir, env, a, depth, redisClaims(t, env))
}

// natsDepth counts the dead letters of a natsService in dir as its
// stream counts them (cheaper than dlq ls, which reads each).
func natsDepth(t *testing.T, dir string) func() int {
	nc, err := natsgo.Connect(natstest.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	name := nats.StreamName(stream.DLQName(natsDest(t, dir), "g"))
	return func() int {
		s, err := js.Stream(context.Background(), name)
		if err != nil {
			return -1
		}
		return int(s.CachedInfo().State.Msgs)
	}
}

// natsDest is the destination of a natsService in dir.
func natsDest(t *testing.T, dir string) string {
	t.Helper()
	b, err := os.ReadFile(dir + "/application.yaml")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`destination: (dlqtest-\S+)`).FindStringSubmatch(string(b))
	if m == nil {
		t.Fatalf("no destination in %s", b)
	}
	return m[1]
}

// natsMaxMsgSize sets the max message size of dest's stream (-1: none).
func natsMaxMsgSize(t *testing.T, dest string, size int32) {
	t.Helper()
	nc, err := natsgo.Connect(natstest.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	s, err := js.Stream(ctx, nats.StreamName(dest))
	if err != nil {
		t.Fatal(err)
	}
	cfg := s.CachedInfo().Config
	cfg.MaxMsgSize = size
	if _, err := js.UpdateStream(ctx, cfg); err != nil {
		t.Fatal(err)
	}
}

// A send that fails in the middle of a batch: the destination's stream
// refuses dead letter 20 of 200 (too big for it). The replay stops with
// an error naming it; the copies sent with it that the broker confirmed
// are removed (those before it and those after it in its batch), it and
// the dead letters not yet read stay, and no copy arrived twice. Once the
// stream takes it, a replay replays the rest.
func TestDLQReplaySendFailsMidBatchNATS(t *testing.T) {
	t.Parallel()
	dir, env, opt := natsService(t)
	a := startDLQApp(t, dir, env, opt)
	depth := lsDepth(t, dir, env)
	const n, big = 200, 20
	for i := range n {
		reason := "poison"
		if i == big {
			reason += strings.Repeat("!", 2000)
		}
		a.send(t, "c", job{strconv.Itoa(i), reason})
	}
	a.waitDeadLettered(t, n, depth)
	c := collectCopies(t, a)
	dest := natsDest(t, dir)
	natsMaxMsgSize(t, dest, 1000)

	p := startDLQ(t, dir, env, "replay")
	p.wait(t, 2*time.Minute)
	out := p.out.String()
	if p.err == nil {
		t.Fatalf("replay succeeded; want it to fail on the big dead letter:\n%s", out)
	}
	replayed := p.count(t)
	if !regexp.MustCompile(`replay dead letter \d+ to ` + regexp.QuoteMeta(dest) + `: `).MatchString(out) {
		t.Errorf("the error does not name the dead letter whose copy failed:\n%s", out)
	}
	if replayed < big || replayed >= n {
		t.Errorf("replayed %d; want those before dead letter %d and the others of its batch, not all %d:\n%s", replayed, big, n, out)
	}
	eventually(t, fmt.Sprint(replayed, " copies"), func() bool { d, _ := c.counts(); return d == replayed })
	if d := depth(); d != n-replayed {
		t.Errorf("%d dead letters left after %d replayed of %d; want %d", d, replayed, n, n-replayed)
	}
	c.mu.Lock()
	if c.seen[strconv.Itoa(big)] != 0 {
		t.Errorf("the big dead letter's copy arrived")
	}
	c.mu.Unlock()

	natsMaxMsgSize(t, dest, -1)
	p = startDLQ(t, dir, env, "replay")
	p.wait(t, 2*time.Minute)
	if p.err != nil || p.count(t) != n-replayed {
		t.Fatalf("second replay: %v; want %d replayed:\n%s", p.err, n-replayed, p.out)
	}
	eventually(t, "every copy", func() bool { d, _ := c.counts(); return d == n })
	if _, dups := c.counts(); dups != 0 {
		t.Errorf("%d copies arrived twice", dups)
	}
	if d := depth(); d != 0 {
		t.Errorf("%d dead letters left", d)
	}
}

// keyOrder: dead letters of 4 keys, interleaved, dead-lettered in order
// (the app handles one at a time); the app gets their copies (one at a
// time, in the destination's order) key by key in the dead letters'
// order, although a replay sends a batch's copies at once.
func keyOrder(t *testing.T, dir string, env []string, a *dlqApp, depth func() int) {
	const keys, per = 4, 100
	for i := range per {
		for k := range keys {
			m := stream.Message[job]{Payload: job{fmt.Sprintf("k%d-%03d", k, i), "poison"}, Key: []byte(fmt.Sprint("k", k))}
			if err := a.app.Bridge().Send(context.Background(), "in", m); err != nil {
				t.Fatal(err)
			}
		}
	}
	a.waitDeadLettered(t, keys*per, depth)
	c := collectCopies(t, a)
	p := startDLQ(t, dir, env, "replay")
	p.wait(t, 2*time.Minute)
	if p.err != nil || p.count(t) != keys*per {
		t.Fatalf("replay: %v\n%s", p.err, p.out)
	}
	eventually(t, "every copy", func() bool { d, _ := c.counts(); return d == keys*per })
	c.mu.Lock()
	defer c.mu.Unlock()
	byKey := map[string][]string{}
	for _, m := range c.order {
		byKey[string(m.Key)] = append(byKey[string(m.Key)], m.Payload.ID)
	}
	if len(byKey) != keys {
		t.Fatalf("copies of %d keys; want %d", len(byKey), keys)
	}
	for k, ids := range byKey {
		if !slices.IsSorted(ids) {
			t.Errorf("key %s: copies out of order: %v", k, ids)
		}
	}
}

func TestDLQReplayKeyOrderNATS(t *testing.T) {
	t.Parallel()
	dir, env, opt := natsService(t)
	a := startDLQApp(t, dir, env, opt)
	keyOrder(t, dir, env, a, lsDepth(t, dir, env))
}

func TestDLQReplayKeyOrderRedis(t *testing.T) {
	t.Parallel()
	dir, env, opt, depth := redisService(t)
	a := startDLQApp(t, dir, env, opt)
	keyOrder(t, dir, env, a, depth)
}

// rabbitService is dlqService on the shared RabbitMQ broker, in a vhost
// of the test's own; depth counts the dead-letter queue's ready messages,
// and claims its consumers (a dead-letter cursor consumes it: none once
// every replay and purge ended).
func rabbitService(t *testing.T) (dir string, env []string, depth, claims func() int) {
	vhost := rabbittest.VHost(t)
	dir = writeFiles(t, map[string]string{"application.yaml": fmt.Sprintf(dlqService, rabbitBinder)})
	conn, err := amqp.Dial(rabbittest.VHostURL(vhost))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	claims = func() int {
		ch, err := conn.Channel()
		if err != nil {
			t.Fatal(err)
		}
		defer ch.Close()
		st, err := ch.QueueDeclarePassive("work.g.dlq", true, false, false, false, nil)
		if err != nil {
			return -1
		}
		return st.Consumers
	}
	return dir, []string{"VHOST=" + vhost}, queueDepth(t, vhost, "work.g.dlq"), claims
}

// On RabbitMQ the cursor batches too (a consumer's prefetch read at once,
// one multiple ack): a killed replay duplicates at most its window, as
// the broker requeues the dead letters it held unacknowledged.
func TestDLQReplayPipelinedKilledRabbit(t *testing.T) {
	t.Parallel()
	dir, env, depth, claims := rabbitService(t)
	handleConcurrently(t, dir)
	a := startDLQApp(t, dir, env)
	pipelinedKilled(t, dir, env, a, depth, claims)
}

// An interrupted one acknowledges the dead letters of the copies it had
// confirmed before the channel closes: the next replay sends none again.
func TestDLQReplayPipelinedInterruptedRabbit(t *testing.T) {
	t.Parallel()
	dir, env, depth, claims := rabbitService(t)
	handleConcurrently(t, dir)
	a := startDLQApp(t, dir, env)
	pipelinedStopped(t, dir, env, a, depth, claims, syscall.SIGINT, 0)
}

func TestDLQReplayKeyOrderRabbit(t *testing.T) {
	t.Parallel()
	dir, env, depth, _ := rabbitService(t)
	a := startDLQApp(t, dir, env)
	keyOrder(t, dir, env, a, depth)
}
