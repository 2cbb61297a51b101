// Package bindertest is the conformance suite of the binder SPI: every
// streambind binder (memory, Kafka, RabbitMQ, ...) runs it from its own
// tests to check that it keeps the contract of [stream.Binder] and
// docs/conventions.md — delivery, groups, ordering, Nak and dead-lettering,
// lifecycle.
//
// A binder's test calls [Run] with a [Harness] that says how to make a
// binder connected to the broker under test and what the binder can promise:
//
//	func TestConformance(t *testing.T) {
//		broker := ...
//		bindertest.Run(t, bindertest.Harness{
//			NewBinder:  func(t *testing.T) stream.Binder { ... },
//			Persistent: true,
//		})
//	}
//
// The subtests use only the SPI, give every destination a unique name (so
// they can share one broker), and identify messages by a header holding a
// unique id: a lost message is always a failure, a duplicate only when the
// harness does not declare Duplicates. Message counts are modest (at most
// 2,000 per subtest) so that the suite stays well under a minute against a
// remote broker.
package bindertest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/streambind/streambind/stream"
)

// Harness describes the binder under test.
type Harness struct {
	// NewBinder returns a binder connected to the broker under test. It is
	// called at least once per subtest (twice by those that restart a
	// consumer on a fresh binder); the suite closes what it returns. All
	// binders of one Run must reach the same broker.
	NewBinder func(t *testing.T) stream.Binder
	// Persistent: a consumer group keeps its position when its consumers
	// stop, so a later consumer of the group gets what was sent meanwhile
	// (Kafka, RabbitMQ durable queues, memory within one Broker). The
	// subtests CloseUnderLoad and RestartResumes run only when it is set.
	Persistent bool
	// Duplicates: the binder is at-least-once in a way that can deliver a
	// message that was already handled (redelivery after a rebalance or a
	// reconnection), so the suite tolerates duplicates. Losses are failures
	// either way.
	Duplicates bool
	// DLQConsumerSpec returns how to consume the dead letters of
	// (destination, group) with an ordinary consumer binding: at least
	// Destination and Group, plus any Extension. The suite sets Binding (if
	// empty), Handler and Logger. Default: what the binder says as a
	// [stream.DeadLetterSourcer] (checked against this function when both
	// are there), else destination stream.DLQName(destination, group),
	// group "dlq-reader".
	DLQConsumerSpec func(destination, group string) stream.ConsumerSpec
	// Timeout bounds each wait of the suite (for messages, Stop, Close).
	// Default 10s.
	Timeout time.Duration
	// Quiet is how long the suite watches for messages that must not
	// arrive (while paused). Default 300ms.
	Quiet time.Duration
	// Skip names subtests the binder cannot support, with the reason:
	// PublishSubscribe, HeadersRoundTrip, LazyHeadersRoundTrip,
	// ConsumerGroupsCompete, GroupsEachGetAll, AnonymousBroadcast,
	// AnonymousRestart, AnonymousPartitioned, OrderPerKey, NakRedelivers,
	// FailureDeadLetters, LazyFailureDeadLetters, BatchPartialFailure,
	// BatchPartialNak,
	// BatchPrefixSettled, BatchFailedSettled, ConcurrentProducers,
	// CloseUnderLoad, RestartResumes, StopHandsOverInOrder, PauseResume,
	// Lifecycle, Pipelined, EdgeMessages, EdgeNames, DescribeBinding,
	// InstanceIndexList, ShutdownKeepsOrder, ReplayGroup, SendAsync.
	Skip map[string]string
	// GroupAssignsPartitions: the broker's group, not instance-index,
	// gives a partitioned consumer with a group its partitions (Kafka
	// with auto-rebalance-enabled, the default), so InstanceIndexList
	// checks that the list's consumers, members of one group, together
	// read every partition.
	GroupAssignsPartitions bool
	// Unsettled returns how many messages of destination the consumer
	// group has not settled, looked at on the broker: not delivered yet,
	// or delivered and not acknowledged (RabbitMQ: the group's queue's
	// messages; Kafka: the partitions' end offsets less the group's
	// committed ones; NATS: the group's consumer's pending and ack-pending
	// messages; Redis: the group's pending entries and those past its
	// last-delivered ID). BatchPrefixSettled and BatchFailedSettled use
	// it to see that the messages a BatchSettler settled early were
	// acknowledged (or dead-lettered) while the handler call still ran; nil: not checked (a binder with nothing to
	// acknowledge on a broker, memory).
	Unsettled func(t *testing.T, destination, group string) int
	// ReplayGroups: the binder's consumers of a group other than the one
	// a message's stream.HeaderReplayGroup names (and anonymous ones)
	// acknowledge it without handling it, so that streambind dlq replay's
	// copies reach one group (NATS, Redis). The subtest ReplayGroup runs
	// only when it is set.
	ReplayGroups bool
	// AppType is the binder type the subtests that run a stream.App
	// (InstanceIndexList) register the binder as, for
	// AppConsumerExtension's section. Default "bindertest".
	AppType string
	// AppConsumerExtension is stream.<AppType>.default.consumer of those
	// subtests: binder-specific consumer properties. Default none.
	AppConsumerExtension map[string]any
}

// IDHeader is the header in which the suite sends each message's unique id.
const IDHeader = "x-bindertest-id"

type subtest struct {
	name       string
	persistent bool
	run        func(*suite)
}

var subtests = []subtest{
	{"PublishSubscribe", false, testPublishSubscribe},
	{"HeadersRoundTrip", false, testHeadersRoundTrip},
	{"LazyHeadersRoundTrip", false, testLazyHeadersRoundTrip},
	{"ConsumerGroupsCompete", false, testConsumerGroupsCompete},
	{"GroupsEachGetAll", false, testGroupsEachGetAll},
	{"AnonymousBroadcast", false, testAnonymousBroadcast},
	{"AnonymousRestart", false, testAnonymousRestart},
	{"AnonymousPartitioned", false, testAnonymousPartitioned},
	{"OrderPerKey", false, testOrderPerKey},
	{"NakRedelivers", false, testNakRedelivers},
	{"FailureDeadLetters", false, testFailureDeadLetters},
	{"LazyFailureDeadLetters", false, testLazyFailureDeadLetters},
	{"BatchPartialFailure", false, testBatchPartialFailure},
	{"BatchPartialNak", false, testBatchPartialNak},
	{"BatchPrefixSettled", false, testBatchPrefixSettled},
	{"BatchFailedSettled", false, testBatchFailedSettled},
	{"ConcurrentProducers", false, testConcurrentProducers},
	{"CloseUnderLoad", true, testCloseUnderLoad},
	{"RestartResumes", true, testRestartResumes},
	{"StopHandsOverInOrder", true, testStopHandsOverInOrder},
	{"PauseResume", false, testPauseResume},
	{"Lifecycle", false, testLifecycle},
	{"Pipelined", false, testPipelined},
	{"EdgeMessages", false, testEdgeMessages},
	{"EdgeNames", false, testEdgeNames},
	{"DescribeBinding", false, testDescribeBinding},
	{"InstanceIndexList", false, testInstanceIndexList},
	{"ShutdownKeepsOrder", true, testShutdownKeepsOrder},
	{"ReplayGroup", false, testReplayGroup},
	{"SendAsync", false, testSendAsync},
}

// Run runs the conformance suite against the binder of h, one subtest per
// behaviour (see [Harness.Skip] for their names).
func Run(t *testing.T, h Harness) {
	t.Helper()
	h = h.withDefaults(t)
	for name := range h.Skip {
		if !slices.ContainsFunc(subtests, func(s subtest) bool { return s.name == name }) {
			t.Errorf("bindertest: Harness.Skip names unknown subtest %q", name)
		}
	}
	for _, st := range subtests {
		t.Run(st.name, func(t *testing.T) {
			if reason, ok := h.Skip[st.name]; ok {
				t.Skip(reason)
			}
			if st.persistent && !h.Persistent {
				t.Skip("the binder is not persistent (Harness.Persistent)")
			}
			st.run(newSuite(t, h))
		})
	}
}

// withDefaults returns h with its defaults (Timeout 10s, Quiet 300ms)
// filled in; a Harness without NewBinder fails t.
func (h Harness) withDefaults(t *testing.T) Harness {
	t.Helper()
	if h.NewBinder == nil {
		t.Fatal("bindertest: Harness.NewBinder is nil")
	}
	if h.Timeout <= 0 {
		h.Timeout = 10 * time.Second
	}
	if h.Quiet <= 0 {
		h.Quiet = 300 * time.Millisecond
	}
	return h
}

// suite is the context of one subtest.
type suite struct {
	t      *testing.T
	h      Harness
	b      stream.Binder
	prefix string // unique per subtest
	log    *slog.Logger
}

func newSuite(t *testing.T, h Harness) *suite {
	s := &suite{t: t, h: h, prefix: uniqueName(t.Name()), log: slog.New(slog.DiscardHandler)}
	s.b = s.newBinder()
	return s
}

// uniqueName turns a test name into a destination-safe prefix with a random
// suffix: lower-case letters, digits, '.' and '-'.
func uniqueName(testName string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(testName) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '/':
			b.WriteByte('.')
		default:
			b.WriteByte('-')
		}
	}
	name := b.String()
	if len(name) > 80 {
		name = name[len(name)-80:]
	}
	return name + "-" + uuid.NewString()[:8]
}

// dest returns a unique destination name for this subtest.
func (s *suite) dest(name string) string { return s.prefix + "." + name }

// ctx returns a context bounded by the harness timeout.
func (s *suite) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), s.h.Timeout)
}

// newBinder makes a binder and closes it when the subtest ends.
func (s *suite) newBinder() stream.Binder {
	s.t.Helper()
	b := s.h.NewBinder(s.t)
	if b == nil {
		s.t.Fatal("bindertest: NewBinder returned nil")
	}
	s.t.Cleanup(func() {
		ctx, cancel := s.ctx()
		defer cancel()
		if err := b.Close(ctx); err != nil {
			s.t.Errorf("closing binder: %v", err)
		}
	})
	return b
}

// producer binds a producer to dest on b and closes it at the end.
func (s *suite) producer(b stream.Binder, spec stream.ProducerSpec) stream.Producer {
	s.t.Helper()
	if spec.Binding == "" {
		spec.Binding = "bindertest-out-0"
	}
	if spec.ContentType == "" {
		spec.ContentType = stream.DefaultContentType
	}
	if spec.Producer.PartitionCount == 0 {
		spec.Producer.PartitionCount = 1
	}
	spec.Logger = s.log
	ctx, cancel := s.ctx()
	defer cancel()
	p, err := b.BindProducer(ctx, spec)
	if err != nil {
		s.t.Fatalf("BindProducer(%s): %v", spec.Destination, err)
	}
	s.t.Cleanup(func() {
		ctx, cancel := s.ctx()
		defer cancel()
		if err := p.Close(ctx); err != nil {
			s.t.Errorf("closing producer of %s: %v", spec.Destination, err)
		}
	})
	return p
}

// consumerSpec fills in the defaults of a consumer binding.
func (s *suite) consumerSpec(spec stream.ConsumerSpec) stream.ConsumerSpec {
	if spec.Binding == "" {
		spec.Binding = "bindertest-in-0"
	}
	if spec.ContentType == "" {
		spec.ContentType = stream.DefaultContentType
	}
	c := &spec.Consumer
	c.Concurrency = max(c.Concurrency, 1)
	c.MaxAttempts = max(c.MaxAttempts, 1)
	c.InstanceCount = max(c.InstanceCount, 1)
	if c.BackOffInitialInterval == 0 {
		c.BackOffInitialInterval = 10 * time.Millisecond
		c.BackOffMaxInterval = 100 * time.Millisecond
		c.BackOffMultiplier = 2
	}
	spec.Logger = s.log
	return spec
}

// consumer binds a consumer on b; it is stopped at the end. It is not
// started.
func (s *suite) consumer(b stream.Binder, spec stream.ConsumerSpec) stream.Consumer {
	s.t.Helper()
	spec = s.consumerSpec(spec)
	ctx, cancel := s.ctx()
	defer cancel()
	c, err := b.BindConsumer(ctx, spec)
	if err != nil {
		s.t.Fatalf("BindConsumer(%s, group %q): %v", spec.Destination, spec.Group, err)
	}
	s.t.Cleanup(func() {
		ctx, cancel := s.ctx()
		defer cancel()
		if err := c.Stop(ctx); err != nil {
			s.t.Errorf("stopping consumer of %s: %v", spec.Destination, err)
		}
	})
	return c
}

// started binds and starts a consumer on b.
func (s *suite) started(b stream.Binder, spec stream.ConsumerSpec) stream.Consumer {
	s.t.Helper()
	c := s.consumer(b, spec)
	s.do("Start", c.Start)
	return c
}

// do runs a lifecycle operation bounded by the harness timeout.
func (s *suite) do(what string, op func(context.Context) error) {
	s.t.Helper()
	ctx, cancel := s.ctx()
	defer cancel()
	if err := op(ctx); err != nil {
		s.t.Fatalf("%s: %v", what, err)
	}
}

// message returns an envelope with id in IDHeader and a payload naming it.
func message(id string) stream.Envelope {
	return stream.Envelope{
		Payload: []byte(`{"id":"` + id + `"}`),
		Headers: stream.Headers{IDHeader: id},
	}
}

// ids returns n ids "<prefix>-0" ... "<prefix>-(n-1)".
func ids(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = prefix + "-" + strconv.Itoa(i)
	}
	return out
}

// send sends a message for each id, failing the test on an error.
func (s *suite) send(p stream.Producer, idList []string) {
	s.t.Helper()
	for _, id := range idList {
		s.sendEnv(p, message(id))
	}
}

// sendUnchecked sends idList, ignoring failures: messages no consumer is
// to get, which a broker without a queue for them may refuse (RabbitMQ:
// unroutable).
func (s *suite) sendUnchecked(p stream.Producer, idList []string) {
	for _, id := range idList {
		ctx, cancel := s.ctx()
		_ = p.Send(ctx, message(id))
		cancel()
	}
}

func (s *suite) sendEnv(p stream.Producer, m stream.Envelope) {
	s.t.Helper()
	ctx, cancel := s.ctx()
	defer cancel()
	if err := p.Send(ctx, m); err != nil {
		s.t.Fatalf("Send(%s): %v", m.Headers[IDHeader], err)
	}
}

// delivery is a received message, copied.
type delivery struct {
	member int
	env    stream.Envelope
}

// collector records what handlers received, by id. Handlers never fail the
// test themselves (they run on the binder's goroutines); they record
// violations that the test goroutine checks.
type collector struct {
	mu         sync.Mutex
	byID       map[string][]delivery
	total      int
	violations []string
	changed    chan struct{} // capacity 1
}

func newCollector() *collector {
	return &collector{byID: make(map[string][]delivery), changed: make(chan struct{}, 1)}
}

// copyEnvelope returns a copy of m (of every header, lazy ones loaded: see
// stream.ConsumerSpec.LazyHeaders) that stays as it is after the handler
// returned.
func copyEnvelope(m stream.Envelope) stream.Envelope {
	return stream.Envelope{Payload: bytes.Clone(m.Payload), Headers: m.LoadHeaders().Clone(), Key: bytes.Clone(m.Key)}
}

// record stores a delivery of m to member.
func (c *collector) record(member int, m stream.Envelope) {
	d := delivery{member: member, env: copyEnvelope(m)}
	id := m.Header(IDHeader)
	c.mu.Lock()
	c.byID[id] = append(c.byID[id], d)
	c.total++
	c.mu.Unlock()
	c.signal()
}

func (c *collector) signal() {
	select {
	case c.changed <- struct{}{}:
	default:
	}
}

// violation records a contract violation seen in a handler.
func (c *collector) violation(format string, args ...any) {
	c.mu.Lock()
	c.violations = append(c.violations, fmt.Sprintf(format, args...))
	c.mu.Unlock()
	c.signal()
}

// handler returns a handler that records every message as member.
func (c *collector) handler(member int) stream.Handler {
	return func(_ context.Context, m stream.Envelope) error {
		c.record(member, m)
		return nil
	}
}

// snapshot runs f with the collector locked.
func (c *collector) snapshot(f func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	f()
}

// count returns how many deliveries were recorded.
func (c *collector) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.total
}

// deliveries returns the deliveries of id.
func (c *collector) deliveries(id string) []delivery {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.byID[id])
}

// idsExcept returns the ids with a delivery other than except.
func (c *collector) idsExcept(except string) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var ids []string
	for id := range c.byID {
		if id != except {
			ids = append(ids, id)
		}
	}
	return ids
}

// wait waits until cond (called with the collector locked) holds, failing
// the test after the harness timeout.
func (s *suite) wait(c *collector, what string, cond func() bool) {
	s.t.Helper()
	s.waitOrReport(c, what, cond, func() string { return "condition not met" })
}

// waitIDs waits until every id was received at least once.
func (s *suite) waitIDs(c *collector, what string, idList []string) {
	s.t.Helper()
	var missing []string
	s.waitOrReport(c, what, func() bool {
		missing = missing[:0]
		for _, id := range idList {
			if len(c.byID[id]) == 0 {
				missing = append(missing, id)
			}
		}
		return len(missing) == 0
	}, func() string {
		return fmt.Sprintf("%d of %d messages missing, e.g. %v", len(missing), len(idList), missing[:min(len(missing), 5)])
	})
}

// waitOrReport is wait with report (called with the collector locked)
// describing what is missing on timeout. It fails at once when a handler
// recorded a contract violation.
func (s *suite) waitOrReport(c *collector, what string, cond func() bool, report func() string) {
	s.t.Helper()
	deadline := time.NewTimer(s.h.Timeout)
	defer deadline.Stop()
	for {
		c.mu.Lock()
		ok, vs := cond(), slices.Clone(c.violations)
		var msg string
		if !ok {
			msg = report()
		}
		c.mu.Unlock()
		if len(vs) > 0 {
			s.t.Fatalf("while waiting for %s: contract violations:\n  %s", what, strings.Join(vs, "\n  "))
		}
		if ok {
			return
		}
		select {
		case <-c.changed:
		case <-deadline.C:
			s.t.Fatalf("timed out after %s waiting for %s: %s", s.h.Timeout, what, msg)
		}
	}
}

// checkOnce fails on ids delivered more than once, unless the harness
// tolerates duplicates.
func (s *suite) checkOnce(c *collector, idList []string) {
	s.t.Helper()
	if s.h.Duplicates {
		return
	}
	var dups []string
	c.snapshot(func() {
		for _, id := range idList {
			if n := len(c.byID[id]); n > 1 {
				dups = append(dups, fmt.Sprintf("%s×%d", id, n))
			}
		}
	})
	if len(dups) > 0 {
		s.t.Errorf("%d messages delivered more than once (the harness does not allow duplicates), e.g. %v", len(dups), dups[:min(len(dups), 5)])
	}
}

// checkNone fails if any of idList was received.
func (s *suite) checkNone(c *collector, what string, idList []string) {
	s.t.Helper()
	var got []string
	c.snapshot(func() {
		for _, id := range idList {
			if len(c.byID[id]) > 0 {
				got = append(got, id)
			}
		}
	})
	if len(got) > 0 {
		s.t.Errorf("%s: %d unexpected messages received, e.g. %v", what, len(got), got[:min(len(got), 5)])
	}
}

// testPublishSubscribe: a consumer group gets every message sent, with its
// payload.
func testPublishSubscribe(s *suite) {
	dest := s.dest("pubsub")
	col := newCollector()
	s.started(s.b, stream.ConsumerSpec{Destination: dest, Group: "g", Handler: col.handler(0)})
	p := s.producer(s.b, stream.ProducerSpec{Destination: dest})
	sent := ids("m", 200)
	s.send(p, sent)
	s.waitIDs(col, "all messages", sent)
	s.checkOnce(col, sent)
	for _, id := range sent {
		if got, want := col.deliveries(id)[0].env.Payload, message(id).Payload; !bytes.Equal(got, want) {
			s.t.Fatalf("message %s: payload %q, want %q", id, got, want)
		}
	}
}

// testHeadersRoundTrip: headers, contentType and payload bytes arrive
// exactly; a message sent without contentType is received as of the
// producer binding's content type.
func testHeadersRoundTrip(s *suite) { headersRoundTrip(s, false) }

// testLazyHeadersRoundTrip is testHeadersRoundTrip for a consumer bound
// with stream.ConsumerSpec.LazyHeaders: whether or not the binder hands it
// lazy headers, Envelope.Header reads each header while the handler runs,
// and LoadHeaders every one.
func testLazyHeadersRoundTrip(s *suite) { headersRoundTrip(s, true) }

func headersRoundTrip(s *suite, lazy bool) {
	const producerCT = "text/plain; charset=utf-8" // the consumer binding has application/json
	dest := s.dest("headers")
	col := newCollector()
	handler := col.handler(0)
	var read sync.Map // the custom message's headers as Header read them in the handler
	fwd, fwdCol := s.dest("headers-fwd"), newCollector()
	if lazy {
		// The custom message is also passed on as received, to another
		// destination: a producer sends its lazy headers too.
		s.started(s.b, stream.ConsumerSpec{Destination: fwd, Group: "g", Handler: fwdCol.handler(0), ContentType: stream.DefaultContentType})
		fp := s.producer(s.b, stream.ProducerSpec{Destination: fwd, ContentType: producerCT})
		handler = func(ctx context.Context, m stream.Envelope) error {
			if m.Header(IDHeader) == "custom" {
				for _, k := range []string{IDHeader, stream.HeaderContentType, "x-custom-ascii", "x-custom-unicode", "x-custom-digits", "x-absent"} {
					read.Store(k, m.Header(k))
				}
				if err := fp.Send(ctx, m); err != nil {
					return err
				}
			}
			col.record(0, m)
			return nil
		}
	}
	s.started(s.b, stream.ConsumerSpec{Destination: dest, Group: "g", Handler: handler, ContentType: stream.DefaultContentType, LazyHeaders: lazy})
	p := s.producer(s.b, stream.ProducerSpec{Destination: dest, ContentType: producerCT})

	binary := make([]byte, 0, 512)
	for i := range 512 {
		binary = append(binary, byte(i))
	}
	custom := stream.Envelope{
		Payload: binary,
		Headers: stream.Headers{
			IDHeader:                 "custom",
			stream.HeaderContentType: "application/octet-stream",
			"x-custom-ascii":         "alpha beta",
			"x-custom-unicode":       "grüße, 世界 ✓",
			"x-custom-digits":        "0042",
		},
	}
	s.sendEnv(p, custom)
	plain := stream.Envelope{Payload: []byte("plain text"), Headers: stream.Headers{IDHeader: "plain"}}
	s.sendEnv(p, plain)
	s.waitIDs(col, "both messages", []string{"custom", "plain"})

	got := col.deliveries("custom")[0].env
	if !bytes.Equal(got.Payload, custom.Payload) {
		s.t.Errorf("binary payload changed: got %d bytes %x..., want %d bytes", len(got.Payload), got.Payload[:min(len(got.Payload), 16)], len(custom.Payload))
	}
	for k, v := range custom.Headers {
		if got.Headers[k] != v {
			s.t.Errorf("header %q: got %q, want %q", k, got.Headers[k], v)
		}
		if r, _ := read.Load(k); lazy && r != v {
			s.t.Errorf("Header(%q) in the handler: got %q, want %q", k, r, v)
		}
	}
	if r, _ := read.Load("x-absent"); lazy && r != "" {
		s.t.Errorf("Header(%q) of a header never sent: got %q, want none", "x-absent", r)
	}
	if lazy {
		// Recorded under "" if it lost its headers (the id among them).
		s.wait(fwdCol, "the custom message passed on", func() bool { return fwdCol.total > 0 }) // cond runs locked
		var passed stream.Envelope
		fwdCol.snapshot(func() {
			for _, ds := range fwdCol.byID {
				passed = ds[0].env
			}
		})
		for k, v := range custom.Headers {
			if passed.Headers[k] != v {
				s.t.Errorf("the received envelope passed on to a producer: header %q got %q, want %q", k, passed.Headers[k], v)
			}
		}
	}
	gotPlain := col.deliveries("plain")[0].env
	if !bytes.Equal(gotPlain.Payload, plain.Payload) {
		s.t.Errorf("payload: got %q, want %q", gotPlain.Payload, plain.Payload)
	}
	if ct := gotPlain.ContentType(stream.DefaultContentType); ct != producerCT {
		s.t.Errorf("message sent without contentType: received as %q (header %q), want the producer binding's %q",
			ct, gotPlain.Headers[stream.HeaderContentType], producerCT)
	}
}

// testConsumerGroupsCompete: the members of one group share the messages,
// each to exactly one member.
func testConsumerGroupsCompete(s *suite) {
	dest := s.dest("compete")
	col := newCollector()
	s.started(s.b, stream.ConsumerSpec{Destination: dest, Group: "g", Handler: col.handler(0)})
	s.started(s.newBinder(), stream.ConsumerSpec{Destination: dest, Group: "g", Handler: col.handler(1)})
	p := s.producer(s.b, stream.ProducerSpec{Destination: dest})
	sent := ids("m", 400)
	s.send(p, sent)
	s.waitIDs(col, "all messages in the group", sent)
	s.checkOnce(col, sent)
	var per [2]int
	col.snapshot(func() {
		for _, ds := range col.byID {
			for _, d := range ds {
				per[d.member]++
			}
		}
	})
	s.t.Logf("member 0 got %d, member 1 got %d", per[0], per[1])
}

// testGroupsEachGetAll: every group gets every message.
func testGroupsEachGetAll(s *suite) {
	dest := s.dest("groups")
	cols := []*collector{newCollector(), newCollector()}
	for i, col := range cols {
		s.started(s.b, stream.ConsumerSpec{Destination: dest, Group: "g" + strconv.Itoa(i), Handler: col.handler(i)})
	}
	p := s.producer(s.b, stream.ProducerSpec{Destination: dest})
	sent := ids("m", 300)
	s.send(p, sent)
	for i, col := range cols {
		s.waitIDs(col, fmt.Sprintf("all messages in group g%d", i), sent)
		s.checkOnce(col, sent)
	}
}

// testAnonymousBroadcast: anonymous consumers each get every message sent
// after their Start returned — at once, with no probe first: Start does
// what the broker needs for that (a queue declared, a consumer created,
// the stream's last entry or the partitions' end offsets read), however
// late the consumer then begins to receive (a Kafka group's first
// assignment).
func testAnonymousBroadcast(s *suite) {
	dest := s.dest("broadcast")
	p := s.producer(s.b, stream.ProducerSpec{Destination: dest})
	// Sent before: no one gets them (a log-based broker keeps them; on
	// RabbitMQ, with no queue bound yet, a send may fail as unroutable).
	before := ids("before", 5)
	s.sendUnchecked(p, before)
	cols := []*collector{newCollector(), newCollector()}
	for i, col := range cols {
		s.started(s.b, stream.ConsumerSpec{Destination: dest, Handler: col.handler(i)})
	}
	sent := ids("m", 200)
	s.send(p, sent)
	for i, col := range cols {
		s.waitIDs(col, fmt.Sprintf("all messages at anonymous consumer %d", i), sent)
		s.checkOnce(col, sent)
		s.checkNone(col, fmt.Sprintf("anonymous consumer %d got messages sent before it started", i), before)
	}
}

// testAnonymousRestart: an anonymous consumer stopped and started again
// gets what is sent after the new Start, at once, and nothing of what was
// sent while it was stopped (it has no group to keep it: SCSt's anonymous
// queue is deleted with its consumer, a Kafka anonymous group is new at
// each Start).
func testAnonymousRestart(s *suite) {
	dest := s.dest("anonrestart")
	col := newCollector()
	c := s.started(s.b, stream.ConsumerSpec{Destination: dest, Handler: col.handler(0)})
	p := s.producer(s.b, stream.ProducerSpec{Destination: dest})
	first := ids("first", 20)
	s.send(p, first)
	s.waitIDs(col, "the messages sent while running", first)
	s.do("Stop", c.Stop)
	stopped := ids("stopped", 10)
	s.sendUnchecked(p, stopped) // RabbitMQ: unroutable, the queue is gone
	s.do("Start again", c.Start)
	again := ids("again", 20)
	s.send(p, again)
	s.waitIDs(col, "the messages sent after the new Start", again)
	s.checkOnce(col, append(first, again...))
	s.checkNone(col, "the anonymous consumer got messages sent while it was stopped", stopped)
}

// testAnonymousPartitioned: partitioned does not apply to a consumer
// without a group (SCSt's rule: its RabbitMQ provisioner binds an
// anonymous queue as an unpartitioned one, its Kafka binder gives an
// anonymous consumer a unique group, assigned every partition): with
// partitioned, instance-index 1 and instance-count 2 it still gets the
// messages of every partition a partitioned producer sends to.
func testAnonymousPartitioned(s *suite) {
	const partitions = 2
	dest := s.dest("anonpart")
	col := newCollector()
	s.started(s.b, stream.ConsumerSpec{Destination: dest, Handler: col.handler(0),
		Consumer: stream.ConsumerConfig{Partitioned: true, InstanceIndex: 1, InstanceCount: 2}})
	p := s.producer(s.b, stream.ProducerSpec{Destination: dest, Producer: stream.ProducerConfig{
		PartitionKeyExpression: "key", PartitionCount: partitions,
	}})
	var sent []string
	for i := range 20 {
		key := "key-" + strconv.Itoa(i)
		part := stream.SelectPartition(stream.PartitionHash(key), partitions)
		id := "p" + strconv.Itoa(part) + "-" + strconv.Itoa(i)
		m := message(id)
		m.Key = []byte(key)
		m.Headers[stream.HeaderKey] = key
		m.Headers[stream.HeaderPartition] = strconv.Itoa(part)
		s.sendEnv(p, m)
		sent = append(sent, id)
	}
	for part := range partitions {
		if !slices.ContainsFunc(sent, func(id string) bool { return strings.HasPrefix(id, "p"+strconv.Itoa(part)+"-") }) {
			s.t.Fatalf("bindertest: no key of the 20 goes to partition %d", part)
		}
	}
	s.waitIDs(col, "the messages of every partition at the anonymous partitioned consumer (instance-index 1)", sent)
	s.checkOnce(col, sent)
}

// testOrderPerKey: with concurrency 4, messages of one partition (and key)
// are handled one at a time and in order, and all are delivered.
func testOrderPerKey(s *suite) {
	const (
		keys       = 8
		perKey     = 60
		partitions = 4
	)
	dest := s.dest("order")
	col := newCollector()
	var (
		mu          sync.Mutex
		inFlight    = map[string]bool{}
		last        = map[string]int{}
		active, top int
	)
	handler := func(_ context.Context, m stream.Envelope) error {
		key := string(m.Key)
		seq, _ := strconv.Atoi(m.Headers["x-bindertest-seq"])
		mu.Lock()
		if inFlight[key] {
			col.violation("key %s: message %d handled while another message of the key is in flight", key, seq)
		}
		inFlight[key] = true
		prev, seen := last[key]
		if !seen {
			prev = -1
		}
		switch {
		case seq == prev+1:
			last[key] = seq
		case seq > prev+1:
			col.violation("key %s: message %d handled after %d (out of order)", key, seq, prev)
		case !s.h.Duplicates:
			col.violation("key %s: message %d handled again after %d", key, seq, prev)
		}
		active++
		top = max(top, active)
		mu.Unlock()
		if rand.IntN(4) == 0 {
			time.Sleep(time.Duration(rand.IntN(200)) * time.Microsecond) // vary the interleaving
		}
		mu.Lock()
		inFlight[key] = false
		active--
		mu.Unlock()
		col.record(0, m)
		return nil
	}
	s.started(s.b, stream.ConsumerSpec{
		Destination: dest, Group: "g", Handler: handler,
		Consumer: stream.ConsumerConfig{Concurrency: 4},
	})
	p := s.producer(s.b, stream.ProducerSpec{Destination: dest, Producer: stream.ProducerConfig{
		PartitionKeyExpression: "key", PartitionCount: partitions,
	}})
	var sent []string
	for i := range perKey {
		for k := range keys {
			key := "key-" + strconv.Itoa(k)
			id := key + "/" + strconv.Itoa(i)
			part := stream.SelectPartition(stream.PartitionHash(key), partitions)
			s.sendEnv(p, stream.Envelope{
				Payload: []byte(id),
				Key:     []byte(key),
				Headers: stream.Headers{
					IDHeader:                 id,
					"x-bindertest-seq":       strconv.Itoa(i),
					stream.HeaderKey:         key,
					stream.HeaderPartition:   strconv.Itoa(part),
					stream.HeaderContentType: "text/plain",
				},
			})
			sent = append(sent, id)
		}
	}
	s.waitIDs(col, "all messages", sent)
	s.checkOnce(col, sent)
	mu.Lock()
	s.t.Logf("at most %d handler calls ran at once", top)
	mu.Unlock()
}

// testNakRedelivers: a message whose handler Naks is delivered again.
func testNakRedelivers(s *suite) {
	dest := s.dest("nak")
	col := newCollector()
	naks := map[string]bool{"m-2": true, "m-5": true, "m-7": true}
	var mu sync.Mutex
	nakked := map[string]int{}
	handler := func(_ context.Context, m stream.Envelope) error {
		id := m.Headers[IDHeader]
		mu.Lock()
		first := naks[id] && nakked[id] == 0
		if naks[id] {
			nakked[id]++
		}
		mu.Unlock()
		if first {
			return fmt.Errorf("bindertest: not now: %w", stream.ErrNak)
		}
		col.record(0, m)
		return nil
	}
	s.started(s.b, stream.ConsumerSpec{Destination: dest, Group: "g", Handler: handler})
	p := s.producer(s.b, stream.ProducerSpec{Destination: dest})
	sent := ids("m", 10)
	s.send(p, sent)
	s.waitIDs(col, "every message acknowledged, including the Nak'ed ones", sent)
	s.checkOnce(col, sent)
	mu.Lock()
	defer mu.Unlock()
	for id := range naks {
		if nakked[id] < 2 {
			s.t.Errorf("message %s: delivered %d times, want at least 2 (Nak, then redelivery)", id, nakked[id])
		}
	}
}

// testFailureDeadLetters: a message whose handler fails goes to the DLQ
// with its payload, its headers and the exception headers; the other
// messages keep flowing.
func testFailureDeadLetters(s *suite) { failureDeadLetters(s, false) }

// testLazyFailureDeadLetters is testFailureDeadLetters for a consumer
// bound with stream.ConsumerSpec.LazyHeaders: the dead letter still has
// every header of the message.
func testLazyFailureDeadLetters(s *suite) { failureDeadLetters(s, true) }

func failureDeadLetters(s *suite, lazy bool) {
	dest := s.dest("dlq")
	dead := startDeadLetters(s, dest)

	const poison = "m-10"
	const reason = "bindertest: poison pill rejected"
	col := newCollector()
	handler := func(_ context.Context, m stream.Envelope) error {
		col.record(0, m)
		if m.Header(IDHeader) == poison {
			return fmt.Errorf("handling %s: %w", poison, errors.New(reason))
		}
		return nil
	}
	s.started(s.b, stream.ConsumerSpec{
		Destination: dest, Group: "g", Handler: handler, LazyHeaders: lazy,
		Consumer: stream.ConsumerConfig{DLQ: true},
	})
	p := s.producer(s.b, stream.ProducerSpec{Destination: dest})
	sent := ids("m", 20)
	for _, id := range sent {
		m := message(id)
		if id == poison {
			m.Headers["x-bindertest-poison"] = "yes"
		}
		s.sendEnv(p, m)
	}
	s.waitIDs(col, "every message handled", sent)
	s.waitIDs(dead, "the poison message on the DLQ", []string{poison})
	got := dead.deliveries(poison)[0].env
	if want := message(poison).Payload; !bytes.Equal(got.Payload, want) {
		s.t.Errorf("dead letter payload %q, want %q", got.Payload, want)
	}
	if got.Headers["x-bindertest-poison"] != "yes" {
		s.t.Errorf("dead letter lost the original header x-bindertest-poison: headers %v", got.Headers)
	}
	if m := got.Headers[stream.HeaderExceptionMessage]; !strings.Contains(m, reason) {
		s.t.Errorf("dead letter %s = %q, want it to contain %q", stream.HeaderExceptionMessage, m, reason)
	}
	for _, h := range []string{stream.HeaderExceptionFQCN, stream.HeaderExceptionStacktrace} {
		if got.Headers[h] == "" {
			s.t.Errorf("dead letter has no %s header: headers %v", h, got.Headers)
		}
	}
	if others := dead.idsExcept(poison); len(others) > 0 {
		s.t.Errorf("messages that did not fail were dead-lettered: %v", others)
	}
	if !s.h.Duplicates {
		if n := len(dead.deliveries(poison)); n != 1 {
			s.t.Errorf("poison message dead-lettered %d times, want 1", n)
		}
	}
}

// testConcurrentProducers: Send is safe for concurrent use; every message
// arrives once.
func testConcurrentProducers(s *suite) {
	const goroutines, each = 8, 200
	dest := s.dest("concurrent")
	col := newCollector()
	s.started(s.b, stream.ConsumerSpec{Destination: dest, Group: "g", Handler: col.handler(0), Consumer: stream.ConsumerConfig{Concurrency: 2}})
	p := s.producer(s.b, stream.ProducerSpec{Destination: dest})
	var wg sync.WaitGroup
	errs := make(chan error, goroutines)
	var sent []string
	for g := range goroutines {
		batch := ids("p"+strconv.Itoa(g), each)
		sent = append(sent, batch...)
		wg.Go(func() {
			ctx, cancel := s.ctx()
			defer cancel()
			for _, id := range batch {
				if err := p.Send(ctx, message(id)); err != nil {
					errs <- fmt.Errorf("Send(%s): %w", id, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		s.t.Fatal(err)
	}
	s.waitIDs(col, "all messages", sent)
	s.checkOnce(col, sent)
}

// testCloseUnderLoad: producers keep sending while the group's consumer is
// stopped mid-stream and a new consumer of the group (on a new binder)
// starts; every Send that returned nil is received.
func testCloseUnderLoad(s *suite) {
	const producers, each = 2, 600
	dest := s.dest("load")
	col := newCollector()
	spec := stream.ConsumerSpec{Destination: dest, Group: "g", Handler: col.handler(0)}
	first := s.started(s.b, spec)
	p := s.producer(s.b, stream.ProducerSpec{Destination: dest})

	var (
		mu      sync.Mutex
		ok      []string
		failed  int
		wg      sync.WaitGroup
		stopped atomic.Bool
		after   atomic.Int64 // sends completed after the first consumer stopped
	)
	for g := range producers {
		wg.Go(func() {
			for i := range each {
				id := "p" + strconv.Itoa(g) + "-" + strconv.Itoa(i)
				ctx, cancel := s.ctx()
				err := p.Send(ctx, message(id))
				cancel()
				mu.Lock()
				if err == nil {
					ok = append(ok, id)
				} else {
					failed++
				}
				mu.Unlock()
				if stopped.Load() {
					after.Add(1)
				}
				time.Sleep(100 * time.Microsecond) // pace the load so the stop lands mid-stream
			}
		})
	}
	s.wait(col, "the first consumer to receive 100 messages", func() bool { return col.total >= 100 })
	s.do("Stop (first consumer)", first.Stop)
	stopped.Store(true)
	received := col.count()

	second := s.consumer(s.newBinder(), stream.ConsumerSpec{Destination: dest, Group: "g", Handler: col.handler(1)})
	s.do("Start (second consumer)", second.Start)
	wg.Wait()
	mu.Lock()
	acked := slices.Clone(ok)
	s.t.Logf("%d sends confirmed (%d failed, %d after the stop); first consumer had received %d", len(acked), failed, after.Load(), received)
	mu.Unlock()
	s.waitIDs(col, "every confirmed message, across both consumers", acked)
	s.checkOnce(col, acked)
}

// testRestartResumes: a new consumer of a group resumes after the messages
// the group already acknowledged, and gets those sent while it had none.
func testRestartResumes(s *suite) {
	dest := s.dest("restart")
	col := newCollector()
	first := s.started(s.b, stream.ConsumerSpec{Destination: dest, Group: "g", Handler: col.handler(0)})
	p := s.producer(s.b, stream.ProducerSpec{Destination: dest})
	before := ids("before", 50)
	s.send(p, before)
	s.waitIDs(col, "the first batch", before)
	s.do("Stop", first.Stop)

	later := ids("later", 50)
	s.send(p, later)
	col2 := newCollector()
	second := s.consumer(s.newBinder(), stream.ConsumerSpec{Destination: dest, Group: "g", Handler: col2.handler(1)})
	s.do("Start (new consumer of the group)", second.Start)
	s.waitIDs(col2, "the messages sent while the group had no consumer", later)
	s.checkOnce(col2, later)
	if !s.h.Duplicates {
		s.checkNone(col2, "the new consumer got messages the group had acknowledged", before)
	}
	s.checkNone(col, "the stopped consumer received messages", later)
}

// testPauseResume: nothing is delivered while paused; everything after
// Resume.
func testPauseResume(s *suite) {
	dest := s.dest("pause")
	col := newCollector()
	var paused atomic.Bool
	handler := func(_ context.Context, m stream.Envelope) error {
		if paused.Load() {
			col.violation("message %s delivered while paused", m.Headers[IDHeader])
		}
		col.record(0, m)
		return nil
	}
	c := s.started(s.b, stream.ConsumerSpec{Destination: dest, Group: "g", Handler: handler})
	p := s.producer(s.b, stream.ProducerSpec{Destination: dest})
	warm := ids("warm", 20)
	s.send(p, warm)
	s.waitIDs(col, "messages before the pause", warm)

	s.do("Pause", c.Pause)
	paused.Store(true)
	s.do("Pause (again)", c.Pause)
	held := ids("held", 20)
	s.send(p, held)
	quiet := time.NewTimer(s.h.Quiet)
	<-quiet.C // watch for deliveries that must not happen
	paused.Store(false)
	s.checkNone(col, "while paused", held)
	s.do("Resume", c.Resume)
	s.do("Resume (again)", c.Resume)
	s.waitIDs(col, "the messages held while paused", held)
	s.checkOnce(col, append(warm, held...))
}

// testLifecycle: Start, Stop, Pause and Resume are idempotent and a stopped
// consumer can be started again; Send after a producer's Close fails with
// stream.ErrClosed.
func testLifecycle(s *suite) {
	dest := s.dest("lifecycle")
	col := newCollector()
	c := s.consumer(s.b, stream.ConsumerSpec{Destination: dest, Group: "g", Handler: col.handler(0)})
	s.do("Stop (never started)", c.Stop)
	s.do("Start", c.Start)
	s.do("Start (again)", c.Start)
	p := s.producer(s.b, stream.ProducerSpec{Destination: dest})
	s.send(p, []string{"one"})
	s.waitIDs(col, "a message after Start", []string{"one"})
	s.do("Pause", c.Pause)
	s.do("Resume", c.Resume)
	s.do("Stop", c.Stop)
	s.do("Stop (again)", c.Stop)
	s.do("Start (restart)", c.Start)
	s.send(p, []string{"two"})
	s.waitIDs(col, "a message after a restart", []string{"two"})
	s.checkOnce(col, []string{"one", "two"})
	s.do("Stop", c.Stop)

	ctx, cancel := s.ctx()
	defer cancel()
	p2, err := s.b.BindProducer(ctx, stream.ProducerSpec{Binding: "bindertest-closed-out-0", Destination: dest, ContentType: stream.DefaultContentType, Logger: s.log})
	if err != nil {
		s.t.Fatalf("BindProducer: %v", err)
	}
	if err := p2.Close(ctx); err != nil {
		s.t.Fatalf("producer Close: %v", err)
	}
	if err := p2.Send(ctx, message("after-close")); !errors.Is(err, stream.ErrClosed) {
		s.t.Errorf("Send after Close: got %v, want an error matching stream.ErrClosed", err)
	}
	if err := p2.Close(ctx); err != nil {
		s.t.Errorf("second producer Close: %v", err)
	}
}
