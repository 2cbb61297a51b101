package stream

import (
	"fmt"
	"sort"
	"strings"
)

// DeadLetterSourcer is implemented by binders that can tell where the dead
// letters of one of their consumer bindings go and how a consumer binding
// on the same binder reads them. It is what makes
// stream.bindings.<name>.consumer.dead-letters-of work alike on every
// binder, and what streambind dlq uses to find a binding's dead letters.
type DeadLetterSourcer interface {
	// DeadLetterSource returns where the dead letters of the consumer
	// binding of spec go. spec is what the binder would get to bind that
	// binding (Destination is one destination; Handler is nil); its
	// Group is never empty and its Consumer.DLQ is set.
	DeadLetterSource(spec ConsumerSpec) (DeadLetterSource, error)
}

// DeadLetterSource says how to consume the dead letters of a consumer
// binding.
type DeadLetterSource struct {
	// Destination is the dead-letter destination as a consumer binding
	// names it (topic, stream subject, exchange).
	Destination string
	// Group, when not empty, replaces the reading binding's group: the
	// dead letters sit in a queue of their own that the reader consumes
	// directly (RabbitMQ's <destination>.<group>.dlq, without the
	// source's prefix, which Extension carries). Empty: the reader keeps
	// its own group.
	Group string
	// Extension holds binder-specific consumer properties set on the
	// reading binding, over its own (RabbitMQ: queue-name-group-only,
	// declare-exchange false, bind-queue false).
	Extension map[string]any
}

// ErrorDestinationSource is the DeadLetterSource of a binder that sends
// the dead letters of (destination, group) to one destination,
// error.<destination>.<group> ([DLQName]) unless dlqName (the binder's
// dlq-name property) says otherwise: the in-process, Kafka, NATS and Redis
// binders. The reader keeps its own group.
func ErrorDestinationSource(spec ConsumerSpec, dlqName string) DeadLetterSource {
	if dlqName == "" {
		dlqName = DLQName(spec.Destination, spec.Group)
	}
	return DeadLetterSource{Destination: dlqName}
}

// DeadLetterSourceOf returns how binder b consumes the dead letters of
// binding src of cfg (a consumer binding with a group, dlq on and one
// destination), and src's effective configuration. Errors name the key at
// fault under keyPath (the key that referred to src).
func DeadLetterSourceOf(cfg *Config, b Binder, binderType, src, keyPath string) (DeadLetterSource, BindingConfig, error) {
	sc := cfg.Binding(src)
	dests := Destinations(sc.Destination)
	switch {
	case sc.Group == "":
		return DeadLetterSource{}, sc, fmt.Errorf("%s: binding %s has no group: an anonymous consumer has no dead letters", keyPath, src)
	case !sc.Consumer.DLQ:
		return DeadLetterSource{}, sc, fmt.Errorf("%s: binding %s does not dead-letter (%s)", keyPath, src, cfg.dlqOffHint(src))
	case len(dests) != 1:
		return DeadLetterSource{}, sc, fmt.Errorf("%s: binding %s reads %d destinations (%s); only a binding of one destination has one dead-letter destination", keyPath, src, len(dests), strings.Join(dests, ", "))
	}
	ds, ok := b.(DeadLetterSourcer)
	if !ok {
		return DeadLetterSource{}, sc, fmt.Errorf("%s: binder type %s cannot tell where its dead letters go", keyPath, binderType)
	}
	cons, _ := cfg.Extension(binderType, src)
	s, err := ds.DeadLetterSource(ConsumerSpec{Binding: src, Destination: dests[0], Group: sc.Group,
		ContentType: sc.ContentType, Consumer: sc.Consumer, Extension: cons})
	if err != nil {
		return DeadLetterSource{}, sc, fmt.Errorf("%s: binding %s: %w", keyPath, src, err)
	}
	return s, sc, nil
}

// dlqOffHint says how to make binding src, whose consumer.dlq is false,
// dead-letter: where the false comes from when something set it (an
// environment variable overrides the files: setting the file's key true
// does not help), else to set the binding's key.
func (c *Config) dlqOffHint(src string) string {
	for _, k := range []string{"stream.bindings." + src + ".consumer.dlq", "stream.default.consumer.dlq"} {
		switch o := c.Origins[strings.ToLower(k)]; {
		case o == "":
			continue
		case strings.HasPrefix(o, "env "):
			return fmt.Sprintf("%s is false, set by %s, which overrides the files: set it to true, or unset it for the files' value", k, o)
		default:
			return fmt.Sprintf("%s is false at %s: set stream.bindings.%s.consumer.dlq: true", k, o, src)
		}
	}
	return fmt.Sprintf("set stream.bindings.%s.consumer.dlq: true", src)
}

// resolveDeadLetterSources applies consumer.dead-letters-of: for every
// binding that sets it, a.cfg is replaced by a copy in which that binding
// reads the dead-letter destination of the binding it names, on that
// binding's binder, with the group and binder-specific properties the
// binder asks for. inputs are the app's consumer bindings, bound all its
// bindings (lower-case name → name): a binding this app does not bind is
// left alone (warnUnbound says so), as its other settings are — the
// configuration may be shared by the services that bind it.
func (a *App) resolveDeadLetterSources(v *validator, inputs []string, bound map[string]string) {
	if a.cfg.Default.Consumer.DeadLettersOf != "" {
		v.add("stream.default.consumer.dead-letters-of", "is set per binding, not as a default")
	}
	isInput := map[string]string{}
	for _, n := range inputs {
		isInput[strings.ToLower(n)] = n
	}
	var readers []string
	for name, bc := range a.cfg.Bindings {
		if bc.Consumer.DeadLettersOf == "" {
			continue
		}
		if _, ok := bound[strings.ToLower(name)]; !ok {
			continue
		}
		if _, ok := isInput[strings.ToLower(name)]; !ok {
			v.add("stream.bindings."+name+".consumer.dead-letters-of", "only a consumer binding reads dead letters")
			continue
		}
		readers = append(readers, name)
	}
	if len(readers) == 0 {
		return
	}
	sort.Strings(readers)
	cfg := *a.cfg
	cfg.Bindings = make(map[string]BindingConfig, len(a.cfg.Bindings))
	for k, b := range a.cfg.Bindings {
		cfg.Bindings[k] = b
	}
	cfg.Extensions = make(map[string]ExtensionConfig, len(a.cfg.Extensions))
	for k, e := range a.cfg.Extensions {
		e.Bindings = copyExtBindings(e.Bindings)
		cfg.Extensions[k] = e
	}
	cfg.Origins = make(map[string]string, len(a.cfg.Origins))
	for k, o := range a.cfg.Origins {
		cfg.Origins[k] = o
	}
	for _, name := range readers {
		own := a.cfg.Bindings[name]
		key := "stream.bindings." + name + ".consumer.dead-letters-of"
		srcName := own.Consumer.DeadLettersOf
		src, ok := isInput[strings.ToLower(srcName)]
		if !ok {
			// A reader in a process of its own: the binding is configured
			// (destination, group, dlq) but its function runs elsewhere.
			src, ok = a.configuredInput(srcName)
		}
		switch {
		case !ok:
			v.add(key, "names no consumer binding of this app: %q (consumer bindings: %s; or configure it under stream.bindings.%s, with its destination, group and dlq, where its function runs elsewhere)", srcName, strings.Join(sortedValues(isInput), ", "), srcName)
			continue
		case strings.EqualFold(src, name):
			v.add(key, "a binding cannot read its own dead letters")
			continue
		case a.cfg.Binding(src).Consumer.DeadLettersOf != "":
			// A dead-letter reader's dead letters are not its source's: its
			// destination is that source's dead-letter destination, so a
			// chain or cycle (a reads b's, b reads a's) would declare bogus
			// queues and read nothing real.
			v.add(key, "names %s, which itself reads dead letters (stream.bindings.%s.consumer.dead-letters-of = %q): a dead-letter reader's dead letters cannot be read", src, src, a.cfg.Binding(src).Consumer.DeadLettersOf)
			continue
		case own.Destination != "":
			v.add("stream.bindings."+name+".destination", "must not be set with consumer.dead-letters-of (the dead-letter destination of %s is read)", src)
			continue
		}
		sc := a.cfg.Binding(src)
		if own.Binder != "" && !strings.EqualFold(own.Binder, sc.Binder) {
			v.add("stream.bindings."+name+".binder", "is %q but the dead letters of %s are on its binder %q (leave binder unset)", own.Binder, src, sc.Binder)
			continue
		}
		bi := a.binderFor(v, "stream.bindings."+src, sc.Binder)
		if bi == nil {
			continue // reported
		}
		ds, _, err := DeadLetterSourceOf(a.cfg, bi.binder, bi.typ, src, key)
		if err != nil {
			v.add(key, "%s", strings.TrimPrefix(err.Error(), key+": "))
			continue
		}
		r := own
		r.Destination = ds.Destination
		r.Binder = sc.Binder
		origin := "dead-letters-of " + src
		if o := v.origin(key); o != "" {
			origin += " at " + o
		}
		cfg.Origins[strings.ToLower("stream.bindings."+name+".destination")] = origin
		if ds.Group != "" {
			r.Group = ds.Group
			cfg.Origins[strings.ToLower("stream.bindings."+name+".group")] = origin
		}
		cfg.Bindings[name] = r
		if len(ds.Extension) > 0 {
			e := cfg.Extensions[bi.typ]
			if e.Bindings == nil {
				e.Bindings = map[string]ExtensionBindingConfig{}
			}
			ek := name
			for k := range e.Bindings {
				if strings.EqualFold(k, name) {
					ek = k
				}
			}
			eb := e.Bindings[ek]
			eb.Consumer = mergeMaps(eb.Consumer, ds.Extension, e.Aliases["consumer"])
			e.Bindings[ek] = eb
			cfg.Extensions[bi.typ] = e
		}
	}
	a.cfg = &cfg
}

// configuredInput returns the configured name of the consumer binding
// name (stream.bindings.<name>, case-insensitively, a functional input
// name: <function>-in-<n>) when the configuration has one.
func (a *App) configuredInput(name string) (string, bool) {
	for k := range a.cfg.Bindings {
		if strings.EqualFold(k, name) && functionalInput.MatchString(k) {
			return k, true
		}
	}
	return "", false
}

// deadLetterSources returns the lower-cased names of the bindings that a
// dead-letter reader bound by the app names (consumer.dead-letters-of):
// their settings are used even where the app does not bind them.
func (a *App) deadLetterSources(bound map[string]string) map[string]bool {
	out := map[string]bool{}
	for name, bc := range a.cfg.Bindings {
		if bc.Consumer.DeadLettersOf == "" {
			continue
		}
		if _, ok := bound[strings.ToLower(name)]; ok {
			out[strings.ToLower(bc.Consumer.DeadLettersOf)] = true
		}
	}
	return out
}

func copyExtBindings(m map[string]ExtensionBindingConfig) map[string]ExtensionBindingConfig {
	if m == nil {
		return nil
	}
	out := make(map[string]ExtensionBindingConfig, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func sortedValues(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	sort.Strings(out)
	return out
}
