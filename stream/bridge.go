package stream

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
)

// Bridge sends from ordinary code — an HTTP handler, a scheduled job — to an
// output binding or to a dynamic destination, like SCSt's StreamBridge. It
// is safe for concurrent use.
//
// A name that is an output binding of the app (a function's "<fn>-out-0" or
// one listed in stream.output-bindings) sends through that binding, with its
// content type and partitioning. Any other name is a destination: the bridge
// binds a producer for it on the default binder (with the settings of a
// binding of that name, if configured) and keeps it in a cache of
// stream.dynamic-destination-cache-size producers (default 10); the least
// recently used one is closed when the cache is full. When
// stream.dynamic-destinations is set, only the destinations it lists are
// allowed.
type Bridge struct {
	app *App

	mu      sync.Mutex
	lru     *list.List // of *dynamicProducer, most recent first
	byName  map[string]*list.Element
	closing sync.WaitGroup // evicted producers being closed
	closed  bool
}

type dynamicProducer struct {
	name string
	b    *Binding
	cx   convCtx
	// inUse is read-locked by senders, write-locked to close.
	inUse sync.RWMutex
}

func newBridge(a *App) *Bridge {
	return &Bridge{app: a, lru: list.New(), byName: map[string]*list.Element{}}
}

// Send encodes payload and sends it to name (an output binding or a
// destination), returning once the binder confirmed it. payload may be
// []byte, string, a [Message] (for headers), an [Envelope], or any value the
// content type's converter encodes.
func (br *Bridge) Send(ctx context.Context, name string, payload any) error {
	a := br.app
	select {
	case <-a.ready:
	default:
		return fmt.Errorf("bridge: send to %s: app is not running", name)
	}
	select {
	case <-a.stopping:
		return fmt.Errorf("bridge: send to %s: app is stopping: %w", name, ErrClosed)
	default:
	}
	if b := a.Binding(name); b != nil {
		if b.input {
			return fmt.Errorf("bridge: %s is an input binding", name)
		}
		return br.sendVia(ctx, b, convCtx{binding: b.name, converters: a.opts.converters, contentType: b.cfg.ContentType}, payload)
	}
	dp, err := br.dynamic(ctx, name)
	if err != nil {
		return err
	}
	defer dp.inUse.RUnlock()
	return br.sendVia(ctx, dp.b, dp.cx, payload)
}

func (br *Bridge) sendVia(ctx context.Context, b *Binding, cx convCtx, payload any) error {
	data, hdr, err := encodeAny(&cx, payload)
	if err != nil {
		return fmt.Errorf("bridge: %w", err)
	}
	return b.send(ctx, Envelope{Payload: data, Headers: hdr}, func() any { return payload })
}

// dynamic returns the read-locked producer of a dynamic destination,
// binding it on first use.
func (br *Bridge) dynamic(ctx context.Context, name string) (*dynamicProducer, error) {
	a := br.app
	if allow := a.cfg.DynamicDestinations; len(allow) > 0 && !containsFold(allow, name) {
		return nil, fmt.Errorf("bridge: %q is neither an output binding nor listed in stream.dynamic-destinations", name)
	}
	br.mu.Lock()
	defer br.mu.Unlock()
	if br.closed {
		return nil, fmt.Errorf("bridge: send to %s: %w", name, ErrClosed)
	}
	if el, ok := br.byName[name]; ok {
		br.lru.MoveToFront(el)
		dp := el.Value.(*dynamicProducer)
		dp.inUse.RLock()
		return dp, nil
	}
	// Binding under br.mu serialises dynamic binds; they are rare (the cache
	// exists to keep them so).
	cfg := a.cfg.Binding(name)
	v := validator{cfg: a.cfg}
	for _, e := range cfg.Validate("stream.bindings." + name) {
		v.addErr(e)
	}
	a.mu.Lock()
	bi := a.binderFor(&v, "stream.bindings."+name, cfg.Binder)
	a.mu.Unlock()
	if err := v.errs.Err(); err != nil {
		return nil, fmt.Errorf("bridge: destination %s: %w", name, err)
	}
	b := newBinding(name, false, cfg, bi.name, bi.typ, a.log)
	b.setTracing(a.tracing)
	if p := cfg.Producer; p.PartitionKeyExpression != "" || p.PartitionKeyExtractorName != "" {
		expr, _ := ParseKeyExpression(p.PartitionKeyExpression)
		ex, ok := a.opts.extractors[p.PartitionKeyExtractorName]
		if p.PartitionKeyExtractorName != "" && !ok {
			return nil, fmt.Errorf("bridge: destination %s: no key extractor %q registered", name, p.PartitionKeyExtractorName)
		}
		b.part = &partitioner{expr: expr, extractor: ex, count: p.PartitionCount}
	}
	_, ext := a.cfg.Extension(bi.typ, name)
	prod, err := bi.binder.BindProducer(ctx, b.producerSpec(ext))
	if err != nil {
		return nil, fmt.Errorf("bridge: bind destination %s: %w", cfg.Destination, err)
	}
	b.producer = prod
	b.mu.Lock()
	b.setState(StateStarted)
	b.mu.Unlock()
	dp := &dynamicProducer{name: name, b: b, cx: convCtx{binding: name, converters: a.opts.converters, contentType: cfg.ContentType}}
	br.byName[name] = br.lru.PushFront(dp)
	size := a.cfg.DynamicDestinationCacheSize
	if size <= 0 {
		size = DefaultDynamicDestinationCacheSize
	}
	for br.lru.Len() > size {
		old := br.lru.Remove(br.lru.Back()).(*dynamicProducer)
		delete(br.byName, old.name)
		br.closing.Add(1)
		go func() {
			defer br.closing.Done()
			old.inUse.Lock() // waits for sends in flight
			ctx, cancel := context.WithTimeout(context.Background(), a.shutdownTimeout())
			defer cancel()
			if err := old.b.producer.Close(ctx); err != nil {
				old.b.log.Warn("closing evicted dynamic producer", "error", err)
			}
		}()
	}
	dp.inUse.RLock()
	return dp, nil
}

// DynamicDestinations returns the destinations the bridge holds producers
// for, most recently used first.
func (br *Bridge) DynamicDestinations() []string {
	br.mu.Lock()
	defer br.mu.Unlock()
	var out []string
	for el := br.lru.Front(); el != nil; el = el.Next() {
		out = append(out, el.Value.(*dynamicProducer).name)
	}
	return out
}

// close closes every dynamic producer (waiting for sends in flight).
func (br *Bridge) close(ctx context.Context) error {
	br.mu.Lock()
	br.closed = true
	var dps []*dynamicProducer
	for el := br.lru.Front(); el != nil; el = el.Next() {
		dps = append(dps, el.Value.(*dynamicProducer))
	}
	br.lru.Init()
	clear(br.byName)
	br.mu.Unlock()
	var errs []error
	for _, dp := range dps {
		dp.inUse.Lock()
		if err := dp.b.producer.Close(ctx); err != nil {
			errs = append(errs, fmt.Errorf("bridge: close %s: %w", dp.name, err))
		}
	}
	br.closing.Wait()
	return errors.Join(errs...)
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}
