package stream

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"os/signal"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/streambind/streambind/internal/didyoumean"
)

// Option configures an [App].
type Option func(*options)

type options struct {
	log           *slog.Logger
	binderTypes   BinderTypes
	converters    *Converters
	extractors    map[string]KeyExtractor
	errorHandlers map[string]ErrorHandler
	// namedErrorHandlers are those of WithNamedErrorHandler, by name.
	namedErrorHandlers map[string]ErrorHandler
	routing            RoutingCallback             // WithRoutingCallback (routing.go)
	namedErrors        map[string]func(error) bool // WithNamedError (bindingprops.go)
	errorNames         map[string]string           // the names of namedErrors as registered
	signals            bool
	tracer             trace.Tracer
	propagator         propagation.TextMapPropagator
}

// WithLogger sets the app's logger. Default: slog.Default().
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.log = l } }

// WithBinderType registers a binder type, e.g.
// WithBinderType(memory.Type, memory.New). The app can only use binder types
// registered this way.
func WithBinderType(name string, f BinderFactory) Option {
	return func(o *options) { o.binderTypes.Add(name, f) }
}

// WithConverter registers a converter for a MIME type, replacing a built-in.
// The type may be a wildcard ("application/*+avro"): see [Converters.Lookup].
// NewApp refuses a function's output binding whose content type no
// converter handles when the function returns a typed payload (not []byte,
// string, or a Message or batch of them), and warns of such an input
// binding (a message's own contentType header picks its converter).
func WithConverter(mimeType string, c Converter) Option {
	return func(o *options) { o.converters.Add(mimeType, c) }
}

// WithKeyExtractor registers a partition key extractor under a name, for
// producer.partition-key-extractor-name.
func WithKeyExtractor(name string, k KeyExtractor) Option {
	return func(o *options) { o.extractors[name] = k }
}

// WithErrorHandler sets the error handler of an input binding, called for
// each message that failed every attempt. It wins over the handler the
// binding's error-handler-definition names.
func WithErrorHandler(binding string, h ErrorHandler) Option {
	return func(o *options) { o.errorHandlers[strings.ToLower(binding)] = h }
}

// WithNamedErrorHandler registers an error handler under a name, for a
// binding's error-handler-definition (or stream.default's, for every input
// binding): SCSt's names a Consumer<ErrorMessage> bean, and this is where
// a Go program defines it, as WithKeyExtractor for
// partition-key-extractor-name. Names are case-sensitive, as bean names.
// An error-handler-definition naming no registered handler fails NewApp,
// listing the registered names.
func WithNamedErrorHandler(name string, h ErrorHandler) Option {
	return func(o *options) { o.namedErrorHandlers[name] = h }
}

// WithSignals makes [App.Run] handle SIGINT and SIGTERM: either ends the
// run as the end of its context does (a graceful shutdown). Off by default:
// as Go libraries do, the app leaves signals to main, which owns the
// process —
//
//	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
//	defer stop()
//	err := app.Run(ctx)
//
// — and stops when the context given to Run ends. WithSignals suits a main
// with nothing else to stop.
func WithSignals() Option { return func(o *options) { o.signals = true } }

// WithoutSignals is the default (see [WithSignals]); it is kept so that
// code written when signals were handled by default still compiles and
// says what it wants.
func WithoutSignals() Option { return func(o *options) { o.signals = false } }

// App runs bound functions: it owns the binders, the bindings and the send
// bridge. Create it with [NewApp], run it with [App.Run].
type App struct {
	cfg      *Config
	opts     options
	log      *slog.Logger
	funcs    []*runtimeBinding
	bindings []*Binding // outputs first, in definition order
	byName   map[string]*Binding
	binders  map[string]*binderInstance
	bridge   *Bridge
	catalog  *Catalog // for Functions
	tracing  *tracing // nil: off
	// commaItems are the definition's items written with ',' (commaDefinition).
	commaItems map[string]string
	// noDefaultBinder, when set, is why no binder is the default: reported
	// once, for the first binding that needs the default.
	noDefaultBinder string
	// ownBinderKeys maps each binding (lower-cased) that names its own
	// binder to that key (binderKey; made in NewApp), for the bindings of
	// ownBinderKeysOf: NewApp replaces a.cfg (a dead-letter reader takes
	// its source's binder), and the map is made again for the new one.
	ownBinderKeys   map[string]string
	ownBinderKeysOf *Config

	mu       sync.Mutex // guards binders after start (the bridge adds some)
	running  atomic.Bool
	ready    chan struct{}
	stopping chan struct{} // closed when shutdown begins

	components []*componentState // guarded by mu (component.go)
}

type binderInstance struct {
	name, typ string
	binder    Binder
	// startupTimeout: stream.binders.<name>.startup-timeout, defaulted.
	startupTimeout time.Duration
	// unavailable is how long the binder's failed bind attempts and the
	// waits after them took so far, over all its bindings (start-up binds
	// one binding at a time): startupTimeout bounds it, so that a broker
	// that is down fails start-up after startupTimeout however many
	// bindings wait, and a slow but working one is not failed however long
	// its many binds take.
	unavailable time.Duration
}

// NewApp validates cfg against the catalog and the registered binder types
// and prepares the app. It reports every problem it finds at once (as
// [ConfigErrors]) and does no network I/O.
func NewApp(cfg *Config, fns *Catalog, opts ...Option) (*App, error) {
	if cfg == nil {
		cfg = &Config{}
	}
	if fns == nil {
		fns = NewCatalog()
	}
	o := options{binderTypes: BinderTypes{}, converters: NewConverters(), extractors: map[string]KeyExtractor{},
		errorHandlers: map[string]ErrorHandler{}, namedErrorHandlers: map[string]ErrorHandler{}}
	for _, opt := range opts {
		opt(&o)
	}
	if o.log == nil {
		o.log = slog.Default()
	}
	// The configuration loader's warnings, where it left them to the app
	// (it ran before the program's logger existed): in the app's log.
	cfg.LoaderWarnings.Log(o.log)
	cfg = withImpliedBinderTypes(cfg, o.binderTypes)
	cfg, commaItems := commaDefinition(cfg) // "a,b" composes, as a|b
	var tr *tracing
	if o.tracer != nil {
		if o.propagator == nil {
			o.propagator = propagation.TraceContext{}
		}
		tr = &tracing{tracer: o.tracer, propagator: o.propagator}
	}
	a := &App{cfg: cfg, opts: o, log: o.log, tracing: tr, byName: map[string]*Binding{}, binders: map[string]*binderInstance{},
		ready: make(chan struct{}), stopping: make(chan struct{})}
	a.bridge = newBridge(a)
	a.catalog = fns
	a.commaItems = commaItems
	v := validator{cfg: cfg}
	for _, err := range fns.errs {
		v.add("functions", "%v", err)
	}
	explicitIn := a.explicitInputs(&v, fns)
	bound := a.resolveDefinition(&v, fns, explicitIn) // functionRouter too (routing.go)
	a.warnUnusedFunctionSettings(bound)
	a.checkCompositions(&v, bound) // composecheck.go
	a.checkInstance(&v)
	a.checkLimits(&v)
	a.checkBinderDeclarations(&v)
	a.chooseDefaultBinder()

	// The bindings of bound functions, then the bridge's output bindings.
	type pending struct {
		rt    *runtimeBinding
		name  string
		input bool
		key   string // the key that names it, when not the function definition
		// functional is a function binding's functional name ("a|b-in-0").
		functional string
	}
	var want []pending
	for _, bf := range bound {
		rt := &runtimeBinding{fn: bf, sendWarn: new(warnGate), bridge: a.bridge}
		rt.hdrMaps = a.headerMappings(&v, bf)
		// stream.function.bindings: the binding has its configured name
		// everywhere (logs, management, errors), not its functional one.
		// A new name a binding cannot have is reported at the rename
		// (checkRenames): the binding is not prepared under it.
		if n := cfg.FunctionBindingName(bf.inBinding()); bf.kind != KindSupplier && (n == bf.inBinding() || checkBindingName(n) == nil) {
			want = append(want, pending{rt, n, true, "stream.function.bindings", bf.inBinding()})
		}
		if n := cfg.FunctionBindingName(bf.outBinding()); bf.kind != KindConsumer && (n == bf.outBinding() || checkBindingName(n) == nil) {
			want = append(want, pending{rt, n, false, "stream.function.bindings", bf.outBinding()})
		}
		a.funcs = append(a.funcs, rt)
	}
	a.checkRenames(&v, bound)
	for _, in := range explicitIn {
		rt := &runtimeBinding{fn: in.fn, sendWarn: new(warnGate), bridge: a.bridge}
		want = append(want, pending{rt, in.binding, true, "stream.input-bindings", ""})
		a.funcs = append(a.funcs, rt)
	}
	// Empty items ("a;;b", a trailing ';') are skipped, as SCSt skips
	// them; a name a binding cannot have is refused.
	for _, n := range strings.Split(cfg.OutputBindings, ";") {
		if n = strings.TrimSpace(n); n != "" {
			if err := checkBindingName(n); err != nil {
				// A name configured under stream.bindings is reported at
				// its own key, where it is spelt: it is listed here too
				// when the configured binding is the send bridge's
				// (streambind lint checks those as output bindings).
				path := "stream.output-bindings"
				if k, ok := cfg.bindingKey(n); ok {
					path = "stream.bindings." + k
				}
				v.add(path, "%v", err)
				continue
			}
			want = append(want, pending{nil, n, false, "stream.output-bindings", ""})
		}
	}
	// A composed function's binding not renamed is SCSt's name without the
	// '|' too (its default destination, and the keys that configure it):
	// beside a binding of that name (function "ab" and "a|b" in one
	// definition, or "a|bc" and "ab|c") both would read and write one
	// destination and share its settings.
	type scstName struct {
		i        int
		composed bool
	}
	scst := map[string]scstName{}
	reported := map[*runtimeBinding]bool{} // one problem per function, not per binding
	for i, p := range want {
		composed := strings.Contains(p.functional, "|") &&
			(p.name == p.functional || p.name == SCStComposedBindingName(p.functional))
		k := strings.ToLower(p.name)
		if composed {
			k = strings.ToLower(SCStComposedBindingName(p.functional))
		}
		q, seen := scst[k]
		if !seen {
			scst[k] = scstName{i, composed}
			continue
		}
		if !composed && !q.composed {
			continue // two bindings of one name: below
		}
		named := func(p pending, composed bool) string {
			if composed {
				return p.functional
			}
			return p.name
		}
		if r := p.rt; r == nil || !reported[r] {
			reported[r] = true
			v.add("stream.function.definition", "the bindings %s and %s are both SCSt's %s (a composed function's bindings are named without the '|'): they would share its destination and configuration; bind only one of them",
				named(want[q.i], q.composed), named(p, composed), SCStComposedBindingName(named(p, composed)))
		}
		want[i].name = ""
	}
	known := map[string]string{} // lower-case name → as named
	for i, p := range want {
		if p.name == "" {
			continue
		}
		if first, ok := known[strings.ToLower(p.name)]; !ok {
			known[strings.ToLower(p.name)] = p.name
		} else {
			// A rename onto another binding's name, an input binding of a
			// function binding's name, or an output binding listed twice
			// (in any case: names are case-insensitive) would bind one
			// name twice.
			if first != p.name {
				v.add(p.key, "two bindings are named %s (and %s; binding names are case-insensitive): rename one of them", p.name, first)
			} else {
				v.add(p.key, "two bindings are named %s: rename one of them", p.name)
			}
			want[i].name = ""
		}
	}
	for _, p := range want {
		if p.name != "" && strings.Contains(p.functional, "|") {
			a.checkComposedKeys(&v, p.functional)
		}
	}
	if !v.decidesBindings() {
		a.warnUnbound(known)
	}
	var inputs []string
	for _, p := range want {
		if p.input && p.name != "" {
			inputs = append(inputs, p.name)
		}
	}
	a.resolveDeadLetterSources(&v, inputs, known) // consumer.dead-letters-of (dlsource.go)
	// stream.poller's problems once, at its keys (see prepareBinding).
	for _, e := range a.cfg.ValidatePoller() {
		v.addErr(e)
	}
	for _, p := range want {
		if p.name == "" {
			continue
		}
		b := a.prepareBinding(&v, p.name, p.input)
		if b == nil {
			continue
		}
		if p.rt != nil {
			a.wire(&v, p.rt, b)
		}
	}
	a.checkOtherSections(&v) // binder-specific sections no binding validated (extsections.go)
	if err := v.errs.Err(); err != nil {
		for _, e := range v.errs {
			if e.Key == "" { // the key as the files wrote it where it was set
				e.Key = cfg.WrittenKey(e.Path, e.Origin)
			}
		}
		return nil, err
	}
	for _, rt := range a.funcs {
		a.finish(rt)
	}
	// Outputs first: they are bound first and unbound last.
	sort.SliceStable(a.bindings, func(i, j int) bool { return !a.bindings[i].input && a.bindings[j].input })
	return a, nil
}

// checkComposedKeys reports a composed function's binding (a|b-in-0)
// configured under both its names, the functional one and SCSt's (ab-in-0),
// in stream.bindings or in a stream.<type>.bindings section: Spring Boot
// drops the '|' of an unbracketed map key, so in SCSt both keys are the one
// binding ab-in-0, while here the key with the '|' was used and the other
// one's settings were dropped with a warning that the binding was not
// bound. Which of two values for one setting was meant is unknown, so it
// is an error naming both keys.
func (a *App) checkComposedKeys(v *validator, functional string) {
	alt := SCStComposedBindingName(functional)
	twice := func(section string, keys []string) {
		var k1, k2 string
		for _, k := range keys {
			switch {
			case strings.EqualFold(k, functional):
				k1 = k
			case strings.EqualFold(k, alt):
				k2 = k
			}
		}
		if k1 == "" || k2 == "" {
			return
		}
		other := section + "." + k1
		if o := v.origin(other); o != "" {
			other += " (" + o + ")"
		}
		v.add(section+"."+k2, "is set twice: %s (SCSt's name for the composed function's binding %s) and %s both configure that binding; configure it under one key (%s, as SCSt does)",
			k2, functional, other, alt)
	}
	twice("stream.bindings", sortedMapKeys(a.cfg.Bindings))
	for _, typ := range sortedMapKeys(a.cfg.Extensions) {
		twice("stream."+typ+".bindings", sortedMapKeys(a.cfg.Extensions[typ].Bindings))
	}
}

// checkRenames checks stream.function.bindings: a new name a binding
// cannot have is an error; a rename of a binding no bound function has is
// a warning with the nearest functional binding name (SCSt ignores it, and
// a file may rename the bindings of functions another deployment binds).
func (a *App) checkRenames(v *validator, bound []*boundFunc) {
	if len(a.cfg.Function.Bindings) == 0 {
		return
	}
	var functional []string
	has := map[string]bool{}
	add := func(n string) {
		functional = append(functional, n)
		has[strings.ToLower(n)] = true
		has[strings.ToLower(SCStComposedBindingName(n))] = true
	}
	for _, bf := range bound {
		if bf.kind != KindSupplier {
			add(bf.inBinding())
		}
		if bf.kind != KindConsumer {
			add(bf.outBinding())
		}
	}
	for _, k := range sortedMapKeys(a.cfg.Function.Bindings) {
		path := "stream.function.bindings." + k
		if err := checkBindingName(strings.TrimSpace(a.cfg.Function.Bindings[k])); err != nil {
			v.add(path, "%v", err)
		}
		if has[strings.ToLower(strings.TrimSpace(k))] {
			continue
		}
		args := []any{"property", path}
		if o := v.origin(path); o != "" {
			args = append(args, "origin", o)
		}
		if n := nearest(k, functional); n != "" {
			args = append(args, "nearest_bound", n)
		}
		a.log.Warn("stream.function.bindings renames a binding that no bound function has: the rename is unused", args...)
	}
}

// checkBindingName refuses a binding name that configuration keys cannot
// name (spring.cloud.stream.bindings.<name>.destination): letters, digits,
// '-', '_' and '.' only (a '|' joins composed functions).
func checkBindingName(n string) error {
	for _, r := range n {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' || r == '|') {
			return fmt.Errorf("binding name %q has %q: a binding name has letters, digits, '-', '_' and '.' only", n, r)
		}
	}
	return nil
}

// explicitInput is a binding of stream.input-bindings and the consumer
// that handles it.
type explicitInput struct {
	binding string
	fn      *boundFunc
}

// explicitInputs resolves stream.input-bindings: each binding is handled
// by the consumer registered under its name (matched case-insensitively).
func (a *App) explicitInputs(v *validator, fns *Catalog) []explicitInput {
	var out []explicitInput
	seen := map[string]bool{}
	defined := map[string]bool{} // lower-case items of the definition
	for _, item := range strings.Split(a.cfg.Function.Definition, ";") {
		defined[strings.ToLower(strings.TrimSpace(item))] = true
	}
	for _, n := range strings.Split(a.cfg.InputBindings, ";") {
		n = strings.TrimSpace(n)
		if n == "" || seen[strings.ToLower(n)] {
			continue
		}
		seen[strings.ToLower(n)] = true
		if defined[strings.ToLower(n)] {
			// SCSt creates no input binding for a name that a bound
			// function has: only the function's own binding would be
			// bound, and the settings of the input binding unused.
			v.add("stream.input-bindings", "input binding %s is also a function of stream.function.definition, which binds it as %s-in-0 (SCSt then ignores the input binding): list %s in one of them", n, n, n)
			continue
		}
		e := fns.entries[n]
		if e == nil {
			for name, x := range fns.entries {
				if strings.EqualFold(name, n) {
					e = x
				}
			}
		}
		switch {
		case e == nil:
			v.add("stream.input-bindings", "input binding %s has no handler: register a consumer named %s in code (stream.AddConsumer) to receive its messages", n, n)
		case e.kind != KindConsumer:
			v.add("stream.input-bindings", "input binding %s: %s is registered as a %s, but a binding of no function is handled by a consumer (stream.AddConsumer)", n, e.name, e.kind)
		default:
			out = append(out, explicitInput{binding: n, fn: &boundFunc{name: e.name, parts: []*entry{e}, kind: KindConsumer}})
		}
	}
	return out
}

// validator collects configuration problems with their origins.
type validator struct {
	cfg  *Config
	errs ConfigErrors
	// reported: the keys reported by once.
	reported map[string]bool
	// noDefaultErr is the problem of the bindings that have no binder
	// (no default binder), noDefaultFor those bindings (noDefault).
	noDefaultErr *ConfigError
	noDefaultFor []string
}

// once adds a problem at path unless one was added there by once already:
// a key that every binding depends on (stream.default-binder) is reported
// once, not once per binding.
func (v *validator) once(path, format string, args ...any) {
	if v.reported[path] {
		return
	}
	if v.reported == nil {
		v.reported = map[string]bool{}
	}
	v.reported[path] = true
	// The origin of the key itself only: a key that is not set (no
	// default-binder) has none, not its section's.
	v.errs = append(v.errs, &ConfigError{Path: path, Origin: v.cfg.Origins[strings.ToLower(path)], Msg: fmt.Sprintf(format, args...)})
}

// noDefault reports, once at key (stream.default-binder), that the
// bindings that name no binder have none (why), naming each binding that
// needs it with where it is configured (origin, "" for a binding with no
// settings). The problem has the origin of the key itself only: one that
// is not set has none (a binding's line there read as the key's).
func (v *validator) noDefault(key, why, binding, origin string) {
	if v.noDefaultErr == nil {
		v.noDefaultErr = &ConfigError{Path: key, Origin: v.cfg.Origins[strings.ToLower(key)]}
		v.errs = append(v.errs, v.noDefaultErr)
	}
	if origin != "" {
		binding += " (" + origin + ")"
	}
	if !slices.Contains(v.noDefaultFor, binding) {
		v.noDefaultFor = append(v.noDefaultFor, binding)
	}
	what := "the binding that names none: "
	if len(v.noDefaultFor) > 1 {
		what = "the bindings that name none: "
	}
	v.noDefaultErr.Msg = why + " (" + what + strings.Join(v.noDefaultFor, ", ") + ")"
	if v.cfg.NoConfigFile != "" {
		v.noDefaultErr.Msg += "; " + v.cfg.NoConfigFile
	}
}

func (v *validator) add(path, format string, args ...any) {
	v.addErr(&ConfigError{Path: path, Origin: v.origin(path), Msg: fmt.Sprintf(format, args...)})
}

// addError adds err, from a binder, at path: when it holds configuration
// problems (a [ConfigErrors], perhaps wrapped) each is added at its own
// key, so that no "invalid configuration" list is nested in another.
func (v *validator) addError(path string, err error) {
	ces, ok := asConfigErrors(err)
	if !ok {
		v.add(path, "%v", err)
		return
	}
	for _, e := range ces {
		c := *e
		c.Path = v.inheritedFrom(c.Path)
		v.addErr(&c)
	}
}

// inheritedFrom returns the key a binding's setting at path
// (stream.bindings.<b>.consumer.dlq) came from: stream.default's
// (stream.default.consumer.dlq) when the binding does not set it and
// stream.default does, else path. A binder's problem with a value is
// thus reported where the value was written, with its file:line.
func (v *validator) inheritedFrom(path string) string {
	parts := strings.SplitN(path, ".", 4)
	if len(parts) != 4 || parts[0] != "stream" || parts[1] != "bindings" || v.cfg.originSet(path) {
		return path
	}
	if d := "stream.default." + parts[3]; v.cfg.originSet(d) {
		return d
	}
	return path
}

// asConfigErrors returns the problems of err when it is (or wraps) a
// [ConfigErrors] or a [ConfigError].
func asConfigErrors(err error) (ConfigErrors, bool) {
	var ces ConfigErrors
	if errors.As(err, &ces) {
		return ces, true
	}
	var ce *ConfigError
	if errors.As(err, &ce) {
		return ConfigErrors{ce}, true
	}
	return nil, false
}

func (v *validator) addErr(e *ConfigError) {
	if e.Origin == "" {
		e.Origin = v.origin(e.Path)
	}
	v.cfg.namePlaceholders(e)
	// The same problem found again (a binder's check of a setting every
	// binding inherits) is reported once.
	for _, x := range v.errs {
		if x.Path == e.Path && x.Msg == e.Msg {
			return
		}
	}
	v.errs = append(v.errs, e)
}

// origin finds where path (or its nearest parent) was set.
func (v *validator) origin(path string) string {
	p := strings.ToLower(path)
	for p != "" {
		if o, ok := v.cfg.Origins[p]; ok {
			return o
		}
		i := strings.LastIndexByte(p, '.')
		if i < 0 {
			break
		}
		p = p[:i]
	}
	return ""
}

// checkBinderDeclarations validates stream.binders and the binder-specific
// sections against the registered binder types.
func (a *App) checkBinderDeclarations(v *validator) {
	for name, bc := range a.cfg.Binders {
		if bc.Type == "" {
			// Not implied (withImpliedBinderTypes): the name is no type.
			v.add("stream.binders."+name+".type", "is required: the binder's name %q is no registered binder type to take for it (registered types: %s)", name, strings.Join(a.opts.binderTypes.Names(), ", "))
		} else if _, err := a.opts.binderTypes.Lookup(bc.Type); err != nil {
			v.add("stream.binders."+name+".type", "%v", err)
		}
	}
	for _, typ := range sortedMapKeys(a.cfg.Extensions) {
		_, err := a.opts.binderTypes.Lookup(typ)
		switch {
		case err == nil:
		case shippedBinderType(typ):
			// SCSt leaves spring.cloud.stream.kafka unbound when the
			// Kafka binder is not on the classpath: a file shared by
			// deployments on different brokers runs unchanged. A binding
			// or binder declaration that uses the type still fails.
			args := []any{"property", "stream." + typ, "registered", strings.Join(a.opts.binderTypes.Names(), ", ")}
			if o := v.origin("stream." + typ); o != "" {
				args = append(args, "origin", o)
			}
			a.log.Warn("binder settings ignored: no binder of this type is registered in the app (register it with stream.WithBinderType to use or check them)", args...)
		default:
			v.add("stream."+typ, "unknown key or binder type: %v", err)
		}
	}
}

// shippedBinderType reports whether typ names one of streambind's own
// binder types (binder/kafka, rabbit, nats, redis, memory), which an app
// may leave unregistered.
func shippedBinderType(typ string) bool {
	switch typ {
	case "kafka", "rabbit", "nats", "redis", "memory":
		return true
	}
	return false
}

// decidesBindings reports whether v holds an error about which bindings
// are bound (a function, the definition, the routing expression, the input
// or output bindings, a rename, two bindings of one name). Start-up fails
// then, and a configured binding is unbound because of that error: warning
// that it is not bound would only contradict the error.
func (v *validator) decidesBindings() bool {
	for _, e := range v.errs {
		switch p := e.Path; {
		case p == "functions", p == "stream.function.definition", p == "stream.function.routing-expression",
			p == "stream.input-bindings", p == "stream.output-bindings", strings.HasPrefix(p, "stream.function.bindings"):
			return true
		}
	}
	return false
}

// warnUnbound logs, once each, the configured bindings that no bound
// function and no output binding uses, with the nearest bound name. As in
// Spring Cloud Stream they are not an error: a file often configures the
// functions of several deployments or profiles. (Their keys are still
// checked by the loader: a misspelt key is an error.)
//
// known maps the lower-cased bound names to the names as the function
// definition or output-bindings spell them; the warning lists them as
// named, not lower-cased.
func (a *App) warnUnbound(known map[string]string) {
	bound := make([]string, 0, len(known))
	for _, n := range known {
		bound = append(bound, n)
	}
	sort.Strings(bound)
	names := make([]string, 0, len(a.cfg.Bindings))
	sources := a.deadLetterSources(known) // configured for a dead-letter reader: used
	// SCSt's names of composed bindings (a|b-in-0: ab-in-0), which
	// FunctionBindingName and Extension find: configured, they are bound
	// (beside the '|' key too, which checkComposedKeys reports).
	scst := map[string]bool{}
	for l := range known {
		scst[SCStComposedBindingName(l)] = true
	}
	for name := range a.cfg.Bindings {
		l := strings.ToLower(name)
		if _, ok := known[l]; !ok && !scst[l] && !sources[l] {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	// unbound's attributes: the key, where it was set, the bound name
	// closest to name, and all bound names.
	unbound := func(path, name string) []any {
		args := []any{"property", path}
		if o := (&validator{cfg: a.cfg}).origin(path); o != "" {
			args = append(args, "origin", o)
		}
		if n := nearest(name, bound); n != "" {
			args = append(args, "nearest_bound", n)
		}
		return append(args, "bound", strings.Join(bound, ", "))
	}
	const unusedMsg = "configured binding not bound: no bound function or output binding has this name; its settings are unused"
	const unlistedMsg = "configured binding not bound: it is named like an output of a registered function that is not bound (not in stream.function.definition); unless the send bridge sends to this binding, its settings are unused"
	const bareMsg = "configured binding not bound: no bound function or output binding has this name, and a bound function output of its index has no settings (its destination is its own name); unless the send bridge sends to this binding, its settings are unused: if they are that output's, name it so"
	for _, name := range names {
		args := unbound("stream.bindings."+name, name)
		if comp := composedPart(name, known); comp != "" {
			// enrich-in-0 for enrich|reserve: the settings were most likely
			// meant for the composition's binding.
			scstName := SCStComposedBindingName(comp)
			a.log.Warn("configured binding not bound: it is named after a function that runs only inside a composition, whose parts have no bindings of their own (as in SCSt); its settings are unused: configure the composition's binding "+scstName+" (SCSt's name; "+comp+" is the same binding)"+a.commaNote(comp),
				append(args, "composed_binding", scstName)...)
			continue
		}
		if !a.bridgeOnly(name) || misspeltOutput(name, bound) {
			a.log.Warn(unusedMsg+a.misspeltBinding("stream.bindings."+name, name, bound), args...)
			continue
		}
		if fn := a.unboundRegistered(name, known); fn != "" {
			// generate-out-0 of a registered generate that the definition
			// leaves out (a forgotten supplier): its settings are not the
			// bridge's.
			a.log.Warn(unlistedMsg, append(args, "registered_function", fn)...)
			continue
		}
		if bare := a.bareOutputs(name, known); len(bare) > 0 {
			// A function's output bound without settings beside a
			// configured output of no function: most likely the
			// function's settings under another name (a renamed function,
			// a definition naming another function), the function
			// sending to a destination named like its binding instead.
			a.log.Warn(bareMsg, append(args, "unconfigured_bound_output", strings.Join(bare, ", "))...)
			continue
		}
		// SCSt's StreamBridge binds a configured binding at its first
		// send: nothing is amiss yet.
		a.log.Info("configured binding not bound at start-up: the send bridge binds it at its first send to it", args...)
	}
	// A binder-specific section (stream.<type>.bindings.<name>) of a
	// functional binding name that is neither bound nor under
	// stream.bindings (warned about above) is unused too: most often a
	// misspelt name, whose settings would be ignored without a word. Other
	// names may be the send bridge's dynamic destinations.
	for _, typ := range sortedMapKeys(a.cfg.Extensions) {
		for _, name := range sortedMapKeys(a.cfg.Extensions[typ].Bindings) {
			l := strings.ToLower(name)
			if _, ok := known[l]; ok || scst[l] || !functionalName.MatchString(name) || a.configured(l) {
				continue
			}
			path := "stream." + typ + ".bindings." + name
			a.log.Warn(unusedMsg+a.misspeltBinding(path, name, bound), unbound(path, name)...)
		}
	}
}

// misspeltBinding is, for a configured binding name that nothing binds,
// "; did you mean X? X uses defaults: destination D, anonymous group"
// when a bound binding X is a typo away from it (an edit distance of at
// most a third of X's length, 1 to 3) and has no settings under
// stream.bindings: the settings were most likely meant for X, which runs
// on the defaults instead (bookInvoise-in-0's destination and group
// unused, bookInvoice-in-0 reads a destination of its own name in an
// anonymous group). "" otherwise. As in SCSt, which binds unknown names
// silently, it is not an error: a file may configure the functions of
// several deployments.
//
// When X has settings of its own the file may well configure both (no
// guess), but settings that only environment variables give the name
// (STREAM_BINDINGS_PAYMNT_IN_0_GROUP beside a file's payment-in-0) are an
// override, which no other deployment's function explains: the guess names
// the variables X's key would have had (see [App.envMisspelt]). path is
// the binding's section (stream.bindings.<name> or
// stream.<type>.bindings.<name>).
func (a *App) misspeltBinding(path, name string, bound []string) string {
	n := nearest(name, bound)
	if n == "" || !didyoumean.Near(name, n) {
		return ""
	}
	if a.configured(strings.ToLower(n)) {
		return a.envMisspelt(path, name, n)
	}
	b := a.cfg.Binding(n)
	dest := strings.TrimSpace(b.Destination)
	if dest == "" {
		dest = n
	}
	uses := "destination " + dest
	input := functionalInput.MatchString(n)
	for _, in := range strings.Split(a.cfg.InputBindings, ";") {
		input = input || strings.EqualFold(strings.TrimSpace(in), n)
	}
	if input {
		if g := strings.TrimSpace(b.Group); g != "" {
			uses += ", group " + g + " (stream.default.group)"
		} else {
			uses += ", anonymous group"
		}
	}
	return "; did you mean " + n + "? " + n + " uses defaults: " + uses
}

// envMisspelt is "; did you mean N? set A instead of B" (for each variable
// B that spells the binding's name as relaxed binding does: A spells N) when
// every key set under the binding section path (of the binding name) comes
// from an environment variable; "" otherwise.
func (a *App) envMisspelt(path, name, n string) string {
	prefix := strings.ToLower(path) + "."
	var fixes []string
	// One variable may be the origin of several keys (a property map's
	// section and its entry): its fix is named once.
	seen := map[string]bool{}
	set := false
	for _, k := range sortedMapKeys(a.cfg.Origins) {
		if !strings.HasPrefix(k, prefix) {
			continue
		}
		v, ok := strings.CutPrefix(a.cfg.Origins[k], "env ")
		if !ok {
			return ""
		}
		set = true
		if from := "_" + envVarName(name) + "_"; strings.Contains(v, from) && !seen[v] {
			seen[v] = true
			fixes = append(fixes, "set "+strings.Replace(v, from, "_"+envVarName(n)+"_", 1)+" instead of "+v)
		}
	}
	if !set {
		return ""
	}
	return strings.TrimSuffix("; did you mean "+n+"? "+strings.Join(fixes, ", "), " ")
}

// envVarName is a name as Spring Boot's relaxed binding spells it in an
// environment variable: upper case, '.' and '-' as '_'.
func envVarName(name string) string {
	return strings.ToUpper(strings.NewReplacer(".", "_", "-", "_").Replace(name))
}

// composedPart returns, for a configured binding named after a part of a
// bound composition (enrich-in-0, reserve-out-0 for enrich|reserve), the
// composition's binding of the same direction and index as the function
// definition spells it (enrich|reserve-in-0), or "" when there is none.
// known maps the lower-cased bound names to their spelling.
func composedPart(name string, known map[string]string) string {
	loc := functionalName.FindStringIndex(name)
	if loc == nil {
		return ""
	}
	fn, suffix := strings.ToLower(name[:loc[0]]), strings.ToLower(name[loc[0]:])
	for _, l := range sortedMapKeys(known) {
		def, ok := strings.CutSuffix(l, suffix)
		if !ok || !strings.Contains(def, "|") {
			continue
		}
		for part := range strings.SplitSeq(def, "|") {
			if strings.TrimSpace(part) == fn {
				return known[l]
			}
		}
	}
	return ""
}

// configured reports whether stream.bindings has a binding of the
// lower-case name l.
func (a *App) configured(l string) bool {
	for name := range a.cfg.Bindings {
		if strings.ToLower(name) == l {
			return true
		}
	}
	return false
}

// bridgeOnly reports whether configured binding name can only be an
// output of the send bridge: it is not named like a functional input
// (<fn>-in-<n>), and sets no group and no consumer key. A functional
// output name of no bound function is the bridge's too: SCSt's
// StreamBridge sends to one (the kafka-batch sample's Consumer bean sends
// to output-out-0, configured with its destination).
func (a *App) bridgeOnly(name string) bool {
	if functionalInput.MatchString(name) {
		return false
	}
	prefix := strings.ToLower("stream.bindings." + name + ".")
	for k := range a.cfg.Origins {
		if strings.HasPrefix(k, prefix+"group") || strings.HasPrefix(k, prefix+"consumer") {
			return false
		}
	}
	bc := a.cfg.Bindings[name]
	return bc.Group == "" && reflect.ValueOf(bc.Consumer).IsZero()
}

var functionalName = regexp.MustCompile(`(?i)-(in|out)-\d+$`)

// functionalOutput matches the functional names of output bindings; its
// group is the index.
var functionalOutput = regexp.MustCompile(`(?i)-out-(\d+)$`)

// unboundRegistered returns the registered function that a configured
// binding name <fn>-out-<n> names, when it is not bound; "" otherwise.
func (a *App) unboundRegistered(name string, known map[string]string) string {
	suffix := functionalOutput.FindString(name)
	fn := strings.TrimSuffix(name, suffix)
	if suffix == "" || fn == "" || a.catalog == nil {
		return ""
	}
	for l := range known {
		if functionalName.MatchString(l) && strings.EqualFold(functionalName.ReplaceAllString(l, ""), fn) {
			return "" // bound (a consumer has no output)
		}
	}
	for _, n := range a.catalog.Names() {
		if e := a.catalog.entries[n]; strings.EqualFold(n, fn) && !e.router {
			return n
		}
	}
	return ""
}

// bareOutputs returns, for a configured binding name named like a
// function's output (<x>-out-<n>) that nothing binds, the bound outputs
// of functions with the same index n that have no settings at all (not
// under stream.bindings nor a binder's bindings section): their
// destination is their own name, and name's settings were most likely
// meant for one of them. A bound output of stream.output-bindings does
// not count (the send bridge's own).
func (a *App) bareOutputs(name string, known map[string]string) []string {
	m := functionalOutput.FindStringSubmatch(name)
	if m == nil {
		return nil
	}
	bridge := map[string]bool{}
	for _, n := range strings.Split(a.cfg.OutputBindings, ";") {
		bridge[strings.ToLower(strings.TrimSpace(n))] = true
	}
	var out []string
	for l, spelled := range known {
		bm := functionalOutput.FindStringSubmatch(l)
		if bm == nil || bm[1] != m[1] || bridge[l] || a.configured(l) || a.configured(SCStComposedBindingName(l)) {
			continue
		}
		extended := false
		for _, ext := range a.cfg.Extensions {
			for en := range ext.Bindings {
				if el := strings.ToLower(en); el == l || el == SCStComposedBindingName(l) {
					extended = true
				}
			}
		}
		if !extended {
			out = append(out, spelled)
		}
	}
	sort.Strings(out)
	return out
}

// misspeltOutput reports whether name, a functional output name, is within
// two edits of a bound binding's: more likely a typo of that function's
// output (whose settings are then not applied) than the bridge's binding.
func misspeltOutput(name string, bound []string) bool {
	if !functionalName.MatchString(name) {
		return false
	}
	for _, b := range bound {
		if didyoumean.Distance(strings.ToLower(name), strings.ToLower(b)) <= 2 {
			return true
		}
	}
	return false
}

// functionalInput matches the functional names of input bindings.
var functionalInput = regexp.MustCompile(`(?i)-in-\d+$`)

// nearest returns the name of names closest to name (edit distance,
// ignoring case), or "" when none is within half of name's length.
func nearest(name string, names []string) string {
	best, bestD := "", -1
	for _, n := range names {
		d := didyoumean.Distance(strings.ToLower(name), strings.ToLower(n))
		if bestD < 0 || d < bestD {
			best, bestD = n, d
		}
	}
	if bestD < 0 || bestD > len(name)/2 {
		return ""
	}
	return best
}

// chooseDefaultBinder decides the binder of the bindings that name none,
// as Spring Cloud Stream does: stream.default-binder (a declared binder or
// a registered type, matched case-insensitively); else the one binder
// declared under stream.binders that is a default candidate; else the one
// binder type registered in code (see [DefaultBinderOf]). With several
// and none chosen there is no default: that is reported once, when a
// binding needs it. The in-process binder is thus the default only when
// it is the only type registered (streamtest sets it explicitly). The
// choice is written to a copy of the configuration, so that
// Config.Binding gives every binding its binder.
func (a *App) chooseDefaultBinder() {
	cfg := *a.cfg
	a.cfg = &cfg
	if n := strings.TrimSpace(cfg.DefaultBinder); n != "" {
		if canon, ok := a.binderName(n); ok {
			cfg.DefaultBinder = canon
		}
		// A name that is neither is reported by binderFor, at this key.
		return
	}
	name, why := DefaultBinderOf(&cfg, a.opts.binderTypes.Names())
	cfg.DefaultBinder, a.noDefaultBinder = name, why
	if name != "" && len(cfg.Binders) > 0 && len(DefaultCandidates(&cfg)) == 0 {
		// SCSt's rule, but likely a surprise: every declared binder opted
		// out, and a registered type none of them configures (the
		// in-process binder, say) takes the bindings that name none.
		a.log.Warn("stream.default-binder is not set and no binder declared under stream.binders is a default candidate: the bindings that name no binder use the registered binder type no declared binder is named after",
			"binder_type", name)
	}
}

// DefaultBinderOf returns the binder of cfg's bindings that name none, as
// [NewApp] chooses it with the binder types registered: cfg.DefaultBinder
// as set (even a binder whose default-candidate is false); else the one
// binder declared under stream.binders that is a default candidate
// (BinderConfig.DefaultCandidate); with binders declared and none a
// candidate, the one registered type that no declared binder is named
// after; with none declared, the one registered type. With several and
// none chosen it returns "" and why, to be reported at
// stream.default-binder. Tools that check a configuration without the
// app's code (the CLI) use it with the types they assume.
//
// The candidates are SCSt's (BindingServiceConfiguration.
// getBinderConfigurations and DefaultBinderFactory.doGetBinderConventional):
// the declared binder configurations whose defaultCandidate is true, else
// the binder types on the classpath that are not declared; a default
// binder set is used without that check.
func DefaultBinderOf(cfg *Config, registered []string) (name, why string) {
	if n := strings.TrimSpace(cfg.DefaultBinder); n != "" {
		return n, ""
	}
	declared := sortedKeys(binderSet(cfg.Binders))
	candidates := DefaultCandidates(cfg)
	switch {
	case len(candidates) == 1:
		return candidates[0], ""
	case len(candidates) > 1 && len(candidates) == len(declared):
		return "", fmt.Sprintf("is not set and %d binders are declared under stream.binders (%s): set stream.default-binder to the one the bindings that name no binder use", len(declared), strings.Join(declared, ", "))
	case len(candidates) > 1:
		return "", fmt.Sprintf("is not set and %d of the binders declared under stream.binders are default candidates (%s): set stream.default-binder to the one the bindings that name no binder use, or default-candidate: false on the others", len(candidates), strings.Join(candidates, ", "))
	}
	// The registered types that are candidates: those no declared binder
	// is named after nor has as its type (SCSt's getBinderConfigurations
	// adds a type only when no declared binder configures it).
	var types []string
	for _, t := range registered {
		if !declaredName(cfg.Binders, t) && !declaredType(cfg.Binders, t) {
			types = append(types, t)
		}
	}
	sort.Strings(types)
	switch {
	case len(types) == 1:
		return types[0], ""
	case len(declared) > 0 && len(types) == 0:
		return "", fmt.Sprintf("is not set, no binder declared under stream.binders is a default candidate (%s: default-candidate false) and no other binder type is registered: set stream.default-binder, or name the binder on every binding", strings.Join(declared, ", "))
	case len(declared) > 0:
		return "", fmt.Sprintf("is not set, no binder declared under stream.binders is a default candidate (%s: default-candidate false) and %d other binder types are registered (%s): set stream.default-binder", strings.Join(declared, ", "), len(types), strings.Join(types, ", "))
	case len(types) == 0:
		return "", "is not set and no binder type is registered (stream.WithBinderType)"
	default:
		return "", fmt.Sprintf("is not set and %d binder types are registered (%s): set stream.default-binder to one of them, or declare a binder under stream.binders", len(types), strings.Join(types, ", "))
	}
}

// DefaultCandidates returns, sorted, the binders declared under
// stream.binders that may be the default binder (default-candidate not
// false). When it is empty and stream.default-binder is not set, the
// default binder is a registered binder type, which only the app's code
// shows.
func DefaultCandidates(cfg *Config) []string {
	var out []string
	for k, b := range cfg.Binders {
		if b.Candidate() {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// declaredName reports whether a binder is declared under name (ignoring
// case).
func declaredName(binders map[string]BinderConfig, name string) bool {
	for k := range binders {
		if strings.EqualFold(k, name) {
			return true
		}
	}
	return false
}

// declaredType reports whether a binder of type typ is declared (ignoring
// case).
func declaredType(binders map[string]BinderConfig, typ string) bool {
	for _, b := range binders {
		if strings.EqualFold(strings.TrimSpace(b.Type), typ) {
			return true
		}
	}
	return false
}

func binderSet(m map[string]BinderConfig) map[string]bool {
	s := make(map[string]bool, len(m))
	for k := range m {
		s[k] = true
	}
	return s
}

// binderName returns the binder that name stands for, spelled as declared:
// a binder of stream.binders, else a registered binder type, each matched
// case-insensitively (the loader lower-cases declared names; a value such
// as default-binder: rabbitBinder keeps its case).
func (a *App) binderName(name string) (string, bool) {
	if _, ok := a.cfg.Binders[name]; ok {
		return name, true
	}
	for k := range a.cfg.Binders {
		if strings.EqualFold(k, name) {
			return k, true
		}
	}
	if _, ok := a.opts.binderTypes[name]; ok {
		return name, true
	}
	for k := range a.opts.binderTypes {
		if strings.EqualFold(k, name) {
			return k, true
		}
	}
	return "", false
}

// binderKey returns the key that names the binder of the binding at
// bindingPath: its own binder, stream.default.binder or
// stream.default-binder. A wrong name is reported there, once.
func (a *App) binderKey(bindingPath string) string {
	name := strings.TrimPrefix(bindingPath, "stream.bindings.")
	if a.ownBinderKeys == nil || a.ownBinderKeysOf != a.cfg {
		// Once for all bindings: a scan of them per binding made NewApp
		// quadratic (2.2 s for 8,000 bindings, most of it here).
		a.ownBinderKeysOf = a.cfg
		a.ownBinderKeys = make(map[string]string, len(a.cfg.Bindings))
		for k, b := range a.cfg.Bindings {
			if b.Binder != "" {
				a.ownBinderKeys[strings.ToLower(k)] = "stream.bindings." + k + ".binder"
			}
		}
	}
	if key, ok := a.ownBinderKeys[strings.ToLower(name)]; ok {
		return key
	}
	if a.cfg.Default.Binder != "" {
		return "stream.default.binder"
	}
	return "stream.default-binder"
}

// addressKeys are the keys, squashed, that say where a binder connects:
// one of them set by the binder's own settings drops every address default.
var addressKeys = map[string]bool{"uri": true, "url": true, "addresses": true, "address": true, "host": true, "brokers": true, "bootstrapservers": true}

// withConnectionDefaults returns the binder-type section (stream.<type>.binder)
// with the Spring Boot connection defaults (spring.rabbitmq.*, ...) under
// it, for a binder whose environment is env (nil: none). As in SCSt, where
// a binder that inherits the environment gets the application's merged
// under its own (DefaultBinderFactory.initializeBinderContextSimple:
// the binder's properties are the first property source, the
// application's environment is merged after them), every default applies
// unless the section or the environment sets the same key, in either of
// the environment's forms (the binder's own keys, or SCSt's nested
// spring.kafka.* / spring.rabbitmq.* / spring.cloud.stream.<type>.binder.*);
// keys are compared ignoring case, '-' and '_'. Two rules refine that:
// an address set by the section or the environment (brokers, addresses,
// host, uri, ...) drops every address default, so that the binder never
// mixes the application's host with its own; and a map of client
// properties (the Kafka binder's configuration, consumer-properties,
// producer-properties) is merged property by property: with the
// section's here, with the environment's by the binder, which decodes
// the environment after this section.
func withConnectionDefaults(defaults, section, env map[string]any) map[string]any {
	if len(defaults) == 0 {
		return section
	}
	sectionSet, envSet := map[string]bool{}, map[string]bool{}
	address := false
	for k := range section {
		sk := squashKey(k)
		sectionSet[sk] = true
		address = address || addressKeys[sk]
	}
	for _, sk := range environmentKeys(env) {
		envSet[sk] = true
		address = address || addressKeys[sk]
	}
	out := make(map[string]any, len(defaults)+len(section))
	inherited := map[string]map[string]any{} // the defaults' property maps, by squashed key
	for k, v := range defaults {
		sk := squashKey(k)
		if address && addressKeys[sk] {
			continue
		}
		if dm, ok := v.(map[string]any); ok {
			if address {
				dm = withoutAddressProps(dm)
			}
			inherited[sk] = dm
			if !sectionSet[sk] && len(dm) > 0 {
				out[k] = dm
			}
			continue
		}
		if !sectionSet[sk] && !envSet[sk] {
			out[k] = v
		}
	}
	for k, v := range section {
		if sm, ok := v.(map[string]any); ok && inherited[squashKey(k)] != nil {
			v = mergePropertyMaps(inherited[squashKey(k)], sm)
		}
		out[k] = v
	}
	return out
}

// withoutAddressProps returns client properties m without the ones that
// say where to connect (bootstrap.servers): an inherited property map
// must not send a binder that sets its own address to the application's
// brokers (the Kafka binder lets configuration.bootstrap.servers win over
// brokers).
func withoutAddressProps(m map[string]any) map[string]any {
	var out map[string]any
	for k, v := range m {
		if squashKey(k) == "bootstrap.servers" {
			continue
		}
		if out == nil {
			out = make(map[string]any, len(m))
		}
		out[k] = v
	}
	return out
}

// environmentKeys returns the binder keys, squashed, that a binder
// environment sets: its own keys as they are, and those of SCSt's nested
// form by the key under spring.kafka, spring.rabbitmq or
// spring.cloud.stream.<type>.binder (bootstrap-servers, host, ...).
func environmentKeys(env map[string]any) []string {
	var out []string
	for k, v := range env {
		if lk := strings.ToLower(k); lk != "spring" && !strings.HasPrefix(lk, "spring.") {
			out = append(out, squashKey(k))
			continue
		}
		for _, leaf := range flattenProps(map[string]any{k: v}, "") {
			rest, ok := strings.CutPrefix(leaf, "spring.kafka.")
			if !ok {
				rest, ok = strings.CutPrefix(leaf, "spring.rabbitmq.")
			}
			if !ok {
				if r, cut := strings.CutPrefix(leaf, "spring.cloud.stream."); cut {
					if _, after, found := strings.Cut(r, ".binder."); found {
						rest, ok = after, true
					}
				}
			}
			if !ok {
				continue
			}
			first, _, _ := strings.Cut(rest, ".")
			out = append(out, squashKey(first))
		}
	}
	return out
}

// mergePropertyMaps returns over's properties and those of base that over
// does not set; names are compared as Kafka spells them (lower case, '-'
// and '_' as '.').
func mergePropertyMaps(base, over map[string]any) map[string]any {
	norm := strings.NewReplacer("-", ".", "_", ".")
	have := map[string]bool{}
	for _, l := range flattenProps(over, "") {
		have[norm.Replace(l)] = true
	}
	out := make(map[string]any, len(base)+len(over))
	for k, v := range base {
		if !have[norm.Replace(strings.ToLower(k))] {
			out[k] = v
		}
	}
	for k, v := range over {
		out[k] = v
	}
	return out
}

// flattenProps returns the dotted, lower-case names of m's leaves.
func flattenProps(m map[string]any, prefix string) []string {
	var out []string
	for k, v := range m {
		name := strings.ToLower(k)
		if prefix != "" {
			name = prefix + "." + name
		}
		if sub, ok := v.(map[string]any); ok && len(sub) > 0 {
			out = append(out, flattenProps(sub, name)...)
			continue
		}
		out = append(out, name)
	}
	return out
}

// squashKey lower-cases k and drops '-' and '_'.
func squashKey(k string) string {
	return strings.NewReplacer("-", "", "_", "").Replace(strings.ToLower(k))
}

// binderFor returns (creating it on first use) the binder named name, for
// the binding at bindingPath.
func (a *App) binderFor(v *validator, bindingPath, name string) *binderInstance {
	key := a.binderKey(bindingPath)
	if key == "stream.default-binder" && a.noDefaultBinder != "" {
		v.noDefault(key, a.noDefaultBinder, strings.TrimPrefix(bindingPath, "stream.bindings."), a.sectionOrigin(bindingPath))
		return nil
	}
	if canon, ok := a.binderName(name); ok {
		name = canon
	}
	if of := a.declaredOfType(name); len(of) > 0 {
		// SCSt adds a binder named after a type only when no declared
		// binder has that type (BindingServiceConfiguration.
		// getBinderConfigurations): such a name fails there ("Unknown
		// binder configuration"), rather than connecting a third binder
		// with the type's defaults beside the declared ones.
		v.once(key, "binder %q names a binder type while binders %s of that type are declared under stream.binders; name one of them", name, strings.Join(of, ", "))
		return nil
	}
	if bi, ok := a.binders[name]; ok {
		return bi
	}
	typ := name
	startup := DefaultStartupTimeout
	if bc, ok := a.cfg.Binders[name]; ok {
		typ = bc.Type
		if bc.StartupTimeout != 0 {
			startup = bc.StartupTimeout
		}
		if typ == "" {
			return nil // reported by checkBinderDeclarations
		}
	}
	f, err := a.opts.binderTypes.Lookup(typ)
	if err != nil {
		if _, declared := a.cfg.Binders[name]; declared {
			return nil
		}
		msg := fmt.Sprintf("binder %q is neither declared under stream.binders", name)
		if len(a.cfg.Binders) > 0 {
			msg += " (" + strings.Join(sortedKeys(binderSet(a.cfg.Binders)), ", ") + ")"
		}
		types := a.opts.binderTypes.Names()
		if len(types) > 0 {
			msg += " nor a registered binder type (" + strings.Join(types, ", ") + ")"
		} else {
			msg += " nor a registered binder type (none is registered: stream.WithBinderType, e.g. memory.Type with memory.New for the in-process binder)"
		}
		candidates := append(sortedKeys(binderSet(a.cfg.Binders)), types...)
		if kafkaStreamsType(name) {
			// binder: kstream, default-binder: ktable (SCSt's Kafka
			// Streams binder by its type).
			msg += ": " + kafkaStreamsUnsupported
		} else if n := nearest(name, candidates); n != "" && didyoumean.Distance(strings.ToLower(name), strings.ToLower(n)) <= 2 {
			msg += "; did you mean " + n + "?"
		}
		v.once(key, "%s", msg)
		return nil
	}
	settings := BinderSettingsOf(a.cfg, name)
	settings.Logger = a.log.With("binder", name)
	b, err := f(context.Background(), settings)
	if err != nil {
		v.addError("stream.binders."+name, err)
		return nil
	}
	bi := &binderInstance{name: name, typ: typ, binder: b, startupTimeout: startup}
	a.binders[name] = bi
	return bi
}

// declaredOfType returns, sorted, the binders declared under
// stream.binders whose type is name when no binder is declared under name
// itself (ignoring case): a binding or default-binder naming the type then
// names no binder (SCSt makes the registered types binders only when no
// declared binder has their type).
func (a *App) declaredOfType(name string) []string {
	if declaredName(a.cfg.Binders, name) {
		return nil
	}
	var out []string
	for k, bc := range a.cfg.Binders {
		if strings.EqualFold(strings.TrimSpace(bc.Type), name) {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// bindingOrigin returns where the binding at bindingPath is configured:
// the first line of its keys ("application.yaml:12"), "" when none is set.
func (a *App) bindingOrigin(bindingPath string) string {
	prefix := strings.ToLower(bindingPath) + "."
	best, bestLine := "", 0
	for k, o := range a.cfg.Origins {
		if !strings.HasPrefix(k, prefix) {
			continue
		}
		m := originLine.FindStringSubmatch(o)
		if m == nil {
			continue
		}
		n, _ := strconv.Atoi(m[2])
		if best == "" || n < bestLine || (n == bestLine && m[1] < best) {
			best, bestLine = m[1]+":"+m[2], n
		}
	}
	return best
}

// originLine matches a key's origin in a file: "application.yaml:12",
// perhaps followed by the Spring Boot key it was read from.
var originLine = regexp.MustCompile(`^(.+?):(\d+)(?: \(.+\))?$`)

// inheritedProblem reports whether the problem at key (of the binding at
// path) is one the binding inherits and another key reports, where the
// user wrote it: stream.instance-index/-count (checkInstance), and a
// consumer key of an output binding not set at the binding itself.
func (a *App) inheritedProblem(path, key string, input bool) bool {
	rest, ok := strings.CutPrefix(strings.ToLower(key), strings.ToLower(path)+".")
	if !ok || a.cfg.originSet(strings.ToLower(key)) {
		return false
	}
	if !input && strings.HasPrefix(rest, "consumer.") {
		return true
	}
	return a.cfg.InheritedProblem(path, key)
}

// prepareBinding validates and creates one binding.
func (a *App) prepareBinding(v *validator, name string, input bool) *Binding {
	path := "stream.bindings." + name
	cfg := a.cfg.Binding(name)
	for _, e := range cfg.Validate(path) {
		if a.inheritedProblem(path, e.Path, input) {
			continue
		}
		v.addErr(e)
	}
	p := cfg.Producer
	a.checkBindingProps(v, path, cfg, input)
	if n := p.PartitionKeyExtractorName; !input && n != "" {
		if _, ok := a.opts.extractors[n]; !ok {
			v.add(path+".producer.partition-key-extractor-name", "no key extractor %q registered (stream.WithKeyExtractor)", n)
		}
	}
	if n := cfg.ErrorHandlerDefinition; input && n != "" {
		if _, ok := a.opts.namedErrorHandlers[n]; !ok {
			v.add(path+".error-handler-definition", "%s", a.unknownErrorHandler(n))
		}
	}
	if input && len(Destinations(cfg.Destination)) == 0 {
		v.add(path+".destination", "is empty")
	}
	if input {
		// Listed twice, a destination got two consumers of one group:
		// twice the concurrency, and no order between them.
		seen := map[string]bool{}
		for _, d := range Destinations(cfg.Destination) {
			if seen[d] {
				v.add(path+".destination", "lists %q twice", d)
				break
			}
			seen[d] = true
		}
	}
	if !input && strings.Contains(cfg.Destination, ",") {
		v.add(path+".destination", "an output binding has one destination, got %q", cfg.Destination)
	}
	bi := a.binderFor(v, path, cfg.Binder)
	if bi == nil {
		return nil
	}
	b := newBinding(name, input, cfg, bi.name, bi.typ, a.log)
	b.setTracing(a.tracing)
	// A configured binding is not started again once the shutdown began
	// (a management request racing it). The bridge's dynamic bindings are
	// not marked: a handler draining in the shutdown may still send to a
	// new destination.
	b.stopping = a.stopping
	if !input {
		b.part, _ = newPartitioner(p, cfg.ContentType, a.opts.extractors) // validated above
	}
	if input && len(cfg.Consumer.RetryDelays) > 0 {
		a.checkDelayedRetries(v, path, bi, b)
	}
	if sv, ok := bi.binder.(SpecValidator); ok {
		cons, prod := a.cfg.Extension(bi.typ, name)
		var err error
		if input {
			for _, s := range b.consumerSpecs(cons, nil) {
				if err = sv.ValidateConsumer(s); err != nil {
					break
				}
			}
		} else {
			err = sv.ValidateProducer(b.producerSpec(prod))
		}
		if err != nil {
			v.addError("stream."+bi.typ+".bindings."+name, err)
		}
	}
	a.bindings = append(a.bindings, b)
	a.byName[strings.ToLower(name)] = b
	return b
}

// wire attaches a binding to its function's runtime and checks the function
// fits the binding (batch mode needs a slice).
func (a *App) wire(v *validator, rt *runtimeBinding, b *Binding) {
	if b.input {
		rt.in = b
		switch {
		case b.cfg.Consumer.BatchMode && rt.fn.parts[0].router:
			// The routing function's own input is []byte: "does not take
			// a slice (got []uint8)" would ask the user to change it.
			v.add("stream.bindings."+b.name+".consumer.batch-mode", "%s routes one message at a time: batch mode is not supported on its input", RouterFunctionName)
		case b.cfg.Consumer.BatchMode && rt.fn.parts[0].inElem == nil && rt.fn.parts[0].in.typ != nil &&
			rt.fn.parts[0].in.typ.Kind() == reflect.Slice && rt.fn.parts[0].in.typ.Elem().Kind() == reflect.Uint8:
			// "does not take a slice (got []uint8)" contradicts itself.
			v.add("stream.bindings."+b.name+".consumer.batch-mode", "function %q takes %s, one message's bytes; a batch needs a slice of messages ([][]byte, []string, []T or []stream.Message[T])", rt.fn.parts[0].name, rt.fn.parts[0].in.typ)
		case b.cfg.Consumer.BatchMode && rt.fn.parts[0].inElem == nil:
			v.add("stream.bindings."+b.name+".consumer.batch-mode", "function %q does not take a slice (got %s)", rt.fn.parts[0].name, rt.fn.parts[0].in.typ)
		}
		if b.cfg.Consumer.BatchMode && rt.hdrMaps != nil {
			v.add("stream.bindings."+b.name+".consumer.batch-mode", "function %q has header mappings (stream.function.configuration), which apply to one message at a time: they are not supported with batch mode", rt.fn.name)
		}
	} else {
		rt.out = b
	}
	a.checkNative(v, rt, b)
	a.checkContentType(v, rt, b) // contenttype.go
}

// warnDLQWithoutGroup warns that consumer.dlq does not apply to an
// anonymous consumer (no group): its failed messages are dropped, each
// with an ERROR line, and no dead-letter destination is made. It is
// reached on the binders that accept the setting: the in-process binder,
// which stands in for any, and RabbitMQ's, as SCSt's, where it is a
// dead-letter setting rather than a mistake (the failed messages go to the
// DLX by the queue's x-dead-letter-* arguments: republished by the binder,
// or dead-lettered by the broker with republish-to-dlq: false, to a queue
// bound there, if any), so streambind lint reports this WARN there, and an
// error elsewhere. Kafka refuses it at start-up, as SCSt's Kafka binder
// does ("DLQ support is not available for anonymous subscriptions"), and
// so do NATS and Redis, which name their dead letters as Kafka does.
func (a *App) warnDLQWithoutGroup(b *Binding) {
	if !b.cfg.Consumer.DLQ || b.group != "" {
		return
	}
	msg := "consumer.dlq does not apply to a binding without a group (an anonymous consumer): its failed messages are dropped, not dead-lettered; set group"
	if b.binderType == "rabbit" {
		// As SCSt's, its queue has the x-dead-letter-* arguments.
		msg = "consumer.dlq on a binding without a group (an anonymous consumer): no DLQ and no DLX are declared for it (as in SCSt); its queue has the x-dead-letter-* arguments, so a failed message goes to the DLX with dead-letter-routing-key (else the queue's own name, new at every start), republished by the binder with the x-exception-* headers (republish-to-dlq) or dead-lettered by the broker, and reaches a queue only if one is bound to the DLX with that key, else it is dropped; set group for a DLQ of its own"
	}
	a.log.Warn(msg, a.consumerKeyAttrs(b, "dlq")...)
}

// warnPartitionedWithoutGroup warns that consumer.partitioned does not
// apply to an anonymous consumer (no group): it receives every partition's
// messages, whichever its instance-index, as in SCSt (whose RabbitMQ
// provisioner binds an anonymous queue as an unpartitioned one, and whose
// Kafka binder gives an anonymous consumer a unique group, assigned every
// partition). Every binder does so; streambind lint warns of it too.
func (a *App) warnPartitionedWithoutGroup(b *Binding) {
	if !b.cfg.Consumer.Partitioned || b.group != "" {
		return
	}
	args := append(a.consumerKeyAttrs(b, "partitioned"), "instance_index", b.cfg.Consumer.InstanceIndex, "instance_count", b.cfg.Consumer.InstanceCount)
	a.log.Warn("consumer.partitioned does not apply to a binding without a group (an anonymous consumer): it receives every partition's messages, whichever its instance-index (which must still be below instance-count), as in SCSt; set group to share the partitions among instances", args...)
}

// warnInstanceIndexList warns of a consumer.instance-index-list that does
// not apply, as SCSt ignores it: on a consumer that is not partitioned, or
// on an anonymous one (it reads every partition already, and N copies
// would handle each message N times); and of its negative indexes, which
// are skipped, as in SCSt.
func (a *App) warnInstanceIndexList(b *Binding) {
	c := b.cfg.Consumer
	if len(c.InstanceIndexList) == 0 {
		return
	}
	args := append(a.consumerKeyAttrs(b, "instance-index-list"), "instance_index_list", fmt.Sprint(c.InstanceIndexList))
	switch {
	case !c.Partitioned:
		a.log.Warn("consumer.instance-index-list is ignored: the consumer is not partitioned (as in SCSt); one consumer is bound", args...)
	case b.group == "":
		a.log.Warn("consumer.instance-index-list is ignored on a binding without a group (an anonymous consumer): it receives every partition's messages already; one consumer is bound; set group to share the partitions among instances", args...)
	case slices.Min(c.InstanceIndexList) < 0:
		a.log.Warn("consumer.instance-index-list: negative indexes are skipped (as in SCSt)", append(args, "instance_indexes", fmt.Sprint(c.InstanceIndexes(b.group)))...)
	}
}

// consumerKeyAttrs are the log attributes naming the key that set
// consumer property prop of binding b (the binding's own, else
// stream.default's when only that is set) with its origin (file:line),
// and the binding.
func (a *App) consumerKeyAttrs(b *Binding, prop string) []any {
	key := "stream.bindings." + b.name + ".consumer." + prop
	if !a.cfg.originSet(key) && a.cfg.originSet("stream.default.consumer."+prop) {
		key = "stream.default.consumer." + prop
	}
	args := []any{"property", key, "binding", b.name}
	if o := a.cfg.Origins[strings.ToLower(key)]; o != "" {
		args = append(args, "origin", o)
	}
	return args
}

// finish builds a function's runtime once its bindings are known.
func (a *App) finish(rt *runtimeBinding) {
	rt.log = a.log.With("function", rt.fn.name)
	if rt.in != nil {
		rt.log = rt.in.log.With("function", rt.fn.name)
		rt.inCx = convCtx{binding: rt.in.name, converters: a.opts.converters, contentType: rt.in.cfg.ContentType}.withConverter()
		rt.retry = newRetryPolicy(rt.in.cfg.Consumer)
		a.warnRetryKeysUnused(rt.in)
		a.warnDLQWithoutGroup(rt.in)
		a.warnPartitionedWithoutGroup(rt.in)
		a.warnInstanceIndexList(rt.in)
		rt.retry.retryable = a.retryClassifier(rt.in.cfg.Consumer)
		rt.retry.errorName = a.errorNamer()
		rt.onFail = a.errorHandler(rt.in)
	}
	if rt.out != nil {
		rt.outCx = convCtx{binding: rt.out.name, converters: a.opts.converters, contentType: rt.out.cfg.ContentType}.withConverter()
	}
	rt.stopping = a.stopping
	e := rt.fn.parts[0]
	switch {
	case len(rt.fn.parts) > 1:
		rt.h = composedHandler{rt}
	case e.newHandler != nil:
		rt.h = e.newHandler(rt)
	}
	if rt.hdrMaps != nil && rt.h != nil && rt.in != nil {
		rt.h = &headerMappingHandler{rt: rt, inner: rt.h}
	}
}

func (b *Binding) producerSpec(ext map[string]any) ProducerSpec {
	return ProducerSpec{Binding: b.name, Destination: b.destination, ContentType: b.cfg.ContentType,
		Producer: b.cfg.Producer, Extension: ext, Logger: b.log}
}

// consumerSpecs are the specs of the binder consumers of input binding b:
// one per destination of its list, and with consumer.instance-index-list
// one per index for each (ConsumerConfig.perInstance), as SCSt's
// BindingService binds them.
func (b *Binding) consumerSpecs(ext map[string]any, rt *runtimeBinding) []ConsumerSpec {
	var out []ConsumerSpec
	for _, d := range Destinations(b.destination) {
		for _, cc := range b.cfg.Consumer.perInstance(b.group) {
			s := b.consumerSpec(d, ext, rt)
			s.Consumer = cc
			out = append(out, s)
		}
	}
	return out
}

func (b *Binding) consumerSpec(dest string, ext map[string]any, rt *runtimeBinding) ConsumerSpec {
	s := ConsumerSpec{Binding: b.name, Destination: dest, Group: b.group, ContentType: b.cfg.ContentType,
		Consumer: b.cfg.Consumer, Extension: ext, Logger: b.log}
	if rt != nil {
		s.Holding = b.stats.holding
		if b.cfg.Consumer.BatchMode {
			s.BatchHandler = rt.processBatch
		} else {
			s.Handler = rt.process
			s.LazyHeaders = rt.readsNoHeaders()
			rt.lazyHeaders = s.LazyHeaders
			if ap := rt.pipelinable(); ap != nil {
				rt.async = ap // the output is bound: outputs bind first
				s.AsyncHandler = rt.processAsync
			}
		}
	}
	return s
}

// runtimeOf returns the runtime of the function whose input is b, or nil.
func (a *App) runtimeOf(b *Binding) *runtimeBinding {
	for _, rt := range a.funcs {
		if rt.in == b {
			return rt
		}
	}
	return nil
}

// Bindings returns every binding, outputs first.
func (a *App) Bindings() []*Binding { return append([]*Binding(nil), a.bindings...) }

// Binding returns the binding named name (case-insensitively), or nil.
func (a *App) Binding(name string) *Binding { return a.byName[strings.ToLower(name)] }

// Binders returns the app's binders by name (only those that have bindings
// or were used by the bridge).
func (a *App) Binders() map[string]Binder {
	a.mu.Lock()
	defer a.mu.Unlock()
	m := make(map[string]Binder, len(a.binders))
	for n, bi := range a.binders {
		m[n] = bi.binder
	}
	return m
}

// BinderHealth is the state of one binder.
type BinderHealth struct {
	Name string `json:"name"`
	Type string `json:"type"`
	// Up is true when the binder is connected (binders that cannot tell
	// are taken as up).
	Up    bool   `json:"up"`
	Error string `json:"error,omitempty"`
}

// Health reports the state of every binder the app uses (a configured
// binder without bindings is not created, so it does not count), sorted by
// name, then of every [Component] that implements [HealthChecker].
func (a *App) Health(ctx context.Context) []BinderHealth {
	a.mu.Lock()
	bis := make([]*binderInstance, 0, len(a.binders))
	for _, bi := range a.binders {
		bis = append(bis, bi)
	}
	a.mu.Unlock()
	sort.Slice(bis, func(i, j int) bool { return bis[i].name < bis[j].name })
	out := make([]BinderHealth, 0, len(bis))
	for _, bi := range bis {
		h := BinderHealth{Name: bi.name, Type: bi.typ, Up: true}
		if hc, ok := bi.binder.(HealthChecker); ok {
			if err := hc.Health(ctx); err != nil {
				h.Up, h.Error = false, err.Error()
			}
		}
		out = append(out, h)
	}
	return append(out, a.componentHealth(ctx)...)
}

// State tells where the app is in its life: "new", "starting", "running",
// "stopping".
func (a *App) State() string {
	select {
	case <-a.stopping:
		return "stopping"
	default:
	}
	select {
	case <-a.ready:
		return "running"
	default:
	}
	if a.running.Load() {
		return "starting"
	}
	return "new"
}

// Bridge returns the send bridge, for sending from ordinary code.
func (a *App) Bridge() *Bridge { return a.bridge }

// Ready is closed once every binding is bound and started and the suppliers
// run.
func (a *App) Ready() <-chan struct{} { return a.ready }

// Config returns the configuration the app was built from.
func (a *App) Config() *Config { return a.cfg }

// Run binds everything (outputs before inputs), starts the suppliers, and
// blocks until ctx ends (or SIGINT/SIGTERM arrives, with [WithSignals]);
// then it shuts down gracefully: suppliers and intake stop, in-flight
// messages finish and are acknowledged, producers flush, binders close — all
// within stream.shutdown-timeout. Run returns the binding error that
// prevented start-up, or the errors of shutdown. An App runs once.
func (a *App) Run(ctx context.Context) error {
	if !a.running.CompareAndSwap(false, true) {
		return errors.New("stream: app already run")
	}
	if a.opts.signals {
		var stop context.CancelFunc
		ctx, stop = signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
		defer stop()
	}
	// Suppliers are called until supCtx ends (shutdown begins); a value
	// being sent then is sent with sendCtx, which ends at the shutdown
	// deadline (supplierRunner).
	supCtx, cancelSuppliers := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelSuppliers()
	sendCtx, cancelSends := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelSends()
	var suppliers sync.WaitGroup
	err := a.checkIdempotency() // idempotent.go
	if err == nil {
		err = a.start(ctx, supCtx, sendCtx, &suppliers)
	}
	if err == nil {
		err = a.startComponents(ctx)
	}
	if err == nil {
		a.log.Info("stream app started", "bindings", len(a.bindings), "binders", len(a.binders))
		close(a.ready)
		<-ctx.Done()
		a.log.Info("stream app shutting down")
	}
	// One deadline for the whole shutdown. Components stop first: the
	// bridge still takes their sends; those holding what handlers use are
	// closed last, once the bindings drained (ComponentCloser).
	deadline := time.Now().Add(a.shutdownTimeout())
	serr := errors.Join(a.stopComponents(deadline), a.shutdown(deadline, cancelSuppliers, cancelSends, &suppliers), a.closeComponents(deadline))
	if serr != nil {
		a.log.Error("stream app shutdown incomplete", append([]any{"error", serr}, shutdownAttrs(serr)...)...)
	} else {
		a.log.Info("stream app stopped")
	}
	return errors.Join(err, serr)
}

func (a *App) start(ctx, supCtx, sendCtx context.Context, suppliers *sync.WaitGroup) error {
	rtOf := map[*Binding]*runtimeBinding{}
	for _, rt := range a.funcs {
		if rt.in != nil {
			rtOf[rt.in] = rt
		}
	}
	for _, b := range a.bindings {
		bi := a.binders[b.binderName]
		cons, prod := a.cfg.Extension(bi.typ, b.name)
		if !b.input {
			var p Producer
			err := a.bindRetrying(ctx, bi, "producer "+b.name, func(ctx context.Context) (err error) {
				p, err = bi.binder.BindProducer(ctx, b.producerSpec(prod))
				return err
			})
			if err != nil {
				return fmt.Errorf("bind producer %s to %s: %w", b.name, b.destination, err)
			}
			b.adoptPartitionCount(p)
			b.mu.Lock() // Health may read it meanwhile
			b.producer = p
			b.mu.Unlock()
			a.logBound(b)
			if b.cfg.Producer.AutoStart() {
				if err := b.Start(ctx); err != nil {
					return err
				}
			}
			continue
		}
		perIndex := len(b.cfg.Consumer.InstanceIndexes(b.group)) > 0
		for _, s := range b.consumerSpecs(cons, rtOf[b]) {
			var c Consumer
			err := a.bindRetrying(ctx, bi, "consumer "+b.name, func(ctx context.Context) (err error) {
				c, err = bi.binder.BindConsumer(ctx, s)
				return err
			})
			if err != nil {
				if perIndex {
					return fmt.Errorf("bind consumer %s to %s as instance-index %d: %w", b.name, s.Destination, s.Consumer.InstanceIndex, err)
				}
				return fmt.Errorf("bind consumer %s to %s: %w", b.name, s.Destination, err)
			}
			b.mu.Lock()
			b.consumers = append(b.consumers, c)
			b.mu.Unlock()
			if rq, ok := c.(RejectRequeuer); ok && rq.RequeuesRejected() && rtOf[b] != nil {
				rtOf[b].requeueRejected = true // before Start: no message yet
			}
			if ad, ok := c.(AnonymousDeadLetterer); ok && b.group == "" && ad.DeadLettersWithoutGroup() && rtOf[b] != nil {
				rtOf[b].anonDeadLetters = true // before Start, as above
			}
		}
		a.logBound(b)
	}
	// A Start talks to the broker too (a RabbitMQ subscription, ...): the
	// binder's startup-timeout bounds it and an unavailable broker is
	// waited for, as in a bind (Binding.Start starts all or nothing).
	for _, b := range a.bindings {
		if b.input && b.cfg.Consumer.AutoStart() {
			if err := a.bindRetrying(ctx, a.binders[b.binderName], "start consumer "+b.name, b.Start); err != nil {
				return err
			}
		}
	}
	for _, rt := range a.funcs {
		if rt.fn.kind != KindSupplier {
			continue
		}
		r := rt.fn.parts[0].newRunner
		if len(rt.fn.parts) > 1 {
			r = composedSupplier
		}
		runner := r(rt)
		suppliers.Add(1)
		go func() {
			defer suppliers.Done()
			runner.run(supCtx, sendCtx)
		}()
	}
	return ctx.Err()
}

// bindRetrying calls bind until it succeeds, fails with an error other than
// [ErrUnavailable], or ctx ends, or the binder has been unavailable for its
// startup-timeout: the time its failed attempts and the waits after them
// took, summed over its bindings (binderInstance.unavailable). Each attempt
// gets the time that is left of it; an attempt that succeeds costs nothing.
// Retries back off from 100ms to 5s (or wait longer, until the time a
// binder's [UnavailableUntil] error names) and are logged at WARN, with the
// wait as retry_in, since readiness is 503 meanwhile.
func (a *App) bindRetrying(ctx context.Context, bi *binderInstance, what string, bind func(context.Context) error) error {
	bounded := bi.startupTimeout > 0
	timedOut := func(err error) error {
		return &StartupTimeoutError{Binder: bi.name, Timeout: bi.startupTimeout, Err: err}
	}
	// ended is err of an attempt made or awaited when ctx ended, with ctx's
	// error in its chain, so that errors.Is tells a cancelled start-up
	// from a failed one also when the cancel came during a back-off wait.
	ended := func(err error) error {
		if errors.Is(err, ctx.Err()) {
			return err
		}
		return fmt.Errorf("%w (%w)", err, ctx.Err())
	}
	policy := retryPolicy{initial: 100 * time.Millisecond, multiplier: 2, max: 5 * time.Second}
	for attempt := 1; ; attempt++ {
		actx, cancel := ctx, context.CancelFunc(func() {})
		if bounded {
			actx, cancel = context.WithTimeout(ctx, bi.startupTimeout-bi.unavailable)
		}
		began := time.Now()
		err := bind(actx)
		cut := actx.Err() != nil && ctx.Err() == nil // by the startup-timeout
		cancel()
		if err == nil {
			return nil
		}
		bi.unavailable += time.Since(began)
		switch {
		case cut:
			return timedOut(err)
		case ctx.Err() != nil: // a cancelled start-up: no retry, no WARN
			return ended(err)
		case !errors.Is(err, ErrUnavailable):
			return err
		}
		wait := policy.backOff(attempt)
		if next := retryNotBefore(err); !next.IsZero() {
			// The binder makes no attempt before next: waiting less would
			// only have the retry wait inside the binder, and the WARN's
			// retry_in would not say when the next attempt comes.
			wait = max(wait, time.Until(next))
		}
		if left := bi.startupTimeout - bi.unavailable; bounded && wait >= left {
			if left <= 0 {
				return timedOut(err)
			}
			wait = left
		}
		a.log.Warn("binder unavailable; retrying the bind", "binder", bi.name, "binding", what, "attempt", attempt, "retry_in", wait.Round(time.Millisecond), "error", err)
		if !sleepCtx(ctx, wait) {
			return ended(err)
		}
		bi.unavailable += wait
		if bounded && bi.unavailable >= bi.startupTimeout {
			return timedOut(err)
		}
	}
}

// StartupTimeoutError is the error of [App.Run] when a binder stayed
// unavailable ([ErrUnavailable]) for its whole startup-timeout while the
// app bound its bindings. errors.Is(err, ErrUnavailable) holds; the
// deadline that ended the wait (context.DeadlineExceeded) is not in its
// chain, so that a main that ignores its own context's end does not hide a
// failed start-up.
type StartupTimeoutError struct {
	Binder  string        // the binder's name
	Timeout time.Duration // its startup-timeout
	Err     error         // the last attempt's error
}

func (e *StartupTimeoutError) Error() string {
	return fmt.Sprintf("binder %s unavailable for the whole startup-timeout (%s): %v", e.Binder, e.Timeout, e.Err)
}

// Is reports whether target is [ErrUnavailable].
func (e *StartupTimeoutError) Is(target error) bool { return target == ErrUnavailable }

func (a *App) shutdownTimeout() time.Duration {
	if a.cfg.ShutdownTimeout > 0 {
		return a.cfg.ShutdownTimeout
	}
	return DefaultShutdownTimeout
}

// shutdown unbinds in reverse order until the shutdown deadline. The
// suppliers stop first (cancelSuppliers); the sends of their values in
// flight get until the deadline (cancelSends), while the input bindings
// drain; the producers close once both ended.
func (a *App) shutdown(deadline time.Time, cancelSuppliers, cancelSends context.CancelFunc, suppliers *sync.WaitGroup) error {
	close(a.stopping)
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	var errs []error
	cancelSuppliers()
	done := make(chan struct{})
	go func() { suppliers.Wait(); close(done) }()
	// The input bindings drain while the suppliers' sends finish: a send
	// that cannot complete must not take the handlers' shutdown time. They
	// stop all at once, except that an in-process input fed by a function
	// of this app stops after that function's input (upstreamInputs).
	var mu sync.Mutex
	var wg sync.WaitGroup
	ups := a.upstreamInputs()
	stopped := make(map[*Binding]chan struct{}, len(a.bindings))
	for _, b := range a.bindings {
		if b.input {
			stopped[b] = make(chan struct{})
		}
	}
	for _, b := range a.bindings {
		if !b.input {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer close(stopped[b])
			for _, up := range ups[b] {
				select {
				case <-stopped[up]:
				case <-ctx.Done():
				}
			}
			if err := b.Stop(ctx); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if err := a.handlersRunning(); err != nil {
		errs = append(errs, err)
	}
	// done first: once the inputs' drain took the whole timeout, both are
	// ready, and select would pick one at random.
	select {
	case <-done:
	default:
		select {
		case <-done:
		case <-ctx.Done():
			cancelSends()
			errs = append(errs, errors.New("suppliers did not stop within the shutdown timeout (a value being sent was not sent)"))
		}
	}
	if err := a.bridge.close(ctx); err != nil {
		errs = append(errs, err)
	}
	for _, b := range a.bindings {
		if b.input || b.producer == nil {
			continue
		}
		wasStopped := b.State() == StateStopped
		if !wasStopped {
			b.setState(StateStopped)
		}
		err := b.producer.Close(ctx)
		if err != nil {
			errs = append(errs, fmt.Errorf("binding %s: close: %w", b.name, err))
		}
		switch { // as an input's Stop logs it
		case wasStopped:
		case err != nil:
			b.log.Warn("binding stopped with an error", "error", err)
		default:
			b.log.Info("binding stopped")
		}
	}
	a.mu.Lock()
	binders := make([]*binderInstance, 0, len(a.binders))
	for _, bi := range a.binders {
		binders = append(binders, bi)
	}
	a.mu.Unlock()
	for _, bi := range binders {
		if err := bi.binder.Close(ctx); err != nil {
			errs = append(errs, fmt.Errorf("binder %s: close: %w", bi.name, err))
		}
	}
	return errors.Join(errs...)
}

// composedSupplier runs a composition that starts with a polled supplier.
func composedSupplier(rt *runtimeBinding) supplierRunner { return composedRunner{rt} }

type composedRunner struct{ rt *runtimeBinding }

func (c composedRunner) run(ctx, send context.Context) {
	rt := c.rt
	newPoller(rt.out.cfg.Producer.Poller, rt.log).run(ctx, rt.out, func() bool {
		var v any
		err := safeCall(func() (err error) { v, err = rt.fn.parts[0].call(ctx, nil); return err })
		switch {
		case errors.Is(err, Skip):
			return false
		case err != nil:
			rt.out.stats.errors.Add(1)
			rt.logSupplierPanic(err)
			rt.log.Error("supplier failed", "error", boundedErr(err))
			return false
		case rt.fn.parts[0].out.isNil(v):
			return false
		}
		for attempt := 1; send.Err() == nil; attempt++ {
			err := stoppedForGood(ctx, safeCall(func() error { return rt.callChain(send, 1, v, nil, nil, Received{}) }))
			var se *sendError
			if err == nil || IsPermanent(err) || !errors.As(err, &se) {
				if err != nil {
					// A function of the chain failed: the value is dropped,
					// as a polled supplier's failure would be, and the poll
					// ends.
					rt.out.stats.errors.Add(1)
					rt.logSupplierPanic(err)
					rt.log.Error("composed supplier failed", "error", boundedErr(err))
					return false
				}
				return true
			}
			rt.log.Warn("composed supplier output not sent, retrying", "error", boundedErr(err))
			if !sleepCtx(send, retryPolicy{initial: 100 * time.Millisecond, multiplier: 2, max: 5 * time.Second}.backOff(attempt)) {
				return false
			}
		}
		return false
	})
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// errorHandler returns the error handler of input binding b: the one
// WithErrorHandler set for it, else the one its error-handler-definition
// names (WithNamedErrorHandler; prepareBinding checked the name); nil for
// none. When both are there, the binding's own wins, with a warning, as the
// more specific choice (the definition may be stream.default's).
func (a *App) errorHandler(b *Binding) ErrorHandler {
	h := a.opts.errorHandlers[strings.ToLower(b.name)]
	def := b.cfg.ErrorHandlerDefinition
	switch {
	case def == "":
	case h != nil:
		a.log.Warn("stream: the binding's error handler set with stream.WithErrorHandler wins over its error-handler-definition",
			"binding", b.name, "error-handler-definition", def)
	default:
		h = a.opts.namedErrorHandlers[def]
	}
	return h
}

// unknownErrorHandler is the problem of an error-handler-definition naming
// no handler registered with WithNamedErrorHandler: it lists those that
// are, so that a misspelt name shows.
func (a *App) unknownErrorHandler(name string) string {
	names := slices.Sorted(maps.Keys(a.opts.namedErrorHandlers))
	msg := fmt.Sprintf("no error handler %q registered (register it with stream.WithNamedErrorHandler(%q, handler)); ", name, name)
	if len(names) == 0 {
		return msg + "none is registered"
	}
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = strconv.Quote(n)
	}
	return msg + "registered: " + strings.Join(q, ", ")
}
