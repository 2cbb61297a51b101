package stream

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"unicode"

	"github.com/streambind/streambind/internal/didyoumean"
)

// Bridge sends from ordinary code — an HTTP handler, a scheduled job — to an
// output binding, to an input binding's destination or to a dynamic
// destination, like SCSt's StreamBridge. It
// is safe for concurrent use.
//
// A name that is an output binding of the app (a function's "<fn>-out-0" or
// one listed in stream.output-bindings) sends through that binding, with its
// content type and partitioning. The name of an input binding (a function's
// "<fn>-in-0", one listed in stream.input-bindings) sends to that binding's
// destination (the first, when it reads several) on its binder, encoded as
// its content type says: the message goes through the broker, so the
// binding's function receives it as any other, with its retries and DLQ,
// and so does every other group reading that destination. A partitioned
// input binding (consumer.partitioned) is refused with a permanent error:
// sent without a partition, the message would reach none of its instances
// on some binders. (SCSt's
// StreamBridge hands it to the binding's input channel instead, bypassing
// the binder — with a WARN that this is not recommended,
// spring-cloud-stream#2563 — so no broker acknowledges it.) The
// destination of an input binding is not a dynamic destination: its
// producer is not counted in the cache and stays bound until the app stops.
//
// Any other name is a destination: the bridge binds a producer for it on
// the default binder (with the settings of a binding of that name, if
// configured) and keeps it in a cache of
// stream.dynamic-destination-cache-size producers (default 10); the least
// recently used one is closed when the cache is full.
//
// A misspelt name must not vanish into a destination nobody reads. An
// empty name, or one with leading or trailing white space (" orders"), is
// an error naming it, on every binder. When
// stream.dynamic-destinations is set, only the destinations it lists are
// allowed: any other name is an error, with a did-you-mean. Without it, any
// name is allowed, and the first send to each destination is logged (WARN
// with a did-you-mean when the name is close to a binding or destination of
// the configuration — the same but for case, or within two edits and
// fewer than half its length: one edit for names of 3 or 4 characters,
// two from 5 — else INFO), once per destination for the first
// [MaxLoggedDestinations] destinations and at every bind of a producer
// after that. A name configured under stream.bindings logs the "binding
// bound" line of every binding instead, likewise once: an evicted
// producer is bound again at its next send, without a line.
type Bridge struct {
	app *App

	mu      sync.Mutex
	lru     *list.List // of *dynamicProducer, most recent first
	byName  map[string]*list.Element
	closing sync.WaitGroup // evicted producers being closed
	// evicting counts them, so that close waits only when there are
	// some: with the shutdown's time used up, waiting for none reported
	// "evicted producers still closing".
	evicting atomic.Int64
	closed   bool
	// logged holds the dynamic destinations whose first send (or, for a
	// name configured under stream.bindings, first bind) was logged.
	logged map[string]struct{}
	// bound is the cached producers' bindings, most recently bound first,
	// replaced whenever the cache gains or loses one: read without mu,
	// which a slow bind holds (a metrics scrape must not wait for it).
	bound atomic.Pointer[[]*Binding]
	// toInputs are the producers of outputs routed to an input binding's
	// destination (sendTo), by input binding, on that binding's binder;
	// under mu, closed with the bridge.
	toInputs map[*Binding]*dynamicProducer
	// stopped ends when close begins: it cuts short a bind in progress,
	// which holds mu (and close waits for mu) for as long as its sender's
	// context lets it, past the shutdown timeout.
	stopped   context.Context
	stopBinds context.CancelFunc
}

// MaxLoggedDestinations bounds the set of dynamic destinations the bridge
// remembers having logged, so that an app sending to ever new destinations
// (one per tenant, say) does not grow it forever.
const MaxLoggedDestinations = 1024

type dynamicProducer struct {
	name string
	b    *Binding
	cx   convCtx
	// inUse is read-locked by senders, write-locked to close.
	inUse sync.RWMutex
}

func newBridge(a *App) *Bridge {
	br := &Bridge{app: a, lru: list.New(), byName: map[string]*list.Element{}, logged: map[string]struct{}{}}
	br.stopped, br.stopBinds = context.WithCancel(context.Background())
	return br
}

// Send encodes payload and sends it to name (an output binding, an input
// binding's destination or a destination; see [Bridge]), returning once the
// binder confirmed it. payload may be
// []byte, string, a [Message] (for headers), an [Envelope] or *Envelope
// (bytes as they are, with headers and a key: [EnvelopeOf]), or any value the binding's content type's converter encodes. A
// Message's payload is encoded with the converter of its contentType header
// when it has one (a []byte or string payload is sent as it is); a header
// no converter is registered for is a permanent [ConversionError]. The bridge
// copies []byte payloads, keys and headers, so the caller may reuse them
// once Send returned.
//
// Send waits for the broker as long as ctx lets it: during an outage a
// binder retries (RabbitMQ until the connection is back, which can be
// minutes), so give ctx a deadline where the caller cannot wait (an HTTP
// handler: the request's timeout). A send to a stopped (or paused) output
// binding fails at once with [ErrBindingStopped] (a function's output,
// routed there by [HeaderSendToDestination], waits until it is started).
//
// An Envelope's or a [Message]'s Key is the message key (the Kafka record
// key; x-streambind-key on RabbitMQ and NATS, the key field on Redis); a [HeaderMessageKey]
// header on a Message without a Key is its key (and is not sent on). On a
// partitioned binding an Envelope's Key also selects the partition in
// place of partition-key-expression (through partition-selector-expression
// when set, else hashed as a string key of the expression would be); a
// Message's does not: the expression selects the partition and the Key
// stays the message key (see [Message].Key). An Envelope without a key to
// a partitioned binding is partitioned by the expression (or extractor)
// over its Payload bytes and Headers, as a []byte payload is: payload.id
// reads the field of bytes that are JSON (whatever their content type);
// of bytes that are not, it fails for good, the error saying so. SCSt's
// SpEL reads no field of a byte[] payload at all.
//
// Binding a dynamic destination's producer happens under the bridge's lock:
// the first send to a destination that is slow to provision holds up the
// bridge's other sends to dynamic destinations meanwhile (sends to output
// bindings are not affected). The app's shutdown cuts a bind in progress
// short: its send fails with [ErrClosed].
func (br *Bridge) Send(ctx context.Context, name string, payload any) error {
	a := br.app
	if err := br.running(name); err != nil {
		return err
	}
	b := a.bridgeBinding(name) // bridgenames.go
	if b != nil && !b.input {
		return br.sendVia(ctx, b, convCtx{binding: b.name, converters: a.opts.converters, contentType: b.cfg.ContentType}, payload)
	}
	var dp *dynamicProducer
	var err error
	if b != nil {
		// An input binding: its destination, through the broker (as a
		// function's output routed there by HeaderSendToDestination).
		dp, err = br.toInput(ctx, b)
	} else {
		dp, err = br.dynamic(ctx, name)
	}
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
	// Binders may keep what they are given; the caller's buffers (a pooled
	// request body) and header map stay the caller's.
	var key []byte
	if p, ok := EnvelopeOf(payload); ok {
		data = append([]byte(nil), data...)
		if len(p.Key) > 0 {
			key = append([]byte(nil), p.Key...)
		}
	} else if _, ok := payload.([]byte); ok {
		data = append([]byte(nil), data...)
	}
	env := Envelope{Payload: data, Headers: hdr.Clone(), Key: key}
	if hc, ok := payload.(headerCarrier); ok { // a Message: its key, the key only
		withMessageKey(&env, hc.messageKey(), true)
	}
	return b.send(ctx, env, func() any { return payload })
}

// dynamic returns the read-locked producer of a dynamic destination,
// binding it on first use.
func (br *Bridge) dynamic(ctx context.Context, name string) (*dynamicProducer, error) {
	a := br.app
	configured := a.cfg.configuredBinding(name)
	if !configured {
		if err := checkDestinationName(name); err != nil {
			return nil, err
		}
	}
	if err := br.checkBarName(name, configured, a.cfg.Binding(name)); err != nil {
		return nil, err
	}
	// A binding of the configuration is no dynamic destination: the
	// allow-list does not apply to it (SCSt's StreamBridge binds it with
	// its settings).
	if allow := a.cfg.DynamicDestinations; len(allow) > 0 && !configured && !containsFold(allow, name) {
		hint := ""
		if s := br.suggest(name); s != "" {
			hint = fmt.Sprintf(" (did you mean %q?)", s)
		}
		return nil, &notAllowedError{fmt.Sprintf("bridge: %q is neither an output binding nor listed in stream.dynamic-destinations [%s]%s",
			name, strings.Join(allow, ", "), hint)}
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
	b, err := br.bind(ctx, name, name, cfg)
	if err != nil {
		return nil, err
	}
	if configured {
		// The start-up line of every other binding, logged at its first
		// bind: one evicted from the cache is bound again at its next send.
		if br.firstLog(name) {
			a.logBound(b)
		}
	} else {
		br.logFirstSend(name, cfg.Destination)
	}
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
		br.evicting.Add(1)
		go func() {
			defer br.closing.Done()
			defer br.evicting.Add(-1)
			old.inUse.Lock() // waits for sends in flight
			ctx, cancel := context.WithTimeout(context.Background(), a.shutdownTimeout())
			defer cancel()
			if err := old.b.producer.Close(ctx); err != nil {
				old.b.log.Warn("closing evicted dynamic producer", "error", err)
			}
		}()
	}
	br.publishBound(b)
	dp.inUse.RLock()
	return dp, nil
}

// bind binds a producer named name with cfg, the settings of binding
// cfgName (its binder's extension section included), checked as a
// binding's at start-up (the binder's SpecValidator: a name the broker
// refuses fails here, with a ConfigErrors).
func (br *Bridge) bind(ctx context.Context, name, cfgName string, cfg BindingConfig) (*Binding, error) {
	a := br.app
	ctx, cancel := context.WithCancel(ctx)
	defer context.AfterFunc(br.stopped, cancel)()
	defer cancel()
	v := validator{cfg: a.cfg}
	for _, e := range cfg.Validate("stream.bindings." + cfgName) {
		v.addErr(e)
	}
	a.mu.Lock()
	bi := a.binderFor(&v, "stream.bindings."+cfgName, cfg.Binder)
	a.mu.Unlock()
	if err := v.errs.Err(); err != nil {
		return nil, fmt.Errorf("bridge: destination %s: %w", name, err)
	}
	b := newBinding(name, false, cfg, bi.name, bi.typ, a.log)
	b.dynamic = true
	b.setTracing(a.tracing)
	part, err := newPartitioner(cfg.Producer, cfg.ContentType, a.opts.extractors)
	if err != nil {
		return nil, fmt.Errorf("bridge: destination %s: %w", name, err)
	}
	b.part = part
	_, ext := a.cfg.Extension(bi.typ, cfgName)
	spec := b.producerSpec(ext)
	if sv, ok := bi.binder.(SpecValidator); ok {
		if err := sv.ValidateProducer(spec); err != nil {
			v.addError("stream.bindings."+cfgName, err)
			return nil, fmt.Errorf("bridge: destination %s: %w", name, v.errs.Err())
		}
	}
	prod, err := bi.binder.BindProducer(ctx, spec)
	if err != nil {
		if br.stopped.Err() != nil {
			return nil, fmt.Errorf("bridge: bind destination %s: cut short by the app's stop (%v): %w", cfg.Destination, err, ErrClosed)
		}
		return nil, fmt.Errorf("bridge: bind destination %s: %w", cfg.Destination, err)
	}
	b.adoptPartitionCount(prod)
	b.producer = prod
	b.setState(StateStarted)
	return b, nil
}

// toInput returns the read-locked producer that sends to input binding
// in's destination with in's settings (its binder and content type, as
// SCSt's StreamBridge takes a binding's name with that binding's
// properties), binding it on first use (logged at INFO). SCSt's bridge
// hands a message for an input binding's name to its input channel,
// bypassing the binder; [Bridge.Send] and sendTo send it through the
// broker instead. It is not a dynamic destination of the cache: it stays until
// the bridge closes (one per input binding at most).
func (br *Bridge) toInput(ctx context.Context, in *Binding) (*dynamicProducer, error) {
	br.mu.Lock()
	defer br.mu.Unlock()
	if br.closed {
		return nil, fmt.Errorf("bridge: send to %s: %w", in.name, ErrClosed)
	}
	if dp, ok := br.toInputs[in]; ok {
		dp.inUse.RLock()
		return dp, nil
	}
	if in.cfg.Consumer.Partitioned && in.group != "" {
		// Sent without a partition, it would reach no instance of the
		// group on NATS (none reads the unpartitioned subject), be
		// unroutable on RabbitMQ and reach instance 0 only on the
		// in-process binder and Redis: refused rather than lost. (An
		// anonymous consumer gets every message: partitioned does not
		// apply to it.)
		return nil, Permanent(fmt.Errorf("bridge: input binding %s is partitioned (consumer.partitioned): a message sent to its destination %s without a partition would not reach its instances; send it through a partitioned output binding of that destination", in.name, in.Destination()))
	}
	cfg := in.cfg
	cfg.Destination = strings.TrimSpace(strings.Split(in.Destination(), ",")[0])
	b, err := br.bind(ctx, cfg.Destination, in.name, cfg)
	if err != nil {
		return nil, err
	}
	// Encoded as the input binding's content type says (SCSt's
	// StreamBridge takes the content type of the binding it is given).
	dp := &dynamicProducer{name: b.name, b: b, cx: convCtx{binding: in.name, converters: br.app.opts.converters, contentType: cfg.ContentType}}
	br.app.log.Info("bridge: sends to an input binding go to its destination, through its binder",
		"binding", in.name, "destination", cfg.Destination, "binder", in.binderName)
	if br.toInputs == nil {
		br.toInputs = map[*Binding]*dynamicProducer{}
	}
	br.toInputs[in] = dp
	dp.inUse.RLock()
	return dp, nil
}

// notAllowedError is a send to a destination stream.dynamic-destinations
// does not list, or to a name no destination should have.
type notAllowedError struct{ msg string }

// checkDestinationName refuses, on every binder, a dynamic destination's
// name that is empty or has leading or trailing white space (" orders",
// pasted or built from data): the memory and RabbitMQ binders took it as a
// destination of its own, which nobody reads, and the others refused it
// in their own words (NATS, Redis) or at the broker. Invisible format
// characters (a zero-width space U+200B, a byte order mark U+FEFF, left
// from a copy or a file) count as white space here.
func checkDestinationName(name string) error {
	switch trimmed := strings.TrimFunc(name, blankRune); {
	case name == "":
		return &notAllowedError{"bridge: empty destination name"}
	case trimmed == "":
		return &notAllowedError{fmt.Sprintf("bridge: blank destination name %q", name)}
	case trimmed != name:
		return &notAllowedError{fmt.Sprintf("bridge: destination %q has leading or trailing white space (did you mean %q?)", name, trimmed)}
	}
	return nil
}

// blankRune reports white space (unicode.IsSpace: U+00A0, U+3000 too) and
// invisible format characters (Unicode's Cf: U+200B, U+FEFF, U+2060).
func blankRune(r rune) bool { return unicode.IsSpace(r) || unicode.Is(unicode.Cf, r) }

func (e *notAllowedError) Error() string { return e.msg }

// sendTo sends env, a function's or supplier's output whose
// HeaderSendToDestination header names where it goes (SCSt's routing
// FROM a function), there rather than to the output binding, resolved as
// [Bridge.Send] resolves a name: an output binding of that name; the
// destination of an input binding of that name (another function's
// input), on that binding's binder (SCSt hands it to that binding's input
// channel, bypassing the binder); else a destination of that name bound
// on first use, which stream.dynamic-destinations must allow. The header
// is not sent on. A name the allow-list or the binder refuses fails
// permanently (the input is dead-lettered); a failed bind or send is
// transient, as an output's.
//
// rt is the sender's runtime: its own output binding is named by the
// failure of a destination that could not be bound. A function's output
// to an output binding that is stopped or paused waits until it is
// started, as one to its own output does (runtimeBinding.awaitOutput); a
// supplier's fails at once, as Send does.
func (br *Bridge) sendTo(ctx context.Context, to string, env Envelope, value func() any, rt *runtimeBinding) error {
	env.Headers = withoutHeader(env.Headers, HeaderSendToDestination)
	a := br.app
	out := rt.out
	var dp *dynamicProducer
	var err error
	if b := a.bridgeBinding(to); b != nil && !b.input {
		env.NativeHeaders = nativeFor(env.NativeHeaders, rt, b)
		err := rt.sendHeld(ctx, b, func() error { return b.send(ctx, env, value) })
		if err != nil && !errors.Is(err, ErrNak) {
			return &sendError{err, b}
		}
		return err
	} else if b != nil {
		dp, err = br.toInput(ctx, b)
	} else {
		dp, err = br.dynamic(ctx, to)
	}
	if err != nil {
		err = fmt.Errorf("header %s %q: %w", HeaderSendToDestination, to, err)
		var na *notAllowedError
		var ces ConfigErrors
		var ce *ConfigError
		if errors.As(err, &na) || errors.As(err, &ces) || errors.As(err, &ce) {
			// The name or the configuration, not a moment's failure.
			return Permanent(err)
		}
		return &sendError{err, out}
	}
	defer dp.inUse.RUnlock()
	env.NativeHeaders = nativeFor(env.NativeHeaders, rt, dp.b)
	if err := dp.b.send(ctx, env, value); err != nil {
		return &sendError{err, dp.b}
	}
	return nil
}

// nativeFor returns native, a routed output's NativeHeaders carried from
// its input (carriedNative), when b is of the input's binder type, else
// nil: the values are in the input binder's own types, which a producer
// of another kind would send as text, warning of each message.
func nativeFor(native map[string]any, rt *runtimeBinding, b *Binding) map[string]any {
	if native == nil || rt.in == nil || b == nil || rt.in.binderType != b.binderType {
		return nil
	}
	return native
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

// Bindings returns the output bindings of the destinations the bridge
// holds producers for, most recently bound first (see [Binding.Dynamic]):
// the ones the management endpoints and metrics show beside
// [App.Bindings]. A binding evicted from the cache is not listed any more,
// and its counters start again from zero if the destination is bound
// again.
//
// It does not wait for a bind in progress (one slow to provision holds the
// bridge's lock).
func (br *Bridge) Bindings() []*Binding {
	if p := br.bound.Load(); p != nil {
		return slices.Clone(*p)
	}
	return nil
}

// publishBound replaces bound with the bindings of the producers in the
// cache now, the last bound first. Call with mu held.
func (br *Bridge) publishBound(latest *Binding) {
	var prev []*Binding
	if p := br.bound.Load(); p != nil {
		prev = *p
	}
	out := make([]*Binding, 0, br.lru.Len())
	if latest != nil {
		out = append(out, latest)
	}
	for _, b := range prev {
		if el, ok := br.byName[b.name]; ok && el.Value.(*dynamicProducer).b == b {
			out = append(out, b)
		}
	}
	br.bound.Store(&out)
}

// close closes every dynamic producer (waiting for sends in flight).
func (br *Bridge) close(ctx context.Context) error {
	br.stopBinds()
	br.mu.Lock()
	br.closed = true
	var dps []*dynamicProducer
	for el := br.lru.Front(); el != nil; el = el.Next() {
		dps = append(dps, el.Value.(*dynamicProducer))
	}
	br.lru.Init()
	clear(br.byName)
	br.publishBound(nil)
	for _, dp := range br.toInputs {
		dps = append(dps, dp)
	}
	clear(br.toInputs)
	br.mu.Unlock()
	var errs []error
	for _, dp := range dps {
		if !lockWithin(ctx, &dp.inUse) {
			// A send still waits (for a full queue, a blocked broker): close
			// anyway, which fails it, rather than outlive the timeout.
			errs = append(errs, fmt.Errorf("bridge: close %s: sends still in flight: %w", dp.name, ctx.Err()))
		}
		if err := dp.b.producer.Close(ctx); err != nil {
			errs = append(errs, fmt.Errorf("bridge: close %s: %w", dp.name, err))
		}
	}
	if br.evicting.Load() > 0 {
		evicted := make(chan struct{})
		go func() { br.closing.Wait(); close(evicted) }()
		select {
		case <-evicted:
		case <-ctx.Done():
			errs = append(errs, fmt.Errorf("bridge: evicted producers still closing: %w", ctx.Err()))
		}
	}
	return errors.Join(errs...)
}

// lockWithin write-locks l unless ctx ends first. The lock is then taken
// later, when the sends holding it finish, and never released: the
// producer it guards is closed by then.
func lockWithin(ctx context.Context, l *sync.RWMutex) bool {
	if l.TryLock() {
		// Free: taken even when ctx has ended (shutdown's time used up by
		// the inputs' drain), rather than reported as sends in flight.
		return true
	}
	locked := make(chan struct{})
	go func() { l.Lock(); close(locked) }()
	select {
	case <-locked:
		return true
	case <-ctx.Done():
		return false
	}
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

// logFirstSend logs the first send to a dynamic destination (called under
// br.mu when its producer is bound).
func (br *Bridge) logFirstSend(name, destination string) {
	if !br.firstLog(name) {
		return
	}
	log := br.app.log.With("destination", destination)
	if s := br.suggest(name); s != "" {
		log.Warn("bridge: first send to a dynamic destination that is close to a configured name: a typo?",
			"name", name, "did_you_mean", s)
		return
	}
	log.Info("bridge: first send to a dynamic destination", "name", name)
}

// firstLog reports whether the bind of name is the first to log (then
// remembered, for the first MaxLoggedDestinations names). The caller holds
// br.mu.
func (br *Bridge) firstLog(name string) bool {
	if _, done := br.logged[name]; done {
		return false
	}
	if len(br.logged) < MaxLoggedDestinations {
		br.logged[name] = struct{}{}
	}
	return true
}

// CloseName returns the configured name that name is close to, when name
// is not itself configured: a binding name, a binding's destination or a
// stream.dynamic-destinations entry that equals name but for case or is
// within two edits of it and fewer than half its length (one edit for
// names of 3 or 4 characters: jbos is not taken for jobs; two from 5).
// "" when name is configured or close to nothing.
// Callers that store a name to send to later (the outbox) use it to refuse
// a likely typo at once rather than at the first send.
func (br *Bridge) CloseName(name string) string { return br.suggest(name) }

// suggest returns the configured name closest to name when it is close:
// a binding name, a binding's destination or a listed dynamic destination
// that equals name but for case or is within two edits of it (and fewer
// than half its length). A name that is itself a configured destination
// gets no suggestion: sending to it is deliberate.
func (br *Bridge) suggest(name string) string {
	cfg := br.app.cfg
	var cands []string
	for _, b := range br.app.bindings {
		cands = append(cands, b.name)
		cands = append(cands, Destinations(b.destination)...)
	}
	for n, b := range cfg.Bindings {
		cands = append(cands, n)
		cands = append(cands, Destinations(b.Destination)...)
	}
	cands = append(cands, cfg.DynamicDestinations...)
	for _, c := range cands {
		if c == name {
			return ""
		}
	}
	best, bestD := "", 0
	lname := strings.ToLower(name)
	for _, c := range cands {
		d := didyoumean.Distance(lname, strings.ToLower(c))
		if d > 2 || 2*d >= len(name) {
			continue
		}
		if best == "" || d < bestD || d == bestD && c < best {
			best, bestD = c, d
		}
	}
	return best
}

// running reports why a send to name cannot be taken now: the app is not
// running yet, or it is stopping.
func (br *Bridge) running(name string) error {
	select {
	case <-br.app.ready:
	default:
		return fmt.Errorf("bridge: send to %s: app is not running", name)
	}
	select {
	case <-br.app.stopping:
		return fmt.Errorf("bridge: send to %s: app is stopping: %w", name, ErrClosed)
	default:
	}
	return nil
}
