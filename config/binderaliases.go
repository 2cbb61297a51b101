package config

import (
	"fmt"
	"strings"

	"github.com/streambind/streambind/binder/props"
	"github.com/streambind/streambind/stream"
)

// sourceRanks gives the precedence of the source of each key path (lower
// case, as origins): the layers are numbered in the order they are merged,
// each over the ones before (base files, profile files, dotted variables,
// the other variables, SPRING_APPLICATION_JSON, the command line), and a
// key takes the number of the last layer that set it.
type sourceRanks struct {
	seq  int
	rank map[string]int
}

// add records that layer l, merged over every layer added before, set
// its keys.
func (r *sourceRanks) add(l *layer) {
	r.seq++
	if r.rank == nil {
		r.rank = map[string]int{}
	}
	for k := range l.origins {
		r.rank[k] = r.seq
	}
}

// resolveBinderAliases applies the precedence of the sources to the
// aliases of one binder setting (the Redis binder's max-length and maxlen,
// see [props.Aliases]), as the merge of the layers applies it to the
// spellings of one key: of the aliases a binder-specific section holds,
// the one the source of highest precedence set is kept and the others
// dropped (with their origins), so that an environment variable's
// ..._MAX_LENGTH overrides a file's maxlen and a profile file's maxlen a
// base file's max-length. Two aliases set by one source (one document of
// a file, the environment) are a problem naming both: which one is meant
// cannot be told, and the binder would take whichever sorted last.
//
// The sections are stream.<type>.binder, stream.<type>.default.producer
// and .consumer, stream.<type>.bindings.<b>.producer and .consumer, and
// stream.binders.<name>.environment of a binder whose type is declared or,
// declared without one, named after a built-in type (binderType).
//
// keys holds the keys as the sources wrote them (Load's), for the message.
func resolveBinderAliases(streamTree map[string]any, origins map[string]string, ranks *sourceRanks, keys map[string]writtenKey) []*stream.ConfigError {
	var errs []*stream.ConfigError
	// asWritten is the last key of path as its source wrote it (maxLen,
	// which the tree holds as max-len).
	asWritten := func(path, k string) string {
		lp := strings.ToLower(path)
		if w, ok := keys[lp]; ok && w.origin == origins[lp] && !strings.HasSuffix(w.key, "]") {
			return w.key[strings.LastIndex(w.key, ".")+1:]
		}
		return k
	}
	resolve := func(typ, section, path string, m map[string]any) {
		rank := func(p string) int { return ranks.rank[strings.ToLower(path+"."+p)] }
		dropped, clashes := props.ResolveAliases(typ, section, m, rank)
		for _, p := range dropped {
			delete(origins, strings.ToLower(path+"."+p))
		}
		for _, c := range clashes {
			last := path + "." + c.Keys[len(c.Keys)-1]
			others := make([]string, 0, len(c.Keys)-1)
			for _, k := range c.Keys[:len(c.Keys)-1] {
				others = append(others, fmt.Sprintf("%s (%s)", asWritten(path+"."+k, k), orUnknown(originOf(origins, path+"."+k))))
			}
			errs = append(errs, &stream.ConfigError{Path: last, Origin: originOf(origins, last),
				Msg: fmt.Sprintf("names the same setting as %s, set by the same source: keep one", strings.Join(others, " and "))})
		}
	}
	schema := configSchema()
	for _, typ := range sortedKeys(streamTree) {
		if schema.field(typ) != nil {
			continue // a common key, not a binder-specific section
		}
		ext, ok := streamTree[typ].(map[string]any)
		if !ok {
			continue
		}
		base := "stream." + typ
		if k, ok := mapKey(ext, "binder"); ok {
			if m, ok := ext[k].(map[string]any); ok {
				resolve(typ, "binder", base+"."+k, m)
			}
		}
		if k, ok := mapKey(ext, "default"); ok {
			if def, ok := ext[k].(map[string]any); ok {
				resolveBinding(typ, base+"."+k, def, resolve)
			}
		}
		if k, ok := mapKey(ext, "bindings"); ok {
			bs, _ := ext[k].(map[string]any)
			for _, b := range sortedKeys(bs) {
				if bm, ok := bs[b].(map[string]any); ok {
					resolveBinding(typ, base+"."+k+"."+b, bm, resolve)
				}
			}
		}
	}
	binders, _ := streamTree["binders"].(map[string]any)
	for _, n := range sortedKeys(binders) {
		bm, _ := binders[n].(map[string]any)
		k, ok := mapKey(bm, "environment")
		if !ok {
			continue
		}
		if env, ok := bm[k].(map[string]any); ok {
			resolve(binderType(streamTree, n), "binder", "stream.binders."+n+"."+k, env)
		}
	}
	return errs
}

// resolveBinding resolves the aliases of the producer and consumer
// sections of a binding's (or the default's) binder-specific map bm at
// path.
func resolveBinding(typ, path string, bm map[string]any, resolve func(typ, section, path string, m map[string]any)) {
	for _, kind := range []string{"producer", "consumer"} {
		if k, ok := mapKey(bm, kind); ok {
			if m, ok := bm[k].(map[string]any); ok {
				resolve(typ, kind, path+"."+k, m)
			}
		}
	}
}

// setBindingAliases gives each binder-specific section of c the aliases of
// its type's producer and consumer settings, so that a binding's own value
// under one name replaces the default section's under another
// (stream.Config.Extension).
func setBindingAliases(c *stream.Config) {
	for typ, ext := range c.Extensions {
		ext.Aliases = nil
		for _, kind := range []string{"producer", "consumer"} {
			if a := props.Aliases(typ, kind); a != nil {
				if ext.Aliases == nil {
					ext.Aliases = map[string][][]string{}
				}
				ext.Aliases[kind] = a
			}
		}
		c.Extensions[typ] = ext
	}
}
