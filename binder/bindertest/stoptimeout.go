package bindertest

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/streambind/streambind/stream"
)

// RunStopOutOfTimeGivesBack runs the subtest StopOutOfTimeGivesBack: a
// member of a group whose handler is still running when its Stop's time
// is up, and returns as soon as its context ends, gives its message back
// within that time; so do the messages it had received and not yet
// handled. Stop returns nil, the binder's Close with the same (spent)
// context too, as in a shutdown of stream.App, and another member of the
// group handles every message within the harness timeout (far less than
// the ack-wait or claim-min-idle, 30s, after which a message a member
// holds goes to another).
//
// It is run alone, not by [Run]: it waits out a Stop's whole time.
func RunStopOutOfTimeGivesBack(t *testing.T, h Harness) {
	t.Helper()
	h = h.withDefaults(t)
	testStopOutOfTimeGivesBack(newSuite(t, h))
}

// stopBudget is the Stop's time in StopOutOfTimeGivesBack: the default
// shutdown-timeout, whose last second is left for settling (half a
// second, with a 5s budget, was too little for a Kafka member to leave
// its group on a loaded machine).
const stopBudget = 10 * time.Second

func testStopOutOfTimeGivesBack(s *suite) {
	const n = 3
	dest := s.dest("stopgivesback")
	idList := ids("gb", n)
	entered := make(chan string, n)
	first := s.started(s.b, stream.ConsumerSpec{Destination: dest, Group: "g",
		Handler: func(ctx context.Context, m stream.Envelope) error {
			entered <- m.Headers[IDHeader]
			<-ctx.Done() // honours its context, and nothing else ends it
			return ctx.Err()
		}})
	p := s.producer(s.newBinder(), stream.ProducerSpec{Destination: dest})
	s.send(p, idList)
	select {
	case <-entered:
	case <-time.After(s.h.Timeout):
		s.t.Fatal("the first member received nothing")
	}

	// As stream.App shuts down: the binding's Stop, then the binder's
	// Close, within one deadline.
	ctx, cancel := context.WithTimeout(context.Background(), stopBudget)
	defer cancel()
	began := time.Now()
	if err := first.Stop(ctx); err != nil {
		s.t.Errorf("Stop of the member whose handler returns when its context ends, after %s of %s: %v (its handler's context was cancelled only when the time was up, leaving none to give its message back)",
			time.Since(began).Round(time.Millisecond), stopBudget, err)
	}
	if err := s.b.Close(ctx); err != nil {
		s.t.Errorf("Close of its binder, with the Stop's context: %v", err)
	}

	col := newCollector()
	s.started(s.newBinder(), stream.ConsumerSpec{Destination: dest, Group: "g", Handler: col.handler(2)})
	took := time.Now()
	s.waitIDs(col, "the messages the stopped member gave back ("+strconv.Itoa(n)+")", idList)
	s.t.Logf("the other member had them %s after it started", time.Since(took).Round(time.Millisecond))
}
