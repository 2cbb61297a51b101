package kafka_test

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	kafkago "github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/streambind/streambind/binder/kafka/kafkatest"
	"github.com/streambind/streambind/stream"
)

// bindKeyedProducer binds a producer to a parts-partition topic that
// partitions by the envelope's key (no key expression).
func bindKeyedProducer(t testing.TB, b stream.Binder, dest string, parts int) stream.Producer {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	p, err := b.BindProducer(ctx, stream.ProducerSpec{Binding: "test-out-0", Destination: dest,
		ContentType: stream.DefaultContentType, Producer: stream.ProducerConfig{PartitionCount: parts}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close(context.Background()) })
	return p
}

// readPartition reads n records of one partition from its first offset.
func readPartition(t testing.TB, c *kafkatest.Cluster, topic string, part, n int) []kafkago.Message {
	t.Helper()
	// MaxWait is also the Reader's deadline for the fetch answer (of which
	// it keeps a quarter for the round trip): at 100ms a loaded machine's
	// answer of 1 MiB came too late every time, and the Reader read
	// nothing for 20s. With data there the broker answers at once anyway.
	r := kafkago.NewReader(kafkago.ReaderConfig{Brokers: c.Addrs(), Topic: topic, Partition: part,
		MinBytes: 1, MaxBytes: 1 << 20, MaxWait: time.Second})
	defer r.Close()
	var out []kafkago.Message
	for len(out) < n {
		// 20s for each record, not for all n: under load (avg 16 on 2
		// cores, -race) TestPipelinedClusterRestart read 11438 of its
		// 20000 outputs in 20s, well past the restart: slow, not stuck.
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		m, err := r.ReadMessage(ctx)
		cancel()
		if err != nil {
			t.Fatalf("partition %d: read %d of %d records: %v", part, len(out), n, err)
		}
		out = append(out, m)
	}
	return out
}

func header(m kafkago.Message, key string) string {
	for _, h := range m.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}

func toPartition(id string, part int) stream.Envelope {
	return stream.Envelope{Payload: []byte(id), Headers: stream.Headers{idHeader: id, stream.HeaderPartition: strconv.Itoa(part)}}
}

// TestProduceHeldPartition: while a batch of partition 0 is held by the
// broker, a lone send to partition 1 goes out at once and completes (a
// second request in flight to the same broker, no linger), and a later
// send to partition 0 waits: when the held request fails with a retriable
// error and is retried, the later record still lands after it.
func TestProduceHeldPartition(t *testing.T) {
	t.Parallel()
	c, dest, p, queued := warmProducer(t, 3, 2)
	ctx := context.Background()

	held, unblock := holdFirstProduce(t, c, func(req *kmsg.ProduceRequest) bool {
		hasP0 := false
		for _, rt := range req.Topics {
			for _, rp := range rt.Partitions {
				hasP0 = hasP0 || (rt.Topic == dest && rp.Partition == 0)
			}
		}
		return hasP0
	}, func(req *kmsg.ProduceRequest) kmsg.Response {
		// The held request fails as a whole, retriably.
		resp := req.ResponseKind().(*kmsg.ProduceResponse)
		for _, rt := range req.Topics {
			st := kmsg.NewProduceResponseTopic()
			st.Topic = rt.Topic
			for _, rp := range rt.Partitions {
				sp := kmsg.NewProduceResponseTopicPartition()
				sp.Partition = rp.Partition
				sp.ErrorCode = kerr.NotLeaderForPartition.Code
				st.Partitions = append(st.Partitions, sp)
			}
			resp.Topics = append(resp.Topics, st)
		}
		return resp
	})
	first := make(chan error, 1)
	go func() { first <- p.Send(ctx, toPartition("first", 0)) }()
	<-queued
	select {
	case <-held:
	case <-time.After(20 * time.Second):
		t.Fatal("the send to partition 0 never reached the broker")
	}
	second := make(chan error, 1)
	go func() { second <- p.Send(ctx, toPartition("second", 0)) }()
	<-queued

	lone, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := p.Send(lone, toPartition("lone", 1)); err != nil {
		t.Fatalf("a send to partition 1 while partition 0 is held: %v", err)
	}
	<-queued
	select {
	case err := <-first:
		t.Fatalf("the held send returned before it was released: %v", err)
	case err := <-second:
		t.Fatalf("a later send to the held partition returned first: %v", err)
	default:
	}
	unblock()
	for name, ch := range map[string]chan error{"first": first, "second": second} {
		select {
		case err := <-ch:
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("%s: no outcome", name)
		}
	}
	got := readPartition(t, c, dest, 0, 2)
	if a, b := header(got[0], idHeader), header(got[1], idHeader); a != "first" || b != "second" {
		t.Fatalf("partition 0 holds %q then %q, want first then second", a, b)
	}
	if got := readPartition(t, c, dest, 1, 1); header(got[0], idHeader) != "lone" {
		t.Fatalf("partition 1 holds %q", header(got[0], idHeader))
	}
}

// TestProduceLoneSend: one send to an idle producer completes without
// waiting for other sends to fill a batch (batch-size is large, no
// batch-timeout); the deadline is generous, it only catches a send that
// waits for company.
func TestProduceLoneSend(t *testing.T) {
	t.Parallel()
	c := kafkatest.Start(t)
	b := newBinder(t, c, nil)
	closeBinder(t, b)
	dest := uniqueTopic(t)
	p := bindKeyedProducer(t, b, dest, 3)
	for i := range 3 {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := p.Send(ctx, stream.Envelope{Key: []byte("k" + strconv.Itoa(i)), Payload: []byte("x")})
		cancel()
		if err != nil {
			t.Fatalf("lone send %d: %v", i, err)
		}
	}
}

// TestProduceMultiplePartitions: concurrent sends spread over every
// partition all complete, each record on the partition it asked for, with
// its contentType and a distinct random UUID as its id.
func TestProduceMultiplePartitions(t *testing.T) {
	t.Parallel()
	const parts, perPart = 3, 40
	c := kafkatest.Start(t)
	b := newBinder(t, c, nil)
	closeBinder(t, b)
	dest := uniqueTopic(t)
	p := bindProducer(t, b, dest, parts)
	var wg sync.WaitGroup
	for i := range parts * perPart {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			if err := p.Send(ctx, toPartition("m"+strconv.Itoa(i), i%parts)); err != nil {
				t.Errorf("send %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	ids := map[string]bool{}
	for part := range parts {
		for _, m := range readPartition(t, c, dest, part, perPart) {
			n, err := strconv.Atoi(header(m, idHeader)[1:])
			if err != nil || n%parts != part {
				t.Fatalf("partition %d holds %q", part, header(m, idHeader))
			}
			if id, err := uuid.Parse(header(m, stream.HeaderID)); err != nil || id.Version() != 4 || id.Variant() != uuid.RFC4122 || len(header(m, stream.HeaderID)) != 36 {
				t.Fatalf("id header %q is not a random UUID: %v", header(m, stream.HeaderID), err)
			}
			if ids[header(m, stream.HeaderID)] {
				t.Fatalf("id %s twice", header(m, stream.HeaderID))
			}
			ids[header(m, stream.HeaderID)] = true
			if ct := header(m, stream.HeaderContentType); ct != stream.DefaultContentType {
				t.Fatalf("contentType header %q", ct)
			}
		}
	}
}

// TestProduceOrderPerKey: 12 concurrent senders, one key each, each sending
// its sequence one send after the other over a 3-partition topic while
// produce requests fail retriably now and then: every record arrives, and
// each key's records are in sequence in their partition.
func TestProduceOrderPerKey(t *testing.T) {
	t.Parallel()
	const senders, perSender, parts = 12, 60, 3
	c := kafkatest.Start(t)
	b := newBinder(t, c, nil)
	closeBinder(t, b)
	dest := uniqueTopic(t)
	p := bindKeyedProducer(t, b, dest, parts)
	// Every 4th produce request fails for all its partitions, 20 times.
	var n, hits atomic.Int64
	c.Kfake.ControlKey(int16(kmsg.Produce), func(kr kmsg.Request) (kmsg.Response, error, bool) {
		c.Kfake.KeepControl()
		if n.Add(1)%4 != 0 || hits.Load() >= 20 {
			return nil, nil, false
		}
		hits.Add(1)
		req := kr.(*kmsg.ProduceRequest)
		resp := req.ResponseKind().(*kmsg.ProduceResponse)
		for _, rt := range req.Topics {
			st := kmsg.NewProduceResponseTopic()
			st.Topic = rt.Topic
			for _, rp := range rt.Partitions {
				sp := kmsg.NewProduceResponseTopicPartition()
				sp.Partition = rp.Partition
				sp.ErrorCode = kerr.NotLeaderForPartition.Code
				st.Partitions = append(st.Partitions, sp)
			}
			resp.Topics = append(resp.Topics, st)
		}
		return resp, nil, true
	})
	var wg sync.WaitGroup
	for g := range senders {
		wg.Go(func() {
			key := []byte("key-" + strconv.Itoa(g))
			for i := range perSender {
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				err := p.Send(ctx, stream.Envelope{Key: key, Payload: []byte(strconv.Itoa(i))})
				cancel()
				if err != nil {
					t.Errorf("%s #%d: %v", key, i, err)
					return
				}
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	if hits.Load() == 0 {
		t.Fatal("no produce request was faulted")
	}
	// Where each key's records went: count per partition from the balancer
	// is not known here, so read everything the partitions hold.
	total := 0
	next := map[string]int{}
	for part := range parts {
		cl := &kafkago.Client{Addr: kafkago.TCP(c.Addrs()...)}
		offs, err := cl.ListOffsets(context.Background(), &kafkago.ListOffsetsRequest{Topics: map[string][]kafkago.OffsetRequest{
			dest: {kafkago.LastOffsetOf(part)}}})
		if err != nil {
			t.Fatal(err)
		}
		end := int(offs.Topics[dest][0].LastOffset)
		total += end
		for _, m := range readPartition(t, c, dest, part, end) {
			k := string(m.Key)
			seq, _ := strconv.Atoi(string(m.Value))
			if seq != next[k] {
				t.Fatalf("partition %d: %s has #%d where #%d was due", part, k, seq, next[k])
			}
			next[k]++
		}
	}
	if total != senders*perSender {
		t.Fatalf("%d records, want %d", total, senders*perSender)
	}
	t.Logf("%d produce requests failed and were retried", hits.Load())
}

// produceBatches records the number of records of each batch of topic that
// kfake receives, per partition, in order.
type produceBatches struct {
	mu      sync.Mutex
	batches map[int32][]int
}

func observeBatches(c *kafkatest.Cluster, topic string) *produceBatches {
	o := &produceBatches{batches: map[int32][]int{}}
	c.Kfake.ControlKey(int16(kmsg.Produce), func(kr kmsg.Request) (kmsg.Response, error, bool) {
		c.Kfake.KeepControl()
		req := kr.(*kmsg.ProduceRequest)
		o.mu.Lock()
		defer o.mu.Unlock()
		for _, rt := range req.Topics {
			for _, rp := range rt.Partitions {
				var rb kmsg.RecordBatch
				if rt.Topic == topic && rb.ReadFrom(rp.Records) == nil {
					o.batches[rp.Partition] = append(o.batches[rp.Partition], int(rb.NumRecords))
				}
			}
		}
		return nil, nil, false
	})
	return o
}

func (o *produceBatches) get(part int32) []int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]int(nil), o.batches[part]...)
}

// TestProduceLingerAndBatchSize: with batch-timeout (linger.ms) a
// partition's records wait for company, up to batch-size records a batch:
// 5 concurrent sends with a long linger and batch-size 2 go out as batches
// of 2, 2 and 1 (the full ones at once, the last after the linger).
func TestProduceLingerAndBatchSize(t *testing.T) {
	t.Parallel()
	c := kafkatest.Start(t)
	b := newBinder(t, c, nil)
	closeBinder(t, b)
	dest := uniqueTopic(t)
	obs := observeBatches(c, dest)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	p, err := b.BindProducer(ctx, stream.ProducerSpec{Binding: "linger-out-0", Destination: dest,
		Extension: map[string]any{"batch-timeout": "2s", "batch-size": 2}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close(context.Background()) })
	var wg sync.WaitGroup
	for i := range 5 {
		wg.Go(func() {
			if err := p.Send(ctx, stream.Envelope{Payload: []byte(strconv.Itoa(i))}); err != nil {
				t.Errorf("send %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	got := obs.get(0)
	if len(got) != 3 || got[0] != 2 || got[1] != 2 || got[2] != 1 {
		t.Fatalf("batches of %v records; want [2 2 1]", got)
	}
}

// TestProduceAcksNone: with required-acks 0 the broker sends no response;
// sends complete once written and the records arrive.
func TestProduceAcksNone(t *testing.T) {
	t.Parallel()
	c := kafkatest.Start(t)
	b := newBinder(t, c, map[string]any{"required-acks": "0"})
	closeBinder(t, b)
	dest := uniqueTopic(t)
	p := bindProducer(t, b, dest, 3)
	var wg sync.WaitGroup
	for i := range 30 {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			if err := p.Send(ctx, toPartition("m"+strconv.Itoa(i), i%3)); err != nil {
				t.Errorf("send %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	for part := range 3 {
		readPartition(t, c, dest, part, 10)
	}
}

// TestProduceSeveralBrokers: on a 3-broker cluster the partitions' leaders
// differ, so each broker gets its own requests; concurrent sends over 6
// partitions all complete, each record on the partition it asked for.
func TestProduceSeveralBrokers(t *testing.T) {
	t.Parallel()
	const parts, perPart = 6, 20
	c := kafkatest.Start(t, kfake.NumBrokers(3))
	b := newBinder(t, c, nil)
	closeBinder(t, b)
	dest := uniqueTopic(t)
	// kfake picks each partition's leader at random (all six on one
	// broker in about 1 of 243 runs): spread them.
	createTopic(t, c, dest, parts, nil)
	for part := range int32(parts) {
		if err := c.Kfake.MoveTopicPartition(dest, part, part%3); err != nil {
			t.Fatalf("move %s[%d] to broker %d: %v", dest, part, part%3, err)
		}
	}
	p := bindProducer(t, b, dest, parts)
	md, err := (&kafkago.Client{Addr: kafkago.TCP(c.Addrs()...)}).Metadata(context.Background(), &kafkago.MetadataRequest{Topics: []string{dest}})
	if err != nil {
		t.Fatal(err)
	}
	leaders := map[int]bool{}
	for _, pt := range md.Topics[0].Partitions {
		leaders[pt.Leader.ID] = true
	}
	if len(leaders) < 2 {
		t.Fatalf("the partitions have %d leader(s); the test needs several", len(leaders))
	}
	var wg sync.WaitGroup
	for i := range parts * perPart {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			if err := p.Send(ctx, toPartition("m"+strconv.Itoa(i), i%parts)); err != nil {
				t.Errorf("send %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	for part := range parts {
		for _, m := range readPartition(t, c, dest, part, perPart) {
			if n, err := strconv.Atoi(header(m, idHeader)[1:]); err != nil || n%parts != part {
				t.Fatalf("partition %d holds %q", part, header(m, idHeader))
			}
		}
	}
}

// TestProduceCloseBounded: a producer whose request the broker holds
// closes within its context's deadline; the waiting send fails and later
// sends are refused with stream.ErrClosed.
func TestProduceCloseBounded(t *testing.T) {
	t.Parallel()
	c := kafkatest.Start(t)
	b := newBinder(t, c, nil)
	dest := uniqueTopic(t)
	p := bindProducer(t, b, dest, 1)
	if err := p.Send(context.Background(), toPartition("warm", 0)); err != nil {
		t.Fatal(err)
	}
	held := make(chan struct{})
	release := make(chan struct{})
	var once atomic.Bool
	c.Kfake.ControlKey(int16(kmsg.Produce), func(kmsg.Request) (kmsg.Response, error, bool) {
		c.Kfake.KeepControl()
		if once.CompareAndSwap(false, true) {
			close(held)
			c.Kfake.SleepControl(func() { <-release })
		}
		return nil, nil, false
	})
	// Released before the cluster closes (cleanups run last first).
	t.Cleanup(func() { close(release) })
	sent := make(chan error, 1)
	go func() { sent <- p.Send(context.Background(), toPartition("held", 0)) }()
	select {
	case <-held:
	case <-time.After(20 * time.Second):
		t.Fatal("the send never reached the broker")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	closed := make(chan error, 1)
	go func() { closed <- p.Close(ctx) }()
	select {
	case err := <-closed:
		if err == nil {
			t.Error("Close returned nil although a send was still waiting for the broker")
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Close did not return after its context ended")
	}
	select {
	case err := <-sent:
		if err == nil {
			t.Error("the held send succeeded")
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the held send did not return after Close")
	}
	if err := p.Send(context.Background(), toPartition("late", 0)); !errors.Is(err, stream.ErrClosed) {
		t.Errorf("send after Close: %v; want stream.ErrClosed", err)
	}
	_ = b.Close(context.Background())
}
