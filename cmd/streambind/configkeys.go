package main

import (
	"strings"
)

// canonicalBinderKeys spells the keys of the binder-type sections of tree
// (stream.<type>.binder, stream.<type>.default.<kind>,
// stream.<type>.bindings.<b>.<kind>) as their binder documents them
// (binderKeyNames): an environment variable that drops a key's dashes, as
// Spring Boot's documented form does (SPRING_CLOUD_STREAM_KAFKA_BINDER_MINPARTITIONCOUNT,
// ..._CONSUMER_STARTOFFSET), sets the key the loader knows only by its
// letters (minpartitioncount), which the binder reads as min-partition-count;
// printed so, it looked unknown. A key so renamed keeps its origin (in
// origins, under the new path) and its value is typed as the app reads it
// (typed: typedScalar at the key's own path).
// Only scalar values are renamed: a map's or a list's origins are by the
// paths of what they hold.
func canonicalBinderKeys(streamTree map[string]any, origins map[string]string, originOf func(string) string, typed func(path string, v any) any) {
	for typ, blocks := range binderKeyNames {
		sec, _ := streamTree[typ].(map[string]any)
		if sec == nil {
			continue
		}
		base := "stream." + typ
		rename := func(m map[string]any, path, block string) {
			byLetters := map[string]string{}
			for _, k := range blocks[block] {
				byLetters[strings.ReplaceAll(k, "-", "")] = k
			}
			for k, v := range m {
				switch v.(type) {
				case map[string]any, []any:
					continue
				}
				want, ok := byLetters[k]
				if !ok || want == k {
					continue
				}
				if _, taken := m[want]; taken {
					continue
				}
				o := originOf(path + "." + k)
				if o == "" {
					o = "default"
				}
				delete(m, k)
				m[want] = typed(path+"."+k, v)
				origins[path+"."+want] = o
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
