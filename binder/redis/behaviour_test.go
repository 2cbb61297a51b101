package redis_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	redisbinder "github.com/streambind/streambind/binder/redis"
	"github.com/streambind/streambind/binder/redis/redistest"
	"github.com/streambind/streambind/stream"
)

// TestPartitionedInstances: a partitioned producer writes <destination>:<n>
// streams; instance i of 2 partitioned consumers of a group reads the
// partitions p with p % 2 == i (instance 0 also the destination's own
// stream), and an unpartitioned consumer of another group reads them all.
func TestPartitionedInstances(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.binder(t, nil)
	const parts = 4
	p := bindProducer(t, b, stream.ProducerSpec{Destination: "part", Producer: stream.ProducerConfig{PartitionCount: parts, PartitionKeyExpression: "key"}})
	var mu sync.Mutex
	got := map[int]map[string]bool{} // instance → partition headers seen
	trs := []*tracker{newTracker(), newTracker()}
	for i := range 2 {
		got[i] = map[string]bool{}
		bindConsumer(t, b, stream.ConsumerSpec{Destination: "part", Group: "g",
			Consumer: stream.ConsumerConfig{Partitioned: true, InstanceIndex: i, InstanceCount: 2},
			Handler: func(_ context.Context, m stream.Envelope) error {
				mu.Lock()
				got[i][m.Headers[stream.HeaderPartition]] = true
				mu.Unlock()
				trs[i].receive(m.Headers[idHeader])
				return nil
			}})
	}
	all := newTracker()
	bindConsumer(t, b, stream.ConsumerSpec{Destination: "part", Group: "all",
		Handler: func(_ context.Context, m stream.Envelope) error { all.receive(m.Headers[idHeader]); return nil }})
	ctx := context.Background()
	var byInstance [2][]string
	var sent []string
	for i := range 40 {
		part := i % parts
		m := msg("m-" + itoa(i))
		m.Headers[stream.HeaderPartition] = itoa(part)
		if err := p.Send(ctx, m); err != nil {
			t.Fatal(err)
		}
		byInstance[part%2] = append(byInstance[part%2], "m-"+itoa(i))
		sent = append(sent, "m-"+itoa(i))
	}
	// Without a partition: the destination's own stream, read by instance 0.
	unp := bindProducer(t, b, stream.ProducerSpec{Binding: "plain-out-0", Destination: "part"})
	send(t, unp, []string{"plain"})
	byInstance[0] = append(byInstance[0], "plain")
	sent = append(sent, "plain")
	for i := range 2 {
		trs[i].wait(t, byInstance[i], 10*time.Second)
	}
	all.wait(t, sent, 10*time.Second)
	mu.Lock()
	defer mu.Unlock()
	for i := range 2 {
		for h := range got[i] {
			if h != "" && (h[0]-'0')%2 != byte(i) {
				t.Errorf("instance %d received a message of partition %s", i, h)
			}
		}
		if n := trs[i].count(byInstance[1-i]); n > 0 {
			t.Errorf("instance %d received %d messages of the other instance", i, n)
		}
	}
}

// TestLateProducerPartitions: a consumer bound before the destination had
// partitions picks up partitions a producer registers later, from their
// first entry.
func TestLateProducerPartitions(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.binder(t, nil)
	tr := newTracker()
	bindConsumer(t, b, stream.ConsumerSpec{Destination: "late", Group: "g",
		Handler: func(_ context.Context, m stream.Envelope) error { tr.receive(m.Headers[idHeader]); return nil }})
	p := bindProducer(t, e.binder(t, nil), stream.ProducerSpec{Destination: "late", Producer: stream.ProducerConfig{PartitionCount: 3, PartitionKeyExpression: "key"}})
	var sent []string
	for i := range 30 {
		m := msg("m-" + itoa(i))
		m.Headers[stream.HeaderPartition] = itoa(i % 3)
		if err := p.Send(context.Background(), m); err != nil {
			t.Fatal(err)
		}
		sent = append(sent, "m-"+itoa(i))
	}
	tr.wait(t, sent, 10*time.Second)
}

// TestDeadLetterFitted: a poison message whose dead letter would exceed
// dead-letter-max-size is dead-lettered without its payload (headers that
// locate it, and why), counted; the messages behind it flow.
func TestDeadLetterFitted(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.binder(t, map[string]any{"dead-letter-max-size": 4096})
	dead := newTracker()
	var dl stream.Envelope
	var dmu sync.Mutex
	bindConsumer(t, b, stream.ConsumerSpec{Binding: "dlq-in-0", Destination: stream.DLQName("fit", "g"), Group: "r",
		Handler: func(_ context.Context, m stream.Envelope) error {
			dmu.Lock()
			dl = m
			dmu.Unlock()
			dead.receive(m.Headers[idHeader])
			return nil
		}})
	tr := newTracker()
	c := bindConsumer(t, b, stream.ConsumerSpec{Destination: "fit", Group: "g", Consumer: stream.ConsumerConfig{DLQ: true},
		Handler: func(_ context.Context, m stream.Envelope) error {
			if m.Headers[idHeader] == "poison" {
				return errors.New("poison: " + strings.Repeat("very long reason ", 200))
			}
			tr.receive(m.Headers[idHeader])
			return nil
		}})
	p := bindProducer(t, b, stream.ProducerSpec{Destination: "fit"})
	poison := msg("poison")
	poison.Payload = []byte(strings.Repeat("x", 5000))
	if err := p.Send(context.Background(), poison); err != nil {
		t.Fatal(err)
	}
	valid := ids("v", 100)
	send(t, p, valid)
	tr.wait(t, valid, 10*time.Second)
	dead.wait(t, []string{"poison"}, 10*time.Second)
	dmu.Lock()
	defer dmu.Unlock()
	if len(dl.Payload) != 0 {
		t.Errorf("dead letter kept its %d-byte payload over dead-letter-max-size 4096", len(dl.Payload))
	}
	for _, h := range []string{stream.HeaderExceptionMessage, stream.HeaderOriginalTopic, redisbinder.HeaderOriginalStream, redisbinder.HeaderOriginalID, stream.HeaderTruncated} {
		if dl.Headers[h] == "" {
			t.Errorf("dead letter has no %s: %v", h, dl.Headers)
		}
	}
	if !strings.Contains(dl.Headers[stream.HeaderTruncated], "payload") {
		t.Errorf("%s = %q, want it to name payload", stream.HeaderTruncated, dl.Headers[stream.HeaderTruncated])
	}
	st := c.(stream.DeadLetterReporter).DeadLetterStats()
	if st.Truncated != 1 || st.HeadersOnly != 1 || st.Dropped != 0 {
		t.Errorf("dead-letter stats %+v, want 1 truncated, 1 headers-only", st)
	}
}

// TestDeadLetterRefused: a dead-letter stream Redis refuses for good (its
// key holds another type) drops the message with a count; the stream flows.
func TestDeadLetterRefused(t *testing.T) {
	e := newEnv(t)
	admin := redistest.Client(t, redistest.Addr(), "", "")
	b := e.binder(t, nil)
	if err := admin.Set(context.Background(), redisbinder.StreamKey(e.prefix, stream.DLQName("refused", "g"), -1), "not a stream", 0).Err(); err != nil {
		t.Fatal(err)
	}
	tr := newTracker()
	var calls sync.Map
	c := bindConsumer(t, b, stream.ConsumerSpec{Destination: "refused", Group: "g", Consumer: stream.ConsumerConfig{DLQ: true},
		Handler: func(_ context.Context, m stream.Envelope) error {
			n, _ := calls.LoadOrStore(m.Headers[idHeader], new(int))
			*n.(*int)++
			if m.Headers[idHeader] == "poison" {
				return errors.New("poison")
			}
			tr.receive(m.Headers[idHeader])
			return nil
		}})
	p := bindProducer(t, b, stream.ProducerSpec{Destination: "refused"})
	send(t, p, []string{"poison"})
	valid := ids("v", 20)
	send(t, p, valid)
	tr.wait(t, valid, 10*time.Second)
	waitFor(t, 5*time.Second, "the drop to be counted", func() bool {
		return c.(stream.DeadLetterReporter).DeadLetterStats().Dropped == 1
	})
	if n, _ := calls.Load("poison"); *n.(*int) != 1 {
		t.Errorf("poison handled %d times, want once", *n.(*int))
	}
}

// TestMaxDeliveries: an entry Redis has delivered more than
// max-deliveries times (a poison that crashes every member that takes it)
// is dead-lettered when it is reclaimed, without being handled again.
func TestMaxDeliveries(t *testing.T) {
	e := newEnv(t)
	admin := redistest.Client(t, redistest.Addr(), "", "")
	ctx := context.Background()
	b := e.binder(t, nil)
	p := bindProducer(t, b, stream.ProducerSpec{Destination: "md", Producer: stream.ProducerConfig{RequiredGroups: []string{"g"}}})
	send(t, p, []string{"crasher"})
	key := redisbinder.StreamKey(e.prefix, "md", -1)
	// A member takes it and dies, four times over.
	res, err := admin.XReadGroup(ctx, &goredis.XReadGroupArgs{Group: "g", Consumer: "dead-1", Streams: []string{key, ">"}, Count: 1, Block: -1}).Result()
	if err != nil || len(res[0].Messages) != 1 {
		t.Fatalf("XREADGROUP: %v %v", res, err)
	}
	id := res[0].Messages[0].ID
	for i := 2; i <= 4; i++ {
		if err := admin.XClaim(ctx, &goredis.XClaimArgs{Stream: key, Group: "g", Consumer: "dead-" + itoa(i), Messages: []string{id}}).Err(); err != nil {
			t.Fatal(err)
		}
	}
	dead := newTracker()
	var dl stream.Envelope
	var mu sync.Mutex
	bindConsumer(t, b, stream.ConsumerSpec{Binding: "dlq-in-0", Destination: stream.DLQName("md", "g"), Group: "r",
		Handler: func(_ context.Context, m stream.Envelope) error {
			mu.Lock()
			dl = m
			mu.Unlock()
			dead.receive(m.Headers[idHeader])
			return nil
		}})
	var handled sync.Map
	bindConsumer(t, b, stream.ConsumerSpec{Destination: "md", Group: "g", Consumer: stream.ConsumerConfig{DLQ: true},
		Extension: map[string]any{"max-deliveries": 3, "claim-min-idle": "100ms", "claim-interval": "100ms"},
		Handler: func(_ context.Context, m stream.Envelope) error {
			handled.Store(m.Headers[idHeader], true)
			return nil
		}})
	dead.wait(t, []string{"crasher"}, 10*time.Second)
	if _, ok := handled.Load("crasher"); ok {
		t.Error("an entry delivered more than max-deliveries times was handled again")
	}
	mu.Lock()
	defer mu.Unlock()
	if got := dl.Headers[redisbinder.HeaderOriginalDeliveries]; got != "5" {
		t.Errorf("%s = %q, want 5 (four members, then the reclaim)", redisbinder.HeaderOriginalDeliveries, got)
	}
	if !strings.Contains(dl.Headers[stream.HeaderExceptionMessage], "max-deliveries") {
		t.Errorf("dead letter reason %q", dl.Headers[stream.HeaderExceptionMessage])
	}
	waitFor(t, 5*time.Second, "nothing pending", func() bool {
		s, err := admin.XPending(ctx, key, "g").Result()
		return err == nil && s.Count == 0
	})
}

// TestForeignEntries: entries another program wrote without a payload
// field arrive as a JSON object of their fields; the wire format of the
// binder's own entries is documented (h:<header>, key, payload).
func TestForeignEntries(t *testing.T) {
	e := newEnv(t)
	admin := redistest.Client(t, redistest.Addr(), "", "")
	b := e.binder(t, nil)
	got := make(chan stream.Envelope, 2)
	bindConsumer(t, b, stream.ConsumerSpec{Destination: "foreign", Group: "g",
		Handler: func(_ context.Context, m stream.Envelope) error { got <- m; return nil }})
	key := redisbinder.StreamKey(e.prefix, "foreign", -1)
	if err := admin.XAdd(context.Background(), &goredis.XAddArgs{Stream: key, Values: []any{"sku", "42", "qty", "1"}}).Err(); err != nil {
		t.Fatal(err)
	}
	m := <-got
	if string(m.Payload) != `{"qty":"1","sku":"42"}` || m.ContentType("") != "application/json" {
		t.Errorf("foreign entry: payload %s, content type %q", m.Payload, m.ContentType(""))
	}
	p := bindProducer(t, b, stream.ProducerSpec{Destination: "foreign", ContentType: "text/plain"})
	if err := p.Send(context.Background(), stream.Envelope{Payload: []byte("hi"), Key: []byte("k1"), Headers: stream.Headers{"x-a": "1"}}); err != nil {
		t.Fatal(err)
	}
	<-got
	es, err := admin.XRevRangeN(context.Background(), key, "+", "-", 1).Result()
	if err != nil {
		t.Fatal(err)
	}
	v := es[0].Values
	if v["payload"] != "hi" || v["key"] != "k1" || v["h:x-a"] != "1" || v["h:contentType"] != "text/plain" || v["h:id"] == nil {
		t.Errorf("entry fields %v", v)
	}
}

// TestWaitReplicas: with wait-replicas, a send on a server without
// replicas fails after wait-timeout (the entry is stored, the error says
// so), and is not permanent.
func TestWaitReplicas(t *testing.T) {
	s := redistest.StartServer(t)
	b := newBinder(t, map[string]any{"address": s.Addr()})
	p := bindProducer(t, b, stream.ProducerSpec{Destination: "w", Extension: map[string]any{"wait-replicas": 1, "wait-timeout": "200ms"}})
	start := time.Now()
	err := p.Send(context.Background(), msg("x"))
	if err == nil || stream.IsPermanent(err) || !strings.Contains(err.Error(), "0 of 1 replicas") {
		t.Fatalf("send with wait-replicas 1 and no replica: %v", err)
	}
	if d := time.Since(start); d < 200*time.Millisecond || d > 3*time.Second {
		t.Errorf("send returned after %s, want about wait-timeout (200ms)", d)
	}
}

// TestSeveralDestinations: a consumer binding of "a,b" reads both.
func TestSeveralDestinations(t *testing.T) {
	e := newEnv(t)
	b := e.binder(t, nil)
	tr := newTracker()
	c := bindConsumer(t, b, stream.ConsumerSpec{Destination: "two-a, two-b", Group: "g", Consumer: stream.ConsumerConfig{DLQ: true},
		Handler: func(_ context.Context, m stream.Envelope) error { tr.receive(m.Headers[idHeader]); return nil }})
	if _, ok := c.(stream.DeadLetterReporter); !ok {
		t.Error("a binding of several destinations does not report dead-letter counts")
	}
	send(t, bindProducer(t, b, stream.ProducerSpec{Binding: "a-out-0", Destination: "two-a"}), []string{"a1", "a2"})
	send(t, bindProducer(t, b, stream.ProducerSpec{Binding: "b-out-0", Destination: "two-b"}), []string{"b1"})
	tr.wait(t, []string{"a1", "a2", "b1"}, 10*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, op := range []func(context.Context) error{c.Pause, c.Resume, c.Stop, c.Start} {
		if err := op(ctx); err != nil {
			t.Fatal(err)
		}
	}
	send(t, bindProducer(t, b, stream.ProducerSpec{Binding: "b2-out-0", Destination: "two-b"}), []string{"b2"})
	tr.wait(t, []string{"b2"}, 10*time.Second)
}

// TestAckNotHeldBySlowHandler: at concurrency 1 the acknowledgements of a
// reply's entries are gathered to go out together, but not held while a
// later entry of the reply is handled for long: the first entry is
// acknowledged while the second's handler still runs, though intake does
// not read again meanwhile: while it waits for room (a reply of more than
// half of prefetch, 128) the linger timer sends it; while it waits in its
// blocking read (2 s; nothing more to read), the handler's flush at the
// end of the reply, or the timer. The keeper, which flushes them at each
// tick too, is kept out of the way (claim-min-idle 60s: a tick every 20s).
func TestAckNotHeldBySlowHandler(t *testing.T) {
	for _, tc := range []struct {
		name string
		n    int
	}{{"intake waits for room", 100}, {"intake in its blocking read", 2}} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			release := make(chan struct{})
			defer close(release)
			slow := make(chan struct{}, 1)
			p := bindProducer(t, e.binder(t, nil), stream.ProducerSpec{Destination: "ackslow", Producer: stream.ProducerConfig{RequiredGroups: []string{"g"}}})
			// Sent before the consumer starts: read in one reply.
			sent := ids("s", tc.n)
			send(t, p, sent)
			bindConsumer(t, e.binder(t, nil), stream.ConsumerSpec{Destination: "ackslow", Group: "g", Extension: slowKeeper,
				Handler: func(ctx context.Context, m stream.Envelope) error {
					if m.Headers[idHeader] == sent[1] {
						slow <- struct{}{}
						select {
						case <-release:
						case <-ctx.Done():
						}
					}
					return nil
				}})
			select {
			case <-slow:
			case <-time.After(10 * time.Second):
				t.Fatal("the second entry's handler did not start")
			}
			key := redisbinder.StreamKey(e.prefix, "ackslow", -1)
			waitFor(t, 5*time.Second, "the first entry's acknowledgement", func() bool { return pending(t, key, "g") == int64(tc.n-1) })
		})
	}
}

// Stop of a consumer waiting in a blocking read (XREADGROUP BLOCK, the
// binder's 2 s, or XREAD for an anonymous one) ends the read at once with
// CLIENT UNBLOCK, round after round on the same reader. It used to wait
// out the block time: the id unblocked was another pool connection's than
// the one reading.
func TestStopEndsBlockedRead(t *testing.T) {
	redistest.Require(t)
	for _, group := range []string{"g", ""} {
		t.Run("group="+group, func(t *testing.T) {
			ctx := context.Background()
			e := env{prefix: redistest.Prefix(t), name: "sbstop"}
			bd := e.binder(t, nil)
			got := make(chan struct{}, 1024)
			p := bindProducer(t, bd, stream.ProducerSpec{Destination: "stop"})
			cons := bindConsumer(t, bd, stream.ConsumerSpec{Destination: "stop", Group: group,
				Handler: func(context.Context, stream.Envelope) error { got <- struct{}{}; return nil }})
			for round := range 5 {
				if round > 0 {
					if err := cons.Start(ctx); err != nil {
						t.Fatal(err)
					}
				}
				// Messages handled: intake has read (reads with acknowledgements
				// pipelined among them) and is in its next, blocking read or
				// about to be. An anonymous consumer reads from the newest
				// entry on: the first sends may go before its first read.
				deadline := time.After(10 * time.Second)
				sent := 0
				for handled := 0; handled < 100; {
					if handled == sent {
						sent += 25
						for range 25 {
							if err := p.Send(ctx, stream.Envelope{Payload: []byte("x")}); err != nil {
								t.Fatal(err)
							}
						}
					}
					select {
					case <-got:
						handled++
					case <-time.After(100 * time.Millisecond):
						sent = handled // sent before an anonymous consumer's first read: send more
					case <-deadline:
						t.Fatalf("round %d: %d handled", round, handled)
					}
				}
				start := time.Now()
				if err := cons.Stop(ctx); err != nil {
					t.Fatal(err)
				}
				// Well below the 2 s block time the read would otherwise last.
				if took := time.Since(start); took > time.Second {
					t.Fatalf("round %d: Stop took %v: the blocked read was not ended", round, took)
				}
				for len(got) > 0 {
					<-got
				}
			}
		})
	}
}
