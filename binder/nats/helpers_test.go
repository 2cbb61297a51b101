package nats_test

import (
	"context"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"

	natsbinder "github.com/streambind/streambind/binder/nats"
	"github.com/streambind/streambind/binder/nats/natstest"
	"github.com/streambind/streambind/stream"
)

// testLogger logs to stderr at the level of NATS_TEST_LOG (debug, info,
// warn, error), and discards by default.
func testLogger(t testing.TB) *slog.Logger {
	var l slog.Level
	s := os.Getenv("NATS_TEST_LOG")
	if s == "" || l.UnmarshalText([]byte(s)) != nil {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: l})).With("test", t.Name())
}

// streams records the streams a test's bindings make, and deletes them
// when the test ends.
type streams struct {
	mu    sync.Mutex
	names map[string]bool
}

func newStreams(t testing.TB, url string) *streams {
	s := &streams{names: map[string]bool{}}
	natstest.DeleteStreams(t, url, func() []string {
		s.mu.Lock()
		defer s.mu.Unlock()
		var out []string
		for n := range s.names {
			out = append(out, n)
		}
		return out
	})
	return s
}

// add records the stream of destination dest.
func (s *streams) add(dest string) {
	s.mu.Lock()
	s.names[natsbinder.StreamName(dest)] = true
	s.mu.Unlock()
}

// tracked is a binder that records the destinations it binds (and their
// dead-letter destinations).
type tracked struct {
	stream.Binder
	s *streams
}

func (b tracked) BindProducer(ctx context.Context, spec stream.ProducerSpec) (stream.Producer, error) {
	b.s.add(spec.Destination)
	return b.Binder.BindProducer(ctx, spec)
}

func (b tracked) BindConsumer(ctx context.Context, spec stream.ConsumerSpec) (stream.Consumer, error) {
	for _, d := range strings.Split(spec.Destination, ",") {
		if d = strings.TrimSpace(d); d != "" {
			b.s.add(d)
			if spec.Group != "" {
				b.s.add(stream.DLQName(d, spec.Group))
			}
		}
	}
	return b.Binder.BindConsumer(ctx, spec)
}

// newBinder returns a nats binder on url with extra environment settings;
// the caller (or the suite) closes it.
func newBinder(t testing.TB, url string, env map[string]any) *natsbinder.Binder {
	t.Helper()
	e := map[string]any{"servers": url}
	for k, v := range env {
		e[k] = v
	}
	b, err := natsbinder.New(context.Background(), stream.BinderSettings{Name: "nats", Type: natsbinder.Type, Environment: e, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	return b.(*natsbinder.Binder)
}
