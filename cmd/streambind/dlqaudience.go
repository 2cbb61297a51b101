package main

import (
	"fmt"
	"strings"

	"github.com/streambind/streambind/binder/kafka"
	"github.com/streambind/streambind/binder/nats"
	"github.com/streambind/streambind/binder/rabbit"
	"github.com/streambind/streambind/binder/redis"
	"github.com/streambind/streambind/stream"
)

// replayAudienceNotice is the note dlq replay prints on stderr, once,
// before its first copy (or --dry-run line), when the copies go to a
// destination that other consumer groups may read: each of them receives
// the copies again, not only the binding's group (a new-user trial: an
// inventory consumer handled an order twice after payment's dead letters
// were replayed). It names the destination and what confines a replay to
// the binding's group on its binder: on RabbitMQ --to-queue (the group's
// own queue, through the default exchange); Kafka has no such thing
// (every group of a topic reads each record), which the note says. On
// NATS and Redis a replay to the binding's own destination is for its
// group only (replayGroup), which the note says instead. "" when the copies go to one queue
// (--to-queue): nothing to say. dest is the destination as the replay
// names it (the binding's, --to's or --to-exchange's, literal).
func (t *dlqTarget) replayAudienceNotice(dest string, literal bool, queue string) string {
	if queue != "" {
		return ""
	}
	who := "its binding's own"
	if t.spec.Group != "" {
		who = "group " + t.spec.Group
	}
	switch t.typ {
	case rabbit.Type:
		exchange := dest
		if !literal {
			if p, _ := t.replayExtension(dest, false)["prefix"].(string); p != "" {
				exchange = p + dest
			}
		}
		return fmt.Sprintf("note: replaying to exchange %s: every queue bound to it gets the copies, so every consumer group of it receives them again, not only %s; %s\n",
			exchange, who, t.rabbitConfineHint())
	case kafka.Type:
		return fmt.Sprintf("note: replaying to topic %s: every consumer group of it receives the copies again, not only %s; Kafka has no option to confine a replay to one group (each group reads every record of a topic)\n", dest, who)
	case nats.Type, redis.Type:
		if g := t.replayGroup(dest, literal, queue); g != "" {
			return fmt.Sprintf("note: replaying to destination %s for group %s only: the copies carry %s: %s, and the consumers of its other groups acknowledge them without handling them (those of streambind releases without this header handle them too)\n",
				dest, g, stream.HeaderReplayGroup, g)
		}
		return fmt.Sprintf("note: replaying to destination %s: every consumer group of it receives the copies again, not only %s (a replay to the binding's own destination is for its group only)\n", dest, who)
	}
	return fmt.Sprintf("note: replaying to destination %s: every consumer group of it receives the copies again, not only %s\n", dest, who)
}

// replayGroup is the consumer group a replay's copies to dest are for
// (stream.HeaderReplayGroup), "" for every group of dest: on NATS and
// Redis, where every group of a destination reads each message, the
// binding's group when the copies go back to the binding's own
// destination (not --to another one, which the group may not read: a
// copy only other groups read would be acknowledged by all of them and
// handled by none). The binders' consumers of the other groups
// acknowledge such a copy without handling it. RabbitMQ confines a
// replay by --to-queue instead; Kafka's binder does not honour the
// header.
func (t *dlqTarget) replayGroup(dest string, literal bool, queue string) string {
	if queue != "" || literal || t.spec.Group == "" || dest != t.spec.Destination {
		return ""
	}
	switch t.typ {
	case nats.Type, redis.Type:
		return t.spec.Group
	}
	return ""
}

// rabbitConfineHint says which --to-queue sends a RabbitMQ replay to the
// binding's group's queue only (replayQueue's rules: a partitioned group
// has a queue per partition; a binding without a group has no queue of its
// own that outlives its consumer).
func (t *dlqTarget) rabbitConfineHint() string {
	if t.spec.Group == "" {
		return "--to-queue=NAME sends them to the queue NAME only"
	}
	if q, err := t.replayQueue(ownQueue); err == nil {
		return fmt.Sprintf("--to-queue sends them to group %s's queue %s only", t.spec.Group, q)
	}
	spec := t.spec
	spec.Consumer.Partitioned = false
	if qs, err := rabbit.ConsumerQueues(spec); err == nil {
		for _, q := range qs {
			if !q.DLQ {
				return fmt.Sprintf("--header %s=N --to-queue=%s-N sends partition N's to group %s's queue for it only", stream.HeaderPartition, q.Name, t.spec.Group)
			}
		}
	}
	return "--to-queue=NAME sends them to the queue NAME only"
}

// onceNote prints note once on stderr through print (replay's note),
// the first time it is called; "" prints nothing.
func onceNote(note string, print func(format string, args ...any)) func() {
	done := note == ""
	return func() {
		if !done {
			done = true
			print("%s", strings.TrimSuffix(note, "\n")+"\n")
		}
	}
}
