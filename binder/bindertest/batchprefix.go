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
	type hold struct {
		at      int // the failed message's index; -1: no settler
		settled int // messages acknowledged by earlier calls
		err     error
	}
	held := make(chan hold, 1)
	release := make(chan struct{})
	var mu sync.Mutex
	chosen, earlier := false, 0
	var before []string
	failed := ""
	handler := func(ctx context.Context, ms []stream.Envelope) error {
		for _, m := range ms {
			col.record(0, m)
		}
		mu.Lock()
		if chosen || len(ms) < 2 {
			if !chosen {
				earlier += len(ms)
			}
			mu.Unlock()
			return nil
		}
		// The first batch of more than one message fails at its last
		// message: the ones before it are settled early, as the core
		// settles them before that message's retries.
		chosen = true
		at := len(ms) - 1
		for _, m := range ms[:at] {
			before = append(before, m.Headers[IDHeader])
		}
		failed = ms[at].Headers[IDHeader]
		prior := earlier
		mu.Unlock()
		settle := stream.BatchSettlerFrom(ctx)
		if settle == nil {
			held <- hold{at: -1}
			return nil
		}
		held <- hold{at: at, settled: prior, err: settle(at, nil)}
		select { // "retrying" the failed message
		case <-release:
		case <-ctx.Done():
		}
		// A Nak of the whole batch: it applies only to the messages not
		// settled early (stream.BatchTail), the failed one.
		return fmt.Errorf("bindertest: retried later: %w", stream.ErrNak)
	}
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
	var h hold
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
	if s.h.Unsettled != nil {
		// Held: nothing more is acknowledged until release, so at most
		// total - settled - at messages are left unsettled once the
		// early acknowledgement reached the broker.
		want := total - h.settled - h.at
		deadline := time.Now().Add(s.h.Timeout)
		for {
			got := s.h.Unsettled(s.t, dest, "g")
			if got <= want {
				break
			}
			if time.Now().After(deadline) {
				s.t.Fatalf("while the batch's failed message (index %d) was held, the broker had %d messages of the group unsettled, want at most %d: the %d before it were not acknowledged early",
					h.at, got, want, h.at)
			}
			time.Sleep(50 * time.Millisecond) // polling the broker's state, bounded by deadline
		}
	} else {
		s.t.Logf("Harness.Unsettled is not set: the early acknowledgement is not checked on the broker")
	}
	close(release)
	released = true
	s.waitIDs(col, "every message handled", sent)
	mu.Lock()
	once, again := append([]string(nil), before...), failed
	mu.Unlock()
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
	type hold struct {
		at      int // the failed message's index; -1: no settler
		settled int // messages acknowledged by earlier calls
		err     error
	}
	held := make(chan hold, 1)
	release := make(chan struct{})
	var mu sync.Mutex
	chosen, earlier := false, 0
	var before []string
	failed := ""
	handler := func(ctx context.Context, ms []stream.Envelope) error {
		for _, m := range ms {
			col.record(0, m)
		}
		mu.Lock()
		if chosen || len(ms) < 2 {
			if !chosen {
				earlier += len(ms)
			}
			mu.Unlock()
			return nil
		}
		// The first batch of more than one message: its message before
		// the last fails for good (settled early with that outcome, with
		// the handled ones before it), and the handler then blocks on its
		// last message.
		chosen = true
		at := len(ms) - 2
		for _, m := range ms[:at] {
			before = append(before, m.Headers[IDHeader])
		}
		failed = ms[at].Headers[IDHeader]
		prior := earlier
		mu.Unlock()
		settle := stream.BatchSettlerFrom(ctx)
		if settle == nil {
			held <- hold{at: -1}
			return nil
		}
		errs := make([]error, at+1)
		errs[at] = stream.Permanent(errors.New(reason))
		held <- hold{at: at, settled: prior, err: settle(at+1, stream.NewBatchOutcome(errs))}
		select { // handling the message after it
		case <-release:
		case <-ctx.Done():
		}
		return nil // the rest handled
	}
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
	var h hold
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
	mu.Lock()
	poison, once := failed, append([]string(nil), before...)
	mu.Unlock()
	// Still held: the dead letter went when the settler was called.
	s.waitIDs(dead, "the message failed for good on the DLQ while its batch's handler still ran", []string{poison})
	if m := dead.deliveries(poison)[0].env.Headers[stream.HeaderExceptionMessage]; !strings.Contains(m, reason) {
		s.t.Errorf("dead letter %s = %q, want it to contain the message's own cause %q", stream.HeaderExceptionMessage, m, reason)
	}
	if s.h.Unsettled != nil {
		want := total - h.settled - (h.at + 1)
		deadline := time.Now().Add(s.h.Timeout)
		for {
			got := s.h.Unsettled(s.t, dest, "g")
			if got <= want {
				break
			}
			if time.Now().After(deadline) {
				s.t.Fatalf("while the batch's handler was held after its message at index %d failed for good, the broker had %d messages of the group unsettled, want at most %d: it and the %d before it were not settled early",
					h.at, got, want, h.at)
			}
			time.Sleep(50 * time.Millisecond) // polling the broker's state, bounded by deadline
		}
	} else {
		s.t.Logf("Harness.Unsettled is not set: the early settlement is not checked on the broker")
	}
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
	var others []string
	dead.snapshot(func() {
		for id := range dead.byID {
			if id != poison {
				others = append(others, id)
			}
		}
	})
	if len(others) > 0 {
		s.t.Errorf("handled messages were dead-lettered: %v", others)
	}
}
