package kafka_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/streambind/streambind/binder/bindertest"
	"github.com/streambind/streambind/binder/kafka/kafkatest"
	"github.com/streambind/streambind/stream"
)

// TestDeadLetterHeldCountsInFlight: while the broker refuses a failed
// message's dead letter for now (not enough replicas), the binder retries
// it and does not commit the message: the message is not settled, so it
// counts in flight through the spec's Holding hook (the core's in-flight
// gauges) until its dead letter is written, then no longer. Before, the
// count ended when the handler returned: 0 while the partition waited.
// The hold is the other binders' (dlhold): after 3 failed sends the
// binding's Health reports its dead letters down until one is written,
// and its WARN lines are paced (one in the first 5s; before, one a
// failed send and no Health of the consumer binding).
func TestDeadLetterHeldCountsInFlight(t *testing.T) {
	t.Parallel()
	b, src, dlq, ref := refusedDLQ(t)

	var holding bindertest.Holding
	spec := consumerSpec(src, "g", func(context.Context, stream.Envelope) error {
		return stream.Permanent(errors.New("quantity must be positive"))
	})
	spec.Consumer.DLQ = true
	spec.Holding = holding.Hold
	// One write an attempt (kafka-go's own retries made each ~7s).
	spec.Extension = map[string]any{"dlq-producer-properties": map[string]any{"send-attempts": 1}}
	var rec logRecorder
	spec.Logger = rec.logger()
	cons := startConsumer(t, b, spec)
	dead := make(chan stream.Envelope, 1)
	startConsumer(t, b, consumerSpec(dlq, "audit", func(_ context.Context, m stream.Envelope) error {
		dead <- m
		return nil
	}))
	p := bindProducer(t, b, src, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := p.Send(ctx, stream.Envelope{Payload: []byte("poison")}); err != nil {
		t.Fatal(err)
	}
	waitUntil := func(what string, cond func() bool) { t.Helper(); waitHeld(ctx, t, ref, &holding, what, cond) }
	waitUntil("the dead letter refused twice", func() bool { return ref.hits.Load() >= 2 })
	if n := holding.N(); n != 1 {
		t.Errorf("%d messages counted in flight while the dead letter is retried; want 1", n)
	}
	hc, ok := cons.(stream.BindingHealthChecker)
	if !ok {
		t.Fatal("the consumer binding does not implement stream.BindingHealthChecker")
	}
	waitUntil("Health down after 3 failed sends", func() bool { return hc.Health(ctx) != nil })
	if err := hc.Health(ctx); err != nil && !strings.Contains(err.Error(), "cannot send dead letters") {
		t.Errorf("Health while held: %v; want its dead letters down", err)
	}
	const heldWarn = "kafka: dead-lettering failed"
	// Paced: a WARN at the first failed send, DEBUG for the others of the
	// next 4s (5s less the pacer's jitter).
	var warns []time.Time
	for _, l := range rec.since(slog.LevelWarn, time.Time{}) {
		if strings.HasPrefix(l.msg, heldWarn) {
			warns = append(warns, l.time)
		}
	}
	if len(warns) == 0 {
		t.Errorf("no WARN for the held dead letter")
	} else if len(warns) > 1 && warns[1].Sub(warns[0]) < 4*time.Second {
		t.Errorf("a second WARN for the held dead letter %s after the first; want none within 4s", warns[1].Sub(warns[0]).Round(time.Millisecond))
	}
	if n := rec.count(slog.LevelDebug, heldWarn, time.Time{}); n < 1 {
		t.Errorf("%d DEBUG lines for the failed sends after the first; want at least 1", n)
	}
	t.Logf("Health down %s after the first failed send", time.Since(firstFail(&rec, heldWarn)).Round(time.Millisecond))
	ref.stop()
	select {
	case <-dead:
	case <-ctx.Done():
		t.Fatal("no dead letter once the broker took it")
	}
	waitUntil("nothing in flight once the dead letter went", func() bool { return holding.N() == 0 })
	waitUntil("Health up once the dead letter went", func() bool { return hc.Health(ctx) == nil })
}

// TestDeadLetterHeldBatchCountsInFlight: a failed batch's messages are
// dead-lettered one after the other; while the broker refuses the first's
// dead letter for now, none of the three is committed, so all three count
// in flight (each until its dead letter went), then none. Before, only the
// one being dead-lettered counted: 1.
func TestDeadLetterHeldBatchCountsInFlight(t *testing.T) {
	t.Parallel()
	b, src, dlq, ref := refusedDLQ(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p := bindProducer(t, b, src, 1)
	for _, s := range []string{"a", "b", "c"} { // before the consumer starts: one batch
		if err := p.Send(ctx, stream.Envelope{Payload: []byte(s)}); err != nil {
			t.Fatal(err)
		}
	}
	var holding bindertest.Holding
	sizes := make(chan int, 3)
	spec := consumerSpec(src, "g", nil)
	spec.Handler = nil
	spec.BatchHandler = func(_ context.Context, ms []stream.Envelope) error {
		select {
		case sizes <- len(ms):
		default:
		}
		return stream.Permanent(errors.New("bad batch"))
	}
	spec.Consumer.BatchMode = true
	spec.Consumer.DLQ = true
	spec.Holding = holding.Hold
	startConsumer(t, b, spec)
	dead := make(chan stream.Envelope, 3)
	startConsumer(t, b, consumerSpec(dlq, "audit", func(_ context.Context, m stream.Envelope) error {
		dead <- m
		return nil
	}))
	var first int // the first batch's messages: 3 unless the fetch split them
	select {
	case first = <-sizes:
		if first < 2 {
			ref.stop() // else Stop at cleanup waits out the held dead letter
			t.Skipf("the first batch has %d message: a batch of one shows nothing", first)
		}
	case <-ctx.Done():
		t.Fatal("the batch handler was not called")
	}
	waitUntil := func(what string, cond func() bool) { t.Helper(); waitHeld(ctx, t, ref, &holding, what, cond) }
	waitUntil("the first dead letter refused twice", func() bool { return ref.hits.Load() >= 2 })
	if n := holding.N(); n != int64(first) {
		t.Errorf("%d messages counted in flight while the batch's first dead letter is retried; want %d, the batch's (none committed)", n, first)
	}
	ref.stop()
	for range 3 {
		select {
		case <-dead:
		case <-ctx.Done():
			t.Fatal("not every dead letter went once the broker took them")
		}
	}
	waitUntil("nothing in flight once the dead letters went", func() bool { return holding.N() == 0 })
}

func firstFail(rec *logRecorder, prefix string) time.Time {
	for _, l := range rec.since(slog.LevelWarn, time.Time{}) {
		if strings.HasPrefix(l.msg, prefix) {
			return l.time
		}
	}
	return time.Time{}
}

// waitHeld polls cond until it holds, failing the test at ctx's end with
// what, the dead letters refused and the messages counted in flight.
func waitHeld(ctx context.Context, t *testing.T, ref *produceRefusal, holding *bindertest.Holding, what string, cond func() bool) {
	t.Helper()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-tick.C:
		case <-ctx.Done():
			t.Fatalf("%s: not within the test's deadline (refused dead letters %d, in flight %d)", what, ref.hits.Load(), holding.N())
		}
	}
}

// refusedDLQ starts a cluster and returns a binder of it with a 1-partition topic src
// and its group g's DLQ, whose produce requests the cluster refuses (not
// enough replicas: a failure for now) until ref.stop.
func refusedDLQ(t *testing.T) (b stream.Binder, src, dlq string, ref *produceRefusal) {
	t.Helper()
	c := kafkatest.Start(t)
	b = newBinder(t, c, nil)
	closeBinder(t, b)
	src = uniqueTopic(t)
	dlq = stream.DLQName(src, "g")
	createTopic(t, c, src, 1, nil)
	createTopic(t, c, dlq, 1, nil)
	ref = refuseProduceTo(c, dlq, kerr.NotEnoughReplicas, -1)
	t.Cleanup(ref.stop)
	return b, src, dlq, ref
}
