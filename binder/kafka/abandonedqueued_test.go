package kafka_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestSendGaveUpWhileQueuedNotWritten: a Send whose ctx ends while its
// record waits in its partition's queue (behind a batch the broker is slow
// to acknowledge, the partition otherwise healthy) returns an error, and
// its record is not written when the partition moves on: the caller (the
// core, redelivering the input) sends it again, so that writing it would
// be a duplicate. Before, such records were dropped only when a batch
// failed retriably; on a slow but healthy partition they were written
// after their Send had failed.
func TestSendGaveUpWhileQueuedNotWritten(t *testing.T) {
	t.Parallel()
	c, dest, p, queued := warmProducer(t, 1, 0)
	ctx := context.Background()

	// Slow, not failing: the request is then handled as usual.
	held, unblock := holdFirstProduce(t, c, func(req *kmsg.ProduceRequest) bool {
		ours := false
		for _, rt := range req.Topics {
			ours = ours || rt.Topic == dest
		}
		return ours
	}, nil)

	first := make(chan error, 1)
	go func() { first <- p.Send(ctx, toPartition("first", 0)) }()
	<-queued
	select {
	case <-held:
	case <-time.After(20 * time.Second):
		t.Fatal("the first send never reached the broker")
	}
	giveUp := func(id string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		defer cancel()
		err := p.Send(ctx, toPartition(id, 0))
		<-queued
		if err == nil {
			t.Fatalf("%s: a send queued behind a held batch succeeded before the batch was released", id)
		}
	}
	// Gave up at the head of the queue, and between two waited for.
	giveUp("gave-up-1")
	kept := make(chan error, 1)
	go func() { kept <- p.Send(ctx, toPartition("kept", 0)) }()
	<-queued
	giveUp("gave-up-2")
	after := make(chan error, 1)
	go func() { after <- p.Send(ctx, toPartition("after", 0)) }()
	<-queued
	unblock()
	for name, ch := range map[string]chan error{"first": first, "kept": kept, "after": after} {
		select {
		case err := <-ch:
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("%s: no outcome", name)
		}
	}
	var ids []string
	for _, m := range readPartition(t, c, dest, 0, 4) {
		ids = append(ids, header(m, idHeader))
	}
	if want := []string{"warm", "first", "kept", "after"}; !slices.Equal(ids, want) {
		t.Errorf("the partition holds %v, want %v: the records of Sends that had given up were written after they failed", ids, want)
	}
}
