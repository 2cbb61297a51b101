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
// letter returned by Next, at once and for good.
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
