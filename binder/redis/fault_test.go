package redis_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	redisbinder "github.com/streambind/streambind/binder/redis"
	"github.com/streambind/streambind/binder/redis/redistest"
	"github.com/streambind/streambind/stream"
)

// TestClientKillLosesNothing: while a producer sends and a consumer group
// consumes, every connection of the binder is closed by the server (CLIENT
// KILL of the test's own connections, by client name) three times; every
// confirmed send is received, and no send fails.
func TestClientKillLosesNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	admin := redistest.Client(t, redistest.Addr(), "", "")
	b := e.binder(t, nil)
	dest := "kill"
	tr := newTracker()
	bindConsumer(t, b, stream.ConsumerSpec{Destination: dest, Group: "g", Consumer: stream.ConsumerConfig{Concurrency: 2},
		Handler: func(_ context.Context, m stream.Envelope) error { tr.receive(m.Headers[idHeader]); return nil }})
	p := bindProducer(t, b, stream.ProducerSpec{Destination: dest})

	const total = 3000
	var (
		mu     sync.Mutex
		ok     []string
		failed []error
		wg     sync.WaitGroup
	)
	for g := range 3 {
		wg.Go(func() {
			for i := range total / 3 {
				id := fmt.Sprintf("p%d-%d", g, i)
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				err := p.Send(ctx, msg(id))
				cancel()
				mu.Lock()
				if err == nil {
					ok = append(ok, id)
				} else {
					failed = append(failed, err)
				}
				mu.Unlock()
				time.Sleep(200 * time.Microsecond) // spread the sends over the kills
			}
		})
	}
	kills := 0
	for _, at := range []int{300, 1200, 2100} {
		waitFor(t, 20*time.Second, fmt.Sprintf("%d messages received", at), func() bool {
			mu.Lock()
			defer mu.Unlock()
			return tr.count(ok) >= at
		})
		n, err := redistest.KillClients(context.Background(), admin, e.name)
		if err != nil {
			t.Fatal(err)
		}
		kills += n
	}
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	t.Logf("%d connections killed; %d sends confirmed, %d failed", kills, len(ok), len(failed))
	if kills < 3 {
		t.Errorf("killed %d connections, want at least one per kill", kills)
	}
	for i, err := range failed {
		if i < 5 {
			t.Errorf("send failed: %v", err)
		}
	}
	tr.wait(t, ok, 20*time.Second)
}

// waitFor polls cond every 10ms until it holds, or fails after d.
func waitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// crashHelperEnv makes the test binary the crashing member of
// TestCrashedMemberReclaimed.
const crashHelperEnv = "STREAMBIND_REDIS_CRASH_HELPER"

// TestCrashHelper is not a test: run as a child process by
// TestCrashedMemberReclaimed, it joins the group, takes entries and never
// finishes handling them, until it is killed.
func TestCrashHelper(t *testing.T) {
	cfg := os.Getenv(crashHelperEnv)
	if cfg == "" {
		t.Skip("helper process of TestCrashedMemberReclaimed")
	}
	f := strings.Split(cfg, "|") // prefix|name|dest
	b := newBinder(t, map[string]any{"address": redistest.Addr(), "key-prefix": f[0], "client-name": f[1]})
	var n atomic.Int64
	bindReadingAhead(t, b, stream.ConsumerSpec{Destination: f[2], Group: "g",
		Extension: map[string]any{"prefetch": 20, "claim-min-idle": "1s"},
		Consumer:  stream.ConsumerConfig{Concurrency: 4},
		Handler: func(ctx context.Context, m stream.Envelope) error {
			fmt.Printf("took %s\n", m.Headers[idHeader])
			n.Add(1)
			<-ctx.Done() // never finishes: killed first
			return ctx.Err()
		}})
	time.Sleep(time.Minute)
}

// TestCrashedMemberReclaimed: a member of the group (another process) is
// killed (SIGKILL) while it holds entries, handled and unhandled; another
// member reclaims them after claim-min-idle — not before — and handles
// every message.
func TestCrashedMemberReclaimed(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a child process")
	}
	e := newEnv(t)
	dest := "crash"
	const claimMinIdle = time.Second
	p := bindProducer(t, e.binder(t, nil), stream.ProducerSpec{Destination: dest, Producer: stream.ProducerConfig{RequiredGroups: []string{"g"}}})
	sent := ids("m", 50)
	send(t, p, sent)

	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashHelper$", "-test.v")
	cmd.Env = append(os.Environ(), crashHelperEnv+"="+e.prefix+"|"+e.name+"-child|"+dest)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	took := make(chan string, 100)
	go func() {
		buf := make([]byte, 4096)
		var line strings.Builder
		for {
			n, err := out.Read(buf)
			for _, c := range buf[:n] {
				if c == '\n' {
					if s, ok := strings.CutPrefix(line.String(), "took "); ok {
						took <- s
					}
					line.Reset()
				} else {
					line.WriteByte(c)
				}
			}
			if err != nil {
				return
			}
		}
	}()
	for range 4 { // four handler calls in flight: the child holds those and more
		select {
		case <-took:
		case <-time.After(20 * time.Second):
			t.Fatal("the child process took no message")
		}
	}
	admin := redistest.Client(t, redistest.Addr(), "", "")
	key := redisbinder.StreamKey(e.prefix, dest, -1)
	sum, err := admin.XPending(context.Background(), key, "g").Result()
	if err != nil {
		t.Fatal(err)
	}
	if sum.Count < 4 {
		t.Fatalf("the child holds %d pending entries, want at least 4", sum.Count)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	t.Logf("child killed holding %d pending entries", sum.Count)

	// The child's pending entries: none may be handled by the new member
	// before claim-min-idle has passed since the child last touched them.
	pe, err := admin.XPendingExt(context.Background(), &goredis.XPendingExtArgs{Stream: key, Group: "g", Start: "-", End: "+", Count: 100}).Result()
	if err != nil {
		t.Fatal(err)
	}
	held := map[string]time.Time{} // message id → earliest reclaim
	for _, x := range pe {
		es, err := admin.XRange(context.Background(), key, x.ID, x.ID).Result()
		if err != nil || len(es) != 1 {
			t.Fatalf("XRANGE %s: %v %v", x.ID, es, err)
		}
		held[es[0].Values["h:"+idHeader].(string)] = time.Now().Add(claimMinIdle - x.Idle)
	}
	tr := newTracker()
	var early atomic.Int64
	bindConsumer(t, e.binder(t, nil), stream.ConsumerSpec{Destination: dest, Group: "g",
		Extension: map[string]any{"claim-min-idle": claimMinIdle.String(), "claim-interval": "200ms"},
		Handler: func(_ context.Context, m stream.Envelope) error {
			if at, ok := held[m.Headers[idHeader]]; ok && time.Now().Before(at.Add(-50*time.Millisecond)) {
				early.Add(1)
			}
			tr.receive(m.Headers[idHeader])
			return nil
		}})
	tr.wait(t, sent, 20*time.Second)
	if n := early.Load(); n > 0 {
		t.Errorf("%d of the crashed member's entries were reclaimed before claim-min-idle", n)
	}
	waitFor(t, 10*time.Second, "no pending entries left", func() bool {
		s, err := admin.XPending(context.Background(), key, "g").Result()
		return err == nil && s.Count == 0
	})
}

// TestStoppedMemberGivesBack: a member stopped while its handler runs and
// more entries wait in its queue gives them back to the group at once (not
// after claim-min-idle): another member handles every message, and the
// stopped member is no longer in the group.
func TestStoppedMemberGivesBack(t *testing.T) {
	e := newEnv(t)
	dest := "giveback"
	admin := redistest.Client(t, redistest.Addr(), "", "")
	key := redisbinder.StreamKey(e.prefix, dest, -1)
	p := bindProducer(t, e.binder(t, nil), stream.ProducerSpec{Destination: dest, Producer: stream.ProducerConfig{RequiredGroups: []string{"g"}}})
	sent := ids("m", 40)
	send(t, p, sent)

	started := make(chan struct{}, 1)
	bA := e.binder(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	a, err := bA.BindConsumer(ctx, stream.ConsumerSpec{Binding: "a-in-0", Destination: dest, Group: "g", Logger: testLogger(t),
		Extension: map[string]any{"claim-min-idle": "30s"},
		Handler: func(ctx context.Context, m stream.Envelope) error {
			select {
			case started <- struct{}{}:
			default:
			}
			<-ctx.Done() // until Stop runs out of time
			return ctx.Err()
		}})
	if err != nil {
		t.Fatal(err)
	}
	redisbinder.MeasuredCost(a, time.Microsecond) // it reads ahead (see bindReadingAhead)
	if err := a.Start(ctx); err != nil {
		t.Fatal(err)
	}
	<-started
	waitFor(t, 10*time.Second, "member A to hold every entry", func() bool {
		s, err := admin.XPending(ctx, key, "g").Result()
		return err == nil && s.Count == int64(len(sent))
	})
	sctx, scancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	err = a.Stop(sctx)
	scancel()
	t.Logf("Stop with a handler that never returns: %v", err)
	stopped := time.Now()
	waitFor(t, 10*time.Second, "member A to give its entries back", func() bool {
		cs, err := admin.XInfoConsumers(ctx, key, "g").Result()
		if err != nil {
			return false
		}
		for _, c := range cs {
			if c.Name != redisbinder.ReleasedConsumer {
				return false
			}
		}
		return true
	})
	tr := newTracker()
	bindConsumer(t, e.binder(t, nil), stream.ConsumerSpec{Destination: dest, Group: "g",
		Extension: map[string]any{"claim-min-idle": "30s"},
		Handler:   func(_ context.Context, m stream.Envelope) error { tr.receive(m.Headers[idHeader]); return nil }})
	tr.wait(t, sent, 10*time.Second)
	if d := time.Since(stopped); d > 15*time.Second {
		t.Errorf("given-back entries took %s, want well under claim-min-idle (30s)", d)
	}
}

// TestLongHandlerNotReclaimed: an entry whose handler runs far longer than
// claim-min-idle — and the entries queued behind it — are kept from the
// other members' reclaims: each is handled once.
func TestLongHandlerNotReclaimed(t *testing.T) {
	e := newEnv(t)
	ext := map[string]any{"claim-min-idle": "300ms", "claim-interval": "100ms"}
	var mu sync.Mutex
	handled := map[string][]int{}
	tr := newTracker()
	handler := func(member int) stream.Handler {
		return func(_ context.Context, m stream.Envelope) error {
			id := m.Headers[idHeader]
			mu.Lock()
			handled[id] = append(handled[id], member)
			mu.Unlock()
			if id == "slow" {
				time.Sleep(1500 * time.Millisecond)
			}
			tr.receive(id)
			return nil
		}
	}
	p := bindProducer(t, e.binder(t, nil), stream.ProducerSpec{Destination: "slow", Producer: stream.ProducerConfig{RequiredGroups: []string{"g"}}})
	sent := append([]string{"slow"}, ids("q", 5)...)
	send(t, p, sent)
	bindReadingAhead(t, e.binder(t, nil), stream.ConsumerSpec{Destination: "slow", Group: "g", Extension: ext, Handler: handler(0)})
	waitFor(t, 5*time.Second, "the slow handler to start", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(handled["slow"]) > 0
	})
	bindConsumer(t, e.binder(t, nil), stream.ConsumerSpec{Destination: "slow", Group: "g", Extension: ext, Handler: handler(1)})
	tr.wait(t, sent, 10*time.Second)
	time.Sleep(500 * time.Millisecond) // a few claim intervals more
	mu.Lock()
	defer mu.Unlock()
	for _, id := range sent {
		if len(handled[id]) != 1 {
			t.Errorf("%s handled by members %v, want once", id, handled[id])
		}
	}
}
