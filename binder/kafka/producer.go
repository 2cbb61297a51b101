package kafka

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	kafkago "github.com/segmentio/kafka-go"

	"github.com/streambind/streambind/binder/internal/lifecycle"
	"github.com/streambind/streambind/stream"
)

// producer is a producer binding. Sends from any number of goroutines are
// queued; one loop goroutine (see produceloop.go) spreads them over
// per-partition queues and sends, for each broker, the batches of all its
// partitions that have no batch in flight as one produce request; several
// requests may be in flight per broker, one batch per partition, so that
// order per partition is kept even when a batch is retried. A lone send
// goes out at once (no linger unless batch-timeout is set); concurrent
// sends share requests (natural batching).
type producer struct {
	bd          *Binder
	topic       string
	binding     string
	contentType string
	ctBytes     []byte // contentType, shared by every record
	// noHeaders: producer.header-mode none. The records carry no
	// headers at all, not even the binder's contentType and id, as SCSt's
	// Kafka binder sends them without a header mapper then.
	noHeaders bool
	ps        producerSettings
	need      int // partitions the topic needs (see provision)
	parts     int // partitions the topic had at bind (PartitionCount)
	addr      net.Addr
	log       *slog.Logger

	mu      sync.Mutex
	pending []*sendReq
	closed  bool
	wake    chan struct{} // capacity 1
	stop    chan struct{} // closed by Close: the loop drains and exits
	done    chan struct{} // closed when the loop exited
	// abort ends the requests in flight and fails what is queued when
	// Close runs out of time.
	abortCtx context.Context
	abort    context.CancelFunc
	// waiting counts the sends queued whose callers wait for their
	// outcome: a Send until it returns, a SendAsync until its done ran.
	// It grows only while the producer is open (enqueue, under mu), so
	// once closed, none means that an abort fails nothing anyone waits
	// for (shutdown).
	waiting atomic.Int64

	// refusal is why the last write that said anything about the
	// destination failed: the broker refused the topic or the client (see
	// refused; a missing topic included); nil once a write succeeded.
	refMu   sync.Mutex
	refusal error

	// idMu guards idRand: crypto/rand read 4 KiB at a time, rather than
	// a read (a system call) per record id.
	idMu   sync.Mutex
	idRand *bufio.Reader

	// onQueued, when set (by tests, before the first send), is called
	// after each send was queued.
	onQueued func()
}

type sendReq struct {
	msg  kafkago.Message
	size int
	// alone: the record goes in a batch of its own (after a size refusal
	// of the batch it was in).
	alone bool
	// recreated: the topic was created again once for this record.
	recreated bool
	// unsettled: a round trip that carried the record failed, and
	// kafka-go's connection may still be encoding that request (it
	// returns on the context's end without waiting for the write): r is
	// never cleared or pooled again, only left to the garbage collector.
	unsettled bool
	// abandoned: the Send that made r returned when its ctx ended, before
	// the broker's acknowledgement. Such a record is not sent after that:
	// a batch taken from the queue leaves it out (see partQ.take), and a
	// failed batch is retried without it (see loop.complete). No one waits
	// for it, and the caller, told that the send failed, sends again (the
	// core redelivers the input), so that writing it after that would be a
	// duplicate, and retrying it would hold up the partition's next sends.
	// One already in a request in flight may still be written.
	abandoned atomic.Bool
	done      chan error // capacity 1
	// cb is SendAsync's done; nil for Send, which waits on done.
	cb func(error)
	// Buffers of the record's headers and id (see record); 9 headers:
	// a function's output carries its input's (contentType, id, ...) plus
	// the ones the core and the binder add, and spring_json_header_types.
	hs  [9]kafkago.Header
	id  [36]byte
	raw [16]byte
	// types is the buffer of the record's spring_json_header_types
	// header (appendJSONTypes), kept across uses of r: no allocation
	// once it fits the binding's usual headers.
	types []byte
}

var _ stream.AsyncProducer = (*producer)(nil)

var sendReqPool = sync.Pool{New: func() any { return &sendReq{done: make(chan error, 1)} }}

// release returns r to the pool, keeping no reference to the message;
// an unsettled r is dropped instead.
func (r *sendReq) release() {
	if r.unsettled {
		return
	}
	r.msg = kafkago.Message{}
	r.cb = nil
	clear(r.hs[:])
	sendReqPool.Put(r)
}

func (bd *Binder) newProducer(spec stream.ProducerSpec, ps producerSettings, need int) *producer {
	log := spec.Logger // the core's carries the binding's attributes
	if log == nil {
		log = bd.log.With("binding", spec.Binding, "destination", spec.Destination)
	}
	p := &producer{
		bd:          bd,
		topic:       spec.Destination,
		binding:     spec.Binding,
		contentType: spec.ContentType,
		ps:          ps,
		need:        need,
		log:         log,
		ctBytes:     []byte(spec.ContentType),
		noHeaders:   spec.Producer.HeaderMode == stream.HeaderModeNone,
		addr:        kafkago.TCP(bd.st.brokers...),
		idRand:      bufio.NewReaderSize(rand.Reader, 4096),
		wake:        make(chan struct{}, 1),
		stop:        make(chan struct{}),
		done:        make(chan struct{}),
	}
	p.abortCtx, p.abort = context.WithCancel(context.Background())
	go p.run()
	return p
}

// newWriter returns the kafka-go Writer behind a dead-letter producer. Its
// own batch timer is a formality: every WriteMessages call carries a whole
// batch, so the timer only hands the batch over.
func (bd *Binder) newWriter(topic string, ps producerSettings) *kafkago.Writer {
	return &kafkago.Writer{
		Addr:            kafkago.TCP(bd.st.brokers...),
		Topic:           topic,
		Balancer:        &balancer{},
		MaxAttempts:     ps.sendAttempts,
		WriteBackoffMin: 50 * time.Millisecond,
		WriteBackoffMax: time.Second,
		BatchSize:       ps.batchSize,
		BatchBytes:      int64(ps.batchBytes),
		BatchTimeout:    time.Microsecond,
		ReadTimeout:     ps.writeTimeout,
		WriteTimeout:    ps.writeTimeout,
		RequiredAcks:    ps.acks,
		Compression:     ps.compression,
		Transport:       bd.transport,
		ErrorLogger:     kafkago.LoggerFunc(func(f string, a ...any) { bd.log.Debug("kafka-go: " + bd.logErr(fmt.Errorf(f, a...))) }),
	}
}

// balancer picks the partition: the one in the message's WriterData (from
// the scst_partition header or a dead letter's source partition) when it
// exists — modulo the partition count otherwise —, else by key (murmur2,
// as Kafka's Java client does), else round robin.
type balancer struct {
	rr  kafkago.RoundRobin
	key kafkago.Murmur2Balancer
}

func (b *balancer) Balance(msg kafkago.Message, partitions ...int) int {
	if p, ok := msg.WriterData.(int); ok && p >= 0 && len(partitions) > 0 {
		for _, q := range partitions {
			if q == p {
				return p
			}
		}
		return partitions[p%len(partitions)]
	}
	if len(msg.Key) > 0 {
		return b.key.Balance(msg, partitions...)
	}
	return b.rr.Balance(msg, partitions...)
}

// newID writes a random (version 4) UUID in its text form to dst, for a
// record's id header; raw is scratch space.
func (p *producer) newID(dst *[36]byte, raw *[16]byte) {
	p.idMu.Lock()
	_, err := io.ReadFull(p.idRand, raw[:])
	p.idMu.Unlock()
	if err != nil {
		*raw = uuid.New() // crypto/rand does not fail; if it did, this panics as uuid.New does
	}
	raw[6] = raw[6]&0x0f | 0x40 // version 4
	raw[8] = raw[8]&0x3f | 0x80 // RFC 4122 variant
	hex.Encode(dst[0:8], raw[0:4])
	dst[8] = '-'
	hex.Encode(dst[9:13], raw[4:6])
	dst[13] = '-'
	hex.Encode(dst[14:18], raw[6:8])
	dst[18] = '-'
	hex.Encode(dst[19:23], raw[8:10])
	dst[23] = '-'
	hex.Encode(dst[24:], raw[10:])
}

// record turns an envelope into r's Kafka message: headers (plus
// contentType and id when missing; none under header-mode none), key,
// partition. It fails only when the
// binding's message-key-expression cannot be evaluated on m. The headers
// and the id use r's own buffers when they fit (r is pooled: no
// allocation per record).
func (p *producer) record(r *sendReq, m stream.Envelope) error {
	var hs []kafkago.Header
	if !p.noHeaders {
		hs = p.headers(r, m)
	} // else no headers at all; the partition (below) is still selected
	// The record key is the message's key (or message-key-expression's):
	// a header named key is a header only, as in SCSt.
	key := m.Key
	if p.ps.keyExpr != nil {
		k, err := p.ps.keyExpr.key(m)
		if err != nil {
			return err
		}
		key = k
	}
	r.msg = kafkago.Message{Key: key, Value: m.Payload, Headers: hs, Time: time.Now()}
	if s := m.Headers[stream.HeaderPartition]; s != "" {
		if n, err := strconv.Atoi(s); err == nil && n >= 0 {
			r.msg.WriterData = n
		}
	}
	return nil
}

// headers returns the record headers of m: its own (those its
// header-patterns write), plus contentType (if they write it) and id when
// missing, in r's buffers when they fit.
func (p *producer) headers(r *sendReq, m stream.Envelope) []kafkago.Header {
	hs := r.hs[:0]
	if n := len(m.Headers) + 3; n > len(r.hs) {
		hs = make([]kafkago.Header, 0, n)
	}
	var kept map[string]string // headers written in their Java class (javaTyped)
	hp := p.ps.headerPatterns
	for k, v := range m.Headers {
		if k == headerJSONTypes {
			continue // ours, below, lists what the record carries
		}
		if hp != nil && !hp.writes(k) {
			continue // header-patterns leaves it out
		}
		if m.NativeHeaders != nil {
			jt, typed := keptJavaType(m.NativeHeaders, k, v)
			if typed {
				// A Java producer's Integer, Boolean, ... passed through
				// unchanged: its class again, as SCSt passes the object.
				if kept == nil {
					kept = make(map[string]string)
				}
				kept[k] = jt.class
			}
			if repeated(m.NativeHeaders, k, v) != nil {
				// A header its record had more than once, in the
				// envelope as it was read (a dead letter's replay; a
				// function's output carries one value): every value, as
				// it was, as the dead letter has them.
				hs = appendHeader(hs, m.NativeHeaders, k, v)
				continue
			}
			if typed {
				hs = append(hs, kafkago.Header{Key: k, Value: jt.raw})
				continue
			}
		}
		b := p.ctBytes
		if v != p.contentType {
			b = []byte(v)
		} // else the binding's content type (the usual one): shared, no copy
		hs = append(hs, kafkago.Header{Key: k, Value: b})
	}
	if m.Headers[stream.HeaderContentType] == "" && p.contentType != "" && hp.writes(stream.HeaderContentType) {
		// Shared by every record: the encoder only reads it.
		hs = append(hs, kafkago.Header{Key: stream.HeaderContentType, Value: p.ctBytes})
	}
	if m.Headers[stream.HeaderID] == "" {
		p.newID(&r.id, &r.raw)
		hs = append(hs, kafkago.Header{Key: stream.HeaderID, Value: r.id[:]})
	}
	// The Java types of the headers, so that a Java SCSt consumer reads
	// them as Strings rather than byte[] (jsontypes.go).
	hs, r.types = appendJSONTypesKept(hs, r.types, kept)
	return hs
}

// AppliesHeaderMode tells the core that the producer applies
// producer.header-mode none itself (stream.HeaderModeApplier): it gets the
// message's headers, for message-key-expression, and writes none.
func (p *producer) AppliesHeaderMode() bool { return true }

// PartitionCount is the topic's partition count at bind, at least
// partition-count: the core selects among all of them (stream.PartitionCounter).
func (p *producer) PartitionCount() int { return p.parts }

// Send queues m and waits until the broker acknowledged it (with
// required-acks), the write failed, or ctx ended.
func (p *producer) Send(ctx context.Context, m stream.Envelope) error {
	m.LoadHeaders() // a received message's lazy headers, passed on (stream.LazyHeaders)
	r, err := p.enqueue(m, nil)
	if err != nil {
		return err
	}
	defer p.waiting.Add(-1)
	select {
	case err := <-r.done:
		r.release()
		return p.sendErr(err)
	case <-ctx.Done():
		// r is still owned by the loop; it is not returned to the pool.
		r.abandoned.Store(true)
		return fmt.Errorf("kafka: send to %s: no acknowledgement from the broker (the record may still have been written): %w", p.topic, ctx.Err())
	}
}

// SendAsync is Send without waiting (stream.AsyncProducer, pipelined
// processing): m takes the same way through the produce loop as a Send
// (same record, size check, per-partition queue, retries, outage
// handling), and done gets what Send would have returned, on the loop's
// goroutine or a request's (or on the caller's, for a message refused
// before it was queued). Messages SendAsync'ed one after another are
// stored in that order per partition: the loop keeps one batch in flight
// per partition and retries a failed batch before anything behind it.
// It does not block: what bounds the records queued is the callers'
// window (consumer.max-in-flight per input partition). A ctx that ended
// before m was queued fails it; once queued, m is written or fails as a
// Send's would (bounded by write-timeout and send-attempts, or Close).
func (p *producer) SendAsync(ctx context.Context, m stream.Envelope, done func(error)) {
	m.LoadHeaders() // a received message's lazy headers, passed on (stream.LazyHeaders)
	if err := ctx.Err(); err != nil {
		done(fmt.Errorf("kafka: send to %s: %w", p.topic, err))
		return
	}
	if _, err := p.enqueue(m, done); err != nil {
		done(err)
	}
}

// enqueue turns m into a pooled request and queues it for the loop; cb is
// SendAsync's done (nil for Send). On an error nothing was queued.
func (p *producer) enqueue(m stream.Envelope, cb func(error)) (*sendReq, error) {
	r := sendReqPool.Get().(*sendReq)
	if err := p.record(r, m); err != nil {
		r.release()
		// The message cannot be keyed, and never will be: dead-lettered
		// (or dropped) by the core rather than retried.
		return nil, stream.Permanent(fmt.Errorf("kafka: send to %s: %w", p.topic, err))
	}
	if size := recordSize(&r.msg); size > p.ps.batchBytes {
		r.release()
		// As kafka-go's Writer does: a record larger than batch-bytes is
		// never sent.
		return nil, stream.Permanent(p.bd.wrap(fmt.Errorf("record of %d bytes over batch-bytes %d: %w", size, p.ps.batchBytes, kafkago.MessageSizeTooLarge), "kafka: send to %s", p.topic))
	}
	r.size = msgSize(&r.msg)
	r.alone, r.recreated = false, false
	r.abandoned.Store(false)
	r.cb = cb
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		r.release()
		return nil, fmt.Errorf("kafka: send to %s: producer %w", p.topic, stream.ErrClosed)
	}
	p.pending = append(p.pending, r)
	p.waiting.Add(1)
	p.mu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
	if p.onQueued != nil {
		p.onQueued()
	}
	return r, nil
}

// sendErr is what a send that the loop completed with err returns.
func (p *producer) sendErr(err error) error {
	if err == nil {
		return nil
	}
	werr := p.bd.wrap(err, "kafka: send to %s", p.topic)
	if permanent(err) {
		// The broker refuses this message, and would again: the input
		// is dead-lettered instead of redelivered forever. A refused
		// destination (see refused) is not the message's fault:
		// transient, the binding reports down.
		werr = stream.Permanent(werr)
	}
	return werr
}

// complete hands the loop's outcome for r to its sender: Send waits on
// r.done (and releases r); SendAsync's callback is called here, and r goes
// back to the pool only after it ran (the loop and the request no longer
// read r once it is completed).
func (p *producer) complete(r *sendReq, err error) {
	cb := r.cb
	if cb == nil {
		r.done <- err
		return
	}
	// Its outcome is settled: an abort from here on changes nothing the
	// caller waits for (shutdown).
	p.waiting.Add(-1)
	cb(p.sendErr(err))
	r.release()
}

func msgSize(m *kafkago.Message) int {
	n := len(m.Key) + len(m.Value) + 64
	for _, h := range m.Headers {
		n += len(h.Key) + len(h.Value) + 8
	}
	return n
}

// Close stops accepting sends and writes what is queued (bounded by ctx). Sends still waiting when ctx ends fail.
func (p *producer) Close(ctx context.Context) error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.mu.Unlock()
	p.bd.forgetProducer(p)
	return p.shutdown(ctx)
}

func (p *producer) shutdown(ctx context.Context) error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	p.mu.Unlock()
	close(p.stop)
	var err error
	// Done first (lifecycle.Wait): with ctx ended as well, a select of
	// both chose at random. And the loop of a producer with nothing to
	// write returns only once it ran after the stop: with ctx ended
	// already, the abort fails nothing anyone waits for then, which is
	// no failure (a producer that had sent nothing, or whose sends all
	// returned, reported 'flushing' at a shutdown whose time was spent).
	if cerr := lifecycle.Wait(ctx, p.done); cerr != nil {
		waited := p.waiting.Load() // none are added once closed
		p.abort()
		<-p.done
		if waited > 0 {
			err = fmt.Errorf("kafka: close producer %s: flushing: %d sends still waiting for the broker: %w", p.binding, waited, cerr)
		}
	}
	p.abort()
	return err
}

// observe records what a write's errors (nil: all written) tell about the
// destination, for Health, and logs the binding going down (a WARN, once)
// and coming back up. A write that succeeded clears a refusal; one that
// failed transiently says nothing.
func (p *producer) observe(errs []error) {
	ok := errs == nil
	var refusal error
	for _, e := range errs {
		switch {
		case e == nil:
			ok = true
		case refusal == nil && refused(e):
			refusal = e
		}
	}
	if ok {
		refusal = nil
	} else if refusal == nil {
		return
	}
	p.refMu.Lock()
	was := p.refusal
	p.refusal = refusal
	p.refMu.Unlock()
	switch {
	case was == nil && refusal != nil:
		p.log.Warn("kafka: the topic is missing or refuses the binder's records; its sends fail and the binding reports down until it takes records again", "error", p.bd.logErr(refusal))
	case was != nil && refusal == nil:
		p.log.Info("kafka: the topic takes records again; the binding is up")
	}
}
