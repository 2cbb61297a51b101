package kafka_test

import (
	"context"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	kafkago "github.com/segmentio/kafka-go"

	"github.com/streambind/streambind/binder/kafka/kafkatest"
	"github.com/streambind/streambind/stream"
)

// TestBreakAnonStartPartitionAddedBeforeFirstAssignment: a partition
// added after an anonymous consumer's Start returned, before its group's
// first assignment (held by the broker), holds only records sent after
// Start: they are delivered, as the records sent meanwhile to the
// partitions Start read are. Start read no end for the new partition and
// it starts at its end at the assignment: what was sent to it in between
// is skipped.
func TestBreakAnonStartPartitionAddedBeforeFirstAssignment(t *testing.T) {
	c := kafkatest.Start(t)
	b := newBinder(t, c, nil)
	closeBinder(t, b)
	dest := uniqueTopic(t)
	p1 := bindProducer(t, b, dest, 1)
	ctx := context.Background()
	if err := p1.Send(ctx, toPartition("before-0", 0)); err != nil {
		t.Fatal(err)
	}
	held, release := holdFirstJoin(t, c, "anonymous.")
	tr := newTracker()
	startConsumer(t, b, consumerSpec(dest, "", tr.handler()))
	select {
	case <-held:
	case <-time.After(20 * time.Second):
		t.Fatal("the consumer did not join its group")
	}
	if err := addPartitions(ctx, c, dest, 2); err != nil {
		t.Fatal(err)
	}
	// Written to partitions 0 and 1 directly (a producer bound now may
	// still see one partition).
	writeTo(ctx, t, c, newTracker(), dest, 0, "after-p0", 1)
	writeTo(ctx, t, c, newTracker(), dest, 1, "after-p1", 1)
	release()
	tr.waitFor(t, "after-p0-0", 20*time.Second, func() bool { return tr.got["after-p0-0"] > 0 })
	// A later record on partition 1 bounds the wait for after-p1-0.
	writeTo(ctx, t, c, newTracker(), dest, 1, "marker-p1", 1)
	tr.waitFor(t, "marker-p1-0", 20*time.Second, func() bool { return tr.got["marker-p1-0"] > 0 })
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if tr.got["after-p1-0"] != 1 || tr.got["before-0"] != 0 {
		t.Fatalf("received %v; want after-p1-0 (written to a partition created after Start, before the first assignment) delivered, and before-0 not", tr.got)
	}
}

// TestBreakAnonStartResetOffsetsBehindCommitted: reset-offsets with
// start-offset latest puts a member's partitions at their end on its
// first assignment (SCSt: seekToEnd at assignment). A member joining a
// running group whose first assignment comes after the others processed
// and committed records sent after its Start must not go back to the end
// its Start read, behind the group's committed offsets: that redelivers
// what the group already processed.
func TestBreakAnonStartResetOffsetsBehindCommitted(t *testing.T) {
	c := kafkatest.Start(t)
	b := newBinder(t, c, nil)
	closeBinder(t, b)
	dest := uniqueTopic(t)
	group := "g-" + uuid.NewString()[:8]
	p := bindProducer(t, b, dest, 2)
	ctx := context.Background()
	send := func(id string, part int) {
		t.Helper()
		if err := p.Send(ctx, toPartition(id, part)); err != nil {
			t.Fatal(err)
		}
	}
	tr := newTracker()
	var bGot atomic.Int64 // records the second member handled
	spec := func(binding string, second bool) stream.ConsumerSpec {
		h := tr.handler()
		if second {
			h = func(ctx context.Context, m stream.Envelope) error {
				bGot.Add(1)
				return tr.handler()(ctx, m)
			}
		}
		s := consumerSpec(dest, group, h)
		s.Binding = binding
		s.Extension = map[string]any{"start-offset": "latest", "reset-offsets": true}
		return s
	}
	startConsumer(t, b, spec("a-in-0", false))
	// Until the first member is assigned both partitions (what is sent
	// before is skipped without the change under review).
	deadline := time.Now().Add(30 * time.Second)
	for i := 0; ; i++ {
		if time.Now().After(deadline) {
			t.Fatal("the first member got no partitions")
		}
		w0, w1 := fmt.Sprintf("warm-0-%d", i), fmt.Sprintf("warm-1-%d", i)
		send(w0, 0)
		send(w1, 1)
		if tr.until(200*time.Millisecond, func() bool { return tr.got[w0] > 0 && tr.got[w1] > 0 }) {
			break
		}
	}

	held, release := holdFirstJoin(t, c, group)
	startConsumer(t, b, spec("b-in-0", true))
	select {
	case <-held:
	case <-time.After(20 * time.Second):
		t.Fatal("the second member did not join")
	}
	send("mid-0", 0)
	send("mid-1", 1)
	tr.waitFor(t, "mid-0 and mid-1", 20*time.Second, func() bool { return tr.got["mid-0"] > 0 && tr.got["mid-1"] > 0 })
	// The group committed them (the first member processed them).
	cl := &kafkago.Client{Addr: kafkago.TCP(c.Addrs()...)}
	ends := endsOf(t, cl, dest)
	deadline = time.Now().Add(20 * time.Second)
	for carryCommitted(t, cl, group, dest, 0) < ends[0] || carryCommitted(t, cl, group, dest, 1) < ends[1] {
		if time.Now().After(deadline) {
			t.Fatal("the group did not commit mid-0 and mid-1")
		}
		time.Sleep(20 * time.Millisecond)
	}
	release()
	// Records after the rebalance on both partitions, until the second
	// member handled one: a redelivery of mid-x by it comes before any
	// post record of partition x.
	deadline = time.Now().Add(30 * time.Second)
	for i := 0; bGot.Load() == 0; i++ {
		if time.Now().After(deadline) {
			t.Fatal("the second member got no partition")
		}
		send(fmt.Sprintf("post-0-%d", i), 0)
		send(fmt.Sprintf("post-1-%d", i), 1)
		// Paced; a record sent during the rebalance may be skipped by
		// reset-offsets: not waited for beyond that.
		p0, p1 := fmt.Sprintf("post-0-%d", i), fmt.Sprintf("post-1-%d", i)
		tr.until(time.Second, func() bool { return tr.got[p0] > 0 && tr.got[p1] > 0 })
		tr.until(50*time.Millisecond, func() bool { return false })
	}
	tr.mu.Lock()
	defer tr.mu.Unlock()
	var dups []string
	for id, n := range tr.got {
		if n != 1 {
			dups = append(dups, id)
		}
	}
	slices.Sort(dups)
	if len(dups) > 0 {
		t.Errorf("%d of %d records received twice (%v ...): the joining member went back behind the group's committed offset, to where its Start read the end", len(dups), len(tr.got), dups[:min(len(dups), 4)])
	}
}

// endsOf returns the end offsets of topic's partitions 0 and 1.
func endsOf(t *testing.T, cl *kafkago.Client, topic string) map[int]int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := cl.ListOffsets(ctx, &kafkago.ListOffsetsRequest{Topics: map[string][]kafkago.OffsetRequest{topic: {kafkago.LastOffsetOf(0), kafkago.LastOffsetOf(1)}}})
	if err != nil {
		t.Fatal(err)
	}
	out := map[int]int64{}
	for _, po := range res.Topics[topic] {
		out[po.Partition] = po.LastOffset
	}
	return out
}

// until waits at most d for cond (under tr.mu) and reports whether it held.
func (tr *tracker) until(d time.Duration, cond func() bool) bool {
	timer := time.NewTimer(d)
	defer timer.Stop()
	for {
		tr.mu.Lock()
		ok := cond()
		tr.mu.Unlock()
		if ok {
			return true
		}
		select {
		case <-tr.changed:
		case <-timer.C:
			return false
		}
	}
}
