package kafka_test

import (
	"context"
	"strconv"
	"strings"
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
	return holdRequestOf(t, c, key, func(g string) bool { return g == group })
}

// holdRequestOf is holdRequest for the first group that match accepts.
func holdRequestOf(t *testing.T, c *kafkatest.Cluster, key kmsg.Key, match func(group string) bool) (arrived <-chan struct{}, release func()) {
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
		if !match(g) || !taken.CompareAndSwap(false, true) {
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
	t.Parallel()
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

// addPartitions grows topic to n partitions with a client of its own (no
// metadata cache shared with the binder).
func addPartitions(ctx context.Context, c *kafkatest.Cluster, topic string, n int) error {
	tr := &kafkago.Transport{}
	defer tr.CloseIdleConnections()
	cl := &kafkago.Client{Addr: kafkago.TCP(c.Addrs()...), Transport: tr}
	res, err := cl.CreatePartitions(ctx, &kafkago.CreatePartitionsRequest{Topics: []kafkago.TopicPartitionsConfig{{Name: topic, Count: int32(n)}}})
	if err == nil {
		err = res.Errors[topic]
	}
	return err
}

// writeTo writes records with the test ids prefix-0..n-1 to partition part
// of topic (acknowledged by the broker), confirming each with tr.
func writeTo(ctx context.Context, t *testing.T, c *kafkatest.Cluster, tr *tracker, topic string, part int, prefix string, n int) {
	t.Helper()
	conn, err := kafkago.DialLeader(ctx, "tcp", c.Addrs()[0], topic, part)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ms := make([]kafkago.Message, n)
	for i := range ms {
		id := prefix + "-" + strconv.Itoa(i)
		ms[i] = kafkago.Message{Value: []byte("{}"), Headers: []kafkago.Header{{Key: idHeader, Value: []byte(id)}}}
	}
	if _, err := conn.WriteMessages(ms...); err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		tr.confirm(string(m.Headers[0].Value))
	}
}

// TestPartitionsAddedWhileConsuming: rounds of a group starting on a
// one-partition topic while a partition is added, at a different moment
// of the group's join each round — before it, during it, after it; every
// record, on either partition, is received.
func TestPartitionsAddedWhileConsuming(t *testing.T) {
	t.Parallel()
	const rounds = 20
	c := kafkatest.Start(t)
	b := newWatchBinder(t, c)
	ctx, cancel := context.WithTimeout(context.Background(), faultTimeout)
	defer cancel()
	var worst time.Duration
	for i := range rounds {
		dest := uniqueTopic(t)
		bindProducer(t, b, dest, 1)
		tr := newTracker()
		added := make(chan error, 1)
		go func() {
			// Round i adds the partition i×300µs after the group starts:
			// the join takes a few milliseconds here, and without the
			// binder's own watch one of the first rounds lost the new
			// partition's records in every run tried.
			time.Sleep(time.Duration(i) * 300 * time.Microsecond) // the moment under test, not a wait for a condition
			added <- addPartitions(ctx, c, dest, 2)
		}()
		cons := startConsumer(t, b, consumerSpec(dest, "g", tr.handler()))
		if err := <-added; err != nil {
			t.Fatal(err)
		}
		at := time.Now()
		for part := range 2 {
			writeTo(ctx, t, c, tr, dest, part, "r"+strconv.Itoa(i)+"-p"+strconv.Itoa(part), 5)
		}
		tr.waitAll(t, 10*testWatch+5*time.Second)
		worst = max(worst, time.Since(at))
		if err := cons.Stop(ctx); err != nil {
			t.Error(err)
		}
	}
	t.Logf("%d rounds: slowest from adding the partition to all received: %s (watch interval %s)", rounds, worst.Round(time.Millisecond), testWatch)
}

// TestNewPartitionStartsAtEarliest: with start-offset latest, a partition
// that has no committed offset starts at the latest offset only for a
// brand-new group. A partition added while the group runs — whose records
// written before the group noticed it must not be skipped — and one added
// while the group was stopped (the group has commits, so it is not new)
// are read from their earliest offset. A record written before a new
// group's first Start is not received (latest is honoured).
func TestNewPartitionStartsAtEarliest(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, group string }{{"named", "g"}, {"anonymous", ""}} {
		t.Run(tc.name, func(t *testing.T) {
			c := kafkatest.Start(t)
			b := newWatchBinder(t, c)
			dest := uniqueTopic(t)
			p1 := bindProducer(t, b, dest, 1)
			ctx, cancel := context.WithTimeout(context.Background(), faultTimeout)
			defer cancel()
			send := func(p stream.Producer, id string, part int) {
				t.Helper()
				err := p.Send(ctx, stream.Envelope{Payload: []byte("{}"), Headers: stream.Headers{idHeader: id, stream.HeaderPartition: strconv.Itoa(part)}})
				if err != nil {
					t.Fatal(err)
				}
			}
			send(p1, "old", 0) // before the group exists: skipped
			tr := newTracker()
			spec := consumerSpec(dest, tc.group, tr.handler())
			spec.Extension = map[string]any{"start-offset": "latest"}
			cons := startConsumer(t, b, spec)
			// The group is positioned once a probe arrives: records sent
			// before that may be skipped (latest), none after.
			deadline := time.Now().Add(faultTimeout)
			for i := 0; tr.received() == 0; i++ {
				if time.Now().After(deadline) {
					t.Fatal("no probe received")
				}
				send(p1, "probe-"+strconv.Itoa(i), 0)
				time.Sleep(50 * time.Millisecond) // probe pace; the loop ends on receipt
			}

			// Added while the group runs: the group rejoins after its
			// watch noticed; the join is held while records go to the new
			// partition, so they are there before the group is assigned it.
			arrived, release := holdRequestOf(t, c, kmsg.JoinGroup, func(g string) bool {
				return g == tc.group || tc.group == "" && strings.HasPrefix(g, "anonymous.")
			})
			p2 := bindProducer(t, b, dest, 2)
			waitClosed(t, arrived, "the group's rejoin")
			produce(ctx, t, p2, tr, "running", 10, 2, 0)
			release()
			produce(ctx, t, p2, tr, "after", 10, 2, 0)
			tr.waitAll(t, faultTimeout)
			// Partition 0's later records arrived, in order: "old" never will.
			tr.mu.Lock()
			old := tr.got["old"]
			tr.mu.Unlock()
			if old > 0 {
				t.Error("a record written before the group's first start was received: start-offset latest not honoured")
			}

			if tc.group == "" {
				return // an anonymous group is new at each Start
			}
			// Added while the group was stopped.
			sctx, scancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer scancel()
			if err := cons.Stop(sctx); err != nil {
				t.Fatal(err)
			}
			p3 := bindProducer(t, b, dest, 3)
			produce(ctx, t, p3, tr, "stopped", 9, 3, 0)
			if err := cons.Start(sctx); err != nil {
				t.Fatal(err)
			}
			produce(ctx, t, p3, tr, "restarted", 9, 3, 0)
			tr.waitAll(t, faultTimeout)
		})
	}
}

// TestLatestPositionIsCommitted: with start-offset latest, a partition
// that a new group starts at its end is committed there at once, though
// nothing was handled on it: after a restart the group resumes there — a
// record written to it while the group was stopped is received, and one
// written before the group's first start is not.
func TestLatestPositionIsCommitted(t *testing.T) {
	t.Parallel()
	c := kafkatest.Start(t)
	b := newWatchBinder(t, c)
	dest := uniqueTopic(t)
	p := bindProducer(t, b, dest, 2)
	ctx, cancel := context.WithTimeout(context.Background(), faultTimeout)
	defer cancel()
	send := func(id string, part int) {
		t.Helper()
		err := p.Send(ctx, stream.Envelope{Payload: []byte("{}"), Headers: stream.Headers{idHeader: id, stream.HeaderPartition: strconv.Itoa(part)}})
		if err != nil {
			t.Fatal(err)
		}
	}
	send("old", 1)
	tr := newTracker()
	spec := consumerSpec(dest, "g", tr.handler())
	spec.Extension = map[string]any{"start-offset": "latest"}
	cons := startConsumer(t, b, spec)
	deadline := time.Now().Add(faultTimeout)
	for i := 0; tr.received() == 0; i++ { // positioned once a probe arrives
		if time.Now().After(deadline) {
			t.Fatal("no probe received")
		}
		send("probe-"+strconv.Itoa(i), 0)
		time.Sleep(50 * time.Millisecond) // probe pace; the loop ends on receipt
	}
	if err := cons.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	produce(ctx, t, p, tr, "stopped", 10, 2, 0)
	if err := cons.Start(ctx); err != nil {
		t.Fatal(err)
	}
	produce(ctx, t, p, tr, "restarted", 10, 2, 0)
	tr.waitAll(t, faultTimeout)
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if tr.got["old"] > 0 {
		t.Error("a record of partition 1 written before the group's first start was received after a restart: the latest position was not kept")
	}
}
