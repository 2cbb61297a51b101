package stream

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// RouterFunctionName is the name of the routing function (SCSt's
// RoutingFunction.FUNCTION_NAME): listing it in stream.function.definition,
// setting stream.function.routing-expression or
// stream.function.routing.enabled binds functionRouter-in-0, whose
// messages are each handed to the registered function or consumer their
// routing instruction (the [RoutingCallback], a header, the expression)
// names, and, when the catalog holds a function,
// functionRouter-out-0, where the results of routed-to functions go.
const RouterFunctionName = "functionRouter"

// Message headers that carry a routing instruction (SCSt's
// FunctionProperties.FUNCTION_DEFINITION and ROUTING_EXPRESSION).
const (
	HeaderFunctionDefinition = "spring.cloud.function.definition"
	HeaderRoutingExpression  = "spring.cloud.function.routing-expression"
)

// RoutingCallback picks the function or consumer that functionRouter-in-0
// hands message m to, by name: SCF's MessageRoutingCallback. It runs
// before the other routing instructions (the headers, then the
// routing-expression property); returning "" leaves the message to them.
// An error fails the message as a handler's error does: retried by the
// router binding's retry policy unless it is [Permanent] (dead-lettered at
// once); a panic is a [*PanicError]. m's payload is the message as it
// arrived (before conversion) and, with its headers and its Key (the key
// it arrived with, as a function's Message input has it), read-only; m is
// valid only during the call. The callback runs on the router binding's
// goroutines, concurrently with itself when its concurrency is above 1.
type RoutingCallback func(ctx context.Context, m Message[[]byte]) (string, error)

// WithRoutingCallback sets the routing callback of functionRouter (see
// [RoutingCallback]). The router must be bound
// (stream.function.routing.enabled, a routing-expression, or
// functionRouter in stream.function.definition): a callback that would
// never run is a configuration error. SCSt's equivalent is a
// MessageRoutingCallback bean.
func WithRoutingCallback(cb RoutingCallback) Option {
	return func(o *options) { o.routing = cb }
}

// maxRoutingHeaderExpression bounds a routing expression carried by a
// message: it is compiled per message.
const maxRoutingHeaderExpression = 1024

// routingOn reports whether the configuration binds the router without
// naming it in the definition.
func routingOn(cfg *Config) bool {
	return cfg.Function.Routing.Enabled || strings.TrimSpace(cfg.Function.RoutingExpression) != ""
}

// resolveDefinition resolves stream.function.definition against the
// catalog, binding the routing function when it is named (and not
// registered by the application itself) or routing is on.
func (a *App) resolveDefinition(v *validator, fns *Catalog, explicit []explicitInput) []*boundFunc {
	def := a.cfg.Function.Definition
	router := false
	if _, registered := fns.entries[RouterFunctionName]; !registered {
		var rest []string
		for _, item := range strings.Split(def, ";") {
			item = strings.TrimSpace(item)
			switch {
			case item == RouterFunctionName:
				router = true
			case strings.Contains(item, RouterFunctionName) && containsPart(item, RouterFunctionName):
				v.add("stream.function.definition", "%q: %s cannot be composed", item, RouterFunctionName)
			case item != "":
				rest = append(rest, item)
			}
		}
		if routingOn(a.cfg) {
			router = true
		}
		def = strings.Join(rest, ";")
	}
	if a.opts.routing != nil && !router {
		why := "stream.function.routing.enabled is false, no stream.function.routing-expression is set and stream.function.definition does not name " + RouterFunctionName
		if _, registered := fns.entries[RouterFunctionName]; registered {
			why = "a function of the application is registered as " + RouterFunctionName
		}
		v.add("stream.function.routing.enabled", "a routing callback is set (WithRoutingCallback) but %s is not bound: %s", RouterFunctionName, why)
	}
	var bound []*boundFunc
	if def != "" || !router {
		var probs []string
		resolveIn := fns
		if strings.TrimSpace(def) == "" && len(explicit) > 0 {
			// The consumers of stream.input-bindings are bound there, not
			// as the only function of an empty definition.
			resolveIn = fns.without(explicit)
		}
		bound, probs = resolveIn.resolve(def)
		for _, p := range probs {
			if strings.TrimSpace(def) == "" && a.cfg.NoConfigFile != "" {
				p += "; " + a.cfg.NoConfigFile // the file that would have said which
			}
			v.add("stream.function.definition", "%s", p)
		}
	}
	if !router {
		return bound
	}
	rf, err := a.newRouter(fns)
	if err != nil {
		v.add("stream.function.routing-expression", "%v", err)
		return bound
	}
	if rf == nil {
		v.add("stream.function.definition", "%s has nothing to route to: no function or consumer is registered", RouterFunctionName)
		return bound
	}
	return append(bound, rf)
}

func containsPart(item, name string) bool {
	for _, p := range strings.Split(item, "|") {
		if strings.TrimSpace(p) == name {
			return true
		}
	}
	return false
}

// newRouter builds the bound routing function: nil when the catalog has
// nothing to route to.
func (a *App) newRouter(fns *Catalog) (*boundFunc, error) {
	var expr *Expression
	if s := strings.TrimSpace(a.cfg.Function.RoutingExpression); s != "" {
		var err error
		if expr, err = CompileExpression(s, "", "payload", "headers"); err != nil {
			return nil, err
		}
	}
	targets := map[string]*entry{}
	suppliers := map[string]bool{}
	kind := KindConsumer
	for name, e := range fns.entries {
		switch e.kind {
		case KindFunction:
			kind = KindFunction
		case KindConsumer:
		default:
			suppliers[name] = true // suppliers take no input
			continue
		}
		targets[name] = e
	}
	if len(targets) == 0 {
		return nil, nil
	}
	if expr != nil && expr.constant {
		// A constant expression routes every message one way: one that
		// names no routable function fails them all, so refuse it now.
		names := make([]string, 0, len(targets))
		for n := range targets {
			names = append(names, n)
		}
		sort.Strings(names)
		v, err := expr.Eval(nil)
		if err != nil {
			return nil, err
		}
		s, isString := v.(string)
		got := fmt.Sprintf("%q", s)
		if !isString {
			got = fmt.Sprintf("%v", v)
		}
		if n, err := checkRouteName(strings.TrimSpace(s), "expression "+strconv.Quote(expr.src)); err != nil {
			return nil, err
		} else if targets[n] == nil {
			return nil, fmt.Errorf("expression %q is constant and yields %s, which names no registered function or consumer (routable: %s)", expr.src, got, strings.Join(names, ", "))
		}
	}
	e := &entry{name: RouterFunctionName, kind: kind, in: erase(codecFor[[]byte]()), router: true}
	if kind == KindFunction {
		e.out = erase(codecFor[[]byte]())
	}
	e.newHandler = func(rt *runtimeBinding) messageHandler {
		h := &routerHandler{rt: rt, expr: expr, callback: a.opts.routing, targets: map[string]messageHandler{}, suppliers: suppliers}
		for name, t := range targets {
			sub := *rt // the router's bindings, conversion and retry policy
			sub.fn = &boundFunc{name: name, parts: []*entry{t}, kind: t.kind}
			sub.log = rt.log.With("routed_to", name)
			h.targets[name] = t.newHandler(&sub)
			h.names = append(h.names, name)
		}
		sort.Strings(h.names)
		return h
	}
	return &boundFunc{name: RouterFunctionName, parts: []*entry{e}, kind: kind}, nil
}

// routerHandler is the handler of functionRouter-in-0.
type routerHandler struct {
	rt        *runtimeBinding
	expr      *Expression     // stream.function.routing-expression; nil: none
	callback  RoutingCallback // WithRoutingCallback; nil: none
	targets   map[string]messageHandler
	names     []string
	suppliers map[string]bool // registered, not routable
}

// handle routes one message. The instruction is looked for as SCF's
// RoutingFunction does: the routing callback, then the
// spring.cloud.function.definition header, then the
// spring.cloud.function.routing-expression header, then the
// routing-expression property. A message that names nothing registered, or
// carries no instruction, fails permanently: it is dead-lettered (or
// dropped) with the reason, never retried. The callback's own errors are
// the handler's (see RoutingCallback).
func (h *routerHandler) handle(ctx context.Context, env Envelope) error {
	if h.callback != nil {
		var name string
		err := safeCall(func() (err error) {
			name, err = h.callback(ctx, Message[[]byte]{Payload: env.Payload, Headers: env.Headers, Key: env.Key})
			return err
		})
		if err != nil {
			// Permanent outside the context, so that the reason reads
			// "functionRouter: routing callback: <the callback's error>".
			if pe, ok := err.(*PermanentError); ok {
				return Permanent(fmt.Errorf("%s: routing callback: %w", RouterFunctionName, pe.Err))
			}
			return fmt.Errorf("%s: routing callback: %w", RouterFunctionName, err)
		}
		if name = strings.TrimSpace(name); name != "" {
			if _, err := checkRouteName(name, "routing callback"); err != nil {
				return Permanent(fmt.Errorf("%s: %w", RouterFunctionName, err))
			}
			return h.to(ctx, name, "routing callback", env)
		}
	}
	name, err := h.route(env)
	if err != nil {
		if h.callback != nil {
			err = fmt.Errorf("the routing callback returned \"\", and %w", err)
		}
		return Permanent(fmt.Errorf("%s: %w", RouterFunctionName, err))
	}
	return h.to(ctx, name, "", env)
}

// to hands env to the target name; from says which instruction named it
// when that is not evident from the message ("" otherwise).
func (h *routerHandler) to(ctx context.Context, name, from string, env Envelope) error {
	t, ok := h.targets[name]
	if !ok {
		if from != "" {
			from += ": "
		}
		what := fmt.Sprintf("no function or consumer %q is registered", name)
		if h.suppliers[name] {
			what = fmt.Sprintf("%q is a supplier, which takes no input", name)
		}
		return Permanent(fmt.Errorf("%s: %s%s (routable: %s)", RouterFunctionName, from, what, strings.Join(h.names, ", ")))
	}
	return t.handle(ctx, env)
}

func (h *routerHandler) route(env Envelope) (string, error) {
	if d := strings.TrimSpace(env.Headers[HeaderFunctionDefinition]); d != "" {
		return checkRouteName(d, "header "+HeaderFunctionDefinition)
	}
	expr := h.expr
	from := "stream.function.routing-expression"
	if s := strings.TrimSpace(env.Headers[HeaderRoutingExpression]); s != "" {
		if len(s) > maxRoutingHeaderExpression {
			return "", fmt.Errorf("header %s is %d bytes long (at most %d)", HeaderRoutingExpression, len(s), maxRoutingHeaderExpression)
		}
		var err error
		if expr, err = CompileExpression(s, "", "payload", "headers"); err != nil {
			return "", fmt.Errorf("header %s: %w", HeaderRoutingExpression, err)
		}
		from = "header " + HeaderRoutingExpression
	}
	if expr == nil {
		return "", fmt.Errorf("no routing instruction: the message has neither a %s nor a %s header, and stream.function.routing-expression is not set", HeaderFunctionDefinition, HeaderRoutingExpression)
	}
	vars := map[string]any{"headers": expr.inputHeaders(env)}
	if expr.usesPayload {
		vars["payload"] = ExpressionPayload(env.Payload)
	}
	v, err := expr.Eval(vars)
	if err != nil {
		return "", fmt.Errorf("%s: %w", from, err)
	}
	if v == nil {
		return "", fmt.Errorf("%s: expression %q yielded null", from, expr)
	}
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("%s: expression %q yielded %T %v, want a function name", from, expr, v, v)
	}
	return checkRouteName(strings.TrimSpace(s), from)
}

func checkRouteName(name, from string) (string, error) {
	if strings.ContainsAny(name, "|;,") {
		return "", fmt.Errorf("%s: %q: routing to a composition or a list is not supported, name one function", from, name)
	}
	return name, nil
}
