package stream

import (
	"context"
	"fmt"
	"strconv"
	"strings"
)

// FunctionSettings is one function's Spring Cloud Function configuration,
// stream.function.configuration.<fn> (SCF's
// spring.cloud.function.configuration.<fn>, 3.1.3+).
type FunctionSettings struct {
	// InputHeaderMappingExpression maps header names to expressions
	// (docs/conventions.md, "Expressions") evaluated against each input
	// message before the function is called: the results are set as the
	// message's headers, which the function sees (and its output carries,
	// as it carries the input's headers); a null result removes the
	// header. Setting spring.cloud.stream.sendto.destination this way
	// routes the function's output there. An expression that fails for a
	// message fails the message permanently (dead-lettered with the
	// reason); SCF logs a WARN and leaves that header unset. Dotted header
	// names (spring.cloud.stream.sendto.destination) may be written flat
	// or nested; SCF's input-index form (0.<header>) is accepted.
	InputHeaderMappingExpression map[string]any `mapstructure:"input-header-mapping-expression"`
	// OutputHeaderMappingExpression maps header names to expressions
	// evaluated against each output message (its headers and payload)
	// before its key is taken and it is routed or sent, as
	// InputHeaderMappingExpression does for the input (SCF 4's
	// output-header-mapping-expression); a supplier's too.
	OutputHeaderMappingExpression map[string]any `mapstructure:"output-header-mapping-expression"`
}

// headerMapping is one compiled header mapping.
type headerMapping struct {
	header string
	key    string // its configuration key, for errors
	expr   *Expression
}

// headerMappings are a bound function's mappings: in for its input, out
// for its output.
type headerMappings struct {
	in, out []headerMapping
}

// headerMappings compiles the header mappings of bf; nil when it has
// none. As SCF (SimpleFunctionRegistry.compose), the configuration of
// every leading part of a composition applies to its input: a|b|c reads
// those of abc, ab and a, in that order (a later one setting a header
// wins); the output's are those of the whole composition's name (abc)
// only. A mapping of a leading part's output (SCF applies it between
// the parts) is refused.
func (a *App) headerMappings(v *validator, bf *boundFunc) *headerMappings {
	if len(a.cfg.Function.Configuration) == 0 {
		return nil
	}
	if bf.name == RouterFunctionName {
		// SCF would map functionRouter's input before it routes and its
		// output after: not supported here (the routed targets' own
		// mappings do not apply either); refused rather than ignored.
		if key, fs, ok := a.functionSettings(bf.name); ok {
			for _, x := range [...]struct {
				name string
				m    map[string]any
			}{{"input-header-mapping-expression", fs.InputHeaderMappingExpression}, {"output-header-mapping-expression", fs.OutputHeaderMappingExpression}} {
				if len(x.m) > 0 {
					v.add("stream.function.configuration."+key+"."+x.name, "header mappings of %s are not supported: set them on the functions it routes to and bind those directly, or map the headers in the sender", RouterFunctionName)
				}
			}
		}
		return nil
	}
	var hm headerMappings
	for k := len(bf.parts); k >= 1; k-- {
		names := make([]string, k)
		for i := range names {
			names[i] = bf.parts[i].name
		}
		key, fs, ok := a.functionSettings(strings.Join(names, ""))
		if !ok {
			continue
		}
		base := "stream.function.configuration." + key
		if bf.kind == KindSupplier && len(fs.InputHeaderMappingExpression) > 0 {
			v.add(base+".input-header-mapping-expression", "%q is a supplier (or a composition starting with one): it has no input", bf.name)
		} else {
			hm.in = append(hm.in, compileHeaderMappings(v, base+".input-header-mapping-expression", fs.InputHeaderMappingExpression)...)
		}
		if len(fs.OutputHeaderMappingExpression) == 0 {
			continue
		}
		if k < len(bf.parts) {
			v.add(base+".output-header-mapping-expression", "the output header mappings of %q, a leading part of the composition %q, are not supported (SCF applies them between the parts): set them on %q", key, bf.name, strings.ReplaceAll(bf.name, "|", ""))
			continue
		}
		if bf.kind == KindConsumer {
			v.add(base+".output-header-mapping-expression", "%q is a consumer: it has no output", bf.name)
			continue
		}
		hm.out = append(hm.out, compileHeaderMappings(v, base+".output-header-mapping-expression", fs.OutputHeaderMappingExpression)...)
	}
	if len(hm.in) == 0 && len(hm.out) == 0 {
		return nil
	}
	return &hm
}

// functionSettings returns the configuration of function name (a
// composition's without '|'): its key as configured, matched
// case-insensitively and without '|' and blanks (a bracketed [a|b]).
func (a *App) functionSettings(name string) (string, FunctionSettings, bool) {
	if fs, ok := a.cfg.Function.Configuration[name]; ok {
		return name, fs, true
	}
	norm := func(s string) string {
		return strings.NewReplacer("|", "", " ", "", "[", "", "]", "").Replace(s)
	}
	for _, k := range sortedMapKeys(a.cfg.Function.Configuration) {
		if strings.EqualFold(norm(k), name) {
			return k, a.cfg.Function.Configuration[k], true
		}
	}
	return "", FunctionSettings{}, false
}

// compileHeaderMappings compiles the mappings of m (at path), nested maps
// naming dotted headers; a problem is added to v at the key.
func compileHeaderMappings(v *validator, path string, m map[string]any) []headerMapping {
	var out []headerMapping
	var walk func(prefix, path string, m map[string]any, top bool)
	walk = func(prefix, path string, m map[string]any, top bool) {
		for _, k := range sortedMapKeys(m) {
			p := path + "." + k
			name := prefix + strings.TrimSuffix(strings.TrimPrefix(k, "["), "]")
			if sub, ok := m[k].(map[string]any); ok {
				if top {
					if n, err := strconv.Atoi(k); err == nil {
						// SCF's input index: 0 is the only input here.
						if n != 0 {
							v.add(p, "input %d: a function here has one input (index 0)", n)
							continue
						}
						walk("", p, sub, false)
						continue
					}
				}
				walk(name+".", p, sub, false)
				continue
			}
			var src string
			switch x := m[k].(type) {
			case string:
				src = x
			case nil:
				v.add(p, "is empty: give an expression")
				continue
			default:
				src = fmt.Sprint(x) // a number or boolean literal
			}
			e, err := CompileExpression(src, "", "payload", "headers")
			if err != nil {
				v.add(p, "%v", err)
				continue
			}
			out = append(out, headerMapping{header: name, key: p, expr: e})
		}
	}
	walk("", path, m, true)
	return out
}

// apply evaluates the mappings against env and returns its headers with
// the results set (a copy; a null result removes the header), or the
// first failure, permanent.
func applyHeaderMappings(ms []headerMapping, env Envelope) (Headers, error) {
	out := make(Headers, len(env.Headers)+len(ms))
	for k, v := range env.Headers {
		out[k] = v
	}
	// The variables are made once per message: the headers every mapping
	// sees are env's with the received headers any of them names (SCSt's
	// message has them all), and the payload is decoded when one reads it.
	usesKey, usesPayload := false, false
	var received uint16
	for _, m := range ms {
		usesKey = usesKey || m.expr.usesReceivedKey
		usesPayload = usesPayload || m.expr.usesPayload
		received |= m.expr.received
	}
	vars := map[string]any{"headers": receivedView(env, usesKey, received)}
	if usesPayload {
		vars["payload"] = ExpressionPayload(env.Payload)
	}
	for _, m := range ms {
		v, err := m.expr.Eval(vars)
		if err != nil {
			return nil, Permanent(fmt.Errorf("%s: %w", m.key, err))
		}
		if v == nil {
			delete(out, m.header)
			continue
		}
		out[m.header] = ExpressionText(v)
	}
	return out, nil
}

// headerMappingHandler applies a function's input header mappings to each
// message before its handler, and has the handler apply the output's
// (runtimeBinding.prepareOutput).
type headerMappingHandler struct {
	rt    *runtimeBinding
	inner messageHandler
}

func (h *headerMappingHandler) handle(ctx context.Context, env Envelope) error {
	hm := h.rt.hdrMaps
	var carry Headers
	if len(hm.in) > 0 {
		hdr, err := applyHeaderMappings(hm.in, env)
		if err != nil {
			return err
		}
		env.Headers = hdr
		for _, m := range hm.in {
			// The mapped headers an output does not inherit from its
			// input, but SCF's output carries: SCF sets the mapped headers
			// inside the function's invocation, and copies them to a
			// payload output (KafkaHeaders.KEY then being the record's key).
			if m.header == HeaderSendToDestination || m.header == HeaderMessageKey {
				if v, ok := hdr[m.header]; ok {
					if carry == nil {
						carry = Headers{}
					}
					carry[m.header] = v
				}
			}
		}
	}
	if h.rt.out != nil && (len(hm.out) > 0 || carry != nil) {
		ctx = context.WithValue(ctx, outputMappingKey{}, &outputMapping{rt: h.rt, out: hm.out, carry: carry})
	}
	return h.inner.handle(ctx, env)
}

// outputMappingKey is the context key of the outputMapping of a call.
type outputMappingKey struct{}

// outputMapping is what prepareOutput applies to the output of a call
// whose input had header mappings: the output mappings, and the
// spring.cloud.stream.sendto.destination and kafka_messageKey headers
// input mappings set (an output does not inherit received ones, but SCF
// sets the mapped headers inside the function's invocation, so its output
// carries them).
type outputMapping struct {
	rt    *runtimeBinding
	out   []headerMapping
	carry Headers
}

// apply applies x to env, and reports whether it set env's
// kafka_messageKey header (which then is the key, over a Message's own:
// the mapping is applied to the message the function returned).
func (x *outputMapping) apply(env *Envelope) (bool, error) {
	keyed := false
	for k, v := range x.carry {
		if _, set := env.Headers[k]; set {
			continue
		}
		hdr := make(Headers, len(env.Headers)+1)
		for n, hv := range env.Headers {
			hdr[n] = hv
		}
		hdr[k] = v
		env.Headers = hdr
	}
	if len(x.out) == 0 {
		return keyed, nil
	}
	hdr, err := applyHeaderMappings(x.out, *env)
	if err != nil {
		return false, err
	}
	env.Headers = hdr
	for _, m := range x.out {
		if m.header == HeaderMessageKey {
			_, keyed = hdr[HeaderMessageKey]
		}
	}
	return keyed, nil
}

// prepareOutput makes out, the output envelope of a function call (or a
// supplier's value), ready to be sent: it applies the output header
// mappings (and the headers input mappings carry, outputMapping), once,
// then takes the message key (withMessageKey: k, a Message's Key, else a
// kafka_messageKey header, a mapped one before k), so that a mapped key
// is the record's key and a mapped sendto destination routes the output
// (the caller calls sendRouted after). A supplier's (no input binding)
// mappings are the binding's own.
func (rt *runtimeBinding) prepareOutput(ctx context.Context, out *Envelope, k []byte) error {
	var x *outputMapping
	if m, ok := ctx.Value(outputMappingKey{}).(*outputMapping); ok && m.rt == rt {
		x = m
	} else if rt.in == nil && rt.hdrMaps != nil && len(rt.hdrMaps.out) > 0 {
		x = &outputMapping{rt: rt, out: rt.hdrMaps.out}
	}
	if x != nil {
		keyed, err := x.apply(out)
		if err != nil {
			return err
		}
		if keyed {
			k = nil
		}
	}
	withMessageKey(out, k, false)
	return nil
}

// warnUnusedFunctionSettings warns of each stream.function.configuration
// entry that names no bound function (nor a leading part of a bound
// composition): SCF ignores it without a word, and a misspelt function
// name would leave its header mappings unapplied.
func (a *App) warnUnusedFunctionSettings(bound []*boundFunc) {
	if len(a.cfg.Function.Configuration) == 0 {
		return
	}
	used := map[string]bool{}
	var names []string
	for _, bf := range bound {
		for k := 1; k <= len(bf.parts); k++ {
			var b strings.Builder
			for _, p := range bf.parts[:k] {
				b.WriteString(p.name)
			}
			if key, _, ok := a.functionSettings(b.String()); ok {
				used[key] = true
			}
		}
		names = append(names, bf.name)
	}
	for _, key := range sortedMapKeys(a.cfg.Function.Configuration) {
		if used[key] {
			continue
		}
		p := "stream.function.configuration." + key
		a.log.Warn("function configuration applies to no bound function: its header mappings are not used",
			"property", p, "origin", a.cfg.Origins[strings.ToLower(p)], "bound", strings.Join(names, ";"))
	}
}
