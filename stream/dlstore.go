package stream

import (
	"context"
	"log/slog"
	"strconv"
	"strings"
	"time"
)

// DeadLetterStore is implemented by binders whose dead letters an operator
// tool can list and remove one by one (streambind dlq ls, show, replay,
// purge). Replaying goes through an ordinary [Producer]; the store only
// reads and removes.
//
// A tool that only reads (ls, show) opens a plain cursor, which changes
// nothing on the broker. A tool that removes what it reads (replay, purge)
// opens a claiming one ([DeadLetterOpen.Claim]), so that two of them at
// once (two terminals, a retried job) never both get the same dead letter.
type DeadLetterStore interface {
	// OpenDeadLetters opens the dead letters of the consumer binding of
	// spec (as for [DeadLetterSourcer.DeadLetterSource]). It fails when
	// there is nothing to open (no dead-letter queue or group yet: the
	// error wraps [ErrNoDeadLetters]).
	OpenDeadLetters(ctx context.Context, spec ConsumerSpec, o DeadLetterOpen) (DeadLetters, error)
}

// DeadLetterOpen are the options of [DeadLetterStore.OpenDeadLetters].
type DeadLetterOpen struct {
	// Group is the group the cursor works for, where that matters: on
	// Kafka the group whose committed position marks what was removed
	// (default streambind-dlq); in process the reader group whose copy of
	// the dead letters is meant ("" picks the only one). Binders whose
	// dead letters sit in one queue (RabbitMQ) ignore it.
	Group string
	// Claim opens a claiming cursor: Next returns only dead letters this
	// cursor holds a claim on, and no other claiming cursor of the same
	// dead letters returns one while the claim lasts: until Remove or
	// Release, or until Close gives the cursor's unremoved ones back. A claim is a
	// lease, renewed while the cursor is open and the ctx given to
	// OpenDeadLetters lives; the claims of a cursor whose process died (or
	// whose ctx ended without Close) come back when their lease runs out.
	// A dead letter held by another cursor is waited for at the end, up
	// to one lease, then left to it ([DeadLetters.HeldElsewhere] counts
	// them). A dead letter the caller passes over (its filters do not
	// match) it gives back at once ([DeadLetters.Release]), and one it is
	// about to act on slowly it confirms first ([DeadLetters.Hold]). What a
	// claim is, is the binder's: a consumer-group member's partitions on
	// Kafka, a lease per dead letter on NATS and Redis, the queue's own
	// unacknowledged deliveries on RabbitMQ (every RabbitMQ cursor claims).
	// Plain cursors neither claim nor see claims.
	Claim bool
	// Want, when set, is the caller's filter (a replay's --exception,
	// say): a claiming cursor where a claim is one dead letter (NATS,
	// Redis) claims only the dead letters Want accepts and returns the
	// others unclaimed, for the caller to pass over, so that it neither
	// holds nor waits for what it does not want. Elsewhere it is ignored.
	Want func(DeadLetter) bool
	// Lease is how long a claim outlives the last sign of life of its
	// cursor (0: [DefaultDeadLetterLease]). Shorter means a killed
	// replay's dead letters come back sooner, and more renewal traffic;
	// a cursor cut off from the broker for longer than it may find a dead
	// letter it holds claimed by another cursor too. Kafka's brokers take
	// 6s (group.min.session.timeout.ms) at least.
	Lease time.Duration
	// Notice, when set, is given notes for the person running the cursor,
	// one line each, without a trailing newline, with their level
	// (slog.LevelInfo: a note; slog.LevelWarn: a warning): on Kafka, that
	// a claiming cursor's join has waited 2s for the partitions of a
	// member that did not leave the group (a killed replay), and how long
	// it may wait (a note); that the group never removed a dead letter of
	// the topic, so that every dead letter counts as not removed for it
	// (a warning). It
	// is called during OpenDeadLetters or the cursor's call that waits
	// (Next), and has returned when that call returns.
	Notice func(level slog.Level, msg string)
}

// DefaultDeadLetterLease is how long the claim of a claiming dead-letter
// cursor ([DeadLetterOpen.Claim]) outlives the cursor's last renewal: the
// longest a killed replay's dead letters stay held from other replays. It
// is Kafka's default session timeout, which the Kafka binder uses it as.
const DefaultDeadLetterLease = 30 * time.Second

// LeaseOf is o's lease: o.Lease, or [DefaultDeadLetterLease].
func (o DeadLetterOpen) LeaseOf() time.Duration {
	if o.Lease > 0 {
		return o.Lease
	}
	return DefaultDeadLetterLease
}

// ErrNoDeadLetters: the binding has no dead letters to open (its
// dead-letter queue does not exist).
var ErrNoDeadLetters = errorString("no dead-letter queue")

// ErrClaimLost: a claiming cursor ([DeadLetterOpen.Claim]) no longer
// holds its claim on a dead letter (see [DeadLetters.Hold]).
var ErrClaimLost = errorString("claim on the dead letter lost to another replay or purge")

type errorString string

func (e errorString) Error() string { return string(e) }

// DeadLetters is a cursor over the dead letters that were there when it was
// opened, oldest first. It is not safe for concurrent use.
//
// Reading does not remove: what is not removed stays, in its order, when
// the cursor is closed (or its process dies). Remove removes one dead
// letter returned by Next, at once and for good. A claiming cursor
// ([DeadLetterOpen.Claim]) holds what Next returned until Remove, Release
// or Close;
// a dead letter whose copy a tool sent but did not remove before it died
// goes to the next claiming cursor again (the duplicates a killed replay
// can make: those it had in flight). A cursor that can hold several at
// once implements [DeadLetterBatcher].
type DeadLetters interface {
	// Next returns the next dead letter; io.EOF after the last one that
	// was there at open, whatever arrived since.
	Next(ctx context.Context) (DeadLetter, error)
	// Remove removes d. Where the broker fences a removal by the claim
	// (Kafka), a claiming cursor that lost its claim on d fails with an
	// error wrapping [ErrClaimLost]; elsewhere d is removed regardless.
	Remove(ctx context.Context, d DeadLetter) error
	// Release passes over d, returned by Next and not to be removed: a
	// claiming cursor gives its claim on d back at once, so that another
	// claiming cursor may take it while this one goes on (a replay whose
	// filters d does not match must not hold it until it exits). The
	// cursor does not return d again. Where a claim is more than one dead
	// letter (a Kafka partition) it holds the rest; a plain cursor does
	// nothing.
	Release(ctx context.Context, d DeadLetter) error
	// Hold confirms that the cursor still holds its claim on d, returned
	// by Next, and renews it, for a caller about to act on d after a
	// while (a paced replay sends its copy): it fails with an error
	// wrapping [ErrClaimLost] when the claim is gone (its lease ran out,
	// the cursor's Kafka member was dropped from the group), and d may be
	// another cursor's now: the caller must not act on it, only Release
	// it. A plain cursor always holds.
	Hold(ctx context.Context, d DeadLetter) error
	// HeldElsewhere is, once Next returned io.EOF, how many dead letters
	// the cursor did not return because another claiming cursor (or, on
	// RabbitMQ, another consumer) held them: left to it. It is an upper
	// bound where the binder cannot tell exactly (Kafka: the dead letters
	// of partitions other members hold); 0 for a plain cursor.
	HeldElsewhere() int
	// Close releases the cursor; bounded by ctx.
	Close(ctx context.Context) error
}

// DeadLetterBatcher is implemented by a [DeadLetters] cursor that reads
// and removes several dead letters per round trip to the broker, and
// whose claiming cursor may hold any number of dead letters at once (a
// pipelined replay has the copies of several in flight before it removes
// the first). A caller uses it where a cursor has it and falls back to
// Next and Remove one at a time where not; the cursor stays one not safe
// for concurrent use.
type DeadLetterBatcher interface {
	// NextBatch returns the next dead letters, at least one and at most
	// max, as that many calls of Next would (a claiming cursor's claimed,
	// or unclaimed where [DeadLetterOpen.Want] rejects them); io.EOF, and
	// none, after the last.
	NextBatch(ctx context.Context, max int) ([]DeadLetter, error)
	// RemoveBatch removes ds, each returned by Next or NextBatch and not
	// removed or released since, as Remove would one by one: nil when all
	// were removed, else one error per dead letter of ds, nil for those
	// removed.
	RemoveBatch(ctx context.Context, ds []DeadLetter) []error
}

// DeadLetter is one dead letter.
type DeadLetter struct {
	// ID identifies the dead letter within the cursor and across cursors
	// where the broker allows (a sequence or offset); see the binder.
	ID string
	Envelope
	// Time is when it was dead-lettered, if the broker says; else zero.
	Time time.Time
}

// HeaderReplayCount counts how many times a dead letter was replayed
// (streambind dlq replay): the replayed copy carries the count plus one,
// and a message dead-lettered again keeps it, so that a replay tool can
// refuse to loop a message through replay for ever.
const HeaderReplayCount = "x-streambind-replay-count"

// ReplayCount returns the replay count of headers h (0 when absent or
// malformed).
func ReplayCount(h Headers) int {
	n, err := strconv.Atoi(strings.TrimSpace(h[HeaderReplayCount]))
	if err != nil || n < 0 {
		return 0
	}
	return n
}

// HeaderReplayedID, on a replayed copy, is the id header of the message
// first dead-lettered — the original, also when the dead letter replayed
// is that of an earlier copy: the copy gets an id of its own, since a
// broker that deduplicates by id (NATS JetStream's Nats-Msg-Id) would
// otherwise drop it as a duplicate of the original. The idempotent
// consumer's default key reads it first (it names one message through
// all its copies).
const HeaderReplayedID = "x-streambind-replayed-id"

// HeaderReplayGroup, on a replayed copy, names the one consumer group
// that is to handle it: streambind dlq replay sets it, on NATS and Redis,
// to the group whose dead letter the copy is, when the copy goes back to
// that group's destination, which every group of the destination reads.
// The NATS and Redis binders' consumers of any other group (and anonymous
// ones) acknowledge such a copy without handling it, so that replaying one
// group's failures does not make the others handle the message again.
// Dead-lettering drops it ([DeadLetterHeaders]), so does [ReplayHeaders]
// (a replay sets it anew), and a function's output does not take it from
// its input.
const HeaderReplayGroup = "x-streambind-replay-group"

// ReplayHeaders returns the headers of the replayed copy of a dead letter:
// its original headers without the ones dead-lettering added
// (x-exception-*, x-original-*, x-streambind-truncated, the
// headers-only markers and x-streambind-key-size), without [HeaderReplayGroup] (the
// replay sets the copy's own) and without RabbitMQ's delivery counts
// (x-delivery-count, x-acquired-count: the copy is a new message,
// delivered 0 times), with the replay count plus one, and its id moved
// to [HeaderReplayedID] (unless that names the original already; a Kafka
// record's without an id: the original's [DeliveryIdentity], from its
// x-original-topic, -partition and -offset, its key under the default
// idempotency key-expression).
func ReplayHeaders(h Headers) Headers {
	out := make(Headers, len(h))
	for k, v := range h {
		l := strings.ToLower(k)
		if strings.HasPrefix(l, "x-exception-") || strings.HasPrefix(l, "x-original-") ||
			l == HeaderTruncated || l == HeaderPayloadSize || l == HeaderPayloadSHA256 || l == HeaderKeySize ||
			l == "x-delivery-count" || l == "x-acquired-count" || l == HeaderReplayGroup {
			continue
		}
		if k == HeaderID {
			continue
		}
		out[k] = v
	}
	// A dead letter of a replayed copy keeps the original's id in its
	// x-streambind-replayed-id: every copy, of every replay, names the
	// message first dead-lettered, so that the idempotent consumer (whose
	// default key is the replayed id when set) sees them as one message.
	// Named the copy's id, a copy's dead letter, replayed, ran again
	// after another copy of the original had succeeded.
	// An empty or blank id is none, as to the default key (IdempotencyKey.Of).
	if orig := h[HeaderReplayedID]; strings.TrimSpace(orig) != "" {
		out[HeaderReplayedID] = orig
	} else if id := h[HeaderID]; strings.TrimSpace(id) != "" {
		out[HeaderReplayedID] = id
	} else if orig, ok := originalRecordIdentity(h); ok {
		// A Kafka record without an id (a Java producer's): the
		// original's key under the default key-expression, its delivery
		// identity, so that every copy is one message to the idempotent
		// consumer still.
		out[HeaderReplayedID] = orig
	}
	out[HeaderReplayCount] = strconv.Itoa(ReplayCount(h) + 1)
	return out
}

// originalRecordIdentity is the [DeliveryIdentity] of the Kafka record a
// dead letter copies, from its x-original-topic, -partition and -offset
// (written by the Kafka binder only); false without them.
func originalRecordIdentity(h Headers) (string, bool) {
	topic := h[HeaderOriginalTopic]
	p, okp := h.OriginalPartition()
	off, oko := h.OriginalOffset()
	if topic == "" || !okp || !oko {
		return "", false
	}
	return DeliveryIdentity("kafka", Received{Destination: topic, Partition: p, HasPartition: true, Offset: off, HasOffset: true})
}

// ReplayEnvelope returns the replayed copy of dead letter d: its payload,
// key and [ReplayHeaders], with d's [Envelope.NativeHeaders], so that a
// producer of the binder that read d sends the headers it keeps in their
// own types (RabbitMQ's AMQP types, x-death included); the headers
// ReplayHeaders drops or changes go without them.
func ReplayEnvelope(d DeadLetter) Envelope {
	return Envelope{Payload: d.Payload, Key: d.Key, Headers: ReplayHeaders(d.Headers), NativeHeaders: d.NativeHeaders}
}
