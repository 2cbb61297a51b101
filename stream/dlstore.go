package stream

import (
	"context"
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
	// dead letters returns one while the claim lasts: until Remove, or
	// until Close gives the cursor's unremoved ones back. A claim is a
	// lease, renewed while the cursor is open and the ctx given to
	// OpenDeadLetters lives; the claims of a cursor whose process died (or
	// whose ctx ended without Close) come back when their lease runs out.
	// A dead letter held by another cursor is waited for at the end, up
	// to one lease, then left to it (the binder logs how many). What a
	// claim is, is the binder's: a consumer-group member's partitions on
	// Kafka, a lease per dead letter on NATS and Redis, the queue's own
	// unacknowledged deliveries on RabbitMQ (every RabbitMQ cursor claims).
	// Plain cursors neither claim nor see claims.
	Claim bool
	// Lease is how long a claim outlives the last sign of life of its
	// cursor (0: [DefaultDeadLetterLease]). Shorter means a killed
	// replay's dead letters come back sooner, and more renewal traffic;
	// a cursor cut off from the broker for longer than it may find a dead
	// letter it holds claimed by another cursor too. Kafka's brokers take
	// 6s (group.min.session.timeout.ms) at least.
	Lease time.Duration
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

type errorString string

func (e errorString) Error() string { return string(e) }

// DeadLetters is a cursor over the dead letters that were there when it was
// opened, oldest first. It is not safe for concurrent use.
//
// Reading does not remove: what is not removed stays, in its order, when
// the cursor is closed (or its process dies). Remove removes one dead
// letter returned by Next, at once and for good. A claiming cursor
// ([DeadLetterOpen.Claim]) holds what Next returned until Remove or Close;
// a dead letter whose copy a tool sent but did not remove before it died
// goes to the next claiming cursor again (the one duplicate a killed
// replay can make).
type DeadLetters interface {
	// Next returns the next dead letter; io.EOF after the last one that
	// was there at open, whatever arrived since.
	Next(ctx context.Context) (DeadLetter, error)
	// Remove removes d.
	Remove(ctx context.Context, d DeadLetter) error
	// Close releases the cursor; bounded by ctx.
	Close(ctx context.Context) error
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
// it copies: the copy gets an id of its own, since a broker that
// deduplicates by id (NATS JetStream's Nats-Msg-Id) would otherwise drop
// it as a duplicate of the original.
const HeaderReplayedID = "x-streambind-replayed-id"

// ReplayHeaders returns the headers of the replayed copy of a dead letter:
// its original headers without the ones dead-lettering added
// (x-exception-*, x-original-*, x-streambind-truncated and the
// headers-only markers), with the replay count plus one, and its id moved
// to [HeaderReplayedID].
func ReplayHeaders(h Headers) Headers {
	out := make(Headers, len(h))
	for k, v := range h {
		l := strings.ToLower(k)
		if strings.HasPrefix(l, "x-exception-") || strings.HasPrefix(l, "x-original-") ||
			l == HeaderTruncated || l == HeaderPayloadSize || l == HeaderPayloadSHA256 {
			continue
		}
		if k == HeaderID {
			out[HeaderReplayedID] = v
			continue
		}
		out[k] = v
	}
	out[HeaderReplayCount] = strconv.Itoa(ReplayCount(h) + 1)
	return out
}
