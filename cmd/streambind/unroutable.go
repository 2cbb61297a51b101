package main

import (
	"errors"
	"fmt"

	"github.com/streambind/streambind/binder/rabbit"
)

// unroutableHint adds what to do to an error of a message RabbitMQ
// returned unroutable (rabbit.ErrUnroutable: published mandatory, and no
// queue is bound to the exchange for its routing key): the broker kept it
// nowhere, so a queue must exist before the send. A group's queue is
// declared and bound when a consumer of the group starts, or when a
// producer with required-groups binds (SCSt's way to keep what is sent
// before any consumer ran). remedy is the caller's; other errors are
// returned as they are.
func unroutableHint(err error, remedy string) error {
	if !errors.Is(err, rabbit.ErrUnroutable) {
		return err
	}
	return fmt.Errorf("%w; nothing keeps a message sent while no queue is bound: %s", err, remedy)
}

// startConsumerFirst is the remedy every unroutableHint begins with.
const startConsumerFirst = "start a consumer of the destination with a group first (it declares and binds its group's queue, which keeps what arrives while the consumer is stopped)"

// sendUnroutableRemedy is send's remedy for unroutableHint: besides a
// consumer, required-groups on the output binding sent through (send
// declares its groups' queues as the app's producer does), else sending
// through such a binding; for an input binding without a group, giving it
// one (its anonymous queue goes when its consumer stops).
func sendUnroutableRemedy(r *resolved) string {
	switch {
	case r != nil && !r.input:
		return fmt.Sprintf("%s, or set stream.bindings.%s.producer.required-groups to that group: send (as the service's producer) then declares and binds its queue before the first message", startConsumerFirst, r.bindingKey)
	case r != nil && r.eff.Group == "":
		// An anonymous consumer's queue is exclusive and auto-delete:
		// starting its service first keeps nothing sent while it is
		// stopped, and no required-groups names it.
		return fmt.Sprintf("%[1]s has no group, so its service's consumer reads an anonymous queue, deleted when it stops (it takes only what is sent while it runs); to keep what is sent meanwhile, give %[1]s a group (stream.bindings.%[1]s.group) and start its service first (its consumer declares and binds the group's queue), or send through an output binding whose producer.required-groups names that group (streambind send --binding NAME), which declares and binds the queue before the first message", r.bindingKey)
	case r != nil:
		return fmt.Sprintf("start the service of %s first (its consumer declares and binds its group's queue, which keeps what arrives while it is stopped), or send through an output binding whose producer.required-groups is %s (streambind send --binding NAME), which declares and binds that queue before the first message", r.bindingKey, r.eff.Group)
	default:
		return startConsumerFirst + ", or send through an output binding of the destination whose producer.required-groups names the group (streambind send --binding NAME), which declares and binds its queue before the first message"
	}
}

// replayUnroutableRemedy is replay's: the copies go to the binding's
// destination (or --to, --to-exchange), which some queue must read.
const replayUnroutableRemedy = "start a consumer of the destination with a group first (for the binding's own destination, its service: it declares and binds its group's queue), or replay to a destination a queue is bound to (--to, --to-exchange)"
