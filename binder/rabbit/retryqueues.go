package rabbit

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/streambind/streambind/binder/internal/logtext"
	"github.com/streambind/streambind/stream"
)

// Non-blocking retries (consumer.retry-delays, docs/retries.md) use the
// TTL + dead-letter pattern: for each delay the consumer declares a wait
// queue <queue>.retry.<delay in ms>, with x-message-ttl = the delay and
// x-dead-letter-exchange "" (the default exchange) with
// x-dead-letter-routing-key = the consumer's queue. A failed message is
// published (confirmed) to the wait queue of its delay and then acked; when
// its TTL expires the broker moves it back to the consumer's queue, behind
// what arrived meanwhile. Nothing consumes the wait queues, and as every
// message of one has the same TTL they expire in order. The consumer's
// queue, its DLX and DLQ are declared as without retry-delays, so the
// final failure is dead-lettered as usual.

var _ stream.DelayedRetrier = (*Binder)(nil)

// DelayedRetries implements [stream.DelayedRetrier]: a named group is
// needed (an anonymous consumer's queue is deleted when it stops, and the
// wait queues would dead-letter into nothing).
func (b *Binder) DelayedRetries(spec stream.ConsumerSpec) error {
	if spec.Group == "" {
		return errors.New("rabbit: non-blocking retries need a consumer group (group is empty)")
	}
	return nil
}

// RetryQueueName is the wait queue of consumer queue q for delay d.
func RetryQueueName(q string, d time.Duration) string {
	return q + ".retry." + strconv.FormatInt(d.Milliseconds(), 10)
}

// withRetryQueues adds the wait queues of queue q to t (one per distinct
// delay). They have the durability of the group's queue, which they
// dead-letter into: durable, or with durable-subscription false
// non-durable, so that a broker restart does not keep them (and the
// messages they hold) when the queue they return to is gone. They are
// not auto-delete as that queue is: the broker deletes an auto-delete
// queue when its last consumer goes, and nothing consumes them. A wait
// queue that exists with the other durability is used as it is
// (keepDurability, c.declareTopology): a release before 2026-12-07
// declared them durable always.
func (c *consumer) withRetryQueues(t *topology, q string) {
	if c.spec.Group == "" {
		return
	}
	seen := map[time.Duration]bool{}
	for _, d := range c.spec.Consumer.RetryDelays {
		if seen[d] {
			continue
		}
		seen[d] = true
		t.queues = append(t.queues, queueSpec{
			name:           RetryQueueName(q, d),
			durable:        !c.opts.nonDurable,
			keepDurability: true,
			args: amqp.Table{
				"x-message-ttl":             d.Milliseconds(),
				"x-dead-letter-exchange":    "",
				"x-dead-letter-routing-key": q,
			},
		})
	}
}

// declareTopology declares t (the consumer's topology, or part of it)
// with declare (which opens a channel of its own for each call), keeping a
// wait queue that exists with the other durability (declareKeeping) with
// a WARN, once per wait queue and consumer (c.keptWait): an upgrade from
// a release that declared every wait queue durable does not fail the
// bind of a group with durable-subscription false (406 PRECONDITION_FAILED,
// inequivalent arg 'durable'). The wait queue's other arguments are
// compared as ever: its messages still dead-letter into the group's
// queue when their delay ends.
func (c *consumer) declareTopology(t topology, declare func(topology) error) error {
	return t.declareKeeping(declare, func(q queueSpec) {
		if _, warned := c.keptWait.LoadOrStore(q.name, true); warned {
			return
		}
		c.log.Warn("rabbit: a retry-delays wait queue of this consumer exists with the other durability (RabbitMQ refused declaring it: inequivalent arg 'durable'), so it is used as it exists: the messages waiting there come back to the group's queue when their delay ends, and failed messages are parked there. A release before 2026-12-07 declared every wait queue durable; now a wait queue is as durable as the group's queue it returns to (non-durable with durable-subscription: false), so that a broker restart does not keep it, and its messages, after that queue is gone. To migrate, delete it once it is empty (migrate; without --if-empty the messages waiting there are lost): the binder declares it as configured the next time it declares its topology (re-subscribing, restarting, or parking a message once it is gone)",
			"wait_queue", q.name, "queue", c.queue, "durable", q.durable, "declared_durable", !q.durable,
			"migrate", "rabbitmqctl delete_queue -p "+c.bd.s.endpoint(0).vhost+" --if-empty "+q.name)
	})
}

// markRetry marks env, delivery d's message, as a retry delivery when the
// broker moved it back from one of the consumer's wait queues: its latest
// x-death entry (the first) is that queue's, for an expired TTL. Only then
// does the core count the attempts its retry headers record; a dead letter
// replayed to the destination was rejected since (a newer entry, which
// the replay's copy keeps) or republished (without the wait queues'
// entries: withoutWaitQueues), and gets every retry again.
func (r *run) markRetry(d *amqp.Delivery, env stream.Envelope) {
	if r.fromWaitQueue(d) {
		stream.MarkRetryDelivery(env.Headers)
	}
}

// fromWaitQueue reports whether d comes back from one of the consumer's
// wait queues (its latest x-death: expired there).
func (r *run) fromWaitQueue(d *amqp.Delivery) bool {
	if len(r.c.spec.Consumer.RetryDelays) == 0 || r.c.spec.Group == "" {
		return false
	}
	xs, ok := d.Headers["x-death"].([]any)
	if !ok || len(xs) == 0 {
		return false
	}
	x, ok := xs[0].(amqp.Table)
	if !ok {
		return false
	}
	if reason, _ := x["reason"].(string); reason != "expired" {
		return false
	}
	q, _ := x["queue"].(string)
	return r.isWaitQueue(q)
}

// The exchange and routing key a parked copy's message was first received
// with (headerRetryExchange, headerRetryRoutingKey): the copy comes back
// from its wait queue through the default exchange, with the queue's name
// as its routing key, and without them its handler
// (amqp_receivedExchange, amqp_receivedRoutingKey), its expressions
// (stream.Received) and its dead letter (x-original-exchange,
// x-original-routingKey) saw those instead of the original's.
const (
	headerRetryExchange   = "x-streambind-received-exchange"
	headerRetryRoutingKey = "x-streambind-received-routing-key"
)

// restoreRetryOrigin sets rc, the Received of delivery d whose headers
// are h, to the exchange and routing key of the message first received,
// when d comes back from a wait queue with them (retryLater), and removes
// them from h (elsewhere they are not believed).
func (r *run) restoreRetryOrigin(d *amqp.Delivery, h stream.Headers, rc *stream.Received) {
	ex, okx := h[headerRetryExchange]
	rk, okr := h[headerRetryRoutingKey]
	if !okx && !okr {
		return
	}
	delete(h, headerRetryExchange)
	delete(h, headerRetryRoutingKey)
	if okx && r.fromWaitQueue(d) {
		rc.Exchange, rc.RoutingKey = ex, rk
	}
}

// isWaitQueue reports whether q is one of the consumer's wait queues.
func (r *run) isWaitQueue(q string) bool {
	for _, d := range r.c.spec.Consumer.RetryDelays {
		if q == RetryQueueName(r.queue, d) {
			return true
		}
	}
	return false
}

type parkResult int

const (
	parked    parkResult = iota
	parkLater            // not published for now: requeue the delivery
	parkNever            // refused for good (the message's size): Term it
)

// retryLater carries out a [stream.DelayedRetry]: it publishes a copy of
// the delivery with the retry headers to its wait queue, waits for the
// broker's confirm, and acks the delivery (parked). When the copy could not
// be published for now (parkLater), the delivery is requeued (after
// redelivery-delay) and handled again, so nothing is lost; when the broker
// refuses it for good (parkNever: too large, which the original was not,
// or not encodable), the caller dead-letters or drops it rather than loop.
// A confirmed copy whose ack is lost with the connection is the usual
// at-least-once duplicate.
func (r *run) retryLater(in inbound, env stream.Envelope, dr *stream.DelayedRetry) parkResult {
	c := r.c
	wq := RetryQueueName(r.queue, dr.Delay)
	h := make(stream.Headers, len(dr.Headers))
	for k, v := range dr.Headers {
		// The broker's own dead-lettering headers (as text here) would
		// be refused or confuse its x-death bookkeeping.
		if k == "x-death" || strings.HasPrefix(k, "x-first-death-") || strings.HasPrefix(k, "x-last-death-") {
			continue
		}
		h[k] = v
	}
	// Received as first: restored from these when it comes back.
	h[headerRetryExchange], h[headerRetryRoutingKey] = env.Received.Exchange, env.Received.RoutingKey
	if env.Received.Queue == "" {
		h[headerRetryExchange], h[headerRetryRoutingKey] = in.d.Exchange, in.d.RoutingKey
	}
	msg := toPublishing(stream.Envelope{Payload: env.Payload, Headers: h, Key: env.Key}, c.spec.ContentType)
	keepProperties(&msg, &in.d)
	if in.d.Expiration != "" {
		// The copy has no expiration (it would cut the wait short, and
		// the broker's dead-lettering back from the wait queue drops it
		// anyway); its dead letter, made of the copy, keeps the value
		// as the original's (keepDeadLetterProperties).
		msg.Headers[headerOriginalExpiration] = in.d.Expiration
	}
	// The same message, handled again: message_id, timestamp, content_type
	// and the id and contentType headers as received, not the binding's
	// content type (its dead letter keeps them: keepOriginal).
	keepOriginal(&msg, &in.d)
	var err error
	typed := false
	for attempt := 0; attempt < 2; attempt++ {
		ctx, cancel := context.WithTimeout(r.ctx, dlPublishTimeout)
		if !typed {
			// The headers it came with in their AMQP types, as its dead
			// letter keeps them (keepHeaderTypes): an int stays an int,
			// an scst_partition that came as a string a string, for the
			// retried delivery and the dead letter made of it. Within
			// what a dead letter's headers may take of the frame of the
			// connection it goes on (else as text, as without a
			// connection, when the publish fails as well).
			conn, _, cerr := c.bd.pubMgr.get(ctx)
			if cerr == nil {
				typed = true
				keepHeaderTypes(&msg, in.d.Headers, dlMaxHeaderBytes(frameMax(conn)), nil)
			}
		}
		err = c.bd.dlPub.publish(ctx, "", wq, true, msg)
		cancel()
		if err == nil {
			r.ack(in, settleAck)
			return parked
		}
		if isPermanent(err) {
			c.log.Error("rabbit: the broker refuses the failed message's copy for its wait queue; it is dead-lettered (or dropped) now instead of retried", "queue", r.queue, "wait_queue", wq, "error", err, "cause", logtext.Error(dr.Err))
			return parkNever
		}
		if !errors.Is(err, ErrUnroutable) {
			break
		}
		// The wait queue was deleted: declare the topology again, once.
		if derr := r.declareRetryQueues(); derr != nil {
			err = fmt.Errorf("%w; declaring the wait queues again: %w", err, derr)
			break
		}
	}
	c.log.Warn("rabbit: parking a failed message for its retry delay failed; it is requeued and handled again", "queue", r.queue, "wait_queue", wq, "error", err, "cause", logtext.Error(dr.Err))
	return parkLater
}

// declareRetryQueues declares the consumer's wait queues again.
func (r *run) declareRetryQueues() error {
	ctx, cancel := context.WithTimeout(r.ctx, dlPublishTimeout)
	defer cancel()
	var t topology
	r.c.withRetryQueues(&t, r.queue)
	return r.c.declareTopology(t, func(t topology) error { return r.c.bd.pubMgr.declare(ctx, t) })
}
