package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/streambind/streambind/binder/kafka"
	"github.com/streambind/streambind/binder/memory"
	"github.com/streambind/streambind/binder/nats"
	"github.com/streambind/streambind/binder/rabbit"
	"github.com/streambind/streambind/binder/redis"
	"github.com/streambind/streambind/config"
	"github.com/streambind/streambind/internal/didyoumean"
	"github.com/streambind/streambind/stream"
	"github.com/streambind/streambind/topology"
)

// binderTypes are the binder types the command knows, as an app
// registers them.
func binderTypes() map[string]stream.BinderFactory {
	return map[string]stream.BinderFactory{
		memory.Type: memory.New,
		kafka.Type:  kafka.New,
		rabbit.Type: rabbit.New,
		nats.Type:   nats.New,
		redis.Type:  redis.New,
	}
}

// knownBinderTypes returns the names of binderTypes, sorted.
func knownBinderTypes() []string {
	var out []string
	for typ := range binderTypes() {
		out = append(out, typ)
	}
	sort.Strings(out)
	return out
}

// binding is one binding of a service, as the app would bind it.
type binding struct {
	name     string
	function string // "" for an output binding of the send bridge
	input    bool
	// configured is false for a binding the app would bind with defaults
	// only, of a function whose kind the configuration does not show.
	configured   bool
	destinations []string
	group        string
	binderName   string
	binderType   string
	// broker identifies the broker of the binding's binder (brokerOf):
	// producers and consumers of one destination name meet when their
	// binder types and brokers are equal.
	broker      string
	contentType string
	consumer    stream.ConsumerConfig
	producer    stream.ProducerConfig
	// ext is the binder-specific section of the binding (consumer or
	// producer side), undecoded.
	ext map[string]any
}

// function is one bound function.
type function struct {
	name string
	// kind: "supplier", "function", "consumer", or "unknown" when no
	// binding of it is configured.
	kind string
}

// checked is what building a service's app found: its problems (the
// loader's first), its functions and its bindings.
type checked struct {
	problems stream.ConfigErrors
	// warnings are what the loader and the app warn about (keys ignored,
	// configured bindings nothing binds): the configuration runs.
	warnings stream.ConfigErrors
	// files are the warnings about a file the configuration names (a TLS
	// trust store, CA file, client certificate or key, credentials file)
	// that cannot be read or is not what its setting needs, each with the
	// binder's message. They are warnings, not problems: a check runs
	// where those files often are not (CI), and whether they are is no
	// matter of the configuration; the app, which reads them when it
	// starts, fails on them. lint --check-files reports them as problems.
	files map[*stream.ConfigError]string
	// assumedBinder is the binder type the check gave the bindings that
	// name no binder, when the configuration does not decide it (the
	// app's code does: the one binder type it registers); "" when the
	// configuration decides.
	assumedBinder string
	functions     []function
	bindings      []*binding
	binders       map[string]string // binder name → type, of the bindings
}

// errRecorded is what the recording binders return to the app in place
// of an error they recorded themselves, structured.
var errRecorded = errors.New("streambind: reported separately")

// recorder wraps the binder factories: it records the bindings the app
// validates (their specs) and the binders' problems one by one, with
// their own key paths.
type recorder struct {
	mu      sync.Mutex
	binders []stream.Binder
	specs   []recorded
	errs    stream.ConfigErrors
}

type recorded struct {
	binderName, binderType string
	input                  bool
	producer               stream.ProducerSpec
	consumer               stream.ConsumerSpec
}

// addErr records err under fallback (when it is not a ConfigError with
// its own path).
func (r *recorder) addErr(err error, fallback string) {
	var ces stream.ConfigErrors
	var ce *stream.ConfigError
	switch {
	case errors.As(err, &ces):
		for _, e := range ces {
			c := *e
			r.errs = append(r.errs, &c)
		}
	case errors.As(err, &ce):
		c := *ce
		r.errs = append(r.errs, &c)
	default:
		r.errs = append(r.errs, &stream.ConfigError{Path: fallback, Msg: err.Error()})
	}
}

func (r *recorder) wrap(f stream.BinderFactory) stream.BinderFactory {
	return func(ctx context.Context, s stream.BinderSettings) (stream.Binder, error) {
		b, err := f(ctx, s)
		r.mu.Lock()
		defer r.mu.Unlock()
		if err != nil {
			r.addErr(err, "stream.binders."+s.Name)
			// The binder's settings are wrong (reported); its bindings are
			// still checked. When only files the settings name are wrong
			// (missing where the check runs, say), by the binder with its
			// real settings, not reading the files: the checks of a binding
			// that depend on the binder's settings (Kafka's consumer
			// properties against its max-bytes) see what the app would.
			// Otherwise by a binder of the same type with default settings.
			skip := s
			skip.SkipFiles = true
			if b, err = f(ctx, skip); err != nil {
				b, err = f(ctx, stream.BinderSettings{Name: s.Name, Type: s.Type, Logger: s.Logger, SectionsOnly: s.SectionsOnly})
			}
			if err != nil {
				return nil, errRecorded
			}
		}
		r.binders = append(r.binders, b)
		lb := &lintBinder{inner: b, name: s.Name, typ: s.Type, r: r, sectionsOnly: s.SectionsOnly}
		if _, ok := b.(stream.DelayedRetrier); ok {
			return lintRetrier{lb}, nil
		}
		return lb, nil
	}
}

// lintRetrier stands in for a binder that carries out consumer.retry-delays
// (a stream.DelayedRetrier): the app checks for that interface on the
// binder it is given, so the stand-in must have it exactly when the binder
// does.
type lintRetrier struct{ *lintBinder }

func (b lintRetrier) DelayedRetries(spec stream.ConsumerSpec) error {
	return b.inner.(stream.DelayedRetrier).DelayedRetries(spec)
}

// close closes the binders the app created (none of them connected).
func (r *recorder) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, b := range r.binders {
		_ = b.Close(ctx)
	}
}

// lintBinder stands in for a binder during a check: it records what the
// app validates and never binds.
type lintBinder struct {
	inner     stream.Binder
	name, typ string
	r         *recorder
	// sectionsOnly: the app made it only to validate binder-specific
	// sections (of a type no binding uses, or of bindings on binders of
	// other types); its specs are not bindings, and their problems are
	// returned to the app, which reports them.
	sectionsOnly bool
}

var errNoBind = errors.New("streambind: a check does not bind")

func (b *lintBinder) BindProducer(context.Context, stream.ProducerSpec) (stream.Producer, error) {
	return nil, errNoBind
}

func (b *lintBinder) BindConsumer(context.Context, stream.ConsumerSpec) (stream.Consumer, error) {
	return nil, errNoBind
}

func (b *lintBinder) Close(ctx context.Context) error { return b.inner.Close(ctx) }

func (b *lintBinder) ValidateProducer(spec stream.ProducerSpec) error {
	b.r.mu.Lock()
	defer b.r.mu.Unlock()
	if !b.sectionsOnly {
		b.r.specs = append(b.r.specs, recorded{binderName: b.name, binderType: b.typ, producer: spec})
	}
	if sv, ok := b.inner.(stream.SpecValidator); ok {
		if err := sv.ValidateProducer(spec); err != nil {
			if b.sectionsOnly {
				// The app reports them, as it decides: only the unknown
				// keys of a binding on a binder of another type.
				return err
			}
			b.r.addErr(err, "stream."+b.typ+".bindings."+spec.Binding+".producer")
		}
	}
	return nil
}

func (b *lintBinder) ValidateConsumer(spec stream.ConsumerSpec) error {
	b.r.mu.Lock()
	defer b.r.mu.Unlock()
	// With consumer.instance-index-list the app validates a spec per
	// index; the binding is recorded once per destination, as without it
	// (its list says the indexes).
	ix := spec.Consumer.InstanceIndexes(spec.Group)
	if !b.sectionsOnly && (len(ix) == 0 || spec.Consumer.InstanceIndex == ix[0]) {
		b.r.specs = append(b.r.specs, recorded{binderName: b.name, binderType: b.typ, input: true, consumer: spec})
	}
	if sv, ok := b.inner.(stream.SpecValidator); ok {
		if err := sv.ValidateConsumer(spec); err != nil {
			if b.sectionsOnly {
				// The app reports them, as it decides: only the unknown
				// keys of a binding on a binder of another type.
				return err
			}
			b.r.addErr(err, "stream."+b.typ+".bindings."+spec.Binding+".consumer")
			return nil
		}
	}
	// The WARNs the binder logs at bind (RabbitMQ's max-concurrency that
	// it does not honour) go to the app's logger, whose warnings lint
	// reports: the binder's own condition and text, before anything binds.
	if w, ok := b.inner.(consumerWarner); ok && !b.sectionsOnly {
		w.WarnConsumer(spec)
	}
	return nil
}

// consumerWarner is implemented by a binder that can log, without
// binding, the WARNs it logs at a consumer's bind (rabbit.Binder).
type consumerWarner interface {
	WarnConsumer(spec stream.ConsumerSpec)
}

// DeadLetterSource forwards to the binder, which tells where the dead
// letters of a binding go (consumer.dead-letters-of).
func (b *lintBinder) DeadLetterSource(spec stream.ConsumerSpec) (stream.DeadLetterSource, error) {
	if ds, ok := b.inner.(stream.DeadLetterSourcer); ok {
		return ds.DeadLetterSource(spec)
	}
	return stream.DeadLetterSource{}, fmt.Errorf("binder type %s cannot tell where its dead letters go", b.typ)
}

var bindingName = regexp.MustCompile(`^(.+)-(in|out)-(\d+)$`)

// bridgeTargets returns the configured bindings that only a Bridge.Send
// (SCSt's StreamBridge) can use: not a binding of a function of items (nor
// named like one), not an input or output binding, and without a group.
func bridgeTargets(cfg *stream.Config, items []string) []string {
	own := map[string]bool{}
	for _, n := range strings.Split(cfg.OutputBindings+";"+cfg.InputBindings, ";") {
		own[strings.ToLower(strings.TrimSpace(n))] = true
	}
	for _, n := range cfg.Function.Bindings {
		own[strings.ToLower(strings.TrimSpace(n))] = true
	}
	var out []string
	for name, b := range cfg.Bindings {
		if own[strings.ToLower(name)] || bindingName.MatchString(name) || b.Group != "" || b.Destination == "" {
			continue
		}
		out = append(out, name)
	}
	slices.Sort(out)
	return out
}

// check builds s's app with stand-in functions and returns every problem
// the loader, the app and the binders find, and the bindings.
func check(s *service) *checked {
	cfg := s.loaded.Stream
	out := &checked{binders: map[string]string{}}
	out.problems = append(out.problems, s.loadErrs...)

	configured := map[string]bool{} // lower-case binding names
	for name := range cfg.Bindings {
		configured[strings.ToLower(name)] = true
	}
	def := strings.TrimSpace(cfg.Function.Definition)
	// items are the definition's, with ',' read as '|' (as Spring Cloud
	// Function reads it, and the app); the app is given them as written
	// (written), for its note on a composition written with ','.
	var items, written []string
	for _, it := range strings.Split(def, ";") {
		if it = strings.TrimSpace(it); it != "" {
			items = append(items, stream.NormalizeDefinition(it))
			written = append(written, it)
		}
	}
	// bridgeFns: the functions of an empty definition whose bindings
	// (outputs without a group) are taken for the send bridge's.
	var bridgeFns []string
	if len(items) == 0 {
		// An app with an empty definition binds its only registered
		// function; the configured bindings say which one that would be,
		// but for those of stream.output-bindings and stream.input-bindings
		// (stream.source x adds x-out-0), which belong to no function: a
		// function x would bind x-out-0 a second time.
		own := map[string]bool{}
		for _, n := range strings.Split(cfg.OutputBindings+";"+cfg.InputBindings, ";") {
			own[strings.ToLower(strings.TrimSpace(n))] = true
		}
		fns := map[string]bool{}
		// bridgeOnly: functions seen only in output bindings without a
		// group, which SCSt's StreamBridge may send to as well (the
		// kafka-batch sample's one Consumer bean sends to output-out-0).
		bridgeOnly := map[string]bool{}
		for name, b := range cfg.Bindings {
			m := bindingName.FindStringSubmatch(name)
			if m == nil || own[strings.ToLower(name)] {
				continue
			}
			if _, seen := fns[m[1]]; !seen {
				bridgeOnly[m[1]] = true
			}
			fns[m[1]] = true
			if m[2] != "out" || b.Group != "" {
				bridgeOnly[m[1]] = false
			}
		}
		if len(fns) > 1 {
			// The one function that binds an input is the app's only
			// function; the others' bindings are the send bridge's. When
			// none does (only output bindings without a group, of two
			// functions or more: a producer that sends with the bridge
			// alone, SCSt's "foreign event-driven sources"), all of them
			// are the bridge's: the app starts with no function bound and
			// the bridge binds each at its first send to it.
			var bound []string
			for f := range fns {
				if !bridgeOnly[f] {
					bound = append(bound, f)
				}
			}
			others := sortedSet(fns)
			if len(bound) == 1 {
				others = slices.DeleteFunc(others, func(f string) bool { return f == bound[0] })
			}
			// An output-only name within two edits of the function's
			// (ordrs-in-0 beside orders-out-0) is a typo of one of them,
			// not the bridge's: the bindings stay ambiguous (an error).
			misspelt := slices.ContainsFunc(others, func(f string) bool {
				return len(bound) == 1 && didyoumean.Distance(strings.ToLower(f), strings.ToLower(bound[0])) <= 2
			})
			if len(bound) == 1 && !misspelt {
				out.warnings = append(out.warnings, &stream.ConfigError{Path: "stream.function.definition",
					Origin: s.origin("stream.function"),
					Msg: fmt.Sprintf("is empty: checked as %s, the one function whose bindings have an input or a group; the output bindings of %s are taken for the send bridge's (if the app registers %s too, list the functions to bind)",
						bound[0], strings.Join(others, ", "), strings.Join(others, ", "))})
				fns = map[string]bool{bound[0]: true}
				bridgeFns = others
			}
			if len(bound) == 0 {
				bridgeFns = sortedSet(fns)
				fns = map[string]bool{}
			}
		}
		names := sortedSet(fns)
		switch len(names) {
		case 0:
		case 1:
			items = names
		default:
			out.problems = append(out.problems, &stream.ConfigError{Path: "stream.function.definition",
				Origin: s.origin("stream.function"),
				Msg:    fmt.Sprintf("is empty, but the bindings belong to %d functions (%s): list the ones to bind", len(names), strings.Join(names, ", "))})
			items = names // their bindings are checked all the same
		}
	}

	inputBinding := map[string]bool{}
	for _, n := range strings.Split(cfg.InputBindings, ";") {
		inputBinding[strings.ToLower(strings.TrimSpace(n))] = true
	}
	fns := stream.NewCatalog()
	registered := map[string]bool{}
	kinds := map[string]string{}
	// batch: the functions that take the input of a batch-mode binding.
	// The app wants a slice there (of []byte or string with native
	// decoding), and []byte, string or a Message of one of them elsewhere
	// with native decoding (stream.App's wire and checkNative); the
	// stand-ins take [][]byte and []byte, so that they fit whatever
	// binding a real function of that name could. A function first in two
	// items, one of them batch-mode and the other native-decoded, fits
	// neither; the app refuses it too.
	batch := map[string]bool{}
	for _, item := range items {
		first := strings.TrimSpace(strings.Split(item, "|")[0])
		if cfg.Binding(cfg.FunctionBindingName(item + "-in-0")).Consumer.BatchMode {
			batch[first] = true
		}
	}
	for _, n := range strings.Split(cfg.InputBindings, ";") {
		if n = strings.TrimSpace(n); n != "" && cfg.Binding(n).Consumer.BatchMode {
			batch[n] = true
		}
	}
	addConsumer := func(name string) {
		if batch[name] {
			stream.AddConsumer(fns, name, func(context.Context, [][]byte) error { return nil })
		} else {
			stream.AddConsumer(fns, name, func(context.Context, []byte) error { return nil })
		}
	}
	// own: the lower-case names of the items' bindings (index 0), which a
	// misspelt one is not.
	own := map[string]bool{}
	for _, item := range items {
		for _, side := range []string{"-in-0", "-out-0"} {
			own[strings.ToLower(cfg.FunctionBindingName(item+side))] = true
		}
	}
	// misspelt reports whether a configured binding that is no item's is
	// a typo of binding n (paymnt-in-0 for payment-in-0), by the rule of
	// the app's did-you-mean for it (stream.App's misspeltBinding): a
	// function whose only bindings are misspelt is of the kind they show,
	// as it would be if they were spelt right. Taken for a function, it
	// would be listed with an output binding a consumer does not have.
	misspelt := func(n string) bool {
		l := strings.ToLower(n)
		m := bindingName.FindStringSubmatch(l)
		for c := range configured {
			cm := bindingName.FindStringSubmatch(c)
			if own[c] || cm == nil || m == nil || cm[2] != m[2] {
				continue
			}
			if didyoumean.Near(l, c) {
				return true
			}
		}
		return false
	}
	for _, item := range items {
		hasIn := configured[strings.ToLower(cfg.FunctionBindingName(item+"-in-0"))]
		hasOut := configured[strings.ToLower(cfg.FunctionBindingName(item+"-out-0"))]
		if !hasIn && !hasOut {
			hasIn = misspelt(cfg.FunctionBindingName(item + "-in-0"))
			hasOut = misspelt(cfg.FunctionBindingName(item + "-out-0"))
		}
		kind := "function"
		switch {
		case hasIn && !hasOut:
			kind = "consumer"
		case hasOut && !hasIn:
			kind = "supplier"
		case !hasIn && !hasOut:
			kind = "unknown"
		}
		if kind == "unknown" && inputBinding[strings.ToLower(item)] {
			// Refused by the app (it is an input binding too); a consumer
			// is what it would have to be.
			kind = "consumer"
		}
		kinds[item] = kind
		out.functions = append(out.functions, function{name: item, kind: kind})
		parts := strings.Split(item, "|")
		for i, p := range parts {
			p = strings.TrimSpace(p)
			if registered[p] {
				continue
			}
			registered[p] = true
			switch {
			case i == 0 && kind == "supplier":
				stream.AddSupplier(fns, p, func(context.Context) ([]byte, error) { return nil, stream.Skip })
			case i == len(parts)-1 && kind == "consumer":
				addConsumer(p)
			case batch[p]:
				stream.AddFunction(fns, p, func(context.Context, [][]byte) ([]byte, error) { return nil, stream.Skip })
			default:
				stream.AddFunction(fns, p, func(context.Context, []byte) ([]byte, error) { return nil, stream.Skip })
			}
		}
	}

	// stream.input-bindings are handled by consumers of their names
	// (graph draws each as one, not as the send bridge).
	explicitIn := map[string]string{} // lower-case name → as listed
	for _, n := range strings.Split(cfg.InputBindings, ";") {
		if n = strings.TrimSpace(n); n != "" && !registered[n] {
			registered[n] = true
			addConsumer(n)
			explicitIn[strings.ToLower(n)] = n
			out.functions = append(out.functions, function{name: n, kind: "consumer"})
		}
	}

	rec := &recorder{}
	defer rec.close()
	warns := &warnRecorder{}
	opts := []stream.Option{stream.WithLogger(slog.New(warns)), stream.WithoutSignals()}
	for typ, f := range binderTypes() {
		opts = append(opts, stream.WithBinderType(typ, rec.wrap(f)))
	}
	// Key extractors are registered in code: every name is taken as known.
	extractors := map[string]bool{}
	if n := cfg.Default.Producer.PartitionKeyExtractorName; n != "" {
		extractors[n] = true
	}
	for _, b := range cfg.Bindings {
		if n := b.Producer.PartitionKeyExtractorName; n != "" {
			extractors[n] = true
		}
	}
	for n := range extractors {
		opts = append(opts, stream.WithKeyExtractor(n, func(any, stream.Headers) (any, error) { return nil, nil }))
	}
	// So are the error handlers error-handler-definition names.
	handlers := map[string]bool{}
	for _, b := range append([]stream.BindingConfig{cfg.Default}, mapValues(cfg.Bindings)...) {
		if n := b.ErrorHandlerDefinition; n != "" && !handlers[n] {
			handlers[n] = true
			opts = append(opts, stream.WithNamedErrorHandler(n, func(context.Context, stream.FailedMessage) {}))
		}
	}
	// So are the error names of consumer.retryable-exceptions.
	for _, b := range append([]stream.BindingConfig{cfg.Default}, mapValues(cfg.Bindings)...) {
		for n := range b.Consumer.RetryableExceptions {
			opts = append(opts, stream.WithNamedError(n, errors.New(n)))
		}
	}
	appCfg := *cfg
	appCfg.Function.Definition = strings.Join(items, ";")
	if len(written) == len(items) {
		appCfg.Function.Definition = strings.Join(written, ";")
	}
	// The output bindings of bridgeFns are the send bridge's.
	bridgeOuts := map[string]bool{}
	for name := range cfg.Bindings {
		if m := bindingName.FindStringSubmatch(name); m != nil && m[2] == "out" && slices.Contains(bridgeFns, m[1]) {
			bridgeOuts[strings.ToLower(name)] = true
		}
	}
	extra := bridgeTargets(cfg, items)
	for name := range cfg.Bindings {
		if bridgeOuts[strings.ToLower(name)] {
			extra = append(extra, name)
		}
	}
	slices.Sort(extra)
	if len(extra) > 0 {
		// Checked as the output bindings they are (their producers are
		// bound when the app first sends to them), so that their
		// partitions are checked against the consumers.
		appCfg.OutputBindings = strings.Join(append([]string{cfg.OutputBindings}, extra...), ";")
	}
	if typ := assumedBinder(cfg); typ != "" {
		appCfg.DefaultBinder = typ
		out.assumedBinder = typ
	}
	_, err := stream.NewApp(&appCfg, fns, opts...)
	var appErrs stream.ConfigErrors
	if err != nil && !errors.As(err, &appErrs) {
		appErrs = stream.ConfigErrors{{Path: "stream", Msg: err.Error()}}
	}

	// A key of a binder's settings that the binder does not know is
	// reported as unknown (its message suggests the key meant), not as a
	// list numbered with a gap: STREAM_KAFKA_BINDER_BROKER_1 as
	// STREAM_KAFKA_BINDER_BROKER_0 (the loader, which does not know the
	// binder's keys, takes the digits for a list index).
	unknownKeys := map[string]bool{}
	for _, e := range rec.errs {
		if strings.HasPrefix(e.Msg, "unknown key") {
			unknownKeys[strings.ToLower(e.Path)] = true
		}
	}
	listGapOfUnknown := func(e *stream.ConfigError) bool {
		return config.IsListGap(e) && unknownKeys[strings.ToLower(e.Path)]
	}
	out.problems = slices.DeleteFunc(out.problems, listGapOfUnknown)

	// The loader validated the configured bindings already: the app's
	// repetition of a problem it reported is dropped.
	loadPaths := map[string]bool{}
	for _, e := range s.loadErrs {
		if e.Path != "" && !listGapOfUnknown(e) { // a problem with a whole file or variable
			loadPaths[strings.ToLower(e.Path)] = true
		}
	}
	dup := func(p string) bool {
		p = strings.ToLower(p)
		if loadPaths[p] {
			return true
		}
		if rest, ok := strings.CutPrefix(p, "stream.bindings."); ok {
			if _, key, ok := strings.Cut(rest, "."); ok && loadPaths["stream.default."+key] {
				return true
			}
		}
		return false
	}
	out.files = map[*stream.ConfigError]string{}
	binderProblem := func(e *stream.ConfigError) {
		if !isFileProblem(e) {
			out.problems = append(out.problems, e)
			return
		}
		w := *e
		w.Msg += fileHint
		out.warnings = append(out.warnings, &w)
		out.files[&w] = e.Msg
	}
	for _, e := range appErrs {
		if e.Msg == errRecorded.Error() || dup(e.Path) {
			continue
		}
		binderProblem(e)
	}
	for _, e := range rec.errs {
		if dup(e.Path) {
			continue // a placeholder the loader could not resolve
		}
		e.Path, e.Origin = s.binderErrorPath(e.Path)
		binderProblem(e)
	}
	out.problems = append(out.problems, sectionProblems(s)...)
	for _, e := range out.problems {
		// stream.default-binder not set has no origin (the app names the
		// bindings that need it, with theirs), not its section's line.
		if e.Origin == "" && !strings.EqualFold(e.Path, "stream.default-binder") {
			e.Origin = s.origin(e.Path)
		}
	}
	out.problems = dedupe(out.problems)
	// Binder settings' problems (recorded above, not through the app's
	// checks) name their placeholders too.
	cfg.NamePlaceholders(out.problems)
	out.warnings = append(out.warnings, s.loaded.Warnings...)
	for _, e := range warns.errs() {
		// A binder's WARN names the binding's key; one set in the
		// binder's default section is reported there, as its errors are.
		if e.Origin == "" {
			e.Path, e.Origin = s.binderErrorPath(e.Path)
		}
		out.warnings = append(out.warnings, e)
	}
	readers := deadLetterReaders(s)
	out.warnings = append(out.warnings, replacedGroups(s, readers)...)
	out.warnings = append(out.warnings, readerDLQArgs(s, readers)...)
	for _, e := range out.warnings {
		if e.Origin == "" {
			e.Origin = s.origin(e.Path)
		}
	}
	out.warnings = dedupe(out.warnings)
	// The values placeholders naming secrets filled in are hidden in
	// every message, the binders' and the app's as the loader's.
	for _, e := range append(out.problems[:len(out.problems):len(out.problems)], out.warnings...) {
		e.Msg = s.loaded.Secrets.String(e.Msg)
		if e.Key == "" { // the key as the files wrote it where it was set
			e.Key = s.loaded.Stream.WrittenKey(e.Path, e.Origin)
		}
		e.Key = s.loaded.Secrets.String(e.Key) // names, but a key may hold anything a file writes
	}

	// The bindings, from the specs the app validated.
	bridge := bridgeOuts
	for _, n := range strings.Split(cfg.OutputBindings, ";") {
		if n = strings.TrimSpace(n); n != "" {
			bridge[strings.ToLower(n)] = true
		}
	}
	for _, n := range strings.Split(cfg.InputBindings, ";") {
		if n = strings.TrimSpace(n); n != "" {
			configured[strings.ToLower(n)] = true
		}
	}
	byName := map[string]*binding{}
	brokers := map[string]string{} // binder name → brokerOf
	var order []string
	for _, r := range rec.specs {
		name := r.producer.Binding
		if r.input {
			name = r.consumer.Binding
		}
		key := strings.ToLower(name)
		b := byName[key]
		if b == nil {
			brk, ok := brokers[r.binderName]
			if !ok {
				brk = brokerOf(cfg, r.binderName, r.binderType)
				brokers[r.binderName] = brk
			}
			b = &binding{name: name, input: r.input, binderName: r.binderName, binderType: r.binderType,
				broker: brk, configured: configured[key] || bridge[key]}
			if m := bindingName.FindStringSubmatch(name); m != nil && !bridge[key] {
				b.function = m[1]
			}
			if fn, ok := explicitIn[key]; ok && r.input {
				b.function = fn // stream.input-bindings: a consumer of its name
			}
			for functional, n := range cfg.Function.Bindings { // renamed (stream.function.bindings)
				if m := bindingName.FindStringSubmatch(functional); m != nil && strings.EqualFold(strings.TrimSpace(n), name) {
					b.function = m[1]
				}
			}
			if r.input {
				b.group, b.contentType, b.consumer, b.ext = r.consumer.Group, r.consumer.ContentType, r.consumer.Consumer, r.consumer.Extension
			} else {
				b.destinations = []string{r.producer.Destination}
				b.contentType, b.producer, b.ext = r.producer.ContentType, r.producer.Producer, r.producer.Extension
			}
			byName[key] = b
			order = append(order, key)
			out.binders[r.binderName] = r.binderType
		}
		if r.input {
			b.destinations = append(b.destinations, r.consumer.Destination)
		}
	}
	for _, k := range order {
		out.bindings = append(out.bindings, byName[k])
	}
	sort.SliceStable(out.bindings, func(i, j int) bool { return out.bindings[i].name < out.bindings[j].name })
	return out
}

// fileHint ends the warning about a file (checked.files).
const fileHint = " (an error with streambind lint --check-files, and when the app starts)"

// isFileProblem reports whether e, a problem a binder found, is about the
// presence or contents of a file a setting names, and about nothing else.
// The binders of this module say so by a message that starts with "file "
// ("file /etc/kafka/ca.pem: cannot be read: no such file or directory",
// binder/internal/conf).
func isFileProblem(e *stream.ConfigError) bool {
	return strings.HasPrefix(e.Msg, "file ")
}

// assumedBinder returns the binder type a check gives the bindings that
// name no binder when cfg does not decide it, "" when it does. cfg
// decides with stream.default-binder or with the binders it declares
// that are default candidates (stream.DefaultBinderOf); without either the
// app's code does (the one binder type it registers), which a check
// cannot see. It assumes the type of the one binder-specific section
// (stream.kafka, ...) or Spring Boot connection section (spring.kafka,
// spring.rabbitmq) cfg has, so that the section is validated by its
// binder, else the in-process binder.
func assumedBinder(cfg *stream.Config) string {
	if strings.TrimSpace(cfg.DefaultBinder) != "" || len(stream.DefaultCandidates(cfg)) > 0 {
		return ""
	}
	known := binderTypes()
	// A type a declared binder is named after, or has as its type, is not
	// a candidate (SCSt adds the registered types as candidates only when
	// no declared binder configures them).
	for n, b := range cfg.Binders {
		delete(known, strings.ToLower(n))
		delete(known, strings.ToLower(strings.TrimSpace(b.Type)))
	}
	types := map[string]bool{}
	for typ := range cfg.Extensions {
		if _, ok := known[typ]; ok {
			types[typ] = true
		}
	}
	// Spring Boot's spring.kafka / spring.rabbitmq sections show the
	// binder too: an app with only spring.kafka registers the Kafka
	// binder, whose validation of those settings lint must run.
	for typ := range cfg.ConnectionDefaults {
		if _, ok := known[typ]; ok {
			types[typ] = true
		}
	}
	if len(types) == 1 {
		for typ := range types {
			return typ
		}
	}
	return memory.Type
}

// warnRecorder is the logger of a checked app: it keeps the warnings
// about a key (a record with a "property" attribute), as configuration
// problems, and drops the rest.
type warnRecorder struct {
	mu   sync.Mutex
	list stream.ConfigErrors
}

func (w *warnRecorder) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelWarn }

func (w *warnRecorder) Handle(_ context.Context, r slog.Record) error {
	e := &stream.ConfigError{Msg: r.Message}
	var more []string
	r.Attrs(func(a slog.Attr) bool {
		switch a.Key {
		case "property":
			e.Path = a.Value.String()
		case "origin":
			e.Origin = a.Value.String()
		default:
			// An empty list is "none" ("bound: none" when the app binds
			// nothing), not a colon followed by nothing.
			v := a.Value.String()
			if strings.TrimSpace(v) == "" {
				v = "none"
			}
			more = append(more, strings.ReplaceAll(a.Key, "_", " ")+": "+v)
		}
		return true
	})
	if e.Path == "" {
		return nil
	}
	if len(more) > 0 {
		e.Msg += " (" + strings.Join(more, "; ") + ")"
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.list = append(w.list, e)
	return nil
}

func (w *warnRecorder) WithAttrs([]slog.Attr) slog.Handler { return w }
func (w *warnRecorder) WithGroup(string) slog.Handler      { return w }

func (w *warnRecorder) errs() stream.ConfigErrors {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append(stream.ConfigErrors(nil), w.list...)
}

// binderErrorPath returns the key path and origin of a problem a binder
// found. A binder reports the binder-specific properties of a binding
// under the binding (stream.<type>.bindings.<b>.consumer.<key>) even when
// the key comes from stream.<type>.default: such a problem is reported
// once, under the default, where it was set.
func (s *service) binderErrorPath(p string) (string, string) {
	if o, ok := s.exactOrigin(p); ok {
		return p, o
	}
	parts := strings.SplitN(p, ".", 5)
	if len(parts) == 5 && parts[0] == "stream" && parts[2] == "bindings" {
		side, key, _ := strings.Cut(parts[4], ".")
		dp := "stream." + parts[1] + ".default." + side + "." + key
		if o, ok := s.exactOrigin(dp); ok {
			return dp, o
		}
		// The binding's name as the binder wrote it may differ in case.
		for k := range s.loaded.Stream.Origins {
			if strings.EqualFold(k, p) {
				return p, s.loaded.Stream.Origins[k]
			}
		}
	}
	return p, s.origin(p)
}

// sectionProblems decodes the management and logging sections as an app
// does (packages management and telemetry), and the outbox and
// idempotency sections as those packages do (sections.go).
func sectionProblems(s *service) stream.ConfigErrors {
	out := managementSectionErrors(s.loaded)
	out = append(out, telemetrySectionErrors(s.loaded)...)
	return append(out, postgresSectionErrors(s.loaded)...)
}

// dedupe drops repeated problems (same path, origin and message), keeping
// the first.
func dedupe(es stream.ConfigErrors) stream.ConfigErrors {
	seen := map[string]bool{}
	out := es[:0:0]
	for _, e := range es {
		k := strings.ToLower(e.Path) + "\x00" + e.Origin + "\x00" + e.Msg
		if seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, e)
	}
	return out
}

func sortedSet(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func mapValues[K comparable, V any](m map[K]V) []V {
	out := make([]V, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

// deadLetterReader is a binding that reads the dead letters of another
// (consumer.dead-letters-of), with where the source's binder keeps them.
type deadLetterReader struct {
	name string // the reader
	of   string // the source, as stream.bindings spells it
	ds   stream.DeadLetterSource
	src  stream.BindingConfig // the source's effective configuration
}

// deadLetterReaders returns s's dead-letter readers, by name, whose
// source's binder tells where its dead letters are (deadLetterSource: a
// binder is created for each, so it is asked once for every warning).
func deadLetterReaders(s *service) []deadLetterReader {
	cfg := s.loaded.Stream
	names := make([]string, 0, len(cfg.Bindings))
	for n := range cfg.Bindings {
		names = append(names, n)
	}
	sort.Strings(names)
	var out []deadLetterReader
	for _, n := range names {
		of := cfg.Bindings[n].Consumer.DeadLettersOf
		if of == "" {
			continue
		}
		for k := range cfg.Bindings {
			if strings.EqualFold(k, of) {
				of = k
			}
		}
		if ds, src, ok := s.deadLetterSource(of); ok {
			out = append(out, deadLetterReader{name: n, of: of, ds: ds, src: src})
		}
	}
	return out
}

// replacedGroups warns of the dead-letter readers (consumer.dead-letters-of)
// whose configured group their binder replaces: RabbitMQ's reader consumes
// the DLQ queue itself (its group becomes the queue's name), so the group
// configured is not used, and the reader competes with streambind dlq for
// the same queue.
func replacedGroups(s *service, readers []deadLetterReader) stream.ConfigErrors {
	var out stream.ConfigErrors
	for _, r := range readers {
		group := s.loaded.Stream.Bindings[r.name].Group
		if group == "" || r.ds.Group == "" || strings.EqualFold(r.ds.Group, group) {
			continue
		}
		out = append(out, &stream.ConfigError{Path: "stream.bindings." + r.name + ".group",
			Msg: fmt.Sprintf("not used: binding %s reads the dead letters of %s, and its binder has it consume their queue %s itself, "+
				"in place of a group of its own (it competes for them with other consumers of that queue, streambind dlq among them)", r.name, r.of, topology.DeadLetterQueue(r.ds))})
	}
	return out
}
