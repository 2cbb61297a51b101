package rabbit

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/bindertest"
	"github.com/streambind/streambind/binder/rabbit/rabbittest"
	"github.com/streambind/streambind/stream"
)

// levelLog is a slog handler that records the level, message and
// destination attribute (from the logger or the line) of every line.
type levelLog struct {
	mu    *sync.Mutex
	lines *[]levelLine
	dest  string
}

type levelLine struct {
	level slog.Level
	msg   string
	dest  string
}

func newLevelLog() (*slog.Logger, func() []levelLine) {
	var (
		mu    sync.Mutex
		lines []levelLine
	)
	return slog.New(levelLog{mu: &mu, lines: &lines}), func() []levelLine {
		mu.Lock()
		defer mu.Unlock()
		return append([]levelLine(nil), lines...)
	}
}

func (h levelLog) Enabled(context.Context, slog.Level) bool { return true }

func (h levelLog) Handle(_ context.Context, r slog.Record) error {
	dest := h.dest
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "destination" {
			dest = a.Value.String()
		}
		return true
	})
	h.mu.Lock()
	defer h.mu.Unlock()
	*h.lines = append(*h.lines, levelLine{level: r.Level, msg: r.Message, dest: dest})
	return nil
}

func (h levelLog) WithAttrs(as []slog.Attr) slog.Handler {
	for _, a := range as {
		if a.Key == "destination" {
			h.dest = a.Value.String()
		}
	}
	return h
}

func (h levelLog) WithGroup(string) slog.Handler { return h }

// countBound counts the "rabbit: producer bound" lines by level and
// destination.
func countBound(lines []levelLine) map[slog.Level]map[string]int {
	n := map[slog.Level]map[string]int{}
	for _, l := range lines {
		if l.msg != "rabbit: producer bound" {
			continue
		}
		if n[l.level] == nil {
			n[l.level] = map[string]int{}
		}
		n[l.level][l.dest]++
	}
	return n
}

// TestProducerBoundLoggedOnce: a producer of a destination bound, closed
// and bound again by the same binder (what the bridge does when its cache
// of dynamic destinations evicted it) logs "rabbit: producer bound" at
// INFO the first time only, at DEBUG after; another destination logs its
// own INFO line.
func TestProducerBoundLoggedOnce(t *testing.T) {
	t.Parallel()
	vhost := rabbittest.VHost(t)
	log, lines := newLevelLog()
	b, err := New(context.Background(), stream.BinderSettings{Name: "test", Type: Type, Logger: log,
		Environment: map[string]any{"addresses": rabbittest.Address(), "virtual-host": vhost, "reconnect-initial-interval": "50ms"}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	defer func() {
		if err := b.Close(ctx); err != nil {
			t.Errorf("close binder: %v", err)
		}
	}()
	bind := func(dest string) {
		t.Helper()
		p, err := b.BindProducer(ctx, stream.ProducerSpec{Binding: dest, Destination: dest,
			Producer: stream.ProducerConfig{RequiredGroups: []string{"g"}}})
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Close(ctx); err != nil {
			t.Fatal(err)
		}
	}
	bind("d")
	bind("d")
	bind("e")
	bind("d")
	n := countBound(lines())
	if n[slog.LevelInfo]["d"] != 1 || n[slog.LevelInfo]["e"] != 1 || n[slog.LevelDebug]["d"] != 2 || n[slog.LevelDebug]["e"] != 0 {
		t.Errorf(`"rabbit: producer bound" lines by level and destination: %v; want INFO d 1, e 1, DEBUG d 2`, n)
	}
}

// TestDynamicDestinationsBoundLoggedOnce: an app whose bridge cycles
// through more dynamic destinations than its cache holds binds a producer
// at nearly every send, and logs "rabbit: producer bound" at INFO once per
// destination (a scale trial logged it at every send: 1k INFO lines a
// second at 1k sends a second).
func TestDynamicDestinationsBoundLoggedOnce(t *testing.T) {
	t.Parallel()
	vhost := rabbittest.VHost(t)
	log, lines := newLevelLog()
	const dests, rounds, cacheSize = 5, 4, 2
	cfg := &stream.Config{
		DefaultBinder: "rabbit",
		Binders: map[string]stream.BinderConfig{"rabbit": {Type: Type, Environment: map[string]any{
			"addresses": rabbittest.Address(), "virtual-host": vhost, "reconnect-initial-interval": "50ms"}}},
		DynamicDestinationCacheSize: cacheSize,
		// A queue per destination, so that the sends are routed.
		Default: stream.BindingConfig{Producer: stream.ProducerConfig{RequiredGroups: []string{"g"}}},
	}
	app, err := stream.NewApp(cfg, stream.NewCatalog(), stream.WithBinderType(Type, New), stream.WithoutSignals(), stream.WithLogger(log))
	if err != nil {
		t.Fatal(err)
	}
	stop := bindertest.RunApp(t, app)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for i := range dests * rounds {
		if err := app.Bridge().Send(ctx, fmt.Sprint("dyn-", i%dests), []byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	n := countBound(lines())
	if len(n[slog.LevelInfo]) != dests {
		t.Errorf("INFO lines for %d destinations, want %d: %v", len(n[slog.LevelInfo]), dests, n[slog.LevelInfo])
	}
	for d, c := range n[slog.LevelInfo] {
		if c != 1 {
			t.Errorf("destination %s: %d INFO lines, want 1", d, c)
		}
	}
	debug := 0
	for _, c := range n[slog.LevelDebug] {
		debug += c
	}
	// The first round binds each destination; every later send finds it
	// evicted (the cache holds the last 2 of 5) and binds it again.
	if want := dests * (rounds - 1); debug != want {
		t.Errorf("%d DEBUG lines, want %d: %v", debug, want, n[slog.LevelDebug])
	}
}
