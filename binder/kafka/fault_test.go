package kafka_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/streambind/streambind/binder/kafka/kafkatest"
	"github.com/streambind/streambind/stream"
)

const faultTimeout = 30 * time.Second

// failProduce makes the next n produce requests fail with code for every
// partition they carry, via kfake's Control; it returns how many failed.
func failProduce(c *kafkatest.Cluster, code *kerr.Error, n int64) *atomic.Int64 {
	var hits atomic.Int64
	c.Kfake.ControlKey(int16(kmsg.Produce), func(kr kmsg.Request) (kmsg.Response, error, bool) {
		c.Kfake.KeepControl()
		if hits.Load() >= n {
			c.Kfake.DropControl()
			return nil, nil, false
		}
		hits.Add(1)
		req := kr.(*kmsg.ProduceRequest)
		resp := req.ResponseKind().(*kmsg.ProduceResponse)
		for _, rt := range req.Topics {
			st := kmsg.NewProduceResponseTopic()
			st.Topic, st.TopicID = rt.Topic, rt.TopicID
			for _, rp := range rt.Partitions {
				sp := kmsg.NewProduceResponseTopicPartition()
				sp.Partition = rp.Partition
				sp.ErrorCode = code.Code
				st.Partitions = append(st.Partitions, sp)
			}
			resp.Topics = append(resp.Topics, st)
		}
		return resp, nil, true
	})
	return &hits
}

// TestFaultProduceErrors: retriable produce errors are retried by the
// writer; every confirmed message arrives.
func TestFaultProduceErrors(t *testing.T) {
	t.Parallel()
	for _, code := range []*kerr.Error{kerr.NotLeaderForPartition, kerr.RequestTimedOut} {
		t.Run(code.Message, func(t *testing.T) {
			c := kafkatest.Start(t)
			b := newBinder(t, c, nil)
			closeBinder(t, b)
			dest := uniqueTopic(t)
			tr := newTracker()
			p := bindProducer(t, b, dest, 3)
			startConsumer(t, b, consumerSpec(dest, "g", tr.handler()))
			produce(context.Background(), t, p, tr, "warm", 20, 3, 0)
			tr.waitReceived(t, 20, faultTimeout)
			hits := failProduce(c, code, 5)
			var wg sync.WaitGroup
			for g := range 4 {
				wg.Go(func() { produce(context.Background(), t, p, tr, "p"+strconv.Itoa(g), 150, 3, 0) })
			}
			wg.Wait()
			if hits.Load() == 0 {
				t.Fatal("no produce request was faulted")
			}
			t.Logf("%d produce requests failed with %s", hits.Load(), code.Message)
			tr.waitAll(t, faultTimeout)
		})
	}
}

// TestFaultDroppedConnection: the broker drops the connection of a
// produce and of a fetch request mid-stream; clients reconnect.
func TestFaultDroppedConnection(t *testing.T) {
	t.Parallel()
	c := kafkatest.Start(t)
	b := newBinder(t, c, nil)
	closeBinder(t, b)
	dest := uniqueTopic(t)
	tr := newTracker()
	p := bindProducer(t, b, dest, 2)
	startConsumer(t, b, consumerSpec(dest, "g", tr.handler()))
	produce(context.Background(), t, p, tr, "warm", 20, 2, 0)
	tr.waitReceived(t, 20, faultTimeout)
	var dropped atomic.Int64
	for _, key := range []kmsg.Key{kmsg.Produce, kmsg.Fetch} {
		var seen atomic.Int64
		c.Kfake.ControlKey(int16(key), func(kmsg.Request) (kmsg.Response, error, bool) {
			c.Kfake.KeepControl()
			if seen.Add(1) < 3 {
				return nil, nil, false
			}
			c.Kfake.DropControl()
			dropped.Add(1)
			return nil, errors.New("injected: connection dropped"), true
		})
	}
	produce(context.Background(), t, p, tr, "m", 400, 2, 200*time.Microsecond)
	tr.waitAll(t, faultTimeout)
	if dropped.Load() < 2 {
		t.Errorf("%d connections dropped, want 2", dropped.Load())
	}
}

// TestFaultClusterRestart: the cluster stops and starts again (same data
// directory and port) while producer and consumer run.
func TestFaultClusterRestart(t *testing.T) {
	t.Parallel()
	c := kafkatest.StartRestartable(t)
	b := newBinder(t, c, nil)
	closeBinder(t, b)
	dest := uniqueTopic(t)
	tr := newTracker()
	p := bindProducer(t, b, dest, 2)
	startConsumer(t, b, consumerSpec(dest, "g", tr.handler()))

	done, stop := produceUntilStopped(t, p, tr, "m", 1500, 2, 500*time.Microsecond)
	tr.waitReceived(t, 200, faultTimeout)
	c.Close()
	if err := c.Restart(); err != nil {
		t.Fatal(err)
	}
	t.Logf("cluster restarted at %s", c.Brokers())
	// Sent and received after the restart: then the rest of the 1500 need
	// not be sent.
	sent := tr.confirmed()
	tr.waitFor(t, "300 sent after the restart received", 90*time.Second, func() bool { return len(tr.sent) >= sent+300 })
	tr.waitReceived(t, sent+300, faultTimeout)
	stop()
	select {
	case <-done:
	case <-time.After(90 * time.Second):
		t.Fatal("producer did not finish")
	}
	tr.waitAll(t, faultTimeout)
}

// TestFaultRebalance: one consumer of a group, then three, then one again,
// while messages flow; nothing is lost and per-partition order is kept.
func TestFaultRebalance(t *testing.T) {
	t.Parallel()
	c := kafkatest.Start(t)
	b := newBinder(t, c, nil)
	closeBinder(t, b)
	dest := uniqueTopic(t)
	tr := newTracker()
	p := bindProducer(t, b, dest, 6)
	startConsumer(t, b, consumerSpec(dest, "g", tr.handler()))

	done, stop := produceUntilStopped(t, p, tr, "m", 3000, 6, 300*time.Microsecond)
	tr.waitReceived(t, 300, faultTimeout)
	var extra []stream.Consumer
	for range 2 {
		b2 := newBinder(t, c, nil)
		closeBinder(t, b2)
		extra = append(extra, startConsumer(t, b2, consumerSpec(dest, "g", tr.handler())))
	}
	t.Log("scaled to 3 consumers")
	tr.waitReceived(t, tr.received()+600, faultTimeout)
	for _, x := range extra {
		ctx, cancel := context.WithTimeout(context.Background(), faultTimeout)
		if err := x.Stop(ctx); err != nil {
			t.Errorf("stop: %v", err)
		}
		cancel()
	}
	t.Log("scaled back to 1 consumer")
	// The one consumer left gets 300 more; the rest of the 3000 need not
	// be sent.
	tr.waitReceived(t, tr.received()+300, faultTimeout)
	stop()
	<-done
	tr.waitAll(t, faultTimeout)
}

// TestFaultHandlerFailures: handler calls that fail with Nak (what the core
// returns for a panic interrupted mid-retry, or shutdown) are redelivered
// in order; the rest of the partition waits for them.
func TestFaultHandlerFailures(t *testing.T) {
	t.Parallel()
	c := kafkatest.Start(t)
	b := newBinder(t, c, nil)
	closeBinder(t, b)
	dest := uniqueTopic(t)
	tr := newTracker()
	var mu sync.Mutex
	fails := map[string]int{}
	last := map[string]int{} // partition -> last seq handled
	var violations []string
	h := func(_ context.Context, m stream.Envelope) error {
		id := m.Headers[idHeader]
		var seq int
		fmt.Sscanf(id, "m-%d", &seq)
		mu.Lock()
		defer mu.Unlock()
		if seq%37 == 5 && fails[id] < 2 {
			fails[id]++
			return fmt.Errorf("handler panicked: boom: %w", stream.ErrNak)
		}
		part := m.Headers[stream.HeaderPartition]
		if prev, ok := last[part]; ok && seq <= prev {
			violations = append(violations, fmt.Sprintf("partition %s: %d after %d", part, seq, prev))
		}
		last[part] = seq
		tr.receive(id)
		return nil
	}
	spec := consumerSpec(dest, "g", h)
	spec.Consumer.Concurrency = 3
	startConsumer(t, b, spec)
	p := bindProducer(t, b, dest, 3)
	produce(context.Background(), t, p, tr, "m", 300, 3, 0)
	tr.waitAll(t, faultTimeout)
	mu.Lock()
	defer mu.Unlock()
	if len(violations) > 0 {
		t.Errorf("order violations: %v", violations[:min(5, len(violations))])
	}
	for id, n := range fails {
		if n != 2 {
			t.Errorf("%s failed %d times, want 2", id, n)
		}
	}
}

// TestFaultPoisonMessage: a message whose handler fails for good goes to
// error.<destination>.<group> with the CONVENTIONS headers, on its source
// partition, while the partition keeps flowing.
func TestFaultPoisonMessage(t *testing.T) {
	t.Parallel()
	c := kafkatest.Start(t)
	b := newBinder(t, c, nil)
	closeBinder(t, b)
	dest := uniqueTopic(t)
	tr := newTracker()
	poison := map[string]bool{"m-7": true, "m-50": true}
	h := func(_ context.Context, m stream.Envelope) error {
		id := m.Headers[idHeader]
		if poison[id] {
			return stream.Permanent(fmt.Errorf("order %s: quantity must be positive", id))
		}
		tr.receive(id)
		return nil
	}
	spec := consumerSpec(dest, "payment", h)
	spec.Consumer.DLQ = true
	spec.Consumer.Concurrency = 3
	startConsumer(t, b, spec)

	type dead struct {
		env stream.Envelope
	}
	deadC := make(chan dead, 10)
	startConsumer(t, b, consumerSpec(stream.DLQName(dest, "payment"), "audit", func(_ context.Context, m stream.Envelope) error {
		deadC <- dead{env: m}
		return nil
	}))
	p := bindProducer(t, b, dest, 3)
	produce(context.Background(), t, p, tr, "m", 100, 3, 0)
	for id := range poison {
		tr.mu.Lock()
		delete(tr.sent, id)
		tr.mu.Unlock()
	}
	tr.waitAll(t, faultTimeout)
	got := map[string]stream.Envelope{}
	timeout := time.After(faultTimeout)
	for len(got) < len(poison) {
		select {
		case d := <-deadC:
			got[d.env.Headers[idHeader]] = d.env
		case <-timeout:
			t.Fatalf("dead letters: got %d, want %d", len(got), len(poison))
		}
	}
	for id := range poison {
		e, ok := got[id]
		if !ok {
			t.Errorf("%s not dead-lettered", id)
			continue
		}
		h := e.Headers
		if h[stream.HeaderOriginalTopic] != dest {
			t.Errorf("%s: x-original-topic %q, want %q", id, h[stream.HeaderOriginalTopic], dest)
		}
		part := h[stream.HeaderOriginalPartition]
		if len(part) != 4 {
			t.Errorf("%s: x-original-partition has %d bytes, want 4", id, len(part))
		} else {
			var seq int
			fmt.Sscanf(id, "m-%d", &seq)
			if p := binary.BigEndian.Uint32([]byte(part)); int(p) != seq%3 {
				t.Errorf("%s: x-original-partition %d, want %d", id, p, seq%3)
			}
		}
		if len(h[stream.HeaderOriginalOffset]) != 8 {
			t.Errorf("%s: x-original-offset has %d bytes, want 8", id, len(h[stream.HeaderOriginalOffset]))
		}
		if ts := h[stream.HeaderOriginalTimestamp]; len(ts) != 8 || time.Since(time.UnixMilli(int64(binary.BigEndian.Uint64([]byte(ts))))) > time.Minute {
			t.Errorf("%s: x-original-timestamp %x is not a recent 8-byte timestamp", id, ts)
		}
		if m := h[stream.HeaderExceptionMessage]; m == "" || h[stream.HeaderExceptionFQCN] == "" || h[stream.HeaderExceptionStacktrace] == "" {
			t.Errorf("%s: exception headers missing: %v", id, h)
		}
		if string(e.Payload) != `{"id":"`+id+`"}` {
			t.Errorf("%s: payload %q", id, e.Payload)
		}
	}
	tr.mu.Lock()
	for id := range poison {
		if tr.got[id] > 0 {
			t.Errorf("poison %s was acknowledged", id)
		}
	}
	tr.mu.Unlock()
}

// TestFaultShutdownMidStream: a consumer stopped mid-stream commits
// everything it processed: a new consumer of the group gets only the rest.
func TestFaultShutdownMidStream(t *testing.T) {
	t.Parallel()
	c := kafkatest.Start(t)
	b := newBinder(t, c, nil)
	closeBinder(t, b)
	dest := uniqueTopic(t)
	tr := newTracker()
	var first sync.Map
	var stopped atomic.Bool
	h := func(_ context.Context, m stream.Envelope) error {
		id := m.Headers[idHeader]
		if stopped.Load() {
			return fmt.Errorf("first consumer handled %s after Stop returned", id)
		}
		first.Store(id, true)
		tr.receive(id)
		return nil
	}
	spec := consumerSpec(dest, "g", h)
	spec.Consumer.Concurrency = 2
	c1 := startConsumer(t, b, spec)
	p := bindProducer(t, b, dest, 2)
	done, stop := produceUntilStopped(t, p, tr, "m", 2000, 2, 200*time.Microsecond)
	tr.waitReceived(t, 300, faultTimeout)
	sctx, scancel := context.WithTimeout(context.Background(), faultTimeout)
	if err := c1.Stop(sctx); err != nil {
		t.Fatalf("stop: %v", err)
	}
	scancel()
	stopped.Store(true)
	n1 := tr.received()

	var again, second atomic.Int64
	b2 := newBinder(t, c, nil)
	closeBinder(t, b2)
	startConsumer(t, b2, consumerSpec(dest, "g", func(_ context.Context, m stream.Envelope) error {
		id := m.Headers[idHeader]
		if _, ok := first.Load(id); ok {
			again.Add(1)
		}
		second.Add(1)
		tr.receive(id)
		return nil
	}))
	// The second consumer got 300 (from where the first committed): the
	// rest of the 2000 need not be sent.
	tr.waitFor(t, "300 received by the second consumer", faultTimeout, func() bool { return second.Load() >= 300 })
	stop()
	<-done
	tr.waitAll(t, faultTimeout)
	t.Logf("first consumer processed %d; %d of them were delivered again to the second", n1, again.Load())
	if again.Load() > 0 {
		t.Errorf("%d messages processed before Stop were delivered again: Stop did not commit them", again.Load())
	}
}
