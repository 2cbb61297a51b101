package rabbit

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/streambind/streambind/stream"
)

// OpenDeadLetters implements [stream.DeadLetterStore] over the binding's
// DLQ (consumerDLQ: <destination>.<group>.dlq by default). The cursor consumes that queue on a channel
// of its own without acknowledging, up to the number of messages the queue
// held when it was opened; Remove acknowledges one (the broker deletes
// it), and Close (or the loss of the connection) returns every other one
// to the queue, where RabbitMQ puts it back in its place. A dead letter's
// ID is its position in the cursor (1, 2, ...), stable while the queue is
// only read. While the cursor is open, the dead letters it holds are not
// delivered to the queue's other consumers.
//
// The cursor ends early (io.EOF, with a warning naming how many it did not
// see) when no dead letter arrives for dlqIdle: dead letters can leave the
// queue after it was opened (another cursor or consumer holds them, a TTL
// expires them), and waiting for the count seen at open would never end.
// The consumer is not tied to ctx: amqp091-go cancels a consumer started
// with a context when that context ends, and that cancel racing Close
// deadlocked the channel (a Ctrl-C hung `streambind dlq`). Close cancels it.
func (b *Binder) OpenDeadLetters(ctx context.Context, spec stream.ConsumerSpec, _ stream.DeadLetterOpen) (stream.DeadLetters, error) {
	if err := b.checkOpen(); err != nil {
		return nil, err
	}
	dq, err := consumerDLQ(spec)
	if err != nil {
		return nil, err
	}
	q := dq.name
	ch, err := b.sub.bindChannel(ctx)
	if err != nil {
		return nil, err
	}
	st, err := ch.QueueDeclarePassive(q, true, false, false, false, nil)
	if err != nil {
		_ = ch.Close()
		var ae *amqp.Error
		if errors.As(err, &ae) && ae.Code == amqp.NotFound {
			return nil, fmt.Errorf("rabbit: queue %s: %w", q, stream.ErrNoDeadLetters)
		}
		return nil, fmt.Errorf("rabbit: queue %s: %w", q, err)
	}
	c := &rabbitDeadLetters{ch: ch, queue: q, total: st.Messages, consumers: st.Consumers, tag: "streambind-dlq-" + randomID(), idle: dlqIdle, log: b.log}
	if st.Messages == 0 {
		return c, nil
	}
	c.ds, err = ch.Consume(q, c.tag, false, false, false, false, nil)
	if err != nil {
		_ = ch.Close()
		return nil, fmt.Errorf("rabbit: consume %s: %w", q, err)
	}
	return c, nil
}

type rabbitDeadLetters struct {
	ch    *amqp.Channel
	queue string
	tag   string
	ds    <-chan amqp.Delivery
	total int
	read  int
	tags  map[string]uint64
	// consumers is how many consumers the queue had at open.
	consumers int
	// idle is how long Next waits for a dead letter before it takes the
	// read as complete (dlqIdle).
	idle time.Duration
	log  *slog.Logger
	// notSeen is how many dead letters of the count at open the cursor
	// did not get (others held them) when it ended early.
	notSeen int
}

// dlqIdle is how long a dead-letter cursor waits for the next dead letter
// before it takes the read as complete: the broker delivers the ready
// messages of the queue at once, so a longer silence means they left it.
const dlqIdle = 2 * time.Second

// dlqCloseTimeout bounds Close: a channel close the broker does not answer
// (a dead connection not yet noticed) must not hang the CLI.
const dlqCloseTimeout = 5 * time.Second

// Consumers is how many consumers the DLQ queue had when the cursor was
// opened (the cursor not counted): a dead-letter reader
// (consumer.dead-letters-of) consumes that queue itself, and takes the
// dead letters a tool would list, replay or purge.
func (c *rabbitDeadLetters) Consumers() int { return c.consumers }

func (c *rabbitDeadLetters) Next(ctx context.Context) (stream.DeadLetter, error) {
	if c.read >= c.total {
		return stream.DeadLetter{}, io.EOF
	}
	// A ready delivery must not win over a cancelled ctx (select picks at
	// random): the command stops at once.
	if err := ctx.Err(); err != nil {
		return stream.DeadLetter{}, err
	}
	idle := time.NewTimer(c.idle)
	defer idle.Stop()
	select {
	case <-idle.C:
		if c.log != nil {
			c.log.Warn("rabbit: dead-letter queue: fewer dead letters than the queue held at open; they left the queue meanwhile (another consumer or cursor holds them, or a TTL expired them)",
				"queue", c.queue, "read", c.read, "at_open", c.total, "not_seen", c.total-c.read)
		}
		c.notSeen = c.total - c.read
		c.total = c.read
		return stream.DeadLetter{}, io.EOF
	case d, ok := <-c.ds:
		if !ok {
			return stream.DeadLetter{}, fmt.Errorf("rabbit: queue %s: the channel closed after %d of %d dead letters", c.queue, c.read, c.total)
		}
		c.read++
		id := strconv.Itoa(c.read)
		if c.tags == nil {
			c.tags = map[string]uint64{}
		}
		c.tags[id] = d.DeliveryTag
		return stream.DeadLetter{ID: id, Envelope: fromDelivery(&d), Time: deadLetteredAt(&d)}, nil
	case <-ctx.Done():
		return stream.DeadLetter{}, ctx.Err()
	}
}

func (c *rabbitDeadLetters) Remove(_ context.Context, d stream.DeadLetter) error {
	tag, ok := c.tags[d.ID]
	if !ok {
		return fmt.Errorf("rabbit: queue %s: no dead letter %s in this cursor", c.queue, d.ID)
	}
	delete(c.tags, d.ID)
	if err := c.ch.Ack(tag, false); err != nil {
		return fmt.Errorf("rabbit: queue %s: remove dead letter %s: %w", c.queue, d.ID, err)
	}
	return nil
}

// Release does nothing: the queue delivered d to this cursor, and it stays
// unacknowledged (not delivered to another consumer) until Close, which
// puts it back in its place; a reject with requeue would deliver it to
// this cursor again, and out of its place.
func (c *rabbitDeadLetters) Release(context.Context, stream.DeadLetter) error { return nil }

// Hold fails with [stream.ErrClaimLost] once the channel closed: the
// broker gave back what the cursor held.
func (c *rabbitDeadLetters) Hold(_ context.Context, d stream.DeadLetter) error {
	if c.ch.IsClosed() {
		return fmt.Errorf("rabbit: queue %s: dead letter %s: the channel closed and the broker put it back: %w", c.queue, d.ID, stream.ErrClaimLost)
	}
	return nil
}

// HeldElsewhere is how many of the dead letters the queue held at open the
// cursor did not get (another consumer or cursor held them, or a TTL
// expired them).
func (c *rabbitDeadLetters) HeldElsewhere() int { return c.notSeen }

// Close cancels the consumer and closes the channel: the broker requeues
// what was not acknowledged. It waits at most dlqCloseTimeout for the
// broker, whatever ctx says (a cancelled command still closes its cursor);
// what it did not acknowledge goes back to the queue when the connection
// closes in any case.
func (c *rabbitDeadLetters) Close(context.Context) error {
	done := make(chan error, 1)
	go func() {
		if c.ds != nil {
			// Cancel first: no new deliveries while the channel closes.
			_ = c.ch.Cancel(c.tag, false)
		}
		done <- c.ch.Close()
	}()
	t := time.NewTimer(dlqCloseTimeout)
	defer t.Stop()
	select {
	case err := <-done:
		if errors.Is(err, amqp.ErrClosed) {
			err = nil
		}
		return err
	case <-t.C:
		return fmt.Errorf("rabbit: queue %s: closing the dead-letter cursor: no answer from the broker within %s", c.queue, dlqCloseTimeout)
	}
}

// deadLetteredAt is when d was dead-lettered: the time of its latest
// x-death entry when the broker dead-lettered it (republish-to-dlq:
// false; x-death[0] is the latest), else its timestamp property, which
// the binder sets when it republishes a dead letter; zero when neither
// says (a dead letter republished by an older version, or by another
// tool).
func deadLetteredAt(d *amqp.Delivery) time.Time {
	if xs, ok := d.Headers["x-death"].([]any); ok && len(xs) > 0 {
		if x, ok := xs[0].(amqp.Table); ok {
			if t, ok := x["time"].(time.Time); ok && !t.IsZero() {
				return t
			}
		}
	}
	return d.Timestamp
}
