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
func liftDLQAliases(streamTree map[string]any, origins map[string]string) []*stream.ConfigError {
	var errs []*stream.ConfigError
	schema := configSchema()
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
				lift(c, "stream."+typ+".default.consumer", []string{"default"})
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
					lift(c, "stream."+typ+".bindings."+b+".consumer", []string{"bindings", sameBinding(common, b)})
					if len(c) == 0 { // it held only the alias
						delete(bm, "consumer")
					}
				}
			}
		}
	}
	return errs
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
