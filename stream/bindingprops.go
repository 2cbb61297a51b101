package stream

import (
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
)

// WithNamedError registers an error under a name for
// consumer.retryable-exceptions: an error matches the name when
// errors.Is(err, target). SCSt configurations name Java exception classes
// ("java.lang.IllegalStateException"); register the Go error that plays
// that part under the same name and the configuration ports unchanged.
// Names are matched case-insensitively. A dead letter of such an error
// carries the name, as written here, in x-exception-fqcn.
func WithNamedError(name string, target error) Option {
	return withNamedError(name, func(err error) bool { return errors.Is(err, target) })
}

// WithNamedErrorAs registers the error type E under a name for
// consumer.retryable-exceptions: an error matches when errors.As finds an
// E in its chain.
func WithNamedErrorAs[E error](name string) Option {
	return withNamedError(name, func(err error) bool {
		var e E
		return errors.As(err, &e)
	})
}

func withNamedError(name string, match func(error) bool) Option {
	return func(o *options) {
		if o.namedErrors == nil {
			o.namedErrors = map[string]func(error) bool{}
		}
		key := strings.ToLower(strings.TrimSpace(name))
		o.namedErrors[key] = match
		if o.errorNames == nil {
			o.errorNames = map[string]string{}
		}
		o.errorNames[key] = strings.TrimSpace(name)
	}
}

// errorNamer returns the name, as registered, of the first registered
// error (in name order) that err matches; nil when none is registered.
func (a *App) errorNamer() func(error) string {
	if len(a.opts.namedErrors) == 0 {
		return nil
	}
	keys := sortedMapKeys(a.opts.namedErrors)
	return func(err error) string {
		for _, k := range keys {
			if a.opts.namedErrors[k](err) {
				return a.opts.errorNames[k]
			}
		}
		return ""
	}
}

// checkBindingProps validates the common binding properties that need the
// app's registrations: the names of consumer.retryable-exceptions.
func (a *App) checkBindingProps(v *validator, path string, cfg BindingConfig, input bool) {
	if !input {
		return
	}
	for _, name := range sortedMapKeys(cfg.Consumer.RetryableExceptions) {
		if _, ok := a.opts.namedErrors[strings.ToLower(name)]; !ok {
			known := sortedMapKeys(a.opts.namedErrors)
			list := "none registered"
			if len(known) > 0 {
				list = "registered: " + strings.Join(known, ", ")
			}
			v.add(path+".consumer.retryable-exceptions."+name, "no error named %q (register it with stream.WithNamedError or WithNamedErrorAs; %s)", name, list)
		}
	}
}

// retryClassifier returns the consumer's retryable test: nil when every
// error is retried (the default).
func (a *App) retryClassifier(c ConsumerConfig) func(error) bool {
	if len(c.RetryableExceptions) == 0 && c.IsRetryable() {
		return nil
	}
	type rule struct {
		match     func(error) bool
		retryable bool
	}
	var rules []rule
	for name, retry := range c.RetryableExceptions {
		if m, ok := a.opts.namedErrors[strings.ToLower(name)]; ok {
			rules = append(rules, rule{m, retry})
		}
	}
	def := c.IsRetryable()
	return func(err error) bool {
		matched, retry := false, true
		for _, r := range rules {
			if r.match(err) {
				matched = true
				retry = retry && r.retryable // false wins
			}
		}
		if !matched {
			return def
		}
		return retry
	}
}

// rawType reports whether t carries a payload's bytes unconverted:
// []byte, string, or a Message (or *Message) of one of them.
func rawType(t reflect.Type) bool {
	if t == nil {
		return false
	}
	if t.Kind() == reflect.Pointer && t.Elem().Kind() == reflect.Struct {
		t = t.Elem() // *Message[T] is a Message[T] by pointer (codecFor)
	}
	if t.Kind() == reflect.Struct && t.PkgPath() == reflect.TypeFor[Headers]().PkgPath() && strings.HasPrefix(t.Name(), "Message[") {
		f, ok := t.FieldByName("Payload")
		if !ok {
			return false
		}
		t = f.Type
	}
	// Exactly []byte and string, as codecFor: a named string type goes
	// through the converter.
	return t == reflect.TypeFor[[]byte]() || t == reflect.TypeFor[string]()
}

// checkNative checks use-native-decoding and use-native-encoding against
// the function of a binding: the binder's bytes reach the function as is,
// and the function's bytes reach the binder as is, so both ends must be
// raw types.
func (a *App) checkNative(v *validator, rt *runtimeBinding, b *Binding) {
	if rt.fn.name == RouterFunctionName && len(rt.fn.parts) == 1 && rt.fn.parts[0].newHandler == nil {
		return // the router passes bytes on; its targets decode
	}
	path := "stream.bindings." + b.name
	if b.input && b.cfg.Consumer.UseNativeDecoding {
		e := rt.fn.parts[0]
		t := e.in.typ
		if e.inElem != nil && b.cfg.Consumer.BatchMode {
			t = e.inElem.typ
		}
		if !rawType(t) {
			v.add(path+".consumer.use-native-decoding", "function %q takes %s; with native decoding the binder's bytes reach it unconverted, so it must take []byte, string or a Message of one of them", e.name, t)
		}
	}
	if !b.input {
		// A slice of Messages would be sent as one JSON array of the Go
		// structs ({"Payload":…,"Headers":…}); SCSt sends each message of
		// a returned collection on its own. Refused rather than sent so.
		e := rt.fn.parts[len(rt.fn.parts)-1]
		if t := e.out.typ; t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) && isMessageType(t.Elem()) {
			v.add(path, "function %q returns %s: a collection of messages is not sent one by one (SCSt does), it would be one message holding a JSON array of them; return one stream.Message (or a slice of payloads, sent as one JSON array), or send each with the Bridge", e.name, t)
		}
	}
	if !b.input && b.cfg.Producer.UseNativeEncoding {
		e := rt.fn.parts[len(rt.fn.parts)-1]
		if !rawType(e.out.typ) {
			v.add(path+".producer.use-native-encoding", "function %q returns %s; with native encoding its output is sent unconverted, so it must return []byte, string or a Message of one of them", e.name, e.out.typ)
		}
	}
}

// isMessageType reports whether t is a Message[X] or *Message[X].
func isMessageType(t reflect.Type) bool {
	mc := reflect.TypeFor[messageCodec]()
	return t.Implements(mc) || (t.Kind() != reflect.Pointer && reflect.PointerTo(t).Implements(mc))
}

// checkInstance validates stream.instance-index and stream.instance-count.
func (a *App) checkInstance(v *validator) {
	c := a.cfg
	if c.InstanceCount < 0 {
		v.add("stream.instance-count", "must be at least 1, got %d", c.InstanceCount)
	}
	if n := max(c.InstanceCount, 1); c.InstanceIndex < 0 || c.InstanceIndex >= n {
		v.add("stream.instance-index", "must be in [0, instance-count=%d), got %d", n, c.InstanceIndex)
	}
}

// checkLimits validates stream.shutdown-timeout and
// stream.dynamic-destination-cache-size: a negative value is a mistake,
// not "the default" (which the key's absence, 0 here, stands for).
func (a *App) checkLimits(v *validator) {
	if d := a.cfg.ShutdownTimeout; d < 0 {
		v.add("stream.shutdown-timeout", "must not be negative, got %s (leave the key out for the default %s)", d, DefaultShutdownTimeout)
	}
	if n := a.cfg.DynamicDestinationCacheSize; n < 0 {
		v.add("stream.dynamic-destination-cache-size", "must be at least 1, got %d (leave the key out for the default %d)", n, DefaultDynamicDestinationCacheSize)
	}
}

// stripHeaders applies producer.header-mode none to an outgoing message:
// only what the binder needs to route it (the partition) is kept.
func stripHeaders(h Headers) Headers {
	p, ok := h[HeaderPartition]
	if !ok {
		return nil
	}
	return Headers{HeaderPartition: p}
}

func sortedMapKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// BindingDescriber is implemented by producer and consumer bindings that
// can say what they are bound to on the broker, for the start-up log line
// of each binding: keys such as "queue", "dlq", "topic", "partitions",
// "subject", values as the broker names them. Binders implement it when
// they can; the line is logged without it otherwise.
type BindingDescriber interface {
	DescribeBinding() map[string]string
}

// logBound logs the INFO line of a bound binding: what an SCSt user checks
// to see that a configuration maps as intended.
func (a *App) logBound(b *Binding) {
	attrs := []any{"binding", b.name, "destination", b.destination, "binder", b.binderName, "binder_type", b.binderType}
	if b.input {
		attrs = append(attrs, "group", b.group)
		if b.group == "" {
			attrs[len(attrs)-1] = "(anonymous)"
		}
		c := b.cfg.Consumer
		if c.DeadLettersOf != "" {
			attrs = append(attrs, "dead_letters_of", c.DeadLettersOf)
		}
		if c.DLQ {
			rt := a.runtimeOf(b)
			attrs = append(attrs, "dlq_enabled", b.group != "" || rt != nil && rt.anonDeadLetters)
		}
		if ix := c.InstanceIndexes(b.group); len(ix) > 0 {
			// One consumer per index (instance-index-list): "0,2/3".
			attrs = append(attrs, "instance", fmt.Sprintf("%s/%d", joinInts(ix, ","), c.InstanceCount))
		} else if c.Partitioned && b.group != "" { // an anonymous consumer gets every partition
			attrs = append(attrs, "instance", fmt.Sprintf("%d/%d", c.InstanceIndex, c.InstanceCount))
		}
		if rt := a.runtimeOf(b); rt != nil && rt.out != nil {
			if window, why := rt.pipelineWindow(b.consumersSnapshot()); why != "" {
				attrs = append(attrs, "pipelined", why)
			} else {
				attrs = append(attrs, "pipelined", true, "max_in_flight", window)
			}
		}
	} else {
		p := b.cfg.Producer
		if b.part != nil {
			attrs = append(attrs, "partition_count", p.PartitionCount)
			if p.PartitionKeyExtractorName != "" {
				attrs = append(attrs, "partition_key_extractor", p.PartitionKeyExtractorName)
			} else {
				attrs = append(attrs, "partition_key_expression", p.PartitionKeyExpression)
			}
		} else if p.PartitionCount > 1 {
			attrs = append(attrs, "partition_count", p.PartitionCount)
		}
	}
	var parts []any
	for _, c := range b.consumersSnapshot() {
		parts = append(parts, c)
	}
	b.mu.Lock()
	if b.producer != nil {
		parts = append(parts, b.producer)
	}
	b.mu.Unlock()
	for i, p := range parts {
		d, ok := p.(BindingDescriber)
		if !ok {
			continue
		}
		desc := d.DescribeBinding()
		for _, k := range sortedMapKeys(desc) {
			key := k
			if len(parts) > 1 {
				key = fmt.Sprintf("%s.%d", k, i)
			}
			attrs = append(attrs, key, desc[k])
		}
	}
	a.log.Info("binding bound", attrs...)
}
