package rabbit

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"

	amqp "github.com/rabbitmq/amqp091-go"
)

// TopologyError is a declaration the broker refused, typically because an
// exchange or queue of that name exists with other arguments
// ("inequivalent arg"). Entity and Name say what was declared, Arg which
// argument differs (when the broker said so).
type TopologyError struct {
	Entity string // "exchange", "queue" or "binding"
	Name   string
	Arg    string // e.g. "x-queue-type", "type", "durable"; "" when unknown
	Err    error
}

func (e *TopologyError) Error() string {
	if e.Arg != "" {
		return fmt.Sprintf("declare %s %q: it exists with a different %s (inequivalent arg %q; delete it or align the binding's properties): %v", e.Entity, e.Name, e.Arg, e.Arg, e.Err)
	}
	return fmt.Sprintf("declare %s %q: %v", e.Entity, e.Name, e.Err)
}

func (e *TopologyError) Unwrap() error { return e.Err }

var inequivalentRE = regexp.MustCompile(`inequivalent arg '([^']+)'`)

func topoErr(entity, name string, err error) error {
	te := &TopologyError{Entity: entity, Name: name, Err: err}
	var ae *amqp.Error
	if errors.As(err, &ae) {
		if m := inequivalentRE.FindStringSubmatch(ae.Reason); m != nil {
			te.Arg = m[1]
		}
	}
	return te
}

// queueSpec is a queue to declare and bind.
type queueSpec struct {
	name       string
	durable    bool
	exclusive  bool
	autoDelete bool
	args       amqp.Table
	exchange   string   // "" = do not bind
	keys       []string // binding keys
}

func (q queueOptions) args(dlqRoutingKey string) amqp.Table {
	t := amqp.Table{}
	if q.quorum {
		t["x-queue-type"] = "quorum"
	}
	if q.ttl > 0 {
		t["x-message-ttl"] = int64(q.ttl.Milliseconds())
	}
	if q.maxLength > 0 {
		t["x-max-length"] = int64(q.maxLength)
	}
	if q.singleActiveConsumer {
		t["x-single-active-consumer"] = true
	}
	if q.deadLetterArgs && dlqRoutingKey != "" {
		t["x-dead-letter-exchange"] = DLXName
		t["x-dead-letter-routing-key"] = dlqRoutingKey
	}
	if len(t) == 0 {
		return nil
	}
	return t
}

// topology is what a binding declares, idempotently, at bind time and after
// every reconnection.
type topology struct {
	exchange     string // "" = none
	exchangeType string
	queues       []queueSpec
	dlq          *queueSpec // bound to DLXName
}

// declare declares t on ch. A refused declaration closes ch (AMQP channel
// exception), so the caller uses a channel of its own.
func (t topology) declare(ch *amqp.Channel) error {
	if t.exchange != "" {
		if err := ch.ExchangeDeclare(t.exchange, t.exchangeType, true, false, false, false, nil); err != nil {
			return topoErr("exchange", t.exchange, err)
		}
	}
	if t.dlq != nil {
		if err := ch.ExchangeDeclare(DLXName, "direct", true, false, false, false, nil); err != nil {
			return topoErr("exchange", DLXName, err)
		}
	}
	qs := t.queues
	if t.dlq != nil {
		qs = append(append([]queueSpec(nil), qs...), *t.dlq)
	}
	for _, q := range qs {
		if _, err := ch.QueueDeclare(q.name, q.durable, q.autoDelete, q.exclusive, false, q.args); err != nil {
			return topoErr("queue", q.name, err)
		}
		if q.exchange == "" {
			continue
		}
		for _, k := range q.keys {
			if err := ch.QueueBind(q.name, k, q.exchange, false, nil); err != nil {
				return topoErr("binding", q.name+" -> "+q.exchange+" ("+k+")", err)
			}
		}
	}
	return nil
}

// checkNames reports names AMQP cannot carry (over 255 bytes), which
// amqp091-go would otherwise fail on by closing the whole connection.
func (t topology) checkNames() error {
	long := func(what, n string) error {
		if len(n) > maxShortstr {
			return fmt.Errorf("%s name %.60q… is %d bytes; AMQP allows at most %d", what, n, len(n), maxShortstr)
		}
		return nil
	}
	if err := long("exchange", t.exchange); err != nil {
		return err
	}
	qs := t.queues
	if t.dlq != nil {
		qs = append(append([]queueSpec(nil), qs...), *t.dlq)
	}
	for _, q := range qs {
		if err := long("queue", q.name); err != nil {
			return err
		}
		if err := long("exchange", q.exchange); err != nil {
			return err
		}
		for _, k := range q.keys {
			if err := long("binding key", k); err != nil {
				return err
			}
		}
	}
	return nil
}

// groupQueue is the name of a group's queue: <destination>.<group>, or
// <destination>.<group>-<index> for a partitioned consumer.
func groupQueue(dest, group string, partitioned bool, index int) string {
	n := dest + "." + group
	if partitioned {
		n += "-" + strconv.Itoa(index)
	}
	return n
}

// partitionKey is the routing key of partition p: <destination>-<p>.
func partitionKey(dest string, p int) string { return dest + "-" + strconv.Itoa(p) }

// dlqSpec is the DLQ of (destination, group): <destination>.<group>.dlq on
// DLX with routing key <destination>.<group>.
func dlqSpec(dest, group string) *queueSpec {
	rk := dest + "." + group
	return &queueSpec{name: rk + ".dlq", durable: true, exchange: DLXName, keys: []string{rk}}
}
