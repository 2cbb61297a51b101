package stream

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// IdempotencyConfig is stream.bindings.<name>.consumer.idempotency: the
// binding skips (acknowledges without calling its function) a message whose
// key was already processed within the retention period. The core only
// reads and validates these keys; package idempotency does the work
// ([App.UseIdempotency]), and an app that sets them without installing it
// fails at start-up rather than silently handling duplicates.
// See docs/idempotency.md.
type IdempotencyConfig struct {
	// Store keeps the processed marks: "postgres" (the mark commits in the
	// handler's own transaction), "redis" (set after the handler
	// succeeded) or "memory" (this process only, for tests). Default
	// none: off.
	Store string `mapstructure:"store"`
	// KeyExpression computes a message's idempotency key: an expression of
	// the SpEL subset over payload and headers (docs/conventions.md,
	// "Expressions"). Default "headers['x-streambind-replayed-id'] ?:
	// headers['id']": the message id every binder carries
	// (docs/conventions.md, "Wire conventions"), but on a copy that
	// `streambind dlq replay` sent, the id of the message first
	// dead-lettered, so that two copies of one dead letter are one
	// message (a copy has an id of its own). A message with neither
	// header (a Java Spring Cloud Stream producer's: Spring never sends
	// id) is keyed by where the broker stored it: Kafka's topic,
	// partition and offset, the JetStream stream sequence, the Redis
	// entry ID ([DeliveryIdentity]); one without that either (RabbitMQ
	// without message_id) is handled without deduplication, with a
	// warning. Under an expression of your own, a message whose key is
	// null or empty fails for good (DLQ): it cannot be told from another.
	KeyExpression string `mapstructure:"key-expression"`
	// Retention is how long a processed mark is kept: a duplicate that
	// arrives later than this after the first delivery's success may run
	// the function again. Default 24h; at least 1s.
	Retention time.Duration `mapstructure:"retention"`
}

// Idempotency stores (consumer.idempotency.store).
const (
	IdempotencyStoreMemory   = "memory"
	IdempotencyStorePostgres = "postgres"
	IdempotencyStoreRedis    = "redis"
)

// Defaults of [IdempotencyConfig].
const (
	// DefaultIdempotencyKeyExpression is the id of the message, or of
	// the original on a replayed copy ([HeaderReplayedID]): the original
	// failed, so no mark holds its id until one of its copies succeeds.
	// A message with neither header is keyed by its delivery identity
	// ([DeliveryIdentity]), else handled without deduplication
	// ([ErrNoIdempotencyKey]).
	DefaultIdempotencyKeyExpression = "headers['" + HeaderReplayedID + "'] ?: headers['id']"
	DefaultIdempotencyRetention     = 24 * time.Hour
)

// Enabled reports whether a store is set.
func (c IdempotencyConfig) Enabled() bool { return c.Store != "" }

// WithDefaults returns c with its unset fields defaulted.
func (c IdempotencyConfig) WithDefaults() IdempotencyConfig {
	if c.KeyExpression == "" {
		c.KeyExpression = DefaultIdempotencyKeyExpression
	}
	if c.Retention == 0 {
		c.Retention = DefaultIdempotencyRetention
	}
	return c
}

// merged returns c with unset fields taken from d (stream.default).
func (c IdempotencyConfig) merged(d IdempotencyConfig) IdempotencyConfig {
	if c.Store == "" {
		c.Store = d.Store
	}
	if c.KeyExpression == "" {
		c.KeyExpression = d.KeyExpression
	}
	if c.Retention == 0 {
		c.Retention = d.Retention
	}
	return c
}

// validate reports the problems of c; path is the consumer's key path.
func (c IdempotencyConfig) validate(path string, batch bool) []*ConfigError {
	if !c.Enabled() {
		return nil
	}
	var es []*ConfigError
	bad := func(key, msg string, args ...any) {
		es = append(es, &ConfigError{Path: path + ".idempotency." + key, Msg: fmt.Sprintf(msg, args...)})
	}
	switch c.Store {
	case IdempotencyStoreMemory, IdempotencyStorePostgres, IdempotencyStoreRedis:
	default:
		bad("store", "must be postgres, redis or memory, got %q", c.Store)
	}
	c = c.WithDefaults()
	if _, err := CompileExpression(c.KeyExpression, "", "payload", "headers"); err != nil {
		bad("key-expression", "%v", err)
	}
	if c.Retention < time.Second {
		bad("retention", "must be at least 1s, got %s", c.Retention)
	}
	if batch {
		bad("store", "is not supported with consumer.batch-mode (a batch is acknowledged as a whole; its messages cannot be skipped one by one)")
	}
	return es
}

// IdempotencyKey computes the idempotency key of messages.
type IdempotencyKey struct {
	e *Expression
	// byDelivery: the expression is the default one, so a message it
	// finds no key for is keyed by its delivery identity on binderType
	// ([DeliveryIdentity]), and one without that either is handled
	// without deduplication ([ErrNoIdempotencyKey]) rather than failed.
	byDelivery bool
	binderType string
	// ident, when set (CompileIdempotencyKeyOn), gives the delivery
	// identity in place of DeliveryIdentity(binderType, ...): the
	// binder's own ([DeliveryIdentifier]).
	ident DeliveryIdentifier
}

// ErrNoIdempotencyKey is the error [IdempotencyKey.Of] returns for a
// message the default key expression finds no key for — neither
// x-streambind-replayed-id nor id, as a Java Spring Cloud Stream producer
// sends it (Spring's header mappers never put id on the wire) — and
// whose binder gives it no identity that is the same on each of its
// redeliveries (a RabbitMQ message without the message_id property).
// Such a message cannot be deduplicated; the idempotent consumer handles
// it without deduplication, with a warning (the error's text says how to
// give it a key), rather than failing it. A key-expression of the user's
// own that yields null is a permanent error instead.
var ErrNoIdempotencyKey = errors.New("idempotency key: the message has no key")

// CompileIdempotencyKey compiles c's key expression (default
// [DefaultIdempotencyKeyExpression]) for a binding whose binder type is
// not known: the default finds no delivery identity
// ([CompileIdempotencyKeyFor]). Under the default, [IdempotencyKey.Of]
// returns [ErrNoIdempotencyKey] for a message without a key, which is not
// a permanent error: middleware of its own that returns it as the
// message's failure gets the message retried and then dead-lettered;
// handle the message without deduplication instead, as package
// idempotency does.
func CompileIdempotencyKey(c IdempotencyConfig) (*IdempotencyKey, error) {
	return CompileIdempotencyKeyFor(c, "")
}

// CompileIdempotencyKeyFor compiles c's key expression (default
// [DefaultIdempotencyKeyExpression]) for a binding on a binder of type
// binderType ([Binding.BinderType]). With the default expression — the
// key-expression unset, or set to the default's text — a message with
// neither x-streambind-replayed-id nor id is keyed by its delivery
// identity on that binder ([DeliveryIdentity]).
func CompileIdempotencyKeyFor(c IdempotencyConfig, binderType string) (*IdempotencyKey, error) {
	c = c.WithDefaults()
	e, err := CompileExpression(c.KeyExpression, "", "payload", "headers")
	if err != nil {
		return nil, err
	}
	return &IdempotencyKey{e: e, byDelivery: isDefaultKey(e), binderType: binderType}, nil
}

// CompileIdempotencyKeyOn is [CompileIdempotencyKeyFor] for a binding on
// binder b of type binderType: the default expression's last resort is
// b's delivery identity when b is a [DeliveryIdentifier], and there is
// none when it is not, whatever its type's name.
func CompileIdempotencyKeyOn(c IdempotencyConfig, binderType string, b Binder) (*IdempotencyKey, error) {
	k, err := CompileIdempotencyKeyFor(c, binderType)
	if err != nil {
		return nil, err
	}
	k.ident, _ = b.(DeliveryIdentifier)
	if k.ident == nil {
		k.ident = noIdentity{}
	}
	return k, nil
}

// noIdentity is the delivery identity of a binder that gives none.
type noIdentity struct{}

func (noIdentity) DeliveryIdentity(Received) (string, bool) { return "", false }

// isDefaultKey reports whether e is [DefaultIdempotencyKeyExpression],
// however written: compared as parsed, so that the default copied with
// other spacing or double quotes (headers["id"], which the grammar
// accepts) is the default still.
func isDefaultKey(e *Expression) bool {
	if strings.TrimSpace(e.src) == DefaultIdempotencyKeyExpression {
		return true
	}
	d, err := CompileExpression(DefaultIdempotencyKeyExpression, "", "payload", "headers")
	return err == nil && e.prog.Node().String() == d.prog.Node().String()
}

// String is the expression.
func (k *IdempotencyKey) String() string { return k.e.String() }

// IsDefault reports whether k is [DefaultIdempotencyKeyExpression] (the
// key-expression unset, or the default however written), which keys a
// message it finds no key for by its delivery identity
// ([DeliveryIdentity]).
func (k *IdempotencyKey) IsDefault() bool { return k.byDelivery }

// ReadsHeaders reports whether k's expression reads the message's headers
// (under consumer.header-mode none it would find none).
func (k *IdempotencyKey) ReadsHeaders() bool { return k.e.usesHeaders }

// DeliveryIdentifier is implemented by a [Binder] whose deliveries carry
// an identity of the stored message that stays the same on each
// redelivery of it (its position: a Kafka record's topic, partition and
// offset, a JetStream stream sequence, a Redis entry ID), which the
// default idempotency key falls back to for a message without
// x-streambind-replayed-id and id: the key that is left under
// consumer.header-mode none, where the headers (id among them) are
// dropped before the key is computed. The Kafka, NATS and Redis binders
// implement it; the RabbitMQ binder (a delivery's only identity is its
// message_id property, which it gives as the id header already) and the
// in-process binder (its sequence numbers start again with the process,
// and it gives every message an id) do not.
//
// An optional interface, as [SpecValidator] and [HealthChecker]: the app
// and package idempotency ask the binder (HasDeliveryIdentity), not its
// type name.
type DeliveryIdentifier interface {
	// DeliveryIdentity returns the identity of the message r describes
	// as this binder received it, and false when r lacks it (a core NATS
	// delivery, a record without its offset); the identity of a binder of
	// the five is what [DeliveryIdentity] returns for its type.
	DeliveryIdentity(r Received) (string, bool)
}

// HasDeliveryIdentity reports whether binder b gives its deliveries an
// identity ([DeliveryIdentifier]): the Kafka, NATS and Redis binders.
func HasDeliveryIdentity(b Binder) bool {
	_, ok := b.(DeliveryIdentifier)
	return ok
}

// Of returns the key of env. A null or empty key is a permanent error:
// the message cannot be told from another one — except under the default
// expression, which falls back to the delivery's identity
// ([DeliveryIdentity]), and when there is none returns an error that
// wraps [ErrNoIdempotencyKey] (handle the message without
// deduplication).
func (k *IdempotencyKey) Of(env Envelope) (string, error) {
	vars := map[string]any{"headers": k.e.inputHeaders(env)}
	if k.e.usesPayload {
		vars["payload"] = ExpressionPayload(env.Payload)
	}
	v, err := k.e.Eval(vars)
	if err != nil {
		return "", Permanent(fmt.Errorf("idempotency key: %w", err))
	}
	var s string
	if v != nil {
		s = spelString(v)
	}
	if k.byDelivery && strings.TrimSpace(s) == "" {
		if id, ok := k.deliveryIdentity(env.Received); ok {
			return id, nil
		}
		return "", fmt.Errorf("%w: %s", ErrNoIdempotencyKey, noKeyHint(k.binderType))
	}
	if v == nil {
		return "", Permanent(fmt.Errorf("idempotency key: expression %q yielded null (no such header or field)", k.e))
	}
	if strings.TrimSpace(s) == "" {
		return "", Permanent(fmt.Errorf("idempotency key: expression %q yielded an empty key", k.e))
	}
	return s, nil
}

// deliveryIdentity is r's identity on k's binder.
func (k *IdempotencyKey) deliveryIdentity(r Received) (string, bool) {
	if k.ident != nil {
		return k.ident.DeliveryIdentity(r)
	}
	return DeliveryIdentity(k.binderType, r)
}

// noKeyHint says why a message of a binder of type binderType has no
// key under the default expression, and how to give it one.
func noKeyHint(binderType string) string {
	const own = "or set consumer.idempotency.key-expression to a key of the message's own (a business id: payload.orderId)"
	switch binderType {
	case "rabbit":
		return "it has no x-streambind-replayed-id or id header and no message_id property (Spring AMQP sets none unless told to), and a RabbitMQ delivery has no other identity that stays the same when it is redelivered: it is handled without deduplication; set message_id on the publisher (Spring AMQP: MessageProperties.setMessageId, or setCreateMessageIds(true) on its MessageConverter) " + own
	case "":
		return "it has no x-streambind-replayed-id or id header: it is handled without deduplication; give the message an id header " + own
	}
	return "it has no x-streambind-replayed-id or id header, and the " + binderType + " binder gave this delivery no identity that stays the same when it is redelivered: it is handled without deduplication; give the message an id header " + own
}

// DeliveryIdentity returns the identity of the stored message that r
// describes as a binder of type binderType received it: the same on each
// redelivery of that message (after a Nak, a crash, a rebalance, a
// restart without a commit), different for every other message of the
// destination. It is the default idempotency key's last resort, for a
// message without x-streambind-replayed-id and id (a Java Spring Cloud
// Stream producer's):
//
//   - kafka: "kafka:<topic>:<partition>:<offset>" (a retry topic's record
//     its retry topic's position);
//   - nats: "nats:<destination>:<stream sequence>" (JetStream deliveries
//     only; the sequence numbers the destination's whole stream, its
//     partition subjects included, so the partition is not part of it and
//     a consumer made partitioned or not keeps its keys);
//   - redis: "redis:<stream key>:<entry ID>" (entry IDs are numbered per
//     stream: a destination's partition streams number theirs apart, and
//     a consumer that is not partitioned reads them all).
//
// Not for RabbitMQ (a delivery's only identity is its message_id
// property, which the binder gives as the id header already), the
// in-process binder (its sequence numbers start again with the process,
// and it gives every message an id) or another binder type: false, as
// when r lacks the position. A Kafka topic or JetStream stream deleted
// and made again numbers its messages from the start again: a message
// at a position that a mark of a deleted one still holds, within the
// retention, is taken for its duplicate (docs/idempotency.md).
func DeliveryIdentity(binderType string, r Received) (string, bool) {
	if r.Destination == "" {
		return "", false
	}
	var b []byte
	switch binderType {
	case "kafka":
		if !r.HasPartition || !r.HasOffset {
			return "", false
		}
		b = append(append([]byte("kafka:"), r.Destination...), ':')
		b = append(strconv.AppendInt(b, int64(r.Partition), 10), ':')
		b = strconv.AppendInt(b, r.Offset, 10)
	case "nats":
		if !r.HasOffset || r.Offset <= 0 {
			return "", false
		}
		b = strconv.AppendInt(append(append([]byte("nats:"), r.Destination...), ':'), r.Offset, 10)
	case "redis":
		if r.EntryID == "" || r.Stream == "" {
			return "", false
		}
		b = append(append(append([]byte("redis:"), r.Stream...), ':'), r.EntryID...)
	default:
		return "", false
	}
	return string(b), true
}

// UseIdempotency installs mw around each attempt of input binding's
// handling — inside the retries, so that every attempt (and every
// redelivery) passes through it; mw's handler acknowledges the message
// when it returns nil without calling next. Package idempotency calls it
// for each binding with consumer.idempotency set; it fails once the app
// runs, for a binding that is not an input of a bound function, for one in
// batch mode, and for a second call on the same binding.
func (a *App) UseIdempotency(binding string, mw func(next Handler) Handler) error {
	if mw == nil {
		return errors.New("stream: UseIdempotency: nil middleware")
	}
	if a.running.Load() {
		return fmt.Errorf("stream: UseIdempotency %s: the app already runs", binding)
	}
	for _, rt := range a.funcs {
		if rt.in == nil || !strings.EqualFold(rt.in.name, binding) {
			continue
		}
		if rt.in.cfg.Consumer.BatchMode {
			return fmt.Errorf("stream: UseIdempotency %s: the binding is in batch mode", binding)
		}
		if rt.idem != nil {
			return fmt.Errorf("stream: UseIdempotency %s: already installed", binding)
		}
		rt.idem = mw(rt.h.handle)
		return nil
	}
	return fmt.Errorf("stream: UseIdempotency %s: no input binding of that name", binding)
}

// checkIdempotency fails start-up when a binding sets consumer.idempotency
// but nothing was installed for it.
func (a *App) checkIdempotency() error {
	var errs []error
	for _, rt := range a.funcs {
		if rt.in != nil && rt.in.cfg.Consumer.Idempotency.Enabled() && rt.idem == nil {
			errs = append(errs, fmt.Errorf("stream.bindings.%s.consumer.idempotency: is set, but no idempotent consumer is installed: call idempotency.New(app, ...) before Run", rt.in.name))
		}
	}
	return errors.Join(errs...)
}

// attempt is one attempt of the runtime's handling of env.
func (rt *runtimeBinding) attempt(ctx context.Context, env Envelope) error {
	if rt.idem != nil {
		return rt.idem(ctx, env)
	}
	return rt.h.handle(ctx, env)
}
