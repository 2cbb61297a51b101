// Package stream is the core of streambind: the programming model (typed
// suppliers, functions and consumers registered by name), the binding
// lifecycle, content-type conversion, retries, partitioning, and the binder
// SPI that messaging systems plug into.
//
// # Programming model
//
// Register plain Go functions in a [Catalog]:
//
//	fns := stream.NewCatalog()
//	stream.AddFunction(fns, "reserveStock", func(ctx context.Context, o Order) (Stock, error) { ... })
//	stream.AddConsumer(fns, "prepareShipment", func(ctx context.Context, o Order) error { ... })
//
// The configuration's function definition (stream.function.definition) picks
// the functions to bind: "a;b" binds two, "a|b" composes them into one whose
// bindings are "a|b-in-0" and "a|b-out-0" (stream.function.bindings renames
// them: "process-in-0: input" names the binding input). stream.output-bindings
// and stream.input-bindings declare bindings of no function: outputs for the
// [Bridge], inputs handled by the consumer registered under the binding's
// name. Each binding maps to a destination on a binder (see
// docs/conventions.md for the keys and defaults).
//
// # Content types
//
// A binding's content-type (default application/json) picks the
// [Converter] that turns a function's typed values into payload bytes and
// back; an input's contentType header, and an output [Message]'s, wins over
// it. application/json (and any +json type), text/plain and
// application/octet-stream are built in; [WithConverter] registers more.
// []byte and string payloads (and Messages and batches of them) pass
// through as they are whatever the content type, as in SCSt. [NewApp]
// refuses a function's output binding whose content type no registered
// converter handles when the function returns any other type, or whose
// built-in text/plain or application/octet-stream converter cannot take
// that type (a struct): the error is at the content-type key and its line,
// and names the binding, the type and the converters registered. Such an
// input binding, or an output of a typed Message, is a warning at the key
// instead: a message's own contentType header picks its converter, and
// only the messages without one fail.
//
// # Event routing
//
// Many event types on one destination: stream.function.routing.enabled
// (or a routing-expression, or functionRouter in the definition) binds
// SCSt's routing function [RouterFunctionName], whose input
// functionRouter-in-0 hands each message to the registered function or
// consumer its routing instruction names, decoded into that function's
// type: the [RoutingCallback] set with [WithRoutingCallback] (SCF's
// MessageRoutingCallback), then the headers [HeaderFunctionDefinition]
// and [HeaderRoutingExpression], then the routing-expression property. A
// message no instruction routes fails permanently (docs/conventions.md,
// "Event routing"). The other way, an output message whose
// [HeaderSendToDestination] header names a binding or destination is sent
// there rather than to the function's output binding.
//
// # Binder SPI
//
// A [Binder] connects bindings to one messaging system. It is created by a
// [BinderFactory] registered under a type name ("memory", "kafka", "rabbit")
// with [WithBinderType]. A binder hands out [Producer]s (Send) and
// [Consumer]s (Start, Stop, Pause, Resume) and delivers each received message
// to a [Handler]. The core does everything that does not depend on the broker:
// conversion, retries with back-off, panic recovery, partition selection and
// counting. The binder does acknowledgement, dead-lettering and redelivery.
//
// # Acknowledgement vocabulary
//
// A [Handler]'s result decides the fate of a message, in the words of nats.go:
//
//   - nil: Ack. The message was processed (and any output confirmed).
//   - an error matching [ErrNak]: Nak. Processing was interrupted (shutdown,
//     timeout); the binder leaves the message for redelivery and neither
//     acknowledges nor dead-letters it. One that also matches [ErrStopping]
//     was given back for the app's shutdown (its back-off cut short, or
//     not handled because an earlier message of the binding was given
//     back): the binder gives it back at once, not after redelivery-delay,
//     and in order with what its Stop gives back after it.
//   - any other error: Term. Processing failed for good after the retries; the
//     binder dead-letters the message when the binding has dlq enabled and
//     otherwise drops it (the core has already logged and counted it).
//
// Handlers mark an error as not worth retrying with [Permanent]; conversion
// failures always are.
//
// One departure from "dead-letter after the last attempt": when a
// function's output cannot be sent (the output's broker is down), the input
// is Nak'ed after the retries, not dead-lettered — the message is not at
// fault — and comes back until the output works. Binders mark the refusals
// no retry can fix (a record over the broker's size limit) as permanent, so
// those are dead-lettered.
//
// # Concurrency and ordering
//
// A consumer binding runs up to consumer.concurrency handler calls at once.
// Binders keep the order of messages that share a partition (or, where the
// broker has no partitions, a key): two such messages are never handled
// concurrently, and — unless the binding is pipelined (below) — the second
// is handled only after the first was acked. A Producer's Send is safe for
// concurrent use; messages sent one after another from one goroutine to one
// partition arrive in that order. Retries run inside one handler call, so
// they hold back the rest of their partition — that is the price of
// ordering, and the reason back-off is bounded.
//
// # Pipelined processing
//
// A function binding whose output's producer is an [AsyncProducer] (Kafka,
// RabbitMQ, NATS, Redis) offers the binder an [AsyncHandler] besides its
// Handler (the default, consumer.max-in-flight 256); a binder that can
// (Kafka, RabbitMQ) may hand it
// the next messages of a partition while the outputs of earlier ones are
// unconfirmed, and settles the results in input order. The function is
// called in input order per partition, one call at a time, and a failing
// function is still retried in place; only the waiting for the output
// broker's confirm overlaps. An input whose send fails is Nak'ed and handled
// again once it is the oldest unsettled one, after the outputs of later
// inputs may have been stored, so order per key holds while no send fails
// (docs/conventions.md, "Pipelined processing"); max-in-flight: 1 turns it
// off (on RabbitMQ strict order per key across a failed send also needs
// prefetch: 1).
//
// # Lifecycle
//
// [App.Run] binds producers before consumers, starts suppliers last, and on
// shutdown reverses that: components ([Component]) stop first, while the
// bridge still takes their sends; suppliers and intake stop, in-flight
// messages finish and are acknowledged, producers flush, binders close, and
// last the components that hold what handlers use ([ComponentCloser]) are
// closed — all within one shutdown timeout.
package stream
