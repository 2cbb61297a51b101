package kafka_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/streambind/streambind/binder/kafka"
	"github.com/streambind/streambind/binder/kafka/kafkatest"
	"github.com/streambind/streambind/stream"
)

// TestStopEarlyCancelKeepsPipelinedResult: cancelling the handlers'
// context ahead of Stop's deadline (as lifecycle.HandlerCanceler does, a
// tenth of the time before it) ends handler calls, not the wind-down's own
// work: a pipelined message whose result (its output's confirm) comes
// after that cancel, within Stop's time, is committed, not left for the
// next owner to handle (and send) again. Before, a pipelined worker's
// drain waited for results bounded by the handlers' context and gave the
// message up at once.
func TestStopEarlyCancelKeepsPipelinedResult(t *testing.T) {
	t.Parallel()
	c := kafkatest.Start(t)
	topic := uniqueTopic(t)
	createTopic(t, c, topic, 1, nil)
	fillKeyed(t, c, topic, 1, 0)
	b := newKeyOrderBinder(t, c, testLogger(t))

	// The result comes 100ms after the handlers' context was cancelled,
	// well within Stop's time.
	const budget, late = 5 * time.Second, 100 * time.Millisecond
	called := make(chan struct{}, 1)
	results := make(chan error, 1)
	spec := consumerSpec(topic, "g", func(context.Context, stream.Envelope) error { return nil })
	spec.Consumer.MaxInFlight = 4
	spec.AsyncHandler = func(ctx context.Context, _ stream.Envelope, done func(error)) {
		called <- struct{}{}
		go func() {
			<-ctx.Done() // the handlers' context, cancelled early
			time.AfterFunc(late, func() {
				results <- ctx.Err()
				done(nil) // the output was confirmed after all
			})
		}()
	}
	ctx, cancel := context.WithTimeout(context.Background(), keyOrderTimeout)
	defer cancel()
	cons, err := b.BindConsumer(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	if err := cons.Start(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case <-called:
	case <-ctx.Done():
		t.Fatal("the AsyncHandler was not called")
	}
	kafka.CancelHandlersEarly(cons)
	sctx, scancel := context.WithTimeout(context.Background(), budget)
	defer scancel()
	began := time.Now()
	if err := cons.Stop(sctx); err != nil {
		t.Errorf("Stop after %s of %s: %v", time.Since(began).Round(time.Millisecond), budget, err)
	}
	select {
	case err := <-results:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("the handlers' context ended with %v; want context.Canceled (the early cancel)", err)
		}
	default:
		t.Error("Stop returned before the result came")
	}
	if o := committedOf(t, c, "g", topic); o != 1 {
		t.Errorf("committed %d after Stop; want 1: the result that came after the handlers' context was cancelled, within Stop's time, is committed", o)
	}
}

// TestStopEarlyCancelKeepsDeadLettering: a dead letter being written when
// the handlers' context is cancelled ahead of Stop's deadline (as
// lifecycle.HandlerCanceler does) is still written, and its message
// committed, within Stop's time: that cancel ends handler calls, not the
// wind-down's dead-lettering. Partition 0's message fails and its dead
// letter is held by the broker; partition 1's handler runs until its
// context ends, and the broker takes the dead letter shortly after that.
// Before, the dead letter's write was bounded by the handlers' context:
// given up at the cancel, its message left uncommitted (handled again by
// the next owner, and dead-lettered twice: the broker had stored the
// first).
func TestStopEarlyCancelKeepsDeadLettering(t *testing.T) {
	t.Parallel()
	c := kafkatest.Start(t)
	topic := uniqueTopic(t)
	createTopic(t, c, topic, 2, nil)
	dlq := stream.DLQName(topic, "g")
	createTopic(t, c, dlq, 1, nil)
	w := &kafkago.Writer{Addr: kafkago.TCP(c.Addrs()...), Topic: topic, BatchTimeout: time.Millisecond,
		Balancer: kafkago.BalancerFunc(func(m kafkago.Message, _ ...int) int { return m.Partition }), Transport: &kafkago.Transport{}}
	wctx, wcancel := context.WithTimeout(context.Background(), keyOrderTimeout)
	defer wcancel()
	if err := w.WriteMessages(wctx, kafkago.Message{Value: []byte("poison"), Partition: 0}, kafkago.Message{Value: []byte("slow"), Partition: 1}); err != nil {
		t.Fatalf("fill %s: %v", topic, err)
	}
	_ = w.Close()

	// The broker holds the first dead letter's write until gate closes.
	held, gate := make(chan struct{}), make(chan struct{})
	var first atomic.Bool
	var release, once sync.Once
	open := func() { release.Do(func() { close(gate) }) }
	t.Cleanup(open)
	c.Kfake.ControlKey(int16(kmsg.Produce), func(kr kmsg.Request) (kmsg.Response, error, bool) {
		c.Kfake.KeepControl()
		for _, rt := range kr.(*kmsg.ProduceRequest).Topics {
			if rt.Topic == dlq && first.CompareAndSwap(false, true) {
				close(held)
				c.Kfake.SleepControl(func() { <-gate })
			}
		}
		return nil, nil, false
	})

	b := newKeyOrderBinder(t, c, testLogger(t))
	entered, cancelled := make(chan struct{}), make(chan struct{})
	spec := consumerSpec(topic, "g", func(ctx context.Context, m stream.Envelope) error {
		if m.Received.Partition == 0 {
			return errors.New("poison")
		}
		if ctx.Err() == nil {
			close(entered)
		}
		<-ctx.Done() // the handlers' context, cancelled early
		once.Do(func() { close(cancelled) })
		return ctx.Err() // a Nak: called again after redelivery-delay, until Stop
	})
	spec.Consumer.Concurrency = 2
	spec.Consumer.DLQ = true
	ctx, cancel := context.WithTimeout(context.Background(), keyOrderTimeout)
	defer cancel()
	cons, err := b.BindConsumer(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	if err := cons.Start(ctx); err != nil {
		t.Fatal(err)
	}
	for _, ch := range []chan struct{}{held, entered} {
		select {
		case <-ch:
		case <-ctx.Done():
			t.Fatal("the dead letter's write was not held, or the slow handler not called")
		}
	}
	go func() {
		select {
		case <-cancelled:
		case <-gate: // the test ended first
			return
		}
		// The broker answers a little after the handlers' context ended,
		// well within Stop's time.
		time.AfterFunc(100*time.Millisecond, open)
	}()
	kafka.CancelHandlersEarly(cons)
	const budget = 5 * time.Second
	sctx, scancel := context.WithTimeout(context.Background(), budget)
	defer scancel()
	began := time.Now()
	if err := cons.Stop(sctx); err != nil {
		t.Errorf("Stop after %s of %s: %v", time.Since(began).Round(time.Millisecond), budget, err)
	}
	if got := committedAll(t, c, "g", topic, 2); got[0] != 1 || got[1] != -1 {
		t.Errorf("committed %v after Stop; want [1 -1]: the dead-lettered message committed, the one whose handler returned at the early cancel not", got)
	}
	if n := endOffset(t, c, dlq, 0); n != 1 {
		t.Errorf("%d dead letters; want 1", n)
	}
}
