package bindertest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/streambind/streambind/stream"
)

// testBatchPartialFailure: a batch-mode consumer whose BatchHandler says
// that only one message of its batch failed (a *stream.BatchOutcome, what
// the core returns for stream.BatchFailedAt) gets only that message
// dead-lettered, with its own cause as x-exception-message; the others
// are acknowledged, not dead-lettered and not redelivered.
func testBatchPartialFailure(s *suite) {
	dest := s.dest("batchdlq")
	dead := startDeadLetters(s, dest)

	// The failed message is the one at index 1 of the first batch of
	// more than one message (batches may split: partitions, fetches), so
	// that handled messages come before it and, where the batch is longer,
	// after it.
	const reason = "bindertest: batch message rejected"
	col := newCollector()
	var mu sync.Mutex
	chosen := ""
	handler := func(_ context.Context, ms []stream.Envelope) error {
		mu.Lock()
		if chosen == "" && len(ms) > 1 {
			chosen = ms[1].Headers[IDHeader]
		}
		fid := chosen
		mu.Unlock()
		errs := make([]error, len(ms))
		failed := false
		for i, m := range ms {
			col.record(0, m)
			if fid != "" && m.Headers[IDHeader] == fid {
				errs[i], failed = errors.New(reason), true
			}
		}
		if !failed {
			return nil
		}
		return stream.NewBatchOutcome(errs)
	}
	// Bound before the sends and started after them, so that they come
	// in one batch (or few).
	c := s.consumer(s.b, stream.ConsumerSpec{
		Destination: dest, Group: "g", BatchHandler: handler,
		Consumer: stream.ConsumerConfig{DLQ: true, BatchMode: true},
	})
	p := s.producer(s.b, stream.ProducerSpec{Destination: dest})
	sent := ids("b", 10)
	for _, id := range sent {
		s.sendEnv(p, message(id))
	}
	s.do("Start", c.Start)
	s.waitIDs(col, "every message handled", sent)
	mu.Lock()
	poison := chosen
	mu.Unlock()
	if poison == "" {
		s.t.Fatalf("no batch of more than one message came; the subtest checked nothing")
	}
	s.waitIDs(dead, "the failed message on the DLQ", []string{poison})
	got := dead.deliveries(poison)[0].env
	if m := got.Headers[stream.HeaderExceptionMessage]; !strings.Contains(m, reason) {
		s.t.Errorf("dead letter %s = %q, want it to contain the message's own cause %q", stream.HeaderExceptionMessage, m, reason)
	}
	// What a binder that settled the whole batch by its outcome would do
	// shows within Quiet: the others dead-lettered, or redelivered.
	time.Sleep(s.h.Quiet) // watching for what must not come: no event to wait for
	if others := dead.idsExcept(poison); len(others) > 0 {
		s.t.Errorf("messages of the batch that were handled were dead-lettered: %v", others)
	}
	if !s.h.Duplicates {
		if again := col.repeated(sent); len(again) > 0 {
			s.t.Errorf("messages redelivered after their batch was settled: %v", again)
		}
	}
}

// testBatchPartialNak: a BatchHandler outcome that Naks the messages from
// one index on (stream.BatchFailedAt(i, stream.ErrNak)) leaves only those
// for redelivery: the ones before it are acknowledged, not delivered again.
func testBatchPartialNak(s *suite) {
	dest := s.dest("batchnak")
	// The first batch of more than one message Naks its messages from
	// index 1 on (batches may split: partitions, fetches); every later
	// call is handled.
	col := newCollector()
	var mu sync.Mutex
	var before, nakked []string
	handler := func(_ context.Context, ms []stream.Envelope) error {
		for _, m := range ms {
			col.record(0, m)
		}
		mu.Lock()
		defer mu.Unlock()
		if nakked != nil || len(ms) < 2 {
			return nil
		}
		errs := make([]error, len(ms))
		for i, m := range ms {
			if id := m.Headers[IDHeader]; i < 1 {
				before = append(before, id)
			} else {
				nakked = append(nakked, id)
				errs[i] = fmt.Errorf("bindertest: not now: %w", stream.ErrNak)
			}
		}
		return stream.NewBatchOutcome(errs)
	}
	c := s.consumer(s.b, stream.ConsumerSpec{
		Destination: dest, Group: "g", BatchHandler: handler,
		Consumer: stream.ConsumerConfig{BatchMode: true},
	})
	p := s.producer(s.b, stream.ProducerSpec{Destination: dest})
	sent := ids("n", 10)
	for _, id := range sent {
		s.sendEnv(p, message(id))
	}
	s.do("Start", c.Start)
	s.waitIDs(col, "every message handled", sent)
	mu.Lock()
	again, once := slices.Clone(nakked), slices.Clone(before)
	mu.Unlock()
	if len(again) == 0 {
		s.t.Fatalf("no batch of more than one message came; the subtest checked nothing")
	}
	s.wait(col, "the Nak'ed messages handled again", func() bool {
		for _, id := range again {
			if len(col.byID[id]) < 2 {
				return false
			}
		}
		return true
	})
	time.Sleep(s.h.Quiet) // watching for what must not come: no event to wait for
	// Checked on a binder with Duplicates too: those come of rebalances
	// and reconnections, which this short quiet subtest has none of.
	if twice := col.repeated(once); len(twice) > 0 {
		s.t.Errorf("messages acknowledged before the Nak'ed ones were delivered again: %v", twice)
	}
}

// repeated lists the ids of ids delivered more than once, as "id×n".
func (c *collector) repeated(ids []string) []string {
	var out []string
	c.snapshot(func() {
		for _, id := range ids {
			if n := len(c.byID[id]); n > 1 {
				out = append(out, fmt.Sprintf("%s×%d", id, n))
			}
		}
	})
	return out
}
