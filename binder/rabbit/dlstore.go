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
//
// The broker sends the cursor at most dlqWindow dead letters ahead of what
// it removed (a consumer's prefetch; see more), not the whole queue: without
// a prefetch it pushed every dead letter at once, and amqp091-go buffers
// what it receives without bound, so `streambind dlq ls --limit 10` on a
// queue of a million dead letters held all of them in memory.
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
	// Per consumer (global false): a channel-wide prefetch is refused by
	// quorum queues.
	if err := ch.Qos(dlqWindow, 0, false); err != nil {
		_ = ch.Close()
		return nil, fmt.Errorf("rabbit: queue %s: set prefetch: %w", q, err)
	}
	if err := c.consume(); err != nil {
		_ = ch.Close()
		return nil, err
	}
	return c, nil
}

// dlqWindow is how many dead letters the broker sends a cursor's consumer
// ahead of the reader (its prefetch): a bound on what the cursor buffers.
const dlqWindow = 256

// consumerTag is the tag of the cursor's current consumer.
func (c *rabbitDeadLetters) consumerTag() string { return c.tag + "-" + strconv.Itoa(c.gen) }

// consume starts the cursor's next consumer of the queue.
func (c *rabbitDeadLetters) consume() error {
	c.gen++
	c.held = 0
	ds, err := c.ch.Consume(c.queue, c.consumerTag(), false, false, false, false, nil)
	if err != nil {
		return fmt.Errorf("rabbit: consume %s: %w", c.queue, err)
	}
	c.ds = ds
	return nil
}

// more lets the broker send the cursor more dead letters once its consumer
// holds a full window of them unremoved (a listing): the broker sends that
// consumer nothing more, and every delivery it sent has arrived. The
// consumer is cancelled (the dead letters it delivered stay held by the
// channel, unacknowledged, in their places) and a new one gets the next
// window of the queue, in the queue's order.
func (c *rabbitDeadLetters) more() error {
	old := c.ds
	if err := c.ch.Cancel(c.consumerTag(), false); err != nil {
		return fmt.Errorf("rabbit: queue %s: after %d dead letters: %w", c.queue, c.read, err)
	}
	// amqp091-go closes old once it handed out what it had received
	// (nothing, as the window was full; kept in order should there be).
	for d := range old {
		c.pending = append(c.pending, pendingDL{d: d, gen: c.gen})
	}
	return c.consume()
}

type rabbitDeadLetters struct {
	ch    *amqp.Channel
	queue string
	tag   string
	ds    <-chan amqp.Delivery
	total int
	read  int
	tags  map[string]heldDL
	// gen numbers the cursor's consumers (see more); held counts the dead
	// letters the current one delivered that were not removed, toward
	// dlqWindow; pending are deliveries of a cancelled consumer not yet
	// returned by Next.
	gen     int
	held    int
	pending []pendingDL
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

// heldDL is a dead letter the cursor returned: its delivery tag, and the
// consumer (gen) that delivered it.
type heldDL struct {
	tag uint64
	gen int
}

type pendingDL struct {
	d   amqp.Delivery
	gen int
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
	if len(c.pending) > 0 {
		p := c.pending[0]
		c.pending = c.pending[1:]
		return c.deliver(&p.d, p.gen), nil
	}
	if c.held >= dlqWindow {
		if err := c.more(); err != nil {
			return stream.DeadLetter{}, err
		}
		if len(c.pending) > 0 {
			return c.Next(ctx)
		}
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
		c.held++
		return c.deliver(&d, c.gen), nil
	case <-ctx.Done():
		return stream.DeadLetter{}, ctx.Err()
	}
}

// deliver numbers d, delivered by consumer gen, as the cursor's next dead
// letter.
func (c *rabbitDeadLetters) deliver(d *amqp.Delivery, gen int) stream.DeadLetter {
	c.read++
	id := strconv.Itoa(c.read)
	if c.tags == nil {
		c.tags = map[string]heldDL{}
	}
	c.tags[id] = heldDL{tag: d.DeliveryTag, gen: gen}
	return stream.DeadLetter{ID: id, Envelope: fromDelivery(d), Time: deadLetteredAt(d)}
}

func (c *rabbitDeadLetters) Remove(_ context.Context, d stream.DeadLetter) error {
	h, ok := c.tags[d.ID]
	if !ok {
		return fmt.Errorf("rabbit: queue %s: no dead letter %s in this cursor", c.queue, d.ID)
	}
	delete(c.tags, d.ID)
	if err := c.ch.Ack(h.tag, false); err != nil {
		return fmt.Errorf("rabbit: queue %s: remove dead letter %s: %w", c.queue, d.ID, err)
	}
	if h.gen == c.gen {
		c.held-- // the broker may send the current consumer one more
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
			_ = c.ch.Cancel(c.consumerTag(), false)
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
// false; x-death[0] is the latest), or its timestamp property, which the
// binder sets when it republishes a dead letter: the later of the two, as
// a republished dead letter keeps the x-death entries of the broker's
// earlier dead-letterings (a wait queue's, a DLQ's TTL), and a message
// the broker dead-lettered keeps the timestamp its producer gave it; zero
// when neither says (a dead letter republished by an older version, or by
// another tool).
func deadLetteredAt(d *amqp.Delivery) time.Time {
	at := d.Timestamp
	if xs, ok := d.Headers["x-death"].([]any); ok && len(xs) > 0 {
		if x, ok := xs[0].(amqp.Table); ok {
			if t, ok := x["time"].(time.Time); ok && t.After(at) {
				at = t
			}
		}
	}
	return at
}
