package redis_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	redisbinder "github.com/streambind/streambind/binder/redis"
	"github.com/streambind/streambind/binder/redis/redistest"
	"github.com/streambind/streambind/stream"
)

// TestBreakStaleConnectionsClosed: the binder's connections to Redis go
// dead without closing (a NAT or firewall that lost their state) while
// new connections work. The health probe's unanswered PING is evidence
// of a dead path: the reader's connection, which has waited past its
// blocking read's block time plus health-timeout with nothing received,
// is closed, and the idle ones are dropped when next taken, so that the
// consumer reads again over new ones within seconds; without, it waited
// out its blocking read's timeout (block time + command-timeout 10s: over
// 12s) and then that of each dead pooled connection it took in turn.
//
// The path dies either before the first entry's acknowledgement went out
// (it waits on a dead connection) or after Redis answered it: then the
// connection that carried it received a byte after the reader's request
// went out, and it was not dropped — the read of the consumer's pending
// entries after the reader's connection was closed took it and waited out
// command-timeout (12.5s; the first version of this test stranded at
// once, and met that case only when CI was slow to strand).
func TestBreakStaleConnectionsClosed(t *testing.T) {
	for _, acked := range []bool{false, true} {
		t.Run(map[bool]string{false: "before the acknowledgement", true: "after the acknowledgement"}[acked], func(t *testing.T) {
			t.Parallel() // with its sibling only: the parent is serial
			testStaleConnectionsClosed(t, acked)
		})
	}
}

func testStaleConnectionsClosed(t *testing.T, acked bool) {
	e := newEnv(t)
	px := newHoleProxy(t)
	b := newBinder(t, map[string]any{"address": px.addr(), "key-prefix": e.prefix, "client-name": e.name,
		"health-interval": "200ms", "health-timeout": "200ms", "command-timeout": "10s"})
	got := make(chan string, 100)
	bindConsumer(t, b, stream.ConsumerSpec{Destination: "stale", Group: "g",
		Handler: func(_ context.Context, m stream.Envelope) error {
			if m.Headers[idHeader] == "before" && !acked {
				px.strand()
			}
			got <- m.Headers[idHeader]
			return nil
		}})
	// A direct producer: the messages do not depend on the proxy.
	p := bindProducer(t, e.binder(t, nil), stream.ProducerSpec{Destination: "stale"})
	admin := redistest.Client(t, redistest.Addr(), "", "")
	key := redisbinder.StreamKey(e.prefix, "stale", -1)
	for _, id := range []string{"before", "after"} {
		if id == "after" && acked {
			waitNonePending(t, admin, key, "g")
			px.strand()
		}
		stranded := time.Now()
		send(t, p, []string{id})
		select {
		case <-got:
			t.Logf("%s: received after %v", id, time.Since(stranded).Round(time.Millisecond))
		case <-time.After(8 * time.Second):
			t.Fatalf("%s: nothing received %v after the send (new connections work)", id, time.Since(stranded).Round(time.Millisecond))
		}
	}
	// The consumer goes on over new connections. (An acknowledgement
	// written on a dead connection of the client when the path died
	// waits for its command-timeout: the binder does not cut a command in
	// flight on the client's connections, which carry sends too.)
	stranded := time.Now()
	send(t, p, []string{"later"})
	select {
	case <-got:
		t.Logf("later: received after %v", time.Since(stranded).Round(time.Millisecond))
	case <-time.After(3 * time.Second):
		t.Fatal("later: nothing received within 3s")
	}
	if err := b.Health(context.Background()); err != nil {
		t.Errorf("health after the consumer read again: %v", err)
	}
}

// waitNonePending waits until group has no pending entry on key: Redis
// has every acknowledgement.
func waitNonePending(t *testing.T, admin *goredis.Client, key, group string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		p, err := admin.XPending(context.Background(), key, group).Result()
		if err == nil && p.Count == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("entries still pending on %s after 10s: %+v (err %v)", key, p, err)
		}
		time.Sleep(5 * time.Millisecond) // polling the server, bounded by the deadline
	}
}

// slowLinkSettings are those of the slow-link tests: a health probe that
// a slow link makes miss its PINGs, and a command-timeout long enough for
// the link.
func slowLinkSettings(e env, px *holeProxy) map[string]any {
	return map[string]any{"address": px.addr(), "key-prefix": e.prefix, "client-name": e.name,
		"health-interval": "200ms", "health-timeout": "200ms", "command-timeout": "30s"}
}

// Over the slow link (128 KB/s, shared by every connection) a 600 KB
// message takes about 5s each way.
const (
	slowRate = 128 << 10
	bigSize  = 600 << 10
)

// watchDown reports, once stop is called, whether the binder reported
// itself down meanwhile (a health PING unanswered: the evidence of a dead
// path the binder acts on).
func watchDown(b stream.Binder) (stop func() bool) {
	var down atomic.Bool
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				if b.(stream.HealthChecker).Health(context.Background()) != nil {
					down.Store(true)
				}
			case <-done:
				return
			}
		}
	})
	return func() bool { close(done); wg.Wait(); return down.Load() }
}

// TestBreakSlowLinkSendStoredOnce: a 600 KB Send over a slow but live
// link (128 KB/s, command-timeout 30s) while the health PINGs, stuck
// behind it on the link, go unanswered: the Send succeeds, its entry is
// stored once, and its connection is not closed. (A sweep that closed the
// connections waiting longer than the block time plus health-timeout cut
// it, and the Send's retries stored the entry again: 5 copies.)
func TestBreakSlowLinkSendStoredOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	px := newHoleProxy(t)
	b := newBinder(t, slowLinkSettings(e, px))
	p := bindProducer(t, b, stream.ProducerSpec{Destination: "slowsend"})
	px.throttle(slowRate)
	stop := watchDown(b)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	start := time.Now()
	err := p.Send(ctx, stream.Envelope{Payload: make([]byte, bigSize), Headers: stream.Headers{idHeader: "big"}})
	took := time.Since(start)
	down := stop()
	t.Logf("Send took %v (err %v); binder reported down meanwhile: %v", took.Round(time.Millisecond), err, down)
	if err != nil {
		t.Errorf("Send over a slow link: %v", err)
	}
	if !down {
		t.Errorf("no health PING went unanswered during the Send: the slow link did not make the binder see a dead path, nothing tested")
	}
	admin := redistest.Client(t, redistest.Addr(), "", "")
	if n, err := admin.XLen(context.Background(), redisbinder.StreamKey(e.prefix, "slowsend", -1)).Result(); err != nil || n != 1 {
		t.Errorf("stream holds %d entries (err %v), want 1", n, err)
	}
	big := 0
	for _, l := range px.seen() {
		if l.Up() >= bigSize {
			big++
			if l.ClientClosed() {
				t.Errorf("the connection that carried the Send was closed by the binder")
			}
		}
	}
	if big != 1 {
		t.Errorf("the Send was written over %d connections, want 1", big)
	}
}

// TestBreakSlowReplyNotCut: a consumer receives a 600 KB entry over a slow
// but live link (128 KB/s) while the health PINGs, stuck behind it, go
// unanswered: the reader's connection, mid-reply (bytes arriving, not
// idle), is not closed, and the entry is handled once within the time the
// link takes (a cut reply leaves the entry pending until reclaimed after
// claim-min-idle, 30s).
func TestBreakSlowReplyNotCut(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	px := newHoleProxy(t)
	b := newBinder(t, slowLinkSettings(e, px))
	tr := newTracker()
	bindConsumer(t, b, stream.ConsumerSpec{Destination: "slowread", Group: "g",
		Handler: func(_ context.Context, m stream.Envelope) error { tr.receive(m.Headers[idHeader]); return nil }})
	p := bindProducer(t, e.binder(t, nil), stream.ProducerSpec{Destination: "slowread"})
	send(t, p, []string{"small"})
	tr.wait(t, []string{"small"}, 10*time.Second)
	px.throttle(slowRate)
	stop := watchDown(b)
	start := time.Now()
	if err := p.Send(context.Background(), stream.Envelope{Payload: make([]byte, bigSize), Headers: stream.Headers{idHeader: "big"}}); err != nil {
		t.Fatal(err)
	}
	tr.wait(t, []string{"small", "big"}, 20*time.Second)
	down := stop()
	t.Logf("received after %v; binder reported down meanwhile: %v", time.Since(start).Round(time.Millisecond), down)
	if !down {
		t.Errorf("no health PING went unanswered while the reply came: the slow link did not make the binder see a dead path, nothing tested")
	}
	for _, l := range px.seen() {
		if l.Down() >= bigSize && l.ClientClosed() {
			t.Errorf("the connection that carried the entry was closed by the binder")
		}
	}
}
