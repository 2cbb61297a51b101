package redis_test

import (
	"context"
	"flag"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9/logging"

	redisbinder "github.com/streambind/streambind/binder/redis"
	"github.com/streambind/streambind/binder/redis/redistest"
	"github.com/streambind/streambind/internal/testparallel"
	"github.com/streambind/streambind/stream"
)

// parallelTests is how many parallel tests run at least at once when
// -parallel is not given: the package's tests mostly wait on Redis,
// claim and trim timers and proxies, not on the CPU (go test -race
// -count=1 ./binder/redis alone: 95 s with every test in turn; 49 s with
// the parallel ones 4 at a time, 48 s with 6, 53 s with 10, on a loaded
// 2-core machine: the serial tests take about 24 s of it). The tests left
// serial bound a duration tightly, count goroutines or allocations, set a
// package hook, or depend on claim timers firing on time.
const parallelTests = 4

// TestMain silences go-redis's process-wide logger (its dial failures in
// the fault tests) unless REDIS_TEST_LOG asks for logs, and lets more of
// the parallel tests run at once (see parallelTests).
func TestMain(m *testing.M) {
	flag.Parse()
	testparallel.AtLeast(parallelTests)
	if os.Getenv("REDIS_TEST_LOG") == "" {
		logging.Disable()
	}
	os.Exit(m.Run())
}

// testLogger logs to stderr at the level of REDIS_TEST_LOG (debug, info,
// warn, error), and discards by default.
func testLogger(t testing.TB) *slog.Logger {
	var l slog.Level
	s := os.Getenv("REDIS_TEST_LOG")
	if s == "" || l.UnmarshalText([]byte(s)) != nil {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: l})).With("test", t.Name())
}

// env is a test's connection settings for the shared server: its own key
// prefix and client name.
type env struct {
	prefix string
	name   string
}

// newEnv requires the shared server and returns settings unique to the
// test; its keys are deleted when it ends.
func newEnv(t testing.TB) env {
	t.Helper()
	redistest.Require(t)
	return env{prefix: redistest.Prefix(t), name: "sbtest-" + uuid.NewString()[:12]}
}

// binder returns a redis binder on the shared server with the test's
// prefix and client name, plus extra settings; it is closed when the test
// ends (closing twice is fine).
func (e env) binder(t testing.TB, extra map[string]any) *redisbinder.Binder {
	t.Helper()
	m := map[string]any{"address": redistest.Addr(), "key-prefix": e.prefix, "client-name": e.name}
	for k, v := range extra {
		m[k] = v
	}
	return newBinder(t, m)
}

func newBinder(t testing.TB, envm map[string]any) *redisbinder.Binder {
	t.Helper()
	b, err := redisbinder.New(context.Background(), stream.BinderSettings{Name: "redis", Type: redisbinder.Type, Environment: envm, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := b.Close(ctx); err != nil {
			t.Errorf("closing binder: %v", err)
		}
	})
	return b.(*redisbinder.Binder)
}

// idHeader carries each test message's unique id.
const idHeader = "x-test-id"

// tracker counts the deliveries of unique ids.
type tracker struct {
	mu      sync.Mutex
	got     map[string]int
	changed chan struct{}
}

func newTracker() *tracker {
	return &tracker{got: map[string]int{}, changed: make(chan struct{}, 1)}
}

func (tr *tracker) receive(id string) {
	tr.mu.Lock()
	tr.got[id]++
	tr.mu.Unlock()
	select {
	case tr.changed <- struct{}{}:
	default:
	}
}

// count returns how many of ids were received at least once.
func (tr *tracker) count(ids []string) int {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	n := 0
	for _, id := range ids {
		if tr.got[id] > 0 {
			n++
		}
	}
	return n
}

// wait waits until every id of ids was received, or fails after d.
func (tr *tracker) wait(t testing.TB, ids []string, d time.Duration) {
	t.Helper()
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	for {
		if n := tr.count(ids); n == len(ids) {
			return
		}
		select {
		case <-tr.changed:
		case <-deadline.C:
			tr.mu.Lock()
			var missing []string
			for _, id := range ids {
				if tr.got[id] == 0 && len(missing) < 10 {
					missing = append(missing, id)
				}
			}
			tr.mu.Unlock()
			t.Fatalf("after %s: %d of %d messages received; missing e.g. %v", d, tr.count(ids), len(ids), missing)
		}
	}
}

func msg(id string) stream.Envelope {
	return stream.Envelope{Payload: []byte(`{"id":"` + id + `"}`), Headers: stream.Headers{idHeader: id}}
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
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = p.Close(ctx)
	})
	return p
}

// bindConsumer binds and starts a consumer; it is stopped when the test ends.
func bindConsumer(t testing.TB, b stream.Binder, spec stream.ConsumerSpec) stream.Consumer {
	t.Helper()
	return bindConsumerThen(t, b, spec, nil)
}

// bindReadingAhead is bindConsumer for a group member that reads ahead
// up to prefetch from its first read, as one whose handler was measured
// cheap does (a member with no measured cost reads one call's worth a
// worker, see holdLimit in consumer.go): for tests of what a member does
// with the entries it holds unhandled while its handler blocks.
func bindReadingAhead(t testing.TB, b stream.Binder, spec stream.ConsumerSpec) stream.Consumer {
	t.Helper()
	return bindConsumerThen(t, b, spec, func(c stream.Consumer) { redisbinder.MeasuredCost(c, time.Microsecond) })
}

// bindConsumerThen is bindConsumer, calling before (when not nil) between
// the bind and the Start.
func bindConsumerThen(t testing.TB, b stream.Binder, spec stream.ConsumerSpec, before func(stream.Consumer)) stream.Consumer {
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
	if spec.Logger == nil { // a test's own logger (one it reads) is kept
		spec.Logger = testLogger(t)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := b.BindConsumer(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	if before != nil {
		before(c)
	}
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = c.Stop(ctx)
	})
	return c
}

// send sends ids in order, each Send bounded by 10s of its own (one bound
// for all of them failed 3,000 sends on a loaded machine: ~5 ms a Send
// under -race beside three other test binaries).
func send(t testing.TB, p stream.Producer, ids []string) {
	t.Helper()
	for _, id := range ids {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := p.Send(ctx, msg(id))
		cancel()
		if err != nil {
			t.Fatalf("Send(%s): %v", id, err)
		}
	}
}

func ids(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = prefix + "-" + itoa(i)
	}
	return out
}

func itoa(i int) string {
	const digits = "0123456789"
	if i == 0 {
		return "0"
	}
	var b []byte
	for ; i > 0; i /= 10 {
		b = append([]byte{digits[i%10]}, b...)
	}
	return string(b)
}

// sampleMax calls sample every 10ms on a goroutine of its own until the
// returned stop is called, and stop returns the largest value sampled
// (what a member held at most while a test's entries were handled).
func sampleMax(sample func() int64) (stop func() int64) {
	done := make(chan struct{})
	result := make(chan int64, 1)
	go func() {
		var most int64
		defer func() { result <- most }()
		for {
			most = max(most, sample())
			select {
			case <-done:
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
	}()
	return func() int64 { close(done); return <-result }
}
