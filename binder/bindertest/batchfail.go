package bindertest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
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
	dlqSpec := deadLetterReader(s, dest, "g") // dlsource.go
	if dlqSpec.Binding == "" {
		dlqSpec.Binding = "bindertest-dlq-in-0"
	}
	dead := newCollector()
	dlqSpec.Handler = dead.handler(0)
	s.started(s.b, dlqSpec)

	const poison = "b-5"
	const reason = "bindertest: batch message rejected"
	col := newCollector()
	var mixed atomic.Bool // the poison message came with others in its batch
	handler := func(_ context.Context, ms []stream.Envelope) error {
		errs := make([]error, len(ms))
		failed := false
		for i, m := range ms {
			col.record(0, m)
			if m.Headers[IDHeader] == poison {
				errs[i], failed = errors.New(reason), true
			}
		}
		if !failed {
			return nil
		}
		if len(ms) > 1 {
			mixed.Store(true)
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
	s.waitIDs(dead, "the failed message on the DLQ", []string{poison})
	got := dead.deliveries(poison)[0].env
	if m := got.Headers[stream.HeaderExceptionMessage]; !strings.Contains(m, reason) {
		s.t.Errorf("dead letter %s = %q, want it to contain the message's own cause %q", stream.HeaderExceptionMessage, m, reason)
	}
	if !mixed.Load() {
		s.t.Errorf("the failed message never came in a batch with others; the subtest checked nothing")
	}
	// What a binder that settled the whole batch by its outcome would do
	// shows within Quiet: the others dead-lettered, or redelivered.
	time.Sleep(s.h.Quiet) // watching for what must not come: no event to wait for
	var others []string
	dead.snapshot(func() {
		for id := range dead.byID {
			if id != poison {
				others = append(others, id)
			}
		}
	})
	if len(others) > 0 {
		s.t.Errorf("messages of the batch that were handled were dead-lettered: %v", others)
	}
	if !s.h.Duplicates {
		var again []string
		col.snapshot(func() {
			for _, id := range sent {
				if n := len(col.byID[id]); n > 1 {
					again = append(again, fmt.Sprintf("%s×%d", id, n))
				}
			}
		})
		if len(again) > 0 {
			s.t.Errorf("messages redelivered after their batch was settled: %v", again)
		}
	}
}

// testBatchPartialNak: a BatchHandler outcome that Naks the messages from
// one index on (stream.BatchFailedAt(i, stream.ErrNak)) leaves only those
// for redelivery: the ones before it are acknowledged, not delivered again.
func testBatchPartialNak(s *suite) {
	dest := s.dest("batchnak")
	const poison = "n-5"
	col := newCollector()
	var nakked atomic.Bool
	var before sync.Map // ids acknowledged in the batch that Nak'ed the rest
	handler := func(_ context.Context, ms []stream.Envelope) error {
		k := -1
		for i, m := range ms {
			col.record(0, m)
			if m.Headers[IDHeader] == poison && k < 0 && !nakked.Load() {
				k = i
			}
		}
		if k <= 0 {
			return nil // handled (or the poison first: nothing to tell apart)
		}
		nakked.Store(true)
		errs := make([]error, len(ms))
		for i, m := range ms {
			if i < k {
				before.Store(m.Headers[IDHeader], true)
			} else {
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
	s.wait(col, "the message Nak'ed with the rest of its batch handled again", func() bool {
		return len(col.byID[poison]) >= 2
	})
	s.waitIDs(col, "every message handled", sent)
	if !nakked.Load() {
		s.t.Fatalf("the Nak'ed message never came after others in its batch; the subtest checked nothing")
	}
	time.Sleep(s.h.Quiet) // watching for what must not come: no event to wait for
	// Checked on a binder with Duplicates too: those come of rebalances
	// and reconnections, which this short quiet subtest has none of.
	var again []string
	col.snapshot(func() {
		before.Range(func(id, _ any) bool {
			if n := len(col.byID[id.(string)]); n > 1 {
				again = append(again, fmt.Sprintf("%s×%d", id, n))
			}
			return true
		})
	})
	if len(again) > 0 {
		s.t.Errorf("messages acknowledged before the Nak'ed one were delivered again: %v", again)
	}
}
