package stream

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/streambind/streambind/internal/didyoumean"
)

// Kind is the kind of a registered function.
type Kind int

// Function kinds.
const (
	KindSupplier Kind = iota + 1 // produces: binding <name>-out-0
	KindFunction                 // transforms: <name>-in-0 → <name>-out-0
	KindConsumer                 // consumes: <name>-in-0
)

func (k Kind) String() string {
	switch k {
	case KindSupplier:
		return "supplier"
	case KindFunction:
		return "function"
	case KindConsumer:
		return "consumer"
	}
	return "invalid"
}

// Emitter sends one value from a [Source] to its output binding. It returns
// once the binder confirmed the message, or with the error that prevented
// it; it is safe for concurrent use. While the binding is stopped or paused
// it waits (bounded by ctx) for it to start again, except once the app
// shuts down: it then fails with [ErrBindingStopped].
type Emitter[T any] func(ctx context.Context, v T) error

// Source is an event-driven supplier: it runs from start-up until ctx ends
// (or it returns), calling emit whenever something happens — an order is
// placed, a file arrives. Returning ends the source; a non-nil error is logged.
type Source[T any] func(ctx context.Context, emit Emitter[T]) error

// FromChannel returns a Source that emits every value received on ch until
// ch is closed or the app stops. A value whose send fails is re-sent with
// back-off until it is confirmed or the app stops, so a value taken from ch
// is lost only if the app stops before the broker took it.
func FromChannel[T any](ch <-chan T) Source[T] {
	return func(ctx context.Context, emit Emitter[T]) error {
		for {
			select {
			case <-ctx.Done():
				return nil
			case v, ok := <-ch:
				if !ok {
					return nil
				}
				if err := emitRetrying(ctx, emit, v); err != nil {
					return err
				}
			}
		}
	}
}

// Catalog holds functions registered by name. Register everything before
// creating the app; a Catalog is not safe for concurrent registration.
type Catalog struct {
	entries map[string]*entry
	errs    []error
}

// NewCatalog returns an empty catalog.
func NewCatalog() *Catalog { return &Catalog{entries: map[string]*entry{}} }

// Names returns the registered names, sorted.
func (c *Catalog) Names() []string {
	n := make([]string, 0, len(c.entries))
	for k := range c.entries {
		n = append(n, k)
	}
	sort.Strings(n)
	return n
}

// entry is one registered function, in typed and erased forms.
type entry struct {
	name string
	kind Kind
	in   anyCodec // zero for suppliers
	out  anyCodec // zero for consumers
	// Typed fast paths, built by the generic Add* functions.
	newHandler func(rt *runtimeBinding) messageHandler // function, consumer
	newRunner  func(rt *runtimeBinding) supplierRunner // supplier
	// call is the erased form, for composition and batches:
	// supplier: in ignored; consumer: out ignored.
	call func(ctx context.Context, in any) (any, error)
	// source is set for event-driven suppliers (erased).
	source func(ctx context.Context, emit func(context.Context, any) error) error
	// inElem is the element codec when the input is a slice (batch mode).
	inElem *anyCodec
	// router marks the routing function the framework binds (not a
	// function the application registered under its name).
	router bool
}

func (c *Catalog) add(e *entry) {
	if e.name == "" || strings.ContainsAny(e.name, ";|,") {
		c.errs = append(c.errs, fmt.Errorf("function name %q: must be non-empty without ';', '|' or ','", e.name))
		return
	}
	if _, dup := c.entries[e.name]; dup {
		c.errs = append(c.errs, fmt.Errorf("function %q registered twice", e.name))
		return
	}
	for n := range c.entries {
		if strings.EqualFold(n, e.name) {
			// Binding names are case-insensitive in configuration.
			c.errs = append(c.errs, fmt.Errorf("function %q differs from %q only in case", e.name, n))
			return
		}
	}
	c.entries[e.name] = e
}

// AddSupplier registers a polled supplier: the app calls fn on the
// schedule of <name>-out-0's producer.poller (by default once a second:
// fixed-delay 1s; also fixed-rate, initial-delay, cron and
// max-messages-per-poll, see [PollerConfig]) and sends what it returns to
// <name>-out-0. Returning [Skip] or a nil value sends nothing, and ends
// the poll.
func AddSupplier[Out any](c *Catalog, name string, fn func(ctx context.Context) (Out, error)) {
	out := codecFor[Out]()
	c.add(&entry{
		name: name, kind: KindSupplier, out: erase(out),
		newRunner: func(rt *runtimeBinding) supplierRunner {
			return &polledSupplier[Out]{rt: rt, fn: fn, out: out}
		},
		call: func(ctx context.Context, _ any) (any, error) { return fn(ctx) },
	})
}

// AddSource registers an event-driven supplier; see [Source] and
// [FromChannel].
func AddSource[Out any](c *Catalog, name string, src Source[Out]) {
	out := codecFor[Out]()
	c.add(&entry{
		name: name, kind: KindSupplier, out: erase(out),
		newRunner: func(rt *runtimeBinding) supplierRunner {
			return &sourceSupplier[Out]{rt: rt, src: src, out: out}
		},
		source: func(ctx context.Context, emit func(context.Context, any) error) error {
			return src(ctx, func(ctx context.Context, v Out) error { return emit(ctx, v) })
		},
	})
}

// AddFunction registers a function: each message of <name>-in-0 is decoded
// into In, passed to fn, and the result encoded and sent to <name>-out-0
// before the input is acknowledged. Returning [Skip] or a nil value sends
// nothing. With consumer.batch-mode, In must be a slice.
func AddFunction[In, Out any](c *Catalog, name string, fn func(ctx context.Context, in In) (Out, error)) {
	in, out := codecFor[In](), codecFor[Out]()
	c.add(&entry{
		name: name, kind: KindFunction, in: erase(in), out: erase(out), inElem: elemCodec[In](),
		newHandler: func(rt *runtimeBinding) messageHandler {
			return &functionHandler[In, Out]{rt: rt, fn: fn, in: in, out: out}
		},
		call: func(ctx context.Context, v any) (any, error) { return fn(ctx, v.(In)) },
	})
}

// AddConsumer registers a consumer of <name>-in-0. With
// consumer.batch-mode, In must be a slice.
func AddConsumer[In any](c *Catalog, name string, fn func(ctx context.Context, in In) error) {
	in := codecFor[In]()
	c.add(&entry{
		name: name, kind: KindConsumer, in: erase(in), inElem: elemCodec[In](),
		newHandler: func(rt *runtimeBinding) messageHandler {
			return &consumerHandler[In]{rt: rt, fn: fn, in: in}
		},
		call: func(ctx context.Context, v any) (any, error) { return nil, fn(ctx, v.(In)) },
	})
}

// elemCodec returns the codec of the element type when In is a slice other
// than []byte (for batch mode), built with reflection since Go cannot name
// the element type of a type parameter.
func elemCodec[In any]() *anyCodec {
	t := reflect.TypeFor[In]()
	if t.Kind() != reflect.Slice || t.Elem().Kind() == reflect.Uint8 {
		return nil
	}
	et := t.Elem()
	c := &anyCodec{typ: et}
	switch {
	case et == reflect.TypeFor[[]byte]():
		c.raw = true
		c.decode = func(_ *convCtx, env Envelope, _ string) (any, error) { return env.Payload, nil }
	case et == reflect.TypeFor[string]():
		// string only, as codecFor: a named string type (a TextUnmarshaler,
		// an enum with UnmarshalJSON) goes through the converter, here as
		// when it is a single message's type. Taken raw, a batch of them
		// kept the quotes of the JSON its producer sent.
		c.raw = true
		c.decode = func(_ *convCtx, env Envelope, _ string) (any, error) {
			return reflect.ValueOf(string(env.Payload)).Convert(et).Interface(), nil
		}
	case et.Kind() == reflect.Pointer && et.Implements(reflect.TypeFor[messageCodec]()):
		// []*Message[X]: each element a new *Message[X], as codecFor does.
		c.decode = func(cx *convCtx, env Envelope, ct string) (any, error) {
			p := reflect.New(et.Elem())
			if err := p.Interface().(messageCodec).fromEnvelope(cx, env, ct); err != nil {
				return nil, err
			}
			return p.Interface(), nil
		}
	default:
		c.decode = func(cx *convCtx, env Envelope, ct string) (any, error) {
			p := reflect.New(et)
			if mc, ok := p.Interface().(messageCodec); ok {
				if err := mc.fromEnvelope(cx, env, ct); err != nil {
					return nil, err
				}
				return p.Elem().Interface(), nil
			}
			conv, ok := cx.lookup(ct)
			if !ok {
				return nil, Permanent(&ConversionError{Binding: cx.binding, ContentType: ct, Type: et.String(), Decode: true, Err: errNoConverter})
			}
			if err := unmarshalWith(conv, env.Payload, p.Interface()); err != nil {
				return nil, Permanent(&ConversionError{Binding: cx.binding, ContentType: ct, Type: et.String(), Decode: true, Err: err})
			}
			return p.Elem().Interface(), nil
		}
	}
	return c
}

var errNoConverter = errors.New("no converter registered for this content type")

// definition is a parsed function definition: one or more bound functions,
// each a composition of one or more registered names.
type boundFunc struct {
	name  string   // "a" or "a|b"
	parts []*entry // in order
	kind  Kind
}

func (b *boundFunc) inBinding() string  { return b.name + "-in-0" }
func (b *boundFunc) outBinding() string { return b.name + "-out-0" }

// without returns a catalog of c's entries but the handlers of explicit.
func (c *Catalog) without(explicit []explicitInput) *Catalog {
	out := &Catalog{entries: make(map[string]*entry, len(c.entries)), errs: c.errs}
	for n, e := range c.entries {
		out.entries[n] = e
	}
	for _, in := range explicit {
		delete(out.entries, in.fn.name)
	}
	return out
}

// resolve parses a definition against the catalog and returns the bound
// functions or every problem found.
func (c *Catalog) resolve(def string) ([]*boundFunc, []string) {
	var probs []string
	def = strings.TrimSpace(def)
	if def == "" {
		switch len(c.entries) {
		case 0:
			return nil, nil
		case 1:
			for n := range c.entries {
				def = n
			}
		default:
			return nil, []string{fmt.Sprintf("is empty but %d functions are registered (%s): say which to bind", len(c.entries), strings.Join(c.Names(), ", "))}
		}
	}
	var out []*boundFunc
	seen := map[string]bool{}
	// The names not registered, said in one problem (its how-to once),
	// where the first was met.
	var missing []string
	missingAt := -1
	for _, item := range strings.Split(def, ";") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		bf := &boundFunc{}
		var names []string
		ok := true
		for _, n := range strings.Split(item, "|") {
			n = strings.TrimSpace(n)
			names = append(names, n)
			if n == "" {
				// "a|", "|a", "a||b": a stray '|', not a function named "".
				probs = append(probs, fmt.Sprintf("%q: a '|' without a function name on each side", item))
				ok = false
				continue
			}
			e, found := c.entries[n]
			if !found {
				if missingAt < 0 {
					missingAt = len(probs)
				}
				if !slices.Contains(missing, n) {
					missing = append(missing, n)
				}
				ok = false
				continue
			}
			bf.parts = append(bf.parts, e)
		}
		bf.name = strings.Join(names, "|")
		if !ok {
			continue
		}
		if seen[bf.name] {
			probs = append(probs, fmt.Sprintf("%q is listed twice", bf.name))
			continue
		}
		seen[bf.name] = true
		kind, err := composedKind(bf.parts)
		if err != nil {
			probs = append(probs, fmt.Sprintf("%q: %v", bf.name, err))
			continue
		}
		bf.kind = kind
		out = append(out, bf)
	}
	if len(missing) > 0 {
		probs = slices.Insert(probs, missingAt, c.notRegistered(missing))
	}
	return out, probs
}

// notRegistered is the problem of the function name n of the definition
// that is not registered: with the registered name n most likely
// misspells, the registered names, and how to run the process without
// n: a definition read from a configuration file shared with another
// process (the service's application.yaml names its processor, a
// producer-only process of the same service registers none) is replaced
// by the environment or a profile. (A ',' in the definition composes,
// as '|' does: NormalizeDefinition.)
//
// Several names not registered are one problem, the how-to said once
// (ship;bill with nothing registered printed it twice).
func (c *Catalog) notRegistered(ns []string) string {
	names := c.Names()
	if len(ns) == 1 {
		n := ns[0]
		msg := fmt.Sprintf("function %q is not registered", n)
		if len(names) == 0 {
			return msg + " (registered: none); " + runWithoutFunctions
		}
		if sug := didyoumean.Suggest(n, names); sug != "" {
			msg += "; did you mean " + sug + "?"
		}
		return msg + " (registered: " + strings.Join(names, ", ") + fmt.Sprintf("); if this process does not run %q, give it its own definition: STREAM_FUNCTION_DEFINITION=<its functions>, or stream.function.definition in a profile of its own", n)
	}
	quoted := make([]string, len(ns))
	for i, n := range ns {
		quoted[i] = strconv.Quote(n)
		if sug := didyoumean.Suggest(n, names); sug != "" && len(names) > 0 {
			quoted[i] += " (did you mean " + sug + "?)"
		}
	}
	msg := "functions " + strings.Join(quoted[:len(quoted)-1], ", ") + " and " + quoted[len(quoted)-1] + " are not registered"
	if len(names) == 0 {
		return msg + " (registered: none); " + runWithoutFunctions
	}
	return msg + " (registered: " + strings.Join(names, ", ") + "); if this process does not run them, give it its own definition: STREAM_FUNCTION_DEFINITION=<its functions>, or stream.function.definition in a profile of its own"
}

// runWithoutFunctions is how a process with no function registered runs
// despite a definition read from a shared file.
const runWithoutFunctions = "a process that binds no function (one that only sends, through the Bridge) runs with an empty definition: set STREAM_FUNCTION_DEFINITION= (empty; or SPRING_CLOUD_FUNCTION_DEFINITION=), or stream.function.definition: '' in a profile of its own"

// composedKind checks a composition: a supplier may only come first, a
// consumer only last, and the whole needs at least one binding.
func composedKind(parts []*entry) (Kind, error) {
	for i, p := range parts {
		if p.kind == KindSupplier && i > 0 {
			return 0, fmt.Errorf("supplier %q can only be first in a composition", p.name)
		}
		if p.kind == KindConsumer && i < len(parts)-1 {
			return 0, fmt.Errorf("consumer %q can only be last in a composition", p.name)
		}
		if p.source != nil && len(parts) > 1 {
			return 0, fmt.Errorf("source %q cannot be composed", p.name)
		}
	}
	first, last := parts[0].kind, parts[len(parts)-1].kind
	switch {
	case len(parts) == 1:
		return first, nil
	case first == KindSupplier && last == KindConsumer:
		return 0, errors.New("a supplier composed with a consumer has no binding")
	case first == KindSupplier:
		return KindSupplier, nil
	case last == KindConsumer:
		return KindConsumer, nil
	}
	return KindFunction, nil
}
