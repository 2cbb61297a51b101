package rabbit

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

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
		// RabbitMQ never changes what an existing entity was declared
		// with: the usual cause is a property changed since (a service
		// redeployed with another configuration).
		hint := fmt.Sprintf("RabbitMQ keeps what the %s was first declared with, so a property changed since then cannot take effect: align the binding's properties with the %s's, or delete it (with its messages) to have it declared again", e.Entity, e.Entity)
		if strings.HasPrefix(e.Arg, "x-dead-letter-") {
			// Or a producer's required-groups declared the queue without
			// SCSt's auto-bind-dlq arguments, or the other way round.
			hint += " — a queue of a consumer with dlq (auto-bind-dlq) is declared with x-dead-letter-* arguments: dlq or a dead-letter-* property changed since the queue was declared, or a producer that provisions it (required-groups) lacks auto-bind-dlq: true and the same dead-letter-* properties"
		}
		return fmt.Sprintf("declare %s %q: it exists with a different %s (inequivalent arg %q; %s): %v", e.Entity, e.Name, e.Arg, e.Arg, hint, e.Err)
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
	exchange   string     // "" = do not bind
	keys       []string   // binding keys
	bindArgs   amqp.Table // binding arguments (a headers exchange)
	// keepDurability: an existing queue of this name with the other
	// durability is used as it is (declareKeeping) instead of refused.
	keepDurability bool
	// existing: declared (with durable as it is) only when it exists:
	// passively first, so that a queue deleted since its durability was
	// refused is not declared anew with the durability it had
	// (declareKeeping).
	existing bool
}

// topology is what a binding declares, idempotently, at bind time and after
// every reconnection.
type topology struct {
	exchange     string // "" = none
	exchangeType string
	queues       []queueSpec
	// The exchange's durable and auto-delete flags (exchange-durable,
	// exchange-auto-delete).
	exchangeDurable, exchangeAutoDelete bool
	// The dead-letter exchange (declared when declareDLX) and the DLQs
	// bound to it; no DLQs, no DLX.
	dlx        string
	dlxType    string
	declareDLX bool
	dlqs       []queueSpec
}

// withDLQ adds the DLQ dlq, on q's dead-letter exchange, to t.
func (t *topology) withDLQ(q queueOptions, dlq queueSpec) {
	t.dlx, t.dlxType, t.declareDLX = q.dlx(), q.deadLetterExchangeType, q.declareDLX
	for i := range t.dlqs {
		if have := &t.dlqs[i]; have.name == dlq.name {
			// One DLQ for several queues (the partitions of a group):
			// bound with each one's keys.
			for _, k := range dlq.keys {
				if !slices.Contains(have.keys, k) {
					have.keys = append(have.keys, k)
				}
			}
			return
		}
	}
	t.dlqs = append(t.dlqs, dlq)
}

// declare declares t on ch. A refused declaration closes ch (AMQP channel
// exception), so the caller uses a channel of its own.
func (t topology) declare(ch *amqp.Channel) error {
	if t.exchange != "" {
		if err := ch.ExchangeDeclare(t.exchange, t.exchangeType, t.exchangeDurable, t.exchangeAutoDelete, false, false, nil); err != nil {
			return topoErr("exchange", t.exchange, err)
		}
	}
	if len(t.dlqs) > 0 && t.declareDLX {
		if err := ch.ExchangeDeclare(t.dlx, t.dlxType, true, false, false, false, nil); err != nil {
			return topoErr("exchange", t.dlx, err)
		}
	}
	for _, q := range t.all() {
		if q.existing {
			if _, err := ch.QueueDeclarePassive(q.name, q.durable, q.autoDelete, q.exclusive, false, nil); err != nil {
				return topoErr("queue", q.name, err) // 404 NOT_FOUND when it is gone
			}
		}
		if _, err := ch.QueueDeclare(q.name, q.durable, q.autoDelete, q.exclusive, false, q.args); err != nil {
			return topoErr("queue", q.name, err)
		}
		if q.exchange == "" {
			continue
		}
		for _, k := range q.keys {
			if err := ch.QueueBind(q.name, k, q.exchange, false, q.bindArgs); err != nil {
				return topoErr("binding", q.name+" -> "+q.exchange+" ("+k+")", err)
			}
		}
	}
	return nil
}

// declareKeeping declares t with declare, which declares on a channel of
// its own each call (a refused declaration closes the channel). When the
// broker refuses a queue marked keepDurability only because it exists with
// the other durability (406 PRECONDITION_FAILED, inequivalent arg
// 'durable', which RabbitMQ compares before the queue's other arguments),
// t is declared again, on a new channel, with that queue as it exists; its
// other arguments are still compared, and a difference there is returned
// as ever (a [*TopologyError] naming the queue and the argument). Once the
// declaration succeeds, kept is called with each queue declared with the
// durability it had (its durable field as used). Every call tries the
// durability asked for first, so a queue deleted since an earlier call is
// declared as asked; so is one deleted between the refusal and the
// declaration again: that declares it passively first (existing), and
// when it is gone (404 NOT_FOUND) t is declared once more with the
// durability asked for, and nothing is kept. What is still left is the
// moment between the passive declaration and the declaration itself.
func (t topology) declareKeeping(declare func(topology) error, kept func(queueSpec)) error {
	var flipped []queueSpec
	var gone []string // flipped, then found deleted: declared as asked
	for {
		err := declare(t)
		if err == nil {
			for _, q := range flipped {
				kept(q)
			}
			return nil
		}
		if i := t.existingGone(err); i >= 0 {
			name := t.queues[i].name
			t.queues[i].durable = !t.queues[i].durable
			t.queues[i].existing = false
			flipped = slices.DeleteFunc(flipped, func(q queueSpec) bool { return q.name == name })
			gone = append(gone, name)
			continue
		}
		i := t.durabilityRefused(err)
		if i < 0 || t.queues[i].existing || slices.Contains(gone, t.queues[i].name) {
			// Refused again after flipping, or after it was found gone
			// (declared anew with the other durability meanwhile): no
			// second flip, so the loop ends.
			return err
		}
		if len(flipped) == 0 && len(gone) == 0 {
			t.queues = slices.Clone(t.queues) // the caller's stay as they are
		}
		t.queues[i].durable = !t.queues[i].durable
		t.queues[i].existing = true
		flipped = append(flipped, t.queues[i])
	}
}

// existingGone returns the index in t.queues of the queue declared only
// as it exists (existing) whose passive declaration err failed because it
// is gone (404 NOT_FOUND), or -1.
func (t topology) existingGone(err error) int {
	var te *TopologyError
	if !errors.As(err, &te) || te.Entity != "queue" {
		return -1
	}
	if code, ok := amqpCode(err); !ok || code != amqp.NotFound {
		return -1
	}
	return slices.IndexFunc(t.queues, func(q queueSpec) bool { return q.existing && q.name == te.Name })
}

// durabilityRefused returns the index in t.queues of the keepDurability
// queue whose declaration err refused for its durability (406,
// inequivalent arg 'durable'), or -1.
func (t topology) durabilityRefused(err error) int {
	var te *TopologyError
	if !errors.As(err, &te) || te.Entity != "queue" || te.Arg != "durable" {
		return -1
	}
	if code, ok := amqpCode(err); !ok || code != amqp.PreconditionFailed {
		return -1
	}
	return slices.IndexFunc(t.queues, func(q queueSpec) bool { return q.keepDurability && q.name == te.Name })
}

// all returns the queues and then the DLQs.
func (t topology) all() []queueSpec {
	return append(append([]queueSpec(nil), t.queues...), t.dlqs...)
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
	if err := long("exchange", t.dlx); err != nil {
		return err
	}
	for _, q := range t.all() {
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
