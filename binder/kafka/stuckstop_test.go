package kafka_test

import (
	"bytes"
	"context"
	"log/slog"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/streambind/streambind/binder/kafka/kafkatest"
	"github.com/streambind/streambind/stream"
)

// writeToPart writes one record with value v to partition part of topic.
func writeToPart(t testing.TB, c *kafkatest.Cluster, topic string, part int, v string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := kafkago.DialLeader(ctx, "tcp", c.Addrs()[0], topic, part)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.WriteMessages(kafkago.Message{Value: []byte(v)}); err != nil {
		t.Fatal(err)
	}
}

// TestStopCommitsWhatFinishesBesideAStuckHandler (found by the pause
// trial): a handler that ignores its context keeps the generation from
// winding down, and a message of another partition that finished during
// Stop was not committed (the committer had stopped with intake), so the
// next member handled it again. It is committed as it finishes now.
func TestStopCommitsWhatFinishesBesideAStuckHandler(t *testing.T) {
	t.Parallel()
	c := kafkatest.Start(t)
	topic := uniqueTopic(t)
	createTopic(t, c, topic, 2, nil)
	writeToPart(t, c, topic, 0, "stuck")
	writeToPart(t, c, topic, 1, "slow")
	testEnd := make(chan struct{})
	stuckIn, slowIn, release := make(chan struct{}), make(chan struct{}), make(chan struct{})
	rec := &logRecorder{}
	b := newKeyOrderBinder(t, c, rec.logger())
	// Before the binder's Close (cleanups run last first): Close waits
	// for the stuck handler's run to end.
	t.Cleanup(func() { close(testEnd) })
	spec := consumerSpec(topic, "g", func(_ context.Context, m stream.Envelope) error {
		switch {
		case bytes.Equal(m.Payload, []byte("stuck")):
			close(stuckIn)
			<-testEnd // ignores its context
		case bytes.Equal(m.Payload, []byte("slow")):
			close(slowIn)
			<-release
		}
		return nil
	})
	spec.Consumer.Concurrency = 2
	ctx, cancel := context.WithTimeout(context.Background(), keyOrderTimeout)
	defer cancel()
	cons, err := b.BindConsumer(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	if err := cons.Start(ctx); err != nil {
		t.Fatal(err)
	}
	for _, ch := range []chan struct{}{stuckIn, slowIn} {
		select {
		case <-ch:
		case <-ctx.Done():
			t.Fatal("the two messages were not both handed to their handlers")
		}
	}
	sctx, scancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer scancel()
	stopped := make(chan error, 1)
	go func() { stopped <- cons.Stop(sctx) }()
	// "slow" finishes while Stop waits for the stuck handler: released
	// well after Stop began winding the generation down (the assertion
	// below does not depend on this pause; a shorter one would only
	// exercise the path less often).
	time.AfterFunc(500*time.Millisecond, func() { close(release) })
	if err := <-stopped; err == nil {
		t.Error("Stop returned nil although a handler was still running")
	}
	got := committedAll(t, c, "g", topic, 2)
	if got[1] != 1 {
		t.Errorf("partition 1 committed %d, want 1: the message that finished during Stop must be committed", got[1])
	}
	if got[0] > 0 {
		t.Errorf("partition 0 committed %d: the stuck handler's message must not be", got[0])
	}
	// The stuck handler is not silent: a WARN says this member can handle
	// nothing more until it returns (stuckAfter, 5s, after the handlers'
	// context was cancelled when Stop ran out of time).
	warned := time.Now().Add(15 * time.Second)
	for rec.count(slog.LevelWarn, "kafka: a handler has not returned", time.Time{}) == 0 {
		if time.Now().After(warned) {
			t.Fatal("no WARN about the handler that does not return")
		}
		time.Sleep(50 * time.Millisecond) // polling the log, bounded above
	}
}
