package config

import (
	"fmt"
	"strings"

	"github.com/streambind/streambind/stream"
)

// dlqAliases are SCSt's spellings of consumer.dlq in the binder-specific
// sections: enable-dlq (Kafka) and auto-bind-dlq (RabbitMQ), squashed.
var dlqAliases = map[string]bool{"enabledlq": true, "autobinddlq": true}

// liftDLQAliases moves stream.<type>.bindings.<b>.consumer.enable-dlq and
// .auto-bind-dlq (and the same under stream.<type>.default) to the common
// stream.bindings.<b>.consumer.dlq (stream.default.consumer.dlq), where
// streambind reads it: that is where an SCSt file puts them, and it must
// port over unchanged. A common setting that disagrees is a problem.
//
// A binding's alias in another binder type's section than its binder's
// (stream.rabbit.bindings.b.consumer.auto-bind-dlq for a binding on Kafka)
// is ignored with a warning, as SCSt's Kafka binder never reads RabbitMQ's
// properties: it must not give the binding a dead-letter topic.
func liftDLQAliases(streamTree map[string]any, origins map[string]string) (warns, errs []*stream.ConfigError) {
	var defaults []typeDefault
	schema := configSchema()
	defType := defaultBinderType(streamTree)
	for _, typ := range sortedKeys(streamTree) {
		if schema.field(typ) != nil {
			continue // a common key, not a binder-specific section
		}
		ext, ok := streamTree[typ].(map[string]any)
		if !ok {
			continue
		}
		lift := func(consumer map[string]any, extPath string, target []string) {
			for _, k := range sortedKeys(consumer) {
				if !dlqAliases[squash(k)] {
					continue
				}
				from := extPath + "." + k
				v := consumer[k]
				delete(consumer, k)
				to := "stream." + strings.Join(target, ".") + ".consumer.dlq"
				dst := ensureMapPath(streamTree, append(append([]string(nil), target...), "consumer"))
				if cur, set := dst["dlq"]; set && fmt.Sprint(cur) != fmt.Sprint(v) {
					errs = append(errs, &stream.ConfigError{Path: from, Origin: originOf(origins, from),
						Msg: fmt.Sprintf("is %v but %s is %v", v, to, cur)})
					continue
				}
				dst["dlq"] = v
				if _, ok := origins[strings.ToLower(to)]; !ok {
					origins[strings.ToLower(to)] = originOf(origins, from)
				}
			}
		}
		if def, ok := ext["default"].(map[string]any); ok {
			if c, ok := def["consumer"].(map[string]any); ok {
				for _, k := range sortedKeys(c) {
					if dlqAliases[squash(k)] {
						defaults = append(defaults, typeDefault{typ, "stream." + typ + ".default.consumer." + k, c[k]})
						delete(c, k)
					}
				}
				if len(c) == 0 {
					delete(def, "consumer")
				}
			}
		}
		if bs, ok := ext["bindings"].(map[string]any); ok {
			common, _ := streamTree["bindings"].(map[string]any)
			for _, b := range sortedKeys(bs) {
				bm, _ := bs[b].(map[string]any)
				if c, ok := bm["consumer"].(map[string]any); ok {
					name := sameBinding(common, b)
					if bt := bindingType(streamTree, common, name, defType); bt != "" && !strings.EqualFold(bt, typ) {
						for _, k := range sortedKeys(c) {
							if dlqAliases[squash(k)] {
								from := "stream." + typ + ".bindings." + b + ".consumer." + k
								warns = append(warns, &stream.ConfigError{Path: from, Origin: originOf(origins, from),
									Msg: fmt.Sprintf("ignored: binding %s is on a binder of type %s, which does not read the %s binder's properties (as in SCSt)", name, bt, typ)})
								delete(c, k)
							}
						}
					}
					lift(c, "stream."+typ+".bindings."+b+".consumer", []string{"bindings", name})
					if len(c) == 0 { // it held only the alias
						delete(bm, "consumer")
					}
				}
			}
		}
	}
	return warns, append(errs, liftTypeDefaults(streamTree, origins, defaults)...)
}

// bindingType is the type of binding b's binder: of the binder it names,
// else defType (the default binder's, "" when the code chooses it).
func bindingType(streamTree, bindings map[string]any, b, defType string) string {
	bm, _ := bindings[b].(map[string]any)
	if k, ok := mapKey(bm, "binder"); ok {
		if n, err := toString(bm[k]); err == nil && strings.TrimSpace(n) != "" {
			return binderType(streamTree, n)
		}
	}
	return defType
}

// typeDefault is an SCSt DLQ alias of a binder type's default section
// (stream.kafka.default.consumer.enable-dlq).
type typeDefault struct {
	typ, from string
	v         any
}

// liftTypeDefaults applies the DLQ aliases of the binder types' default
// sections to the bindings of that type only, as SCSt applies
// spring.cloud.stream.<type>.default.* to the bindings of its binders:
// stream.kafka.default.consumer.enable-dlq must not turn on the DLQ of a
// binding on RabbitMQ (whose queue would then be declared with
// x-dead-letter-* arguments an SCSt service's queue does not have).
//
// The default of the default binder's type (or, when the configuration
// does not tell the default binder, the one the code chooses, of every
// type given) becomes stream.default.consumer.dlq, for the bindings the
// configuration does not name; a configured binding whose binder is of
// another type gets its own type's default, or keeps dlq false, set on
// the binding itself.
func liftTypeDefaults(streamTree map[string]any, origins map[string]string, defaults []typeDefault) []*stream.ConfigError {
	if len(defaults) == 0 {
		return nil
	}
	var errs []*stream.ConfigError
	defType := defaultBinderType(streamTree)
	common, _ := streamTree["bindings"].(map[string]any)
	// The configured bindings that name their binder, by binder type.
	typeOf := map[string]string{}
	for _, b := range sortedKeys(common) {
		bm, _ := common[b].(map[string]any)
		if k, ok := mapKey(bm, "binder"); ok {
			if n, err := toString(bm[k]); err == nil && strings.TrimSpace(n) != "" {
				typeOf[b] = binderType(streamTree, n)
			}
		}
	}
	setOwn := func(b string, v any, origin string) {
		bm, _ := common[b].(map[string]any)
		c, ok := bm["consumer"].(map[string]any)
		if !ok {
			c = map[string]any{}
			bm["consumer"] = c
		}
		if _, set := c["dlq"]; set {
			return // the binding's own setting (or its own alias) wins
		}
		c["dlq"] = v
		origins[strings.ToLower("stream.bindings."+b+".consumer.dlq")] = origin
	}
	lifted := map[string]bool{}
	defConsumer, _ := lookupPath(streamTree, []string{"default", "consumer"}).(map[string]any)
	_, commonSet := defConsumer["dlq"]
	for _, d := range defaults {
		if defType != "" && !strings.EqualFold(d.typ, defType) {
			continue
		}
		lifted[strings.ToLower(d.typ)] = true
		dst := ensureMapPath(streamTree, []string{"default", "consumer"})
		if cur, set := dst["dlq"]; set && fmt.Sprint(cur) != fmt.Sprint(d.v) {
			errs = append(errs, &stream.ConfigError{Path: d.from, Origin: originOf(origins, d.from),
				Msg: fmt.Sprintf("is %v but stream.default.consumer.dlq is %v", d.v, cur)})
			continue
		}
		dst["dlq"] = d.v
		if _, ok := origins["stream.default.consumer.dlq"]; !ok {
			origins["stream.default.consumer.dlq"] = originOf(origins, d.from)
		}
	}
	for _, d := range defaults {
		if lifted[strings.ToLower(d.typ)] {
			continue
		}
		for _, b := range sortedKeys(common) {
			if t, ok := typeOf[b]; ok && strings.EqualFold(t, d.typ) {
				setOwn(b, d.v, originOf(origins, d.from))
			}
		}
	}
	if len(lifted) > 0 && !commonSet {
		// What was lifted is no default of the bindings on binders of
		// other types: they keep false, as in SCSt.
		for _, b := range sortedKeys(common) {
			if t, ok := typeOf[b]; ok && !lifted[strings.ToLower(t)] {
				setOwn(b, false, originOf(origins, "stream.bindings."+b+".binder"))
			}
		}
	}
	return errs
}

// defaultBinderType is the type of the binder of the bindings that name
// none, as far as the configuration tells it (stream.default.binder, else
// stream.default-binder, else the one binder declared under binders that
// is a default candidate); "" when the code chooses it.
func defaultBinderType(streamTree map[string]any) string {
	for _, path := range [][]string{{"default", "binder"}, {"defaultbinder"}} {
		if _, v, ok := lookupSquashed(streamTree, path); ok {
			if n, err := toString(v); err == nil && strings.TrimSpace(n) != "" {
				return binderType(streamTree, n)
			}
		}
	}
	binders, _ := streamTree["binders"].(map[string]any)
	var candidates []string
	for _, n := range sortedKeys(binders) {
		bm, _ := binders[n].(map[string]any)
		if k, ok := mapKey(bm, "defaultcandidate"); ok {
			if c, err := toBool(bm[k]); err == nil && !c {
				continue
			}
		}
		candidates = append(candidates, n)
	}
	if len(candidates) == 1 {
		return binderType(streamTree, candidates[0])
	}
	return ""
}

// binderType is the type of the binder named name: the type of the binder
// declared under binders by that name (case-insensitively), else the name
// itself, a binder type. A binder declared without a type (or with a
// blank one) has the type Load gives it (impliedBinderType: its name when
// that is a built-in type), "" when none.
func binderType(streamTree map[string]any, name string) string {
	name = strings.TrimSpace(name)
	binders, _ := streamTree["binders"].(map[string]any)
	for _, n := range sortedKeys(binders) {
		if !strings.EqualFold(n, name) {
			continue
		}
		bm, _ := binders[n].(map[string]any)
		if k, ok := mapKey(bm, "type"); ok {
			if t, err := toString(bm[k]); err == nil && strings.TrimSpace(t) != "" {
				return strings.TrimSpace(t)
			}
		}
		return impliedBinderType(n)
	}
	return name
}

// sameBinding returns the key of bindings that names binding b, binding
// names being case-insensitive (an environment variable spells them in
// upper case); b itself when none does.
func sameBinding(bindings map[string]any, b string) string {
	if _, ok := bindings[b]; ok {
		return b
	}
	for _, k := range sortedKeys(bindings) {
		if strings.EqualFold(k, b) {
			return k
		}
	}
	return b
}

// ensureMapPath returns the map at path under m, creating maps on the way.
func ensureMapPath(m map[string]any, path []string) map[string]any {
	for _, seg := range path {
		next, ok := m[seg].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[seg] = next
		}
		m = next
	}
	return m
}
