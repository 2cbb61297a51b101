package nats_test

import (
	"context"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

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
// ownDest returns a destination of the test's own on the server at url,
// whose stream is deleted when the test ends.
func ownDest(t testing.TB, url, name string) string {
	dest := unique(t, name)
	newStreams(t, url).add(dest)
	return dest
}

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

// idHeader carries each test message's unique id.
const idHeader = "x-test-id"

// tracker counts the deliveries of unique ids.
type tracker struct {
	mu      sync.Mutex
	got     map[string]int
	by      map[string]map[int]int // id → member → deliveries
	changed chan struct{}
}

func newTracker() *tracker {
	return &tracker{got: map[string]int{}, by: map[string]map[int]int{}, changed: make(chan struct{}, 1)}
}

func (tr *tracker) receive(member int, id string) {
	tr.mu.Lock()
	tr.got[id]++
	if tr.by[id] == nil {
		tr.by[id] = map[int]int{}
	}
	tr.by[id][member]++
	tr.mu.Unlock()
	select {
	case tr.changed <- struct{}{}:
	default:
	}
}

func (tr *tracker) handler(member int) stream.Handler {
	return func(_ context.Context, m stream.Envelope) error {
		tr.receive(member, m.Headers[idHeader])
		return nil
	}
}

// missing returns the ids of want not received yet.
func (tr *tracker) missing(want []string) []string {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	var out []string
	for _, id := range want {
		if tr.got[id] == 0 {
			out = append(out, id)
		}
	}
	return out
}

// wait waits until every id of want was received, failing after d.
func (tr *tracker) wait(t testing.TB, want []string, d time.Duration) {
	t.Helper()
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	for {
		m := tr.missing(want)
		if len(m) == 0 {
			return
		}
		select {
		case <-tr.changed:
		case <-deadline.C:
			t.Fatalf("after %s, %d of %d messages not received, e.g. %v", d, len(m), len(want), m[:min(5, len(m))])
		}
	}
}

// msg is a test message with id in idHeader.
func msg(id string) stream.Envelope {
	return stream.Envelope{Payload: []byte(`{"id":"` + id + `"}`), Headers: stream.Headers{idHeader: id}}
}

// unique returns a destination name unique to this test run.
func unique(t testing.TB, name string) string {
	return "natstest." + strings.ToLower(strings.NewReplacer("/", ".", " ", "-").Replace(t.Name())) + "-" + uuid.NewString()[:8] + "." + name
}

func bindProducer(t testing.TB, b stream.Binder, spec stream.ProducerSpec) stream.Producer {
	t.Helper()
	if spec.Binding == "" {
		spec.Binding = "test-out-0"
	}
	if spec.ContentType == "" {
		spec.ContentType = stream.DefaultContentType
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	p, err := b.BindProducer(ctx, spec)
	if err != nil {
		t.Fatalf("BindProducer(%s): %v", spec.Destination, err)
	}
	t.Cleanup(func() { _ = p.Close(context.Background()) })
	return p
}

// startConsumer binds and starts a consumer; it is stopped at the end.
func startConsumer(t testing.TB, b stream.Binder, spec stream.ConsumerSpec) stream.Consumer {
	t.Helper()
	if spec.Binding == "" {
		spec.Binding = "test-in-0"
	}
	if spec.ContentType == "" {
		spec.ContentType = stream.DefaultContentType
	}
	spec.Consumer.Concurrency = max(spec.Consumer.Concurrency, 1)
	spec.Consumer.MaxAttempts = max(spec.Consumer.MaxAttempts, 1)
	spec.Consumer.InstanceCount = max(spec.Consumer.InstanceCount, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := b.BindConsumer(ctx, spec)
	if err != nil {
		t.Fatalf("BindConsumer(%s, %q): %v", spec.Destination, spec.Group, err)
	}
	if err := c.Start(ctx); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = c.Stop(ctx)
	})
	return c
}

func closeBinder(t testing.TB, b stream.Binder) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := b.Close(ctx); err != nil {
			t.Errorf("closing binder: %v", err)
		}
	})
}

// jsAt is a JetStream client of its own on the server at url (the test's
// view as an operator or another program), closed when the test ends.
func jsAt(t testing.TB, url string) jetstream.JetStream {
	t.Helper()
	nc, err := natsgo.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return js
}
