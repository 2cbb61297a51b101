package rabbit

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"strconv"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/streambind/streambind/binder/internal/dlbudget"
	"github.com/streambind/streambind/stream"
)

// OpenDeadLetters implements [stream.DeadLetterStore] over the binding's
// DLQ (consumerDLQ: <destination>.<group>.dlq by default). The cursor consumes that queue on a channel
// of its own without acknowledging, up to the number of messages the queue
// held when it was opened; Remove acknowledges one (the broker deletes
// it), RemoveBatch several (one multiple acknowledgement where no dead
// letter the cursor holds comes before them; the cursor is a
// [stream.DeadLetterBatcher], see NextBatch), each then waiting for the
// broker to confirm what it acknowledged (confirmAcks), and Close (or the loss of
// the connection) returns every other one
// to the queue, where RabbitMQ puts it back in its place. A dead letter's
// ID is its position in the cursor (1, 2, ...), stable while the queue is
// only read. While the cursor is open, the dead letters it holds are not
// delivered to the queue's other consumers.
//
// A quorum queue (dlq-quorum) counts every dead letter the cursor gives
// back as a delivery (RabbitMQ before 4.3), and drops it (or dead-letters
// it through the DLQ's x-dead-letter-exchange) once its x-delivery-count
// passes the queue's delivery limit: read-only listings deleted dead
// letters. Close therefore replaces each dead letter whose return would
// pass the limit by an identical copy at the queue's tail (keepAtLimit).
// The limit is the binding's dlq-quorum.delivery-limit, else 20 (RabbitMQ
// 4's default): AMQP does not show a queue's arguments or policies.
//
// The cursor ends early (io.EOF, with a warning naming how many it did not
// see) when no dead letter arrives for dlqIdle, nor before the answer to
// a round trip on its channel (settle: one on its way over a slow link is
// not the end): dead letters can leave the
// queue after it was opened (another cursor or consumer holds them, a TTL
// expires them), and waiting for the count seen at open would never end.
// The consumer is not tied to ctx: amqp091-go cancels a consumer started
// with a context when that context ends, and that cancel racing Close
// deadlocked the channel (a Ctrl-C hung `streambind dlq`). Close cancels it.
//
// The broker sends the cursor at most a window of dead letters ahead of
// what it removed (a consumer's prefetch; see more), not the whole queue:
// without a prefetch it pushed every dead letter at once, and amqp091-go
// buffers what it receives without bound, so `streambind dlq ls --limit
// 10` on a queue of a million dead letters held all of them in memory.
// The window is a count (RabbitMQ does not implement basic.qos
// prefetch-size), sized from the largest dead letter the cursor has seen
// (the first is read with basic.get before any consumer starts) so that a
// window of them weighs at most dlqWindowBytes (window), and a batch
// (NextBatch) stops there too: a window of 256 dead letters of 4-8 MB
// made `dlq replay --limit 5` hold 3 GB. A dead letter larger than all
// before it can make one window weigh more, once: the next is smaller
// (fill).
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
	c := &rabbitDeadLetters{ch: ch, queue: q, total: st.Messages, consumers: st.Consumers, tag: "streambind-dlq-" + randomID(), idle: dlqIdle, log: b.log,
		limit: dlqDeliveryLimit(dq.args), conns: b.sub, user: b.s.username, budget: b.dlqBytes}
	if c.budget <= 0 {
		c.budget = dlqWindowBytes
	}
	if st.Messages == 0 {
		return c, nil
	}
	// The first dead letter tells what one weighs, for the first window:
	// taken with basic.get (held on the channel, unacknowledged, as a
	// consumer's delivery is; no consumer's window counts it).
	first, ok, err := ch.Get(q, false)
	if err != nil {
		_ = ch.Close()
		return nil, fmt.Errorf("rabbit: queue %s: read the first dead letter: %w", q, err)
	}
	if ok {
		c.largest = deliverySize(&first)
		c.pending = append(c.pending, pendingDL{d: first})
	}
	if err := c.consume(); err != nil {
		_ = ch.Close()
		return nil, err
	}
	return c, nil
}

// dlqWindow is the most dead letters the broker sends a cursor's consumer
// ahead of the reader (its prefetch): a bound on what the cursor buffers.
const dlqWindow = 256

// dlqWindowBytes bounds the bytes of a window (window) and of a batch
// (NextBatch): RabbitMQ counts a prefetch in messages only (basic.qos
// prefetch-size is not implemented), and a dead letter may weigh up to
// the broker's max_message_size (16 MB on RabbitMQ 4, 128 MB on 3.x).
const dlqWindowBytes = dlbudget.Bytes

// window is the prefetch of the cursor's next consumer (dlbudget.Count,
// the rule the Redis cursor's pages follow too): as many dead letters as
// fit in its byte budget when each weighs as much as the largest it has
// seen (deliverySize; the first is read before the first consumer
// starts), from 1 to dlqWindow; 1 before it saw any (the queue was empty
// to the basic.get that read the first).
func (c *rabbitDeadLetters) window() int {
	return dlbudget.Count(c.budget, c.largest, dlqWindow)
}

// deliverySize is about what d takes in memory: its body and its headers
// as encoded (tableSize: an x-exception-stacktrace, x-death).
func deliverySize(d *amqp.Delivery) int {
	h, _ := tableSize(d.Headers) // a header the broker sent encodes
	return max(1, len(d.Body)+h)
}

// took counts d, just taken from the current consumer, as held.
func (c *rabbitDeadLetters) took(d *amqp.Delivery) {
	c.held++
	n := deliverySize(d)
	c.heldBytes += n
	c.largest = max(c.largest, n)
	c.peakBytes = max(c.peakBytes, c.heldBytes)
}

// consumerTag is the tag of the cursor's current consumer.
func (c *rabbitDeadLetters) consumerTag() string { return c.tag + "-" + strconv.Itoa(c.gen) }

// consume starts the cursor's next consumer of the queue, with a prefetch
// of window.
func (c *rabbitDeadLetters) consume() error {
	c.gen++
	c.held, c.heldBytes = 0, 0
	c.win = c.window()
	// Per consumer (global false): a channel-wide prefetch is refused by
	// quorum queues. It applies to the consumers started after it.
	if err := c.ch.Qos(c.win, 0, false); err != nil {
		return fmt.Errorf("rabbit: queue %s: set prefetch: %w", c.queue, err)
	}
	ds, err := c.ch.Consume(c.queue, c.consumerTag(), false, false, false, false, nil)
	if err != nil {
		return fmt.Errorf("rabbit: consume %s: %w", c.queue, err)
	}
	c.ds = ds
	return nil
}

// fill replaces the current consumer by one of a smaller window (more)
// when the dead letters outgrew it (a dead letter larger than those before
// made window smaller): only a full window can be cancelled, and each
// removal lets the broker send the current consumer one more, so a
// replay never fills it by itself. It takes the rest of the window into
// pending first: those deliveries are on their way already (the broker
// sent them as the cursor removed). It waits for each up to idle, and
// only when the queue held enough at open to fill the window.
func (c *rabbitDeadLetters) fill(ctx context.Context) error {
	if c.ds == nil || c.window() >= c.win || c.total-c.read-len(c.pending) < c.win-c.held {
		return nil
	}
	t := time.NewTimer(c.idle)
	defer t.Stop()
	for c.held < c.win {
		select {
		case d, ok := <-c.ds:
			if !ok {
				return nil // Next says so
			}
			c.took(&d)
			c.pending = append(c.pending, pendingDL{d: d, gen: c.gen})
			t.Reset(c.idle)
		case <-t.C:
			return nil // they left the queue: Next waits for the next one
		case <-ctx.Done():
			return nil // Next says so
		}
	}
	return c.more()
}

// more lets the broker send the cursor more dead letters once its consumer
// holds a full window of them unremoved (a listing): the broker sends that
// consumer nothing more, and every delivery it sent has arrived. The
// consumer is cancelled (the dead letters it delivered stay held by the
// channel, unacknowledged, in their places) and a new one gets the next
// window of the queue, in the queue's order, sized (window) from what the
// dead letters read so far weigh. Only a full window is cancelled: a
// delivery the broker sends after the cancel's answer, amqp091-go drops
// (it would stay held, unread, until Close).
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
	// win, its prefetch, and heldBytes what they weigh (deliverySize);
	// pending are deliveries not yet returned by Next, of a cancelled
	// consumer or taken while confirmAcks waited (counted in held then,
	// as the current one's).
	gen       int
	held      int
	win       int
	heldBytes int
	pending   []pendingDL
	// budget bounds what a window and a batch weigh (dlqWindowBytes);
	// largest is the largest dead letter the cursor took, and peakBytes
	// the most heldBytes was.
	budget, largest, peakBytes int
	// consumers is how many consumers the queue had at open.
	consumers int
	// idle is how long Next waits for a dead letter before it takes the
	// read as complete (dlqIdle).
	idle time.Duration
	log  *slog.Logger
	// notSeen is how many dead letters of the count at open the cursor
	// did not get (others held them) when it ended early.
	notSeen int
	// limit is the DLQ's delivery limit (see keepAtLimit); the copies
	// that keep dead letters at it go on a channel of conns, as user (the
	// connection's: the only user-id the broker accepts on a publish).
	limit int64
	conns *connMgr
	user  string
	// low is the position of the oldest dead letter the cursor returned
	// and did not remove (advanceLow): RemoveBatch acknowledges those
	// before it with one multiple acknowledgement.
	low int
}

// heldDL is a dead letter the cursor returned: its delivery tag, and the
// consumer (gen) that delivered it.
type heldDL struct {
	tag  uint64
	gen  int
	size int // deliverySize
	// d is the delivery, kept only when it reached the delivery limit
	// (Close copies it, see keepAtLimit): a listing of a large queue does
	// not hold every body.
	d *amqp.Delivery
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
	if err := c.fill(ctx); err != nil {
		return stream.DeadLetter{}, err
	}
	if len(c.pending) > 0 {
		if c.ch.IsClosed() {
			// The broker gave them back with the channel, as amqp091-go
			// drops what it had not handed out of a closed consumer.
			c.pending = nil
			return stream.DeadLetter{}, c.closedErr()
		}
		p := c.pending[0]
		c.pending = c.pending[1:]
		return c.deliver(&p.d, p.gen), nil
	}
	if c.held >= c.win {
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
		// A dead letter may be on its way still (a large one over a slow
		// link took longer than idle: a listing ended after 1 of 5 dead
		// letters of 600 KB at 200 KB/s, saying others held them): the
		// broker answers a round trip on the channel after the
		// deliveries it sent before (settle).
		if n := len(c.pending); c.settle(ctx) && len(c.pending) > n {
			return c.Next(ctx)
		}
		if c.log != nil {
			c.log.Warn("rabbit: dead-letter queue: fewer dead letters than the queue held at open; they left the queue meanwhile (another consumer or cursor holds them, or a TTL expired them)",
				"queue", c.queue, "read", c.read, "at_open", c.total, "not_seen", c.total-c.read)
		}
		c.notSeen = c.total - c.read
		c.total = c.read
		return stream.DeadLetter{}, io.EOF
	case d, ok := <-c.ds:
		if !ok {
			return stream.DeadLetter{}, c.closedErr()
		}
		c.took(&d)
		return c.deliver(&d, c.gen), nil
	case <-ctx.Done():
		return stream.DeadLetter{}, ctx.Err()
	}
}

// settle takes into pending the deliveries the broker sent the cursor
// before a round trip on its channel (confirmAcks' basic.qos), and those
// handed over within batchGap after its answer (amqp091-go passes a
// delivery on from a goroutine of its own): false when the round trip
// failed.
func (c *rabbitDeadLetters) settle(ctx context.Context) bool {
	if err := c.confirmAcks(ctx); err != nil {
		return false
	}
	t := time.NewTimer(batchGap)
	defer t.Stop()
	for {
		select {
		case d, ok := <-c.ds:
			if !ok {
				return true
			}
			c.took(&d)
			c.pending = append(c.pending, pendingDL{d: d, gen: c.gen})
			t.Reset(batchGap)
		case <-t.C:
			return true
		}
	}
}

func (c *rabbitDeadLetters) closedErr() error {
	return fmt.Errorf("rabbit: queue %s: the channel closed after %d of %d dead letters", c.queue, c.read, c.total)
}

// deliver numbers d, delivered by consumer gen, as the cursor's next dead
// letter.
func (c *rabbitDeadLetters) deliver(d *amqp.Delivery, gen int) stream.DeadLetter {
	c.read++
	id := strconv.Itoa(c.read)
	if c.tags == nil {
		c.tags = map[string]heldDL{}
	}
	h := heldDL{tag: d.DeliveryTag, gen: gen, size: deliverySize(d)}
	if c.atLimit(d) {
		h.d = d
	}
	c.tags[id] = h
	// For a replay: its copy keeps the headers' AMQP types (x-death
	// included, so that the broker counts on): fromDelivery's
	// NativeHeaders.
	env := fromDelivery(d)
	// Its time is DeadLetter.Time (deadLetteredAt); a replay does not
	// carry it.
	delete(env.Headers, headerDeadLetteredAt)
	delete(env.NativeHeaders, headerDeadLetteredAt)
	// And its properties that the envelope does not carry: as SCSt's
	// headers (amqp_contentEncoding ...), which dlq show and tail list and
	// a replay to another binder carries, and natively, which a producer
	// of this binder sends as the properties again.
	if pr := propertiesOf(d); pr != (properties{}) {
		pr = pr.withPropertyHeaders(env.Headers)
		if env.NativeHeaders == nil {
			env.NativeHeaders = make(map[string]any, 1)
		}
		env.NativeHeaders[nativeProperties] = pr
	}
	return stream.DeadLetter{ID: id, Envelope: env, Time: deadLetteredAt(d)}
}

func (c *rabbitDeadLetters) Remove(ctx context.Context, d stream.DeadLetter) error {
	h, ok := c.tags[d.ID]
	if !ok {
		return fmt.Errorf("rabbit: queue %s: no dead letter %s in this cursor", c.queue, d.ID)
	}
	if err := ctx.Err(); err != nil {
		// Not acknowledged: an ack once written cannot be taken back,
		// and confirmAcks would fail it while the broker removes it.
		return fmt.Errorf("rabbit: queue %s: remove dead letter %s: %w", c.queue, d.ID, err)
	}
	delete(c.tags, d.ID)
	if err := c.ch.Ack(h.tag, false); err != nil {
		return fmt.Errorf("rabbit: queue %s: remove dead letter %s: %w", c.queue, d.ID, err)
	}
	if h.gen == c.gen {
		// The broker may send the current consumer one more.
		c.held--
		c.heldBytes -= h.size
	}
	if err := c.confirmAcks(ctx); err != nil {
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

// Close cancels the consumer, keeps the dead letters at the DLQ's
// delivery limit (keepAtLimit) and closes the channel: the broker requeues
// what was not acknowledged. It waits at most dlqCloseTimeout for the
// broker, whatever ctx says (a cancelled command still closes its cursor);
// what it did not acknowledge goes back to the queue when the connection
// closes in any case.
func (c *rabbitDeadLetters) Close(context.Context) error {
	done := make(chan error, 1)
	go func() { done <- c.close() }()
	t := time.NewTimer(dlqCloseTimeout)
	defer t.Stop()
	select {
	case err := <-done:
		return err
	case <-t.C:
		return fmt.Errorf("rabbit: queue %s: closing the dead-letter cursor: no answer from the broker within %s", c.queue, dlqCloseTimeout)
	}
}

func (c *rabbitDeadLetters) close() error {
	var kept error
	if c.ds != nil {
		// Cancel first: no new deliveries while the channel closes. The
		// channel holds, besides what Next returned, what the broker sent
		// ahead (the window) that Next did not read: amqp091-go hands it
		// out, then closes ds. A cancel that failed (the channel closed)
		// leaves nothing held.
		if err := c.ch.Cancel(c.consumerTag(), false); err == nil {
			unread := make([]*amqp.Delivery, 0, len(c.pending))
			for i := range c.pending {
				unread = append(unread, &c.pending[i].d)
			}
			for d := range c.ds {
				unread = append(unread, &d)
			}
			kept = c.keepAtLimit(unread)
		}
	}
	err := c.ch.Close()
	if errors.Is(err, amqp.ErrClosed) {
		err = nil
	}
	return errors.Join(kept, err)
}

// defaultDeliveryLimit is the delivery limit RabbitMQ 4.0 and later give a
// quorum queue that sets none (4.0 to 4.2 count every return of a message
// toward it, 4.3 and later only rejections). The cursor assumes it when the
// binding's configuration sets none: the queue's own limit, or a policy's,
// cannot be read over AMQP.
const defaultDeliveryLimit = 20

// dlqDeliveryLimit is the DLQ's delivery limit: its x-delivery-limit
// (dlq-quorum.delivery-limit), else defaultDeliveryLimit.
func dlqDeliveryLimit(args amqp.Table) int64 {
	if n, ok := args["x-delivery-limit"].(int32); ok {
		return int64(n)
	}
	return defaultDeliveryLimit
}

// deliveryCount is how often a quorum queue delivered d before (its
// x-delivery-count; x-acquired-count on RabbitMQ 4.0 to 4.2, which count
// every return there): 0 for a classic queue's message, which carries
// neither unless its publisher set one.
func deliveryCount(d *amqp.Delivery) int64 {
	var n int64
	for _, k := range []string{"x-delivery-count", "x-acquired-count"} {
		if v, ok := headerInt(d.Headers[k]); ok && v > n {
			n = v
		}
	}
	return n
}

func headerInt(v any) (int64, bool) {
	switch x := v.(type) {
	case int8:
		return int64(x), true
	case int16:
		return int64(x), true
	case int32:
		return int64(x), true
	case int64:
		return x, true
	case uint8:
		return int64(x), true
	case uint16:
		return int64(x), true
	case uint32:
		return int64(x), true
	case int:
		return int64(x), true
	}
	return 0, false
}

// atLimit reports whether returning d to the queue would reach the DLQ's
// delivery limit: a quorum queue counts a message given back (a channel
// closed, a consumer cancelled) as a delivery on RabbitMQ before 4.3, and
// drops the message (or dead-letters it through the DLQ's
// x-dead-letter-exchange) once its count passes the limit. Measured on
// 3.10: with x-delivery-limit 2, the delivery with x-delivery-count 2 is
// the last.
func (c *rabbitDeadLetters) atLimit(d *amqp.Delivery) bool {
	return deliveryCount(d) >= c.limit
}

// keepAtLimit keeps the dead letters the cursor holds whose return would
// reach the DLQ's delivery limit, so that reading a DLQ never loses one
// (a listing of a quorum DLQ with dlq-quorum.delivery-limit 2 dropped
// every dead letter on its third run): it publishes an identical copy of
// each to the queue (its properties, its headers with their AMQP types,
// its body; without the broker's x-delivery-count, as a new message has
// none), waits for the broker's confirm, and only then acknowledges the
// original. The copy joins the queue's tail, delivered 0 times. Killed in
// between, the dead letter is in the queue twice, never lost. It looks at
// the dead letters Next returned and the cursor did not remove (kept by
// deliver), then unread: those the broker sent ahead, in the queue's
// order.
func (c *rabbitDeadLetters) keepAtLimit(unread []*amqp.Delivery) error {
	type atL struct {
		id string // "" for one Next did not return
		d  *amqp.Delivery
	}
	var at []atL
	for i := 1; i <= c.read; i++ {
		id := strconv.Itoa(i)
		if h, ok := c.tags[id]; ok && h.d != nil {
			at = append(at, atL{id, h.d})
		}
	}
	for _, d := range unread {
		if c.atLimit(d) {
			at = append(at, atL{"", d})
		}
	}
	if len(at) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), dlqCloseTimeout)
	defer cancel()
	ch, err := c.conns.bindChannel(ctx)
	if err == nil {
		defer ch.Close()
		err = ch.Confirm(false)
	}
	if err != nil {
		return fmt.Errorf("rabbit: queue %s: %d dead letters reached the queue's delivery limit (%d) through reads and could not be kept: the broker drops them (or dead-letters them through the queue's x-dead-letter-exchange) as the cursor closes: open a channel to copy them: %w",
			c.queue, len(at), c.limit, err)
	}
	returns := ch.NotifyReturn(make(chan amqp.Return, 1))
	var lost []error
	kept := 0
	for _, a := range at {
		what := "dead letter " + a.id
		if a.id == "" {
			what = "an unread dead letter (message_id " + strconv.Quote(a.d.MessageId) + ")"
		}
		if err := c.copyBack(ctx, ch, returns, a.d); err != nil {
			lost = append(lost, fmt.Errorf("%s: %w", what, err))
			continue
		}
		if err := c.ch.Ack(a.d.DeliveryTag, false); err != nil {
			// The copy is in the queue; the original went back with the
			// channel, and the broker drops it at the limit.
			c.logWarn("rabbit: dead-letter queue: a dead letter at the delivery limit was copied but its original not acknowledged; the broker drops the original (or dead-letters it through the queue's x-dead-letter-exchange)", "what", what, "error", err)
		}
		kept++
	}
	if kept > 0 {
		c.logWarn("rabbit: dead-letter queue: dead letters reached the queue's delivery limit through reads (a quorum queue counts each read given back as a delivery); each was replaced by an identical copy at the queue's tail so that the broker does not drop it",
			"queue", c.queue, "delivery_limit", c.limit, "moved", kept)
	}
	if len(lost) > 0 {
		return fmt.Errorf("rabbit: queue %s: %d dead letters reached the queue's delivery limit (%d) through reads and could not be kept: the broker drops them (or dead-letters them through the queue's x-dead-letter-exchange) as the cursor closes: %w",
			c.queue, len(lost), c.limit, errors.Join(lost...))
	}
	return nil
}

// copyBack publishes an identical copy of d to the cursor's queue on ch
// (in confirm mode; returns is its NotifyReturn) and waits for the
// broker's confirm.
func (c *rabbitDeadLetters) copyBack(ctx context.Context, ch *amqp.Channel, returns <-chan amqp.Return, d *amqp.Delivery) error {
	h := maps.Clone(d.Headers)
	// The broker's counts: the copy is a message delivered 0 times.
	delete(h, "x-delivery-count")
	delete(h, "x-acquired-count")
	// Routing headers the broker kept when it dead-lettered the message:
	// on the default exchange they would put a copy into the queues they
	// name too (a message sent to queue "work" with CC ["audit"]).
	delete(h, "CC")
	delete(h, "BCC")
	user := d.UserId
	if user != c.user {
		user = "" // the broker refuses a publish with another user's user-id
	}
	conf, err := ch.PublishWithDeferredConfirmWithContext(ctx, "", c.queue, true, false, amqp.Publishing{
		Headers: h, ContentType: d.ContentType, ContentEncoding: d.ContentEncoding, DeliveryMode: d.DeliveryMode,
		Priority: d.Priority, CorrelationId: d.CorrelationId, ReplyTo: d.ReplyTo, Expiration: d.Expiration,
		MessageId: d.MessageId, Timestamp: d.Timestamp, Type: d.Type, UserId: user, AppId: d.AppId, Body: d.Body,
	})
	if err != nil {
		return fmt.Errorf("copy: %w", err)
	}
	ok, err := conf.WaitContext(ctx)
	if err != nil {
		return fmt.Errorf("copy: waiting for the broker's confirm: %w", err)
	}
	if !ok {
		return errors.New("copy: the broker refused it (nack)")
	}
	// A basic.return comes before the confirm of its message.
	select {
	case r := <-returns:
		return fmt.Errorf("copy: unroutable (%d %s): the queue is gone", r.ReplyCode, r.ReplyText)
	default:
	}
	return nil
}

func (c *rabbitDeadLetters) logWarn(msg string, args ...any) {
	if c.log != nil {
		c.log.Warn(msg, args...)
	}
}

// headerDeadLetteredAt is when the binder republished a dead letter
// (republish-to-dlq), Unix milliseconds as decimal text: the dead letter
// keeps the original's timestamp property, as SCSt's does, so its time
// (streambind dlq ls, --since/--until: deadLetteredAt) travels here. The
// binder's DeadLetterStore reads it into DeadLetter.Time and drops it (a
// replay does not carry it).
const headerDeadLetteredAt = "x-streambind-dead-lettered-at"

// headerOriginalExpiration is the expiration property (a TTL in
// milliseconds, as text) of the message a republished dead letter was
// made of. SCSt's republished dead letter keeps the property itself
// (Spring AMQP republishes the received MessageProperties), so that the
// dead letter expires from the DLQ with the original's TTL and is
// dropped without a trace, however long it was meant to be kept for
// inspection or replay; RabbitMQ's own dead-lettering removes the
// property for that reason (rabbitmq-server#18, since 3.1.2) and keeps
// the value as x-death's original-expiration. The binder's dead letter,
// like the broker's, has no expiration, and keeps the value here, where
// the broker's dead-lettering cannot reach it: a dead letter made of a
// message without expiration keeps the header its message came with (an
// earlier dead-lettering's, the DLQ's TTL having sent it back, or that of
// a retry-delays copy, which has no expiration either: retryLater). Written
// after fitting, as x-streambind-dead-lettered-at (a few bytes within
// the headroom), never cut; a producer's publish drops one its message
// came with (publisher.attempt), so that only dead-lettering writes it.
const headerOriginalExpiration = "x-streambind-original-expiration"

// deadLetteredAt is when d was dead-lettered: the later of the time of
// its latest x-death entry (x-death[0]), written when the broker
// dead-lettered it (republish-to-dlq: false), and the time the binder
// wrote in its x-streambind-dead-lettered-at header when it republished
// it (republish-to-dlq; the dead letter keeps the original's timestamp
// property, as SCSt's does) or, without that header, its timestamp
// property, which a binder of before 2026-12-07 set to the time it
// republished it. The later, as a republished dead letter keeps the
// x-death entries of the broker's earlier dead-letterings (a wait
// queue's, a DLQ's TTL), and a message the broker dead-lettered keeps the
// timestamp its producer gave it (and the header of an earlier
// dead-lettering, when it was moved back as it was); zero when none says
// (a dead letter put in the DLQ by another tool).
func deadLetteredAt(d *amqp.Delivery) time.Time {
	at := d.Timestamp
	if v, ok := d.Headers[headerDeadLetteredAt]; ok {
		if ms, err := strconv.ParseInt(headerString(v), 10, 64); err == nil && ms > 0 {
			at = time.UnixMilli(ms)
		}
	}
	if xs, ok := d.Headers["x-death"].([]any); ok && len(xs) > 0 {
		if x, ok := xs[0].(amqp.Table); ok {
			if t, ok := x["time"].(time.Time); ok && t.After(at) {
				at = t
			}
		}
	}
	return at
}
