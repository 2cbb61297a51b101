package kafka_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/streambind/streambind/binder/kafka"
	"github.com/streambind/streambind/binder/kafka/kafkatest"
	"github.com/streambind/streambind/stream"
)

// A Start after a Stop that ran out of time waits (bounded by its context)
// for the previous run to end, as on the other binders: it started a
// second run at once, its handlers beside the first run's still running.
func TestStartWaitsForTheRunAStopLeft(t *testing.T) {
	t.Parallel()
	c := kafkatest.Start(t)
	topic := uniqueTopic(t)
	createTopic(t, c, topic, 1, nil)
	writeToPart(t, c, topic, 0, "stuck")
	in, release := make(chan struct{}, 4), make(chan struct{})
	b := newKeyOrderBinder(t, c, testLogger(t))
	cons, err := b.BindConsumer(context.Background(), consumerSpec(topic, "g", func(context.Context, stream.Envelope) error {
		in <- struct{}{}
		<-release // ignores its context
		return nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), keyOrderTimeout)
	defer cancel()
	if err := cons.Start(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case <-in:
	case <-ctx.Done():
		t.Fatal("the message was not handed to the handler")
	}
	short := func() context.Context {
		sctx, scancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		t.Cleanup(scancel)
		return sctx
	}
	if err := cons.Stop(short()); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Stop beside a handler that ignores its context: %v, want a deadline error", err)
	}
	err = cons.Start(short())
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "previous run is still ending") {
		t.Fatalf("Start while the previous run still ends: %v", err)
	}
	if err := cons.Stop(short()); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Stop again while the previous run still ends: %v, want a deadline error", err)
	}
	close(release)
	if err := cons.Start(ctx); err != nil {
		t.Fatalf("Start once the previous run ended: %v", err)
	}
	if err := cons.Stop(ctx); err != nil {
		t.Fatal(err)
	}
}

// The binder's Close with a context that has already ended (the Close of
// a shutdown whose time ran out) still stops its started consumers: it
// left each one running (in the group, handling) half of the time.
//
// A member stopped without leaving the group is dropped at its session
// timeout, so the groups empty after it at the latest: a short one (2s,
// heartbeats every 200ms) keeps that wait short (it was the default 10s,
// all of the test's time); a consumer left running stays a member however
// long the session, so the test fails as before.
func TestCloseWithEndedContextStopsConsumers(t *testing.T) {
	t.Parallel()
	c := kafkatest.Start(t, kfake.GroupMinSessionTimeout(time.Second))
	const n = 4
	topics := make([]string, n)
	bs := make([]stream.Binder, n)
	ctx, cancel := context.WithTimeout(context.Background(), keyOrderTimeout)
	defer cancel()
	for i := range n {
		topics[i] = uniqueTopic(t) + string(rune('a'+i))
		createTopic(t, c, topics[i], 1, nil)
		writeToPart(t, c, topics[i], 0, "m")
		in := make(chan struct{}, 1)
		b, err := kafka.New(context.Background(), stream.BinderSettings{Name: "kafka", Type: kafka.Type, Logger: testLogger(t),
			Environment: map[string]any{"brokers": c.Brokers(), "auto-create-topics": false, "session-timeout": "2s", "heartbeat-interval": "200ms"}})
		if err != nil {
			t.Fatal(err)
		}
		closeBinder(t, b)
		bs[i] = b
		cons, err := bs[i].BindConsumer(ctx, consumerSpec(topics[i], "g-"+topics[i], func(context.Context, stream.Envelope) error {
			select {
			case in <- struct{}{}:
			default:
			}
			return nil
		}))
		if err != nil {
			t.Fatal(err)
		}
		if err := cons.Start(ctx); err != nil {
			t.Fatal(err)
		}
		select {
		case <-in:
		case <-ctx.Done():
			t.Fatal("the message was not handled")
		}
	}
	ended, end := context.WithCancel(context.Background())
	end()
	for _, b := range bs {
		_ = b.Close(ended) // may report the ended context; it must still stop
	}
	cl := &kafkago.Client{Addr: kafkago.TCP(c.Addrs()...)}
	for i := range n {
		group := "g-" + topics[i]
		for {
			res, err := cl.DescribeGroups(ctx, &kafkago.DescribeGroupsRequest{GroupIDs: []string{group}})
			if err == nil && len(res.Groups) == 1 && len(res.Groups[0].Members) == 0 {
				break
			}
			select {
			case <-ctx.Done():
				t.Fatalf("binder %d closed with an ended context: its consumer is still a member of group %s (%v, %+v)", i, group, err, res)
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
}
