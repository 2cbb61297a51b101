package config

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Spring Boot flattens a YAML document to property names before binding
// (YamlProcessor.buildFlattenedMap: a map's key is appended to its path
// with a dot, a list's items as path[0], path[1], ...), so a YAML key may
// hold a list index as a .properties key does:
//
//	producer:
//	  required-groups[0]: a
//	  requiredGroups[1]: b
//
// is the list [a, b] (the names of one list's items are compared in their
// uniform form, as for .properties: 9462c7a), and so is
// spring.cloud.stream.bindings.x-out-0.producer.required-groups[0]: a as
// a flat dotted key, or bindings[0].name: x for a map inside an item.
// The indexed keys of a list and a YAML list of the same key, wherever
// the document gives them, are one source (one document is one property
// source in Boot) and join: required-groups: [a] and
// required-groups[1]: b are [a, b].
// A list is never merged across documents or files: the later replaces
// it whole, as in Boot. indexedKeys rewrites such keys into YAML lists,
// each item keeping its line; a gap ([1] given without [0]) or an item
// given twice is an error at the item's line.

// indexedKeys rewrites the indexed keys of y and of every mapping below
// it into lists. name is the file's, for errors. The items of one list
// may be given in several mappings of the document (a flat dotted key at
// the top, nested keys below), as its flattened names are one source in
// Boot; inside a YAML list's items, only within one mapping.
func indexedKeys(name string, y *ynode) error {
	doc := newIxDoc()
	if err := walkIndexed(name, y, "", "", doc); err != nil {
		return err
	}
	return doc.finish(name)
}

// ixDoc collects the lists of a document (or of one mapping inside a
// YAML list) by their key paths' uniform form.
type ixDoc struct {
	lists map[string]*ixList
	order []*ixList
	plain map[string][]plainList // YAML lists, by the same paths
}

// plainList is a key given a YAML list, in mapping owner.
type plainList struct {
	owner *ynode
	entry yentry
}

func newIxDoc() *ixDoc {
	return &ixDoc{lists: map[string]*ixList{}, plain: map[string][]plainList{}}
}

// walkIndexed rewrites the mappings below y, then y's own keys; path is
// y's key path as written, for messages, abs its uniform form; doc is nil
// inside a YAML list's items.
func walkIndexed(name string, y *ynode, path, abs string, doc *ixDoc) error {
	if y == nil {
		return nil
	}
	switch y.kind {
	case yaml.SequenceNode:
		for i, it := range y.items {
			if err := walkIndexed(name, it, path+"["+strconv.Itoa(i)+"]", "", nil); err != nil {
				return err
			}
		}
	case yaml.MappingNode:
		for _, e := range y.entries {
			if err := walkIndexed(name, e.val, joinKey(path, e.key), absKey(abs, e.key), doc); err != nil {
				return err
			}
		}
		return rewriteIndexed(name, y, path, abs, doc)
	}
	return nil
}

// absKey appends key to the uniform key path abs: split at its dots
// (but in brackets), each step in its uniform form (squash), as Spring
// Boot compares the elements of property names.
func absKey(abs, key string) string {
	var b strings.Builder
	b.WriteString(abs)
	seg := strings.Builder{}
	flush := func() {
		b.WriteByte(0)
		b.WriteString(squash(seg.String()))
		seg.Reset()
	}
	for i := 0; i < len(key); i++ {
		switch key[i] {
		case '.':
			flush()
		case '[':
			if j := strings.IndexByte(key[i:], ']'); j > 0 {
				if seg.Len() > 0 {
					flush()
				}
				b.WriteByte(0)
				b.WriteString("[" + strings.ToLower(key[i+1:i+j]) + "]")
				i += j
				if i+1 < len(key) && key[i+1] == '.' {
					i++
				}
				continue
			}
			seg.WriteByte(key[i])
		default:
			seg.WriteByte(key[i])
		}
	}
	if seg.Len() > 0 {
		flush()
	}
	return b.String()
}

func joinKey(path, key string) string {
	if path == "" || strings.HasPrefix(key, "[") {
		return path + key
	}
	return path + "." + key
}

// splitIndex finds the first list index in key: key[:i] is the key of the
// list, n the index and rest what follows "]" ("", ".name" or "[1]").
// A bracket that holds no number is a name ("[a.b]") and is skipped. ok
// is false when the key has no index, or one that does not follow a key.
func splitIndex(key string) (list string, n int, rest string, ok bool, err error) {
	for i := 0; i < len(key); i++ {
		if key[i] != '[' {
			continue
		}
		j := strings.IndexByte(key[i:], ']')
		if j < 0 {
			return "", 0, "", false, nil
		}
		inner := key[i+1 : i+j]
		if inner == "" || strings.Trim(inner, "0123456789") != "" || i == 0 || key[i-1] == '.' {
			i += j
			continue
		}
		rest = key[i+j+1:]
		if rest != "" && rest[0] != '.' && rest[0] != '[' {
			// a[0]b: no index, a key as written (refused where unknown).
			return "", 0, "", false, nil
		}
		v, aerr := strconv.Atoi(inner)
		if aerr != nil || v > maxEnvIndex {
			return "", 0, "", false, fmt.Errorf("list index [%s] is too large (at most %d)", quoteIndex(inner), maxEnvIndex)
		}
		return key[:i], v, rest, true, nil
	}
	return "", 0, "", false, nil
}

// ixPiece is one key setting part of a list: item idx, and below it rest
// ("" for the item itself, ".k" for a key of the item, "[m]..." for an
// item of the item, a list).
type ixPiece struct {
	idx    int
	rest   string
	val    *ynode
	line   int // the key's line
	merged bool
	key    string // the key as written, for messages
	list   string // the list's key as written there
}

// ixList is a list being assembled from pieces.
type ixList struct {
	key    string // the list's key as first written
	path   string // its key path as written, for messages
	line   int
	abs    string
	node   *ynode // the list's node in the document, filled by finish
	pieces []ixPiece
	// keys: the pieces as keys of the list's mapping (key[n]...), filled
	// by finish.
	keys []yentry
}

// rewriteIndexed replaces the indexed keys of mapping y (at path, abs)
// by lists, adding them to doc (nil: y is inside a YAML list's item, and
// its lists are its own).
func rewriteIndexed(name string, y *ynode, path, abs string, doc *ixDoc) error {
	type split struct {
		list string
		n    int
		rest string
	}
	splits := map[int]split{}
	indexedAt := map[string]int{} // uniform form of a list's key -> first line setting items
	for i, e := range y.entries {
		if e.literal {
			continue
		}
		list, n, rest, ok, err := splitIndex(e.key)
		if err != nil {
			return &fileError{name: name, line: e.line, key: joinKey(path, e.key), msg: err.Error()}
		}
		if ok {
			splits[i] = split{list, n, rest}
			if _, seen := indexedAt[absKey("", list)]; !seen {
				indexedAt[absKey("", list)] = e.line
			}
		}
	}
	own := doc == nil
	if own {
		if len(splits) == 0 {
			return nil
		}
		doc = newIxDoc()
	}
	var out []yentry
	for i, e := range y.entries {
		s, indexed := splits[i]
		if !indexed {
			out = append(out, e)
			if e.literal || e.val == nil {
				continue
			}
			if e.val.kind == yaml.SequenceNode {
				a := absKey(abs, e.key)
				doc.plain[a] = append(doc.plain[a], plainList{owner: y, entry: e})
			} else if first, items := indexedAt[absKey("", e.key)]; items {
				return &fileError{name: name, line: e.line, key: joinKey(path, e.key),
					msg: fmt.Sprintf("set to a value, but line %d sets items of it ([n]): give a list one way, a YAML list or items [0], [1], ...", first)}
			}
			continue
		}
		a := absKey(abs, s.list)
		l := doc.lists[a]
		if l == nil {
			l = &ixList{key: s.list, path: joinKey(path, s.list), line: e.line, abs: a, node: &ynode{kind: yaml.SequenceNode, line: e.line}}
			doc.lists[a] = l
			doc.order = append(doc.order, l)
			out = append(out, yentry{key: s.list, line: e.line, merged: e.merged, val: l.node, indexed: &l.keys})
		}
		l.pieces = append(l.pieces, ixPiece{idx: s.n, rest: s.rest, val: e.val, line: e.line, merged: e.merged, key: e.key, list: s.list})
	}
	if len(splits) > 0 {
		y.entries = out
	}
	if own {
		return doc.finish(name)
	}
	return nil
}

// finish builds each list of doc into its node, joining the YAML lists
// given to the same key (their entries dropped).
func (doc *ixDoc) finish(name string) error {
	for _, l := range doc.order {
		for _, p := range doc.plain[l.abs] {
			for n, it := range p.entry.val.items {
				l.pieces = append(l.pieces, ixPiece{idx: n, val: it, line: it.line, merged: p.entry.merged, key: p.entry.key + "[" + strconv.Itoa(n) + "]", list: p.entry.key})
			}
			p.owner.entries = slices.DeleteFunc(p.owner.entries, func(e yentry) bool { return e.val == p.entry.val })
		}
		// In file order: the later of two values for one item is the one
		// reported.
		sort.SliceStable(l.pieces, func(i, j int) bool { return l.pieces[i].line < l.pieces[j].line })
		for _, p := range l.pieces {
			l.keys = append(l.keys, yentry{key: p.list + "[" + strconv.Itoa(p.idx) + "]" + p.rest, line: p.line, merged: p.merged, val: p.val})
		}
		seq, err := buildIndexed(name, l.path, l.line, l.pieces)
		if err != nil {
			return err
		}
		*l.node = *seq
	}
	return nil
}

// buildIndexed assembles the list at path from its pieces: item n is the
// piece's value, or a map of the keys given below it ([n].k), or a list
// of the items given below it ([n][m]).
func buildIndexed(name, path string, line int, pieces []ixPiece) (*ynode, error) {
	type item struct {
		val    *ynode
		vline  int
		merged bool
		keys   []yentry
		sub    []ixPiece
		line   int
	}
	items := map[int]*item{}
	for _, p := range pieces {
		it := items[p.idx]
		if it == nil {
			it = &item{line: p.line}
			items[p.idx] = it
		}
		at := path + "[" + strconv.Itoa(p.idx) + "]"
		switch {
		case p.rest == "":
			if it.val != nil {
				if p.merged {
					continue // an explicit key wins over a merge key's (<<)
				}
				if !it.merged {
					return nil, &fileError{name: name, line: p.line, key: at,
						msg: fmt.Sprintf("given twice (%s here, and at line %d): give each item once", p.key, it.vline)}
				}
			}
			it.val, it.vline, it.merged = p.val, p.line, p.merged
		case p.rest[0] == '.':
			it.keys = append(it.keys, yentry{key: p.rest[1:], line: p.line, merged: p.merged, val: p.val})
		default: // '[': an item of the item, or a bracketed key of it
			x, n, rest, ok, err := splitIndex("x" + p.rest)
			if err != nil {
				return nil, &fileError{name: name, line: p.line, key: p.key, msg: err.Error()}
			}
			if !ok || x != "x" {
				it.keys = append(it.keys, yentry{key: p.rest, line: p.line, merged: p.merged, val: p.val})
				continue
			}
			it.sub = append(it.sub, ixPiece{idx: n, rest: rest, val: p.val, line: p.line, merged: p.merged, key: p.key})
		}
	}
	idx := make([]int, 0, len(items))
	for i := range items {
		idx = append(idx, i)
	}
	sort.Ints(idx)
	seq := &ynode{kind: yaml.SequenceNode, line: line}
	for want, i := range idx {
		it := items[i]
		at := path + "[" + strconv.Itoa(i) + "]"
		if i != want {
			return nil, &fileError{name: name, line: it.line,
				msg: fmt.Sprintf("%s is set but %s[%d] is not: number the items of a list from 0 without gaps", at, path, want)}
		}
		var node *ynode
		switch {
		case it.sub != nil:
			if it.val != nil || it.keys != nil {
				return nil, &fileError{name: name, line: it.sub[0].line, key: at,
					msg: "set as a list here, and to a value or keys elsewhere: give the item one way"}
			}
			s, err := buildIndexed(name, at, it.sub[0].line, it.sub)
			if err != nil {
				return nil, err
			}
			node = s
		case it.keys != nil:
			m := &ynode{kind: yaml.MappingNode, line: it.keys[0].line}
			if it.val != nil {
				if it.val.kind != yaml.MappingNode {
					return nil, &fileError{name: name, line: it.keys[0].line, key: at,
						msg: fmt.Sprintf("sets keys of an item that line %d sets to a value: give the item one way", it.vline)}
				}
				m.line = it.val.line
				m.entries = append(m.entries, it.val.entries...)
			}
			m.entries = append(m.entries, it.keys...)
			if err := rewriteIndexed(name, m, at, "", nil); err != nil {
				return nil, err
			}
			node = m
		default:
			node = it.val
		}
		seq.items = append(seq.items, node)
	}
	return seq, nil
}

// indexedAsKeys gives back, in a mapping whose keys are map keys of
// plain values (a binder's configuration, a function's header mappings:
// Map<String, String> in Spring), the keys with list indices a YAML file
// wrote there as they were written: Boot's MapBinder takes a[0] as the
// key of such a map, not as an item of a list a.
func indexedAsKeys(entries []yentry) []yentry {
	var out []yentry
	for i, e := range entries {
		if e.indexed == nil {
			if out != nil {
				out = append(out, e)
			}
			continue
		}
		if out == nil {
			out = append(make([]yentry, 0, len(entries)), entries[:i]...)
		}
		out = append(out, *e.indexed...)
	}
	if out == nil {
		return entries
	}
	return out
}
