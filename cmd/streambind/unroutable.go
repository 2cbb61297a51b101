package main

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/streambind/streambind/binder/rabbit"
	"github.com/streambind/streambind/stream"
	"github.com/streambind/streambind/topology"
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

// sendUnroutableRemedy is send's remedy for unroutableHint, for a send
// to destination dest of service s (through binding r when not nil):
// besides a consumer, required-groups on the output binding sent through
// (send declares its groups' queues as the app's producer does), else
// sending through such a binding; for an input binding without a group,
// giving it one (its anonymous queue goes when its consumer stops).
// Required-groups come with the queue settings of the group's consumer
// binding (queueSettingsNote): a producer declares the queue with its
// own, and a queue declared with other arguments than its consumer's
// makes that consumer's service fail to start (inequivalent arg).
func sendUnroutableRemedy(s *service, r *resolved, dest string) string {
	switch {
	case r != nil && !r.input && r.eff.Producer.IsPartitioned():
		return partitionedUnroutableRemedy(s, r, dest)
	case r != nil && r.input && r.eff.Group != "" && r.eff.Consumer.Partitioned:
		// A partitioned group's queues are bound with <dest>-<n>: send
		// through an input binding publishes with the destination's key,
		// which none of them takes, however many consumers run.
		return fmt.Sprintf("%[1]s is partitioned: its group's queues (one per partition) are bound with %[2]s-<partition> only, so a message sent with no partition reaches none of them, whichever consumers run; send through the partitioned output binding that feeds group %[3]s (streambind send --binding NAME --key K), which routes each message to its partition", r.bindingKey, dest, r.eff.Group)
	case r != nil && !r.input:
		c := groupConsumerOf(s, dest, "", r.bindingKey)
		if c.name == "" {
			return fmt.Sprintf("%s, or set stream.bindings.%s.producer.required-groups to that group: send (as the service's producer) then declares and binds its queue before the first message, %s", startConsumerFirst, r.bindingKey, queueSettingsNote(c, r.bindingKey))
		}
		return fmt.Sprintf("%s, or set stream.bindings.%s.producer.required-groups to %s (the group of %s): send (as the service's producer) then declares and binds its queue before the first message%s", startConsumerFirst, r.bindingKey, c.group, c.name, queueSettingsNote(c, r.bindingKey))
	case r != nil && r.eff.Group == "":
		// An anonymous consumer's queue is exclusive and auto-delete:
		// starting its service first keeps nothing sent while it is
		// stopped, and no required-groups names it.
		return fmt.Sprintf("%[1]s has no group, so its service's consumer reads an anonymous queue, deleted when it stops (it takes only what is sent while it runs); to keep what is sent meanwhile, give %[1]s a group (stream.bindings.%[1]s.group) and start its service first (its consumer declares and binds the group's queue), or send through an output binding whose producer.required-groups names that group (streambind send --binding NAME), which declares and binds the queue before the first message", r.bindingKey)
	case r != nil:
		c := groupConsumerOf(s, dest, r.bindingKey, "")
		return fmt.Sprintf("start the service of %s first (its consumer declares and binds its group's queue, which keeps what arrives while it is stopped), or send through an output binding whose producer.required-groups is %s (streambind send --binding NAME), which declares and binds that queue before the first message%s", r.bindingKey, r.eff.Group, queueSettingsNote(c, "NAME"))
	default:
		c := groupConsumerOf(s, dest, "", "")
		if c.name == "" {
			return startConsumerFirst + ", or send through an output binding of the destination whose producer.required-groups names the group (streambind send --binding NAME), which declares and binds its queue before the first message, " + queueSettingsNote(c, "NAME")
		}
		return fmt.Sprintf("%s, or send through an output binding of the destination whose producer.required-groups is %s (the group of %s; streambind send --binding NAME), which declares and binds its queue before the first message%s", startConsumerFirst, c.group, c.name, queueSettingsNote(c, "NAME"))
	}
}

// partitionedUnroutableRemedy is sendUnroutableRemedy's for a send
// through partitioned output binding r: the message's partition has no
// queue (the binder's error names it). A partitioned group's queue of
// partition n is declared and bound (with <dest>-<n>) by its consumer with
// instance-index n, or n in its instance-index-list, so the consumers of
// every partition must have started; or required-groups on r declares
// every partition's queue. The generic remedy (start a consumer of the
// destination, and queue settings in general) said nothing of
// partitions: a consumer of one partition may run and the send still fail.
func partitionedUnroutableRemedy(s *service, r *resolved, dest string) string {
	last := max(r.eff.Producer.PartitionCount, 1) - 1
	c := groupConsumerOf(s, dest, "", r.bindingKey)
	group, note := "the consumers' group", ", with the queue settings of the group's consumer binding, as in SCSt"
	if c.name != "" {
		group = fmt.Sprintf("%s (the group of %s)", c.group, c.name)
		note = queueSettingsNote(c, r.bindingKey)
	}
	return fmt.Sprintf("start the group's consumers of every partition first (instance-index 0 to %d of instance-count %d, or instance-index-lists covering them: each declares and binds the queues of its partitions), or set stream.bindings.%s.producer.required-groups to %s: send (as the service's producer) then declares and binds every partition's queue before the first message%s",
		last, last+1, r.bindingKey, group, note)
}

// groupConsumer is a consumer binding of a group found in a service's
// configuration, and what to set on a producer for the queue its
// required-groups declares to be that consumer's (queueSettingsDiff).
type groupConsumer struct {
	name, group string
	fixes       []string
}

// groupConsumerOf finds in s's configuration the RabbitMQ consumer binding
// of a group that reads destination dest (named; else the first by
// name), and what producer binding prod (its rabbit properties; "" for
// the defaults, stream.rabbit.default.producer) must set to declare that
// group's queue as it does. The zero groupConsumer when there is none.
func groupConsumerOf(s *service, dest, named, prod string) groupConsumer {
	if s == nil {
		return groupConsumer{}
	}
	cs := check(s)
	var pb *binding
	for _, b := range cs.bindings {
		if !b.input && prod != "" && strings.EqualFold(b.name, prod) {
			pb = b
		}
	}
	for _, b := range cs.bindings {
		if !readsGroupOn(b, dest) || (named != "" && !strings.EqualFold(b.name, named)) || (named == "" && !b.configured) {
			continue
		}
		ps := stream.ProducerSpec{Binding: prod, Destination: dest, Producer: stream.ProducerConfig{RequiredGroups: []string{b.group}}}
		prefix := ""
		if pb != nil {
			ps.Producer = pb.producer
			ps.Producer.RequiredGroups = []string{b.group}
			ps.Extension, prefix = pb.ext, rabbitPrefix(pb)
		} else {
			_, ps.Extension = s.loaded.Stream.Extension(rabbit.Type, "")
			prefix = topology.ExtString(ps.Extension, "prefix")
		}
		if ps.Binding == "" {
			ps.Binding = "NAME"
		}
		_, _, fixes := queueSettingsDiff(stream.ConsumerSpec{Binding: b.name, Destination: dest, Group: b.group, Consumer: b.consumer, Extension: b.ext}, ps, prefix)
		return groupConsumer{name: b.name, group: b.group, fixes: fixes}
	}
	return groupConsumer{}
}

// readsGroupOn reports whether b is a RabbitMQ consumer binding of a
// group that reads destination dest.
func readsGroupOn(b *binding, dest string) bool {
	return b.input && b.group != "" && b.binderType == rabbit.Type && slices.Contains(b.destinations, dest)
}

// queueSettingsNote is what the remedy says of the queue settings of
// producer binding prod (NAME: the one the user would send through): a
// producer declares its required groups' queues with its own, as in SCSt,
// so they must be those of the group's consumer binding c: the settings
// to copy when c is known and its queue differs, else what they are.
func queueSettingsNote(c groupConsumer, prod string) string {
	switch {
	case c.name == "":
		return fmt.Sprintf("with %s's own queue settings (stream.rabbit.bindings.%s.producer), as in SCSt: give it those of the group's consumer binding (auto-bind-dlq: true for one with dlq, and its ttl, max-length, quorum, dead-letter-* ...), or that consumer's service fails to start (inequivalent arg)", prod, prod)
	case len(c.fixes) == 0:
		return ""
	}
	return fmt.Sprintf(", with %s's own queue settings, as in SCSt: give it those of %s, or %s's service fails to start (inequivalent arg): set stream.rabbit.bindings.%s.producer %s", prod, c.name, c.name, prod, strings.Join(c.fixes, ", "))
}

// replayUnroutableRemedy is replay's: the copies go to the binding's
// destination (or --to, --to-exchange), which some queue must read.
const replayUnroutableRemedy = "start a consumer of the destination with a group first (for the binding's own destination, its service: it declares and binds its group's queue), or replay to a destination a queue is bound to (--to, --to-exchange)"
