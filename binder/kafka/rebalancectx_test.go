package kafka_test

import (
	"context"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/kafka/kafkatest"
	"github.com/streambind/streambind/stream"
)

// TestRebalanceEndsStuckHandlersContext: a member's handler that does not
// return (here: it waits for its ctx, as a function waiting for its paused
// output does) has its ctx cancelled half the rebalance-timeout after a
// rebalance began, so that the member's generation winds down and the
// partition goes to the new member. The watch waited on the generation's
// intake ctx, which it had just cancelled itself, so the handlers' ctx
// never ended: the group stalled for the whole rebalance-timeout, and the
// handler went on past the rebalance (a paused output, resumed later,
// sent a duplicate; a breaker).
func TestRebalanceEndsStuckHandlersContext(t *testing.T) {
	t.Parallel()
	c := kafkatest.Start(t)
	topic := uniqueTopic(t)
	createTopic(t, c, topic, 1, nil)
	env := map[string]any{"session-timeout": "20s", "heartbeat-interval": "500ms", "rebalance-timeout": "4s"}
	b := newBinder(t, c, env)
	closeBinder(t, b)
	entered := make(chan struct{}, 1)
	ended := make(chan time.Time, 1)
	startConsumer(t, b, consumerSpec(topic, "g", func(ctx context.Context, _ stream.Envelope) error {
		select {
		case entered <- struct{}{}:
		default:
		}
		<-ctx.Done()
		select {
		case ended <- time.Now():
		default:
		}
		return ctx.Err()
	}))
	produceToParts(t, c, topic, "a", []int{0}, 1)
	select {
	case <-entered:
	case <-time.After(30 * time.Second):
		t.Fatal("the handler was not called within 30s")
	}
	// A second member joins: a rebalance.
	b2 := newBinder(t, c, env)
	closeBinder(t, b2)
	joined := time.Now()
	startConsumer(t, b2, consumerSpec(topic, "g", func(context.Context, stream.Envelope) error { return nil }))
	select {
	case at := <-ended:
		// Half the rebalance-timeout (2s) after the rebalance began,
		// which is after the join; 15s leaves room for a loaded machine
		// and is far below the 20s session that would end it otherwise.
		t.Logf("the handler's ctx ended %s after the join", at.Sub(joined))
		if d := at.Sub(joined); d > 15*time.Second {
			t.Errorf("the handler's ctx ended %s after the second member joined, want about rebalance-timeout/2 (2s)", d)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the stuck handler's ctx did not end within 30s of a rebalance (rebalance-timeout 4s)")
	}
}
