package memory

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/google/uuid"

	"github.com/streambind/streambind/binder/internal/msgid"
	"github.com/streambind/streambind/stream"
)

// Binder is the memory binder: a [stream.Binder] whose bindings live on a
// [Broker]. Closing it stops and releases only its own bindings (and, for a
// binder made by [New], its private broker).
type Binder struct {
	broker     *Broker
	own        bool // the broker is private and closed with the binder
	name       string
	bufferSize int
	batchSize  int
	log        *slog.Logger

	mu        sync.Mutex
	closed    bool
	producers map[*producer]struct{}
	consumers map[*consumer]struct{}
	// closing holds the consumers the first Close took, until a Close
	// has closed them all: a Close beside or after one that has not (its
	// ctx ended with a handler still running) closes them again, which
	// waits for what is left of their runs, instead of returning nil at
	// once with handlers running.
	closing []*consumer
}

var (
	_ stream.Binder        = (*Binder)(nil)
	_ stream.SpecValidator = (*Binder)(nil)
	_ stream.BinderFactory = New
)

// Factory returns a [stream.BinderFactory] whose binders share broker b, so
// that the apps (or binders) of one process exchange messages. The settings
// may hold buffer-size and batch-size (see the package doc); they apply to
// what each binder provisions.
func Factory(b *Broker) stream.BinderFactory {
	return func(ctx context.Context, s stream.BinderSettings) (stream.Binder, error) {
		st, err := parseSettings(s)
		if err != nil {
			return nil, err
		}
		return newBinder(b, false, s, st)
	}
}

// New is a [stream.BinderFactory] that creates a binder on a fresh private
// broker, closed when the binder is closed: what an App registers binder
// type "memory" with (stream.WithBinderType(memory.Type, memory.New)) for
// a broker of each binder; use [Factory] to share a broker.
func New(ctx context.Context, s stream.BinderSettings) (stream.Binder, error) {
	st, err := parseSettings(s)
	if err != nil {
		return nil, err
	}
	b, err := NewBroker(Config{BufferSize: st.bufferSize, BatchSize: st.batchSize, Logger: s.Logger})
	if err != nil {
		return nil, err
	}
	return newBinder(b, true, s, st)
}

func newBinder(b *Broker, own bool, s stream.BinderSettings, st settings) (*Binder, error) {
	bd := &Binder{
		broker:     b,
		own:        own,
		name:       s.Name,
		bufferSize: st.bufferSize,
		batchSize:  st.batchSize,
		log:        s.Logger,
		producers:  make(map[*producer]struct{}),
		consumers:  make(map[*consumer]struct{}),
	}
	if bd.bufferSize == 0 {
		bd.bufferSize = b.cfg.BufferSize
	}
	if bd.batchSize == 0 {
		bd.batchSize = b.cfg.BatchSize
	}
	if bd.log == nil {
		bd.log = b.cfg.Logger
	}
	if err := b.addBinder(bd); err != nil {
		return nil, err
	}
	return bd, nil
}

// Broker returns the broker the binder's bindings live on.
func (bd *Binder) Broker() *Broker { return bd.broker }

// ValidateProducer reports the memory-specific properties of a producer
// binding; there are none, so any key is an error.
func (bd *Binder) ValidateProducer(spec stream.ProducerSpec) error {
	return extensionErrors(spec.Binding, "producer", spec.Extension)
}

// ValidateConsumer reports the memory-specific properties of a consumer
// binding; there are none, so any key is an error.
func (bd *Binder) ValidateConsumer(spec stream.ConsumerSpec) error {
	return extensionErrors(spec.Binding, "consumer", spec.Extension)
}

// BindProducer binds a producer to spec.Destination, creating the
// destination, and provisions the groups of spec.Producer.RequiredGroups
// (with one queue per partition when the producer is partitioned) so that
// they keep what is sent before their consumers start.
func (bd *Binder) BindProducer(ctx context.Context, spec stream.ProducerSpec) (stream.Producer, error) {
	fail := func(err error) (stream.Producer, error) {
		return nil, fmt.Errorf("memory: bind producer %s: %w", spec.Binding, err)
	}
	if err := bd.ValidateProducer(spec); err != nil {
		return fail(err)
	}
	if spec.Destination == "" {
		return fail(errors.New("no destination"))
	}
	if err := ctx.Err(); err != nil {
		return fail(err)
	}
	bd.mu.Lock()
	defer bd.mu.Unlock()
	if bd.closed {
		return fail(fmt.Errorf("binder %w", stream.ErrClosed))
	}
	n := 1
	if spec.Producer.IsPartitioned() && spec.Producer.PartitionCount > 1 {
		n = spec.Producer.PartitionCount
	}
	for _, g := range spec.Producer.RequiredGroups {
		if g == "" {
			return fail(errors.New("empty name in required-groups"))
		}
		if err := bd.broker.provision(spec.Destination, g, n, bd.bufferSize); err != nil {
			return fail(err)
		}
	}
	d, err := bd.broker.destination(spec.Destination)
	if err != nil {
		return fail(err)
	}
	p := &producer{bd: bd, d: d, contentType: spec.ContentType, ids: msgid.New(uuid.NewString())}
	bd.producers[p] = struct{}{}
	return p, nil
}

// BindConsumer binds a consumer (created stopped) to spec.Destination for
// spec.Group. A named group's queue is created now, so it keeps messages
// from now on; an anonymous consumer's queue exists only while it is
// started. A comma-separated destination binds one consumer per
// destination behind the returned one.
func (bd *Binder) BindConsumer(ctx context.Context, spec stream.ConsumerSpec) (stream.Consumer, error) {
	fail := func(err error) (stream.Consumer, error) {
		return nil, fmt.Errorf("memory: bind consumer %s: %w", spec.Binding, err)
	}
	if err := bd.ValidateConsumer(spec); err != nil {
		return fail(err)
	}
	var dests []string
	for _, d := range strings.Split(spec.Destination, ",") {
		if d = strings.TrimSpace(d); d != "" {
			dests = append(dests, d)
		}
	}
	switch {
	case len(dests) == 0:
		return fail(errors.New("no destination"))
	case spec.Consumer.BatchMode && spec.BatchHandler == nil:
		return fail(errors.New("batch mode without a batch handler"))
	case !spec.Consumer.BatchMode && spec.Handler == nil:
		return fail(errors.New("no handler"))
	case spec.Consumer.Partitioned && (spec.Consumer.InstanceIndex < 0 || spec.Consumer.InstanceIndex >= max(spec.Consumer.InstanceCount, 1)):
		return fail(fmt.Errorf("instance-index %d is not in [0, instance-count=%d)", spec.Consumer.InstanceIndex, max(spec.Consumer.InstanceCount, 1)))
	}
	if err := ctx.Err(); err != nil {
		return fail(err)
	}
	bd.mu.Lock()
	defer bd.mu.Unlock()
	if bd.closed {
		return fail(fmt.Errorf("binder %w", stream.ErrClosed))
	}
	cs := make(consumers, 0, len(dests))
	for _, d := range dests {
		c, err := bd.newConsumer(d, spec)
		if err != nil {
			for _, c := range cs {
				c.release()
				delete(bd.consumers, c)
			}
			return fail(err)
		}
		bd.consumers[c] = struct{}{}
		cs = append(cs, c)
	}
	if len(cs) == 1 {
		return cs[0], nil
	}
	return cs, nil
}

// Close stops the binder's consumers (waiting for their in-flight messages,
// bounded by ctx) and closes its producers; a binder made by [New] then
// closes its broker. Bindings of other binders on the same broker are not
// affected. Close may be called again, also while another Close runs or
// after one whose ctx ended: it waits, bounded by its own ctx, for the
// consumers' handlers, so that nil means none of them runs any more.
func (bd *Binder) Close(ctx context.Context) error {
	err := bd.closeBindings(ctx)
	if bd.own {
		// Also when the bindings' Close failed: the broker's Close
		// releases blocked sends and drops the queues. Its own error
		// would repeat err (it closes the bindings again, with ctx).
		if berr := bd.broker.Close(ctx); err == nil {
			err = berr
		}
	}
	return err
}

// closeBindings is Close without closing a private broker; [Broker.Close]
// calls it.
func (bd *Binder) closeBindings(ctx context.Context) error {
	bd.mu.Lock()
	if !bd.closed {
		bd.closed = true
		for c := range bd.consumers {
			bd.closing = append(bd.closing, c)
		}
		for p := range bd.producers {
			p.closed.Store(true)
		}
		bd.producers, bd.consumers = nil, nil
	}
	cs := bd.closing
	bd.mu.Unlock()

	// At once, as consumers.each: one after the other, the consumers not
	// closed yet went on taking messages while one waited for a handler.
	errs := make([]error, len(cs))
	var wg sync.WaitGroup
	for i, c := range cs {
		wg.Go(func() { errs[i] = c.close(ctx) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		// Still registered: the broker's Close closes it again.
		return fmt.Errorf("memory: close binder %q: %w", bd.name, err)
	}
	bd.mu.Lock()
	bd.closing = nil
	bd.mu.Unlock()
	bd.broker.removeBinder(bd)
	return nil
}

func (bd *Binder) forgetProducer(p *producer) {
	bd.mu.Lock()
	delete(bd.producers, p)
	bd.mu.Unlock()
}

// producer is a producer binding.
type producer struct {
	bd          *Binder
	d           *destination
	contentType string
	closed      atomic.Bool
	// ids makes the ids of messages sent without one, as the wire
	// binders do.
	ids *msgid.Generator
}

// Send stores a copy of m in the queue of every group of the destination
// (see [destination.send]). A message without an id header gets one, and
// one without a contentType header gets the binding's, as on the wire
// binders (an idempotent consumer keys on the id by default; a
// Message[T]'s headers show both). They are kept beside the message's
// headers (stamp), not written into a copy of them: a consumer reads them
// as headers either way. A caller's id and contentType are kept, and its
// map is not modified.
func (p *producer) Send(ctx context.Context, m stream.Envelope) error {
	m.LoadHeaders() // a received message's lazy headers, passed on (stream.LazyHeaders)
	if p.closed.Load() {
		return fmt.Errorf("memory: send to %q: producer %w", p.d.name, stream.ErrClosed)
	}
	var st stamp
	idEmpty, ctEmpty := m.Headers[stream.HeaderID] == "", p.contentType != "" && m.Headers[stream.HeaderContentType] == ""
	if idEmpty {
		st.id = p.ids.Next()
	}
	if ctEmpty {
		st.contentType = p.contentType
	}
	if idEmpty && hasKey(m.Headers, stream.HeaderID) || ctEmpty && hasKey(m.Headers, stream.HeaderContentType) {
		// An empty id or contentType header of the sender's would hide
		// the stamped one: a copy without them (the sender's map stays).
		m.Headers = m.Headers.Clone()
		if idEmpty {
			delete(m.Headers, stream.HeaderID)
		}
		if ctEmpty {
			delete(m.Headers, stream.HeaderContentType)
		}
	}
	return p.d.send(ctx, m, st)
}

// hasKey reports whether h has header k, empty or not.
func hasKey(h stream.Headers, k string) bool {
	_, ok := h[k]
	return ok
}

// Close closes the producer; there is nothing to flush, since Send returns
// only once a message is stored.
func (p *producer) Close(ctx context.Context) error {
	if p.closed.Swap(true) {
		return nil
	}
	p.bd.forgetProducer(p)
	return nil
}
