package kafka_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
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

// Adversarial tests of the carried offset (consumer.go, carriedOffset):
// a generation that could not commit what it settled hands that on to the
// next generation of the same member.

const carryTimeout = 90 * time.Second

// carryHandled counts the handler calls per input (the payload is the
// input's number, which is its offset in a one-partition topic).
type carryHandled struct {
	mu      sync.Mutex
	n       map[int]int
	changed chan struct{}
}

func newCarryHandled() *carryHandled {
	return &carryHandled{n: map[int]int{}, changed: make(chan struct{}, 1)}
}

func (h *carryHandled) add(i int) {
	h.mu.Lock()
	h.n[i]++
	h.mu.Unlock()
	select {
	case h.changed <- struct{}{}:
	default:
	}
}

func (h *carryHandled) count(i int) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.n[i]
}

// waitAll waits until every input below n was handled.
func (h *carryHandled) waitAll(t testing.TB, n int) {
	t.Helper()
	h.waitRange(t, 0, n)
}

// writeNumbered writes inputs from..to-1 (payload: the number) to
// partition part of topic.
func writeNumbered(t testing.TB, c *kafkatest.Cluster, topic string, part, from, to int) {
	t.Helper()
	w := &kafkago.Writer{Addr: kafkago.TCP(c.Addrs()...), Topic: topic, BatchTimeout: time.Millisecond, BatchSize: 10000,
		RequiredAcks: kafkago.RequireAll, Transport: &kafkago.Transport{},
		Balancer: kafkago.BalancerFunc(func(m kafkago.Message, _ ...int) int { return m.Partition })}
	defer w.Close()
	msgs := make([]kafkago.Message, 0, to-from)
	for i := from; i < to; i++ {
		// Four keys, for ordering: key's lanes.
		msgs = append(msgs, kafkago.Message{Partition: part, Key: []byte("k" + strconv.Itoa(i%4)), Value: []byte(strconv.Itoa(i))})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := w.WriteMessages(ctx, msgs...); err != nil {
		t.Fatalf("write inputs: %v", err)
	}
}

// carryCommitted is the group's committed offset of topic/part (-1: none).
func carryCommitted(t testing.TB, cl *kafkago.Client, group, topic string, part int) int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := cl.OffsetFetch(ctx, &kafkago.OffsetFetchRequest{GroupID: group, Topics: map[string][]int{topic: {part}}})
	if err == nil && res.Error != nil {
		err = res.Error
	}
	if errors.Is(err, kafkago.GroupIdNotFound) {
		return -1
	}
	if err != nil {
		t.Fatalf("offset fetch: %v", err)
	}
	for _, p := range res.Topics[topic] {
		if p.Partition == part {
			if p.Error != nil {
				t.Fatalf("offset fetch: %v", p.Error)
			}
			return p.CommittedOffset
		}
	}
	return -1
}

// groupState is the group's state at the coordinator ("Empty", "Stable", ...).
func groupState(t testing.TB, cl *kafkago.Client, group string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := cl.DescribeGroups(ctx, &kafkago.DescribeGroupsRequest{GroupIDs: []string{group}})
	if err != nil {
		t.Fatalf("describe group: %v", err)
	}
	for _, g := range res.Groups {
		if g.GroupID == group {
			return g.GroupState
		}
	}
	return ""
}

// coordFaults injects faults into group g's coordination at the cluster:
// failCommits answers the members' commits (generation ≥ 0) with an
// error; isolate drops the connection of every join, sync, heartbeat,
// leave and member commit, so that the members drop out of the group at
// the session timeout and can neither commit nor rejoin while their
// fetches go on; loseOne drops the next member commit's connection but
// applies the commit (the member never learns it succeeded) and isolates.
// A commit whose partitions carry the metadata lostAnswer, or an admin's
// (generation -1), passes.
type coordFaults struct {
	failCommits, isolate, loseOne atomic.Bool
	failed                        atomic.Int64 // commits failed by failCommits
	lost                          chan int64   // the offset of the commit whose answer was lost
}

const lostAnswer = "carry-adv: lost answer"

func newCoordFaults(t testing.TB, c *kafkatest.Cluster, group string) *coordFaults {
	f := &coordFaults{lost: make(chan int64, 1)}
	cl := &kafkago.Client{Addr: kafkago.TCP(c.Addrs()...), Timeout: 10 * time.Second}
	c.Kfake.Control(func(kr kmsg.Request) (kmsg.Response, error, bool) {
		c.Kfake.KeepControl()
		drop := false
		switch r := kr.(type) {
		case *kmsg.OffsetCommitRequest:
			if r.Group != group || r.Generation < 0 || len(r.Topics) == 0 || len(r.Topics[0].Partitions) == 0 ||
				(r.Topics[0].Partitions[0].Metadata != nil && *r.Topics[0].Partitions[0].Metadata == lostAnswer) {
				return nil, nil, false
			}
			if f.loseOne.CompareAndSwap(true, false) {
				f.isolate.Store(true)
				req := &kafkago.OffsetCommitRequest{GroupID: group, GenerationID: int(r.Generation), MemberID: r.MemberID, Topics: map[string][]kafkago.OffsetCommit{}}
				for _, rt := range r.Topics {
					for _, rp := range rt.Partitions {
						req.Topics[rt.Topic] = append(req.Topics[rt.Topic], kafkago.OffsetCommit{Partition: int(rp.Partition), Offset: rp.Offset, Metadata: lostAnswer})
					}
				}
				off := r.Topics[0].Partitions[0].Offset
				go func() { // not from the control function: the cluster runs it
					ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
					defer cancel()
					res, err := cl.OffsetCommit(ctx, req)
					if err == nil {
						for _, ps := range res.Topics {
							for _, p := range ps {
								err = errors.Join(err, p.Error)
							}
						}
					}
					if err != nil {
						t.Errorf("applying the commit whose answer is lost: %v", err)
						off = -1
					}
					f.lost <- off
				}()
				return nil, errors.New("injected: the commit's answer lost"), true
			}
			if f.isolate.Load() {
				return nil, errors.New("injected: coordinator connection dropped"), true
			}
			if f.failCommits.Load() {
				f.failed.Add(1)
				resp := r.ResponseKind().(*kmsg.OffsetCommitResponse)
				for _, rt := range r.Topics {
					st := kmsg.NewOffsetCommitResponseTopic()
					st.Topic = rt.Topic
					for _, rp := range rt.Partitions {
						sp := kmsg.NewOffsetCommitResponseTopicPartition()
						sp.Partition = rp.Partition
						sp.ErrorCode = kerr.CoordinatorLoadInProgress.Code
						st.Partitions = append(st.Partitions, sp)
					}
					resp.Topics = append(resp.Topics, st)
				}
				return resp, nil, true
			}
		case *kmsg.HeartbeatRequest:
			drop = r.Group == group
		case *kmsg.JoinGroupRequest:
			drop = r.Group == group
		case *kmsg.SyncGroupRequest:
			drop = r.Group == group
		case *kmsg.LeaveGroupRequest:
			drop = r.Group == group
		}
		if drop && f.isolate.Load() {
			return nil, errors.New("injected: coordinator connection dropped"), true
		}
		return nil, nil, false
	})
	return f
}

// gatedHandler handles input i once i < limit (waiting otherwise; a
// generation's wind-down cancels the wait: the input is left unsettled).
type gatedHandler struct {
	h     *carryHandled
	mu    sync.Mutex
	limit int
	moved chan struct{} // closed and replaced when limit moves
}

func newGatedHandler(h *carryHandled, limit int) *gatedHandler {
	return &gatedHandler{h: h, limit: limit, moved: make(chan struct{})}
}

func (g *gatedHandler) setLimit(n int) {
	g.mu.Lock()
	g.limit = n
	close(g.moved)
	g.moved = make(chan struct{})
	g.mu.Unlock()
}

func (g *gatedHandler) handle(ctx context.Context, m stream.Envelope) error {
	i, err := strconv.Atoi(string(m.Payload))
	if err != nil {
		return err
	}
	for {
		g.mu.Lock()
		ok, moved := i < g.limit, g.moved
		g.mu.Unlock()
		if ok {
			break
		}
		select {
		case <-moved:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	g.h.add(i)
	return nil
}

// startCarryGroup writes n numbered inputs to a 1-partition topic of a
// cluster of its own and consumes them in group g (coordinator faults
// ready, a gated handler stopping at known) until known is committed.
func startCarryGroup(t *testing.T, n, known int) (string, *coordFaults, *carryHandled, *gatedHandler, *kafkago.Client) {
	t.Helper()
	c := kafkatest.Start(t)
	topic := uniqueTopic(t)
	createTopic(t, c, topic, 1, nil)
	writeNumbered(t, c, topic, 0, 0, n)
	f := newCoordFaults(t, c, "g")
	b := newBinder(t, c, map[string]any{"session-timeout": "6s", "heartbeat-interval": "500ms", "rebalance-timeout": "6s"})
	closeBinder(t, b)
	h := newCarryHandled()
	g := newGatedHandler(h, known)
	startConsumer(t, b, consumerSpec(topic, "g", g.handle))
	cl := &kafkago.Client{Addr: kafkago.TCP(c.Addrs()...), Timeout: 10 * time.Second}
	waitFor(t, carryTimeout, "100 committed", func() bool { return carryCommitted(t, cl, "g", topic, 0) == int64(known) })
	return topic, f, h, g, cl
}

// TestCarryAdminResetWins: a member settles inputs 100..199 while its
// commits fail (its coordinator requests are dropped), drops out of the
// group at the session timeout, and an admin resets the group's offset to
// 150 while the group is empty (Kafka allows that only then); when the
// member rejoins, the reset wins: 150..199 are handled again. A committed
// offset between what the member knew (100) and what it settled (200) is
// not its own lost commit: it never tried to commit 150.
func TestCarryAdminResetWins(t *testing.T) {
	t.Parallel()
	const n, known, settled, reset = 300, 100, 200, 150
	topic, f, h, g, cl := startCarryGroup(t, n, known)

	f.isolate.Store(true)
	g.setLimit(settled)
	waitFor(t, carryTimeout, "inputs to 199 handled", func() bool { return h.count(settled-1) > 0 })
	waitFor(t, carryTimeout, "the group empty", func() bool { return groupState(t, cl, "g") == "Empty" })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := cl.OffsetCommit(ctx, &kafkago.OffsetCommitRequest{GroupID: "g", GenerationID: -1,
		Topics: map[string][]kafkago.OffsetCommit{topic: {{Partition: 0, Offset: reset}}}})
	if err != nil {
		t.Fatalf("admin commit: %v", err)
	}
	for _, p := range res.Topics[topic] {
		if p.Error != nil {
			t.Fatalf("admin commit: %v", p.Error)
		}
	}
	if got := carryCommitted(t, cl, "g", topic, 0); got != reset {
		t.Fatalf("committed %d after the admin's reset, want %d", got, reset)
	}
	f.isolate.Store(false)
	g.setLimit(n)
	h.waitAll(t, n)
	waitFor(t, carryTimeout, "everything committed", func() bool { return carryCommitted(t, cl, "g", topic, 0) == n })
	for i := known; i < settled; i++ {
		want := 1
		if i >= reset {
			want = 2
		}
		if got := h.count(i); got != want {
			t.Errorf("input %d handled %d times, want %d (the reset to %d is honoured, nothing below it handled again)", i, got, want, reset)
		}
	}
}

// waitRange waits until every input from..to-1 was handled.
func (h *carryHandled) waitRange(t testing.TB, from, to int) {
	t.Helper()
	deadline := time.NewTimer(carryTimeout)
	defer deadline.Stop()
	for {
		h.mu.Lock()
		missing := -1
		for i := from; i < to; i++ {
			if h.n[i] == 0 {
				missing = i
				break
			}
		}
		h.mu.Unlock()
		if missing < 0 {
			return
		}
		select {
		case <-h.changed:
		case <-deadline.C:
			t.Fatalf("input %d never handled after %s", missing, carryTimeout)
		}
	}
}

// TestCarryLostAnswer: the member's commit is applied at the broker but
// its answer is lost (the connection drops), and the member is cut off
// from the coordinator until it drops out of the group, settling inputs
// to 199 meanwhile; when it rejoins, the committed offset is its own
// commit's and it goes on from 200: nothing after that commit is handled
// again.
func TestCarryLostAnswer(t *testing.T) {
	t.Parallel()
	const n, known, settled = 300, 100, 200
	topic, f, h, g, cl := startCarryGroup(t, n, known)

	f.loseOne.Store(true)
	g.setLimit(settled - 50) // the lost commit is one before 200
	var lost int64
	select {
	case lost = <-f.lost:
	case <-time.After(carryTimeout):
		t.Fatal("no commit after 100")
	}
	if lost < 0 {
		t.FailNow()
	}
	g.setLimit(settled)
	waitFor(t, carryTimeout, "inputs to 199 handled", func() bool { return h.count(settled-1) > 0 })
	waitFor(t, carryTimeout, "the group empty", func() bool { return groupState(t, cl, "g") == "Empty" })
	if got := carryCommitted(t, cl, "g", topic, 0); got != lost {
		t.Fatalf("committed %d, want %d (the commit whose answer was lost)", got, lost)
	}
	if lost >= settled {
		t.Fatalf("the lost commit was of %d: the member settled nothing after it, the test proves nothing", lost)
	}
	f.isolate.Store(false)
	g.setLimit(n)
	h.waitAll(t, n)
	waitFor(t, carryTimeout, "everything committed", func() bool { return carryCommitted(t, cl, "g", topic, 0) == n })
	again := 0
	for i := known; i < settled; i++ {
		if h.count(i) != 1 {
			again++
		}
	}
	t.Logf("lost answer of the commit of %d; %d of the inputs %d..%d handled more than once", lost, again, known, settled-1)
	if again > 0 {
		t.Errorf("%d inputs settled before the generation ended were handled again", again)
	}
}

// TestCarryMembersMoveWhileCommitsFail: two members of a group while
// every commit fails: a second member joins (partitions move to it), then
// leaves (they come back), while inputs flow; the first member's
// generations carry what they settled. Once commits work again every
// input was handled and everything is committed.
func TestCarryMembersMoveWhileCommitsFail(t *testing.T) {
	t.Parallel()
	const n, parts = 3000, 3
	c := kafkatest.Start(t)
	dest := uniqueTopic(t)
	createTopic(t, c, dest, parts, nil)
	f := newCoordFaults(t, c, "g")
	env := map[string]any{"session-timeout": "6s", "heartbeat-interval": "500ms", "rebalance-timeout": "6s"}
	b1, b2 := newBinder(t, c, env), newBinder(t, c, env)
	closeBinder(t, b1)
	closeBinder(t, b2)
	tr := newTracker()
	p := bindProducer(t, b1, dest, parts)
	sent, stop := produceUntilStopped(t, p, tr, "m", n, parts, 200*time.Microsecond)
	startConsumer(t, b1, consumerSpec(dest, "g", tr.handler()))
	tr.waitReceived(t, n/10, carryTimeout)
	f.failCommits.Store(true)
	c2 := startConsumer(t, b2, consumerSpec(dest, "g", tr.handler()))
	tr.waitReceived(t, n/3, carryTimeout)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c2.Stop(ctx); err != nil {
		t.Logf("stop of the second member: %v", err)
	}
	tr.waitReceived(t, n/2, carryTimeout)
	f.failCommits.Store(false)
	// 300 more once commits work again; the rest of the n need not be
	// sent. Everything written is committed in the end (a Send the stop
	// interrupted may have been written, unconfirmed).
	tr.waitReceived(t, tr.received()+300, carryTimeout)
	stop()
	<-sent
	tr.waitAll(t, carryTimeout)
	var written int64
	for part := range parts {
		written += endOffset(t, c, dest, part)
	}
	cl := &kafkago.Client{Addr: kafkago.TCP(c.Addrs()...), Timeout: 10 * time.Second}
	waitFor(t, carryTimeout, fmt.Sprintf("all %d written committed", written), func() bool {
		var total int64
		for part := range parts {
			total += max(carryCommitted(t, cl, "g", dest, part), 0)
		}
		return total == written
	})
}

// TestCarryNakAtGenerationEnd: a member's commits fail (it is cut off from
// the coordinator) while input 150 is Nak'ed again and again — under
// ordering: key the other keys' lanes go on past it, pipelined the later
// inputs finish behind it, in batch mode its batch fails — and the
// generation ends with it unsettled. The carried offset stops at it (the
// member goes on from at most 150 when it rejoins), so once input 150
// succeeds every input was handled: nothing past an unsettled message is
// carried.
func TestCarryNakAtGenerationEnd(t *testing.T) {
	t.Parallel()
	const n, known, stuck = 300, 100, 150
	for _, mode := range []string{"sequential", "pipelined", "keyed", "batch"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			c := kafkatest.Start(t)
			topic := uniqueTopic(t)
			createTopic(t, c, topic, 1, nil)
			writeNumbered(t, c, topic, 0, 0, n)
			f := newCoordFaults(t, c, "g")
			logs := &logRecorder{}
			b, err := kafka.New(context.Background(), stream.BinderSettings{Name: "kafka", Type: kafka.Type, Logger: logs.logger(), Environment: map[string]any{
				"brokers": c.Brokers(), "session-timeout": "6s", "heartbeat-interval": "500ms", "rebalance-timeout": "6s"}})
			if err != nil {
				t.Fatal(err)
			}
			closeBinder(t, b)
			h := newCarryHandled()
			g := newGatedHandler(h, known)
			var released atomic.Bool
			var naks atomic.Int64
			// handle is g.handle, with input 150 Nak'ed until released.
			handle := func(ctx context.Context, m stream.Envelope) error {
				if string(m.Payload) == strconv.Itoa(stuck) && !released.Load() {
					naks.Add(1)
					return stream.ErrNak
				}
				return g.handle(ctx, m)
			}
			spec := consumerSpec(topic, "g", handle)
			spec.Extension = map[string]any{"redelivery-delay": "20ms"}
			switch mode {
			case "pipelined":
				spec.Consumer.MaxInFlight = 32
				spec.AsyncHandler = func(ctx context.Context, m stream.Envelope, done func(error)) {
					go func() { done(handle(ctx, m)) }()
				}
			case "keyed":
				spec.Extension["ordering"] = "key"
				spec.Consumer.Concurrency = 4
			case "batch":
				spec.Consumer.BatchMode = true
				spec.Extension["batch-size"] = 10
				spec.BatchHandler = func(ctx context.Context, ms []stream.Envelope) error {
					for _, m := range ms {
						if string(m.Payload) == strconv.Itoa(stuck) && !released.Load() {
							naks.Add(1)
							return stream.ErrNak
						}
					}
					for _, m := range ms {
						if err := g.handle(ctx, m); err != nil {
							return err
						}
					}
					return nil
				}
			}
			startConsumer(t, b, spec)
			cl := &kafkago.Client{Addr: kafkago.TCP(c.Addrs()...), Timeout: 10 * time.Second}
			// In batch mode the batch that holds input 100 waits: what is
			// committed is where it starts.
			waitFor(t, carryTimeout, "90..100 committed", func() bool { return carryCommitted(t, cl, "g", topic, 0) >= known-10 })
			committed := carryCommitted(t, cl, "g", topic, 0)

			// The member's commits are refused while it handles up to
			// input 150 and Naks it; only then is it cut off, so that the
			// generation ends (at its next heartbeat) with input 150
			// unsettled. Cut off first, the generation ended within one
			// heartbeat interval (500 ms), before input 150 was reached
			// under load, and the member, unable to rejoin, never Nak'ed
			// it: the test hung there (also before the fixed assignment).
			f.failCommits.Store(true)
			start := time.Now()
			g.setLimit(n)
			waitFor(t, carryTimeout, "input 150 Nak'ed", func() bool { return naks.Load() >= 3 })
			if mode == "keyed" {
				// The other keys' lanes went on past the stuck input.
				waitFor(t, carryTimeout, "input 151 handled", func() bool { return h.count(stuck+1) > 0 })
			}
			f.isolate.Store(true)
			waitFor(t, carryTimeout, "the group empty", func() bool { return groupState(t, cl, "g") == "Empty" })
			f.isolate.Store(false)
			f.failCommits.Store(false)
			waitFor(t, carryTimeout, "a carried offset", func() bool {
				return logs.count(slog.LevelInfo, "kafka: going on from the offset processed but not committed", start) > 0
			})
			for _, l := range logs.since(slog.LevelInfo, start) {
				if !strings.HasPrefix(l.msg, "kafka: going on from") {
					continue
				}
				for _, a := range l.attrs {
					if a.Key == "offset" {
						if off := a.Value.Int64(); off <= committed || off > stuck {
							t.Errorf("went on from %d, want within %d..%d (the stuck input)", off, committed+1, stuck)
						}
					}
				}
			}
			released.Store(true)
			h.waitAll(t, n)
			waitFor(t, carryTimeout, "everything committed", func() bool { return carryCommitted(t, cl, "g", topic, 0) == n })
		})
	}
}

// TestCarryLatestStartNoneCommitted: a new group that starts at the latest
// offset (start-offset: latest) settles inputs 0..199 while its commits
// fail (nothing is ever committed) and drops out of the group; inputs
// 200..299 come while it is out. When it rejoins, none is committed, as
// when it left: it goes on from 200 — starting at the latest offset again
// would skip 200..299, inputs that came after it had started.
func TestCarryLatestStartNoneCommitted(t *testing.T) {
	t.Parallel()
	const settled, n = 200, 300
	c := kafkatest.Start(t)
	topic := uniqueTopic(t)
	createTopic(t, c, topic, 1, nil)
	f := newCoordFaults(t, c, "g")
	f.failCommits.Store(true)
	b := newBinder(t, c, map[string]any{"session-timeout": "6s", "heartbeat-interval": "500ms", "rebalance-timeout": "6s"})
	closeBinder(t, b)
	h := newCarryHandled()
	spec := consumerSpec(topic, "g", newGatedHandler(h, 1<<30).handle)
	spec.Extension = map[string]any{"start-offset": "latest"}
	startConsumer(t, b, spec)
	cl := &kafkago.Client{Addr: kafkago.TCP(c.Addrs()...), Timeout: 10 * time.Second}
	// The member commits the latest offset it starts at (0) at once: it
	// has resolved it.
	waitFor(t, carryTimeout, "a commit failed", func() bool { return f.failed.Load() > 0 })
	writeNumbered(t, c, topic, 0, 0, settled)
	h.waitRange(t, 0, settled)
	f.isolate.Store(true)
	waitFor(t, carryTimeout, "the group empty", func() bool { return groupState(t, cl, "g") == "Empty" })
	if got := carryCommitted(t, cl, "g", topic, 0); got >= 0 {
		t.Fatalf("committed %d: the commits were to fail", got)
	}
	writeNumbered(t, c, topic, 0, settled, n)
	f.failCommits.Store(false)
	f.isolate.Store(false)
	h.waitRange(t, settled, n)
}
