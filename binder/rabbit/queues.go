package rabbit

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/streambind/streambind/binder/props"
	"github.com/streambind/streambind/stream"
)

// This file holds what SCSt's RabbitCommonProperties describe (the
// properties consumers and producers share) and how they become queues,
// exchanges and bindings, following SCSt's RabbitExchangeQueueProvisioner:
// a queue SCSt declared is accepted by streambind, and one streambind
// declared by SCSt, because both declare it with the same arguments.

// commonKeys lists the properties consumers and producers share, for the
// unknown-key error.
const commonKeys = "prefix, exchange-type, declare-exchange, exchange-durable, exchange-auto-delete, bind-queue, binding-routing-key, binding-routing-key-delimiter, " +
	"queue-name-group-only, queue-binding-arguments, ttl, expires, max-length, max-length-bytes, max-priority, lazy, " +
	"overflow-behavior, quorum (enabled, delivery-limit, initial-group-size), single-active-consumer, " +
	"dead-letter-queue-name, dead-letter-exchange, dead-letter-exchange-type, declare-dlx, dead-letter-routing-key, " +
	"dlq-ttl, dlq-expires, dlq-max-length, dlq-max-length-bytes, dlq-max-priority, dlq-lazy, dlq-overflow-behavior, " +
	"dlq-quorum, dlq-single-active-consumer, dlq-dead-letter-exchange, dlq-dead-letter-routing-key, dlq-binding-arguments"

// quorumOptions are SCSt's quorum.* (and dlq-quorum.*).
type quorumOptions struct {
	enabled          bool
	deliveryLimit    *int32 // x-delivery-limit
	initialGroupSize *int32 // x-quorum-initial-group-size
}

// argOptions are the x-arguments of one queue: the binding's queue, or
// (the dlq-* keys) its DLQ. A nil pointer is an argument not set. Numbers
// are sent as AMQP signed 32-bit integers, as SCSt (Java Integer) sends
// them.
type argOptions struct {
	ttl                  *int32 // x-message-ttl, ms
	expires              *int32 // x-expires, ms
	maxLength            *int32 // x-max-length
	maxLengthBytes       *int32 // x-max-length-bytes
	maxPriority          *int32 // x-max-priority
	lazy                 bool   // x-queue-mode lazy
	overflow             string // x-overflow
	quorum               quorumOptions
	singleActiveConsumer bool // x-single-active-consumer
}

// put adds the arguments to t, as SCSt's additionalArgs does.
func (a argOptions) put(t amqp.Table) {
	set := func(k string, v *int32) {
		if v != nil {
			t[k] = *v
		}
	}
	set("x-expires", a.expires)
	set("x-max-length", a.maxLength)
	set("x-max-length-bytes", a.maxLengthBytes)
	set("x-max-priority", a.maxPriority)
	set("x-message-ttl", a.ttl)
	if a.lazy {
		t["x-queue-mode"] = "lazy"
	}
	if a.overflow != "" {
		t["x-overflow"] = a.overflow
	}
	if a.quorum.enabled {
		t["x-queue-type"] = "quorum"
		set("x-delivery-limit", a.quorum.deliveryLimit)
		set("x-quorum-initial-group-size", a.quorum.initialGroupSize)
	}
	if a.singleActiveConsumer {
		t["x-single-active-consumer"] = true
	}
}

// queueOptions are the properties consumers and producers share (SCSt's
// RabbitCommonProperties): the destination exchange, the group queues
// (a consumer's own, or a producer's required-groups queues) and their
// dead-letter arrangement.
type queueOptions struct {
	// prefix is SCSt's prefix: it starts the names of the destination
	// exchange, the queues and the default DLX ("" none). Routing and
	// binding keys stay the destination's (SCSt strips the prefix from
	// them).
	prefix string
	// anonymousGroupPrefix starts the group part of an anonymous
	// consumer's queue name (SCSt's anonymous-group-prefix).
	anonymousGroupPrefix string
	exchangeType         string
	declareExchange      bool
	// exchangeDurable and exchangeAutoDelete are the flags the destination
	// exchange is declared with (SCSt's exchange-durable, default true, and
	// exchange-auto-delete, default false).
	exchangeDurable    bool
	exchangeAutoDelete bool
	bindQueue          bool
	// bindingRoutingKey is "" when not set: "#" for a queue that is not
	// partitioned, the destination for one that is (either way suffixed
	// "-<index>" when partitioned).
	bindingRoutingKey          string
	bindingRoutingKeyDelimiter string
	queueNameGroupOnly         bool
	queueBindingArgs           amqp.Table // bindings to a headers exchange
	queue                      argOptions
	dlq                        argOptions

	deadLetterQueueName    string // "" = <base queue>.dlq
	deadLetterExchange     string // "" = DLX
	deadLetterExchangeType string
	declareDLX             bool
	deadLetterRoutingKey   string // "" = the queue's name
	dlqDeadLetterExchange  string
	// dlqDeadLetterExchangeSet: dlq-dead-letter-exchange was given, ""
	// included ("" is the default exchange: SCSt's retry-via-DLQ-TTL
	// pattern dead-letters expired DLQ messages back to the queue by it).
	dlqDeadLetterExchangeSet bool
	dlqDeadLetterRoutingKey  string
	dlqBindingArgs           amqp.Table
}

func defaultQueueOptions() queueOptions {
	return queueOptions{anonymousGroupPrefix: DefaultAnonymousGroupPrefix, exchangeType: DefaultExchangeType, declareExchange: true, exchangeDurable: true, bindQueue: true,
		deadLetterExchangeType: DefaultDeadLetterExchangeType, declareDLX: true}
}

// apply sets the shared property nk (normalised key, at path); ok is
// false when nk is not one.
func (q *queueOptions) apply(d *props.Decoder, nk, path string, v any) (ok bool, err error) {
	// dlq-ttl and the like set the DLQ's argument of the same name.
	args, arg := &q.queue, nk
	if rest, isDLQ := strings.CutPrefix(nk, "dlq"); isDLQ && isArgKey(rest) {
		args, arg = &q.dlq, rest
	}
	if isArgKey(arg) {
		return true, args.apply(d, arg, path, v)
	}
	switch nk {
	case "prefix":
		q.prefix, err = props.String(v)
	case "exchangetype":
		q.exchangeType, err = asExchangeType(v)
	case "declareexchange":
		q.declareExchange, err = props.Bool(v)
	case "exchangedurable":
		q.exchangeDurable, err = props.Bool(v)
	case "exchangeautodelete":
		q.exchangeAutoDelete, err = props.Bool(v)
	case "bindqueue":
		q.bindQueue, err = props.Bool(v)
	case "bindingroutingkey":
		q.bindingRoutingKey, err = props.String(v)
	case "bindingroutingkeydelimiter":
		q.bindingRoutingKeyDelimiter, err = props.String(v)
	case "queuenamegrouponly":
		q.queueNameGroupOnly, err = props.Bool(v)
	case "queuebindingarguments":
		q.queueBindingArgs, err = stringTable(v)
	case "dlqbindingarguments":
		q.dlqBindingArgs, err = stringTable(v)
	case "deadletterqueuename":
		q.deadLetterQueueName, err = nonEmpty(v)
	case "deadletterexchange":
		q.deadLetterExchange, err = nonEmpty(v)
	case "deadletterexchangetype":
		q.deadLetterExchangeType, err = asExchangeType(v)
	case "declaredlx":
		q.declareDLX, err = props.Bool(v)
	case "deadletterroutingkey":
		q.deadLetterRoutingKey, err = nonEmpty(v)
	case "dlqdeadletterexchange":
		q.dlqDeadLetterExchange, err = props.String(v)
		q.dlqDeadLetterExchangeSet = err == nil
	case "dlqdeadletterroutingkey":
		q.dlqDeadLetterRoutingKey, err = props.String(v)
	case "alternateexchange":
		// SCSt's alternate-exchange section (exists, type, binding …), also
		// flat from environment variables (bindingSections): refused at the
		// section if written as one, and at every flat key.
		err = errors.New("alternate exchanges are not supported; a producer's send to an exchange no queue is bound to fails (mandatory: true, the default) instead of being lost")
		if m, isMap := v.(map[string]any); isMap && len(m) > 0 {
			nested := false
			for _, k := range props.SortedKeys(m) {
				if kp := d.KeyPath(path, k); kp != path+"."+k {
					d.Add(kp, err)
				} else {
					nested = true
				}
			}
			if !nested {
				err = nil
			}
		}
	default:
		return false, nil
	}
	return true, err
}

// isArgKey reports whether nk (normalised) is a queue-argument key, which
// also exists with the dlq- prefix.
func isArgKey(nk string) bool {
	switch nk {
	case "ttl", "expires", "maxlength", "maxlengthbytes", "maxpriority", "lazy", "overflowbehavior", "quorum", "singleactiveconsumer":
		return true
	}
	return false
}

func (a *argOptions) apply(d *props.Decoder, nk, path string, v any) error {
	var err error
	switch nk {
	case "ttl":
		a.ttl, err = millis32(v, true)
	case "expires":
		a.expires, err = millis32(v, false)
	case "maxlength":
		a.maxLength, err = int32Arg(v, 0, math.MaxInt32)
	case "maxlengthbytes":
		a.maxLengthBytes, err = int32Arg(v, 0, math.MaxInt32)
	case "maxpriority":
		a.maxPriority, err = int32Arg(v, 0, 255)
	case "lazy":
		a.lazy, err = props.Bool(v)
	case "overflowbehavior":
		var s string
		if s, err = props.String(v); err == nil {
			switch s {
			case "drop-head", "reject-publish", "reject-publish-dlx":
				a.overflow = s
			default:
				err = fmt.Errorf("want drop-head, reject-publish or reject-publish-dlx, got %q", s)
			}
		}
	case "quorum":
		if v == nil { // "quorum:" with nothing under it
			return nil
		}
		m, isMap := v.(map[string]any)
		if !isMap { // a bool: quorum.enabled
			a.quorum.enabled, err = props.Bool(v)
			if err != nil {
				err = errors.New("want a map (enabled, delivery-limit, initial-group-size) or a bool")
			}
			return err
		}
		d.Each(path, m, func(k, _ string, v any) (err error) {
			switch k {
			case "enabled":
				a.quorum.enabled, err = props.Bool(v)
			case "deliverylimit":
				a.quorum.deliveryLimit, err = int32Arg(v, 0, math.MaxInt32)
			case "initialgroupsize":
				a.quorum.initialGroupSize, err = int32Arg(v, 1, math.MaxInt32)
			default:
				err = props.UnknownKey("quorum accepts enabled, delivery-limit, initial-group-size")
			}
			return err
		})
	case "singleactiveconsumer":
		a.singleActiveConsumer, err = props.Bool(v)
	}
	return err
}

// check reports combinations the broker would refuse only at bind time.
func (q *queueOptions) check(d *props.Decoder, path string) {
	for _, a := range []struct {
		args argOptions
		what string
	}{{q.queue, ""}, {q.dlq, "dlq-"}} {
		if a.args.quorum.enabled && a.args.maxPriority != nil {
			d.Addf(path+"."+a.what+"max-priority", "quorum queues do not support priorities (%squorum.enabled is true)", a.what)
		}
		if !a.args.quorum.enabled && (a.args.quorum.deliveryLimit != nil || a.args.quorum.initialGroupSize != nil) {
			d.Addf(path+"."+a.what+"quorum", "delivery-limit and initial-group-size need %squorum.enabled: true", a.what)
		}
	}
}

// millis32 reads a duration (or a number of milliseconds) that must fit a
// 32-bit count of milliseconds, as SCSt's Integer properties do.
func millis32(v any, allowZero bool) (*int32, error) {
	dur, err := props.Duration(v, allowZero)
	if err != nil {
		return nil, err
	}
	if dur%time.Millisecond != 0 {
		return nil, fmt.Errorf("want whole milliseconds, got %s", dur)
	}
	ms := dur.Milliseconds()
	if ms > math.MaxInt32 {
		return nil, fmt.Errorf("must be at most %dms (about 24.8 days), got %s", math.MaxInt32, dur)
	}
	n := int32(ms)
	return &n, nil
}

func int32Arg(v any, lo, hi int) (*int32, error) {
	n, err := props.Int(v, lo)
	if err != nil {
		return nil, err
	}
	if n > hi {
		return nil, fmt.Errorf("must be at most %d, got %d", hi, n)
	}
	x := int32(n)
	return &x, nil
}

func nonEmpty(v any) (string, error) {
	s, err := props.String(v)
	if err == nil && s == "" {
		err = errors.New("must not be empty (leave it out for the default)")
	}
	return s, err
}

// stringTable reads a map of string values (SCSt's queue-binding-arguments).
func stringTable(v any) (amqp.Table, error) {
	m, err := props.Map(v)
	if err != nil {
		return nil, err
	}
	t := amqp.Table{}
	for _, k := range props.SortedKeys(m) {
		s, err := props.String(m[k])
		if err != nil {
			return nil, fmt.Errorf("%s: %w", k, err)
		}
		t[k] = s
	}
	return t, nil
}

// exchange is the exchange of destination dest: <prefix><destination>.
func (q queueOptions) exchange(dest string) string { return q.prefix + dest }

// baseQueue is SCSt's base queue name of a group:
// <prefix><destination>.<group>, or <prefix><group> with
// queue-name-group-only. A partitioned queue appends -<index>
// (queueName); the DLQ and the republish binding use the base. (SCSt's
// producer names a required group's queue <group> with
// queue-name-group-only, without the prefix its consumer gives the same
// group's queue: here both have it, so that the queue the producer
// declares is the one the consumer reads.)
func (q queueOptions) baseQueue(dest, group string) string {
	if q.queueNameGroupOnly {
		return q.prefix + group
	}
	return q.prefix + dest + "." + group
}

// anonymousQueue is the name of an anonymous consumer's queue of
// destination dest with id:
// <prefix><destination>.<anonymous-group-prefix><id>.
func (q queueOptions) anonymousQueue(dest, id string) string {
	return q.prefix + dest + "." + q.anonymousGroupPrefix + id
}

// queueName is the name of a group's queue: the base name, or
// <base>-<index> for a partitioned one.
func (q queueOptions) queueName(dest, group string, partitioned bool, index int) string {
	n := q.baseQueue(dest, group)
	if partitioned {
		n += "-" + strconv.Itoa(index)
	}
	return n
}

// dlx is the dead-letter exchange: dead-letter-exchange, else
// <prefix>DLX.
func (q queueOptions) dlx() string {
	if q.deadLetterExchange != "" {
		return q.deadLetterExchange
	}
	return q.prefix + DLXName
}

// dlqName is the DLQ of base queue base: dead-letter-queue-name, else
// <base>.dlq (one DLQ for all the partitions of a group).
func (q queueOptions) dlqName(base string) string {
	if q.deadLetterQueueName != "" {
		return q.deadLetterQueueName
	}
	return base + ".dlq"
}

// dlRoutingKey is the routing key dead letters of queue name carry (the
// queue's x-dead-letter-routing-key, and the key a republished dead letter
// is published with): dead-letter-routing-key, else the queue's name.
func (q queueOptions) dlRoutingKey(name string) string {
	if q.deadLetterRoutingKey != "" {
		return q.deadLetterRoutingKey
	}
	return name
}

// queueArgs are the arguments of queue name; withDLQ adds SCSt's
// auto-bind-dlq arguments x-dead-letter-exchange and
// x-dead-letter-routing-key.
func (q queueOptions) queueArgs(name string, withDLQ bool) amqp.Table {
	t := amqp.Table{}
	if withDLQ {
		t["x-dead-letter-exchange"] = q.dlx()
		t["x-dead-letter-routing-key"] = q.dlRoutingKey(name)
	}
	q.queue.put(t)
	if len(t) == 0 {
		return nil
	}
	return t
}

// dlqSpec is the DLQ of queue name (of base queue base), bound to the DLX
// with the queue's dead-letter routing key, and also with the base name
// when alsoBase (SCSt does so for a consumer with republish-to-dlq, so
// that the DLQ of a partitioned group takes dead letters routed by the
// base name too).
func (q queueOptions) dlqSpec(base, name string, alsoBase bool) queueSpec {
	t := amqp.Table{}
	if q.dlqDeadLetterExchangeSet {
		t["x-dead-letter-exchange"] = q.dlqDeadLetterExchange
	}
	if q.dlqDeadLetterRoutingKey != "" {
		t["x-dead-letter-routing-key"] = q.dlqDeadLetterRoutingKey
	}
	q.dlq.put(t)
	if len(t) == 0 {
		t = nil
	}
	keys := []string{q.dlRoutingKey(name)}
	if alsoBase && keys[0] != base {
		keys = append(keys, base)
	}
	return queueSpec{name: q.dlqName(base), durable: true, args: t, exchange: q.dlx(), keys: keys, bindArgs: q.dlqBindingArgs}
}

// bindingKeys are the keys a group queue is bound to the destination
// exchange with: binding-routing-key (split on
// binding-routing-key-delimiter when set), else "#"; when partitioned,
// each (else the destination) suffixed -<index>. A fanout or headers
// exchange ignores the key: one binding, with key "" for headers (and the
// queue-binding-arguments), as SCSt binds.
func (q queueOptions) bindingKeys(dest string, partitioned bool, index int) []string {
	if q.exchangeType == "headers" {
		return []string{""}
	}
	var keys []string
	switch {
	case q.bindingRoutingKey == "":
	case q.bindingRoutingKeyDelimiter != "":
		keys = strings.Split(q.bindingRoutingKey, q.bindingRoutingKeyDelimiter)
	default:
		keys = []string{q.bindingRoutingKey}
	}
	if partitioned {
		if len(keys) == 0 {
			keys = []string{dest}
		}
		for i := range keys {
			keys[i] += "-" + strconv.Itoa(index)
		}
		return keys
	}
	if len(keys) == 0 {
		keys = []string{DefaultBindingRoutingKey}
	}
	return keys
}

// groupQueueSpec is the durable queue of a group (name, of base queue
// base) bound to the exchange of dest, with its DLQ when withDLQ.
func (q queueOptions) groupQueueSpec(dest, name string, withDLQ, partitioned bool, index int) queueSpec {
	s := queueSpec{name: name, durable: true, args: q.queueArgs(name, withDLQ)}
	if q.bindQueue {
		s.exchange = q.exchange(dest)
		s.keys = q.bindingKeys(dest, partitioned, index)
		if q.exchangeType == "headers" {
			s.bindArgs = q.queueBindingArgs
		}
	}
	return s
}

// destinationTopology is the start of a binding's topology: the
// exchange of destination dest, declared as these options say (none
// without declare-exchange).
func (q queueOptions) destinationTopology(dest string) topology {
	t := topology{exchangeType: q.exchangeType, exchangeDurable: q.exchangeDurable, exchangeAutoDelete: q.exchangeAutoDelete}
	if q.declareExchange {
		t.exchange = q.exchange(dest)
	}
	return t
}

// checkReserved refuses a destination exchange the binding would declare
// with a name RabbitMQ reserves: it refuses to declare any exchange whose
// name starts with "amq." (ACCESS_REFUSED), even one that exists. kind is
// "producer" or "consumer".
func (q queueOptions) checkReserved(binding, kind, dest string) error {
	for _, d := range stream.Destinations(dest) {
		if d = q.exchange(d); q.declareExchange && strings.HasPrefix(d, "amq.") {
			return &stream.ConfigError{Path: "stream.bindings." + binding + ".destination",
				Msg: fmt.Sprintf("exchange %q: RabbitMQ refuses to declare an exchange whose name starts with amq. (reserved); to use an existing one, set stream.rabbit.bindings.%s.%s.declare-exchange: false", d, binding, kind)}
		}
	}
	return nil
}

// checkPartitioned reports what SCSt refuses for a partitioned binding.
func (q queueOptions) checkPartitioned() error {
	if q.exchangeType == "fanout" && q.bindQueue {
		return errors.New("exchange-type fanout cannot route partitions (SCSt: a fanout exchange is not appropriate for partitioned apps)")
	}
	return nil
}

// routingKeyFunc computes a message's routing key (routing-key-expression).
type routingKeyFunc func(m stream.Envelope) (string, error)

// parseRoutingKeyExpression compiles routing-key-expression with the
// core's SpEL subset (stream.CompileExpression; see docs/conventions.md,
// "Expressions"), evaluated per message with the variables headers (the
// message's headers) and payload (the payload decoded as JSON, else its
// text), as SCSt evaluates it against the outgoing message:
// headers['type'], payload.kind, 'orders.' + headers.region … An
// expression outside the subset is a configuration error naming the
// unsupported part; the result is turned into a string (null is an error).
func parseRoutingKeyExpression(s string) (routingKeyFunc, error) {
	expr, err := stream.CompileExpression(s, "", "payload", "headers")
	if err != nil {
		return nil, err
	}
	// Decoding the payload costs: only for an expression that names it.
	usesPayload := strings.Contains(s, "payload")
	return func(m stream.Envelope) (string, error) {
		vars := map[string]any{"headers": m.Headers}
		if m.Headers == nil {
			vars["headers"] = stream.Headers{}
		}
		if usesPayload {
			vars["payload"] = stream.ExpressionPayload(m.Payload)
		}
		v, err := expr.Eval(vars)
		if err != nil {
			return "", fmt.Errorf("routing-key-expression: %w", err)
		}
		switch x := v.(type) {
		case nil:
			return "", fmt.Errorf("routing-key-expression %q yielded null", expr)
		case string:
			return x, nil
		case map[string]any, []any:
			return "", fmt.Errorf("routing-key-expression %q: the result is a JSON object or list, not a routing key", expr)
		}
		return stream.ExpressionText(v), nil
	}, nil
}

// dlqSpec is the DLQ of (destination, group) with the default properties:
// <destination>.<group>.dlq on DLX, bound with <destination>.<group>.
// consumerDLQ honours a binding's properties.
func dlqSpec(dest, group string) *queueSpec {
	o := defaultQueueOptions()
	q := o.dlqSpec(o.baseQueue(dest, group), o.queueName(dest, group, false, 0), false)
	return &q
}

// consumerDLQ is the DLQ a consumer binding with dlq declares, with its
// properties (dead-letter-queue-name, dead-letter-exchange,
// queue-name-group-only …): its name, the exchange it is bound to and the
// keys.
func consumerDLQ(spec stream.ConsumerSpec) (queueSpec, error) {
	o, err := parseConsumerOptions(spec.Binding, spec.Consumer.Concurrency, spec.Extension)
	if err != nil {
		return queueSpec{}, err
	}
	return o.dlqQueue(spec), nil
}

// dlqQueue is consumerDLQ with spec's properties parsed (o).
func (o consumerOptions) dlqQueue(spec stream.ConsumerSpec) queueSpec {
	cc := spec.Consumer
	name := o.queueName(spec.Destination, spec.Group, cc.Partitioned, cc.InstanceIndex)
	return o.dlqSpec(o.baseQueue(spec.Destination, spec.Group), name, o.republishToDlq)
}
