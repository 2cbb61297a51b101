package config

import (
	"strings"
)

// This file resolves the variables (STREAM_*, SPRING_CLOUD_STREAM_*) that
// spell a key of Spring Cloud Stream's which the stream section has no
// field for and which adaptSCSt takes out of the tree before decoding
// (scst.go): an obsolete key, warned of and dropped, or an SCSt-only
// binding key, warned of or refused. resolve finds no field for them, so
// the variable was ignored without a word (SPRING_CLOUD_STREAM_METRICS_KEY)
// or refused as matching no key (SPRING_CLOUD_STREAM_FUNCTION_AUTODETECT),
// where the same key in a file is a warning: resolved here to the key
// path the file's key has, the variable goes through the same adaptation
// and gets the same outcome, at its own origin (env NAME).

// scstAdaptedEnvKey returns the key path (below stream, as resolve's) that
// toks, a variable's tokens after its prefix, spell when they name one of
// the keys above, and whether they do.
func (r *resolver) scstAdaptedEnvKey(cfg *schema, toks []string) ([]string, bool) {
	if len(toks) == 0 || hasEmpty(toks) {
		return nil, false
	}
	for _, o := range obsoleteKeys {
		if path, ok := r.obsoleteEnvKey(o.path, toks); ok {
			return path, true
		}
	}
	return r.scstBindingEnvKey(cfg, toks)
}

// obsoleteEnvKey matches toks against the obsolete key at path (squashed
// segments below stream): each segment spelt by one or more tokens
// (BATCHMODE or BATCH_MODE for batchmode); tokens after the key name keys
// below it (METRICS_KEY is stream.metrics.key), which go with it, as in a
// file. A segment takes the files' spelling of the key when they have one
// (batch-mode), so that the file's key and the variable's are one key.
func (r *resolver) obsoleteEnvKey(path, toks []string) ([]string, bool) {
	out := []string{"stream"}
	t := 0
	for _, seg := range path {
		start, got := t, ""
		for t < len(toks) && len(got) < len(seg) {
			got += strings.ToLower(toks[t])
			t++
		}
		if got != seg {
			return nil, false
		}
		out = append(out, r.filesSpelling(out, toks[start:t]))
	}
	if t < len(toks) {
		out = append(out, r.filesSpelling(out, toks[t:]))
	}
	return out, true
}

// filesSpelling is the key that toks spell at path: the files' key there
// that equals them, squashed, or else the tokens joined by '-', in lower
// case.
func (r *resolver) filesSpelling(path, toks []string) string {
	want := strings.ToLower(strings.Join(toks, ""))
	for _, k := range r.keysAt(path) {
		if squash(k) == want {
			return k
		}
	}
	return strings.ToLower(strings.Join(toks, "-"))
}

// scstBindingSentinels are keys of each kind of scstOnlyBindingKeys'
// sections (a binding's consumer, producer, the binding itself) that the
// schema has: a section's path is what resolve gives for the tokens before
// an SCSt-only key followed by these.
var scstBindingSentinels = map[string]string{"consumer": "max-attempts", "producer": "partition-count", "": "destination"}

// scstBindingEnvKey matches toks against the SCSt-only keys of a binding
// (scstOnlyBindingKeys, and producer.partitioned) in stream.default or
// stream.bindings.<name>: STREAM_BINDINGS_A_IN_0_CONSUMER_MULTIPLEX is
// stream.bindings.a-in-0.consumer.multiplex.
func (r *resolver) scstBindingEnvKey(cfg *schema, toks []string) ([]string, bool) {
	keys := make([]scstBindingKey, 0, len(scstOnlyBindingKeys)+1)
	keys = append(keys, scstOnlyBindingKeys...)
	keys = append(keys, scstBindingKey{kind: "producer", key: "partitioned"})
	for i := len(toks) - 1; i >= 1; i-- {
		key := strings.ToLower(strings.Join(toks[i:], ""))
		for _, k := range keys {
			if k.key != key || (k.kind != "" && toks[i-1] != strings.ToUpper(k.kind)) {
				continue
			}
			sentinel := scstBindingSentinels[k.kind]
			probe := append(append([]string(nil), toks[:i]...), envTokens(sentinel)...)
			saved := r.alts
			path, ok := r.resolve(cfg, probe, []string{"stream"})
			r.alts = saved
			if !ok || len(path) < 3 || path[len(path)-1] != sentinel || (k.kind != "" && path[len(path)-2] != k.kind) {
				continue
			}
			if path[1] != "default" && path[1] != "bindings" {
				continue // a binder-specific section's keys are free-form: resolve took them
			}
			section := path[:len(path)-1]
			lower := make([]string, len(section))
			for j, s := range section {
				lower[j] = strings.ToLower(s)
			}
			return append(section, r.filesSpelling(lower, toks[i:])), true
		}
	}
	return nil, false
}

// kafkaStreamsEnvKey returns the key path that toks spell when they start
// with KAFKA_STREAMS: SCSt's kafka-streams binder's section,
// spring.cloud.stream.kafka.streams, as Spring Boot reads the variable
// ('_' is '.'), which adaptSCSt refuses as it does the file's key. resolve
// took it for a binder-specific section of a type kafka-streams (its
// binder key free-form), and the variable was accepted without a word.
// A section or binder type kafka-streams of the files' keeps it.
func (r *resolver) kafkaStreamsEnvKey(toks []string) ([]string, bool) {
	if len(toks) < 2 || toks[0] != "KAFKA" || toks[1] != "STREAMS" || hasEmpty(toks) {
		return nil, false
	}
	for _, k := range r.keysAt([]string{"stream"}) {
		if squash(k) == "kafkastreams" {
			return nil, false
		}
	}
	for _, b := range r.keysAt([]string{"stream", "binders"}) {
		if t, ok := r.lookup([]string{"stream", "binders", b, "type"}).(string); ok && squash(t) == "kafkastreams" {
			return nil, false
		}
	}
	path := []string{"stream", r.filesSpelling([]string{"stream"}, toks[:1]), "streams"}
	if len(toks) > 2 {
		path = append(path, strings.ToLower(strings.Join(toks[2:], "-")))
	}
	return path, true
}
