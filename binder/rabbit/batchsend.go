package rabbit

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"sync"
	"sync/atomic"
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

// maxReleased bounds the batches released and not yet taken by run (the
// publishes of a blocked connection, a full confirm window or a channel
// being opened again hold run up): a Send or SendAsync that would start a
// batch while that many wait, waits for room, bounded by its ctx. Batches
// released by batch-timeout or Close do not wait, so at most maxReleased
// plus one per routing key are ever waiting.
const maxReleased = 16

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
//
// mu is never held while waiting: released batches are queued in
// released (bounded by maxReleased, see add), and run is woken through
// wake.
type batcher struct {
	p       *producer
	size    int           // batch-size
	limit   int           // batch-buffer-limit, at most max-message-size
	timeout time.Duration // batch-timeout
	// batchHeaders is what the headers a batch adds (springBatchFormat,
	// amqp_batchSize) take at most in its header frame.
	batchHeaders int
	// fm is the frame_max of the last connection seen (0: none yet).
	fm atomic.Int64

	mu      sync.Mutex
	open    map[string]*openBatch // by routing key
	closing bool                  // Close flushed: release every message at once
	// released are the batches released and not yet taken by run, in
	// release order.
	released []*openBatch
	// room is closed (and replaced) when run takes a batch while
	// maxReleased or more were waiting.
	room chan struct{}
	// ended: Close saw nothing more in flight; run returns once released
	// is empty.
	ended bool

	// wake tells run that released grew or ended was set (buffer 1).
	wake chan struct{}
	// runDone is closed when run returned.
	runDone chan struct{}
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
	bh, _ := tableSize(amqp.Table{springBatchFormatHeader: batchFormatLengthHeader4, amqpBatchSizeHeader: int32(0)})
	ctx, cancel := context.WithCancel(context.Background())
	b := &batcher{p: p, size: size, limit: limit, timeout: timeout, batchHeaders: bh, open: map[string]*openBatch{},
		room: make(chan struct{}), wake: make(chan struct{}, 1), runDone: make(chan struct{}), ctx: ctx, cancel: cancel}
	go b.run()
	return b
}

// frameMax is the negotiated frame_max of the publisher's connection now
// (read on each call: a connection made again, maybe to another node, may
// have another), or of the last one seen when there is none (0 before the
// first).
func (b *batcher) frameMax() int {
	m := b.p.bd.pub.mgr
	m.mu.Lock()
	c := m.conn
	m.mu.Unlock()
	if c == nil {
		return int(b.fm.Load())
	}
	fm := frameMax(c)
	b.fm.Store(int64(fm))
	return fm
}

// add puts msg (routing key key) in its key's open batch; done gets the
// result of the publish of the batch that carries it. When msg would start
// a batch while maxReleased batches wait for run, add waits for room; it
// returns ctx's error (msg joined no batch, done is not called) when ctx
// ends first.
func (b *batcher) add(ctx context.Context, key string, msg amqp.Publishing, done func(error)) error {
	use := 4 + len(msg.Body)
	b.mu.Lock()
	defer b.mu.Unlock()
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		ob := b.open[key]
		if len(b.released) < maxReleased || ob != nil && ob.size+use < b.limit && len(ob.msgs)+1 < b.size && !b.closing {
			break // releases nothing, or room for what it releases
		}
		room := b.room
		b.mu.Unlock()
		select {
		case <-room:
		case <-ctx.Done():
		}
		b.mu.Lock()
	}
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
	return nil
}

// release takes ob out of the open batches and queues it for run. Call
// with mu held: batches reach run in release order. It does not wait.
func (b *batcher) release(ob *openBatch) {
	if ob.timer != nil {
		ob.timer.Stop()
	}
	delete(b.open, ob.key)
	if b.ended {
		// Not expected (Close ends run only with nothing in flight);
		// failed rather than left without a result.
		err := fmt.Errorf("rabbit: send to %q: producer %w", b.p.spec.Destination, stream.ErrClosed)
		go func() {
			for _, done := range ob.dones {
				done(err)
			}
		}()
		return
	}
	b.released = append(b.released, ob)
	b.signal()
}

// signal wakes run.
func (b *batcher) signal() {
	select {
	case b.wake <- struct{}{}:
	default:
	}
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

// run publishes the released batches in order until ended is set and
// none is left.
func (b *batcher) run() {
	defer close(b.runDone)
	for {
		b.mu.Lock()
		for len(b.released) == 0 {
			if b.ended {
				b.mu.Unlock()
				return
			}
			b.mu.Unlock()
			<-b.wake
			b.mu.Lock()
		}
		ob := b.released[0]
		b.released[0] = nil
		b.released = b.released[1:]
		if len(b.released) == maxReleased-1 {
			close(b.room)
			b.room = make(chan struct{})
		}
		b.mu.Unlock()
		b.publish(ob)
	}
}

// publish publishes ob as one message, compressed with compress: true,
// without waiting for its confirm (publishAsync: the next batch goes
// behind it on the lane), and reports the result to each of its messages.
// A batch of several messages that is too large for the broker (gzip made
// incompressible bodies larger than max-message-size; the first message's
// headers with the batch's own over frame_max) is split in two halves,
// published one after the other (each split again as needed): each
// message alone was checked by sendBatched.
func (b *batcher) publish(ob *openBatch) {
	b.publishPart(ob, ob.msgs, ob.dones, ob.size)
}

func (b *batcher) publishPart(ob *openBatch, msgs []amqp.Publishing, dones []func(error), size int) {
	p := b.p
	pub := p.bd.pub
	msg := assembleBatch(msgs, size)
	l := pub.laneFor(stream.Envelope{}, ob.key)
	finish := func(err error) {
		for _, done := range dones {
			done(err)
		}
	}
	var err error
	if p.gz != nil {
		err = p.gz.compress(&msg, pub.maxMessageSize)
	}
	if err == nil && !pub.skipChecks {
		err = checkPublishing(p.exchange, ob.key, &msg, b.frameMax(), pub.maxMessageSize)
	}
	if err != nil {
		if len(msgs) > 1 && errors.Is(err, ErrTooLarge) {
			h := len(msgs) / 2
			first := 0
			for _, m := range msgs[:h] {
				first += 4 + len(m.Body)
			}
			b.publishPart(ob, msgs[:h], dones[:h], first)
			b.publishPart(ob, msgs[h:], dones[h:], size-first)
			return
		}
		finish(p.result(b.ctx, l, ob.key, msg, ob.start, err))
		return
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
// Close saw every batch confirmed (ctxEnded false), else after cancelling
// the publishes left (Close's ctx ended), which fail their Sends.
func (b *batcher) close(p *producer, ctxEnded bool) {
	b.cancel()
	if !ctxEnded {
		b.end()
		return
	}
	go func() {
		p.inflight.Wait()
		b.end()
	}()
}

// end lets run return once no released batch is left.
func (b *batcher) end() {
	b.mu.Lock()
	b.ended = true
	b.mu.Unlock()
	b.signal()
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
// publish, or ctx's error when ctx ends first (m may then still go with its
// batch: at least once). It ends m's count in flight once m's batch
// has its result, or at once when m joined none.
func (p *producer) sendBatched(ctx context.Context, m stream.Envelope, done func(error)) {
	var reported atomic.Bool
	report := func(err error) {
		if reported.CompareAndSwap(false, true) {
			done(err)
		}
	}
	stop := context.AfterFunc(ctx, func() {
		report(fmt.Errorf("rabbit: send to %q (binding %s): waiting for the batch's confirm: %w", p.spec.Destination, p.spec.Binding, ctx.Err()))
	})
	fail := func(err error) {
		stop()
		report(err)
		p.sent()
	}
	key, err := p.routingKey(m)
	if err != nil {
		fail(stream.Permanent(fmt.Errorf("rabbit: send to %q (binding %s): %w", p.spec.Destination, p.spec.Binding, err)))
		return
	}
	text := toPublishing(m, p.spec.ContentType)
	p.withDeliveryMode(&text)
	p.warnRoutingHeaders(m)
	// The envelope's typed header values go in their AMQP types as Send
	// sends them (withNativeHeaders). Only the first message's headers are
	// the batch's (SimpleBatchingStrategy), so they matter for a batch's
	// first message and a batch of one.
	msg, typed := p.withNativeHeaders(text, m.NativeHeaders)
	// What cannot be published is refused alone, not with the batch it
	// would join (the batch fails as a whole): checked as the unbatched
	// path checks it (frame_max, max-message-size), with gzip's
	// content_encoding and header when compressed. A message that fits
	// alone but not with the headers a batch adds goes in a batch of its
	// own (publishPart). A message whose typed headers are refused goes
	// with its headers as text, as Send sends it.
	err = p.checkBatched(key, msg)
	if err != nil && typed && typedRefused(err) {
		typedErr := err
		if err = p.checkBatched(key, text); err == nil {
			msg = text
			sentAsText := fail
			fail = func(err error) {
				if err == nil {
					p.warnSentAsText(text, typedErr)
				}
				sentAsText(err)
			}
		}
	}
	if err != nil {
		fail(p.result(ctx, nil, key, msg, time.Now(), err))
		return
	}
	if err := p.batch.add(ctx, key, msg, fail); err != nil {
		fail(fmt.Errorf("rabbit: send to %q (binding %s): waiting for room to batch it (%d batches wait for the broker): %w", p.spec.Destination, p.spec.Binding, maxReleased, err))
	}
}

// checkBatched checks msg, a message to batch with routing key key, as
// publishPart would check it published alone: with gzip's content_encoding
// and header (markGzipped) when compressed, its body before compression.
func (p *producer) checkBatched(key string, msg amqp.Publishing) error {
	if p.gz != nil {
		msg.Headers = maps.Clone(msg.Headers)
		if err := markGzipped(&msg); err != nil {
			return err
		}
	}
	return checkPublishing(p.exchange, key, &msg, p.batch.frameMax(), p.bd.pub.maxMessageSize)
}

// sendBatchedWait is Send on a batching producer: it waits for the
// confirm of m's batch, bounded by ctx.
func (p *producer) sendBatchedWait(ctx context.Context, m stream.Envelope) error {
	res := make(chan error, 1)
	p.sendBatched(ctx, m, func(err error) { res <- err })
	return <-res
}
