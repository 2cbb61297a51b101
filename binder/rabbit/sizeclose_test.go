package rabbit

import (
	"errors"
	"testing"

	amqp "github.com/rabbitmq/amqp091-go"
)

// TestChannelClosedForAnotherMessagesSize: the broker closes a publishing
// channel with PRECONDITION_FAILED when a message exceeds its
// max_message_size (lower than the binder's max-message-size: the broker's
// limit was lowered, the binder's default kept). The reason names the size:
// the message over it fails at once, permanently (ErrTooLarge), and every
// other message in flight on that channel is published again as after a
// lost connection, however often that happens. Before, each closure
// counted against every message in flight, and one that rode along with
// the oversized message's three attempts failed with the 406, permanently:
// dead-lettered, or dropped without a DLQ.
func TestChannelClosedForAnotherMessagesSize(t *testing.T) {
	closed := func(reason string) *laneSession {
		s := &laneSession{conn: &amqp.Connection{}, closeErr: make(chan *amqp.Error, 1)}
		s.closeErr <- &amqp.Error{Code: amqp.PreconditionFailed, Reason: reason, Server: true}
		return s
	}
	for _, reason := range []string{
		"PRECONDITION_FAILED - message size 2000 is larger than configured max size 1000",
		"PRECONDITION_FAILED - message size 2000 is larger than max size 1000",
	} {
		small := &pubAttempt{exchange: "x", msg: amqp.Publishing{Body: make([]byte, 10)}}
		for i := range 5 {
			o, err := closed(reason).lost(small)
			if fin, ferr := small.next(o, err); fin {
				t.Fatalf("%q: a 10-byte message failed after %d closures: %v", reason, i+1, ferr)
			}
		}
		big := &pubAttempt{exchange: "x", msg: amqp.Publishing{Body: make([]byte, 2000)}}
		o, err := closed(reason).lost(big)
		fin, err := big.next(o, err)
		if !fin || !errors.Is(err, ErrTooLarge) || !isPermanent(err) {
			t.Errorf("%q: the 2000-byte message: final %v, %v; want ErrTooLarge at once", reason, fin, err)
		}
	}
	// Another closure keeps the three-strikes rule.
	other := &pubAttempt{exchange: "x", msg: amqp.Publishing{Body: make([]byte, 10)}}
	var fin bool
	for i := 0; i < 3 && !fin; i++ {
		o, err := closed("PRECONDITION_FAILED - something else").lost(other)
		fin, _ = other.next(o, err)
	}
	if !fin {
		t.Error("an unknown channel error did not end the message after 3 closures")
	}
}

// TestChannelClosedForAnotherExchange: a channel closed for a publish to
// another exchange (its reason names that exchange: access refused, no
// such exchange) is not this message's doing: it is published again,
// however often that happens. Before, the third such closure failed it
// with the other exchange's error: a 403 marked its own producer binding
// down ("the broker refuses publishing to exchange A") for exchange B's
// permissions.
func TestChannelClosedForAnotherExchange(t *testing.T) {
	closed := func(code int, reason string) *laneSession {
		s := &laneSession{conn: &amqp.Connection{}, closeErr: make(chan *amqp.Error, 1)}
		s.closeErr <- &amqp.Error{Code: code, Reason: reason, Server: true}
		return s
	}
	for _, c := range []struct {
		code   int
		reason string
	}{
		{amqp.AccessRefused, "ACCESS_REFUSED - access to exchange 'b' in vhost 'v' refused for user 'guest'"},
		{amqp.NotFound, "NOT_FOUND - no exchange 'b' in vhost 'v'"},
	} {
		a := &pubAttempt{exchange: "a", msg: amqp.Publishing{Body: []byte("m")}}
		for i := range 5 {
			o, err := closed(c.code, c.reason).lost(a)
			if fin, ferr := a.next(o, err); fin {
				t.Fatalf("%q: a message to exchange a failed after %d closures: %v", c.reason, i+1, ferr)
			}
		}
		b := &pubAttempt{exchange: "b", msg: amqp.Publishing{Body: []byte("m")}}
		o, err := closed(c.code, c.reason).lost(b)
		if fin, err := b.next(o, err); !fin || err == nil {
			t.Errorf("%q: the message to exchange b: final %v, %v; want its error at once", c.reason, fin, err)
		}
	}
}

// TestChannelClosedForDefaultExchange: the broker names the default
// exchange "" amq.default in a closure's reason (a wait queue's publish
// refused: "access to exchange 'amq.default' ..."). Such a closure is the
// doing of the message to "", which fails with it at once, not one of
// another exchange: that message was published again, uncounted, on a
// new channel after each closure until its ctx ended.
func TestChannelClosedForDefaultExchange(t *testing.T) {
	const reason = "ACCESS_REFUSED - access to exchange 'amq.default' in vhost 'v' refused for user 'u'"
	closed := func() *laneSession {
		s := &laneSession{conn: &amqp.Connection{}, closeErr: make(chan *amqp.Error, 1)}
		s.closeErr <- &amqp.Error{Code: amqp.AccessRefused, Reason: reason, Server: true}
		return s
	}
	d := &pubAttempt{exchange: "", msg: amqp.Publishing{Body: []byte("m")}}
	o, err := closed().lost(d)
	if fin, err := d.next(o, err); !fin || err == nil {
		t.Errorf("the message to the default exchange: final %v, %v; want its error at once", fin, err)
	}
	a := &pubAttempt{exchange: "a", msg: amqp.Publishing{Body: []byte("m")}}
	for i := range 5 {
		o, err := closed().lost(a)
		if fin, ferr := a.next(o, err); fin {
			t.Fatalf("a message to exchange a failed after %d closures of the default exchange's: %v", i+1, ferr)
		}
	}
}
