package kafka_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/streambind/streambind/binder/kafka"
	"github.com/streambind/streambind/binder/kafka/kafkatest"
	"github.com/streambind/streambind/stream"
)

// testLogger logs to stderr at the level of KAFKA_TEST_LOG (debug, info,
// warn, error), and discards by default.
func testLogger(t testing.TB) *slog.Logger {
	var l slog.Level
	s := os.Getenv("KAFKA_TEST_LOG")
	if s == "" || l.UnmarshalText([]byte(s)) != nil {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: l})).With("test", t.Name())
}

// idHeader carries each test message's unique id.
const idHeader = "x-test-id"

// tracker counts unique ids confirmed by Send and received by handlers.
type tracker struct {
	mu      sync.Mutex
	sent    map[string]bool
	got     map[string]int
	changed chan struct{}
}

func newTracker() *tracker {
	return &tracker{sent: map[string]bool{}, got: map[string]int{}, changed: make(chan struct{}, 1)}
}

func (tr *tracker) signal() {
	select {
	case tr.changed <- struct{}{}:
	default:
	}
}

func (tr *tracker) confirm(id string) {
	tr.mu.Lock()
	tr.sent[id] = true
	tr.mu.Unlock()
	tr.signal()
}

func (tr *tracker) receive(id string) {
	tr.mu.Lock()
	tr.got[id]++
	tr.mu.Unlock()
	tr.signal()
}

func (tr *tracker) handler() stream.Handler {
	return func(_ context.Context, m stream.Envelope) error {
		tr.receive(m.Headers[idHeader])
		return nil
	}
}

func (tr *tracker) received() int {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return len(tr.got)
}

// waitReceived waits until at least n unique ids were received.
func (tr *tracker) waitReceived(t testing.TB, n int, timeout time.Duration) {
	t.Helper()
	tr.waitFor(t, fmt.Sprintf("%d messages received", n), timeout, func() bool { return len(tr.got) >= n })
}

func (tr *tracker) waitFor(t testing.TB, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		tr.mu.Lock()
		ok := cond()
		tr.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-tr.changed:
		case <-deadline.C:
			tr.mu.Lock()
			sent, got := len(tr.sent), len(tr.got)
			tr.mu.Unlock()
			t.Fatalf("timed out after %s waiting for %s (confirmed %d, received %d unique)", timeout, what, sent, got)
		}
	}
}

// waitAll waits until every confirmed id was received, then reports
// duplicates with t.Logf and fails on losses.
func (tr *tracker) waitAll(t testing.TB, timeout time.Duration) {
	t.Helper()
	var missing []string
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		tr.mu.Lock()
		missing = missing[:0]
		for id := range tr.sent {
			if tr.got[id] == 0 {
				missing = append(missing, id)
			}
		}
		tr.mu.Unlock()
		if len(missing) == 0 {
			break
		}
		select {
		case <-tr.changed:
		case <-deadline.C:
			sort.Strings(missing)
			t.Fatalf("lost %d confirmed messages after %s, e.g. %v", len(missing), timeout, missing[:min(5, len(missing))])
		}
	}
	tr.mu.Lock()
	defer tr.mu.Unlock()
	dups := 0
	for _, n := range tr.got {
		dups += n - 1
	}
	t.Logf("sent (confirmed) %d unique, received %d unique, lost 0, duplicates %d", len(tr.sent), len(tr.got), dups)
}

// produce sends n messages "<prefix>-<i>" from one goroutine, resending a
// message until its Send is confirmed (so a failed Send may duplicate, never
// lose), spreading them over parts partitions. It stops early when ctx ends.
func produce(ctx context.Context, t testing.TB, p stream.Producer, tr *tracker, prefix string, n, parts int, pace time.Duration) {
	failures := 0
	for i := 0; i < n && ctx.Err() == nil; i++ {
		id := prefix + "-" + strconv.Itoa(i)
		env := stream.Envelope{
			Payload: []byte(`{"id":"` + id + `"}`),
			Headers: stream.Headers{idHeader: id, stream.HeaderPartition: strconv.Itoa(i % max(parts, 1))},
		}
		for ctx.Err() == nil {
			sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
			err := p.Send(sctx, env)
			cancel()
			if err == nil {
				tr.confirm(id)
				break
			}
			failures++
			select {
			case <-time.After(50 * time.Millisecond): // back off before resending
			case <-ctx.Done():
			}
		}
		if pace > 0 {
			time.Sleep(pace) // spread the load so that faults land mid-stream
		}
	}
	if failures > 0 {
		t.Logf("producer %s: %d failed sends were resent", prefix, failures)
	}
}

func bindProducer(t testing.TB, b stream.Binder, dest string, parts int) stream.Producer {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	spec := stream.ProducerSpec{Binding: "test-out-0", Destination: dest, ContentType: stream.DefaultContentType,
		Producer: stream.ProducerConfig{PartitionCount: parts}}
	if parts > 1 {
		spec.Producer.PartitionKeyExpression = "headers." + idHeader
	}
	p, err := b.BindProducer(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close(context.Background()) })
	return p
}

func consumerSpec(dest, group string, h stream.Handler) stream.ConsumerSpec {
	return stream.ConsumerSpec{Binding: "test-in-0", Destination: dest, Group: group, ContentType: stream.DefaultContentType,
		Handler: h, Consumer: stream.ConsumerConfig{Concurrency: 1, MaxAttempts: 1, InstanceCount: 1}}
}

// startConsumer binds and starts a consumer; it is stopped at cleanup.
func startConsumer(t testing.TB, b stream.Binder, spec stream.ConsumerSpec) stream.Consumer {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := b.BindConsumer(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		_ = c.Stop(ctx)
	})
	return c
}

func closeBinder(t testing.TB, b stream.Binder) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := b.Close(ctx); err != nil {
			t.Errorf("closing binder: %v", err)
		}
	})
}

func uniqueTopic(t testing.TB) string {
	return strings.NewReplacer("/", ".", "_", "-").Replace(strings.ToLower(t.Name())) + "-" + uuid.NewString()[:8]
}

// produceInBackground runs produce in a goroutine, stopped when the test
// ends, and returns a channel closed when it has sent everything.
func produceInBackground(t testing.TB, p stream.Producer, tr *tracker, prefix string, n, parts int, pace time.Duration) <-chan struct{} {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	done := make(chan struct{})
	go func() {
		defer close(done)
		produce(ctx, t, p, tr, prefix, n, parts, pace)
	}()
	return done
}

// produceUntilStopped is produceInBackground that stop ends early: the
// message being sent then is not confirmed (nor counted as sent).
func produceUntilStopped(t testing.TB, p stream.Producer, tr *tracker, prefix string, n, parts int, pace time.Duration) (done <-chan struct{}, stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	ch := make(chan struct{})
	go func() {
		defer close(ch)
		produce(ctx, t, p, tr, prefix, n, parts, pace)
	}()
	return ch, cancel
}

func (tr *tracker) confirmed() int {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return len(tr.sent)
}

// warmProducer starts a kfake cluster and binds a producer to a fresh
// topic of parts partitions; queued is told each time a record is queued.
// One send to warmPart warms its connections and metadata first.
func warmProducer(t *testing.T, parts, warmPart int) (c *kafkatest.Cluster, dest string, p stream.Producer, queued chan struct{}) {
	t.Helper()
	c = kafkatest.Start(t)
	b := newBinder(t, c, nil)
	closeBinder(t, b)
	dest = uniqueTopic(t)
	p = bindProducer(t, b, dest, parts)
	queued = make(chan struct{}, 16)
	kafka.OnQueued(p, func() { queued <- struct{}{} })
	if err := p.Send(context.Background(), toPartition("warm", warmPart)); err != nil {
		t.Fatal(err)
	}
	<-queued
	return c, dest, p, queued
}

// holdFirstProduce holds in kfake the first produce request that match
// accepts until unblock is called (also at the test's end); held is
// closed when it is held. Once released, answer gives the reply to it
// (nil: the request is handled as usual).
func holdFirstProduce(t *testing.T, c *kafkatest.Cluster, match func(*kmsg.ProduceRequest) bool, answer func(*kmsg.ProduceRequest) kmsg.Response) (held chan struct{}, unblock func()) {
	held = make(chan struct{})
	release := make(chan struct{})
	var once atomic.Bool
	c.Kfake.ControlKey(int16(kmsg.Produce), func(kr kmsg.Request) (kmsg.Response, error, bool) {
		c.Kfake.KeepControl()
		req := kr.(*kmsg.ProduceRequest)
		if !match(req) || !once.CompareAndSwap(false, true) {
			return nil, nil, false
		}
		close(held)
		c.Kfake.SleepControl(func() { <-release })
		if answer == nil {
			return nil, nil, false
		}
		return answer(req), nil, true
	})
	var releaseOnce sync.Once
	unblock = func() { releaseOnce.Do(func() { close(release) }) }
	t.Cleanup(unblock)
	return held, unblock
}
