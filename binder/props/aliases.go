package props

import (
	"maps"
	"slices"
	"strings"
)

// aliasSets are the names of the binder settings that have more than one,
// by binder type and section: "binder" (stream.<type>.binder and a binder's
// stream.binders.<name>.environment), "producer" and "consumer" (a
// binding's stream.<type>.bindings.<b>.producer, .consumer and those of
// stream.<type>.default), and their nested sections ("binder.tls"; a
// section's key normalised by [Norm]: "binder.dlqstream"). The first name of a set is the documented one; every name is compared by
// [Norm]. Each binder's decoder accepts every name of a set as the same
// setting; the config loader keeps, of the names a section holds of one
// set, the one its source with the highest precedence gave
// ([ResolveAliases]), as it does for the spellings of one name
// (max-length, maxLength, MAX_LENGTH).
//
// Only settings whose value is a scalar or a list are listed: a map's
// aliases (tls and ssl) are merged by the binder.
var aliasSets = map[string]map[string][][]string{
	"redis": {
		"binder": {
			{"address", "addr", "host", "server"},
			{"url", "uri"},
			{"username", "user"},
			{"db", "database"},
			{"client-name", "name", "connection-name"},
			{"key-prefix", "prefix"},
			{"dial-timeout", "connect-timeout", "connection-timeout"},
			{"command-timeout", "read-timeout", "timeout"},
			{"max-length", "maxlen"},
		},
		"binder.tls": tlsAliases,
		"binder.ssl": tlsAliases,
		"consumer": {
			{"max-deliveries", "max-deliver"},
		},
	},
	"rabbit": {
		"binder": {
			{"uri", "url"},
			{"addresses", "address"}, // host is no alias: addresses win over it (as in Spring Boot)
			{"virtual-host", "vhost"},
		},
		"binder.tls": rabbitTLSAliases,
		"binder.ssl": rabbitTLSAliases,
		"consumer": {
			{"republish-delivery-mode", "republish-delivey-mode"},
		},
	},
	"nats": {
		"binder": {
			{"servers", "server", "url", "urls"},
			{"name", "connection-name"},
			{"username", "user"},
			{"credentials-file", "credentials", "creds"},
			{"connect-timeout", "connection-timeout"},
		},
		"binder.tls": tlsAliases,
		"binder.stream": {
			{"replicas", "num-replicas"},
			{"max-msgs", "max-messages"},
			{"max-msg-size", "max-message-size"},
			{"duplicate-window", "duplicates"},
		},
		"binder.dlqstream": { // dlq-stream
			{"max-msgs", "max-messages"},
		},
		"consumer": {
			{"max-deliver", "max-deliveries"},
		},
	},
	"kafka": {
		"binder": {
			{"brokers", "bootstrap-servers"},
			{"required-acks", "acks"},
		},
		"binder.tls":  tlsAliases,
		"binder.sasl": {{"username", "user"}},
		"producer": {
			{"batch-timeout", "linger"},
			{"compression", "compression-type"},
		},
	},
}

// tlsAliases are the aliases of the tls section the redis, nats and kafka
// binders share (binder/internal/conf.TLS.Decode), which are exactly the
// names it accepts: a name listed here that the decoder refuses would be
// dropped as an alias's loser before the decoder could report it.
var tlsAliases = [][]string{{"insecure-skip-verify", "skip-verify"}}

// rabbitTLSAliases are the aliases of the rabbit binder's tls section
// (binder/rabbit applyTLS).
var rabbitTLSAliases = [][]string{{"ca-file", "cacert-file", "ca"}, {"cert-file", "cert"}, {"key-file", "key"}}

// AliasSections returns the sections of a binder of type typ that have
// aliases (as for [Aliases]: "binder", "binder.tls", "consumer"), sorted.
func AliasSections(typ string) []string {
	return slices.Sorted(maps.Keys(aliasSets[strings.ToLower(typ)]))
}

// Aliases returns the sets of names that name one setting in section of
// a binder of type typ ("redis", "binder": [[max-length maxlen] …]); see
// aliasSets for the sections. Nested sections are named by their path
// from the top section, each key normalised or not ("binder.dlq-stream",
// "binder.dlqstream"). nil for a type or section without aliases. The
// caller must not change what it returns.
func Aliases(typ, section string) [][]string {
	return aliasSets[strings.ToLower(typ)][normSection(section)]
}

// normSection returns section with each dotted key normalised by [Norm].
func normSection(section string) string {
	parts := strings.Split(section, ".")
	for i, p := range parts {
		parts[i] = Norm(p)
	}
	return strings.Join(parts, ".")
}

// AliasClash is a set of aliases that a section holds more than one of
// from sources of the same precedence (one file, or the environment):
// which one is meant cannot be told. Keys are the clashing keys' paths
// below the section's map, as written in it ("maxlen", "tls.ca"), sorted.
type AliasClash struct {
	Keys []string
}

// ResolveAliases keeps, of the keys of m (section of a binder of type
// typ, as for [Aliases]) that are aliases of one setting, the one whose
// source has the highest precedence, and deletes the others from m,
// returning their paths below m ("maxlen"; in a nested section
// "stream.max-messages"). rank gives the precedence of the source of the
// key at such a path (higher wins). A value that is a map is never
// dropped (nested sections are resolved within). Aliases of one rank are
// left in m and returned as a clash, for the caller to report: the
// binder's decoder would otherwise take whichever sorts last.
func ResolveAliases(typ, section string, m map[string]any, rank func(path string) int) (dropped []string, clashes []AliasClash) {
	secs := aliasSets[strings.ToLower(typ)]
	if secs == nil {
		return nil, nil
	}
	var walk func(sec, prefix string, m map[string]any)
	walk = func(sec, prefix string, m map[string]any) {
		for _, set := range secs[sec] {
			var keys []string
			for _, k := range SortedKeys(m) {
				if _, isMap := m[k].(map[string]any); !isMap && slices.ContainsFunc(set, func(a string) bool { return Norm(a) == Norm(k) }) {
					keys = append(keys, k)
				}
			}
			if len(keys) < 2 {
				continue
			}
			best, top := -1, []string(nil)
			for _, k := range keys {
				switch r := rank(prefix + k); {
				case r > best:
					best, top = r, []string{k}
				case r == best:
					top = append(top, k)
				}
			}
			if len(top) > 1 {
				c := AliasClash{}
				for _, k := range top {
					c.Keys = append(c.Keys, prefix+k)
				}
				clashes = append(clashes, c)
				continue
			}
			for _, k := range keys {
				if k != top[0] {
					delete(m, k)
					dropped = append(dropped, prefix+k)
				}
			}
		}
		for _, k := range SortedKeys(m) {
			if sub, ok := m[k].(map[string]any); ok {
				if s := sec + "." + Norm(k); hasSection(secs, s) {
					walk(s, prefix+k+".", sub)
				}
			}
		}
	}
	walk(normSection(section), "", m)
	return dropped, clashes
}

// hasSection reports whether secs has section s or one nested in it.
func hasSection(secs map[string][][]string, s string) bool {
	for k := range secs {
		if k == s || strings.HasPrefix(k, s+".") {
			return true
		}
	}
	return false
}
