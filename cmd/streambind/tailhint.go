package main

import (
	"errors"
	"fmt"
	"regexp"

	"github.com/streambind/streambind/binder/rabbit"
)

// tailQueueHint is err of a tail that joined group (--group) of
// destination dest without a consumer binding of the service's
// (--destination, --exchange, an output binding), when RabbitMQ refused
// its declaration of the group's queue (inequivalent arg): a service's
// binding declared the queue with its settings (dlq's x-dead-letter-*,
// ttl, quorum ...), which tail does not have. The fix is to tail as that
// binding (--binding B), whose settings tail then declares the queue
// with: the message leads with it, naming B when s's configuration has a
// consumer binding of dest in group, and ends with deleting the queue,
// which loses its messages, for a queue no service uses. It led with
// the broker's text and the binder's generic hint ("align the binding's
// properties ... or delete it (with its messages)"). Any other err is
// returned as it is.
func tailQueueHint(err error, s *service, dest, group string) error {
	var te *rabbit.TopologyError
	if group == "" || !errors.As(err, &te) || te.Entity != "queue" || te.Arg == "" {
		return err
	}
	join := fmt.Sprintf("tail as the service's consumer binding that reads %s in group %s, from the service's configuration (PATH or --config): streambind tail --binding <that binding> --group %s", dest, group, group)
	if b := groupBindingOf(s, dest, group); b != "" {
		join = fmt.Sprintf("tail as %s, the consumer binding that reads %s in group %s: streambind tail --binding %s --group %s", b, dest, group, b, group)
	}
	text := fmt.Sprintf("queue %q of group %s exists with another %s (inequivalent arg %q) than tail declares it with: a service's consumer binding declared it with its settings (dlq, ttl, quorum ...), which tail has only as that binding. "+
		"%s (tail then declares the queue with that binding's settings). Only if no service uses the queue: delete it, with its messages, and tail --group %s declares it anew. RabbitMQ: %v",
		te.Name, group, te.Arg, te.Arg, join, group, te.Err)
	return &renamedError{text: text, err: err}
}

// groupBindingOf is the name of a consumer binding of s's configuration
// that reads dest in group on RabbitMQ ("" when there is none).
func groupBindingOf(s *service, dest, group string) string {
	if s == nil {
		return ""
	}
	for _, b := range check(s).bindings {
		if b.configured && b.group == group && readsGroupOn(b, dest) {
			return b.name
		}
	}
	return ""
}

// currentTypeRE finds the type an exchange exists with in RabbitMQ's
// refusal of a declaration with another ("inequivalent arg 'type' for
// exchange 'DLX' in vhost '/': received 'topic' but current is 'direct'").
var currentTypeRE = regexp.MustCompile(`current is '([^']+)'`)

// otherExchangeType reports whether err is RabbitMQ's refusal of tail's
// declaration of an exchange that exists with another type, with the
// exchange's name and that type ("" when the broker did not say).
func otherExchangeType(err error) (name, kind string, ok bool) {
	var te *rabbit.TopologyError
	if !errors.As(err, &te) || te.Entity != "exchange" || te.Arg != "type" {
		return "", "", false
	}
	if m := currentTypeRE.FindStringSubmatch(te.Err.Error()); m != nil {
		kind = m[1]
	}
	return te.Name, kind, true
}
