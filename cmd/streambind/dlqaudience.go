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
// own queue, through the default exchange); Kafka, NATS and Redis have no
// such thing (every group of a topic, stream or subject reads each
// message), which the note says. "" when the copies go to one queue
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
	case nats.Type:
		return fmt.Sprintf("note: replaying to destination %s: every consumer group of it receives the copies again, not only %s; NATS has no option to confine a replay to one group (each group's durable consumer reads every message of the stream)\n", dest, who)
	case redis.Type:
		return fmt.Sprintf("note: replaying to destination %s: every consumer group of it receives the copies again, not only %s; Redis has no option to confine a replay to one group (each consumer group reads every entry of the stream)\n", dest, who)
	}
	return fmt.Sprintf("note: replaying to destination %s: every consumer group of it receives the copies again, not only %s\n", dest, who)
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
