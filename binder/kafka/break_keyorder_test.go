package kafka_test

// Adversarial tests of ordering: key (keyorder.go) by the "breaker"
// review: mixed outcomes across lanes (Ack, Nak, dead letters whose sends
// fail at first), commit failures, Stop with full lanes and a restart,
// rebalances while lanes hold unfinished messages. Each counts what was
// handled, dead-lettered and committed, and checks that no committed
// offset passes a message that was not handled.

import (
	"context"
	"errors"
	"math/rand/v2"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/streambind/streambind/binder/kafka"
	"github.com/streambind/streambind/binder/kafka/kafkatest"
	"github.com/streambind/streambind/stream"
)

// breakOutcomes records, per message, the handler's successful calls and
// when the first one returned, so that a committed offset can be checked
// against what was handled before it was seen.
type breakOutcomes struct {
	mu     sync.Mutex
	ok     map[int]int
	perKey map[string][]int
	calls  map[int]int
	ch     chan struct{}
}

func newBreakOutcomes() *breakOutcomes {
	return &breakOutcomes{ok: map[int]int{}, perKey: map[string][]int{}, calls: map[int]int{}, ch: make(chan struct{}, 1)}
}

func (o *breakOutcomes) call(i int) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.calls[i]++
	return o.calls[i]
}

func (o *breakOutcomes) acked(key string, i int) {
	o.mu.Lock()
	o.ok[i]++
	o.perKey[key] = append(o.perKey[key], i)
	o.mu.Unlock()
	select {
	case o.ch <- struct{}{}:
	default:
	}
}

// checkKeyOrder fails t unless each key's messages were acknowledged in
// offset order.
func (o *breakOutcomes) checkKeyOrder(t testing.TB) {
	t.Helper()
	for k, is := range o.perKey {
		for j := 1; j < len(is); j++ {
			if is[j] <= is[j-1] {
				t.Fatalf("key %s acknowledged out of order: %v", k, is)
			}
		}
	}
}

func (o *breakOutcomes) okCount() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.ok)
}

// readDLQ returns the x-original-offset of every record of partition 0 of
// the dead-letter topic (all of it, up to its end offset).
func readDLQ(t testing.TB, c *kafkatest.Cluster, dlq string) map[int64]int {
	t.Helper()
	end := endOffset(t, c, dlq, 0)
	out := map[int64]int{}
	if end == 0 {
		return out
	}
	r := kafkago.NewReader(kafkago.ReaderConfig{Brokers: c.Addrs(), Topic: dlq, Partition: 0, MaxWait: time.Second})
	defer r.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for {
		m, err := r.ReadMessage(ctx)
		if err != nil {
			t.Fatalf("read %s: %v", dlq, err)
		}
		for _, h := range m.Headers {
			if h.Key == stream.HeaderOriginalOffset && len(h.Value) == 8 {
				var v int64
				for _, b := range h.Value {
					v = v<<8 | int64(b)
				}
				out[v]++
			}
		}
		if m.Offset+1 >= end {
			return out
		}
	}
}

// TestBreakKeyOrderMixedOutcomes: ordering key, concurrency 8, dlq on; of
// 600 messages over 32 keys every 7th fails for good (dead letter, whose
// first sends the broker refuses with a retriable error), every 11th Naks
// twice, the rest succeed after varied times. Every message ends up
// acknowledged once or dead-lettered, acknowledged messages keep their
// key's order, the whole partition is committed, and no committed offset
// seen on the way passes a message that was not acknowledged or failed.
func TestBreakKeyOrderMixedOutcomes(t *testing.T) {
	t.Parallel()
	const n, keys = 600, 32
	c := kafkatest.Start(t)
	topic := uniqueTopic(t)
	createTopic(t, c, topic, 1, nil)
	dlq := stream.DLQName(topic, "g")
	createTopic(t, c, dlq, 1, nil)
	ref := refuseProduceTo(c, dlq, kerr.NotLeaderForPartition, 6)
	defer ref.stopped.Store(true)
	fillKeyed(t, c, topic, n, keys)
	b := newKeyOrderBinder(t, c, testLogger(t))
	out := newBreakOutcomes()
	var failed sync.Map // i -> struct{}: failed for good, before its handler returned
	h := func(ctx context.Context, m stream.Envelope) error {
		i, err := strconv.Atoi(string(m.Payload))
		if err != nil {
			t.Errorf("payload %q", m.Payload)
			return nil
		}
		k := out.call(i)
		time.Sleep(time.Duration(rand.IntN(400)) * time.Microsecond)
		switch {
		case i%7 == 3:
			failed.Store(i, struct{}{})
			return errors.New("boom " + strconv.Itoa(i))
		case i%11 == 5 && k <= 2:
			return stream.ErrNak
		}
		out.acked(string(m.Key), i)
		return nil
	}
	spec := keyedSpec(topic, "g", 8, h)
	spec.Consumer.DLQ = true
	spec.Extension["redelivery-delay"] = "5ms"
	startConsumer(t, b, spec)

	handledBefore := func(off int64) {
		out.mu.Lock()
		defer out.mu.Unlock()
		for i := range int(off) {
			if _, bad := failed.Load(i); bad {
				continue
			}
			if out.ok[i] == 0 {
				t.Fatalf("committed offset %d passes message %d, which was not acknowledged", off, i)
			}
		}
	}
	waitKeyCommitted(t, c, "g", topic, "the whole partition committed", handledBefore, func(o int64) bool { return o == n })
	dead := readDLQ(t, c, dlq)
	out.mu.Lock()
	defer out.mu.Unlock()
	for i := range n {
		switch {
		case i%7 == 3:
			if dead[int64(i)] == 0 {
				t.Errorf("message %d failed and is not in the dead-letter topic", i)
			}
			if out.ok[i] != 0 {
				t.Errorf("message %d failed and was acknowledged", i)
			}
		default:
			if out.ok[i] != 1 {
				t.Errorf("message %d acknowledged %d times; want 1", i, out.ok[i])
			}
			if dead[int64(i)] != 0 {
				t.Errorf("message %d dead-lettered, it did not fail", i)
			}
		}
	}
	out.checkKeyOrder(t)
	t.Logf("refused dead-letter requests: %d; dead letters: %d", ref.hits.Load(), len(dead))
}

// failCommits makes the broker answer every OffsetCommit of group with
// code until stop is called; hits counts them, and refused receives every
// refused commit's highest offset (dropped when full).
func failCommits(c *kafkatest.Cluster, group string, code *kerr.Error) (hits *atomic.Int64, refused <-chan int64, stop func()) {
	hits = new(atomic.Int64)
	refusedc := make(chan int64, 1024)
	var off atomic.Bool
	c.Kfake.ControlKey(int16(kmsg.OffsetCommit), func(kr kmsg.Request) (kmsg.Response, error, bool) {
		if off.Load() {
			c.Kfake.DropControl()
			return nil, nil, false
		}
		c.Kfake.KeepControl()
		req := kr.(*kmsg.OffsetCommitRequest)
		if req.Group != group {
			return nil, nil, false
		}
		hits.Add(1)
		resp := req.ResponseKind().(*kmsg.OffsetCommitResponse)
		highest := int64(-1)
		defer func() {
			select {
			case refusedc <- highest:
			default:
			}
		}()
		for _, rt := range req.Topics {
			st := kmsg.NewOffsetCommitResponseTopic()
			st.Topic = rt.Topic
			for _, rp := range rt.Partitions {
				highest = max(highest, rp.Offset)
				sp := kmsg.NewOffsetCommitResponseTopicPartition()
				sp.Partition = rp.Partition
				sp.ErrorCode = code.Code
				st.Partitions = append(st.Partitions, sp)
			}
			resp.Topics = append(resp.Topics, st)
		}
		return resp, nil, true
	})
	return hits, refusedc, func() { off.Store(true) }
}

// TestBreakKeyOrderCommitFailures: while the broker refuses the group's
// commits (a retriable coordinator error), the lanes go on; once commits
// succeed again, the committed offset reaches the end, and it never
// passes an unacknowledged message.
func TestBreakKeyOrderCommitFailures(t *testing.T) {
	t.Parallel()
	const n, keys = 300, 10
	c := kafkatest.Start(t)
	topic := uniqueTopic(t)
	createTopic(t, c, topic, 1, nil)
	fillKeyed(t, c, topic, n, keys)
	b := newKeyOrderBinder(t, c, testLogger(t))
	hits, refused, stop := failCommits(c, "g", kerr.RebalanceInProgress)
	out := newBreakOutcomes()
	h := func(_ context.Context, m stream.Envelope) error {
		i, _ := strconv.Atoi(string(m.Payload))
		time.Sleep(time.Duration(rand.IntN(300)) * time.Microsecond)
		out.acked(string(m.Key), i)
		return nil
	}
	startConsumer(t, b, keyedSpec(topic, "g", 8, h))
	deadline := time.Now().Add(keyOrderTimeout)
	for out.okCount() < n && time.Now().Before(deadline) {
		select {
		case <-out.ch:
		case <-time.After(time.Second):
		}
	}
	if got := out.okCount(); got < n {
		t.Fatalf("%d of %d handled while commits failed", got, n)
	}
	// The commit of the whole partition is refused before the fault
	// ends: what commits it then is the committer's retry, not a later
	// message (none comes; CI once saw nothing committed for 30 s after
	// the last refusal).
	for off := int64(-1); off != n; {
		select {
		case off = <-refused:
		case <-time.After(keyOrderTimeout):
			t.Fatalf("no commit of offset %d was refused (highest refused %d)", n, off)
		}
	}
	stop()
	handledBefore := func(off int64) {
		out.mu.Lock()
		defer out.mu.Unlock()
		for i := range int(off) {
			if out.ok[i] == 0 {
				t.Fatalf("committed offset %d passes message %d, which was not handled", off, i)
			}
		}
	}
	waitKeyCommitted(t, c, "g", topic, "the whole partition committed after commits came back", handledBefore, func(o int64) bool { return o == n })
	t.Logf("refused commits: %d", hits.Load())
}

// fillParts writes n records to each of parts partitions of topic:
// partition p gets values "p-i" for i < n, with key k<i%keys>.
func fillParts(t testing.TB, c *kafkatest.Cluster, topic string, parts, n, keys int) {
	t.Helper()
	w := &kafkago.Writer{Addr: kafkago.TCP(c.Addrs()...), Topic: topic, BatchTimeout: time.Millisecond, BatchSize: n,
		Balancer: kafkago.BalancerFunc(func(m kafkago.Message, _ ...int) int { return int(m.Value[0] - '0') }), Transport: &kafkago.Transport{}}
	defer w.Close()
	var msgs []kafkago.Message
	for p := range parts {
		for i := range n {
			msgs = append(msgs, kafkago.Message{Key: []byte("k" + strconv.Itoa(i%keys)), Value: []byte(strconv.Itoa(p) + "-" + strconv.Itoa(i))})
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), keyOrderTimeout)
	defer cancel()
	if err := w.WriteMessages(ctx, msgs...); err != nil {
		t.Fatalf("fill %s: %v", topic, err)
	}
}

// TestBreakKeyOrderRebalance: two members of a group with ordering key
// on a 3-partition topic: the second joins while the first's lanes hold
// unfinished messages (a slow handler, a full window), then the first
// stops. Every message is handled (at least once), every partition is
// committed to its end, and no committed offset seen passes a message
// that no member handled.
func TestBreakKeyOrderRebalance(t *testing.T) {
	t.Parallel()
	const parts, n, keys = 3, 400, 12
	c := kafkatest.Start(t)
	topic := uniqueTopic(t)
	createTopic(t, c, topic, parts, nil)
	fillParts(t, c, topic, parts, n, keys)
	b := newKeyOrderBinder(t, c, testLogger(t))
	var mu sync.Mutex
	handled := map[string]int{}
	var total atomic.Int64
	h := func(ctx context.Context, m stream.Envelope) error {
		select {
		case <-time.After(time.Duration(rand.IntN(2000)) * time.Microsecond):
		case <-ctx.Done():
			return ctx.Err()
		}
		mu.Lock()
		handled[string(m.Payload)]++
		mu.Unlock()
		total.Add(1)
		return nil
	}
	spec := func() stream.ConsumerSpec {
		s := keyedSpec(topic, "g", 4, h)
		s.Extension["queue-capacity"] = 4 // window 16: full almost at once
		return s
	}
	ctx, cancel := context.WithTimeout(context.Background(), keyOrderTimeout)
	defer cancel()
	a, err := b.BindConsumer(ctx, spec())
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Start(ctx); err != nil {
		t.Fatal(err)
	}
	for total.Load() < 100 {
		time.Sleep(5 * time.Millisecond)
	}
	startConsumer(t, b, spec())
	for total.Load() < 500 {
		time.Sleep(5 * time.Millisecond)
	}
	sctx, scancel := context.WithTimeout(context.Background(), 20*time.Second)
	if err := a.Stop(sctx); err != nil {
		t.Errorf("stop the first member: %v", err)
	}
	scancel()
	check := func(offs []int64) {
		mu.Lock()
		defer mu.Unlock()
		for p, off := range offs {
			for i := range int(off) {
				if handled[strconv.Itoa(p)+"-"+strconv.Itoa(i)] == 0 {
					t.Fatalf("partition %d committed at %d, past message %d which was not handled", p, off, i)
				}
			}
		}
	}
	deadline := time.Now().Add(keyOrderTimeout)
	for {
		offs := committedAll(t, c, "g", topic, parts)
		check(offs)
		if offs[0] == n && offs[1] == n && offs[2] == n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("committed %v; want %d each (handled %d)", offs, n, total.Load())
		}
		time.Sleep(20 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	dups := 0
	for p := range parts {
		for i := range n {
			k := strconv.Itoa(p) + "-" + strconv.Itoa(i)
			if handled[k] == 0 {
				t.Errorf("message %s never handled", k)
			}
			dups += max(handled[k]-1, 0)
		}
	}
	t.Logf("handled %d calls, %d duplicates", total.Load(), dups)
}

// TestBreakKeyOrderPause: under ordering key with 8 lanes busy, Pause
// returns only when no handler call runs, and no call starts until
// Resume; afterwards everything is handled once and committed.
func TestBreakKeyOrderPause(t *testing.T) {
	t.Parallel()
	const n, keys = 600, 40
	c := kafkatest.Start(t)
	topic := uniqueTopic(t)
	createTopic(t, c, topic, 1, nil)
	fillKeyed(t, c, topic, n, keys)
	b := newKeyOrderBinder(t, c, testLogger(t))
	out := newBreakOutcomes()
	var paused atomic.Bool
	var during atomic.Int64
	var total atomic.Int64
	h := func(_ context.Context, m stream.Envelope) error {
		if paused.Load() {
			during.Add(1)
		}
		i, _ := strconv.Atoi(string(m.Payload))
		time.Sleep(time.Duration(rand.IntN(1500)) * time.Microsecond)
		if paused.Load() {
			during.Add(1)
		}
		out.acked(string(m.Key), i)
		total.Add(1)
		return nil
	}
	cons := startConsumer(t, b, keyedSpec(topic, "g", 8, h))
	for round := 0; total.Load() < n-50 && round < 20; round++ {
		for total.Load() < int64(round+1)*25 {
			time.Sleep(time.Millisecond)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if err := cons.Pause(ctx); err != nil {
			t.Fatalf("pause: %v", err)
		}
		cancel()
		paused.Store(true)
		before := total.Load()
		time.Sleep(30 * time.Millisecond) // nothing may be handled meanwhile
		if d := during.Load(); d != 0 || total.Load() != before {
			t.Fatalf("round %d: %d handler calls ran while paused (handled %d -> %d)", round, d, before, total.Load())
		}
		paused.Store(false)
		if err := cons.Resume(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	waitKeyCommitted(t, c, "g", topic, "the whole partition committed", func(int64) {}, func(o int64) bool { return o == n })
	out.mu.Lock()
	defer out.mu.Unlock()
	for i := range n {
		if out.ok[i] != 1 {
			t.Errorf("message %d handled %d times", i, out.ok[i])
		}
	}
	out.checkKeyOrder(t)
}

// pausedTest tells whether goroutine stack g is a parallel test waiting
// in t.Parallel for the serial tests to end: one of package kafka (not
// kafka_test) has the binder's package in its stack, and is no goroutine
// of the binder's.
func pausedTest(g string) bool { return strings.Contains(g, "testing.(*T).Parallel(") }

// TestBreakKeyOrderWideStopGoroutines (not parallel: it counts
// goroutines): concurrency 64 with 2000 keys and queue-capacity 2, Stop
// with lanes full and a short context, a second consumer finishing the
// partition; every message handled at least once, the partition
// committed, and the goroutines back to what they were once the binder
// is closed.
func TestBreakKeyOrderWideStopGoroutines(t *testing.T) {
	const n, keys = 4000, 2000
	c := kafkatest.Start(t)
	topic := uniqueTopic(t)
	createTopic(t, c, topic, 1, nil)
	fillKeyed(t, c, topic, n, keys)
	base := runtime.NumGoroutine()
	b, err := kafka.New(context.Background(), stream.BinderSettings{Name: "kafka", Type: kafka.Type, Logger: testLogger(t),
		Environment: map[string]any{"brokers": c.Brokers(), "auto-create-topics": false}})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	handled := map[int]int{}
	var total atomic.Int64
	h := func(ctx context.Context, m stream.Envelope) error {
		select {
		case <-time.After(time.Duration(rand.IntN(3000)) * time.Microsecond):
		case <-ctx.Done():
			return ctx.Err()
		}
		i, _ := strconv.Atoi(string(m.Payload))
		mu.Lock()
		handled[i]++
		mu.Unlock()
		total.Add(1)
		return nil
	}
	spec := keyedSpec(topic, "g", 64, h)
	spec.Extension["queue-capacity"] = 2
	ctx, cancel := context.WithTimeout(context.Background(), keyOrderTimeout)
	defer cancel()
	c1, err := b.BindConsumer(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	if err := c1.Start(ctx); err != nil {
		t.Fatal(err)
	}
	for total.Load() < n/3 {
		time.Sleep(2 * time.Millisecond)
	}
	sctx, scancel := context.WithTimeout(context.Background(), time.Millisecond)
	_ = c1.Stop(sctx) // may report interrupted calls
	scancel()
	stopped := committedOf(t, c, "g", topic)
	c2, err := b.BindConsumer(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	if err := c2.Start(ctx); err != nil {
		t.Fatal(err)
	}
	check := func(off int64) {
		mu.Lock()
		defer mu.Unlock()
		for i := range int(off) {
			if handled[i] == 0 {
				t.Fatalf("committed %d passes message %d, never handled", off, i)
			}
		}
	}
	waitKeyCommitted(t, c, "g", topic, "the whole partition committed", check, func(o int64) bool { return o == n })
	if err := c2.Stop(ctx); err != nil {
		t.Errorf("stop: %v", err)
	}
	if err := b.Close(ctx); err != nil {
		t.Errorf("close: %v", err)
	}
	mu.Lock()
	dups := 0
	for i := range n {
		if handled[i] == 0 {
			t.Errorf("message %d never handled", i)
		}
		dups += max(handled[i]-1, 0)
	}
	mu.Unlock()
	t.Logf("committed %d at the first Stop; %d calls, %d duplicates", stopped, total.Load(), dups)
	// The test's own clients (fill, offset fetches) keep kafka-go's
	// default transport pools: only the binder's goroutines count.
	left := func() []string {
		buf := make([]byte, 4<<20)
		var out []string
		for _, g := range strings.Split(string(buf[:runtime.Stack(buf, true)]), "\n\n") {
			if (strings.Contains(g, "streambind/binder/kafka.") || strings.Contains(g, "binder/internal/dispatch.")) && !pausedTest(g) {
				out = append(out, g)
			}
		}
		return out
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(left()) > 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if gs := left(); len(gs) > 0 {
		t.Errorf("%d goroutines of the binder after Close (%d in all, %d before the binder):\n%s", len(gs), runtime.NumGoroutine(), base, strings.Join(gs, "\n\n"))
	}
}

// TestBreakKeyOrderLargeRecords: records larger than max-bytes (the
// largest fetch) are still fetched and handled under ordering key, and
// tiny ones between them too.
func TestBreakKeyOrderLargeRecords(t *testing.T) {
	t.Parallel()
	const n = 40
	c := kafkatest.Start(t)
	topic := uniqueTopic(t)
	createTopic(t, c, topic, 1, map[string]string{"max.message.bytes": "2000000"})
	w := &kafkago.Writer{Addr: kafkago.TCP(c.Addrs()...), Topic: topic, BatchTimeout: time.Millisecond, BatchSize: 1, BatchBytes: 4 << 20,
		Balancer: kafkago.BalancerFunc(func(kafkago.Message, ...int) int { return 0 }), Transport: &kafkago.Transport{}}
	defer w.Close()
	ctx, cancel := context.WithTimeout(context.Background(), keyOrderTimeout)
	defer cancel()
	for i := range n {
		size := 1
		if i%3 == 0 {
			size = 300 << 10
		}
		v := append([]byte(strconv.Itoa(i)+":"), make([]byte, size)...)
		if err := w.WriteMessages(ctx, kafkago.Message{Key: []byte("k" + strconv.Itoa(i%5)), Value: v}); err != nil {
			t.Fatal(err)
		}
	}
	b := newKeyOrderBinder(t, c, testLogger(t))
	out := newBreakOutcomes()
	spec := keyedSpec(topic, "g", 4, func(_ context.Context, m stream.Envelope) error {
		s := string(m.Payload)
		i, _ := strconv.Atoi(s[:strings.IndexByte(s, ':')])
		out.acked(string(m.Key), i)
		return nil
	})
	spec.Extension["max-bytes"] = 1000
	startConsumer(t, b, spec)
	waitKeyCommitted(t, c, "g", topic, "the whole partition committed", func(int64) {}, func(o int64) bool { return o == n })
	if got := out.okCount(); got != n {
		t.Errorf("%d of %d handled", got, n)
	}
}

// TestBreakKeyOrderStopWhileDeadLettering (not parallel: it counts
// goroutines): every message fails and is dead-lettered, the broker takes
// 200ms for each dead letter, 8 lanes dead-letter at once; Stop runs out
// of time (50ms) while they do, then the binder is closed. Nothing is
// committed past a message whose dead letter was not written, and no
// goroutine of the binder (the dead-letter writer's included) is left.
func TestBreakKeyOrderStopWhileDeadLettering(t *testing.T) {
	const n, keys = 200, 50
	c := kafkatest.Start(t)
	topic := uniqueTopic(t)
	createTopic(t, c, topic, 1, nil)
	dlq := stream.DLQName(topic, "g")
	createTopic(t, c, dlq, 1, nil)
	fillKeyed(t, c, topic, n, keys)
	var dlqReqs atomic.Int64
	var off atomic.Bool
	defer off.Store(true)
	kf := c.Kfake
	kf.ControlKey(int16(kmsg.Produce), func(kr kmsg.Request) (kmsg.Response, error, bool) {
		if off.Load() {
			kf.DropControl()
			return nil, nil, false
		}
		kf.KeepControl()
		for _, rt := range kr.(*kmsg.ProduceRequest).Topics {
			if rt.Topic == dlq {
				dlqReqs.Add(1)
				// The cluster is held meanwhile (a plain sleep, not
				// SleepControl): SleepControl's sleeps one after the
				// other on one connection meet a data race inside kfake
				// (see advSlowProduce). Held, the other requests wait
				// for it, the consumer's fetches and commits among
				// them, up to 200ms each, as they would on a broker
				// slowed as a whole; the dead letters still take 200ms
				// each, one after the other.
				time.Sleep(200 * time.Millisecond)
				break
			}
		}
		return nil, nil, false
	})
	b, err := kafka.New(context.Background(), stream.BinderSettings{Name: "kafka", Type: kafka.Type, Logger: testLogger(t),
		Environment: map[string]any{"brokers": c.Brokers(), "auto-create-topics": false}})
	if err != nil {
		t.Fatal(err)
	}
	var calls atomic.Int64
	spec := keyedSpec(topic, "g", 8, func(context.Context, stream.Envelope) error {
		calls.Add(1)
		return errors.New("always")
	})
	spec.Consumer.DLQ = true
	ctx, cancel := context.WithTimeout(context.Background(), keyOrderTimeout)
	defer cancel()
	cons, err := b.BindConsumer(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	base := runtime.NumGoroutine()
	if err := cons.Start(ctx); err != nil {
		t.Fatal(err)
	}
	for dlqReqs.Load() < 20 {
		time.Sleep(5 * time.Millisecond)
	}
	sctx, scancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	stopAt := time.Now()
	err = cons.Stop(sctx)
	scancel()
	t.Logf("stop: %v (in %s)", err, time.Since(stopAt).Round(time.Millisecond))
	// Lanes finishing after Stop gave up, then the binder closed.
	time.Sleep(500 * time.Millisecond)
	closeAt := time.Now()
	if err := b.Close(ctx); err != nil {
		t.Errorf("close: %v", err)
	}
	t.Logf("close in %s", time.Since(closeAt).Round(time.Millisecond))
	off.Store(true)
	committed := committedOf(t, c, "g", topic)
	dead := readDLQ(t, c, dlq)
	for i := range committed {
		if dead[i] == 0 {
			t.Errorf("committed %d passes message %d, whose dead letter was not written", committed, i)
		}
	}
	t.Logf("%d calls, %d dead-letter requests, committed %d, %d dead letters", calls.Load(), dlqReqs.Load(), committed, len(dead))
	left := func() []string {
		buf := make([]byte, 4<<20)
		var out []string
		for _, g := range strings.Split(string(buf[:runtime.Stack(buf, true)]), "\n\n") {
			if (strings.Contains(g, "streambind/binder/kafka.") || strings.Contains(g, "binder/internal/dispatch.") || strings.Contains(g, "kafka-go.(*Writer)") || strings.Contains(g, "kafka-go.(*partitionWriter)")) && !pausedTest(g) {
				out = append(out, g)
			}
		}
		return out
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(left()) > 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if gs := left(); len(gs) > 0 {
		t.Errorf("%d goroutines of the binder after Close (%d in all, %d before Start):\n%s", len(gs), runtime.NumGoroutine(), base, strings.Join(gs, "\n\n"))
	}
}
