package kafka_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/streambind/streambind/binder/kafka"
	"github.com/streambind/streambind/binder/kafka/kafkatest"
	"github.com/streambind/streambind/stream"
)

// Pipelined processing (issue 10) through a stream.App: a function from a
// 3-partition input topic, keyed, to a 1-partition output topic (one
// total order of outputs, so that the order per key can be read off it).

const (
	pipeParts   = 3
	pipeKeys    = 6
	pipeTimeout = 60 * time.Second
)

// pipeInput is input i: key k<i%pipeKeys>, value "k<key>:<seq>" with seq
// the message's place among its key's messages; the key picks the
// partition (key index mod pipeParts), so a partition's offsets follow the
// order of writing.
func pipeInput(i int) kafkago.Message {
	k := i % pipeKeys
	return kafkago.Message{Key: []byte("k" + strconv.Itoa(k)), Value: []byte(fmt.Sprintf("k%d:%d", k, i/pipeKeys)), Partition: k % pipeParts}
}

// pipeWriter writes inputs in order, recording each one's (partition,
// offset) as the inputs are written one writer call after another to a
// new topic.
type pipeWriter struct {
	w    *kafkago.Writer
	mu   sync.Mutex
	next [pipeParts]int64
	at   map[string][2]int64 // value → partition, offset
	n    int
}

func newPipeWriter(c *kafkatest.Cluster, topic string) *pipeWriter {
	return &pipeWriter{
		w: &kafkago.Writer{Addr: kafkago.TCP(c.Addrs()...), Topic: topic, BatchTimeout: time.Millisecond, BatchSize: 10000,
			RequiredAcks: kafkago.RequireAll, Transport: &kafkago.Transport{},
			Balancer: kafkago.BalancerFunc(func(m kafkago.Message, _ ...int) int { return m.Partition })},
		at: map[string][2]int64{},
	}
}

// write writes the next n inputs.
func (pw *pipeWriter) write(t testing.TB, n int) {
	t.Helper()
	msgs := make([]kafkago.Message, n)
	pw.mu.Lock()
	for j := range msgs {
		msgs[j] = pipeInput(pw.n + j)
		p := msgs[j].Partition
		pw.at[string(msgs[j].Value)] = [2]int64{int64(p), pw.next[p]}
		pw.next[p]++
	}
	pw.n += n
	pw.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := pw.w.WriteMessages(ctx, msgs...); err != nil {
		t.Errorf("write inputs: %v", err)
	}
}

// below returns the inputs written below the offsets committed.
func (pw *pipeWriter) below(committed [pipeParts]int64) []string {
	pw.mu.Lock()
	defer pw.mu.Unlock()
	var out []string
	for v, at := range pw.at {
		if at[1] < committed[at[0]] {
			out = append(out, v)
		}
	}
	return out
}

// outputs collects the output topic's records in order.
type outputs struct {
	mu      sync.Mutex
	vals    []string
	changed chan struct{}
}

func (o *outputs) handler(_ context.Context, m stream.Envelope) error {
	o.mu.Lock()
	o.vals = append(o.vals, string(m.Payload))
	o.mu.Unlock()
	select {
	case o.changed <- struct{}{}:
	default:
	}
	return nil
}

// waitLen waits until at least n records were read.
func (o *outputs) waitLen(t testing.TB, n int64, timeout time.Duration) []string {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		o.mu.Lock()
		if int64(len(o.vals)) >= n {
			v := append([]string(nil), o.vals...)
			o.mu.Unlock()
			return v
		}
		got := len(o.vals)
		o.mu.Unlock()
		select {
		case <-o.changed:
		case <-deadline.C:
			t.Fatalf("timed out waiting for %d output records; read %d", n, got)
		}
	}
}

// countRecords counts the records of the produce requests to topic as
// the broker takes them (an observer: the request is handled as usual).
func countRecords(c *kafkatest.Cluster, topic string) *atomic.Int64 {
	var n atomic.Int64
	// The cluster as it is now: a Restart replaces c.Kfake while this
	// runs on the old cluster's goroutine (a data race on c.Kfake).
	k := c.Kfake
	k.ControlKey(int16(kmsg.Produce), func(kr kmsg.Request) (kmsg.Response, error, bool) {
		k.KeepControl()
		for _, rt := range kr.(*kmsg.ProduceRequest).Topics {
			if rt.Topic != topic {
				continue
			}
			for _, rp := range rt.Partitions {
				n.Add(int64(batchRecords(rp.Records)))
			}
		}
		return nil, nil, false
	})
	return &n
}

// batchRecords is the record count of the record batches in b (v2: the
// count is at byte 57 of each batch, whose length is at byte 8).
func batchRecords(b []byte) int {
	n := 0
	for len(b) >= 61 {
		size := 12 + int(int32(binary.BigEndian.Uint32(b[8:12])))
		n += int(int32(binary.BigEndian.Uint32(b[57:61])))
		if size <= 0 || size > len(b) {
			break
		}
		b = b[size:]
	}
	return n
}

// pipeApp runs the function "relay" (value → "out:"+value, failing with
// fail's error) from in to out, with the input binding's consumer config
// cc and the output's Kafka producer properties prod.
type pipeApp struct {
	app      *stream.App
	calls    atomic.Int64
	maxAhead atomic.Int64 // most calls started beyond the outputs the broker took
}

func startPipeApp(t *testing.T, c *kafkatest.Cluster, in, out string, cc stream.ConsumerConfig, prod map[string]any, fail func(string) error, taken *atomic.Int64) *pipeApp {
	t.Helper()
	pa := &pipeApp{}
	fns := stream.NewCatalog()
	stream.AddFunction(fns, "relay", func(_ context.Context, v []byte) ([]byte, error) {
		// Unconfirmed outputs at this call are at least the calls before
		// it less the outputs the broker took (≥ those confirmed).
		if ahead := pa.calls.Add(1) - 1 - taken.Load(); ahead > pa.maxAhead.Load() {
			pa.maxAhead.Store(ahead) // one worker calls at a time (concurrency 1)
		}
		if fail != nil {
			if err := fail(string(v)); err != nil {
				return nil, err
			}
		}
		return append([]byte("out:"), v...), nil
	})
	ext := map[string]stream.ExtensionBindingConfig{}
	if prod != nil {
		ext["relay-out-0"] = stream.ExtensionBindingConfig{Producer: prod}
	}
	cfg := &stream.Config{
		Function:      stream.FunctionConfig{Definition: "relay"},
		DefaultBinder: "k",
		Binders:       map[string]stream.BinderConfig{"k": {Type: kafka.Type, Environment: map[string]any{"brokers": c.Brokers()}}},
		Bindings: map[string]stream.BindingConfig{
			"relay-in-0":  {Destination: in, Group: "g", ContentType: "application/octet-stream", Consumer: cc},
			"relay-out-0": {Destination: out, ContentType: "application/octet-stream"},
		},
		Extensions: map[string]stream.ExtensionConfig{kafka.Type: {Bindings: ext}},
	}
	pa.app = runApp(t, cfg, fns, testLogger(t))
	return pa
}

// committedParts is the group's committed offset per partition of topic
// (0 where none).
func committedParts(t testing.TB, cl *kafkago.Client, group, topic string) [pipeParts]int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := cl.OffsetFetch(ctx, &kafkago.OffsetFetchRequest{GroupID: group, Topics: map[string][]int{topic: {0, 1, 2}}})
	if err == nil && res.Error != nil {
		err = res.Error
	}
	var out [pipeParts]int64
	if errors.Is(err, kafkago.GroupIdNotFound) {
		return out // nothing committed yet
	}
	if err != nil {
		t.Fatalf("offset fetch: %v", err)
	}
	for _, p := range res.Topics[topic] {
		if p.Error != nil {
			t.Fatalf("offset fetch: %v", p.Error)
		}
		if p.CommittedOffset > 0 && p.Partition < pipeParts {
			out[p.Partition] = p.CommittedOffset
		}
	}
	return out
}

func sum(a [pipeParts]int64) int64 { return a[0] + a[1] + a[2] }

// waitAllCommitted waits until the group committed n inputs, failing
// when the committed count made no progress for pipeTimeout: a loaded
// machine (the race detector, parallel clusters) may take longer than that
// for the whole backlog without anything being stuck.
func waitAllCommitted(t testing.TB, cl *kafkago.Client, topic string, n int64) {
	t.Helper()
	deadline := time.Now().Add(pipeTimeout)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	last := int64(-1)
	for {
		got := sum(committedParts(t, cl, "g", topic))
		if got == n {
			return
		}
		if got > last {
			last, deadline = got, time.Now().Add(pipeTimeout)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d inputs committed, none more for %s", got, n, pipeTimeout)
		}
		<-tick.C
	}
}

// checkOutputs checks that every input of pw has an output among vals and,
// when ordered, that each key's outputs (first occurrences) are in the
// inputs' order; it returns the duplicates.
func checkOutputs(t testing.TB, pw *pipeWriter, vals []string, skip map[string]bool, ordered bool) int {
	t.Helper()
	seen := map[string]int{}
	last := map[string]int{}
	dups := 0
	for _, v := range vals {
		in, ok := strings.CutPrefix(v, "out:")
		if !ok {
			t.Fatalf("output %q is not the function's", v)
		}
		seen[in]++
		if seen[in] > 1 {
			dups++
			continue
		}
		key, seqs, _ := strings.Cut(in, ":")
		seq, _ := strconv.Atoi(seqs)
		if prev, ok := last[key]; ok && ordered && seq <= prev {
			t.Errorf("key %s: output of seq %d after seq %d", key, seq, prev)
		}
		last[key] = seq
	}
	pw.mu.Lock()
	defer pw.mu.Unlock()
	missing := 0
	for v := range pw.at {
		if seen[v] == 0 && !skip[v] {
			missing++
			if missing <= 5 {
				t.Errorf("input %s has no output", v)
			}
		}
	}
	if missing > 0 {
		t.Fatalf("%d of %d inputs have no output", missing, len(pw.at))
	}
	return dups
}

// TestPipelinedFunction: a function binding on Kafka with the default
// max-in-flight calls its function ahead of its outputs' confirms (more
// than one output unconfirmed at a call), and still every input has its
// output, the outputs of each key keep their inputs' order, every input
// is committed, and nothing is duplicated; with max-in-flight 1 every
// output is confirmed before the next call (sequential).
func TestPipelinedFunction(t *testing.T) {
	t.Parallel()
	const n = 1200
	for _, tc := range []struct {
		name        string
		maxInFlight int // 0: the default
	}{{"default window", 0}, {"max-in-flight 1", 1}} {
		t.Run(tc.name, func(t *testing.T) {
			c := kafkatest.Start(t)
			in, out, pw := pipeTopics(t, c, 1, nil)
			pw.write(t, n) // a backlog: the consumer has n inputs at hand
			taken := countRecords(c, out)
			pa := startPipeApp(t, c, in, out, stream.ConsumerConfig{MaxInFlight: tc.maxInFlight, MaxAttempts: 1}, nil, nil, taken)

			waitAllCommitted(t, pipeClient(c), in, n)
			o := readOutputs(t, c, out, "check")
			vals := o.waitLen(t, n, pipeTimeout)
			if dups := checkOutputs(t, pw, vals, nil, true); dups > 0 {
				t.Errorf("%d duplicate outputs; want none (no fault)", dups)
			}
			if got := endOffset(t, c, out, 0); got != n {
				t.Errorf("%d records in the output topic; want %d", got, n)
			}
			st := pa.app.Binding("relay-in-0").Stats()
			ahead := pa.maxAhead.Load()
			t.Logf("calls %d, at most %d outputs unconfirmed at a call; input stats %+v", pa.calls.Load(), ahead, st)
			if st.Processed != n {
				t.Errorf("processed %d; want %d", st.Processed, n)
			}
			if st.InFlight != 0 || st.OldestInFlight != 0 { // every pipelined call ended
				t.Errorf("in flight %d (oldest %s) after every input was committed; want 0", st.InFlight, st.OldestInFlight)
			}
			if tc.maxInFlight == 1 {
				if ahead != 0 {
					t.Errorf("max-in-flight 1: a call with %d earlier outputs not yet taken by the broker; want every output confirmed before the next call", ahead)
				}
			} else if ahead < 2 {
				t.Errorf("pipelined: at most %d outputs unconfirmed at a call; want the function to run ahead of the confirms", ahead)
			}
		})
	}
}

// TestPipelinedProduceFault: the output's broker fails produce requests
// mid-stream while inputs keep coming. Retried by the producer (the
// default send-attempts), a failed batch keeps its place: every input has
// exactly one output, in order per key. Failed to the core (send-attempts
// 1: the core retries, then Naks), the sends behind a failed one go on:
// every input still has an output (duplicates allowed, counted), order
// per key may change. In both, at every moment the inputs committed have
// their outputs in the output topic already (committed only after the
// output was confirmed).
func TestPipelinedProduceFault(t *testing.T) {
	t.Parallel()
	const chunks, chunk = 30, 100
	for _, tc := range []struct {
		name    string
		prod    map[string]any
		code    *kerr.Error
		faults  int64
		ordered bool
	}{
		{"retried by the producer", nil, kerr.NotLeaderForPartition, 8, true},
		{"failed to the core", map[string]any{"send-attempts": 1}, kerr.NotLeaderForPartition, 8, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := kafkatest.Start(t)
			in, out, pw := pipeTopics(t, c, 1, nil)
			taken := countRecords(c, out)
			cc := stream.ConsumerConfig{MaxAttempts: 2, BackOffInitialInterval: 10 * time.Millisecond, BackOffMaxInterval: 20 * time.Millisecond}
			pa := startPipeApp(t, c, in, out, cc, tc.prod, nil, taken)
			o := readOutputs(t, c, out, "check")
			cl := pipeClient(c)

			// checkCommitted: the inputs committed now have outputs among
			// the records the output topic holds now.
			checks := 0
			checkCommitted := func() {
				committed := committedParts(t, cl, "g", in)
				end := endOffset(t, c, out, 0)
				for _, v := range withoutOutput(pw, committed, o.waitLen(t, end, pipeTimeout)[:end]) {
					t.Fatalf("input %s committed (offsets %v) without its output in the output topic (%d records)", v, committed, end)
				}
				checks++
			}
			var hits *atomic.Int64
			for i := range chunks {
				pw.write(t, chunk)
				if i == chunks/3 {
					hits = failProduce(c, tc.code, tc.faults)
				}
				if i >= chunks/3 && i%3 == 0 {
					checkCommitted()
				}
				time.Sleep(5 * time.Millisecond) // spread the inputs so that the fault lands mid-stream
			}
			waitAllCommitted(t, cl, in, chunks*chunk)
			checkCommitted()
			if hits.Load() == 0 {
				t.Fatal("no produce request was faulted")
			}
			vals := o.waitLen(t, endOffset(t, c, out, 0), pipeTimeout)
			dups := checkOutputs(t, pw, vals, nil, tc.ordered)
			t.Logf("%d produce requests faulted; %d inputs, %d outputs, %d duplicates; %d commit checks; at most %d outputs unconfirmed at a call; input stats %+v",
				hits.Load(), chunks*chunk, len(vals), dups, checks, pa.maxAhead.Load(), pa.app.Binding("relay-in-0").Stats())
			if tc.ordered && dups > 0 {
				t.Errorf("%d duplicates; want none (the producer retried)", dups)
			}
		})
	}
}

// TestPipelinedFunctionFails: the function fails (for good) for one input
// among many: it is dead-lettered, every other input has its output, and
// the offset of its partition is committed past it only after its dead
// letter was written (settled in offset order).
func TestPipelinedFunctionFails(t *testing.T) {
	t.Parallel()
	const n = 900
	const bad = "k1:70" // partition 1
	c := kafkatest.Start(t)
	in, out, pw := pipeTopics(t, c, 1, nil)
	dlq := pipeDLQ(t, c, in)
	pw.write(t, n)
	badAt := pw.at[bad]
	taken := countRecords(c, out)
	errBad := errors.New("this one fails")
	pa := startPipeApp(t, c, in, out, stream.ConsumerConfig{MaxAttempts: 1, DLQ: true}, nil, func(v string) error {
		if v == bad {
			return stream.Permanent(errBad)
		}
		return nil
	}, taken)

	cl := pipeClient(c)
	deadline := time.Now().Add(pipeTimeout)
	for {
		committed := committedParts(t, cl, "g", in)
		if committed[badAt[0]] > badAt[1] && endOffset(t, c, dlq, 0) < 1 {
			t.Fatalf("partition %d committed to %d, past the failed input at %d, before its dead letter was written", badAt[0], committed[badAt[0]], badAt[1])
		}
		if sum(committed) == n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d inputs committed after %s", sum(committed), n, pipeTimeout)
		}
		time.Sleep(time.Millisecond) // polling the broker's committed offsets
	}
	if got := endOffset(t, c, dlq, 0); got != 1 {
		t.Errorf("%d dead letters; want 1", got)
	}
	o := readOutputs(t, c, out, "check")
	vals := o.waitLen(t, n-1, pipeTimeout)
	if dups := checkOutputs(t, pw, vals, map[string]bool{bad: true}, true); dups > 0 {
		t.Errorf("%d duplicates; want none", dups)
	}
	for _, v := range vals {
		if v == "out:"+bad {
			t.Errorf("the failed input has an output")
		}
	}
	st := pa.app.Binding("relay-in-0").Stats()
	t.Logf("input stats %+v; at most %d outputs unconfirmed at a call", st, pa.maxAhead.Load())
	if st.DeadLettered != 1 {
		t.Errorf("dead-lettered %d; want 1", st.DeadLettered)
	}
}

// paceAfter is a relay hook (startPipeApp's fail) that slows each call
// after the first k by d, so that what a test does once k calls were made
// (Pause, a cluster restart; waitFor polls every 50ms) lands while a
// backlog is left on however fast a machine: on an idle one the relay
// handled all 6,000 or 20,000 inputs between two polls.
func paceAfter(k int64, d time.Duration) func(string) error {
	var n atomic.Int64
	return func(string) error {
		if n.Add(1) > k {
			time.Sleep(d) // load shaping, not synchronisation
		}
		return nil
	}
}

// TestPipelinedPause: Pause of a pipelined binding returns only once the
// outputs of every message handed out were confirmed (the broker took
// them all), and nothing is handled after it returned; after Resume
// every input is relayed and committed, once.
func TestPipelinedPause(t *testing.T) {
	t.Parallel()
	const n = 6000
	c := kafkatest.Start(t)
	in, out, pw := pipeTopics(t, c, 1, nil)
	pw.write(t, n)
	taken := countRecords(c, out)
	pa := startPipeApp(t, c, in, out, stream.ConsumerConfig{MaxAttempts: 1}, nil, paceAfter(300, 100*time.Microsecond), taken)
	waitFor(t, pipeTimeout, "300 calls", func() bool { return pa.calls.Load() >= 300 })
	inB := pa.app.Binding("relay-in-0")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := inB.Pause(ctx); err != nil {
		t.Fatal(err)
	}
	calls, took := pa.calls.Load(), taken.Load()
	t.Logf("paused after %d calls; the broker took %d outputs; at most %d outputs unconfirmed at a call", calls, took, pa.maxAhead.Load())
	if took < calls {
		t.Fatalf("Pause returned with %d outputs not yet taken by the broker; want every output of the messages handed out confirmed", calls-took)
	}
	if calls == n {
		t.Fatal("every input was handled before Pause: the test proves nothing")
	}
	time.Sleep(300 * time.Millisecond) // a window in which nothing may happen
	if now := pa.calls.Load(); now != calls {
		t.Fatalf("%d function calls after Pause returned", now-calls)
	}
	if err := inB.Resume(ctx); err != nil {
		t.Fatal(err)
	}
	waitAllCommitted(t, pipeClient(c), in, n)
	o := readOutputs(t, c, out, "check")
	if dups := checkOutputs(t, pw, o.waitLen(t, n, pipeTimeout), nil, true); dups > 0 {
		t.Errorf("%d duplicates; want none", dups)
	}
}

// TestPipelinedRebalance: a consumer given an AsyncHandler whose results
// come back out of order and late loses nothing when a second member
// joins its group (partitions move) and when it stops later: every
// message is finished at least once, and at every moment the committed
// offsets stand only over finished messages. Results that arrive after
// their worker wound down (late dones) do no harm.
func TestPipelinedRebalance(t *testing.T) {
	t.Parallel()
	const n = 3000
	c := kafkatest.Start(t)
	dest := uniqueTopic(t)
	createTopic(t, c, dest, pipeParts, nil)
	b1, b2 := newBinder(t, c, nil), newBinder(t, c, nil)
	closeBinder(t, b1)
	closeBinder(t, b2)
	tr := newTracker()
	var mu sync.Mutex
	finished := map[string]bool{}
	var late atomic.Int64
	spec := func() stream.ConsumerSpec {
		s := consumerSpec(dest, "g", tr.handler())
		s.Consumer.MaxInFlight = 32
		s.AsyncHandler = func(ctx context.Context, m stream.Envelope, done func(error)) {
			id := m.Headers[idHeader]
			go func() {
				// Finished out of order, a little later.
				time.Sleep(time.Duration(rand.IntN(10000)) * time.Microsecond)
				if ctx.Err() != nil {
					late.Add(1)
				}
				mu.Lock()
				finished[id] = true
				mu.Unlock()
				tr.receive(id)
				done(nil)
			}()
		}
		return s
	}
	p := bindProducer(t, b1, dest, pipeParts)
	sent := produceInBackground(t, p, tr, "r", n, pipeParts, 0)
	ctx, cancel := context.WithTimeout(context.Background(), pipeTimeout)
	defer cancel()
	c1, err := b1.BindConsumer(ctx, spec())
	if err != nil {
		t.Fatal(err)
	}
	if err := c1.Start(ctx); err != nil {
		t.Fatal(err)
	}
	cl := pipeClient(c)
	// checkCommitted: every message below the committed offsets finished
	// (message r-i is the i/3-th of partition i%3: one producer, in order).
	checkCommitted := func() int64 {
		committed := committedParts(t, cl, "g", dest)
		mu.Lock()
		defer mu.Unlock()
		for part, off := range committed {
			for o := range off {
				id := "r-" + strconv.Itoa(int(o)*pipeParts+part)
				if !finished[id] {
					t.Fatalf("partition %d committed to %d, past %s (offset %d), which never finished", part, off, id, o)
				}
			}
		}
		return sum(committed)
	}
	tr.waitReceived(t, n/5, pipeTimeout)
	checkCommitted()
	startConsumer(t, b2, spec()) // a second member: a rebalance
	tr.waitReceived(t, n/2, pipeTimeout)
	checkCommitted()
	sctx, scancel := context.WithTimeout(context.Background(), 20*time.Second)
	if err := c1.Stop(sctx); err != nil { // the first leaves: another rebalance
		t.Logf("stop of the first consumer: %v", err)
	}
	scancel()
	checkCommitted()
	<-sent
	tr.waitAll(t, pipeTimeout)
	deadline := time.Now().Add(pipeTimeout)
	for checkCommitted() != n {
		if time.Now().After(deadline) {
			t.Fatalf("not every message committed after %s", pipeTimeout)
		}
		time.Sleep(5 * time.Millisecond) // polling the broker's committed offsets
	}
	t.Logf("%d results came after their handlers' context ended", late.Load())
}

// TestPipelinedClusterRestart: the cluster stops and starts again (same
// data and port) while a function works through a backlog, pipelined
// (the default window) and sequential (max-in-flight 1): every input has
// an output afterwards, every input is committed, and few are handled
// again. The generation's commits fail while the broker is down (and
// kafka-go's on the generation's coordinator connection until its
// heartbeat ends it: they are sent again on another, kafkaGen.CommitOffsets)
// while the fetchers reconnect and handling goes on; the next
// generation, assigned the same partitions with the committed offsets
// unchanged, goes on from what was settled (carriedOffset). What may be
// handled again is what was handed out and not settled when the first
// generation wound down: per partition at most the pipe's 2×window
// unsettled messages, or the one message of a sequential worker's call.
func TestPipelinedClusterRestart(t *testing.T) {
	for _, tc := range []struct {
		name        string
		n           int // inputs: the sequential worker waits for each output
		maxInFlight int
		perPart     int64 // messages a partition may hand out unsettled
	}{
		{"default window", 3000, 0, 2 * stream.DefaultMaxInFlight},
		{"max-in-flight 1", 2000, 1, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := tc.n
			c := kafkatest.StartRestartable(t)
			in, out, pw := pipeTopics(t, c, 1, nil)
			pw.write(t, n)
			pw.w.Close()
			taken := countRecords(c, out)
			cc := stream.ConsumerConfig{MaxInFlight: tc.maxInFlight, MaxAttempts: 2, BackOffInitialInterval: 10 * time.Millisecond, BackOffMaxInterval: 20 * time.Millisecond}
			pa := startPipeApp(t, c, in, out, cc, nil, paceAfter(500, 100*time.Microsecond), taken)
			waitFor(t, pipeTimeout, "500 calls", func() bool { return pa.calls.Load() >= 500 })
			c.Close()
			calls := pa.calls.Load()
			if err := c.Restart(); err != nil {
				t.Fatal(err)
			}
			t.Logf("cluster restarted after %d calls", calls)
			if calls >= int64(n) {
				t.Fatal("every input was handled before the restart: the test proves nothing")
			}
			waitAllCommitted(t, pipeClient(c), in, int64(n))
			// Read without a group: a restarted cluster's group coordinator is
			// not what this test is about.
			var vals []string
			for _, m := range readPartition(t, c, out, 0, int(endOffset(t, c, out, 0))) {
				vals = append(vals, string(m.Value))
			}
			dups := checkOutputs(t, pw, vals, nil, false)
			again := pa.calls.Load() - int64(n) // no input fails: one call each, and those handled again
			t.Logf("%d inputs, %d outputs, %d duplicates, %d handled again; input stats %+v", n, len(vals), dups, again, pa.app.Binding("relay-in-0").Stats())
			if limit := pipeParts * tc.perPart; again > limit {
				t.Errorf("%d inputs handled again after the restart, want at most %d (%d partitions × %d unsettled)", again, limit, pipeParts, tc.perPart)
			}
		})
	}
}

// TestPipelinedBoundLog: the binding's "bound" line says whether it is
// pipelined, and why not: the default; max-in-flight 1; ordering: key
// (the binder hands messages to its lanes one at a time).
func TestPipelinedBoundLog(t *testing.T) {
	t.Parallel()
	c := kafkatest.Start(t)
	for _, tc := range []struct {
		name string
		cc   stream.ConsumerConfig
		ext  map[string]any
		want string
	}{
		{"default", stream.ConsumerConfig{}, nil, `pipelined="true" max_in_flight="256"`},
		{"max-in-flight 1", stream.ConsumerConfig{MaxInFlight: 1}, nil, `pipelined="false (max-in-flight 1)"`},
		{"ordering key", stream.ConsumerConfig{Concurrency: 2}, map[string]any{"ordering": "key"}, `pipelined="false (the input's binder kafka hands it one message at a time here)"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in, out := uniqueTopic(t), uniqueTopic(t)+"-out"
			createTopic(t, c, in, 1, nil)
			createTopic(t, c, out, 1, nil)
			fns := stream.NewCatalog()
			stream.AddFunction(fns, "relay", func(_ context.Context, v []byte) ([]byte, error) { return v, nil })
			ext := map[string]stream.ExtensionBindingConfig{}
			if tc.ext != nil {
				ext["relay-in-0"] = stream.ExtensionBindingConfig{Consumer: tc.ext}
			}
			cfg := &stream.Config{
				Function:      stream.FunctionConfig{Definition: "relay"},
				DefaultBinder: "k",
				Binders:       map[string]stream.BinderConfig{"k": {Type: kafka.Type, Environment: map[string]any{"brokers": c.Brokers()}}},
				Bindings: map[string]stream.BindingConfig{
					"relay-in-0":  {Destination: in, Group: "g", Consumer: tc.cc},
					"relay-out-0": {Destination: out},
				},
				Extensions: map[string]stream.ExtensionConfig{kafka.Type: {Bindings: ext}},
			}
			logs := &logRecorder{}
			runApp(t, cfg, fns, logs.logger())
			var line string
			for _, l := range logs.since(slog.LevelInfo, time.Time{}) {
				if s := l.String(); strings.Contains(s, `binding="relay-in-0"`) && strings.Contains(s, "pipelined=") {
					line = s
				}
			}
			if !strings.Contains(line, tc.want) {
				t.Errorf("bound line %q, want %s", line, tc.want)
			}
		})
	}
}
