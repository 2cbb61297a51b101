package kafka_test

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/streambind/streambind/binder/kafka"
	"github.com/streambind/streambind/binder/kafka/kafkatest"
	"github.com/streambind/streambind/stream"
)

// testWatch is the partition watch interval of these tests (5s otherwise).
const testWatch = 200 * time.Millisecond

// newWatchBinder is a binder with auto-add-partitions and a short
// partition watch interval, closed when the test ends.
func newWatchBinder(t *testing.T, c *kafkatest.Cluster) stream.Binder {
	t.Helper()
	b := newBinder(t, c, map[string]any{"auto-add-partitions": true})
	kafka.SetPartitionWatchInterval(b, testWatch)
	closeBinder(t, b)
	return b
}

// holdRequest makes the cluster hold the first request of kind key of
// group until release is called: it returns a channel closed when that
// request arrived. Other requests are served meanwhile. The request is
// released at the end of the test at the latest.
func holdRequest(t *testing.T, c *kafkatest.Cluster, key kmsg.Key, group string) (arrived <-chan struct{}, release func()) {
	in := make(chan struct{})
	out := make(chan struct{})
	release = sync.OnceFunc(func() { close(out) })
	t.Cleanup(release)
	var taken atomic.Bool
	k := c.Kfake
	k.ControlKey(int16(key), func(req kmsg.Request) (kmsg.Response, error, bool) {
		var g string
		switch r := req.(type) {
		case *kmsg.OffsetFetchRequest:
			g = r.Group
		case *kmsg.JoinGroupRequest:
			g = r.Group
		}
		if g != group || !taken.CompareAndSwap(false, true) {
			return nil, nil, false
		}
		k.DropControl()
		k.SleepControl(func() {
			close(in)
			<-out
		})
		return nil, nil, false // served as usual
	})
	return in, release
}

func waitClosed(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(faultTimeout):
		t.Fatalf("timed out waiting for %s", what)
	}
}

// TestPartitionAddedDuringJoin: partitions are added to the topic after
// the group leader computed the assignment (from one partition) and before
// the generation started — kafka-go's partition watcher takes its baseline
// only when the generation starts, so it saw two partitions from the start
// and never rebalanced: the new partition was never consumed. The records
// written to it meanwhile, and after, must all be received.
func TestPartitionAddedDuringJoin(t *testing.T) {
	c := kafkatest.Start(t)
	b := newWatchBinder(t, c)
	dest := uniqueTopic(t)
	bindProducer(t, b, dest, 1) // the topic, with one partition
	tr := newTracker()
	arrived, release := holdRequest(t, c, kmsg.OffsetFetch, "g")
	startConsumer(t, b, consumerSpec(dest, "g", tr.handler()))
	waitClosed(t, arrived, "the group's offset fetch")
	// The assignment (partition 0 only) is made; now the topic grows.
	p := bindProducer(t, b, dest, 2)
	produce(context.Background(), t, p, tr, "before", 10, 2, 0)
	release()
	produce(context.Background(), t, p, tr, "after", 10, 2, 0)
	sent := time.Now()
	tr.waitAll(t, 10*testWatch+5*time.Second)
	t.Logf("all received %s after the last send", time.Since(sent).Round(time.Millisecond))
}

// TestPartitionsAddedWhileConsuming: rounds of a group running on a
// one-partition topic that grows to two (auto-add-partitions of a second
// producer) at a different moment of the group's start each round; every
// record, on either partition, is received.
func TestPartitionsAddedWhileConsuming(t *testing.T) {
	const rounds = 10
	c := kafkatest.Start(t)
	b := newWatchBinder(t, c)
	var worst time.Duration
	for i := range rounds {
		dest := uniqueTopic(t)
		bindProducer(t, b, dest, 1)
		tr := newTracker()
		cons := startConsumer(t, b, consumerSpec(dest, "g", tr.handler()))
		// Round i adds the partitions i×25ms after Start: from during the
		// join to well after it.
		time.Sleep(time.Duration(i) * 25 * time.Millisecond) // the moment under test, not a wait for a condition
		p := bindProducer(t, b, dest, 2)
		added := time.Now()
		produce(context.Background(), t, p, tr, "r"+strconv.Itoa(i), 10, 2, 0)
		tr.waitAll(t, 10*testWatch+5*time.Second)
		d := time.Since(added)
		worst = max(worst, d)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		if err := cons.Stop(ctx); err != nil {
			t.Error(err)
		}
		cancel()
	}
	t.Logf("%d rounds: slowest from adding the partition to all received: %s (watch interval %s)", rounds, worst.Round(time.Millisecond), testWatch)
}
