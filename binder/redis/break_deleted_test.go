package redis_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/redis/redistest"
	"github.com/streambind/streambind/stream"
)

// countHandler counts log records at WARN and above (and keeps the first
// few), for tests that must not flood the logs.
type countHandler struct {
	n     *atomic.Int64
	mu    *sync.Mutex
	first *[]string
}

func newCountHandler() countHandler {
	return countHandler{n: new(atomic.Int64), mu: new(sync.Mutex), first: new([]string)}
}

func (h countHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelWarn }
func (h countHandler) Handle(_ context.Context, r slog.Record) error {
	h.n.Add(1)
	h.mu.Lock()
	if len(*h.first) < 20 {
		s := r.Level.String() + " " + r.Message
		r.Attrs(func(a slog.Attr) bool { s += " " + a.String(); return true })
		*h.first = append(*h.first, s)
	}
	h.mu.Unlock()
	return nil
}
func (h countHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h countHandler) WithGroup(string) slog.Handler      { return h }

func (h countHandler) lines() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), *h.first...)
}

// TestBreakStreamTamperedWhileConsumed: while a producer sends and a group
// consumes, someone else destroys the group (XGROUP DESTROY), deletes the
// stream (DEL) and trims it to nothing (XTRIM MAXLEN 0). The consumer
// recovers each time: every send confirmed after the tampering is
// received, nothing sent at all is lost when only the group was destroyed,
// the binding reports itself healthy again, and the logs hold a handful of
// lines, not a flood.
func TestBreakStreamTamperedWhileConsumed(t *testing.T) {
	t.Parallel()
	for _, conc := range []int{1, 4} {
		t.Run(fmt.Sprintf("concurrency=%d", conc), func(t *testing.T) {
			e := newEnv(t)
			admin := redistest.Client(t, redistest.Addr(), "", "")
			b := e.binder(t, nil)
			key := e.prefix + "tamper"
			tr := newTracker()
			logs := newCountHandler()
			ctx := context.Background()
			cons, err := b.BindConsumer(ctx, stream.ConsumerSpec{Binding: "in", Destination: "tamper", Group: "g",
				ContentType: stream.DefaultContentType, Logger: slog.New(logs),
				Consumer: stream.ConsumerConfig{Concurrency: conc, MaxAttempts: 1, InstanceCount: 1},
				Handler:  func(_ context.Context, m stream.Envelope) error { tr.receive(m.Headers[idHeader]); return nil }})
			if err != nil {
				t.Fatal(err)
			}
			if err := cons.Start(ctx); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = cons.Stop(context.Background()) })
			p := bindProducer(t, b, stream.ProducerSpec{Destination: "tamper"})

			var (
				mu   sync.Mutex
				sent []string // in send order
				stop = make(chan struct{})
				wg   sync.WaitGroup
			)
			wg.Go(func() {
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					id := fmt.Sprintf("m%d", i)
					sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
					err := p.Send(sctx, msg(id))
					cancel()
					if err != nil {
						t.Errorf("send %s: %v", id, err)
						return
					}
					mu.Lock()
					sent = append(sent, id)
					mu.Unlock()
					time.Sleep(2 * time.Millisecond)
				}
			})
			// mark returns the number of confirmed sends so far.
			mark := func() int { mu.Lock(); defer mu.Unlock(); return len(sent) }
			upTo := func(n int) []string { mu.Lock(); defer mu.Unlock(); return append([]string(nil), sent[:n]...) }
			from := func(n int) []string { mu.Lock(); defer mu.Unlock(); return append([]string(nil), sent[n:]...) }
			waitMore := func(what string, n int) {
				t.Helper()
				target := mark() + n
				waitFor(t, 20*time.Second, what, func() bool { return mark() >= target })
				tr.wait(t, from(target-n/2), 20*time.Second) // the second half of them all received
			}
			health := func() error { return cons.(stream.BindingHealthChecker).Health(ctx) }
			// Readiness must not flap: the stream or group being gone is
			// mended at once, not reported as a binding that cannot read.
			var down atomic.Value
			wg.Go(func() {
				for {
					select {
					case <-stop:
						return
					case <-time.After(time.Millisecond):
					}
					if err := health(); err != nil && down.Load() == nil {
						down.Store(err)
					}
				}
			})

			waitMore("first messages", 200)
			if err := admin.XGroupDestroy(ctx, key, "g").Err(); err != nil {
				t.Fatal(err)
			}
			waitMore("messages after XGROUP DESTROY", 200)
			// Destroying the group loses nothing: the group is created again
			// after the last entry received.
			tr.wait(t, upTo(mark()), 20*time.Second)

			if err := admin.Del(ctx, key).Err(); err != nil {
				t.Fatal(err)
			}
			afterDel := mark()
			waitMore("messages after DEL", 200)
			tr.wait(t, from(afterDel+1), 20*time.Second)

			if err := admin.XTrimMaxLen(ctx, key, 0).Err(); err != nil {
				t.Fatal(err)
			}
			afterTrim := mark()
			waitMore("messages after XTRIM", 200)
			close(stop)
			wg.Wait()
			tr.wait(t, from(afterTrim+1), 20*time.Second)
			waitFor(t, 10*time.Second, "the binding healthy", func() bool { return health() == nil })
			t.Logf("%d sent, %d received; %d WARN+ log lines: %q", mark(), tr.count(upTo(mark())), logs.n.Load(), logs.lines())
			if err := down.Load(); err != nil {
				t.Errorf("the binding reported itself down meanwhile: %v", err)
			}
			for _, l := range logs.lines() {
				if strings.Contains(l, "reading refused") {
					t.Errorf("a deleted stream was logged as a refused read: %s", l)
				}
			}
			if n := logs.n.Load(); n > 20 {
				t.Errorf("%d WARN+ log lines for three tamperings", n)
			}
			// After the dust settles, nothing is left pending for the group.
			waitFor(t, 10*time.Second, "nothing pending", func() bool {
				s, err := admin.XPending(ctx, key, "g").Result()
				return err == nil && s.Count == 0
			})
		})
	}
}
