package config

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/streambind/streambind/redact"
	"github.com/streambind/streambind/stream"
)

// layer is one source of configuration (a file or the environment) as a
// tree of canonical, lower-case keys: map[string]any for maps, []any for
// lists, and nil, bool, int, uint64, float64 or string leaves. Origins maps
// every key path it sets to where it was set.
type layer struct {
	name    string
	tree    map[string]any
	origins map[string]string
	errs    []*stream.ConfigError
	warns   []*stream.ConfigError // keys ignored, with the reason
	origin  string                // when set, the origin of every key (not name:line)
	// spelled maps the key path of a name (a binding, a binder) or of a
	// map key (function.bindings.toUpper-in-0), whose keys are lower-case,
	// to the name as the file spells it. Its keys are spellKey paths.
	spelled map[string]string
	// written holds the property names the source spells, as written
	// (writtenNames): a placeholder that is no Spring property name
	// (${PORT}) finds only those.
	written map[string]bool
	// keys maps the key paths of origins to the keys as the source
	// writes them (spring.cloud.stream.bindings.x-in-0.consumer.maxAttempts
	// for stream.bindings.x-in-0.consumer.max-attempts), for those spelt
	// otherwise: stream.Config.Keys, for messages.
	keys map[string]string
	// flatAt holds, by joinPath, the key paths where the layer enters a
	// level whose keys are not split at dots (a free map, a key outside
	// the schema): below them a key's dots are a flattening, not part of
	// a name (matchSpellings).
	flatAt map[string][]string
}

func newLayer(name string) *layer {
	return &layer{name: name, tree: map[string]any{}, origins: map[string]string{}, spelled: map[string]string{}, written: map[string]bool{}, keys: map[string]string{}}
}

func (l *layer) at(line int) string {
	if l.origin != "" {
		return l.origin
	}
	return l.name + ":" + strconv.Itoa(line)
}

func (l *layer) fail(path, origin, format string, args ...any) {
	l.errs = append(l.errs, &stream.ConfigError{Path: path, Origin: origin, Msg: fmt.Sprintf(format, args...)})
}

// setOrigin records that key path id, written as key (its full key as the
// source writes it), was set at origin.
func (l *layer) setOrigin(id, key, origin string) {
	l.origins[id] = origin
	if key != "" && key != id {
		l.keys[id] = key
	} else {
		delete(l.keys, id)
	}
}

// writtenPath appends key seg, as the source writes it, to written path
// w: a key holding dots that is one step (a .properties key's [a.b]) in
// brackets, a list index ("[0]") as is.
func writtenPath(w, seg string, literal bool) string {
	if literal && strings.Contains(seg, ".") && !strings.HasPrefix(seg, "[") {
		seg = "[" + seg + "]"
	}
	if w == "" {
		return seg
	}
	return w + "." + seg
}

// writtenSegs returns the steps of key, split into segs, as key writes
// them: a name in brackets keeps them ([a.b].group).
func writtenSegs(key string, segs []string, literal bool) []string {
	if len(segs) == 1 {
		if literal && strings.Contains(segs[0], ".") && !strings.HasPrefix(segs[0], "[") {
			return []string{"[" + segs[0] + "]"}
		}
		return []string{key}
	}
	out := make([]string, len(segs))
	copy(out, segs)
	if strings.HasPrefix(key, "[") && !strings.HasPrefix(segs[0], "[") {
		out[0] = "[" + segs[0] + "]"
	}
	return out
}

// spellKey is the key of a path in layer.spelled: its segments joined
// by NUL, since a map key may hold dots (java.lang.IllegalStateException).
func spellKey(path []string) string { return strings.Join(path, "\x00") }

// joinPath renders a key path as "a.b.c".
func joinPath(path []string) string { return strings.Join(path, ".") }

// appendPath returns path + key in a new slice.
func appendPath(path []string, key string) []string {
	p := make([]string, len(path), len(path)+1)
	copy(p, path)
	return append(p, key)
}

// step returns the schema and canonical path of key seg under a level with
// schema s at path.
func step(s *schema, path []string, seg string) (*schema, []string) {
	switch s.kind {
	case kindStruct:
		if f := s.field(seg); f != nil {
			if f.target != nil {
				return f.s, appendPath(f.target[:len(f.target)-1], f.target[len(f.target)-1])
			}
			return f.s, appendPath(path, f.key)
		}
		if s.remain != nil {
			return s.remain.s, appendPath(path, strings.ToLower(seg))
		}
		if s.open {
			return &schema{kind: kindOther}, appendPath(path, strings.ToLower(seg))
		}
		// An unknown key, reported by the decoder; camelCase is turned into
		// kebab-case so that the message shows the canonical spelling.
		return &schema{kind: kindOther}, appendPath(path, kebab(seg))
	case kindNames:
		return s.elem, appendPath(path, strings.ToLower(seg))
	case kindFree:
		if s.props {
			return mapKeys, appendPath(path, freeKey(seg))
		}
		// A map key: its path is lower-case, as every path of the tree;
		// the key keeps its spelling (layer.spelled, respell).
		return mapKeys, appendPath(path, strings.ToLower(seg))
	case kindOther:
		return s, appendPath(path, strings.ToLower(seg))
	default: // a leaf given a map: kept as is for the decoder to reject
		return &schema{kind: kindOther}, appendPath(path, strings.ToLower(seg))
	}
}

// mapping adds the entries of mapping y, which stands at path with schema
// s. At struct levels a dotted key ("bindings.x-in-0.group") stands for
// nested keys, as in Spring; at levels of names too ("x-in-0.group" under
// bindings is binding x-in-0's group, as Spring Boot flattens a YAML
// file), where "[a.b]" is a name holding dots.
func (l *layer) mapping(y *ynode, s *schema, path []string) {
	l.mappingAt(y, s, path, joinPath(path))
}

// mappingAt is mapping below the key written wpath.
func (l *layer) mappingAt(y *ynode, s *schema, path []string, wpath string) {
	seen := map[string]int{} // canonical path → line, within this mapping
	entries := y.entries
	if s.kind == kindFree && !s.props {
		entries = indexedAsKeys(entries)
	}
	for _, e := range entries {
		segs := []string{e.key}
		switch {
		case s.kind == kindStruct && strings.Contains(e.key, "."):
			segs = strings.Split(e.key, ".")
		case (s.kind == kindFree || s.kind == kindOther) && !e.literal && strings.HasPrefix(e.key, "["):
			// A YAML map key in brackets, "[max.poll.records]", is that one
			// key, as in a .properties file: Spring's YamlProcessor
			// flattens it to configuration[max.poll.records].
			segs = nameKeySegs(e.key)
		case s.kind == kindNames && !e.literal:
			segs = nameKeySegs(e.key)
			if len(segs) > 1 && s.elem.kind == kindStruct && s.elem.field(segs[1]) == nil && segs[1] != "" {
				// Most likely a name holding dots, which Spring Boot
				// would split too: say how to write it.
				l.fail(joinPath(append(appendPath(path, strings.ToLower(segs[0])), segs[1:]...)), l.at(e.line),
					"unknown key %s of %s (known keys: %s); a name that holds dots is written [%s], as in Spring Boot",
					segs[1], segs[0], strings.Join(s.elem.keys(), ", "), e.key)
				continue
			}
		}
		cur, p, w := s, path, wpath
		wsegs := writtenSegs(e.key, segs, e.literal)
		ok := true
		for i, seg := range segs {
			w = writtenPath(w, wsegs[i], false)
			if seg == "" && cur.kind != kindFree && cur.kind != kindOther {
				l.fail(joinPath(appendPath(p, seg)), l.at(e.line), "empty key in %q", e.key)
				ok = false
				break
			}
			keepCase := cur.kind == kindNames || (cur.kind == kindFree && !cur.props)
			wasFlat := flatLevel(cur)
			cur, p = step(cur, p, seg)
			if !wasFlat && flatLevel(cur) {
				if l.flatAt == nil {
					l.flatAt = map[string][]string{}
				}
				l.flatAt[joinPath(p)] = p
			}
			if id := spellKey(p); keepCase && l.spelled[id] == "" && seg != p[len(p)-1] {
				l.spelled[id] = seg
			}
			if i < len(segs)-1 && !cur.lazy {
				if !l.ensureMap(p, l.at(e.line), joinPath(p)+"."+strings.ToLower(strings.Join(segs[i+1:], "."))) {
					ok = false
					break
				}
				if id := joinPath(p); l.origins[id] == "" {
					l.setOrigin(id, w, l.at(e.line))
				}
			}
		}
		if !ok {
			continue
		}
		if s.remain != nil && len(segs) == 1 && s.field(e.key) == nil && e.val.kind != yaml.MappingNode {
			// Not a binder-specific section but an unknown key: show it
			// in kebab-case, as the decoder's suggestion will be.
			p[len(p)-1] = kebab(e.key)
		}
		id := joinPath(p)
		if first, dup := seen[strings.ToLower(id)]; dup {
			if !e.merged {
				l.fail(id, l.at(e.line), "duplicate key %q (already set at %s)", e.key, l.at(first))
			}
			continue
		}
		seen[strings.ToLower(id)] = e.line
		l.value(e.val, cur, p, w, e.line)
	}
}

// value adds node y at path (schema s), set by key w (as written) at line.
func (l *layer) value(y *ynode, s *schema, path []string, w string, line int) {
	id := joinPath(path)
	if l.secretShape(id, y, line) {
		return
	}
	switch y.kind {
	case yaml.MappingNode:
		if !s.lazy {
			inner := id
			if len(y.entries) > 0 {
				inner += "." + strings.ToLower(y.entries[0].key)
			}
			if !l.ensureMap(path, l.at(line), inner) {
				return
			}
			l.setOrigin(id, w, l.at(line))
		}
		l.mappingAt(y, s, path, w)
	case yaml.SequenceNode:
		if l.set(path, l.detached(y, s, id, w), line) {
			l.setOrigin(id, w, l.at(line))
		}
	default:
		if l.set(path, y.value, line) {
			l.setOrigin(id, w, l.at(line))
		}
	}
}

// secretRoots are the roots whose values streambind reads (stream, the
// Spring namespaces, its own sections); an application's own section is
// checked by its type when decoded ([Loaded.Decode]). Not logging: it
// holds no secret, and its keys below level and group are logger names
// (logging.level.com.acme.secret: {store: DEBUG}, logging.group.token:
// [a, b]), which Spring Boot takes and streambind ignores with a warning.
var secretRoots = map[string]bool{"stream": true, "spring": true, "management": true, "outbox": true, "idempotency": true}

// secretShape refuses a list or a map given to a key that names one
// secret value (redact.IsSecretValueKey: spring.rabbitmq.password, a
// binder's sasl.password, a Kafka client's sasl.jaas.config), at the
// key's line, showing none of the values, and reports whether it did.
// Such a value was handed to the binder as it came; Spring Boot binds no
// list or map to a String (the password would be unset).
func (l *layer) secretShape(id string, y *ynode, line int) bool {
	if y.kind != yaml.SequenceNode && y.kind != yaml.MappingNode {
		return false
	}
	root, _, _ := strings.Cut(id, ".")
	if !secretRoots[root] || !redact.IsSecretValueKey(id) {
		return false
	}
	what := "a list"
	if y.kind == yaml.MappingNode {
		what = "a map"
	}
	l.fail(id, l.at(line), "a secret is one value, a string: got %s (not shown); give the value itself", what)
	return true
}

// detached converts y into a value of its own (a list item and what is
// below it), recording origins under opath ("a.b[0].c"), written w.
func (l *layer) detached(y *ynode, s *schema, opath, w string) any {
	switch y.kind {
	case yaml.SequenceNode:
		items := make([]any, 0, len(y.items))
		for i, it := range y.items {
			p := opath + "[" + strconv.Itoa(i) + "]"
			wp := w + "[" + strconv.Itoa(i) + "]"
			l.setOrigin(p, wp, l.at(it.line))
			items = append(items, l.detached(it, s, p, wp))
		}
		return items
	case yaml.MappingNode:
		m := make(map[string]any, len(y.entries))
		first := map[string]int{}
		for _, e := range y.entries {
			k := strings.ToLower(e.key)
			if s.kind == kindFree {
				// viper lower-cases the maps of a list whole: their keys
				// are spelled kebab-case, as a binder reads them.
				k = freeKey(e.key)
			}
			p := opath + "." + k
			if l.secretShape(p, e.val, e.line) {
				continue
			}
			if line, dup := first[k]; dup {
				if !e.merged {
					l.fail(p, l.at(e.line), "duplicate key %q (already set at %s)", e.key, l.at(line))
				}
				continue
			}
			first[k] = e.line
			wp := writtenPath(w, e.key, e.literal)
			l.setOrigin(p, wp, l.at(e.line))
			m[k] = l.detached(e.val, s, p, wp)
		}
		return m
	default:
		return y.value
	}
}

// ensureMap makes sure a map exists at path, creating it (and its parents)
// as needed, for key (set at origin) at or below it. It reports a conflict,
// naming key, and returns false where a value, not a map, is already there.
func (l *layer) ensureMap(path []string, origin, key string) bool {
	m := l.tree
	for i, seg := range path {
		v, ok := m[seg]
		if !ok {
			nm := map[string]any{}
			m[seg] = nm
			m = nm
			continue
		}
		vm, isMap := v.(map[string]any)
		if !isMap {
			id := joinPath(path[:i+1])
			l.fail(id, origin, "used as a map here by %s, a key inside it, but set to a value at %s: a key holds a value or keys, not both; keep one", key, l.origins[id])
			return false
		}
		m = vm
	}
	return true
}

// definitionPath is the key both of SCSt's function-definition keys set.
const definitionPath = "stream.function.definition"

// set puts leaf (or list) v at path; it reports a duplicate and returns
// false when something is already there. The function definition set
// twice to one value (spring.cloud.function.definition beside SCSt's
// deprecated spring.cloud.stream.function.definition) is no duplicate.
func (l *layer) set(path []string, v any, line int) bool {
	if len(path) == 0 || !l.ensureMap(path[:len(path)-1], l.at(line), joinPath(path)) {
		return false
	}
	m := l.lookupMap(path[:len(path)-1])
	key := path[len(path)-1]
	if prev, exists := m[key]; exists {
		id := joinPath(path)
		if id == definitionPath {
			// SCSt's two definition keys, one key here: services set
			// both, to one value, to run on SCSt 3 and 4 alike.
			p, _ := prev.(string)
			if n, ok := v.(string); ok && strings.TrimSpace(n) == strings.TrimSpace(p) {
				return false // the same definition; the first key's origin stays
			}
			l.fail(id, l.at(line), "set to %q here and to %q at %s: spring.cloud.function.definition and SCSt's deprecated spring.cloud.stream.function.definition are one key here (stream.function.definition), and with different values SCSt 3 binds the latter's, SCSt 4 the former's: keep the one you mean", v, prev, l.origins[id])
			return false
		}
		if sub, isMap := prev.(map[string]any); isMap && len(sub) > 0 {
			// Keys inside it were set first (brokers.x=b, then
			// brokers=a): name the key that conflicts, not the map's
			// origin, which is that key's line.
			inner, at := l.keyInside(path, sub)
			l.fail(id, l.at(line), "set to a value here, but %s, a key inside it, is set at %s: a key holds a value or keys, not both; keep one", inner, at)
			return false
		}
		l.fail(id, l.at(line), "duplicate key (already set at %s)", l.origins[id])
		return false
	}
	m[key] = v
	return true
}

// keyInside returns the key path of a value set below path (whose map is
// m) and its origin: the one set where the map was first created, else
// the first in order. Spring Boot binds a scalar or list key and ignores
// such a key inside it without a word (IndexedElementsBinder reads the
// key itself when it is set); here the pair is an error naming both.
func (l *layer) keyInside(path []string, m map[string]any) (string, string) {
	first := l.origins[joinPath(path)]
	var fallback []string
	var walk func(p []string, m map[string]any) []string
	walk = func(p []string, m map[string]any) []string {
		for _, k := range slices.Sorted(maps.Keys(m)) {
			cp := appendPath(p, k)
			if sub, ok := m[k].(map[string]any); ok && len(sub) > 0 {
				if found := walk(cp, sub); found != nil {
					return found
				}
				continue
			}
			if fallback == nil {
				fallback = cp
			}
			if l.origins[joinPath(cp)] == first {
				return cp
			}
		}
		return nil
	}
	inner := walk(path, m)
	if inner == nil {
		inner = fallback
	}
	if inner == nil {
		return joinPath(path) + ".*", first
	}
	return joinPath(inner), l.origins[joinPath(inner)]
}

// lookupMap returns the map at path in l.tree (which must exist).
func (l *layer) lookupMap(path []string) map[string]any {
	m := l.tree
	for _, seg := range path {
		m = m[seg].(map[string]any)
	}
	return m
}

// nameKeySegs splits a YAML key at a level of names as Spring Boot reads
// it: "x-in-0.group" is name x-in-0 and its key group, "[a.b]" (or
// "[a.b].group") a name that holds dots. A malformed bracket is kept
// whole, for the name's check to refuse.
func nameKeySegs(k string) []string {
	if strings.HasPrefix(k, "[") {
		j := strings.IndexByte(k, ']')
		switch {
		case j > 1 && j == len(k)-1:
			return []string{k[1:j]}
		case j > 1 && k[j+1] == '.':
			return append([]string{k[1:j]}, strings.Split(k[j+2:], ".")...)
		}
		return []string{k}
	}
	if !strings.Contains(k, ".") {
		return []string{k}
	}
	return strings.Split(k, ".")
}

// flatLevel reports whether the keys of a level of schema s are kept
// whole, dots included (a free map, a key outside the schema), so that
// a dotted key there and the same key written nested are one property.
func flatLevel(s *schema) bool { return s.kind == kindFree || s.kind == kindOther }

// matchSpellings gives each key of the layer's free maps that tree
// (what the sources before it merged into) spells otherwise the tree's
// spelling: {max.poll.records: 5} (or "[max.poll.records]") in one file
// and configuration.max.poll.records=7 in another, nested, are one
// property, as in Spring Boot, where YAML is flattened to .properties
// keys and binding a map of scalars (Map<String, String>) takes
// max.poll.records as the key whether or not its dots are bracketed. A
// merge then replaces the tree's value with the layer's, which comes
// later, as Boot's source of higher precedence wins; the two spellings
// were kept side by side and the binder took whichever sorted last. The
// key path (joinPath) of both spellings is the same, so the layer's
// origin is the key's. Only levels whose keys are not split at dots
// (flatAt: free maps, keys outside the schema) are matched; a name that
// holds dots (a binding [a.b]) stays a name of its own.
func (l *layer) matchSpellings(tree map[string]any) {
	// In key order: where the layer spells one key two ways and the tree
	// a third, the first spelling walked takes the tree's and the other
	// stays; in map order a Load gave one run's value or another's.
	for _, id := range slices.Sorted(maps.Keys(l.flatAt)) {
		at := l.flatAt[id]
		src, _ := lookupTree(l.tree, at).(map[string]any)
		tgt, _ := lookupTree(tree, at).(map[string]any)
		if len(src) == 0 || len(tgt) == 0 {
			continue
		}
		type move struct{ from, to []string }
		var moves []move
		var walk func(m map[string]any, segs []string)
		walk = func(m map[string]any, segs []string) {
			for _, k := range sortedKeys(m) {
				v := m[k]
				s := appendPath(segs, k)
				if sub, ok := v.(map[string]any); ok {
					walk(sub, s)
					continue
				}
				if len(s) == 1 && !strings.Contains(k, ".") {
					continue // one spelling only
				}
				if to := findFlat(tgt, joinPath(s)); to != nil && !slices.Equal(to, s) {
					moves = append(moves, move{s, to})
				}
			}
		}
		walk(src, nil)
		for _, mv := range moves {
			l.moveLeaf(src, at, mv.from, mv.to)
		}
	}
}

// moveLeaf moves the leaf at from to to, both below the map m at key
// path at, unless to is taken (the layer spells the key both ways) or
// crosses a value. Maps left empty go, with their origins.
func (l *layer) moveLeaf(m map[string]any, at, from, to []string) {
	dst := m
	for _, k := range to[:len(to)-1] {
		next, ok := dst[k]
		if !ok {
			dst = nil
			break
		}
		if dst, ok = next.(map[string]any); !ok {
			return
		}
	}
	if _, taken := dst[to[len(to)-1]]; taken {
		return
	}
	// Take the leaf out, dropping the maps that held it alone.
	chain := make([]map[string]any, len(from))
	cur := m
	for i, k := range from {
		chain[i] = cur
		if i < len(from)-1 {
			cur = cur[k].(map[string]any)
		}
	}
	v := chain[len(from)-1][from[len(from)-1]]
	for i := len(from) - 1; i >= 0; i-- {
		delete(chain[i], from[i])
		if i == 0 || len(chain[i]) > 0 {
			break
		}
		delete(l.origins, joinPath(append(append([]string(nil), at...), from[:i]...)))
	}
	cur = m
	for _, k := range to[:len(to)-1] {
		next, ok := cur[k].(map[string]any)
		if !ok {
			next = map[string]any{}
			cur[k] = next
		}
		cur = next
	}
	cur[to[len(to)-1]] = v
}

// findFlat returns the keys of the leaf of m whose dotted name is name,
// however its dots are split between keys ({max.poll.records}, {max:
// {poll: {records}}}); nil if m has none.
func findFlat(m map[string]any, name string) []string {
	for i := 0; i <= len(name); i++ {
		if i < len(name) && name[i] != '.' {
			continue
		}
		v, ok := m[name[:i]]
		if !ok {
			continue
		}
		sub, isMap := v.(map[string]any)
		if i == len(name) {
			if isMap {
				return nil
			}
			return []string{name}
		}
		if isMap {
			if rest := findFlat(sub, name[i+1:]); rest != nil {
				return append([]string{name[:i]}, rest...)
			}
		}
	}
	return nil
}

// lookupTree returns the value at path in tree, nil if there is none.
func lookupTree(tree map[string]any, path []string) any {
	var cur any = tree
	for _, k := range path {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[k]
	}
	return cur
}
