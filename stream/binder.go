package stream

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/streambind/streambind/internal/didyoumean"
)

// Binder connects bindings to one messaging system (a Kafka cluster, a
// RabbitMQ virtual host, the in-process broker).
//
// Lifecycle contract:
//   - A Binder is created by its [BinderFactory], which validates settings and
//     does no network I/O; connections are made by the first bind.
//   - BindProducer and BindConsumer provision what the binding needs
//     (topics, exchanges, queues, DLQs) idempotently and return a binding. They
//     are safe for concurrent use.
//   - Close releases everything the binder holds. The core closes every
//     binding it made before it closes the binder. Close is bounded by ctx.
type Binder interface {
	BindProducer(ctx context.Context, spec ProducerSpec) (Producer, error)
	BindConsumer(ctx context.Context, spec ConsumerSpec) (Consumer, error)
	Close(ctx context.Context) error
}

// Producer is a producer binding: it sends to one destination.
//
// Send returns nil only once the broker confirmed the message (unless the
// binding opted into fire-and-forget); it is safe for concurrent use and
// honours ctx for as long as it waits. The caller must not modify m's
// Payload, Headers or Key after Send returned (binders may keep them). Close
// flushes what is pending, bounded by ctx; Send after Close returns
// [ErrClosed].
//
// Content type: a message without a contentType header has the binding's
// content type (ProducerSpec.ContentType). Wire binders write that header on
// every message; an in-process binder may carry it beside the message instead
// and write the header only where a consumer would otherwise decide
// differently — what a consumer sees as the content type is the same.
type Producer interface {
	Send(ctx context.Context, m Envelope) error
	Close(ctx context.Context) error
}

// AsyncProducer is implemented by producers that can send without waiting
// for the broker's confirm, so that a function binding can work on its next
// input while the outputs of earlier ones are still unconfirmed (pipelined
// processing, consumer.max-in-flight).
//
// SendAsync queues m and returns; done is called exactly once with what
// Send would have returned for m, possibly before SendAsync returns, on
// any goroutine. done must not block (it may start a goroutine).
// SendAsync may block while the producer's buffers are full, bounded by
// ctx (done then gets ctx's error). Messages passed to SendAsync one after
// another from one goroutine are stored in that order per partition (per
// channel on RabbitMQ), as Sends one after another are, while none fails;
// when one of them fails, the ones after it may still be stored, and a
// producer that publishes a message again after a transient failure (a
// lost connection, a missing acknowledgement) may store it after them
// (RabbitMQ and NATS do; Kafka and Redis retry before anything behind it).
// The caller must not modify m after SendAsync returned.
type AsyncProducer interface {
	Producer
	SendAsync(ctx context.Context, m Envelope, done func(error))
}

// HeaderModeApplier is implemented by a Producer that applies
// producer.header-mode none itself (ProducerSpec.Producer.HeaderMode):
// when AppliesHeaderMode returns true, the core hands it each message with
// its headers, rather than stripped of all but scst_partition, so that
// what the binder evaluates on them (the Kafka binder's
// message-key-expression, headers['orderId'], as SCSt's evaluates it on
// the whole message) sees them; the binder then writes none of them.
type HeaderModeApplier interface {
	AppliesHeaderMode() bool
}

// stripsFor reports whether the core strips the headers of a message sent
// through p under producer.header-mode none (see HeaderModeApplier).
func stripsFor(p Producer) bool {
	a, ok := p.(HeaderModeApplier)
	return !ok || !a.AppliesHeaderMode()
}

// Consumer is a consumer binding: it receives from one destination (for one
// group) and calls the spec's handler.
//
// A Consumer is created stopped. Start begins delivery. Stop stops intake,
// waits for in-flight handler calls to finish and be acknowledged (bounded by
// ctx; when ctx ends the binder cancels the handlers' context — the NATS
// and Redis binders of this module a tenth of the time left before
// ctx's deadline, at most a second before it, so that a handler that
// returns then has its message given back in time —, and an error a
// handler returns after that counts as a Nak) and releases the broker
// subscription; a stopped consumer may be started again, and messages for its
// group that arrived meanwhile are delivered then. Pause stops intake but
// keeps the subscription (group membership, partition assignment) and waits,
// bounded by ctx, for in-flight handler calls, so that nothing is handled
// after it returned; Resume undoes it. All four are idempotent and safe for
// concurrent use.
type Consumer interface {
	Start(ctx context.Context) error
	Stop(ctx context.Context) error
	Pause(ctx context.Context) error
	Resume(ctx context.Context) error
}

// RejectRequeuer is implemented by a [Consumer] whose binder requeues a
// message that failed every attempt instead of dead-lettering or dropping
// it (RabbitMQ's requeue-rejected). For such a message the core counts an
// error (not a failure: it is not settled, it comes again), logs that it
// is requeued, calls no [ErrorHandler], and returns [ErrNak] to the binder.
type RejectRequeuer interface {
	// RequeuesRejected reports whether the consumer requeues failed
	// messages. Called once, after BindConsumer.
	RequeuesRejected() bool
}

// AnonymousDeadLetterer is implemented by a [Consumer] whose binder
// dead-letters the failed messages of a consumer without a group when
// consumer.dlq is set: RabbitMQ's, as SCSt's, sends them to the DLX (by
// the anonymous queue's x-dead-letter-* arguments), though no DLQ is
// declared for it. The core then counts and logs such a message as
// dead-lettered rather than dropped, and tells the [ErrorHandler] so
// (FailedMessage.DeadLettered). Where the binder finds that the dead
// letter reached no queue, it counts it in its own [DeadLetterStats] as
// dropped, as it does for a group's.
type AnonymousDeadLetterer interface {
	// DeadLettersWithoutGroup reports whether the consumer, bound without
	// a group, dead-letters the messages that failed every attempt.
	// Called once, after BindConsumer.
	DeadLettersWithoutGroup() bool
}

// Handler processes one received message; see the package doc for what its
// result means to the binder (Ack, Nak, Term). ctx ends when the consumer's
// in-flight grace period ends. m is read-only: the binder may deliver the
// same Payload and Headers again after a Nak.
type Handler func(ctx context.Context, m Envelope) error

// AsyncHandler is the pipelined form of [Handler], which the core offers
// (beside Handler) for a function binding whose output can be sent without
// waiting (pipelined processing, consumer.max-in-flight). It starts on m
// and may return before m is processed; done is called exactly once with
// the result Handler would have returned (Ack, Nak, Term, a
// [DelayedRetry]), possibly before AsyncHandler returns, on any goroutine,
// and must not block. ctx must stay valid until done was called.
//
// A binder that uses it calls it for the next messages while earlier ones
// are unfinished — up to consumer.max-in-flight per partition (per consumer
// where the broker has no partitions) — and still settles the results in
// input order: a message is acknowledged, or its offset committed, only
// after it and every message before it finished. A binder may ignore it
// and call Handler (binders that do need no change), and may call either
// for a message it hands over again after a Nak.
type AsyncHandler func(ctx context.Context, m Envelope, done func(error))

// ErrPipelinedSend marks (beside [ErrNak]) the result an [AsyncHandler]
// gives when the message's output could not be sent: the message is to be
// handled again, in order, by Handler, which retries it as configured
// (max-attempts, back-off) — the retries it would have had without
// pipelining. A binder whose Nak hands the message back to the broker
// (RabbitMQ's requeue, where each redelivery spends a delivery of a
// delivery-limit) calls Handler for it in place instead, once it is the
// oldest unsettled message and redelivery-delay after its result came; a
// binder whose Nak already does that (Kafka) needs nothing more.
var ErrPipelinedSend = errors.New("pipelined output send failed")

// PipelineReporter is implemented by consumer bindings that can tell
// whether they hand messages to the spec's AsyncHandler (pipelined
// processing): PipelineWindow is how many they hand out unfinished at
// most (per partition or worker; consumer.max-in-flight, or less where
// the binder bounds it further), 0 when they do not. The app says so in
// the binding's "bound" log line.
type PipelineReporter interface {
	PipelineWindow() int
}

// BatchHandler processes a batch (consumer.batch-mode). A nil or plain
// error applies to the whole batch, as a Handler's to its message. When
// only some of the messages failed (the function returned [BatchFailedAt],
// or a message could not be decoded) it returns a [*BatchOutcome] instead:
// the binder settles each message by its own outcome (BatchMessageErr),
// acknowledging the handled ones and dead-lettering or dropping only the
// failed ones, each with its own cause. The messages it Naks are always
// the batch's last ones (from BatchOutcome.NakFrom on); a binder that
// cannot leave only those for redelivery Naks the whole batch, as for a
// plain Nak. The binder may reuse the slice after the call returns. A
// binder passes a [BatchSettler] in ctx ([WithBatchSettler]) through which
// the core has it settle the messages before a failed one (handled, or
// failed for good) while the call still runs (before that message's
// retries, or the messages after one that failed for good); the outcome
// then settles only the others ([BatchTail]).
type BatchHandler func(ctx context.Context, ms []Envelope) error

// BatchOutcome is the error of a BatchHandler whose messages did not all
// fare alike: Err(i) is the outcome of the batch's i-th message, nil when
// it was handled, otherwise an error to settle it by as a Handler's (a Nak,
// or a failure for good: dead letter or drop). Its Unwrap gives the
// failures, so that errors.Is(err, ErrNak) holds when some message is
// Nak'ed — a binder that does not walk the outcome Naks the whole batch
// then, and otherwise dead-letters (or drops) every message with the
// outcome's text, as before per-message outcomes.
type BatchOutcome struct {
	errs []error // one per message
}

// NewBatchOutcome is the outcome of a batch whose i-th message's is
// errs[i] (nil: handled). The core makes one for a binder; binder tests
// make their own. Every message after the first one left for redelivery
// (ErrNak) is left for redelivery too, with that error, whatever errs
// says of it: what [BatchOutcome.NakFrom] promises, so that every binder
// settles the batch alike. errs is not changed.
func NewBatchOutcome(errs []error) *BatchOutcome {
	out := slices.Clone(errs)
	for i, err := range out {
		if err != nil && errors.Is(err, ErrNak) {
			for j := i + 1; j < len(out); j++ {
				out[j] = err
			}
			break
		}
	}
	return &BatchOutcome{errs: out}
}

// Len is the number of messages of the batch.
func (o *BatchOutcome) Len() int { return len(o.errs) }

// Err is the outcome of message i: nil when it was handled.
func (o *BatchOutcome) Err(i int) error { return o.errs[i] }

// NakFrom is the index of the first message left for redelivery (ErrNak):
// every message from it on is; Len when none is.
func (o *BatchOutcome) NakFrom() int {
	for i, err := range o.errs {
		if err != nil && errors.Is(err, ErrNak) {
			return i
		}
	}
	return len(o.errs)
}

func (o *BatchOutcome) Error() string {
	failed, first := 0, -1
	for i, err := range o.errs {
		if err != nil {
			if failed++; first < 0 {
				first = i
			}
		}
	}
	if first < 0 {
		return fmt.Sprintf("batch of %d: every message handled", len(o.errs))
	}
	return fmt.Sprintf("batch of %d: %d failed, first at index %d: %v", len(o.errs), failed, first, o.errs[first])
}

// Unwrap gives the distinct failures of the batch's messages.
func (o *BatchOutcome) Unwrap() []error {
	var errs []error
	for _, err := range o.errs {
		if err != nil && (len(errs) == 0 || errs[len(errs)-1] != err) {
			errs = append(errs, err)
		}
	}
	return errs
}

// BatchMessageErr is the outcome of message i of a batch whose
// BatchHandler returned err: the outcome's Err(i) when err is a
// [*BatchOutcome], err itself otherwise (it applies to every message).
// Binders settle each message of a batch by it.
func BatchMessageErr(err error, i int) error {
	if err == nil {
		return nil // before o: errors.As takes its address, so o is allocated
	}
	var o *BatchOutcome
	if errors.As(err, &o) && i < len(o.errs) {
		return o.errs[i]
	}
	return err
}

// ProducerSpec is what a binder needs to bind a producer.
type ProducerSpec struct {
	// Binding is the binding name, e.g. "placeOrder-out-0".
	Binding string
	// Destination is the resolved destination (topic, exchange).
	Destination string
	// ContentType is the binding's content type; binders write it as the
	// contentType header when a message has none.
	ContentType string
	Producer    ProducerConfig
	// Extension holds the binder-specific producer properties for this
	// binding (stream.<type>.default.producer merged with
	// stream.<type>.bindings.<binding>.producer), undecoded.
	Extension map[string]any
	// Logger carries the binding's attributes.
	Logger *slog.Logger
}

// ConsumerSpec is what a binder needs to bind a consumer.
type ConsumerSpec struct {
	Binding     string
	Destination string
	// Group is the consumer group; "" means anonymous (a broadcast copy that
	// starts at the latest message and is not kept after the consumer goes).
	Group       string
	ContentType string
	Consumer    ConsumerConfig
	// Extension: as in ProducerSpec, under .consumer.
	Extension map[string]any
	// Handler is called for each message unless Consumer.BatchMode is set,
	// in which case BatchHandler is called instead.
	Handler      Handler
	BatchHandler BatchHandler
	// AsyncHandler, when set, is Handler's pipelined form (set beside
	// Handler, never in batch mode); Consumer.MaxInFlight bounds the
	// messages a binder has it work on at once.
	AsyncHandler AsyncHandler
	// Holding, set by the core beside the handlers (nil otherwise: a
	// binder checks), keeps k messages counted in flight
	// (BindingStats.InFlight, OldestInFlight) that the binder holds,
	// unsettled, after the handler returned for them: a failed message
	// whose dead letter it is sending, and retrying while the
	// dead-letter destination refuses it for now. The binder calls it as
	// the dead-lettering begins and calls the func it returns (once) when
	// the messages are settled or handed back; their age counts from the
	// call.
	Holding func(k int) (release func())
	// LazyHeaders tells that the handlers read a message's headers only
	// through [Envelope.Header] and [Envelope.LoadHeaders], never from
	// Envelope.Headers directly, and load them before keeping an envelope
	// past its handler call: a binder may then hand them envelopes whose
	// headers it has not copied into a map ([Envelope.SetLazyHeaders];
	// NATS and Redis do).
	// A binder that ignores it fills Headers as always, which such a
	// handler reads the same way. The core sets it for a consumer binding
	// whose handler reads no header on its way to success (a consumer of a
	// payload type, without tracing, header mappings, an idempotent
	// consumer, retry-delays or header-mode none); it loads the headers
	// before anything else sees the message (a retry, the dead letter, an
	// error handler). A producer's Send loads the lazy headers of an
	// envelope it is given (a received message passed on).
	LazyHeaders bool
	Logger      *slog.Logger
}

// BinderSettings is what a factory gets to create a binder.
type BinderSettings struct {
	// Name is the binder's name in the configuration ("memory", "local-kafka").
	Name string
	// Type is the binder type it was registered under.
	Type string
	// Environment is stream.binders.<name>.environment, undecoded.
	Environment map[string]any
	// Binder is stream.<type>.binder (binder-type-wide properties), undecoded.
	Binder map[string]any
	Logger *slog.Logger
	// SectionsOnly is set on a binder the app creates only to validate the
	// binder-specific sections (stream.<type>.binder, stream.<type>.bindings)
	// of a registered type that no binding uses: it gets ValidateConsumer
	// and ValidateProducer calls, is never bound, and is closed right away.
	// SkipFiles is set with it.
	SectionsOnly bool
	// SkipFiles asks the factory to read no file its settings name (TLS
	// trust stores and CA files, client certificates and keys, NATS
	// credentials files) and to check everything else in them as always;
	// the binder it returns is for validation only (it is never bound). A
	// check that runs where those files are not (streambind lint) sets it
	// on a second try of settings that failed only because of their files,
	// so that the bindings are checked against the binder's real settings.
	// An app sets it only with SectionsOnly.
	SkipFiles bool
}

// BinderFactory creates a binder. It validates settings (a binder rejects
// unknown keys, naming them) and must not do network I/O.
type BinderFactory func(ctx context.Context, s BinderSettings) (Binder, error)

// SpecValidator is implemented by binders that can check the binder-specific
// properties of a binding before anything is bound, so that the app reports
// every configuration problem at once.
type SpecValidator interface {
	ValidateProducer(spec ProducerSpec) error
	ValidateConsumer(spec ConsumerSpec) error
}

// HealthChecker is implemented by binders that know whether they are
// connected to their broker.
type HealthChecker interface {
	// Health returns nil while the binder is connected (or has nothing to
	// connect yet), else the reason it is not. It must not block for long:
	// it reports known state rather than probing the broker.
	Health(ctx context.Context) error
}

// BindingHealthChecker is implemented by producer and consumer bindings
// that can tell that their own destination is unusable while the binder as
// a whole is connected (a deleted exchange that cannot be declared again, a
// topic that is gone while auto-creation is off). Readiness reports such a
// binding as down.
type BindingHealthChecker interface {
	// Health returns nil while the binding can do its work, else the
	// reason it cannot. Like [HealthChecker.Health] it reports known state
	// and must not block for long.
	Health(ctx context.Context) error
}

// ErrUnavailable marks an error caused by a broker that could not be
// reached (refused or timed-out connections, DNS failures, a cluster with no
// live broker), as opposed to one it gave. Binders wrap such errors of
// BindProducer and BindConsumer with [Unavailable], and the app retries the
// bind with back-off for up to the binder's startup-timeout; any other bind
// error ends start-up at once.
var ErrUnavailable = errors.New("broker unavailable")

// Unavailable wraps err so that errors.Is(err, ErrUnavailable) holds.
// Unavailable(nil) is nil.
func Unavailable(err error) error {
	if err == nil {
		return nil
	}
	return unavailableError{err: err}
}

// UnavailableUntil is [Unavailable] for a binder that makes no new
// connection attempt before next (the RabbitMQ binder makes at most one a
// second): the app's retry of the bind waits until then at least, and its
// WARN line's retry_in says so, rather than the shorter back-off of its own
// that a bind would then spend waiting inside the binder.
// UnavailableUntil(nil, next) is nil.
func UnavailableUntil(err error, next time.Time) error {
	if err == nil {
		return nil
	}
	return unavailableError{err: err, next: next}
}

// retryNotBefore is the time before which the binder that returned err
// makes no new connection attempt ([UnavailableUntil]); zero when it did
// not say.
func retryNotBefore(err error) time.Time {
	var ue unavailableError
	if errors.As(err, &ue) {
		return ue.next
	}
	return time.Time{}
}

type unavailableError struct {
	err  error
	next time.Time // see UnavailableUntil; zero when not told
}

func (e unavailableError) Error() string        { return e.err.Error() }
func (e unavailableError) Unwrap() []error      { return []error{e.err, ErrUnavailable} }
func (e unavailableError) Is(target error) bool { return target == ErrUnavailable }

// PartitionCounter is implemented by a producer whose destination can
// have more partitions than the binding's partition-count (a Kafka topic
// created with more): the core then selects among all of them, as SCSt's
// Kafka binder does ("the larger number will be used instead"), so that a
// key goes to the partition an SCSt producer of the same topic picks.
// PartitionCount is the destination's partition count when the producer
// was bound.
type PartitionCounter interface {
	PartitionCount() int
}

// LagReporter is implemented by consumers that can tell, cheaply, how far
// they are behind the end of each partition: Kafka (end offset minus
// position), RabbitMQ (the queue's ready messages), NATS (the durable
// consumer's pending messages) and Redis (the group's lag), each as its
// binder's doc says. Lag is called at scrape time: it must not wait on
// the broker beyond ctx, and an error leaves the binding's lag out.
type LagReporter interface {
	Lag(ctx context.Context) ([]PartitionLag, error)
}

// PartitionLag is the lag of a consumer on one partition.
type PartitionLag struct {
	Topic     string `json:"topic"`
	Partition int    `json:"partition"`
	Lag       int64  `json:"lag"`
}

// BinderTypes is a registry of binder factories by type name. It is not safe
// for concurrent mutation; build it before creating an app.
type BinderTypes map[string]BinderFactory

// Add registers f under name, replacing any previous factory.
func (t BinderTypes) Add(name string, f BinderFactory) { t[name] = f }

// Names returns the registered type names, sorted.
func (t BinderTypes) Names() []string {
	n := make([]string, 0, len(t))
	for k := range t {
		n = append(n, k)
	}
	sort.Strings(n)
	return n
}

// kafkaStreamsType reports whether name is one of SCSt's Kafka Streams
// binder types, left out on purpose: the errors say so rather than leave a
// reader looking for a package to register.
func kafkaStreamsType(name string) bool {
	switch strings.ToLower(name) {
	case "kstream", "ktable", "globalktable":
		return true
	}
	return false
}

// kafkaStreamsUnsupported is why a Kafka Streams binder type fails.
const kafkaStreamsUnsupported = "SCSt's Kafka Streams binder is not supported (no KStream functions); bind the Kafka topics with binder type kafka and plain functions"

// Lookup returns the factory for name or an error listing the known types.
func (t BinderTypes) Lookup(name string) (BinderFactory, error) {
	if f, ok := t[name]; ok {
		return f, nil
	}
	names := t.Names()
	hint := ""
	if kafkaStreamsType(name) {
		return nil, fmt.Errorf("unknown binder type %q (registered: %s): %s", name, strings.Join(names, ", "), kafkaStreamsUnsupported)
	}
	if n := nearest(name, names); n != "" && didyoumean.Distance(strings.ToLower(name), strings.ToLower(n)) <= 2 {
		hint = fmt.Sprintf("; did you mean %s?", n)
	}
	return nil, fmt.Errorf("unknown binder type %q (registered: %s%s)", name, strings.Join(names, ", "), hint)
}

// State is the state of a binding.
type State string

// Binding states, as Spring Cloud Stream's actuator names them.
const (
	StateStarted State = "STARTED"
	StateStopped State = "STOPPED"
	StatePaused  State = "PAUSED"
)

// ErrClosed is returned by operations on a closed binding or binder.
var ErrClosed = errors.New("stream: closed")

// ErrStopping is returned by [Binding.Start] and [Binding.Resume] once
// the binding's app has begun its shutdown: the shutdown stops every
// binding, and one started again behind it (a management request that
// raced it) would take messages its binder is about to close under.
//
// A handler's [ErrNak] result that matches it too tells the binder that
// the message is given back for the shutdown: its back-off was cut short,
// or it was not handled at all because an earlier message of the binding
// was given back so (from then on the core hands the binding's function
// no message). The binder gives it back at once (no redelivery-delay) and,
// like what its Stop gives back, in the order of its partition or key.
var ErrStopping = errors.New("stream: the app is shutting down")
