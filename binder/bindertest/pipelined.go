package bindertest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/streambind/streambind/stream"
)

// pipeliner is a consumer's handling in both forms (stream.Handler and
// stream.AsyncHandler, as the core offers them for a pipelined function
// binding), deciding each message's result by its id.
type pipeliner struct {
	col    *collector
	max    int // the spec's MaxInFlight
	result func(id string, first bool) error
	// hold, when it returns true for an id, makes the async form keep
	// that message unfinished until ctx ends (then done(ctx's error)); the
	// sync form waits for ctx as well.
	hold func(id string) bool

	inFlight, peak atomic.Int64
	asyncCalls     atomic.Int64
	mu             sync.Mutex
	seen           map[string]int
}

func newPipeliner(col *collector, maxInFlight int, result func(id string, first bool) error) *pipeliner {
	return &pipeliner{col: col, max: maxInFlight, result: result, seen: map[string]int{},
		hold: func(string) bool { return false }}
}

// outcome records m (on success) and returns its result.
func (p *pipeliner) outcome(m stream.Envelope) error {
	id := m.Headers[IDHeader]
	p.mu.Lock()
	p.seen[id]++
	first := p.seen[id] == 1
	p.mu.Unlock()
	err := p.result(id, first)
	if err == nil {
		p.col.record(0, m)
	}
	return err
}

func (p *pipeliner) handler(ctx context.Context, m stream.Envelope) error {
	if p.hold(m.Headers[IDHeader]) {
		p.col.signal()
		<-ctx.Done()
		return fmt.Errorf("bindertest: held until the handlers' context ended: %w", ctx.Err())
	}
	return p.outcome(m)
}

func (p *pipeliner) async(ctx context.Context, m stream.Envelope, done func(error)) {
	p.asyncCalls.Add(1)
	n := p.inFlight.Add(1)
	for {
		pk := p.peak.Load()
		if n <= pk || p.peak.CompareAndSwap(pk, n) {
			break
		}
	}
	if int(n) > p.max {
		p.col.violation("%d messages in flight, above max-in-flight %d", n, p.max)
	}
	m = copyEnvelope(m) // the binder may reuse what it handed over once done ran
	finish := func(err error) {
		p.inFlight.Add(-1)
		done(err)
	}
	if p.hold(m.Headers[IDHeader]) {
		p.col.signal()
		go func() {
			<-ctx.Done()
			finish(fmt.Errorf("bindertest: held until the handlers' context ended: %w", ctx.Err()))
		}()
		return
	}
	// Finished in another order than handed over: a little later, on a
	// goroutine of its own (the delay only reorders; nothing waits on it).
	go func() {
		time.Sleep(time.Duration(rand.IntN(2000)) * time.Microsecond)
		finish(p.outcome(m))
	}()
}

// testPipelined: a consumer given an AsyncHandler (besides Handler) —
// pipelined processing — delivers every message, honours max-in-flight,
// settles results that finish out of order as Handler's results (Ack, Nak
// redelivers, a failure dead-letters), and, stopped while an early
// message is unfinished and later ones finished, loses nothing: the
// unfinished one comes again to the group's next consumer. Binders that do
// not pipeline call Handler and pass too.
func testPipelined(s *suite) {
	dest := s.dest("pipelined")
	dead := startDeadLetters(s, dest)

	const maxInFlight = 16
	const nak, poison = "m-5", "m-40"
	col := newCollector()
	p := newPipeliner(col, maxInFlight, func(id string, first bool) error {
		switch {
		case id == nak && first:
			return fmt.Errorf("bindertest: not now: %w", stream.ErrNak)
		case id == poison:
			return errors.New("bindertest: poison pill rejected")
		}
		return nil
	})
	s.started(s.b, stream.ConsumerSpec{Destination: dest, Group: "g", Handler: p.handler, AsyncHandler: p.async,
		Consumer: stream.ConsumerConfig{DLQ: true, MaxInFlight: maxInFlight}})
	prod := s.producer(s.b, stream.ProducerSpec{Destination: dest})
	sent := ids("m", 200)
	s.send(prod, sent)
	var good []string
	for _, id := range sent {
		if id != poison {
			good = append(good, id)
		}
	}
	s.waitIDs(col, "every message but the poison one acknowledged, the Nak'ed one too", good)
	s.waitIDs(dead, "the poison message on the DLQ", []string{poison})
	s.checkOnce(col, good)
	p.mu.Lock()
	if p.seen[nak] < 2 {
		s.t.Errorf("message %s: delivered %d times, want at least 2 (Nak, then redelivery)", nak, p.seen[nak])
	}
	p.mu.Unlock()
	s.t.Logf("AsyncHandler calls: %d, most in flight at once: %d", p.asyncCalls.Load(), p.peak.Load())

	if !s.h.Persistent {
		return
	}
	// Stopped with h-3 unfinished and (when pipelined) later ones
	// finished: h-3 must come again to the next consumer of the group.
	dest2 := s.dest("pipelined-stop")
	col2 := newCollector()
	p2 := newPipeliner(col2, maxInFlight, func(string, bool) error { return nil })
	var held atomic.Bool
	p2.hold = func(id string) bool {
		if id == "h-3" && !held.Load() {
			held.Store(true)
			return true
		}
		return false
	}
	c2 := s.consumer(s.b, stream.ConsumerSpec{Destination: dest2, Group: "g", Handler: p2.handler, AsyncHandler: p2.async,
		Consumer: stream.ConsumerConfig{MaxInFlight: maxInFlight}})
	s.do("Start", c2.Start)
	prod2 := s.producer(s.b, stream.ProducerSpec{Destination: dest2})
	sent2 := ids("h", 20)
	s.send(prod2, sent2)
	s.wait(col2, "h-3 handed over", held.Load)
	if p2.asyncCalls.Load() > 0 {
		var after []string
		for _, id := range sent2 {
			if id != "h-3" {
				after = append(after, id)
			}
		}
		s.waitIDs(col2, "the messages around the unfinished h-3 finished", after)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	err := c2.Stop(ctx) // ends the held handler's context
	cancel()
	s.t.Logf("Stop with h-3 unfinished: %v", err)

	again := newCollector()
	s.started(s.newBinder(), stream.ConsumerSpec{Destination: dest2, Group: "g", Handler: again.handler(0)})
	s.waitIDs(again, "h-3, unfinished when its consumer stopped, delivered to the group's next consumer", []string{"h-3"})
}
