package rabbit

import (
	"context"
	"errors"
	"fmt"
	"io"
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
	c := &rabbitDeadLetters{ch: ch, queue: q, total: st.Messages, consumers: st.Consumers, tag: "streambind-dlq-" + randomID()}
	if st.Messages == 0 {
		return c, nil
	}
	c.ds, err = ch.ConsumeWithContext(ctx, q, c.tag, false, false, false, false, nil)
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
}

// Consumers is how many consumers the DLQ queue had when the cursor was
// opened (the cursor not counted): a dead-letter reader
// (consumer.dead-letters-of) consumes that queue itself, and takes the
// dead letters a tool would list, replay or purge.
func (c *rabbitDeadLetters) Consumers() int { return c.consumers }

func (c *rabbitDeadLetters) Next(ctx context.Context) (stream.DeadLetter, error) {
	if c.read >= c.total {
		return stream.DeadLetter{}, io.EOF
	}
	select {
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

// Close cancels the consumer and closes the channel: the broker requeues
// what was not acknowledged.
func (c *rabbitDeadLetters) Close(context.Context) error {
	err := c.ch.Close()
	if errors.Is(err, amqp.ErrClosed) {
		err = nil
	}
	return err
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
