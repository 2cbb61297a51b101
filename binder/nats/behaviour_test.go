package nats_test

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	natsbinder "github.com/streambind/streambind/binder/nats"
	"github.com/streambind/streambind/binder/nats/natstest"
	"github.com/streambind/streambind/stream"
)

// shared returns a binder on the shared server whose streams are deleted
// when the test ends, and a function that records more destinations.
func shared(t *testing.T, env map[string]any) (stream.Binder, *streams) {
	t.Helper()
	natstest.Require(t)
	s := newStreams(t, natstest.URL())
	b := tracked{newBinder(t, natstest.URL(), env), s}
	closeBinder(t, b)
	return b, s
}

// partitioned returns a message of partition p.
func partitioned(id string, p int) stream.Envelope {
	m := msg(id)
	m.Headers[stream.HeaderPartition] = strconv.Itoa(p)
	return m
}

// TestPartitionedConsumers: a partitioned producer sends to
// <destination>.<n>; instance i of a partitioned group receives partition
// i only.
func TestPartitionedConsumers(t *testing.T) {
	b, _ := shared(t, nil)
	dest := unique(t, "parts")
	trs := []*tracker{newTracker(), newTracker()}
	for i, tr := range trs {
		startConsumer(t, b, stream.ConsumerSpec{Destination: dest, Group: "g", Handler: tr.handler(i),
			Consumer: stream.ConsumerConfig{Partitioned: true, InstanceIndex: i, InstanceCount: 2}})
	}
	p := bindProducer(t, b, stream.ProducerSpec{Destination: dest, Producer: stream.ProducerConfig{PartitionKeyExpression: "key", PartitionCount: 2}})
	var want [2][]string
	for i := range 40 {
		id := "m-" + strconv.Itoa(i)
		want[i%2] = append(want[i%2], id)
		if err := p.Send(context.Background(), partitioned(id, i%2)); err != nil {
			t.Fatal(err)
		}
	}
	for i, tr := range trs {
		tr.wait(t, want[i], 10*time.Second)
		if other := tr.missing(want[1-i]); len(other) != len(want[1-i]) {
			t.Errorf("instance %d received %d messages of partition %d", i, len(want[1-i])-len(other), 1-i)
		}
	}
}

// TestPartitionCountNeedsNewerServer: on NATS 2.9 a consumer that would
// filter several partition subjects fails at bind with a clear error.
func TestPartitionCountNeedsNewerServer(t *testing.T) {
	b, _ := shared(t, nil)
	nc, err := natsgo.Connect(natstest.URL())
	if err != nil {
		t.Fatal(err)
	}
	v := nc.ConnectedServerVersion()
	nc.Close()
	if !strings.HasPrefix(v, "2.9.") {
		t.Skipf("server %s filters several subjects", v)
	}
	_, err = b.BindConsumer(context.Background(), stream.ConsumerSpec{Binding: "x-in-0", Destination: unique(t, "pc"), Group: "g",
		Handler:   func(context.Context, stream.Envelope) error { return nil },
		Consumer:  stream.ConsumerConfig{Partitioned: true, InstanceIndex: 0, InstanceCount: 2, Concurrency: 1},
		Extension: map[string]any{"partition-count": 4}})
	if err == nil || !strings.Contains(err.Error(), "2.10") {
		t.Fatalf("BindConsumer: %v, want an error naming NATS server 2.10", err)
	}
	t.Log(err)
}

// TestExistingStreamIsUsed: a stream of another name that captures the
// destination (made by an operator) is used rather than a new one.
func TestExistingStreamIsUsed(t *testing.T) {
	b, s := shared(t, nil)
	dest := unique(t, "ops")
	name := "OPS_" + strings.ReplaceAll(strings.ToUpper(natsbinder.StreamName(dest)), "-", "_")
	s.names[name] = true
	js := jsAt(t, natstest.URL())
	ctx := context.Background()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: name, Subjects: []string{dest, dest + "-other"}}); err != nil {
		t.Fatal(err)
	}
	tr := newTracker()
	startConsumer(t, b, stream.ConsumerSpec{Destination: dest, Group: "g", Handler: tr.handler(0)})
	p := bindProducer(t, b, stream.ProducerSpec{Destination: dest})
	if _, err := js.Publish(ctx, dest+"-other", []byte("not for the group")); err != nil {
		t.Fatal(err)
	}
	if err := p.Send(ctx, msg("one")); err != nil {
		t.Fatal(err)
	}
	tr.wait(t, []string{"one"}, 10*time.Second)
	if _, err := js.Stream(ctx, natsbinder.StreamName(dest)); err == nil {
		t.Error("the binder made a stream of its own although one captures the destination")
	}
	ci, err := js.Consumer(ctx, name, natsbinder.StreamName(dest)+"__g")
	if err != nil {
		t.Fatalf("the group's durable consumer on the existing stream: %v", err)
	}
	if ci.CachedInfo().Config.FilterSubject != dest {
		t.Errorf("filter %q, want %q", ci.CachedInfo().Config.FilterSubject, dest)
	}
	tr.mu.Lock()
	if len(tr.got) != 1 {
		t.Errorf("received %v, want only the destination's message", tr.got)
	}
	tr.mu.Unlock()
}

// TestLongHandlerNotRedelivered: a handler that runs longer than ack-wait
// is not given the same message again meanwhile (in-progress acks).
func TestLongHandlerNotRedelivered(t *testing.T) {
	t.Parallel() // waits on ack-wait and timers: runs beside the others
	b, _ := shared(t, nil)
	dest := unique(t, "slow")
	var mu sync.Mutex
	calls := map[string]int{}
	tr := newTracker()
	h := func(_ context.Context, m stream.Envelope) error {
		id := m.Headers[idHeader]
		mu.Lock()
		calls[id]++
		mu.Unlock()
		if id == "slow" {
			time.Sleep(2500 * time.Millisecond)
		}
		tr.receive(0, id)
		return nil
	}
	startConsumer(t, b, stream.ConsumerSpec{Destination: dest, Group: "g", Handler: h,
		Consumer: stream.ConsumerConfig{Concurrency: 2}, Extension: map[string]any{"ack-wait": "1s"}})
	p := bindProducer(t, b, stream.ProducerSpec{Destination: dest})
	want := []string{"slow", "a", "b", "c"}
	for _, id := range want {
		if err := p.Send(context.Background(), msg(id)); err != nil {
			t.Fatal(err)
		}
	}
	tr.wait(t, want, 10*time.Second)
	time.Sleep(1500 * time.Millisecond) // a late redelivery would show now
	mu.Lock()
	defer mu.Unlock()
	for _, id := range want {
		if calls[id] != 1 {
			t.Errorf("message %s handled %d times, want once", id, calls[id])
		}
	}
}

// TestAnonymousSurvivesLongPause: an anonymous consumer paused longer than
// inactive-threshold (the server removes its ephemeral consumer) gets the
// messages sent meanwhile after Resume; Stop removes its consumer.
func TestAnonymousSurvivesLongPause(t *testing.T) {
	t.Parallel() // waits on ack-wait and timers: runs beside the others
	b, _ := shared(t, nil)
	dest := unique(t, "anon")
	tr := newTracker()
	c := startConsumer(t, b, stream.ConsumerSpec{Destination: dest, Handler: tr.handler(0),
		Extension: map[string]any{"inactive-threshold": "1s"}})
	p := bindProducer(t, b, stream.ProducerSpec{Destination: dest})
	ctx := context.Background()
	// An anonymous consumer starts at new messages: probe until it gets one.
	deadline := time.Now().Add(10 * time.Second)
	for i := 0; len(tr.missing([]string{"probe-" + strconv.Itoa(i-1)})) > 0 || i == 0; i++ {
		if err := p.Send(ctx, msg("probe-"+strconv.Itoa(i))); err != nil {
			t.Fatal(err)
		}
		if time.Now().After(deadline) {
			t.Fatal("the anonymous consumer receives nothing")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := c.Pause(ctx); err != nil {
		t.Fatal(err)
	}
	held := []string{"held-1", "held-2"}
	for _, id := range held {
		if err := p.Send(ctx, msg(id)); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(2500 * time.Millisecond)
	if len(tr.missing(held)) != len(held) {
		t.Fatal("messages delivered while paused")
	}
	if err := c.Resume(ctx); err != nil {
		t.Fatal(err)
	}
	tr.wait(t, held, 10*time.Second)

	if err := c.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	js := jsAt(t, natstest.URL())
	st, err := js.Stream(ctx, natsbinder.StreamName(dest))
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Consumers != 0 {
		t.Errorf("%d consumers left on the stream after the anonymous consumer stopped", info.State.Consumers)
	}
}

// TestBatchMode: a batch handler gets the messages in slices.
func TestBatchMode(t *testing.T) {
	b, _ := shared(t, nil)
	dest := unique(t, "batch")
	tr := newTracker()
	var biggest atomic.Int64
	h := func(_ context.Context, ms []stream.Envelope) error {
		biggest.Store(max(biggest.Load(), int64(len(ms))))
		for _, m := range ms {
			tr.receive(0, m.Headers[idHeader])
		}
		return nil
	}
	p := bindProducer(t, b, stream.ProducerSpec{Destination: dest})
	var want []string
	for i := range 200 {
		id := "m-" + strconv.Itoa(i)
		want = append(want, id)
		if err := p.Send(context.Background(), msg(id)); err != nil {
			t.Fatal(err)
		}
	}
	startConsumer(t, b, stream.ConsumerSpec{Destination: dest, Group: "g", BatchHandler: h, Consumer: stream.ConsumerConfig{BatchMode: true},
		Extension: map[string]any{"batch-size": 50}})
	tr.wait(t, want, 10*time.Second)
	if n := biggest.Load(); n < 2 || n > 50 {
		t.Errorf("largest batch %d, want 2..50", n)
	}
}

// TestCloseIsBounded: Close returns by its ctx's deadline even when a
// handler never returns; the message is redelivered later.
func TestCloseIsBounded(t *testing.T) {
	natstest.Require(t)
	s := newStreams(t, natstest.URL())
	dest := unique(t, "stuck")
	s.add(dest)
	b := newBinder(t, natstest.URL(), nil)
	started := make(chan struct{})
	var once sync.Once
	block := make(chan struct{})
	defer close(block)
	h := func(ctx context.Context, m stream.Envelope) error {
		once.Do(func() { close(started) })
		<-block // ignores ctx
		return nil
	}
	ctx := context.Background()
	c, err := b.BindConsumer(ctx, stream.ConsumerSpec{Binding: "x-in-0", Destination: dest, Group: "g", Handler: h, Consumer: stream.ConsumerConfig{Concurrency: 1}})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	p, err := b.BindProducer(ctx, stream.ProducerSpec{Binding: "x-out-0", Destination: dest, ContentType: "text/plain"})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Send(ctx, msg("stuck")); err != nil {
		t.Fatal(err)
	}
	<-started
	cctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = b.Close(cctx)
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Close took %s with a 300ms deadline", d)
	}
	if err == nil {
		t.Error("Close reported success with a handler still running")
	}
	t.Log(err)
}

// TestStreamDeletedAtRunTime: when an operator deletes the destination's
// stream (and with it the group's consumer) while the app runs, the
// producer provisions the stream again on its next send and the consumer
// makes its consumer again: later messages flow.
//
// The consumer hears of the deletion (409) while the server is still
// removing the stream's files; a stream made again in that moment loses
// its files (NATS 2.9: every publish then fails with 503 err_code 10077, or
// is acknowledged and never delivered). The binder waits before it makes
// the stream again, so the send after the deletion must succeed and its
// message arrive. Without that wait this test failed about every other run.
func TestStreamDeletedAtRunTime(t *testing.T) {
	t.Parallel()
	b, _ := shared(t, nil)
	dest := unique(t, "deleted")
	tr := newTracker()
	c := startConsumer(t, b, stream.ConsumerSpec{Destination: dest, Group: "g", Handler: tr.handler(0)})
	p := bindProducer(t, b, stream.ProducerSpec{Destination: dest})
	ctx := context.Background()
	if err := p.Send(ctx, msg("before")); err != nil {
		t.Fatal(err)
	}
	tr.wait(t, []string{"before"}, 10*time.Second)
	// More consumers on the stream make the server's deletion take longer
	// after it told the group's consumer: more of a moment for a stream
	// made again at once to be caught in.
	addConsumers(t, dest, 30)
	deleteStream(t, dest)
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := p.Send(sctx, msg("after")); err != nil {
		t.Fatalf("Send after the stream was deleted: %v", err)
	}
	if err := p.(stream.BindingHealthChecker).Health(ctx); err != nil {
		t.Errorf("producer health: %v", err)
	}
	// The consumer notices at once (409) or within missing heartbeats
	// (about 2s), then waits before it makes the stream again.
	tr.wait(t, []string{"after"}, 30*time.Second)
	if err := c.(stream.BindingHealthChecker).Health(ctx); err != nil {
		t.Errorf("consumer health: %v", err)
	}
}

// TestStreamDeletedWhilePausedLatest: a group consuming from the latest
// message (start-offset latest) whose stream is deleted and made again
// while it is paused reads the new stream from its start when it resumes:
// a message stored before the group's consumer is made again is not
// skipped (a consumer made again with DeliverNew would skip it).
func TestStreamDeletedWhilePausedLatest(t *testing.T) {
	t.Parallel() // waits on ack-wait and timers: runs beside the others
	b, _ := shared(t, nil)
	dest := unique(t, "deleted-latest")
	tr := newTracker()
	c := startConsumer(t, b, stream.ConsumerSpec{Destination: dest, Group: "g", Handler: tr.handler(0),
		Extension: map[string]any{"start-offset": "latest"}})
	p := bindProducer(t, b, stream.ProducerSpec{Destination: dest})
	ctx := context.Background()
	if err := p.Send(ctx, msg("before")); err != nil {
		t.Fatal(err)
	}
	tr.wait(t, []string{"before"}, 10*time.Second)
	if err := c.Pause(ctx); err != nil {
		t.Fatal(err)
	}
	deleteStream(t, dest)
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for _, id := range []string{"after-1", "after-2"} {
		if err := p.Send(sctx, msg(id)); err != nil {
			t.Fatalf("Send after the stream was deleted: %v", err)
		}
	}
	if err := c.Resume(ctx); err != nil {
		t.Fatal(err)
	}
	tr.wait(t, []string{"after-1", "after-2"}, 30*time.Second)
}

// addConsumers adds n durable consumers to dest's stream.
func addConsumers(t *testing.T, dest string, n int) {
	t.Helper()
	js := jsAt(t, natstest.URL())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for i := range n {
		if _, err := js.CreateOrUpdateConsumer(ctx, natsbinder.StreamName(dest), jetstream.ConsumerConfig{Durable: "other-" + strconv.Itoa(i), AckPolicy: jetstream.AckExplicitPolicy}); err != nil {
			t.Fatal(err)
		}
	}
}

// deleteStream deletes dest's stream as an operator would; it returns once
// the server has removed it.
func deleteStream(t *testing.T, dest string) {
	t.Helper()
	js := jsAt(t, natstest.URL())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := js.DeleteStream(ctx, natsbinder.StreamName(dest)); err != nil {
		t.Fatal(err)
	}
}
