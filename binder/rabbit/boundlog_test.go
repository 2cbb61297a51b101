package rabbit

import (
	"context"
	"fmt"
	"log/slog"
	"regexp"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/bindertest"
	"github.com/streambind/streambind/binder/rabbit/rabbittest"
	"github.com/streambind/streambind/internal/syncbuf"
	"github.com/streambind/streambind/stream"
)

// newLevelLog returns a logger writing text lines, DEBUG included, and a
// function returning what it wrote.
func newLevelLog() (*slog.Logger, func() string) {
	var buf syncbuf.Buffer
	return slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})), buf.String
}

// boundLine matches a "rabbit: producer bound" line's level and
// destination (an attribute of the binding's logger).
var boundLine = regexp.MustCompile(`level=(\w+) msg="rabbit: producer bound".* destination=(\S+)`)

// countBound counts the "rabbit: producer bound" lines by level and
// destination.
func countBound(out string) map[string]map[string]int {
	n := map[string]map[string]int{}
	for _, m := range boundLine.FindAllStringSubmatch(out, -1) {
		if n[m[1]] == nil {
			n[m[1]] = map[string]int{}
		}
		n[m[1]][m[2]]++
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
	if n["INFO"]["d"] != 1 || n["INFO"]["e"] != 1 || n["DEBUG"]["d"] != 2 || n["DEBUG"]["e"] != 0 {
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
	if len(n["INFO"]) != dests {
		t.Errorf("INFO lines for %d destinations, want %d: %v", len(n["INFO"]), dests, n["INFO"])
	}
	for d, c := range n["INFO"] {
		if c != 1 {
			t.Errorf("destination %s: %d INFO lines, want 1", d, c)
		}
	}
	debug := 0
	for _, c := range n["DEBUG"] {
		debug += c
	}
	// The first round binds each destination; every later send finds it
	// evicted (the cache holds the last 2 of 5) and binds it again.
	if want := dests * (rounds - 1); debug != want {
		t.Errorf("%d DEBUG lines, want %d: %v", debug, want, n["DEBUG"])
	}
}
