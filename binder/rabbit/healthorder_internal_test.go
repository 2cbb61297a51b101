package rabbit

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/streambind/streambind/stream"
)

// TestHealthResultsOutOfOrder: SendAsync results come in confirm order, not
// in the order the sends started, so the binding's health follows the
// latest-started send whose result is known: a failure of a send that
// started before a successful one does not mark the binding down (it stayed
// down until the next success, for ever on an idle binding), and a success
// of a send that started before a failing one does not clear it.
func TestHealthResultsOutOfOrder(t *testing.T) {
	p := &producer{spec: stream.ProducerSpec{Binding: "b-out-0", Destination: "d"}, born: time.Now()}
	at := func(ms int) time.Time { return p.born.Add(time.Duration(ms) * time.Millisecond) }
	missing := errors.New("exchange missing")
	health := func() error { return p.Health(context.Background()) }

	p.setDown(at(1), missing)
	if health() == nil {
		t.Fatal("up after a failed send")
	}
	p.setDown(at(3), nil) // the exchange appeared; a later send succeeded
	p.setDown(at(2), missing)
	if err := health(); err != nil {
		t.Fatalf("down after an older send's failure reported late: %v", err)
	}
	p.setDown(at(5), missing) // gone again
	p.setDown(at(4), nil)     // an older send's success reported late
	if health() == nil {
		t.Fatal("up after an older send's success reported late")
	}
	p.setDown(at(7), missing)
	p.setDown(at(6), missing) // older cause: the newer one stays
	if err := health(); err == nil || !errors.Is(err, missing) {
		t.Fatalf("health %v", err)
	}
	p.setDown(at(8), nil)
	if err := health(); err != nil {
		t.Fatalf("down after a later send succeeded: %v", err)
	}
}
