package kafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/google/uuid"
	kafkago "github.com/segmentio/kafka-go"

	"github.com/streambind/streambind/stream"
)

// producer is a producer binding. Sends from any number of goroutines are
// queued; one flusher goroutine writes everything queued as one batch per
// partition, waits for the broker's acknowledgement and completes the
// waiting sends, then takes what queued up meanwhile (natural batching: a
// lone send goes out at once, concurrent sends share batches).
type producer struct {
	bd          *Binder
	topic       string
	binding     string
	contentType string
	ps          producerSettings
	need        int // partitions the topic needs (see provision)
	w           *kafkago.Writer
	log         *slog.Logger

	mu      sync.Mutex
	pending []*sendReq
	closed  bool
	wake    chan struct{} // capacity 1
	stop    chan struct{} // closed by Close: the flusher drains and exits
	done    chan struct{} // closed when the flusher exited
	// abort ends a write in progress when Close runs out of time.
	abortCtx context.Context
	abort    context.CancelFunc

	// refusal is why the last write that said anything about the
	// destination failed: the broker refused the topic or the client (see
	// refused; a missing topic included); nil once a write succeeded.
	refMu   sync.Mutex
	refusal error
}

type sendReq struct {
	msg  kafkago.Message
	size int
	done chan error // capacity 1
}

var sendReqPool = sync.Pool{New: func() any { return &sendReq{done: make(chan error, 1)} }}

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
		wake:        make(chan struct{}, 1),
		stop:        make(chan struct{}),
		done:        make(chan struct{}),
	}
	p.abortCtx, p.abort = context.WithCancel(context.Background())
	p.w = bd.newWriter(spec.Destination, ps)
	go p.flusher()
	return p
}

// newWriter returns the kafka-go Writer behind a producer (and a DLQ). Its
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

// record turns an envelope into a Kafka message: headers (plus contentType
// and id when missing), key, partition. It fails only when the binding's
// message-key-expression cannot be evaluated on m.
func (p *producer) record(m stream.Envelope) (kafkago.Message, error) {
	hs := make([]kafkago.Header, 0, len(m.Headers)+2)
	for k, v := range m.Headers {
		hs = append(hs, kafkago.Header{Key: k, Value: []byte(v)})
	}
	if m.Headers[stream.HeaderContentType] == "" && p.contentType != "" {
		hs = append(hs, kafkago.Header{Key: stream.HeaderContentType, Value: []byte(p.contentType)})
	}
	if m.Headers[stream.HeaderID] == "" {
		hs = append(hs, kafkago.Header{Key: stream.HeaderID, Value: []byte(uuid.NewString())})
	}
	key := m.Key
	if len(key) == 0 {
		if k := m.Headers[stream.HeaderKey]; k != "" {
			key = []byte(k)
		}
	}
	if p.ps.keyExpr != nil {
		k, err := p.ps.keyExpr.key(m)
		if err != nil {
			return kafkago.Message{}, err
		}
		key = k
	}
	msg := kafkago.Message{Key: key, Value: m.Payload, Headers: hs, Time: time.Now()}
	if s := m.Headers[stream.HeaderPartition]; s != "" {
		if n, err := strconv.Atoi(s); err == nil && n >= 0 {
			msg.WriterData = n
		}
	}
	return msg, nil
}

// Send queues m and waits until the broker acknowledged it (with
// required-acks), the write failed, or ctx ended.
func (p *producer) Send(ctx context.Context, m stream.Envelope) error {
	msg, err := p.record(m)
	if err != nil {
		// The message cannot be keyed, and never will be: dead-lettered
		// (or dropped) by the core rather than retried.
		return stream.Permanent(fmt.Errorf("kafka: send to %s: %w", p.topic, err))
	}
	r := sendReqPool.Get().(*sendReq)
	r.msg = msg
	r.size = msgSize(&r.msg)
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		sendReqPool.Put(r)
		return fmt.Errorf("kafka: send to %s: producer %w", p.topic, stream.ErrClosed)
	}
	p.pending = append(p.pending, r)
	p.mu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
	select {
	case err := <-r.done:
		r.msg = kafkago.Message{}
		sendReqPool.Put(r)
		if err != nil {
			werr := p.bd.wrap(err, "kafka: send to %s", p.topic)
			if permanent(err) {
				// The broker refuses this message, and would again: the
				// input is dead-lettered instead of redelivered forever.
				// A refused destination (see refused) is not the
				// message's fault: transient, the binding reports down.
				werr = stream.Permanent(werr)
			}
			return werr
		}
		return nil
	case <-ctx.Done():
		// r is still owned by the flusher; it is not returned to the pool.
		return fmt.Errorf("kafka: send to %s: waiting for the broker's acknowledgement: %w", p.topic, ctx.Err())
	}
}

func msgSize(m *kafkago.Message) int {
	n := len(m.Key) + len(m.Value) + 64
	for _, h := range m.Headers {
		n += len(h.Key) + len(h.Value) + 8
	}
	return n
}

// flusher writes queued sends until Close; see [producer].
func (p *producer) flusher() {
	defer close(p.done)
	var batch []*sendReq
	var msgs []kafkago.Message
	for {
		p.mu.Lock()
		n := len(p.pending)
		closing := p.closed
		p.mu.Unlock()
		if n == 0 {
			if closing {
				return
			}
			select {
			case <-p.wake:
			case <-p.stop:
			}
			continue
		}
		if p.ps.batchTimeout > 0 && n < p.ps.batchSize && !closing {
			t := time.NewTimer(p.ps.batchTimeout)
			select {
			case <-t.C:
			case <-p.stop:
				t.Stop()
			}
		}
		p.mu.Lock()
		size := 0
		i := 0
		for i < len(p.pending) && i < p.ps.batchSize {
			if i > 0 && size+p.pending[i].size > p.ps.groupBytes() {
				break
			}
			size += p.pending[i].size
			i++
		}
		batch = append(batch[:0], p.pending[:i]...)
		rest := copy(p.pending, p.pending[i:])
		clear(p.pending[rest:])
		p.pending = p.pending[:rest]
		p.mu.Unlock()

		msgs = msgs[:0]
		for _, r := range batch {
			msgs = append(msgs, r.msg)
		}
		errs := p.write(msgs)
		p.observe(errs)
		failed := 0
		var first error
		for i, r := range batch {
			var err error
			if errs != nil {
				err = errs[i]
			}
			if err != nil {
				failed++
				if first == nil {
					first = err
				}
			}
			r.done <- err
		}
		if failed > 0 {
			level := slog.LevelWarn
			if refused(first) {
				// observe logged the binding going down, once; the core
				// logs each input it leaves for redelivery.
				level = slog.LevelDebug
			}
			p.log.Log(context.Background(), level, "kafka: send failed", "messages", failed, "of", len(batch), "error", p.bd.logErr(first))
		}
		clear(batch)
		clear(msgs)
	}
}

// Close stops accepting sends, writes what is queued (bounded by ctx) and
// closes the writer. Sends still waiting when ctx ends fail.
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
	select {
	case <-p.done:
	case <-ctx.Done():
		p.abort()
		<-p.done
		err = fmt.Errorf("kafka: close producer %s: flushing: %w", p.binding, ctx.Err())
	}
	p.abort()
	if cerr := p.w.Close(); cerr != nil && err == nil {
		err = p.bd.wrap(cerr, "kafka: close producer %s", p.binding)
	}
	return err
}

// write writes msgs and returns each one's error, or nil when all were
// written. Two kinds of failure are looked at again:
//
//   - a size refusal of a write of several messages (kafka-go refuses the
//     whole call for one oversized message; the broker refuses a batch
//     over max.message.bytes as a whole): each message is written alone,
//     so that only those too large by themselves fail, for good;
//   - an unknown topic: with auto-create-topics on, the topic is created
//     again and the messages written once more; with it off, the cluster
//     is asked (not the cache) whether the topic exists, and if it does
//     not, the error is errTopicMissing (refused: transient for the
//     message) and the binding reports itself down until the topic is
//     back (see Health).
func (p *producer) write(msgs []kafkago.Message) []error {
	err := p.w.WriteMessages(p.abortCtx, msgs...)
	if err == nil {
		if !p.bd.st.autoCreateTopics && p.bd.topicMissing(p.topic) {
			p.bd.setMissing(p.topic, false) // it is back
		}
		return nil
	}
	errs := make([]error, len(msgs))
	var werrs kafkago.WriteErrors
	if errors.As(err, &werrs) && len(werrs) == len(msgs) {
		copy(errs, werrs)
	} else {
		for i := range errs {
			errs[i] = err
		}
	}
	if len(msgs) > 1 {
		for i, e := range errs {
			if sizeError(e) {
				errs[i] = p.w.WriteMessages(p.abortCtx, msgs[i])
			}
		}
	}
	var gone []int
	for i, e := range errs {
		if unknownTopic(e) {
			gone = append(gone, i)
		}
	}
	if len(gone) == 0 {
		return errs
	}
	if p.bd.st.autoCreateTopics {
		ctx, cancel := context.WithTimeout(p.abortCtx, p.bd.st.dialTimeout)
		_, perr := p.bd.provision(ctx, p.topic, p.need, p.ps.replicationFactor, false)
		cancel()
		if perr != nil {
			p.log.Warn("kafka: the topic is gone and creating it again failed", "error", p.bd.logErr(perr))
			return errs
		}
		p.log.Info("kafka: the topic was gone; created it again")
		again := make([]kafkago.Message, len(gone))
		for j, i := range gone {
			again[j] = msgs[i]
		}
		err := p.w.WriteMessages(p.abortCtx, again...)
		for j, i := range gone {
			errs[i] = err
			if werrs, ok := err.(kafkago.WriteErrors); ok && len(werrs) == len(gone) {
				errs[i] = werrs[j]
			}
		}
		return errs
	}
	exists, cerr := p.bd.topicExists(p.abortCtx, p.topic)
	if cerr != nil || exists {
		return errs // transient, as far as anyone can tell
	}
	p.bd.setMissing(p.topic, true)
	for _, i := range gone {
		errs[i] = fmt.Errorf("%w: %w", errTopicMissing, errs[i])
	}
	return errs
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
