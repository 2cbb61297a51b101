// Package streamtest runs an app's functions on the in-process binder in a
// test: send to input bindings, receive from output bindings and dead-letter
// queues, with timeouts — what Spring Cloud Stream's test binder
// (InputDestination, OutputDestination) gives Java users.
//
// Whatever binders the configuration names, every binding runs on one
// in-process broker, so a test needs no Kafka and no RabbitMQ:
//
//	env := streamtest.Start(t, cfg, fns)
//	env.Send(t, "chargePayment-in-0", Order{OrderID: "o-1", Quantity: 2})
//	p := streamtest.Receive[Payment](t, env, "chargePayment-out-0")
//	d := streamtest.ReceiveDeadLetter[Order](t, env, "chargePayment-in-0")
//
// Sends, receives and dead letters read the same way: Send to an input
// binding, Receive from an output binding, ReceiveDeadLetter from an input
// binding's dead-letter queue; each fails the test after [Env.Timeout].
// Receive (and ExpectNoOutput, ExpectNone) also take a destination's
// name, as SCSt's OutputDestination.receive does: an output binding's
// destination, or one the app sent to otherwise — a function's output
// routed by the [stream.HeaderSendToDestination] header, the bridge's
// sends:
//
//	p := streamtest.Receive[Payment](t, env, "payments-de") // sendto: payments-de
//
// The harness takes in what the app sends through its output bindings,
// to those destinations and to its dead-letter queues without bound,
// whether the test reads it or not: it never holds back the app's sends.
// A destination one of the app's input bindings reads (the app may send
// there too) is not one to receive from: that binding consumes what is
// sent there, and Receive says so.
//
// The absence of a message is asserted without waiting out a timeout:
// [Env.ExpectNoOutput] and [Env.ExpectNoDeadLetter] first [Env.Drain] —
// wait until the app has handled every message sent to its inputs so far
// (by the harness, and by the app itself) and the harness has
// taken in every message the app sent — and then look.
//
// The app's log lines go to the test's output (t.Output, at DEBUG and up:
// shown with -v and when the test fails, without t.Log's file:line), so
// that a failing test shows what the app did; stream.WithLogger among
// Start's options replaces that.
//
// The app stops when the test ends. Its stream.shutdown-timeout is
// [ShutdownTimeout] (2s) unless the configuration sets one: a
// handler still running then has its context cancelled, and the test
// fails saying which binding's handler was still running (a test that
// failed already only logs it).
//
// An app with an idempotent consumer or an outbox is started with
// [StartWith], whose setup installs them on the built app before it runs:
//
//	env := streamtest.StartWith(t, cfg, fns, func(app *stream.App) error {
//		_, err := idempotency.New(app, idemCfg, idempotency.Options{})
//		return err
//	})
package streamtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/memory"
	"github.com/streambind/streambind/stream"
)

// DefaultTimeout bounds every wait unless [Env.Timeout] is changed.
const DefaultTimeout = 5 * time.Second

// ShutdownTimeout is the app's stream.shutdown-timeout in a test whose
// configuration sets none (the app's own default,
// [stream.DefaultShutdownTimeout], is 10s): a test
// that ends with a handler still running waits this long for it before the
// in-process binder cancels the handler's context, and fails saying so.
const ShutdownTimeout = 2 * time.Second

// group is the consumer group the harness reads a binding's destination
// with: one per binding, so that two bindings on one destination each see
// every message, as two readers of that destination would.
func group(binding string) string { return "streamtest." + binding }

// Env is a running app on an in-process broker, with a test-side binder on
// the same broker.
type Env struct {
	// App is the app under test, started.
	App *stream.App
	// Broker is the in-process broker every binding runs on.
	Broker *memory.Broker
	// Timeout bounds each Receive. Default DefaultTimeout.
	Timeout time.Duration

	binder stream.Binder
	mu     sync.Mutex
	prods  map[string]stream.Producer // by destination
	sent   map[string]int64           // by destination: messages the harness sent there; guarded by mu
	outs   map[string]*inbox          // by lower-case output binding name
	dlqs   map[string]*inbox          // by lower-case input binding name
	// taken counts the messages the harness took in, by lower-case
	// binding name: outputs read, and dead letters of inputs.
	taken map[string]*atomic.Int64
	// own holds the ids of the messages the harness sent (Send,
	// SendEnvelope), by destination; guarded by mu. Its readers of an output binding's
	// destination skip them: an input binding reading the destination of
	// an output binding got them too, and Receive and ExpectNoOutput
	// blamed the output binding for a message the test had sent.
	own map[string]map[string]struct{}
	// idBase and nextID make the ids of the harness's messages.
	idBase string
	nextID int64 // guarded by mu

	// ctx ends when the test does: the life of the harness's consumers.
	ctx       context.Context
	consumers []stream.Consumer // the harness's, stopped at the end; guarded by mu
	// outDests maps the destination of an output binding to the
	// lower-case name of the first (by name) output binding of it.
	outDests map[string]string
	// appDests holds every destination of the app's bindings.
	appDests map[string]bool
	// dyn holds what the app sends other than through its output bindings
	// (a function's sendto header, the bridge), by destination; guarded
	// by mu. bound is closed, and replaced, when dyn gets a destination.
	dyn   map[string]*dynDest
	bound chan struct{}
}

// dynDest is a destination the app sent to other than through its output
// bindings: how many messages it sent there and, unless a binding of the
// app has that destination, the harness's reader of it.
type dynDest struct {
	sent  atomic.Int64
	ch    *inbox // nil: a destination of one of the app's bindings
	taken atomic.Int64
}

// inbox holds what the harness took in from a reader and the test has not
// received yet, without bound: the harness never holds back the app (its
// handler, a bridge's send) for a message the test has not asked for —
// with a bounded buffer, a test's unread messages (a destination it
// never reads) filled it and blocked the app's sends. A test's messages
// are bounded by the test.
type inbox struct {
	mu   sync.Mutex
	msgs []stream.Envelope
	more chan struct{} // closed, and replaced, when a message is put
}

func newInbox() *inbox { return &inbox{more: make(chan struct{})} }

func (b *inbox) put(m stream.Envelope) {
	b.mu.Lock()
	b.msgs = append(b.msgs, m)
	close(b.more)
	b.more = make(chan struct{})
	b.mu.Unlock()
}

// take returns the first message, if there is one, else a channel closed
// when one is put.
func (b *inbox) take() (stream.Envelope, bool, <-chan struct{}) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.msgs) == 0 {
		b.msgs = nil // let go of the slice's array
		return stream.Envelope{}, false, b.more
	}
	m := b.msgs[0]
	b.msgs[0] = stream.Envelope{}
	b.msgs = b.msgs[1:]
	return m, true, nil
}

// next waits up to d for a message ("ok" false when none came).
func (b *inbox) next(d time.Duration) (stream.Envelope, bool) {
	m, ok, more := b.take()
	if ok {
		return m, true // what is there already, even with a zero timeout
	}
	t := time.NewTimer(max(d, 0))
	defer t.Stop()
	for {
		select {
		case <-more:
		case <-t.C:
			return stream.Envelope{}, false
		}
		if m, ok, more = b.take(); ok {
			return m, true
		}
	}
}

// Start builds the app from cfg and fns on an in-process broker and runs it
// until the test ends. It subscribes to every output binding's destination
// and to the DLQ of every input binding with dlq enabled before the app
// starts, so nothing the app sends is missed. An output binding's reader
// takes what the app's bindings send to its destination (two output
// bindings of one destination each see both's messages), not what the
// test sends there with Send or SendEnvelope (to an input binding that
// reads it): the harness gives each message it sends an id (when it has
// none) and skips those ids. opts are passed to NewApp
// (WithBinderType options are overridden for "memory"). An app that
// needs something installed before it runs (idempotency.New,
// outbox.New) is started with [StartWith].
func Start(t testing.TB, cfg *stream.Config, fns *stream.Catalog, opts ...stream.Option) *Env {
	t.Helper()
	return StartWith(t, cfg, fns, nil, opts...)
}

// StartWith is [Start] with setup called on the built app before it runs:
// what a program does between stream.NewApp and Run — idempotency.New
// (start-up fails while a binding sets consumer.idempotency without
// it), outbox.New, AddComponent — a test does there:
//
//	var idem *idempotency.Consumer
//	env := streamtest.StartWith(t, cfg, fns, func(app *stream.App) (err error) {
//		idem, err = idempotency.New(app, idemCfg, idempotency.Options{Pool: pool})
//		return err
//	})
//
// Both refuse an app that already runs, so they cannot follow Start. An
// error from setup fails the test; the app never runs then. A nil setup
// is Start.
func StartWith(t testing.TB, cfg *stream.Config, fns *stream.Catalog, setup func(app *stream.App) error, opts ...stream.Option) *Env {
	t.Helper()
	broker, err := memory.NewBroker(memory.Config{})
	if err != nil {
		t.Fatalf("streamtest: %v", err)
	}
	env := &Env{Broker: broker, Timeout: DefaultTimeout, prods: map[string]stream.Producer{}, sent: map[string]int64{},
		outs: map[string]*inbox{}, dlqs: map[string]*inbox{}, taken: map[string]*atomic.Int64{},
		own: map[string]map[string]struct{}{}, idBase: rand.Text()[:12],
		outDests: map[string]string{}, appDests: map[string]bool{}, dyn: map[string]*dynDest{}, bound: make(chan struct{})}
	tl := &testLog{w: t.Output()}
	factory := memory.Factory(broker)
	opts = append(append([]stream.Option{stream.WithLogger(slog.New(slog.NewTextHandler(tl, &slog.HandlerOptions{Level: slog.LevelDebug})))}, opts...),
		stream.WithBinderType(memory.Type, func(ctx context.Context, s stream.BinderSettings) (stream.Binder, error) {
			b, err := factory(ctx, s)
			if err != nil {
				return nil, err
			}
			return tapBinder{b.(*memory.Binder), env}, nil
		}), stream.WithoutSignals())
	mcfg := onMemory(cfg)
	shutdownTimeout, defaulted := mcfg.ShutdownTimeout, mcfg.ShutdownTimeout == 0
	if defaulted {
		mcfg.ShutdownTimeout, shutdownTimeout = ShutdownTimeout, ShutdownTimeout
	}
	app, err := stream.NewApp(mcfg, fns, opts...)
	if err != nil {
		t.Fatalf("streamtest: %v", err)
	}
	env.App = app
	if setup != nil {
		if err := setup(app); err != nil {
			_ = broker.Close(context.Background())
			t.Fatalf("streamtest: setup: %v", err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	env.ctx = ctx
	env.binder, err = memory.Factory(broker)(ctx, stream.BinderSettings{Name: "streamtest", Type: memory.Type})
	if err != nil {
		cancel()
		t.Fatalf("streamtest: %v", err)
	}
	bindings := app.Bindings()
	sort.Slice(bindings, func(i, j int) bool { return bindings[i].Name() < bindings[j].Name() })
	for _, b := range bindings {
		key := strings.ToLower(b.Name())
		for _, d := range stream.Destinations(b.Destination()) {
			env.appDests[d] = true
		}
		var dests []string
		var ch *inbox
		output := !b.IsInput()
		switch {
		case output:
			dests, ch = []string{b.Destination()}, newInbox()
			env.outs[key] = ch
			if _, ok := env.outDests[b.Destination()]; !ok {
				env.outDests[b.Destination()] = key
			}
		case b.Config().Consumer.DLQ && b.Group() != "":
			// Each destination of the input dead-letters to its own.
			for _, d := range stream.Destinations(b.Destination()) {
				dests = append(dests, stream.DLQName(d, b.Group()))
			}
			ch = newInbox()
			env.dlqs[key] = ch
		default:
			continue
		}
		n := &atomic.Int64{}
		env.taken[key] = n
		for _, dest := range dests {
			c, err := env.subscribe(ctx, b.Name(), dest, output, ch, n)
			if err != nil {
				cancel()
				t.Fatalf("streamtest: subscribe to %s: %v", dest, err)
			}
			env.consumers = append(env.consumers, c)
		}
	}
	done := make(chan error, 1)
	go func() { done <- app.Run(ctx) }()
	select {
	case <-app.Ready():
	case err := <-done:
		cancel()
		t.Fatalf("streamtest: app did not start: %v", err)
	}
	t.Cleanup(func() {
		t.Helper() // a failure here is labelled at the test's Start
		// The handlers running as the test ends: those a failed shutdown
		// waited for.
		var busy []string
		for _, b := range app.Bindings() {
			if b.IsInput() && b.Stats().InFlight > 0 {
				busy = append(busy, b.Name())
			}
		}
		cancel()
		if err := <-done; err != nil {
			msg := fmt.Sprintf("streamtest: app shutdown: %v", err)
			if len(busy) > 0 && errors.Is(err, context.DeadlineExceeded) {
				unless := ""
				if defaulted {
					unless = " in streamtest unless set"
				}
				msg = fmt.Sprintf("streamtest: handler of %s still running at the end of the test: its context is cancelled after stream.shutdown-timeout (%s%s); let it finish before the test ends, or make it return sooner",
					strings.Join(busy, ", "), shutdownTimeout, unless)
				// The app logged the binder's account (stream app
				// shutdown incomplete) at ERROR.
			}
			if t.Failed() {
				// The test's own failure says what went wrong; this
				// one follows from it.
				tl.printf("%s", msg)
			} else {
				t.Error(msg)
			}
		}
		sctx, scancel := context.WithTimeout(context.Background(), DefaultTimeout)
		defer scancel()
		env.mu.Lock()
		consumers := env.consumers
		env.mu.Unlock()
		for _, c := range consumers {
			_ = c.Stop(sctx)
		}
		_ = env.binder.Close(sctx)
		_ = broker.Close(sctx)
		tl.stop()
	})
	return env
}

// subscribe binds and starts the harness's consumer of dest, which takes
// what the app sends through binding into ch and counts it in n. The
// reader of an output binding's destination (output) skips the messages
// the harness sent there itself.
func (e *Env) subscribe(ctx context.Context, binding, dest string, output bool, ch *inbox, n *atomic.Int64) (stream.Consumer, error) {
	c, err := e.binder.BindConsumer(ctx, stream.ConsumerSpec{
		Binding: "streamtest:" + binding, Destination: dest, Group: group(binding), ContentType: stream.DefaultContentType,
		Consumer: stream.ConsumerConfig{Concurrency: 1, MaxAttempts: 1, InstanceCount: 1},
		Handler: func(ctx context.Context, m stream.Envelope) error {
			if output && e.sentByHarness(dest, m.Headers[stream.HeaderID]) {
				return nil
			}
			m.Payload = append([]byte(nil), m.Payload...)
			m.Headers = m.Headers.Clone()
			m.Key = bytes.Clone(m.Key) // an empty key stays empty, not nil
			// How the harness received it is none of the app's: sent on
			// (SendEnvelope), it would be the app's input's Received.
			m.Received = stream.Received{}
			ch.put(m) // never waits: see inbox
			n.Add(1)
			return nil
		},
	})
	if err == nil {
		err = c.Start(ctx)
	}
	return c, err
}

// tapBinder is the app's in-process binder, through which the harness
// sees what the app sends other than through its output bindings: a
// function's output routed by stream.HeaderSendToDestination, the
// bridge's sends. A producer it binds for a destination of no binding of
// the app gets the harness's reader of that destination (before the
// first send), for Receive by the destination's name; every such producer
// counts its sends, for Drain. The binder's other methods are the
// in-process binder's own (embedded, so that its optional interfaces
// stay).
type tapBinder struct {
	*memory.Binder
	env *Env
}

func (b tapBinder) BindProducer(ctx context.Context, spec stream.ProducerSpec) (stream.Producer, error) {
	p, err := b.Binder.BindProducer(ctx, spec)
	if err != nil {
		return nil, err
	}
	if _, output := b.env.outs[strings.ToLower(spec.Binding)]; output {
		return p, nil // read, and counted by Stats, as the output binding's
	}
	d, err := b.env.tap(spec.Destination)
	if err != nil {
		_ = p.Close(ctx)
		return nil, err
	}
	// The in-process binder's producer has no optional interfaces
	// (stream.AsyncProducer, PartitionCounter) for this wrapper to hide.
	return countingProducer{p, d}, nil
}

// countingProducer counts in d what the app sent to d's destination.
type countingProducer struct {
	stream.Producer
	d *dynDest
}

func (p countingProducer) Send(ctx context.Context, m stream.Envelope) error {
	err := p.Producer.Send(ctx, m)
	if err == nil {
		p.d.sent.Add(1)
	}
	return err
}

// tap returns the dynDest of dest, creating it with the harness's reader
// of dest unless a binding of the app has that destination. The app's
// producer of dest is bound again after the bridge's cache evicted it:
// the first one's dynDest stays.
func (e *Env) tap(dest string) (*dynDest, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if d, ok := e.dyn[dest]; ok {
		return d, nil
	}
	d := &dynDest{}
	if !e.appDests[dest] {
		d.ch = newInbox()
		c, err := e.subscribe(e.ctx, "destination."+dest, dest, true, d.ch, &d.taken)
		if err != nil {
			return nil, fmt.Errorf("streamtest: subscribe to destination %s the app sends to: %w", dest, err)
		}
		e.consumers = append(e.consumers, c)
		close(e.bound)
		e.bound = make(chan struct{})
	}
	e.dyn[dest] = d
	return d, nil
}

// onMemory returns a copy of cfg with every binding on the in-process binder.
func onMemory(cfg *stream.Config) *stream.Config {
	c := *cfg
	c.DefaultBinder = memory.Type
	c.Binders = nil
	c.Bindings = make(map[string]stream.BindingConfig, len(cfg.Bindings))
	for n, b := range cfg.Bindings {
		b.Binder = ""
		c.Bindings[n] = b
	}
	c.Extensions = nil
	if ext, ok := cfg.Extensions[memory.Type]; ok {
		c.Extensions = map[string]stream.ExtensionConfig{memory.Type: ext}
	}
	return &c
}

// Send encodes v (JSON, or as is for []byte and string) and sends it to the
// destination of an input binding, with optional header pairs ("k", "v").
// A [stream.Message] (or a pointer to one) is sent as the app's bridge
// sends one: its payload encoded, its headers as headers (the pairs set
// over them), its Key as the message key; and its Received is how the app
// receives it (see [Env.SendEnvelope]): Received.Destination picks which
// of the binding's destinations it goes to, and the other fields it sets
// are what the function reads (a RabbitMQ routing key, say), the
// in-process binder filling in the offset, timestamp and destination.
// Expressions (a routing-expression) read the amqp_* headers of a
// Received with a Queue, Exchange or RoutingKey: set one of them to
// simulate a RabbitMQ message (amqp_redelivered reads Redelivered then).
// A [stream.Envelope] (or a non-nil pointer to one) is sent as the
// bridge sends one ([stream.EnvelopeOf]): its Payload bytes as they are,
// not encoded (bytes the binding cannot decode, say, to test its dead
// letters), with its headers (the pairs set over them), Key and Received,
// as [Env.SendEnvelope] sends it.
func (e *Env) Send(t testing.TB, inputBinding string, v any, headers ...string) {
	t.Helper()
	if env, ok := stream.EnvelopeOf(v); ok {
		// Bytes as they are, as Bridge().Send sends an Envelope: not
		// its struct as JSON.
		env.Payload = append([]byte(nil), env.Payload...)
		env.Key = append([]byte(nil), env.Key...)
		env.Headers = env.Headers.Clone()
		for i := 0; i+1 < len(headers); i += 2 {
			env.Headers = env.Headers.With(headers[i], headers[i+1])
		}
		if err := e.SendEnvelope(inputBinding, env); err != nil {
			t.Fatalf("%v", err) // the error says streamtest: already
		}
		return
	}
	if p, ok := v.(*stream.Envelope); ok && p == nil {
		t.Fatalf("streamtest: send to %s: a nil *stream.Envelope", inputBinding)
	}
	v, msgHeaders, key, rcv := splitMessage(v)
	var data []byte
	switch p := v.(type) {
	case []byte:
		data = p
	case string:
		data = []byte(p)
	default:
		var err error
		if data, err = json.Marshal(v); err != nil {
			t.Fatalf("streamtest: encode %T: %v", v, err)
		}
	}
	m := stream.Message[[]byte]{Payload: data, Headers: msgHeaders.Clone()}
	for i := 0; i+1 < len(headers); i += 2 {
		m.Headers = m.Headers.With(headers[i], headers[i+1])
	}
	if len(key) > 0 {
		m.Key = append([]byte(nil), key...)
	}
	if err := e.SendEnvelope(inputBinding, stream.Envelope{Payload: m.Payload, Headers: m.Headers, Key: m.Key, Received: rcv}); err != nil {
		t.Fatalf("%v", err) // the error says streamtest: already
	}
}

// splitMessage returns the payload, headers, key and Received of v when it
// is a stream.Message of any payload type, else v and no headers, key or
// Received. (Message's accessors for this are the stream package's own: a
// type of another package is known here by its name.)
func splitMessage(v any) (any, stream.Headers, []byte, stream.Received) {
	rv := reflect.ValueOf(v)
	if rv.Kind() == reflect.Pointer && !rv.IsNil() {
		rv = rv.Elem()
	}
	if !rv.IsValid() || rv.Kind() != reflect.Struct {
		return v, nil, nil, stream.Received{}
	}
	rt := rv.Type()
	if rt.PkgPath() != messagePkg || !strings.HasPrefix(rt.Name(), "Message[") {
		return v, nil, nil, stream.Received{}
	}
	h, _ := rv.FieldByName("Headers").Interface().(stream.Headers)
	k, _ := rv.FieldByName("Key").Interface().([]byte)
	r, _ := rv.FieldByName("Received").Interface().(stream.Received)
	return rv.FieldByName("Payload").Interface(), h, k, r
}

// messagePkg is the import path of stream.Message.
var messagePkg = reflect.TypeFor[stream.Message[int]]().PkgPath()

// SendEnvelope sends an encoded message to the destination of an input
// binding: the one m.Received.Destination names when set (one of the
// binding's destinations, else an error), else its first. The app
// receives it with m.Received: the in-process binder fills in the
// fields it leaves zero (the destination, offset and timestamp; the
// partition on a partitioned binding), so a test can give what another
// binder would tell (a RabbitMQ exchange and routing key, a Kafka
// partition and offset).
func (e *Env) SendEnvelope(inputBinding string, m stream.Envelope) error {
	b := e.App.Binding(inputBinding)
	if b == nil || !b.IsInput() {
		return fmt.Errorf("streamtest: send: %q is not an input binding of the app (input bindings: %s)", inputBinding, e.names(isInput))
	}
	dests := stream.Destinations(b.Destination())
	if len(dests) == 0 {
		return fmt.Errorf("streamtest: send: input binding %s has no destination", inputBinding)
	}
	dest := dests[0]
	if want := m.Received.Destination; want != "" {
		if !slices.Contains(dests, want) {
			return fmt.Errorf("streamtest: send: %q (Received.Destination) is not a destination of input binding %s (its destinations: %s)", want, inputBinding, strings.Join(dests, ", "))
		}
		dest = want
	}
	e.mu.Lock()
	p, ok := e.prods[dest]
	if !ok {
		var err error
		p, err = e.binder.BindProducer(context.Background(), stream.ProducerSpec{Binding: "streamtest:" + dest, Destination: dest, ContentType: stream.DefaultContentType})
		if err != nil {
			e.mu.Unlock()
			return fmt.Errorf("streamtest: send: bind %s: %w", dest, err)
		}
		e.prods[dest] = p
	}
	// The message gets its id here rather than from the producer, so that
	// the readers of output bindings know it for the harness's.
	id := m.Headers[stream.HeaderID]
	if id == "" {
		e.nextID++
		id = fmt.Sprintf("streamtest-%s-%d", e.idBase, e.nextID)
		m.Headers = m.Headers.Clone().With(stream.HeaderID, id)
	}
	if e.own[dest] == nil {
		e.own[dest] = map[string]struct{}{}
	}
	e.own[dest][id] = struct{}{}
	e.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), e.Timeout)
	defer cancel()
	if err := p.Send(ctx, m); err != nil {
		return fmt.Errorf("streamtest: send to %s: %w", dest, err)
	}
	e.mu.Lock()
	e.sent[dest]++
	e.mu.Unlock()
	return nil
}

// sentByHarness reports whether id is that of a message the harness sent
// to destination dest.
func (e *Env) sentByHarness(dest, id string) bool {
	if id == "" {
		return false
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	_, ok := e.own[dest][id]
	return ok
}

// ErrTimeout is returned when nothing arrives within the timeout.
var ErrTimeout = errors.New("streamtest: timed out")

// ReceiveEnvelope returns the next message the app sent through an output
// binding, or to a destination, or ErrTimeout. Like [Env.DeadLetter]'s,
// its Received is zero: it can be sent on to an input with SendEnvelope
// as an app's message.
//
// name is an output binding's name (case-insensitively), else a
// destination (as spelt): that of an output binding (its messages, as
// the binding's name reads them: the first output binding by name when
// several share it), or one the app sent to other than through its
// output bindings — a function's output routed by
// [stream.HeaderSendToDestination], the bridge's sends
// ([stream.Bridge.Send]) — which the harness reads from the moment the
// app binds it (its first send), as SCSt's OutputDestination.receive
// takes a destination's name. A destination of one of the app's input
// bindings fails at once: that binding consumes what is sent there. A
// name that is none of these yet is waited for within [Env.Timeout] (the
// app may not have sent there yet), then fails, listing the names it
// knows.
func (e *Env) ReceiveEnvelope(name string) (stream.Envelope, error) {
	start := time.Now()
	ch, ok := e.output(name, e.Timeout)
	if !ok {
		return stream.Envelope{}, fmt.Errorf("streamtest: receive: %s", e.unknownOutput(name, e.Timeout))
	}
	return e.nextWithin(ch, name, e.Timeout-time.Since(start))
}

// output returns the channel of what the app sent through the output
// binding or to the destination name names (see [Env.ReceiveEnvelope]),
// waiting up to wait for the app to bind a destination of that name.
func (e *Env) output(name string, wait time.Duration) (*inbox, bool) {
	if ch, ok := e.outs[strings.ToLower(name)]; ok {
		return ch, true
	}
	if key, ok := e.outDests[name]; ok {
		return e.outs[key], true
	}
	if len(e.inputsOf(name)) > 0 {
		return nil, false // the app's own input: nothing to wait for
	}
	var timer <-chan time.Time
	for {
		e.mu.Lock()
		d, bound := e.dyn[name], e.bound
		e.mu.Unlock()
		if d != nil && d.ch != nil {
			return d.ch, true
		}
		if timer == nil {
			if wait <= 0 {
				return nil, false
			}
			t := time.NewTimer(wait)
			defer t.Stop()
			timer = t.C
		}
		select {
		case <-bound:
		case <-timer:
			return nil, false
		}
	}
}

// inputsOf returns the names of the app's input bindings that read
// destination dest (of no output binding: see [Env.output]), sorted.
func (e *Env) inputsOf(dest string) []string {
	if !e.appDests[dest] {
		return nil
	}
	var out []string
	for _, b := range e.App.Bindings() {
		if b.IsInput() && slices.Contains(stream.Destinations(b.Destination()), dest) {
			out = append(out, b.Name())
		}
	}
	sort.Strings(out)
	return out
}

// unknownOutput says that name names no output binding or destination,
// listing those there are, or that it is a destination the app's inputs
// read.
func (e *Env) unknownOutput(name string, waited time.Duration) string {
	if inputs := e.inputsOf(name); len(inputs) > 0 {
		sent := ""
		e.mu.Lock()
		if d := e.dyn[name]; d != nil && d.sent.Load() > 0 {
			sent = fmt.Sprintf("; the app sent %d there", d.sent.Load())
		}
		e.mu.Unlock()
		binding := "binding"
		if len(inputs) > 1 {
			binding = "bindings"
		}
		return fmt.Sprintf("%q is an input destination of the app, whose messages its %s %s consumes%s: the test cannot receive them (Receive takes an output binding, or a destination the app sends to that no binding of it reads)",
			name, binding, strings.Join(inputs, ", "), sent)
	}
	dests := make([]string, 0, len(e.outDests))
	for d := range e.outDests {
		dests = append(dests, d)
	}
	e.mu.Lock()
	for d, dd := range e.dyn {
		if dd.ch != nil {
			dests = append(dests, d)
		}
	}
	e.mu.Unlock()
	sort.Strings(dests)
	list := "none"
	if len(dests) > 0 {
		list = strings.Join(dests, ", ")
	}
	within := ""
	if waited > 0 {
		within = " within " + waited.String()
	}
	return fmt.Sprintf("%q is not an output binding of the app, nor a destination it sent to%s (output bindings: %s; destinations: %s)", name, within, e.names(isOutput), list)
}

// DeadLetter returns the next message dead-lettered by an input binding
// (which must have consumer.dlq and a group), or ErrTimeout.
func (e *Env) DeadLetter(inputBinding string) (stream.Envelope, error) {
	ch, ok := e.dlqs[strings.ToLower(inputBinding)]
	if !ok {
		return stream.Envelope{}, fmt.Errorf("streamtest: dead letter: %q is not an input binding with a dlq (those with one: %s)", inputBinding, e.names(hasDLQ))
	}
	return e.next(ch, inputBinding)
}

func (e *Env) next(ch *inbox, name string) (stream.Envelope, error) {
	return e.nextWithin(ch, name, e.Timeout)
}

// nextWithin is next waiting d at most, a timeout saying [Env.Timeout].
func (e *Env) nextWithin(ch *inbox, name string, d time.Duration) (stream.Envelope, error) {
	if m, ok := ch.next(d); ok {
		return m, nil
	}
	return stream.Envelope{}, fmt.Errorf("%w after %s waiting on %s", ErrTimeout, e.Timeout, name)
}

// Receive returns the next message of an output binding, or of a
// destination (see [Env.ReceiveEnvelope]), decoded from JSON into T (or as
// is for []byte and string), failing the test on timeout.
func Receive[T any](t testing.TB, e *Env, name string) stream.Message[T] {
	t.Helper()
	m, err := e.ReceiveEnvelope(name)
	if err != nil {
		t.Fatalf("%v", err) // the error says streamtest: already
	}
	return decode[T](t, m)
}

// ReceiveDeadLetter is DeadLetter decoded like Receive.
func ReceiveDeadLetter[T any](t testing.TB, e *Env, inputBinding string) stream.Message[T] {
	t.Helper()
	m, err := e.DeadLetter(inputBinding)
	if err != nil {
		t.Fatalf("%v", err) // the error says streamtest: already
	}
	return decode[T](t, m)
}

// ExpectNone fails the test if an output binding, or a destination (see
// [Env.ReceiveEnvelope]), gets anything within d. It waits d whatever
// happens; [Env.ExpectNoOutput] does not wait. A destination the app has
// not sent to within d passes when the app may send there: when
// stream.dynamic-destinations is empty (any destination) or lists it. A
// name a non-empty list does not hold fails as one it does not know (a
// typo), as does a destination of an input binding of the app.
func (e *Env) ExpectNone(t testing.TB, name string, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	ch, ok := e.output(name, d)
	if !ok {
		if e.allowedDynamic(name) && e.inputsOf(name) == nil {
			return
		}
		t.Fatalf("streamtest: %s", e.unknownOutput(name, d))
	}
	if m, ok := ch.next(time.Until(deadline)); ok {
		t.Fatalf("streamtest: %s sent %q, expected nothing", name, m.Payload)
	}
}

// allowedDynamic reports whether the app may send to destination name:
// stream.dynamic-destinations is empty (any destination, as the send
// bridge takes it) or lists it.
func (e *Env) allowedDynamic(name string) bool {
	allow := e.App.Config().DynamicDestinations
	if len(allow) == 0 {
		return true
	}
	for _, d := range allow {
		if strings.EqualFold(d, name) {
			return true
		}
	}
	return false
}

func decode[T any](t testing.TB, m stream.Envelope) stream.Message[T] {
	t.Helper()
	out := stream.Message[T]{Headers: m.Headers, Key: m.Key}
	switch p := any(&out.Payload).(type) {
	case *[]byte:
		*p = m.Payload
	case *string:
		*p = string(m.Payload)
	default:
		if err := json.Unmarshal(m.Payload, &out.Payload); err != nil {
			t.Fatalf("streamtest: decode %q as %T: %v", m.Payload, out.Payload, err)
		}
	}
	return out
}

// Drain waits until the app has handled every message sent to its input
// bindings so far — by the harness (Send, SendEnvelope) and by the app
// itself (its output bindings, a function's output routed by
// [stream.HeaderSendToDestination], the bridge) — and the harness has
// taken in every message the app sent through its output bindings, to
// the other destinations it sent to and to its dead-letter queues. It
// fails the test after [Env.Timeout].
//
// A message counts as handled once it succeeded or failed its last
// attempt (it may be dead-lettered); one left for redelivery (its output
// could not be sent) is waited for until a later delivery is handled.
// Messages sent to an input's destination from outside the harness and
// the app (another app on [Env.Broker]) are not counted.
func (e *Env) Drain(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(e.Timeout)
	for {
		pending := e.pending()
		if pending == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("streamtest: not drained after %s: %s", e.Timeout, pending)
		}
		// The counters have no notification; a short poll bounded by the
		// deadline above.
		time.Sleep(time.Millisecond)
	}
}

// pending says what is not handled or taken in yet ("" when nothing).
func (e *Env) pending() string {
	bindings := e.App.Bindings()
	// The inputs' counters are read before the outputs': a function that
	// finishes in between has sent before it counted as handled, so its
	// sends are in sentTo; read the other way round, the next function
	// of a chain was compared with what had been sent to it before the
	// first one finished (0), and Drain returned early.
	stats := make([]stream.BindingStats, len(bindings))
	for i, b := range bindings {
		if b.IsInput() {
			stats[i] = b.Stats()
		}
	}
	sentTo := map[string]int64{} // by destination, by the app's outputs
	for i, b := range bindings {
		if !b.IsInput() {
			stats[i] = b.Stats()
			sentTo[b.Destination()] += stats[i].Sent
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	dests := make([]string, 0, len(e.dyn))
	for dest, d := range e.dyn {
		sentTo[dest] += d.sent.Load() // the app's other sends
		dests = append(dests, dest)
	}
	sort.Strings(dests)
	for _, dest := range dests {
		if d := e.dyn[dest]; d.ch != nil {
			if got, want := d.taken.Load(), d.sent.Load(); got < want {
				return fmt.Sprintf("the harness took in %d of the %d messages the app sent to %s", got, want, dest)
			}
		}
	}
	for i, b := range bindings {
		key := strings.ToLower(b.Name())
		st := stats[i]
		if !b.IsInput() {
			if got, want := e.taken[key].Load(), sentTo[b.Destination()]; got < want {
				return fmt.Sprintf("the harness took in %d of the %d messages sent to %s (%s)", got, want, b.Destination(), b.Name())
			}
			continue
		}
		var want int64
		for _, d := range strings.Split(b.Destination(), ",") {
			d = strings.TrimSpace(d)
			want += e.sent[d] + sentTo[d]
		}
		if got := st.Processed + st.Failed; got < want {
			return fmt.Sprintf("%s handled %d of the %d messages sent to it", b.Name(), got, want)
		}
		if n, ok := e.taken[key]; ok && n.Load() < st.DeadLettered {
			return fmt.Sprintf("the harness took in %d of the %d dead letters of %s", n.Load(), st.DeadLettered, b.Name())
		}
	}
	return ""
}

// ExpectNoOutput drains the app (see [Env.Drain]) and then fails the test
// if an output binding, or a destination (see [Env.ReceiveEnvelope]), got
// anything not yet received. A destination the app has not sent to passes
// when the app may send there: when stream.dynamic-destinations is empty
// (any destination) or lists it. A name a non-empty list does not hold
// fails as one it does not know (a typo), as does a destination of an
// input binding of the app.
func (e *Env) ExpectNoOutput(t testing.TB, name string) {
	t.Helper()
	e.Drain(t) // what the app sent so far, to a destination too
	ch, ok := e.output(name, 0)
	if !ok {
		if e.allowedDynamic(name) && e.inputsOf(name) == nil {
			return
		}
		t.Fatalf("streamtest: %s", e.unknownOutput(name, 0))
	}
	if m, ok := ch.next(0); ok {
		t.Fatalf("streamtest: %s sent %q, expected nothing", name, m.Payload)
	}
}

// ExpectNoDeadLetter drains the app (see [Env.Drain]) and then fails the
// test if an input binding dead-lettered anything not yet received.
func (e *Env) ExpectNoDeadLetter(t testing.TB, inputBinding string) {
	t.Helper()
	ch, ok := e.dlqs[strings.ToLower(inputBinding)]
	if !ok {
		t.Fatalf("streamtest: %q is not an input binding with a dlq (those with one: %s)", inputBinding, e.names(hasDLQ))
	}
	e.Drain(t)
	if m, ok := ch.next(0); ok {
		t.Fatalf("streamtest: %s dead-lettered %q (%s), expected nothing", inputBinding, m.Payload, m.Headers[stream.HeaderExceptionMessage])
	}
}

// testLog writes the app's log lines to the test's output (t.Output:
// shown with -v or when the test fails, without t.Log's file:line, which
// would be the harness's) until the test's cleanup ends (a line after
// that is dropped: the writer would panic).
type testLog struct {
	w    io.Writer
	mu   sync.Mutex
	done bool
}

func (l *testLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.done {
		_, _ = l.w.Write(p)
	}
	return len(p), nil
}

// printf writes one line of the harness's own.
func (l *testLog) printf(format string, args ...any) {
	_, _ = fmt.Fprintf(l, format+"\n", args...)
}

func (l *testLog) stop() {
	l.mu.Lock()
	l.done = true
	l.mu.Unlock()
}

func isInput(b *stream.Binding) bool  { return b.IsInput() }
func isOutput(b *stream.Binding) bool { return !b.IsInput() }
func hasDLQ(b *stream.Binding) bool {
	return b.IsInput() && b.Config().Consumer.DLQ && b.Group() != ""
}

// names lists the app's bindings that pass keep, as configured, sorted
// ("none" when none does): what an error about a wrong name offers.
func (e *Env) names(keep func(*stream.Binding) bool) string {
	var out []string
	for _, b := range e.App.Bindings() {
		if keep(b) {
			out = append(out, b.Name())
		}
	}
	if len(out) == 0 {
		return "none"
	}
	sort.Strings(out)
	return strings.Join(out, ", ")
}
