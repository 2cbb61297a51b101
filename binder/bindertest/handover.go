package bindertest

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/streambind/streambind/stream"
)

// testStopHandsOverInOrder: a member of a group stopped gracefully while
// it holds messages of one key (one in its handler, more received and
// queued) leaves the rest to the member that takes over (a rolling
// restart) in their order: the new member handles every message the
// stopped one did not, each key's in the order sent. With concurrency 1
// and 4 (one key: one route).
func testStopHandsOverInOrder(s *suite) {
	for _, conc := range []int{1, 4} {
		s.t.Run(fmt.Sprintf("concurrency-%d", conc), func(t *testing.T) {
			sub := *s
			sub.t = t
			stopHandsOverInOrder(&sub, conc)
		})
	}
}

func stopHandsOverInOrder(s *suite, conc int) {
	// Stop has no signal that it began, so the test lets it begin while
	// the first message is held in the handler, and unblocks that after a
	// wait. On a busy machine Stop may not have begun by then, and the
	// stopping member handles all the messages: that attempt proves
	// nothing (neither pass nor fail), and the scenario runs again on a
	// destination of its own with a longer wait.
	waits := []time.Duration{100 * time.Millisecond, 500 * time.Millisecond, 2 * time.Second}
	for attempt, wait := range waits {
		if stopHandsOverAttempt(s, conc, attempt, wait) {
			return
		}
		s.t.Logf("attempt %d: Stop had not begun %s after the first message reached the handler (the stopping member handled every message); trying again with a longer wait", attempt+1, wait)
	}
	s.t.Fatalf("the stopping member handled all the messages in %d attempts (waits up to %s): no handover to check", len(waits), waits[len(waits)-1])
}

// stopHandsOverAttempt runs the scenario once; false when the stopping
// member handled every message (Stop began too late to check anything).
func stopHandsOverAttempt(s *suite, conc, attempt int, wait time.Duration) bool {
	const n = 40
	dest := s.dest("handover" + strconv.Itoa(conc) + "-" + strconv.Itoa(attempt))
	// The group exists (and the consumer is subscribed) before the sends.
	started, unblock := make(chan struct{}), make(chan struct{})
	var once sync.Once
	var mu sync.Mutex
	firstGot := map[int]bool{}
	first := s.started(s.b, stream.ConsumerSpec{Destination: dest, Group: "g",
		Consumer: stream.ConsumerConfig{Concurrency: conc},
		Handler: func(_ context.Context, m stream.Envelope) error {
			once.Do(func() {
				close(started)
				<-unblock
			})
			seq, _ := strconv.Atoi(m.Headers["x-bindertest-seq"])
			mu.Lock()
			firstGot[seq] = true
			mu.Unlock()
			return nil
		}})
	p := s.producer(s.b, stream.ProducerSpec{Destination: dest})
	for i := range n {
		s.sendEnv(p, stream.Envelope{
			Payload: []byte(strconv.Itoa(i)),
			Key:     []byte("k"),
			Headers: stream.Headers{IDHeader: "h-" + strconv.Itoa(i), "x-bindertest-seq": strconv.Itoa(i), stream.HeaderKey: "k"},
		})
	}
	select {
	case <-started:
	case <-time.After(s.h.Timeout):
		s.t.Fatal("the first member received nothing")
	}
	stopped := make(chan error, 1)
	go func() {
		ctx, cancel := s.ctx()
		defer cancel()
		stopped <- first.Stop(ctx)
	}()
	// Stop begins while the first message is in the handler, if it has
	// by the end of wait (see stopHandsOverInOrder).
	time.Sleep(wait)
	close(unblock)
	if err := <-stopped; err != nil {
		s.t.Fatalf("Stop: %v", err)
	}

	var got []int
	col := newCollector()
	second := s.consumer(s.newBinder(), stream.ConsumerSpec{Destination: dest, Group: "g",
		Consumer: stream.ConsumerConfig{Concurrency: conc},
		Handler: func(_ context.Context, m stream.Envelope) error {
			seq, _ := strconv.Atoi(m.Headers["x-bindertest-seq"])
			col.snapshot(func() { got = append(got, seq) })
			col.record(1, m)
			return nil
		}})
	s.do("Start (the member taking over)", second.Start)
	mu.Lock()
	var rest []string
	for i := range n {
		if !firstGot[i] {
			rest = append(rest, "h-"+strconv.Itoa(i))
		}
	}
	handledFirst := len(firstGot)
	mu.Unlock()
	if len(rest) == 0 {
		return false
	}
	s.waitIDs(col, "the messages the stopped member did not handle", rest)
	var order []int
	col.snapshot(func() { order = slices.Clone(got) })
	if !slices.IsSorted(order) {
		s.t.Errorf("the member taking over handled %v (the stopped member handled %d); want the rest in the order sent", order, handledFirst)
	}
	if !s.h.Duplicates {
		mu.Lock()
		defer mu.Unlock()
		for _, seq := range order {
			if firstGot[seq] {
				s.t.Errorf("the member taking over handled %d again, which the stopped member had handled", seq)
			}
		}
	}
	return true
}
