package redis_test

import (
	"context"
	"errors"
	"testing"

	"github.com/streambind/streambind/stream"
)

// TestDeadLettersNoneYetPartitionedInstance: the dead-letter stream of a
// partitioned binding is made by its first dead letter; while only
// instance 1 of 2 runs, its group is on partition 1 alone (instance 0
// makes it on the destination's own stream and partition 0). Opening the
// dead letters finds none (streambind dlq ls: 0 dead letters), not the
// stream missing, which before looked at the destination's stream and
// partition 0 only; another group is still reported missing.
func TestDeadLettersNoneYetPartitionedInstance(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	cc := stream.ConsumerConfig{DLQ: true, Partitioned: true, InstanceIndex: 1, InstanceCount: 2}
	bindConsumer(t, e.binder(t, nil), stream.ConsumerSpec{Binding: "work-in-0", Destination: "dlpart", Group: "g", Consumer: cc,
		Handler: func(context.Context, stream.Envelope) error { return nil }})
	b := e.binder(t, map[string]any{"client-name": e.name + "-dlq"})
	dl, err := b.OpenDeadLetters(ctx, stream.ConsumerSpec{Binding: "work-in-0", Destination: "dlpart", Group: "g", Consumer: cc}, stream.DeadLetterOpen{})
	if err != nil {
		t.Fatalf("open the dead letters of a running partitioned instance: %v; want none", err)
	}
	if d, err := dl.Next(ctx); err == nil {
		t.Errorf("a dead letter %v; want none", d)
	}
	_ = dl.Close(ctx)
	if _, err := b.OpenDeadLetters(ctx, stream.ConsumerSpec{Binding: "other-in-0", Destination: "dlpart", Group: "other", Consumer: cc}, stream.DeadLetterOpen{}); !errors.Is(err, stream.ErrNoDeadLetters) {
		t.Errorf("another group: %v; want ErrNoDeadLetters", err)
	}
}
