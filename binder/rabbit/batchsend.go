package rabbit

import (
	"context"
	"encoding/binary"
	"fmt"
	"maps"
	"sync"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/streambind/streambind/stream"
)

// amqpBatchSizeHeader is the header Spring AMQP's SimpleBatchingStrategy
// sets on a batch to the number of its messages (AmqpHeaders.BATCH_SIZE).
const amqpBatchSizeHeader = "amqp_batchSize"

// Defaults of SCSt's producer batching (RabbitProducerProperties).
const (
	DefaultProducerBatchSize   = 100
	DefaultProducerBatchBuffer = 10000
	DefaultProducerBatchWait   = 5 * time.Second
)

// batcher gathers the messages of a producer with batching-enabled: true
// into batches as Spring AMQP's SimpleBatchingStrategy (SCSt's
// BatchingRabbitTemplate) does, one open batch per routing key (so per
// partition), and publishes each released batch as one AMQP message.
//
// A batch is released when it holds batch-size messages, when the next
// message would take its body past batch-buffer-limit (the batch goes
// without it) or it reached that limit, when batch-timeout passed since
// its first message, and on Close. Released batches are published in
// release order by one goroutine (run), on the lane of their routing key,
// so that batches of one routing key are stored in order.
type batcher struct {
	p       *producer
	size    int           // batch-size
	limit   int           // batch-buffer-limit, at most max-message-size
	timeout time.Duration // batch-timeout

	mu      sync.Mutex
	open    map[string]*openBatch // by routing key
	closing bool                  // Close flushed: release every message at once

	// rel carries released batches to run in release order (sent under
	// mu); closed by Close once nothing is in flight.
	rel chan *openBatch
	// ctx bounds the publishes; Close cancels it when its own ctx ends
	// before the batches were confirmed, failing what is left.
	ctx    context.Context
	cancel context.CancelFunc
}

// openBatch is a batch being filled: its messages (the first one's
// properties and headers are the batch's), the bytes their lengths and
// bodies take, and each message's done.
type openBatch struct {
	key   string
	msgs  []amqp.Publishing
	size  int
	dones []func(error)
	start time.Time
	timer *time.Timer
}

func newBatcher(p *producer, size, limit int, timeout time.Duration, maxMessageSize int) *batcher {
	if maxMessageSize > 0 && limit > maxMessageSize {
		// A batch of several messages must fit the broker's limit.
		limit = maxMessageSize
	}
	ctx, cancel := context.WithCancel(context.Background())
	b := &batcher{p: p, size: size, limit: limit, timeout: timeout, open: map[string]*openBatch{},
		rel: make(chan *openBatch, 16), ctx: ctx, cancel: cancel}
	go b.run()
	return b
}

// add puts msg (routing key key) in its key's open batch; done gets the
// result of the publish of the batch that carries it.
func (b *batcher) add(key string, msg amqp.Publishing, done func(error)) {
	use := 4 + len(msg.Body)
	b.mu.Lock()
	defer b.mu.Unlock()
	ob := b.open[key]
	if ob != nil && ob.size+use > b.limit {
		b.release(ob) // full: goes without msg (Spring's)
		ob = nil
	}
	if ob == nil {
		ob = &openBatch{key: key, start: time.Now()}
		b.open[key] = ob
		if !b.closing {
			ob.timer = time.AfterFunc(b.timeout, func() { b.expire(ob) })
		}
	}
	ob.msgs = append(ob.msgs, msg)
	ob.dones = append(ob.dones, done)
	ob.size += use
	if len(ob.msgs) >= b.size || ob.size >= b.limit || b.closing {
		b.release(ob) // a message over the limit goes alone
	}
}

// release takes ob out of the open batches and hands it to run. Call with
// mu held: batches reach run in release order.
func (b *batcher) release(ob *openBatch) {
	if ob.timer != nil {
		ob.timer.Stop()
	}
	delete(b.open, ob.key)
	b.rel <- ob
}

// expire releases ob when batch-timeout passed and it is still open.
func (b *batcher) expire(ob *openBatch) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.open[ob.key] == ob {
		b.release(ob)
	}
}

// flush releases every open batch, and every message added from now on at
// once (Close).
func (b *batcher) flush() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closing = true
	for _, ob := range b.open {
		b.release(ob)
	}
}

// run publishes the released batches in order until rel is closed.
func (b *batcher) run() {
	for ob := range b.rel {
		b.publish(ob)
	}
}

// publish publishes ob as one message, compressed with compress: true,
// without waiting for its confirm (publishAsync: the next batch goes
// behind it on the lane), and reports the result to each of its messages.
func (b *batcher) publish(ob *openBatch) {
	p := b.p
	pub := p.bd.pub
	msg := assembleBatch(ob.msgs, ob.size)
	l := pub.laneFor(stream.Envelope{}, ob.key)
	finish := func(err error) {
		for _, done := range ob.dones {
			done(err)
		}
	}
	if p.gz != nil {
		if err := p.gz.compress(&msg, pub.maxMessageSize); err != nil {
			finish(p.result(b.ctx, l, ob.key, msg, ob.start, err))
			return
		}
	}
	var (
		mu       sync.Mutex
		returned bool
	)
	pub.publishAsync(b.ctx, l, pub.attempt(p.exchange, ob.key, p.opts.mandatory, msg), func(err error) {
		mu.Lock()
		early := !returned
		mu.Unlock()
		if early || err != nil && exchangeNotFound(err, p.exchange) {
			// Not on run's goroutine (a SendAsync's done may add to a
			// batch, and run would wait for itself), nor, when the
			// exchange is declared again and the batch published once
			// more, waiting, on the lane's resolve goroutine.
			go func() { finish(p.result(b.ctx, l, ob.key, msg, ob.start, err)) }()
			return
		}
		finish(p.result(b.ctx, l, ob.key, msg, ob.start, err))
	})
	mu.Lock()
	returned = true
	mu.Unlock()
}

// close ends run once nothing is in flight: at once when the producer's
// Close saw every batch confirmed (ended false), else after cancelling
// the publishes left (Close's ctx ended), which fail their Sends.
func (b *batcher) close(p *producer, ended bool) {
	if !ended {
		b.cancel()
		close(b.rel)
		return
	}
	b.cancel()
	go func() {
		p.inflight.Wait()
		close(b.rel)
	}()
}

// assembleBatch is the message of a batch of msgs, whose lengths and
// bodies take size bytes, as SimpleBatchingStrategy assembles it: a batch
// of one is that message as it is; otherwise the first message's
// properties and headers with springBatchFormat lengthHeader4 and
// amqp_batchSize, and a body of [4-byte big-endian length][body] per
// message.
func assembleBatch(msgs []amqp.Publishing, size int) amqp.Publishing {
	if len(msgs) == 1 {
		return msgs[0]
	}
	m := msgs[0]
	body := make([]byte, 0, size)
	for _, x := range msgs {
		body = binary.BigEndian.AppendUint32(body, uint32(len(x.Body)))
		body = append(body, x.Body...)
	}
	h := make(amqp.Table, len(m.Headers)+2)
	maps.Copy(h, m.Headers)
	h[springBatchFormatHeader] = batchFormatLengthHeader4
	h[amqpBatchSizeHeader] = int32(len(msgs))
	m.Headers, m.Body = h, body
	return m
}

// sendBatched is Send or SendAsync (done) of m on a batching producer:
// m joins its routing key's batch, and done gets the result of the batch's
// publish (Send waits for it, bounded by ctx: a Send whose ctx ended
// returns, and its message still goes with its batch). It ends m's count
// in flight.
func (p *producer) sendBatched(ctx context.Context, m stream.Envelope, done func(error)) {
	fail := func(err error) {
		done(err)
		p.sent()
	}
	key, err := p.routingKey(m)
	if err != nil {
		fail(stream.Permanent(fmt.Errorf("rabbit: send to %q (binding %s): %w", p.spec.Destination, p.spec.Binding, err)))
		return
	}
	msg := toPublishing(m, p.spec.ContentType)
	p.withDeliveryMode(&msg)
	p.warnRoutingHeaders(m)
	// What cannot be published is refused alone, not with the batch it
	// would join (the batch fails as a whole).
	if err := checkPublishing(p.exchange, key, &msg, 0, p.bd.pub.maxMessageSize); err != nil {
		fail(p.result(ctx, nil, key, msg, time.Now(), err))
		return
	}
	p.batch.add(key, msg, func(err error) {
		done(err)
		p.sent()
	})
}

// sendBatchedWait is Send on a batching producer: it waits for the
// confirm of m's batch, bounded by ctx.
func (p *producer) sendBatchedWait(ctx context.Context, m stream.Envelope) error {
	res := make(chan error, 1)
	p.sendBatched(ctx, m, func(err error) { res <- err })
	select {
	case err := <-res:
		return err
	case <-ctx.Done():
		return fmt.Errorf("rabbit: send to %q (binding %s): waiting for the batch's confirm: %w", p.spec.Destination, p.spec.Binding, ctx.Err())
	}
}
