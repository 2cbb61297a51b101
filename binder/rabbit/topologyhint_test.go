package rabbit

import (
	"errors"
	"strings"
	"testing"
)

// A queue declared by an earlier version of a service whose configuration
// changed since (dlq turned on, a ttl added) is refused by RabbitMQ; the
// error says that RabbitMQ keeps the first declaration and what to do, and
// for a dead-letter argument names the redeploy as a cause, not only a
// producer's required-groups (the message named only that, which misled the
// usual case: auto-bind-dlq switched on between two deployments).
func TestTopologyErrorHintNamesChangedProperty(t *testing.T) {
	cause := errors.New(`Exception (406) Reason: "PRECONDITION_FAILED - inequivalent arg 'x-dead-letter-exchange' for queue 'orders.g' in vhost '/': received the value 'DLX' of type 'longstr' but current is none"`)
	dl := (&TopologyError{Entity: "queue", Name: "orders.g", Arg: "x-dead-letter-exchange", Err: cause}).Error()
	for _, want := range []string{`"orders.g"`, "x-dead-letter-exchange", "first declared", "delete it (with its messages)", "dlq or a dead-letter-* property changed since the queue was declared", "required-groups", "received the value 'DLX'"} {
		if !strings.Contains(dl, want) {
			t.Errorf("error lacks %q:\n%s", want, dl)
		}
	}
	ttl := (&TopologyError{Entity: "queue", Name: "orders.g", Arg: "x-message-ttl", Err: errors.New("x")}).Error()
	if !strings.Contains(ttl, "first declared") || strings.Contains(ttl, "required-groups") {
		t.Errorf("a ttl clash: %s", ttl)
	}
	ex := (&TopologyError{Entity: "exchange", Name: "orders", Arg: "type", Err: errors.New("x")}).Error()
	if !strings.Contains(ex, "what the exchange was first declared with") {
		t.Errorf("an exchange clash: %s", ex)
	}
}
