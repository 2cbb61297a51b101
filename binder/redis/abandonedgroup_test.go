package redis_test

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	redisbinder "github.com/streambind/streambind/binder/redis"
	"github.com/streambind/streambind/binder/redis/redistest"
	"github.com/streambind/streambind/stream"
)

// warnLines records the messages and attributes of WARN lines.
type warnLines struct {
	mu    sync.Mutex
	lines []string
}

func (w *warnLines) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelWarn }
func (w *warnLines) Handle(_ context.Context, r slog.Record) error {
	s := r.Message
	r.Attrs(func(a slog.Attr) bool { s += " " + a.String(); return true })
	w.mu.Lock()
	w.lines = append(w.lines, s)
	w.mu.Unlock()
	return nil
}
func (w *warnLines) WithAttrs([]slog.Attr) slog.Handler { return w }
func (w *warnLines) WithGroup(string) slog.Handler      { return w }

// matching returns the recorded lines that contain sub.
func (w *warnLines) matching(sub string) []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []string
	for _, l := range w.lines {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return out
}

// TestRenamedGroupWarns: a redeploy that renames the group (g1 → g2) on
// the same stream. g1's entries stay unread for ever (one of them pending
// under the consumer a stopping binding parks entries under, which reads
// nothing); starting g2 logs a
// WARN naming g1, its lag and how to delete it (it was only reported, if
// ever, as "far behind" by the trimmer). No WARN for a group with a
// consumer that just read (another service's), nor for one that has read
// everything; none for g1 once it is deleted as the WARN says.
func TestRenamedGroupWarns(t *testing.T) {
	e := newEnv(t)
	b := e.binder(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	const dest = "renamed"
	key := e.prefix + dest
	noop := func(context.Context, stream.Envelope) error { return nil }

	// The earlier deployment: group g1, stopped (its consumer leaves the
	// group), then messages it will never read.
	// (Another binder: the groups of a binder's own bindings are never
	// reported.)
	old, err := e.binder(t, nil).BindConsumer(ctx, stream.ConsumerSpec{Binding: "old-in-0", Destination: dest, Group: "g1",
		ContentType: stream.DefaultContentType, Handler: noop, Consumer: stream.ConsumerConfig{Concurrency: 1, MaxAttempts: 1, InstanceCount: 1}})
	if err != nil {
		t.Fatal(err)
	}
	if err := old.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := old.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	send(t, bindProducer(t, b, stream.ProducerSpec{Destination: dest}), ids("m", 3))

	rc := redistest.Client(t, redistest.Addr(), "", "")
	// Another service's group, reading: one entry pending, two unread.
	if err := rc.XGroupCreate(ctx, key, "other", "0").Err(); err != nil {
		t.Fatal(err)
	}
	if err := rc.XReadGroup(ctx, &goredis.XReadGroupArgs{Group: "other", Consumer: "c1", Streams: []string{key, ">"}, Count: 1}).Err(); err != nil {
		t.Fatal(err)
	}
	// One of g1's entries parked, pending, under the name a stopping
	// binding gives back its unhandled entries to: not a reader.
	if err := rc.XReadGroup(ctx, &goredis.XReadGroupArgs{Group: "g1", Consumer: redisbinder.ReleasedConsumer, Streams: []string{key, ">"}, Count: 1}).Err(); err != nil {
		t.Fatal(err)
	}
	// A group that has read everything, with no consumer.
	if err := rc.XGroupCreate(ctx, key, "done", "$").Err(); err != nil {
		t.Fatal(err)
	}

	bind := func(group string) *warnLines {
		t.Helper()
		w := &warnLines{}
		c, err := b.BindConsumer(ctx, stream.ConsumerSpec{Binding: "new-in-0", Destination: dest, Group: group,
			ContentType: stream.DefaultContentType, Handler: noop, Logger: slog.New(w),
			Consumer: stream.ConsumerConfig{Concurrency: 1, MaxAttempts: 1, InstanceCount: 1}})
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Start(ctx); err != nil { // the first Start looks
			t.Fatal(err)
		}
		if err := c.Stop(ctx); err != nil {
			t.Fatal(err)
		}
		return w
	}
	w := bind("g2")
	got := w.matching("other consumer group")
	if len(got) != 1 {
		t.Fatalf("WARNs about other groups %q; want one, about g1", got)
	}
	t.Log(got[0])
	for _, want := range []string{"other-group=g1", "lag=2", "pending=1", "readers=0", "XGROUP DESTROY " + key + " g1"} {
		if !strings.Contains(got[0], want) {
			t.Errorf("WARN %q does not say %q", got[0], want)
		}
	}

	// Deleted as the WARN says: no WARN at the next bind of g2.
	if err := rc.XGroupDestroy(ctx, key, "g1").Err(); err != nil {
		t.Fatal(err)
	}
	if got := bind("g2").matching("other consumer group"); len(got) != 0 {
		t.Fatalf("WARNs after g1 was deleted: %q; want none", got)
	}
}

// TestGroupsOfTheAppNotAbandoned: an app's two consumer bindings of one
// destination (groups accounting and email) restart with a backlog that
// neither group has read yet. The first one bound warned that email was
// abandoned and how to destroy it (XGROUP DESTROY), though the app's
// other binding, bound next, reads it: the look-around ran at the bind,
// before the app had bound its other bindings. Now it runs at the first
// Start, after the app bound them all, and skips the binder's groups.
func TestGroupsOfTheAppNotAbandoned(t *testing.T) {
	e := newEnv(t)
	b := e.binder(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	const dest = "invoices"
	key := e.prefix + dest
	rc := redistest.Client(t, redistest.Addr(), "", "")
	// The earlier run of the app left both groups behind the stream.
	if err := rc.XGroupCreateMkStream(ctx, key, "accounting", "0").Err(); err != nil {
		t.Fatal(err)
	}
	if err := rc.XGroupCreate(ctx, key, "email", "0").Err(); err != nil {
		t.Fatal(err)
	}
	send(t, bindProducer(t, b, stream.ProducerSpec{Destination: dest}), ids("m", 3))

	w := &warnLines{}
	var cons []stream.Consumer
	for _, g := range []string{"accounting", "email"} {
		c, err := b.BindConsumer(ctx, stream.ConsumerSpec{Binding: g + "-in-0", Destination: dest, Group: g,
			ContentType: stream.DefaultContentType, Handler: func(context.Context, stream.Envelope) error { return nil },
			Logger: slog.New(w), Consumer: stream.ConsumerConfig{Concurrency: 1, MaxAttempts: 1, InstanceCount: 1}})
		if err != nil {
			t.Fatal(err)
		}
		cons = append(cons, c)
	}
	for _, c := range cons {
		if err := c.Start(ctx); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range cons {
		if err := c.Stop(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if got := w.matching("other consumer group"); len(got) != 0 {
		t.Fatalf("the app's own groups reported abandoned: %q", got)
	}
}
