package kafka_test

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/streambind/streambind/binder/kafka"
	"github.com/streambind/streambind/binder/kafka/kafkatest"
	"github.com/streambind/streambind/stream"
)

const keyOrderTimeout = 30 * time.Second

// fillKeyed writes n records to partition 0 of topic, record i with key
// k<i%keys> (none when keys is 0) and value i.
func fillKeyed(t testing.TB, c *kafkatest.Cluster, topic string, n, keys int) {
	t.Helper()
	w := &kafkago.Writer{Addr: kafkago.TCP(c.Addrs()...), Topic: topic, BatchTimeout: time.Millisecond, BatchSize: n,
		Balancer: kafkago.BalancerFunc(func(kafkago.Message, ...int) int { return 0 }), Transport: &kafkago.Transport{}}
	defer w.Close()
	msgs := make([]kafkago.Message, n)
	for i := range msgs {
		msgs[i] = kafkago.Message{Value: []byte(strconv.Itoa(i))}
		if keys > 0 {
			msgs[i].Key = []byte("k" + strconv.Itoa(i%keys))
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), keyOrderTimeout)
	defer cancel()
	if err := w.WriteMessages(ctx, msgs...); err != nil {
		t.Fatalf("fill %s: %v", topic, err)
	}
}

// committedOf is the group's committed offset of partition 0 of topic
// (-1: none).
func committedOf(t testing.TB, c *kafkatest.Cluster, group, topic string) int64 {
	t.Helper()
	return committedAll(t, c, group, topic, 1)[0]
}

// committedAll is the group's committed offset of partitions 0..parts-1
// of topic (-1: none).
func committedAll(t testing.TB, c *kafkatest.Cluster, group, topic string, parts int) []int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cl := &kafkago.Client{Addr: kafkago.TCP(c.Addrs()...)}
	ids := make([]int, parts)
	out := make([]int64, parts)
	for i := range ids {
		ids[i], out[i] = i, -1
	}
	res, err := cl.OffsetFetch(ctx, &kafkago.OffsetFetchRequest{GroupID: group, Topics: map[string][]int{topic: ids}})
	if err != nil {
		t.Fatalf("offset fetch: %v", err)
	}
	// A group the broker does not know yet (its member still joining)
	// has committed nothing.
	if errors.Is(res.Error, kafkago.GroupIdNotFound) {
		return out
	}
	if res.Error != nil {
		t.Fatalf("offset fetch: %v", res.Error)
	}
	for _, p := range res.Topics[topic] {
		switch {
		case errors.Is(p.Error, kafkago.GroupIdNotFound):
		case p.Error != nil:
			t.Fatalf("offset fetch %s[%d]: %v", topic, p.Partition, p.Error)
		case p.Partition < parts:
			out[p.Partition] = p.CommittedOffset
		}
	}
	return out
}

// waitKeyCommitted polls the committed offset until cond holds; every value
// seen is passed to check first.
func waitKeyCommitted(t testing.TB, c *kafkatest.Cluster, group, topic, what string, check func(int64), cond func(int64) bool) {
	t.Helper()
	deadline := time.Now().Add(keyOrderTimeout)
	for {
		off := committedOf(t, c, group, topic)
		check(off)
		if cond(off) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s; committed %d", what, off)
		}
		time.Sleep(20 * time.Millisecond) // polling the broker's state; the condition decides
	}
}

func newKeyOrderBinder(t testing.TB, c *kafkatest.Cluster, log *slog.Logger) stream.Binder {
	t.Helper()
	b, err := kafka.New(context.Background(), stream.BinderSettings{Name: "kafka", Type: kafka.Type, Logger: log,
		Environment: map[string]any{"brokers": c.Brokers(), "auto-create-topics": false}})
	if err != nil {
		t.Fatal(err)
	}
	closeBinder(t, b)
	return b
}

func keyedSpec(topic, group string, concurrency int, h stream.Handler) stream.ConsumerSpec {
	spec := consumerSpec(topic, group, h)
	spec.Consumer.Concurrency = concurrency
	spec.Extension = map[string]any{"ordering": "key"}
	return spec
}

// handledLog records what a handler saw, per key in order.
type handledLog struct {
	mu     sync.Mutex
	perKey map[string][]int
	times  map[int]int
	ch     chan struct{}
}

func newHandledLog() *handledLog {
	return &handledLog{perKey: map[string][]int{}, times: map[int]int{}, ch: make(chan struct{}, 1)}
}

func (l *handledLog) add(key string, i int) {
	l.mu.Lock()
	l.perKey[key] = append(l.perKey[key], i)
	l.times[i]++
	l.mu.Unlock()
	select {
	case l.ch <- struct{}{}:
	default:
	}
}

func (l *handledLog) waitCount(t testing.TB, what string, n int) {
	t.Helper()
	deadline := time.NewTimer(keyOrderTimeout)
	defer deadline.Stop()
	for {
		l.mu.Lock()
		got := len(l.times)
		l.mu.Unlock()
		if got >= n {
			return
		}
		select {
		case <-l.ch:
		case <-deadline.C:
			t.Fatalf("timed out waiting for %s: %d of %d distinct messages handled", what, got, n)
		}
	}
}

// TestKeyOrderConcurrency: ordering key on a 1-partition topic with
// concurrency 8 handles every message once, in order per key, several at
// once, and commits the whole partition.
func TestKeyOrderConcurrency(t *testing.T) {
	t.Parallel()
	const n, keys = 400, 16
	c := kafkatest.Start(t)
	topic := uniqueTopic(t)
	createTopic(t, c, topic, 1, nil)
	fillKeyed(t, c, topic, n, keys)
	b := newKeyOrderBinder(t, c, testLogger(t))
	hl := newHandledLog()
	var inflight, high atomic.Int32
	concurrent := make(chan struct{})
	var once sync.Once
	h := func(ctx context.Context, m stream.Envelope) error {
		cur := inflight.Add(1)
		defer inflight.Add(-1)
		for {
			h := high.Load()
			if cur <= h || high.CompareAndSwap(h, cur) {
				break
			}
		}
		if cur >= 2 {
			once.Do(func() { close(concurrent) })
		}
		i, err := strconv.Atoi(string(m.Payload))
		if err != nil {
			t.Errorf("payload %q: %v", m.Payload, err)
		}
		if i == 0 {
			// The first message waits for another handler call to run
			// at the same time: proof of concurrency within a partition.
			select {
			case <-concurrent:
			case <-time.After(keyOrderTimeout):
				t.Error("no second handler call ran while the first one was running")
			}
		}
		time.Sleep(time.Duration(rand.IntN(300)) * time.Microsecond) // varied handling times, to mix up completion order
		hl.add(string(m.Key), i)
		return nil
	}
	startConsumer(t, b, keyedSpec(topic, "g", 8, h))
	hl.waitCount(t, "every message", n)
	waitKeyCommitted(t, c, "g", topic, "the whole partition committed", func(int64) {}, func(o int64) bool { return o == n })
	hl.mu.Lock()
	defer hl.mu.Unlock()
	for i := range n {
		if hl.times[i] != 1 {
			t.Errorf("message %d handled %d times", i, hl.times[i])
		}
	}
	for k, is := range hl.perKey {
		for j := 1; j < len(is); j++ {
			if is[j] <= is[j-1] {
				t.Fatalf("key %s handled out of order: %v", k, is)
			}
		}
	}
	if high.Load() < 2 {
		t.Errorf("at most %d handler calls ran at once; want at least 2", high.Load())
	}
	t.Logf("most handler calls at once: %d", high.Load())
}

// blockedHandler blocks on message block until release is closed (or its
// context ends: it Naks); it records every other message.
func blockedHandler(hl *handledLog, block int, release <-chan struct{}, blocked chan<- struct{}) stream.Handler {
	var once sync.Once
	return func(ctx context.Context, m stream.Envelope) error {
		i, _ := strconv.Atoi(string(m.Payload))
		if i == block {
			once.Do(func() { close(blocked) })
			select {
			case <-release:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		hl.add(string(m.Key), i)
		return nil
	}
}

// stuckBehind counts the messages (k<i%keys> for i < n) that wait behind
// a blocked message block: those of its key after it (a lane per key).
func stuckBehind(n, keys, block int) int {
	stuck := 0
	for i := block; i < n; i++ {
		if i%keys == block%keys {
			stuck++
		}
	}
	return stuck
}

// TestKeyOrderCommitsPrefix: while message N is blocked, later messages
// of other keys are handled but the committed offset stays at N; once N
// is handled the commit reaches the end.
func TestKeyOrderCommitsPrefix(t *testing.T) {
	t.Parallel()
	const n, keys, block = 100, 16, 10
	c := kafkatest.Start(t)
	topic := uniqueTopic(t)
	createTopic(t, c, topic, 1, nil)
	fillKeyed(t, c, topic, n, keys)
	b := newKeyOrderBinder(t, c, testLogger(t))
	hl := newHandledLog()
	release, blocked := make(chan struct{}), make(chan struct{})
	startConsumer(t, b, keyedSpec(topic, "g", 8, blockedHandler(hl, block, release, blocked)))
	stuck := stuckBehind(n, keys, block)
	hl.waitCount(t, "the messages of the other keys", n-stuck)
	notPast := func(o int64) {
		if o > block {
			t.Fatalf("committed offset %d passes the unhandled message %d", o, block)
		}
	}
	waitKeyCommitted(t, c, "g", topic, "the prefix before the blocked message", notPast, func(o int64) bool { return o == block })
	hl.mu.Lock()
	if got := len(hl.times); got != n-stuck {
		t.Errorf("%d messages handled while %d was blocked; want %d", got, block, n-stuck)
	}
	hl.mu.Unlock()
	// Stays there: a few more commit rounds see no other value.
	for range 5 {
		notPast(committedOf(t, c, "g", topic))
	}
	close(release)
	hl.waitCount(t, "every message", n)
	waitKeyCommitted(t, c, "g", topic, "the whole partition committed", func(int64) {}, func(o int64) bool { return o == n })
}

// TestKeyOrderRestartRedelivers: a consumer stopped while message N is
// blocked (its handler interrupted) commits the prefix before N; the next
// consumer of the group gets N and everything after it again (at least
// once), and nothing before it.
func TestKeyOrderRestartRedelivers(t *testing.T) {
	t.Parallel()
	const n, keys, block = 100, 16, 10
	c := kafkatest.Start(t)
	topic := uniqueTopic(t)
	createTopic(t, c, topic, 1, nil)
	fillKeyed(t, c, topic, n, keys)
	b := newKeyOrderBinder(t, c, testLogger(t))
	hl := newHandledLog()
	release, blocked := make(chan struct{}), make(chan struct{})
	defer close(release)
	ctx, cancel := context.WithTimeout(context.Background(), keyOrderTimeout)
	defer cancel()
	c1, err := b.BindConsumer(ctx, keyedSpec(topic, "g", 8, blockedHandler(hl, block, release, blocked)))
	if err != nil {
		t.Fatal(err)
	}
	if err := c1.Start(ctx); err != nil {
		t.Fatal(err)
	}
	stuck := stuckBehind(n, keys, block)
	hl.waitCount(t, "the messages of the other keys", n-stuck)
	waitKeyCommitted(t, c, "g", topic, "the prefix before the blocked message", func(int64) {}, func(o int64) bool { return o == block })
	// Stop gives the blocked call little time: its context ends a tenth
	// of it before the deadline (dispatch.SettleReserve), and it Naks.
	// Whether the member also left the group in the 20ms left is the
	// machine's timing, so Stop's error is not asserted: what it
	// committed, and what the next member gets, are.
	sctx, scancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	if err := c1.Stop(sctx); err != nil {
		t.Logf("Stop: %v", err)
	}
	scancel()
	if o := committedOf(t, c, "g", topic); o != block {
		t.Fatalf("committed %d after Stop; want %d (the prefix)", o, block)
	}

	again := newHandledLog()
	startConsumer(t, b, keyedSpec(topic, "g", 8, func(_ context.Context, m stream.Envelope) error {
		i, _ := strconv.Atoi(string(m.Payload))
		again.add(string(m.Key), i)
		return nil
	}))
	again.waitCount(t, "the redelivered messages", n-block)
	waitKeyCommitted(t, c, "g", topic, "the whole partition committed", func(int64) {}, func(o int64) bool { return o == n })
	again.mu.Lock()
	defer again.mu.Unlock()
	for i := range n {
		switch {
		case i < block && again.times[i] != 0:
			t.Errorf("message %d (before the committed prefix) redelivered", i)
		case i >= block && again.times[i] != 1:
			t.Errorf("message %d handled %d times after the restart; want 1", i, again.times[i])
		}
	}
}

// TestKeyOrderIdleConcurrencyWarns: concurrency above the assigned
// partitions with per-partition ordering logs one WARN naming the
// binding; with ordering key it does not.
func TestKeyOrderIdleConcurrencyWarns(t *testing.T) {
	t.Parallel()
	c := kafkatest.Start(t)
	for _, ordering := range []string{"partition", "key"} {
		t.Run(ordering, func(t *testing.T) {
			topic := uniqueTopic(t)
			createTopic(t, c, topic, 1, nil)
			fillKeyed(t, c, topic, 1, 1)
			logs := &logRecorder{}
			b := newKeyOrderBinder(t, c, logs.logger())
			got := make(chan struct{}, 1)
			spec := keyedSpec(topic, "g", 4, func(context.Context, stream.Envelope) error {
				select {
				case got <- struct{}{}:
				default:
				}
				return nil
			})
			spec.Extension = map[string]any{"ordering": ordering}
			start := time.Now()
			startConsumer(t, b, spec)
			select {
			case <-got:
			case <-time.After(keyOrderTimeout):
				t.Fatal("no message handled")
			}
			// The warning is decided before any message is handled.
			var warns []logLine
			for _, l := range logs.since(slog.LevelWarn, start) {
				if strings.Contains(l.msg, "concurrency is above the partitions") {
					warns = append(warns, l)
				}
			}
			want := 0
			if ordering == "partition" {
				want = 1
			}
			if len(warns) != want {
				t.Fatalf("%d idle-concurrency warnings; want %d: %v", len(warns), want, warns)
			}
			if want == 1 && !strings.Contains(warns[0].String(), `binding="test-in-0"`) {
				t.Errorf("the warning does not name the binding: %s", warns[0])
			}
			logs.checkHygiene(t)
		})
	}
}

// TestKeyOrderConfig: a bad ordering value and ordering key with
// batch-mode are configuration errors naming the key.
func TestKeyOrderConfig(t *testing.T) {
	b, err := kafka.New(context.Background(), stream.BinderSettings{Name: "kafka", Type: kafka.Type})
	if err != nil {
		t.Fatal(err)
	}
	v := b.(interface {
		ValidateConsumer(stream.ConsumerSpec) error
	})
	for _, tc := range []struct {
		ordering any
		batch    bool
		want     string
	}{
		{"partition", false, ""},
		{"KEY", false, ""},
		{"key", true, "batch-mode"},
		{"offset", false, `want partition or key, got "offset"`},
	} {
		spec := stream.ConsumerSpec{Binding: "in-0", Destination: "t", Extension: map[string]any{"ordering": tc.ordering},
			Consumer: stream.ConsumerConfig{BatchMode: tc.batch}}
		err := v.ValidateConsumer(spec)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("ordering %v: %v", tc.ordering, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "ordering")):
			t.Errorf("ordering %v batch %v: error %v; want one naming ordering and saying %q", tc.ordering, tc.batch, err, tc.want)
		}
	}
}

// TestKeyOrderKeylessShareALane: under ordering key, the messages without
// a key go to one lane: handled one at a time, in offset order.
func TestKeyOrderKeylessShareALane(t *testing.T) {
	t.Parallel()
	const n = 200
	c := kafkatest.Start(t)
	topic := uniqueTopic(t)
	createTopic(t, c, topic, 1, nil)
	fillKeyed(t, c, topic, n, 0)
	b := newKeyOrderBinder(t, c, testLogger(t))
	hl := newHandledLog()
	var inflight, high atomic.Int32
	startConsumer(t, b, keyedSpec(topic, "g", 8, func(_ context.Context, m stream.Envelope) error {
		cur := inflight.Add(1)
		defer inflight.Add(-1)
		if cur > high.Load() {
			high.Store(cur) // not a CAS: a 2 seen once is never lowered by a 1
		}
		i, _ := strconv.Atoi(string(m.Payload))
		hl.add(string(m.Key), i)
		return nil
	}))
	hl.waitCount(t, "every message", n)
	waitKeyCommitted(t, c, "g", topic, "the whole partition committed", func(int64) {}, func(o int64) bool { return o == n })
	if h := high.Load(); h != 1 {
		t.Errorf("%d keyless messages handled at once; want 1", h)
	}
	hl.mu.Lock()
	defer hl.mu.Unlock()
	is := hl.perKey[""]
	for j := range is {
		if is[j] != j {
			t.Fatalf("keyless messages handled out of order: %v", is)
		}
	}
}

// TestKeyOrderRebalance: a second member joining mid-stream (a rebalance)
// under ordering key loses nothing: every message is handled (at least
// once) and the partition is committed to its end.
func TestKeyOrderRebalance(t *testing.T) {
	t.Parallel()
	const n, keys = 600, 16
	c := kafkatest.Start(t)
	topic := uniqueTopic(t)
	createTopic(t, c, topic, 1, nil)
	fillKeyed(t, c, topic, n, keys)
	hl := newHandledLog()
	h := func(_ context.Context, m stream.Envelope) error {
		time.Sleep(time.Duration(rand.IntN(500)) * time.Microsecond) // keep the stream going while the member joins
		i, _ := strconv.Atoi(string(m.Payload))
		hl.add(string(m.Key), i)
		return nil
	}
	startConsumer(t, newKeyOrderBinder(t, c, testLogger(t)), keyedSpec(topic, "g", 4, h))
	hl.waitCount(t, "the first messages", 50)
	startConsumer(t, newKeyOrderBinder(t, c, testLogger(t)), keyedSpec(topic, "g", 4, h))
	hl.waitCount(t, "every message", n)
	waitKeyCommitted(t, c, "g", topic, "the whole partition committed", func(o int64) {
		if o > n {
			t.Fatalf("committed %d, past the end %d", o, n)
		}
	}, func(o int64) bool { return o == n })
	hl.mu.Lock()
	defer hl.mu.Unlock()
	dups := 0
	for i := range n {
		dups += hl.times[i] - 1
	}
	t.Logf("%d duplicates after the rebalance", dups)
}
