package config

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/streambind/streambind/redact"
	"github.com/streambind/streambind/stream"
)

// This file maps environment variables to keys outside the stream section
// (management.server.address, logging.level, myapp.db.url), as Spring
// Boot's relaxed binding does: the key path in upper case, '.' as '_', and
// each key's '-' either as '_' or dropped (MAXATTEMPTS). A variable applies
// only to a key that exists: one the files declare, a framework key
// ([FrameworkKeys]), or, in [Loaded.Decode], a field of the target type.
// The keys the files declare resolve the '_' ambiguity.

// nodeKind says what an environment variable may name at one level of a
// keyNode tree.
type nodeKind int

const (
	// nodeLeaf: a value; a variable ends here.
	nodeLeaf nodeKind = iota
	// nodeMap: fixed keys (children).
	nodeMap
	// nodeList: a list; a variable names the whole list (a comma-separated
	// string) or an item by its index (NAME_0, NAME_0_KEY, NAME[0]).
	nodeList
	// nodeNames: keys are names; the known ones are children, and any
	// other name is accepted too; every value has the shape elem.
	nodeNames
	// nodeFree: a free-form map: existing keys (children), else any key.
	nodeFree
)

// keyNode is the shape of the keys below one key.
type keyNode struct {
	kind     nodeKind
	children map[string]*keyNode // nodeMap, nodeNames (known names), nodeFree (existing keys)
	elem     *keyNode            // nodeList: the items; nodeNames: the values
	// declared: the configuration sets this key (not only a framework key
	// or a field of a Decode target); such keys are tried first.
	declared bool
}

// valueNode returns the shape of a value of the merged files' tree.
func valueNode(v any) *keyNode {
	switch v := v.(type) {
	case map[string]any:
		n := &keyNode{kind: nodeMap, children: make(map[string]*keyNode, len(v)), declared: true}
		for k, c := range v {
			n.children[k] = valueNode(c)
		}
		return n
	case []any:
		n := &keyNode{kind: nodeList, declared: true}
		for _, it := range v {
			n.elem = mergeNodes(n.elem, valueNode(it))
		}
		return n
	default:
		return &keyNode{kind: nodeLeaf, declared: true}
	}
}

// mergeNodes returns the union of the shapes a and b; where they disagree
// (a map here, a value there) a wins.
func mergeNodes(a, b *keyNode) *keyNode {
	if a == nil {
		return b
	}
	if b == nil || a.kind != b.kind {
		return a
	}
	switch a.kind {
	case nodeMap, nodeNames, nodeFree:
		keys := make([]string, 0, len(b.children))
		for k := range b.children {
			keys = append(keys, k)
		}
		sort.Strings(keys) // deterministic where two spellings meet
		for _, k := range keys {
			bc := b.children[k]
			if ak, ac := a.child(k); ac != nil {
				a.children[ak] = mergeNodes(ac, bc)
			} else {
				if a.children == nil {
					a.children = map[string]*keyNode{}
				}
				a.children[k] = bc
			}
		}
		if a.kind == nodeNames {
			a.elem = mergeNodes(a.elem, b.elem)
		}
	case nodeList:
		a.elem = mergeNodes(a.elem, b.elem)
	}
	return a
}

// child returns the child of n that key names, compared squashed (so
// read-header-timeout finds readheadertimeout), and its spelling in n.
func (n *keyNode) child(key string) (string, *keyNode) {
	if c, ok := n.children[key]; ok {
		return key, c
	}
	k := envKey(key)
	var best string
	for ck := range n.children {
		if envKey(ck) == k && (best == "" || ck < best) {
			best = ck
		}
	}
	if best == "" {
		return "", nil
	}
	return best, n.children[best]
}

// addKey adds the key path (kebab-case, dotted) to the tree below n, as a
// value, unless the files hold something else on its way (a value where it
// needs a map): the files' spelling of each key is kept.
func (n *keyNode) addKey(path string) {
	segs := strings.Split(path, ".")
	cur := n
	for i, seg := range segs {
		if cur.kind != nodeMap {
			return
		}
		last := i == len(segs)-1
		_, c := cur.child(seg)
		if c == nil {
			c = &keyNode{kind: nodeMap, children: map[string]*keyNode{}}
			if last {
				c = &keyNode{kind: nodeLeaf}
			}
			if cur.children == nil {
				cur.children = map[string]*keyNode{}
			}
			cur.children[seg] = c
		}
		cur = c
	}
}

// node returns the node at the key path (matched as child does), or nil.
func (n *keyNode) node(path string) *keyNode {
	cur := n
	for _, seg := range strings.Split(path, ".") {
		if cur.kind != nodeMap {
			return nil
		}
		if _, cur = cur.child(seg); cur == nil {
			return nil
		}
	}
	return cur
}

// envKey spells key as a variable does once its '_' are dropped: upper
// case, without '-', '_' and '.'.
func envKey(key string) string {
	var b strings.Builder
	for _, r := range strings.ToUpper(key) {
		if r == '-' || r == '_' || r == '.' {
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// consumed returns how many of toks spell key: their concatenation equals
// key without its '-', '_' and '.' (MAX_ATTEMPTS, MAXATTEMPTS and
// MAX_ATT_EMPTS all spell max-attempts), 0 if none do. Empty tokens spell
// nothing.
func consumed(toks []string, key string) int {
	k := envKey(key)
	if k == "" {
		return 0
	}
	at := 0
	for i, t := range toks {
		if t == "" || !strings.HasPrefix(k[at:], t) {
			return 0
		}
		at += len(t)
		if at == len(k) {
			return i + 1
		}
	}
	return 0
}

// pathSeg is one step of a resolved key path: a key, or a list index.
type pathSeg struct {
	key string
	idx int // -1 for a key
}

func keySeg(k string) pathSeg { return pathSeg{key: k, idx: -1} }

// renderPath renders a path as the origins do: "a.b[0].c".
func renderPath(segs []pathSeg) string {
	var b strings.Builder
	for i, s := range segs {
		if s.idx >= 0 {
			b.WriteString("[" + strconv.Itoa(s.idx) + "]")
			continue
		}
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(s.key)
	}
	return b.String()
}

func withSeg(path []pathSeg, s pathSeg) []pathSeg {
	p := make([]pathSeg, len(path), len(path)+1)
	copy(p, path)
	return append(p, s)
}

// maxEnvIndex bounds a list index in a variable name.
const maxEnvIndex = 9999

// envIndex reads a list index token: decimal digits, no sign.
func envIndex(tok string) (int, bool) {
	if tok == "" || len(tok) > 4 || strings.Trim(tok, "0123456789") != "" {
		return 0, false
	}
	n, err := strconv.Atoi(tok)
	return n, err == nil && n <= maxEnvIndex
}

// resolveNode matches toks below n (at path) and returns the key path they
// name: a value, a whole list, or a list item.
func resolveNode(n *keyNode, toks []string, path []pathSeg) ([]pathSeg, bool) {
	if len(toks) == 0 {
		return path, n.kind == nodeLeaf || n.kind == nodeList
	}
	switch n.kind {
	case nodeMap, nodeNames, nodeFree:
		for _, c := range n.candidates(toks) {
			if p, ok := resolveNode(n.children[c.key], toks[c.n:], withSeg(path, keySeg(c.key))); ok {
				return p, true
			}
		}
		switch n.kind {
		case nodeNames:
			// A new name: the shortest that leaves a valid path.
			for i := 1; i <= len(toks); i++ {
				if hasEmpty(toks[:i]) {
					return nil, false
				}
				name := strings.ToLower(strings.Join(toks[:i], "-"))
				if p, ok := resolveNode(n.elem, toks[i:], withSeg(path, keySeg(name))); ok {
					return p, true
				}
			}
		case nodeFree:
			if !hasEmpty(toks) {
				return withSeg(path, keySeg(strings.ToLower(strings.Join(toks, "-")))), true
			}
		}
		return nil, false
	case nodeList:
		i, ok := envIndex(toks[0])
		if !ok {
			return nil, false
		}
		rest := toks[1:]
		if len(rest) == 1 && rest[0] == "" {
			rest = nil // NAME_0_, Spring's spelling of an item
		}
		item := n.elem
		if item == nil {
			item = &keyNode{kind: nodeLeaf}
		}
		if len(rest) == 0 && item.kind != nodeLeaf {
			return nil, false // a map or list item is set key by key
		}
		return resolveNode(item, rest, withSeg(path, pathSeg{idx: i}))
	default:
		return nil, false
	}
}

// candidate is a child key that the first n tokens spell.
type candidate struct {
	key string
	n   int
}

// candidates returns the children of n that toks start with: declared
// keys first, then the longest spelling first (MYAPP_READ_TIMEOUT is
// read-timeout before read.timeout), then by key.
func (n *keyNode) candidates(toks []string) []candidate {
	var cs []candidate
	for k := range n.children {
		if c := consumed(toks, k); c > 0 {
			cs = append(cs, candidate{k, c})
		}
	}
	sort.Slice(cs, func(i, j int) bool {
		if di, dj := n.children[cs[i].key].declared, n.children[cs[j].key].declared; di != dj {
			return di
		}
		if cs[i].n != cs[j].n {
			return cs[i].n > cs[j].n
		}
		return cs[i].key < cs[j].key
	})
	return cs
}

// relaxedTokens splits the name of a variable that may override a key
// outside the stream section into tokens: only upper-case names (letters,
// digits, '_', and [n] for a list index) qualify, so that lower-case
// variables (http_proxy) never do.
func relaxedTokens(name string) ([]string, bool) {
	if name == "" || name[0] == '_' || name[0] == '[' {
		return nil, false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !('A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '[' || c == ']') {
			return nil, false
		}
	}
	if strings.ContainsAny(name, "[]") {
		// NAME[0] and NAME[0]_KEY: [n] is an index token.
		var b strings.Builder
		rest := name
		for rest != "" {
			i := strings.IndexByte(rest, '[')
			if i < 0 {
				b.WriteString(rest)
				break
			}
			j := strings.IndexByte(rest[i:], ']')
			if j < 0 {
				return nil, false
			}
			idx := rest[i+1 : i+j]
			if _, ok := envIndex(idx); !ok || strings.ContainsAny(rest[:i], "]") {
				return nil, false
			}
			b.WriteString(rest[:i] + "_" + idx)
			rest = rest[i+j+1:]
			if rest != "" && rest[0] != '_' {
				return nil, false
			}
		}
		name = b.String()
	}
	if strings.ContainsAny(name, "[]") {
		return nil, false
	}
	return strings.Split(name, "_"), true
}

// kubernetesLink matches the variables Kubernetes sets for every service
// of a namespace (<SERVICE>_SERVICE_HOST, <SERVICE>_PORT_80_TCP_ADDR,
// <SERVICE>_PORT=tcp://10.0.0.1:80, ...). A service named logging or
// management-server must not make them look like misspelt keys.
var (
	kubernetesLink     = regexp.MustCompile(`_(SERVICE_HOST|SERVICE_PORT(_[A-Z0-9_]+)?|PORT_[0-9]+_(TCP|UDP|SCTP)(_(PROTO|PORT|ADDR))?)$`)
	kubernetesPortLink = regexp.MustCompile(`^(tcp|udp|sctp)://`)
)

func isKubernetesLink(name, value string) bool {
	return kubernetesLink.MatchString(name) || (strings.HasSuffix(name, "_PORT") && kubernetesPortLink.MatchString(value))
}

// misspelt decides whether a variable under a framework root (owned) that
// named no key is reported: when it starts like a key (its tokens go past
// the root into one of its sections or values) or is about one edit from
// one. It returns the key path to report it at and the message; report is
// false for a variable that is not ours.
func misspelt(root *keyNode, name, value string, toks []string, owned map[string]bool) (path, msg string, report bool) {
	if isKubernetesLink(name, value) {
		return "", "", false
	}
	var at []string // the keys matched so far
	cur, rest := root, toks
	for {
		var next *candidate
		for _, c := range cur.candidates(rest) {
			if len(at) > 0 || owned[c.key] {
				next = &c
				break
			}
		}
		if next == nil {
			break
		}
		at = append(at, next.key)
		cur, rest = cur.children[next.key], rest[next.n:]
		if cur.kind != nodeMap || len(rest) == 0 {
			break
		}
	}
	if len(at) == 0 || (len(at) == 1 && len(rest) == 0) {
		return "", "", false // not under a framework root, or the bare root
	}
	path = strings.Join(at, ".")
	spell := func(p string) string { return strings.ToUpper(strings.NewReplacer(".", "_", "-", "_").Replace(p)) }
	example := spell(firstLeaf(root, at))
	switch {
	case len(rest) == 0:
		return path, fmt.Sprintf("names the section %s, not a key (expected e.g. %s)", path, example), true
	case cur.kind != nodeMap:
		return path, fmt.Sprintf("matches no configuration key: %s takes a value, not keys (set %s)", path, spell(path)), true
	}
	keys := make([]string, 0, len(cur.children))
	for k := range cur.children {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	// A did-you-mean is reported at the key the variable spells
	// (logging.formatt, management.server.adress), as the stream
	// section's are (misspeltPath), not at the section holding it.
	if sug := suggest(strings.Join(rest, ""), keys); sug != "" {
		return path + "." + strings.ToLower(strings.Join(rest, "-")), "matches no configuration key; did you mean " + spell(path+"."+sug) + "?", true
	}
	if sug := suggest(rest[0], keys); sug != "" && rest[0] != "" {
		fix := spell(path + "." + sug)
		if len(rest) > 1 {
			fix += "_" + strings.Join(rest[1:], "_")
		}
		return strings.ToLower(strings.Join(append(append([]string(nil), at...), rest...), ".")), "matches no configuration key; did you mean " + fix + "?", true
	}
	if len(at) < 2 {
		return "", "", false // ROOT_<something unknown>: not ours
	}
	return path, fmt.Sprintf("matches no configuration key (expected the key path in upper case with '.' and '-' as '_', e.g. %s)", example), true
}

// firstLeaf returns the first key path (in key order) below the keys at,
// for an example.
func firstLeaf(root *keyNode, at []string) string {
	cur := root
	p := append([]string(nil), at...)
	for _, k := range at {
		cur = cur.children[k]
	}
	for cur != nil && cur.kind == nodeMap && len(cur.children) > 0 {
		keys := make([]string, 0, len(cur.children))
		for k := range cur.children {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		p = append(p, keys[0])
		cur = cur.children[keys[0]]
	}
	return strings.Join(p, ".")
}

// envSet is a variable resolved to the key path it sets.
type envSet struct {
	v    envVar
	path []pathSeg
}

// envList is a list being built from variables (item index → value); it
// becomes an []any once every variable is in.
type envList map[int]any

// build puts the values of sets, in order, into the layer. Of two
// variables that set the same key (or a key and one inside it), the one of
// the higher rank wins (STREAM_ over SPRING_CLOUD_STREAM_); the same rank
// is an error. Variables that name list items build a new list, which
// replaces the files' list whole, as in Spring Boot; its items must be
// numbered from 0 without gaps.
func (l *layer) build(sets []envSet) {
	kept := l.keep(sets)

	containers := map[string]string{} // path of a map or list → the variable that made it
	for _, s := range kept {
		origin := "env " + s.v.name
		if id, ok := secretItem(s.path); ok {
			l.fail(id, origin, "a secret is one value, a string: got a list item (not shown); give the value itself, in the variable without the index")
			continue
		}
		var cur any = l.tree
		inList := false
		for i, seg := range s.path {
			id := renderPath(s.path[:i+1])
			if i == len(s.path)-1 {
				putSeg(cur, seg, s.v.value)
				l.origins[id] = origin
				break
			}
			wantList := s.path[i+1].idx >= 0
			next := getSeg(cur, seg)
			switch next.(type) {
			case nil:
				if wantList {
					next = envList{}
				} else {
					next = map[string]any{}
				}
				putSeg(cur, seg, next)
				containers[id] = s.v.name
			case envList:
				if !wantList {
					l.fail(id, origin, "sets a key of %s, which env %s sets as a list", id, containers[id])
					cur = nil
				}
			case map[string]any:
				if wantList {
					l.fail(id, origin, "sets an item of %s as a list, but env %s sets a key of it", id, containers[id])
					cur = nil
				}
			}
			if cur == nil {
				break
			}
			if wantList {
				inList = true
			}
			if inList {
				if _, set := l.origins[id]; !set {
					l.origins[id] = origin
				}
			}
			cur = next
		}
	}
	l.tree, _ = l.finishLists(l.tree, nil).(map[string]any)
}

// secretItem returns the key of path's list that names one secret value
// (redact.IsSecretValueKey: STREAM_RABBIT_BINDER_PASSWORD_0 sets an item
// of stream.rabbit.binder.password), and whether there is one: the
// variable is refused there without its value, as a list given in a file
// is (layer.secretShape), instead of handing the binder a list. An
// application's own section is left to Decode, as in a file.
func secretItem(path []pathSeg) (string, bool) {
	if len(path) == 0 || !secretRoots[path[0].key] {
		return "", false
	}
	for i := 1; i < len(path); i++ {
		if path[i].idx >= 0 && path[i-1].idx < 0 {
			if id := renderPath(path[:i]); redact.IsSecretValueKey(id) {
				return id, true
			}
		}
	}
	return "", false
}

// keep returns the variables of sets that build puts in the layer, in
// the order they were kept: each in turn, unless a variable kept before
// it overlaps it (sets its key, a key inside it or one holding it) with
// a rank as high (then an error naming the first such, in that order);
// else those it overlaps, of a lower rank, give way to it. The kept
// variables are indexed by their paths in a tree (keptNode): each
// variable is compared with those it overlaps, not with every other
// (10,000 SPRING_CLOUD_STREAM_BINDINGS_* took 17.8 s to load).
func (l *layer) keep(sets []envSet) []envSet {
	var kept []envSet
	var nodes []*keptNode // kept[i]'s node; nil once it gave way
	root := &keptNode{entry: -1}
	for _, s := range sets {
		// The kept variables s overlaps: those on its path, then those
		// at or below it.
		var over []int
		n := root
		for _, seg := range s.path {
			if n.entry >= 0 {
				over = append(over, n.entry)
			}
			if n = n.children[seg]; n == nil {
				break
			}
		}
		if n != nil {
			over = n.alive(over)
		}
		clash := -1
		for _, i := range over {
			if kept[i].v.rank >= s.v.rank && (clash < 0 || i < clash) {
				clash = i
			}
		}
		if clash >= 0 {
			l.fail(renderPath(s.path), "env "+s.v.name, "sets the same key as env %s", kept[clash].v.name)
			continue
		}
		for _, i := range over {
			root.remove(kept[i].path)
			nodes[i] = nil
		}
		kept = append(kept, s)
		nodes = append(nodes, root.insert(s.path, len(kept)-1))
	}
	out := kept[:0:0]
	for i, s := range kept {
		if nodes[i] != nil {
			out = append(out, s)
		}
	}
	return out
}

// keptNode is a node of the tree of key paths that layer.keep indexes
// the kept variables by.
type keptNode struct {
	children map[pathSeg]*keptNode
	entry    int // the kept variable whose path ends here, or -1
	count    int // kept variables at or below this node
}

// alive appends to out the kept variables at or below n.
func (n *keptNode) alive(out []int) []int {
	if n.entry >= 0 {
		out = append(out, n.entry)
	}
	for _, c := range n.children {
		if c.count > 0 {
			out = c.alive(out)
		}
	}
	return out
}

// insert records kept variable i at path, below n, and returns its node.
func (n *keptNode) insert(path []pathSeg, i int) *keptNode {
	n.count++
	for _, seg := range path {
		c := n.children[seg]
		if c == nil {
			c = &keptNode{entry: -1}
			if n.children == nil {
				n.children = map[pathSeg]*keptNode{}
			}
			n.children[seg] = c
		}
		n = c
		n.count++
	}
	n.entry = i
	return n
}

// remove forgets the kept variable at path, below n.
func (n *keptNode) remove(path []pathSeg) {
	n.count--
	for _, seg := range path {
		n = n.children[seg]
		n.count--
	}
	n.entry = -1
}

func getSeg(c any, s pathSeg) any {
	switch c := c.(type) {
	case map[string]any:
		return c[s.key]
	case envList:
		return c[s.idx]
	}
	return nil
}

func putSeg(c any, s pathSeg, v any) {
	switch c := c.(type) {
	case map[string]any:
		c[s.key] = v
	case envList:
		c[s.idx] = v
	}
}

// itemVars names the variables that set the items idx of the list at
// path, in index order (at most 5, then how many more).
func (l *layer) itemVars(path []pathSeg, idx []int) string {
	const most = 5
	var names []string
	for _, i := range idx {
		if len(names) == most {
			names = append(names, fmt.Sprintf("%d more", len(idx)-most))
			break
		}
		o := originOf(l.origins, renderPath(withSeg(path, pathSeg{idx: i})))
		names = append(names, strings.TrimPrefix(o, "env "))
	}
	return strings.Join(names, ", ")
}

// listGapMark is in the message of a list that variables number with a
// gap (IsListGap).
const listGapMark = ", but no variable sets item "

// IsListGap reports whether e is the loader's problem with a list whose
// items variables number with a gap (STREAM_KAFKA_BINDER_BROKER_1 without
// _0). In a binder's settings the loader takes every token of digits for
// a list index, not knowing the binder's keys: a key the binder does not
// know (broker) is better reported as unknown by the binder, before any
// index (streambind lint does so).
func IsListGap(e *stream.ConfigError) bool {
	return e != nil && strings.HasPrefix(e.Msg, "sets item ") && strings.Contains(e.Msg, listGapMark)
}

// finishLists turns the envLists below v (at path) into lists, reporting
// gaps.
func (l *layer) finishLists(v any, path []pathSeg) any {
	switch v := v.(type) {
	case map[string]any:
		// In key order: the problems of lists with gaps are reported in
		// the same order on every load.
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			v[k] = l.finishLists(v[k], withSeg(path, keySeg(k)))
		}
		return v
	case envList:
		idx := make([]int, 0, len(v))
		for i := range v {
			idx = append(idx, i)
		}
		sort.Ints(idx)
		items := make([]any, 0, len(idx))
		for n, i := range idx {
			if i != n {
				id := renderPath(path)
				item := renderPath(withSeg(path, pathSeg{idx: i}))
				l.fail(id, originOf(l.origins, item), "sets item %d"+listGapMark+"%d (the list's items are set by %s): variables replace the whole list, and as Spring Boot refuses indexes that are not contiguous, number its items from 0 without gaps", i, n, l.itemVars(path, idx))
				break
			}
			items = append(items, l.finishLists(v[i], withSeg(path, pathSeg{idx: i})))
		}
		return items
	default:
		return v
	}
}
