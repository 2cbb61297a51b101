package kafka_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/streambind/streambind/binder/kafka"
	"github.com/streambind/streambind/binder/kafka/kafkatest"
	"github.com/streambind/streambind/stream"
)

// fixedGot records what a fixed-assignment consumer handled: the
// partition of each message and how often each id came.
type fixedGot struct {
	mu      sync.Mutex
	parts   map[int]int
	ids     map[string]int
	changed chan struct{}
}

func newFixedGot() *fixedGot {
	return &fixedGot{parts: map[int]int{}, ids: map[string]int{}, changed: make(chan struct{}, 1)}
}

func (g *fixedGot) record(m stream.Envelope) {
	g.mu.Lock()
	g.parts[m.Received.Partition]++
	g.ids[m.Headers[idHeader]]++
	g.mu.Unlock()
	select {
	case g.changed <- struct{}{}:
	default:
	}
}

func (g *fixedGot) handler() stream.Handler {
	return func(_ context.Context, m stream.Envelope) error { g.record(m); return nil }
}

// total is the number of messages handled.
func (g *fixedGot) total() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	n := 0
	for _, c := range g.parts {
		n += c
	}
	return n
}

// partitions lists the partitions messages came from.
func (g *fixedGot) partitions() []int {
	g.mu.Lock()
	defer g.mu.Unlock()
	var ps []int
	for p := range g.parts {
		ps = append(ps, p)
	}
	slices.Sort(ps)
	return ps
}

// waitTotal waits up to 10 s until n messages were handled.
func (g *fixedGot) waitTotal(t *testing.T, n int) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for g.total() < n {
		select {
		case <-g.changed:
		case <-deadline:
			t.Fatalf("handled %d messages, want %d (partitions %v)", g.total(), n, g.partitions())
		}
	}
}

// wantIDs checks that every id of want was handled exactly once, and
// nothing else.
func (g *fixedGot) wantIDs(t *testing.T, want []string) {
	t.Helper()
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, id := range want {
		if g.ids[id] != 1 {
			t.Errorf("message %s handled %d times, want once", id, g.ids[id])
		}
	}
	if len(g.ids) != len(want) {
		t.Errorf("handled %d distinct messages, want %d", len(g.ids), len(want))
	}
}

// produceToParts writes n messages "<prefix>-p<part>-<i>" to each of the
// partitions parts of topic and returns their ids.
func produceToParts(t *testing.T, c *kafkatest.Cluster, topic, prefix string, parts []int, n int) []string {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.Addrs()...), kgo.DefaultProduceTopic(topic), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var recs []*kgo.Record
	var ids []string
	for _, p := range parts {
		for i := range n {
			id := fmt.Sprintf("%s-p%d-%d", prefix, p, i)
			ids = append(ids, id)
			recs = append(recs, &kgo.Record{Partition: int32(p), Value: []byte(id), Headers: []kgo.RecordHeader{{Key: idHeader, Value: []byte(id)}}})
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	return ids
}

// fixedSpec is a consumer spec of dest, group g, instance index of count,
// with auto-rebalance-enabled: false.
func fixedSpec(dest string, index, count int, h stream.Handler) stream.ConsumerSpec {
	spec := consumerSpec(dest, "g", h)
	spec.Consumer.InstanceIndex, spec.Consumer.InstanceCount = index, count
	spec.Extension = map[string]any{"auto-rebalance-enabled": false}
	return spec
}

// bindStarted binds and starts spec on b; the caller stops it.
func bindStarted(t *testing.T, b stream.Binder, spec stream.ConsumerSpec) stream.Consumer {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cons, err := b.BindConsumer(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	if err := cons.Start(ctx); err != nil {
		t.Fatal(err)
	}
	return cons
}

func stopConsumer(t *testing.T, cons stream.Consumer) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := cons.Stop(ctx); err != nil {
		t.Fatalf("stop: %v", err)
	}
}

// committedOffsets returns group's committed offsets of topic's
// partitions parts (-1: none).
func committedOffsets(t *testing.T, c *kafkatest.Cluster, group, topic string, parts []int) map[int]int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := pipeClient(c).OffsetFetch(ctx, &kafkago.OffsetFetchRequest{GroupID: group, Topics: map[string][]int{topic: parts}})
	if err == nil {
		err = res.Error
	}
	if err != nil {
		t.Fatalf("offset fetch: %v", err)
	}
	out := map[int]int64{}
	for _, p := range res.Topics[topic] {
		out[p.Partition] = p.CommittedOffset
	}
	return out
}

// TestFixedAssignmentSplitsPartitions: with auto-rebalance-enabled: false,
// two instances (instance-count 2, index 0 and 1) of one group on a
// 4-partition topic each handle exactly the messages of the partitions p
// with p % 2 == their index, each once, and commit them to the group
// without joining it.
func TestFixedAssignmentSplitsPartitions(t *testing.T) {
	t.Parallel()
	c := kafkatest.Start(t)
	b := newBinder(t, c, nil)
	closeBinder(t, b)
	dest := uniqueTopic(t)
	createTopic(t, c, dest, 4, nil)
	got := [2]*fixedGot{newFixedGot(), newFixedGot()}
	var cons [2]stream.Consumer
	for i := range got {
		cons[i] = bindStarted(t, b, fixedSpec(dest, i, 2, got[i].handler()))
	}
	ids := produceToParts(t, c, dest, "m", []int{0, 1, 2, 3}, 10)
	var want [2][]string
	for _, id := range ids {
		var p, n int
		fmt.Sscanf(id, "m-p%d-%d", &p, &n)
		want[p%2] = append(want[p%2], id)
	}
	for i, g := range got {
		g.waitTotal(t, 20)
		if ps := g.partitions(); !slices.Equal(ps, []int{i, i + 2}) {
			t.Errorf("instance %d handled partitions %v, want [%d %d]", i, ps, i, i+2)
		}
		g.wantIDs(t, want[i])
	}
	for _, cn := range cons {
		stopConsumer(t, cn)
	}
	for p, off := range committedOffsets(t, c, "g", dest, []int{0, 1, 2, 3}) {
		if off != 10 {
			t.Errorf("partition %d: committed %d, want 10", p, off)
		}
	}
}

// TestFixedAssignmentResumes: a fixed-assignment instance that stopped
// resumes, in a new binder, after the offsets it committed (nothing lost,
// nothing handled again); an instance of a group without committed
// offsets starts at its start offset (latest: only what is sent after it
// started).
func TestFixedAssignmentResumes(t *testing.T) {
	t.Parallel()
	c := kafkatest.Start(t)
	dest := uniqueTopic(t)
	createTopic(t, c, dest, 4, nil)
	b1 := newBinder(t, c, nil)
	closeBinder(t, b1)
	first := newFixedGot()
	cons := bindStarted(t, b1, fixedSpec(dest, 0, 2, first.handler()))
	ids1 := produceToParts(t, c, dest, "a", []int{0, 2}, 10)
	first.waitTotal(t, 20)
	stopConsumer(t, cons)
	first.wantIDs(t, ids1)

	ids2 := produceToParts(t, c, dest, "b", []int{0, 2}, 10)
	produceToParts(t, c, dest, "b", []int{1, 3}, 10) // instance 1's, before it starts
	b2 := newBinder(t, c, nil)
	closeBinder(t, b2)
	again := newFixedGot()
	cons = bindStarted(t, b2, fixedSpec(dest, 0, 2, again.handler()))
	defer stopConsumer(t, cons)
	latest := newFixedGot()
	spec := fixedSpec(dest, 1, 2, latest.handler())
	spec.Group = "g2" // new: latest applies (see startOffsets)
	spec.Extension["start-offset"] = "latest"
	defer stopConsumer(t, bindStarted(t, b2, spec))
	ids3 := produceToParts(t, c, dest, "c", []int{1, 3}, 5)
	again.waitTotal(t, 20)
	latest.waitTotal(t, 10)
	again.wantIDs(t, ids2)
	latest.wantIDs(t, ids3)
}

// TestFixedAssignmentRedeliversAndDeadLetters: a fixed-assignment
// consumer handles failures as the group path does: a Nak is handled
// again (after redelivery-delay), in order, a permanent failure is
// dead-lettered, and the partition's offset is committed past both.
func TestFixedAssignmentRedeliversAndDeadLetters(t *testing.T) {
	t.Parallel()
	c := kafkatest.Start(t)
	b := newBinder(t, c, nil)
	closeBinder(t, b)
	dest := uniqueTopic(t)
	createTopic(t, c, dest, 2, nil)
	var mu sync.Mutex
	var order []string
	naks := 0
	done := make(chan struct{})
	spec := fixedSpec(dest, 1, 2, func(_ context.Context, m stream.Envelope) error {
		id := m.Headers[idHeader]
		mu.Lock()
		defer mu.Unlock()
		order = append(order, id)
		switch {
		case strings.HasSuffix(id, "-0") && naks < 2:
			naks++
			return stream.ErrNak
		case strings.HasSuffix(id, "-1"):
			return stream.Permanent(errors.New("poison"))
		case strings.HasSuffix(id, "-3"):
			close(done)
		}
		return nil
	})
	spec.Consumer.DLQ = true
	spec.Extension["redelivery-delay"] = "5ms"
	cons := bindStarted(t, b, spec)
	dead := make(chan stream.Envelope, 4)
	defer stopConsumer(t, bindStarted(t, b, consumerSpec(stream.DLQName(dest, "g"), "audit", func(_ context.Context, m stream.Envelope) error {
		dead <- m
		return nil
	})))
	produceToParts(t, c, dest, "m", []int{1}, 4)
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the messages were not all handled")
	}
	select {
	case dl := <-dead:
		if id := dl.Headers[idHeader]; id != "m-p1-1" {
			t.Errorf("dead letter %s, want m-p1-1", id)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no dead letter")
	}
	stopConsumer(t, cons)
	mu.Lock()
	want := []string{"m-p1-0", "m-p1-0", "m-p1-0", "m-p1-1", "m-p1-2", "m-p1-3"}
	if !slices.Equal(order, want) {
		t.Errorf("handled %v, want %v", order, want)
	}
	mu.Unlock()
	if off := committedOffsets(t, c, "g", dest, []int{1})[1]; off != 4 {
		t.Errorf("committed %d, want 4", off)
	}
}

// TestFixedAssignmentCommitRefusedByMembers: a group with members (a
// consumer of the group that joined it) refuses a fixed assignment's
// commits; the consumer warns, naming the reason, and goes on.
func TestFixedAssignmentCommitRefusedByMembers(t *testing.T) {
	t.Parallel()
	c := kafkatest.Start(t)
	rec := &logRecorder{}
	b, err := kafka.New(context.Background(), stream.BinderSettings{Name: "kafka", Type: kafka.Type,
		Environment: map[string]any{"brokers": c.Brokers()}, Logger: rec.logger()})
	if err != nil {
		t.Fatal(err)
	}
	closeBinder(t, b)
	member, fixed := uniqueTopic(t)+"-member", uniqueTopic(t)+"-fixed"
	createTopic(t, c, member, 1, nil)
	createTopic(t, c, fixed, 1, nil)
	joined := newFixedGot()
	defer stopConsumer(t, bindStarted(t, b, consumerSpec(member, "g", joined.handler())))
	produceToParts(t, c, member, "j", []int{0}, 1)
	joined.waitTotal(t, 1) // the member holds its assignment
	got := newFixedGot()
	defer stopConsumer(t, bindStarted(t, b, fixedSpec(fixed, 0, 1, got.handler())))
	start := time.Now()
	produceToParts(t, c, fixed, "f", []int{0}, 3)
	got.waitTotal(t, 3)
	deadline := time.Now().Add(10 * time.Second)
	for rec.count(slog.LevelWarn, "kafka: the offset commit was refused", start) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no warning of the refused commit")
		}
		time.Sleep(20 * time.Millisecond)
	}
	var line string
	for _, l := range rec.since(slog.LevelWarn, start) {
		if strings.HasPrefix(l.msg, "kafka: the offset commit was refused") {
			line = l.String()
		}
	}
	for _, want := range []string{"group g has active members", "auto-rebalance-enabled: false", "Unknown Member ID"} {
		if !strings.Contains(line, want) {
			t.Errorf("the warning does not say %q: %s", want, line)
		}
	}
}

// TestFixedAssignmentConfig: auto-rebalance-enabled: false needs an
// instance-index in [0, instance-count); the bind's errors name the keys.
// ValidateConsumer leaves those to the core, which reports them (else the
// app and streambind lint gave the error twice).
func TestFixedAssignmentConfig(t *testing.T) {
	t.Parallel()
	b, err := kafka.New(context.Background(), stream.BinderSettings{Name: "k", Type: kafka.Type})
	if err != nil {
		t.Fatal(err)
	}
	v := b.(stream.SpecValidator)
	for _, tc := range []struct {
		index, count int
		anon         bool
		want         string // "" valid
	}{
		{0, 1, false, ""},
		{3, 4, false, ""},
		{2, 2, false, "stream.bindings.in-0.consumer.instance-index must be in [0, instance-count=2), got 2"},
		{-1, 2, false, "instance-index must be in [0, instance-count=2), got -1"},
		{0, 0, false, "stream.bindings.in-0.consumer.instance-count must be at least 1, got 0"},
		{5, 2, true, ""}, // anonymous: ignored, as in SCSt
	} {
		spec := fixedSpec("d", tc.index, tc.count, func(context.Context, stream.Envelope) error { return nil })
		spec.Binding = "in-0"
		if tc.anon {
			spec.Group = ""
		}
		if err := v.ValidateConsumer(spec); err != nil {
			t.Errorf("ValidateConsumer, index %d of %d: %v (the core checks instance-index and instance-count)", tc.index, tc.count, err)
		}
		if tc.want == "" {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, err := b.BindConsumer(ctx, spec)
		cancel()
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "stream.kafka.bindings.in-0.consumer.auto-rebalance-enabled") {
			t.Errorf("bind, index %d of %d: got %v, want an error naming auto-rebalance-enabled and saying %q", tc.index, tc.count, err, tc.want)
		}
	}
	if err := v.ValidateConsumer(stream.ConsumerSpec{Binding: "in-0", Extension: map[string]any{"autoRebalanceEnabled": "maybe"}}); err == nil {
		t.Error("autoRebalanceEnabled: maybe accepted")
	}
}

// TestFixedAssignmentNewPartitions: partitions added to the topic while a
// fixed-assignment instance runs are read by the instance they fall to
// (p % instance-count == instance-index) without a restart — an instance
// that had none starts reading — and not by the others; what the
// instances had handled is not handled again.
func TestFixedAssignmentNewPartitions(t *testing.T) {
	t.Parallel()
	c := kafkatest.Start(t)
	b := newBinder(t, c, nil)
	kafka.SetPartitionWatchInterval(b, 50*time.Millisecond)
	closeBinder(t, b)
	dest := uniqueTopic(t)
	createTopic(t, c, dest, 1, nil)
	got := [3]*fixedGot{newFixedGot(), newFixedGot(), newFixedGot()}
	for i := range got {
		defer stopConsumer(t, bindStarted(t, b, fixedSpec(dest, i, 3, got[i].handler())))
	}
	before := produceToParts(t, c, dest, "a", []int{0}, 3)
	got[0].waitTotal(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := addPartitions(ctx, c, dest, 5); err != nil {
		t.Fatal(err)
	}
	var want [3][]string
	want[0] = before
	for _, id := range produceToParts(t, c, dest, "b", []int{0, 1, 2, 3, 4}, 2) {
		var p, n int
		fmt.Sscanf(id, "b-p%d-%d", &p, &n)
		want[p%3] = append(want[p%3], id)
	}
	for i, g := range got {
		g.waitTotal(t, len(want[i]))
		g.wantIDs(t, want[i])
	}
}
