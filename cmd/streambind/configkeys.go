package main

import (
	"maps"
	"slices"
	"strings"
)

// canonicalBinderKeys spells the keys of the binder-type sections of tree
// (stream.<type>.binder, stream.<type>.default.<kind>,
// stream.<type>.bindings.<b>.<kind>) as their binder documents them
// (binderKeyNames): an environment variable that drops a key's dashes, as
// Spring Boot's documented form does (SPRING_CLOUD_STREAM_KAFKA_BINDER_MINPARTITIONCOUNT,
// ..._CONSUMER_STARTOFFSET), sets the key the loader knows only by its
// letters (minpartitioncount), which the binder reads as min-partition-count;
// printed so, it looked unknown. So with a nested key
// (..._BINDER_TLS_SERVERNAME): the loader, which does not know the
// binder's sections, joins the words to one flat key (tls-servername),
// which the binder reads as tls.server-name (props.Decoder.Nest), or,
// below a tls section of the files, makes it servername there; either is
// printed as server-name in the section tls. A key so renamed keeps its
// origin (in origins, under the new path) and its value is typed as the
// app reads it (typed: typedScalar at the key's own path).
// Only scalar values are renamed: a map's or a list's origins are by the
// paths of what they hold. A key whose documented spelling is set already
// (or whose section is not a map) is left as it is.
func canonicalBinderKeys(streamTree map[string]any, origins map[string]string, originOf func(string) string, typed func(path string, v any) any) {
	letters := func(k string) string {
		return strings.ToLower(strings.NewReplacer("-", "", "_", "", ".", "").Replace(k))
	}
	for typ, blocks := range binderKeyNames {
		sec, _ := streamTree[typ].(map[string]any)
		if sec == nil {
			continue
		}
		base := "stream." + typ
		// move sets the scalar m[k] (of path) as to[want] (of toPath).
		move := func(m map[string]any, path, k string, to map[string]any, toPath, want string) {
			if _, taken := to[want]; taken {
				return
			}
			o := originOf(path + "." + k)
			if o == "" {
				o = "default"
			}
			v := m[k]
			delete(m, k)
			to[want] = typed(path+"."+k, v)
			origins[toPath+"."+want] = o
		}
		rename := func(m map[string]any, path, block string) {
			// Top-level keys and each section's keys by their letters
			// (as the loader spells a variable's words: lower case).
			top := map[string]string{}
			nested := map[string]map[string]string{}
			for _, k := range blocks[block] {
				if s, sub, ok := strings.Cut(k, "."); ok {
					if nested[s] == nil {
						nested[s] = map[string]string{}
					}
					nested[s][strings.ReplaceAll(sub, "-", "")] = sub
					continue
				}
				top[strings.ReplaceAll(k, "-", "")] = k
			}
			// section returns the map of section s in m (as m spells
			// it, else made), nil when m holds s as something else.
			section := func(s string) (map[string]any, string) {
				for k, v := range m {
					if letters(k) == letters(s) {
						sm, _ := v.(map[string]any)
						return sm, k
					}
				}
				sm := map[string]any{}
				m[s] = sm
				return sm, s
			}
			for _, k := range slices.Sorted(maps.Keys(m)) {
				switch v := m[k].(type) {
				case map[string]any:
					// A section of the files: its keys a variable set.
					subs := nested[letters(k)]
					if subs == nil {
						continue
					}
					for _, sk := range slices.Sorted(maps.Keys(v)) {
						switch v[sk].(type) {
						case map[string]any, []any:
							continue
						}
						if want, ok := subs[sk]; ok && want != sk {
							move(v, path+"."+k, sk, v, path+"."+k, want)
						}
					}
					continue
				case []any:
					continue
				}
				if want, ok := top[k]; ok {
					if want != k {
						move(m, path, k, m, path, want)
					}
					continue
				}
				// A flat key: a section's letters, a separator, a key
				// of the section (tls-servername, quorum_deliverylimit).
				for i := 1; i < len(k); i++ {
					if !strings.ContainsRune("-_.", rune(k[i])) {
						continue
					}
					s := ""
					for name := range nested {
						if letters(name) == letters(k[:i]) {
							s = name
						}
					}
					want, ok := nested[s][letters(k[i+1:])]
					if s == "" || !ok {
						continue
					}
					if sm, sk := section(s); sm != nil {
						move(m, path, k, sm, path+"."+sk, want)
					}
					break
				}
			}
		}
		if b, ok := sec["binder"].(map[string]any); ok {
			rename(b, base+".binder", "binder")
		}
		for _, kind := range []string{"consumer", "producer"} {
			if d, ok := sec["default"].(map[string]any); ok {
				if m, ok := d[kind].(map[string]any); ok {
					rename(m, base+".default."+kind, kind)
				}
			}
			bs, _ := sec["bindings"].(map[string]any)
			for name, b := range bs {
				if bm, ok := b.(map[string]any); ok {
					if m, ok := bm[kind].(map[string]any); ok {
						rename(m, base+".bindings."+name+"."+kind, kind)
					}
				}
			}
		}
	}
}

// pruneEmptyBinderSections removes the empty maps left in the binder-type
// sections' binding properties (stream.<type>.default.<kind>,
// stream.<type>.bindings.<b>.<kind>, and the default, binding and bindings
// maps that then hold nothing): the loader takes a common key written
// there (max-attempts, use-native-decoding, required-groups) out with a
// warning, as ignored, and the map it leaves printed as producer: {} with
// the ignored key's origin, as if something were set there.
func pruneEmptyBinderSections(streamTree map[string]any) {
	empty := func(v any) bool {
		m, ok := v.(map[string]any)
		return ok && len(m) == 0
	}
	pruneKinds := func(m map[string]any) {
		for _, kind := range []string{"consumer", "producer"} {
			if empty(m[kind]) {
				delete(m, kind)
			}
		}
	}
	for typ := range binderKeyNames {
		sec, _ := streamTree[typ].(map[string]any)
		if sec == nil {
			continue
		}
		if d, ok := sec["default"].(map[string]any); ok {
			pruneKinds(d)
			if len(d) == 0 {
				delete(sec, "default")
			}
		}
		if bs, ok := sec["bindings"].(map[string]any); ok {
			for name, b := range bs {
				if bm, ok := b.(map[string]any); ok {
					pruneKinds(bm)
					if len(bm) == 0 {
						delete(bs, name)
					}
				}
			}
			if len(bs) == 0 {
				delete(sec, "bindings")
			}
		}
		if len(sec) == 0 {
			delete(streamTree, typ)
		}
	}
}
