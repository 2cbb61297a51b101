package bindertest

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/streambind/streambind/stream"
)

// asyncDones is the suite's [Dones] of n SendAsyncs tied to col: a
// second call of one done, or a done with an error, is a violation
// recorded in col when it happens (a done may run on any goroutine,
// before SendAsync returned), which ends the suite's waits.
type asyncDones struct {
	*Dones
	col *collector
	ok  atomic.Int64 // messages whose done was called, first with nil
}

func newAsyncDones(col *collector, n int, what string) *asyncDones {
	d := &asyncDones{Dones: NewDones(n), col: col}
	d.Name = what
	return d
}

// done returns the done of message i (id).
func (d *asyncDones) done(i int, id string) func(error) {
	return func(err error) {
		switch c := d.Call(i, err); {
		case c > 1:
			d.col.violation("SendAsync(%s): done called %d times, want once", id, c)
		case err != nil:
			d.col.violation("SendAsync(%s): done(%v), want done(nil)", id, err)
		default:
			d.ok.Add(1)
		}
		d.col.signal()
	}
}

// wait waits until every done was called (with nil: an error is a
// violation, which ends the wait).
func (d *asyncDones) wait(s *suite, what string) {
	s.t.Helper()
	n := int64(len(d.calls))
	s.waitOrReport(d.col, what, func() bool { return d.ok.Load() == n }, func() string {
		return strconv.FormatInt(d.ok.Load(), 10) + " of " + strconv.FormatInt(n, 10) + " called"
	})
}

// asyncMessage is message seq of sender src: key "k" (one partition on
// every binder, one channel on RabbitMQ: order defined), its sender and
// place in headers.
func asyncMessage(src, seq int) (string, stream.Envelope) {
	id := "s" + strconv.Itoa(src) + "-" + strconv.Itoa(seq)
	return id, stream.Envelope{
		Payload: []byte(id),
		Key:     []byte("k"),
		Headers: stream.Headers{
			IDHeader:                 id,
			"x-bindertest-src":       strconv.Itoa(src),
			"x-bindertest-seq":       strconv.Itoa(seq),
			stream.HeaderKey:         "k",
			stream.HeaderContentType: "text/plain",
		},
	}
}

// senderOrder returns a handler that records every message in col and,
// for the first message of a sender received out of the order sent, a
// violation (a message received again is one only without
// Harness.Duplicates).
func senderOrder(s *suite, col *collector) stream.Handler {
	type sender struct {
		seen     map[int]bool
		top      int // the latest message received, -1 for none
		reported bool
	}
	var mu sync.Mutex
	senders := map[string]*sender{}
	return func(_ context.Context, m stream.Envelope) error {
		src := m.Headers["x-bindertest-src"]
		seq, _ := strconv.Atoi(m.Headers["x-bindertest-seq"])
		mu.Lock()
		sn := senders[src]
		if sn == nil {
			sn = &sender{seen: map[int]bool{}, top: -1}
			senders[src] = sn
		}
		switch {
		case sn.seen[seq]:
			if !s.h.Duplicates {
				col.violation("sender %s: message %d received again", src, seq)
			}
		case seq != sn.top+1 && !sn.reported:
			sn.reported = true // the first, not every message after it
			col.violation("sender %s: message %d received after %d (out of the order sent)", src, seq, sn.top)
		}
		sn.seen[seq] = true
		sn.top = max(sn.top, seq)
		mu.Unlock()
		col.record(0, m)
		return nil
	}
}

// testSendAsync: a producer that implements stream.AsyncProducer keeps its
// contract. SendAsyncs one after another from one goroutine: every done is
// called once, with nil, and a group gets the messages in the order sent
// (one key: one partition, one RabbitMQ channel). After Close returned,
// SendAsync does not block and calls done once with an error matching
// stream.ErrClosed. SendAsyncs from 8 goroutines at once: every done once
// with nil, every message received, each goroutine's in its order.
func testSendAsync(s *suite) {
	const n = 1000
	dest := s.dest("sendasync")
	p := s.producer(s.b, stream.ProducerSpec{Destination: dest})
	ap, ok := p.(stream.AsyncProducer)
	if !ok {
		s.t.Skipf("the binder's producer (%T) does not implement stream.AsyncProducer", p)
	}
	col := newCollector()
	s.started(s.b, stream.ConsumerSpec{Destination: dest, Group: "g", Handler: senderOrder(s, col)})

	dones := newAsyncDones(col, n, "SendAsync one after another")
	sent := make([]string, n)
	ctx, cancel := s.ctx()
	defer cancel()
	for i := range n {
		id, m := asyncMessage(0, i)
		sent[i] = id
		ap.SendAsync(ctx, m, dones.done(i, id))
	}
	dones.wait(s, "the done of every SendAsync")
	s.waitIDs(col, "every message sent with SendAsync, in the order sent", sent)
	s.checkOnce(col, sent)
	s.do("Close", p.Close)
	dones.CheckOnce(s.t) // a second call seen so far

	// After Close: done once, with stream.ErrClosed, and no blocking
	// (ctx is not what ends it).
	var (
		closedCalls atomic.Int32
		closedErr   = make(chan error, 1)
		returned    = make(chan struct{})
	)
	bg, stop := context.WithCancel(context.Background())
	defer stop() // a SendAsync blocked in spite of the contract gives up at the test's end
	go func() {
		defer close(returned)
		_, m := asyncMessage(0, n)
		ap.SendAsync(bg, m, func(err error) {
			if closedCalls.Add(1) == 1 {
				closedErr <- err
			}
		})
	}()
	timeout := time.NewTimer(s.h.Timeout)
	defer timeout.Stop()
	select {
	case <-returned:
	case <-timeout.C:
		s.t.Fatalf("SendAsync after Close: still blocked after %s", s.h.Timeout)
	}
	select {
	case err := <-closedErr:
		if !errors.Is(err, stream.ErrClosed) {
			s.t.Errorf("SendAsync after Close: done(%v), want an error matching stream.ErrClosed", err)
		}
	case <-timeout.C:
		s.t.Fatalf("SendAsync after Close: done not called within %s", s.h.Timeout)
	}

	// From 8 goroutines at once, all to one key.
	const goroutines, each = 8, 200
	dest2 := s.dest("sendasync-concurrent")
	p2 := s.producer(s.b, stream.ProducerSpec{Destination: dest2})
	ap2 := p2.(stream.AsyncProducer)
	col2 := newCollector()
	s.started(s.b, stream.ConsumerSpec{Destination: dest2, Group: "g", Handler: senderOrder(s, col2)})
	dones2 := newAsyncDones(col2, goroutines*each, "SendAsync from 8 goroutines")
	sent2 := make([]string, goroutines*each)
	ctx2, cancel2 := s.ctx()
	defer cancel2()
	var wg sync.WaitGroup
	for g := range goroutines {
		for i := range each {
			sent2[g*each+i], _ = asyncMessage(g, i)
		}
		wg.Go(func() {
			for i := range each {
				id, m := asyncMessage(g, i)
				ap2.SendAsync(ctx2, m, dones2.done(g*each+i, id))
			}
		})
	}
	wg.Wait()
	dones2.wait(s, "the done of every SendAsync of 8 goroutines")
	s.waitIDs(col2, "every message SendAsync'ed by 8 goroutines, each goroutine's in its order", sent2)
	s.checkOnce(col2, sent2)
	s.do("Close (concurrent producer)", p2.Close)
	dones2.CheckOnce(s.t)
	if c := closedCalls.Load(); c != 1 {
		s.t.Errorf("SendAsync after Close: done called %d times, want once", c)
	}
}
