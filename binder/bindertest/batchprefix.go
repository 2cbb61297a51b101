package bindertest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/streambind/streambind/stream"
)

// testBatchPrefixSettled: the binder passes its BatchHandler a
// stream.BatchSettler, and the messages it is told to settle early are
// acknowledged (committed) at once, while the handler call still runs —
// as the core's retries of a failed message (stream.BatchFailedAt) run in
// it — not when the call returns: a broker-side look
// (Harness.Unsettled) sees them settled while the handler is held. When
// the call returns they are not settled again, whatever it returns (here
// a Nak of the whole batch): the failed message comes again; the ones
// before it do not.
func testBatchPrefixSettled(s *suite) {
	dest := s.dest("batchpfx")
	const total = 6
	col := newCollector()
	// The first batch of more than one message fails at its last message:
	// the ones before it are settled early, as the core settles them
	// before that message's retries. The handler then blocks, "retrying"
	// the failed message, and returns a Nak of the whole batch: it applies
	// only to the messages not settled early (stream.BatchTail), the
	// failed one.
	hb := newHeldBatch(col, 1, func(settle stream.BatchSettler, at int) error {
		return settle(at, nil)
	}, fmt.Errorf("bindertest: retried later: %w", stream.ErrNak))
	held, release, handler := hb.held, hb.release, hb.handle
	c := s.consumer(s.b, stream.ConsumerSpec{
		Destination: dest, Group: "g", BatchHandler: handler,
		Consumer: stream.ConsumerConfig{BatchMode: true},
	})
	p := s.producer(s.b, stream.ProducerSpec{Destination: dest})
	sent := ids("p", total)
	for _, id := range sent {
		s.sendEnv(p, message(id))
	}
	s.do("Start", c.Start)
	var h batchHold
	select {
	case h = <-held:
	case <-time.After(s.h.Timeout):
		close(release)
		s.t.Fatalf("no batch of more than one message came within %v; the subtest checked nothing", s.h.Timeout)
	}
	released := false
	defer func() {
		if !released {
			close(release)
		}
	}()
	switch {
	case h.at < 0:
		s.t.Fatalf("the binder passed its BatchHandler no stream.BatchSettler: the messages before a failed one are acknowledged only when the batch's handling ends")
	case h.err != nil:
		s.t.Errorf("BatchSettler(%d): %v", h.at, h.err)
	}
	// Held: nothing more is acknowledged until release, so at most
	// total - settled - at messages are left unsettled once the early
	// acknowledgement reached the broker.
	s.waitUnsettledAtMost(dest, total-h.settled-h.at, "acknowledgement", func(got, want int) {
		s.t.Fatalf("while the batch's failed message (index %d) was held, the broker had %d messages of the group unsettled, want at most %d: the %d before it were not acknowledged early",
			h.at, got, want, h.at)
	})
	close(release)
	released = true
	s.waitIDs(col, "every message handled", sent)
	once, again := hb.taken()
	s.wait(col, "the failed message delivered again", func() bool { return len(col.byID[again]) >= 2 })
	time.Sleep(s.h.Quiet) // watching for what must not come: no event to wait for
	if twice := col.repeated(once); len(twice) > 0 {
		s.t.Errorf("messages settled early were delivered again: %v", twice)
	}
}

// testBatchFailedSettled: a message the core settles early with a failure
// for good as its outcome (stream.BatchSettler: its retries spent, the
// core goes on with the messages after it) is dead-lettered with its own
// cause, and it and the handled ones before it are settled on the broker,
// while the handler call still runs (Spring Kafka's DefaultErrorHandler
// recovers the record and commits past it before going on): a crash
// while the later messages are handled does not deliver it again. When
// the call returns, it is neither dead-lettered nor delivered again.
func testBatchFailedSettled(s *suite) {
	dest := s.dest("batchfailpfx")
	dead := startDeadLetters(s, dest)
	const total = 10
	const reason = "bindertest: batch message failed for good"
	col := newCollector()
	// The first batch of more than one message: its message before the
	// last fails for good (settled early with that outcome, with the
	// handled ones before it), and the handler then blocks on its last
	// message, and returns nil: the rest handled.
	hb := newHeldBatch(col, 2, func(settle stream.BatchSettler, at int) error {
		errs := make([]error, at+1)
		errs[at] = stream.Permanent(errors.New(reason))
		return settle(at+1, stream.NewBatchOutcome(errs))
	}, nil)
	held, release, handler := hb.held, hb.release, hb.handle
	c := s.consumer(s.b, stream.ConsumerSpec{
		Destination: dest, Group: "g", BatchHandler: handler,
		Consumer: stream.ConsumerConfig{DLQ: true, BatchMode: true},
	})
	p := s.producer(s.b, stream.ProducerSpec{Destination: dest})
	sent := ids("f", total)
	for _, id := range sent {
		s.sendEnv(p, message(id))
	}
	s.do("Start", c.Start)
	released := false
	defer func() {
		if !released {
			close(release)
		}
	}()
	var h batchHold
	select {
	case h = <-held:
	case <-time.After(s.h.Timeout):
		s.t.Fatalf("no batch of more than one message came within %v; the subtest checked nothing", s.h.Timeout)
	}
	switch {
	case h.at < 0:
		s.t.Fatalf("the binder passed its BatchHandler no stream.BatchSettler")
	case h.err != nil:
		s.t.Errorf("BatchSettler(%d) with a failure for good: %v", h.at+1, h.err)
	}
	once, poison := hb.taken()
	// Still held: the dead letter went when the settler was called.
	s.waitIDs(dead, "the message failed for good on the DLQ while its batch's handler still ran", []string{poison})
	if m := dead.deliveries(poison)[0].env.Headers[stream.HeaderExceptionMessage]; !strings.Contains(m, reason) {
		s.t.Errorf("dead letter %s = %q, want it to contain the message's own cause %q", stream.HeaderExceptionMessage, m, reason)
	}
	s.waitUnsettledAtMost(dest, total-h.settled-(h.at+1), "settlement", func(got, want int) {
		s.t.Fatalf("while the batch's handler was held after its message at index %d failed for good, the broker had %d messages of the group unsettled, want at most %d: it and the %d before it were not settled early",
			h.at, got, want, h.at)
	})
	close(release)
	released = true
	s.waitIDs(col, "every message handled", sent)
	time.Sleep(s.h.Quiet) // watching for what must not come: no event to wait for
	if !s.h.Duplicates {
		if twice := col.repeated(append(once, poison)); len(twice) > 0 {
			s.t.Errorf("messages settled early were delivered again: %v", twice)
		}
		if n := len(dead.deliveries(poison)); n != 1 {
			s.t.Errorf("the failed message was dead-lettered %d times, want 1", n)
		}
	}
	if others := dead.idsExcept(poison); len(others) > 0 {
		s.t.Errorf("handled messages were dead-lettered: %v", others)
	}
}

// batchHold is what a heldBatch's handler reports once it settled early.
type batchHold struct {
	at      int // the failed message's index; -1: no settler
	settled int // messages acknowledged by earlier calls
	err     error
}

// heldBatch is a BatchHandler that records every message in col and
// handles at once each batch but the first of more than one message. In
// that one, the message fromEnd before its end fails: the handler notes
// the ids before it and its own, calls settle with the ctx's
// stream.BatchSettler and that index, reports the settler's result on
// held, and blocks until release is closed (or its ctx ends), then
// returns ret.
type heldBatch struct {
	col     *collector
	fromEnd int
	settle  func(settle stream.BatchSettler, at int) error
	ret     error
	held    chan batchHold
	release chan struct{}

	mu      sync.Mutex
	chosen  bool
	earlier int      // messages of the calls before the chosen one
	before  []string // ids before the failed one in the chosen batch
	failed  string   // the failed message's id
}

func newHeldBatch(col *collector, fromEnd int, settle func(stream.BatchSettler, int) error, ret error) *heldBatch {
	return &heldBatch{
		col: col, fromEnd: fromEnd, settle: settle, ret: ret,
		held: make(chan batchHold, 1), release: make(chan struct{}),
	}
}

func (b *heldBatch) handle(ctx context.Context, ms []stream.Envelope) error {
	for _, m := range ms {
		b.col.record(0, m)
	}
	b.mu.Lock()
	if b.chosen || len(ms) < 2 {
		if !b.chosen {
			b.earlier += len(ms)
		}
		b.mu.Unlock()
		return nil
	}
	b.chosen = true
	at := len(ms) - b.fromEnd
	for _, m := range ms[:at] {
		b.before = append(b.before, m.Headers[IDHeader])
	}
	b.failed = ms[at].Headers[IDHeader]
	prior := b.earlier
	b.mu.Unlock()
	settle := stream.BatchSettlerFrom(ctx)
	if settle == nil {
		b.held <- batchHold{at: -1}
		return nil
	}
	b.held <- batchHold{at: at, settled: prior, err: b.settle(settle, at)}
	select {
	case <-b.release:
	case <-ctx.Done():
	}
	return b.ret
}

// taken returns the ids of the chosen batch's messages before the failed
// one, and the failed one's id.
func (b *heldBatch) taken() (before []string, failed string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.before...), b.failed
}

// waitUnsettledAtMost waits until the broker has at most want messages of
// dest's group "g" unsettled (Harness.Unsettled), calling fail (which
// ends the test) if it still has more after the harness's timeout.
// Without Harness.Unsettled it logs that the early what (acknowledgement,
// settlement) is not checked on the broker.
func (s *suite) waitUnsettledAtMost(dest string, want int, what string, fail func(got, want int)) {
	if s.h.Unsettled == nil {
		s.t.Logf("Harness.Unsettled is not set: the early %s is not checked on the broker", what)
		return
	}
	deadline := time.Now().Add(s.h.Timeout)
	for {
		got := s.h.Unsettled(s.t, dest, "g")
		if got <= want {
			return
		}
		if time.Now().After(deadline) {
			fail(got, want)
			return
		}
		time.Sleep(50 * time.Millisecond) // polling the broker's state, bounded by deadline
	}
}
