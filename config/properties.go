package config

import (
	"bytes"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/magiconair/properties"
	"go.yaml.in/yaml/v3"
)

// This file reads Spring Boot's .properties files (application.properties,
// application-<profile>.properties) into the same trees as YAML, so that
// the rest of the loader does not tell the formats apart:
//
//   - The syntax is java.util.Properties' (key=value, key: value, key value;
//     # and ! comments; '\' line continuations and escapes), parsed by
//     github.com/magiconair/properties one logical line at a time so that
//     every key keeps its line.
//   - A key is a dotted path (spring.cloud.stream.bindings.x-in-0.group);
//     "[n]" after a key is a list index (required-groups[0]=a), and
//     "[a.b]" a map key that holds dots (environment.[bootstrap.servers]);
//     name[]=a,b,c stands for name[0]=a, name[1]=b, name[2]=c.
//   - Values are strings; the schema converts them (max-attempts=3).
//   - "#---" (or "!---") alone on a line separates documents, as in Spring
//     Boot 2.4+.
//   - A key may go below one another line sets to a value
//     (logging.level.org.springframework and ...springframework.kafka):
//     it is kept as a dotted key (propsBuilder.flat).
//   - A key set twice keeps its last value, as in Spring Boot
//     (OriginTrackedPropertiesLoader puts every key in a LinkedHashMap);
//     in YAML it is an error, as Boot's SnakeYAML refuses it. One list
//     item in two spellings of its key (required-groups[0] and
//     requiredGroups[0]) is a duplicate key, as a plain key is.
//   - The file is UTF-8, else ISO-8859-1 (Spring Boot's encoding for
//     .properties); a byte order mark is dropped.

// propsDocSep matches a document separator line.
var propsDocSep = regexp.MustCompile(`^[#!]---\s*$`)

// parseProperties parses a .properties file into one tree per document.
func parseProperties(name string, data []byte) ([]*ynode, error) {
	data = bytes.TrimPrefix(data, utf8BOM)
	if !utf8.Valid(data) {
		// Spring Boot reads .properties files as ISO-8859-1
		// (OriginTrackedPropertiesLoader); a file that is not UTF-8 is
		// read so too, every byte one character.
		data = latin1ToUTF8(data)
	}
	lines := strings.Split(strings.ReplaceAll(string(data), "\r\n", "\n"), "\n")
	var docs []*ynode
	b := newPropsBuilder(name)
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		trimmed := strings.TrimLeft(line, " \t\f")
		if propsDocSep.MatchString(trimmed) {
			doc, err := b.finish()
			if err != nil {
				return nil, err
			}
			docs = append(docs, doc)
			b = newPropsBuilder(name)
			continue
		}
		if trimmed == "" || trimmed[0] == '#' || trimmed[0] == '!' {
			continue
		}
		// A logical line: continued while a line ends in an odd number of
		// backslashes.
		start := i
		var logical strings.Builder // linear in the lines continued
		logical.WriteString(line)
		for continued(lines[i]) && i+1 < len(lines) {
			i++
			logical.WriteByte('\n')
			logical.WriteString(lines[i])
		}
		text := logical.String()
		listKey := listShortcut(text)
		if listKey {
			text = markEscapedCommas(text)
		}
		p, err := (&properties.Loader{Encoding: properties.UTF8, DisableExpansion: true}).LoadBytes([]byte(text))
		if err != nil {
			msg := err.Error()
			if j := strings.Index(msg, ": Line "); j >= 0 {
				if k := strings.Index(msg[j+7:], ": "); k >= 0 {
					msg = msg[j+7+k+2:]
				}
			}
			return nil, &fileError{name: name, line: start + 1, msg: "malformed .properties line: " + msg}
		}
		for _, k := range p.Keys() {
			v, _ := p.Get(k)
			if listKey && strings.HasSuffix(k, "[]") {
				// name[]=a,b,c is name[0]=a, name[1]=b, name[2]=c, as in
				// Spring Boot (OriginTrackedPropertiesLoader expands it;
				// "\," is a comma in an item, blanks before an item are
				// dropped).
				k = strings.ReplaceAll(k[:len(k)-2], escapedComma, ",")
				for n, item := range strings.Split(v, ",") {
					item = strings.ReplaceAll(strings.TrimLeft(item, " \t\f"), escapedComma, ",")
					if err := b.add(k+"["+strconv.Itoa(n)+"]", item, start+1); err != nil {
						return nil, err
					}
				}
				continue
			}
			if err := b.add(k, v, start+1); err != nil {
				return nil, err
			}
		}
	}
	doc, err := b.finish()
	if err != nil {
		return nil, err
	}
	return append(docs, doc), nil
}

// escapedComma stands for "\," in a name[]= line while it is parsed: a
// character of Unicode's private use area, not a list delimiter.
const escapedComma = "\ue000"

// listShortcut reports whether a logical line's key ends in "[]" (Spring
// Boot's name[]=a,b,c): its key, up to the first unescaped '=', ':' or
// blank, so judged without unescaping it.
func listShortcut(line string) bool {
	line = strings.TrimLeft(line, " \t\f")
	for i := 0; i < len(line); i++ {
		switch line[i] {
		case '\\':
			i++
		case '=', ':', ' ', '\t', '\f':
			return strings.HasSuffix(line[:i], "[]")
		}
	}
	return strings.HasSuffix(line, "[]")
}

// markEscapedCommas replaces each "\," of a line by escapedComma; other
// escapes are kept for the properties parser.
func markEscapedCommas(line string) string {
	var b strings.Builder
	for i := 0; i < len(line); i++ {
		if line[i] == '\\' && i+1 < len(line) {
			if line[i+1] == ',' {
				b.WriteString(escapedComma)
			} else {
				b.WriteString(line[i : i+2])
			}
			i++
			continue
		}
		b.WriteByte(line[i])
	}
	return b.String()
}

// utf8BOM is the byte order mark some editors start a UTF-8 file with:
// dropped, not taken for part of the first key.
var utf8BOM = []byte("\xef\xbb\xbf")

// latin1ToUTF8 decodes ISO-8859-1 text: each byte is the code point of
// its value.
func latin1ToUTF8(b []byte) []byte {
	out := make([]byte, 0, len(b)+len(b)/8)
	for _, c := range b {
		out = utf8.AppendRune(out, rune(c))
	}
	return out
}

// continued reports whether line ends in an odd number of backslashes.
func continued(line string) bool {
	n := 0
	for i := len(line) - 1; i >= 0 && line[i] == '\\'; i-- {
		n++
	}
	return n%2 == 1
}

// pnode is a key of a properties document being built.
type pnode struct {
	line     int
	leaf     bool
	value    string
	keys     map[string]*pnode // a map
	order    []string
	items    map[int]*pnode // a list
	listLine int
	// flat: a dotted key standing for the rest of a key whose leading
	// part another line sets to a value (see propsBuilder.flat).
	flat bool
	// spell: for a list's item set to a value, the spelling of the
	// list's key that set it (required-groups of required-groups[0]).
	spell string
}

type propsBuilder struct {
	name string
	root *pnode
}

func newPropsBuilder(name string) *propsBuilder {
	return &propsBuilder{name: name, root: &pnode{keys: map[string]*pnode{}}}
}

// propSeg is one step of a properties key: a map key or a list index.
type propSeg struct {
	key string
	idx int // -1: a key
}

// splitPropKey splits a key into its steps: a.b[0].c, a.[b.c], a[b.c].
func splitPropKey(k string) ([]propSeg, error) {
	var segs []propSeg
	cur := strings.Builder{}
	expectKey := true // a key must follow (start, or after '.')
	flush := func() error {
		if cur.Len() == 0 {
			if expectKey {
				return fmt.Errorf("empty key segment")
			}
			return nil
		}
		segs = append(segs, propSeg{key: cur.String(), idx: -1})
		cur.Reset()
		expectKey = false
		return nil
	}
	for i := 0; i < len(k); i++ {
		switch c := k[i]; c {
		case '.':
			if err := flush(); err != nil {
				return nil, err
			}
			expectKey = true
		case '[':
			j := strings.IndexByte(k[i:], ']')
			if j < 0 {
				return nil, fmt.Errorf("'[' without ']'")
			}
			inner := k[i+1 : i+j]
			if cur.Len() > 0 {
				if err := flush(); err != nil {
					return nil, err
				}
			}
			if digits := strings.TrimPrefix(inner, "-"); digits != "" && strings.Trim(digits, "0123456789") == "" {
				// A number in brackets is a list index, whatever its size.
				n, err := strconv.Atoi(inner)
				switch {
				case len(segs) == 0:
					return nil, fmt.Errorf("a list index must follow a key")
				case n < 0 || strings.HasPrefix(inner, "-"):
					return nil, fmt.Errorf("list index [%s]: an index is 0 or more", inner)
				case err != nil || n > maxEnvIndex:
					return nil, fmt.Errorf("list index [%s] is too large (at most %d)", quoteIndex(inner), maxEnvIndex)
				}
				segs = append(segs, propSeg{idx: n})
			} else if n, err := strconv.Atoi(inner); err == nil && n >= 0 && inner == strconv.Itoa(n) {
				if len(segs) == 0 {
					return nil, fmt.Errorf("a list index must follow a key")
				}
				if n > maxEnvIndex {
					return nil, fmt.Errorf("list index %d is too large (at most %d)", n, maxEnvIndex)
				}
				segs = append(segs, propSeg{idx: n})
			} else {
				if inner == "" {
					return nil, fmt.Errorf("empty [] in key")
				}
				segs = append(segs, propSeg{key: inner, idx: -1})
			}
			expectKey = false
			i += j
			if i+1 < len(k) && k[i+1] != '.' && k[i+1] != '[' {
				return nil, fmt.Errorf("']' must be followed by '.', '[' or the end of the key")
			}
		default:
			cur.WriteByte(c)
		}
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return segs, nil
}

// quoteIndex cuts a long index for a message.
func quoteIndex(s string) string {
	if len(s) > 24 {
		return s[:24] + "..."
	}
	return s
}

// add sets key k to v, set at line.
func (b *propsBuilder) add(k, v string, line int) error {
	fail := func(format string, args ...any) error {
		key := k
		if len(key) > 256 {
			key = quoteShort(k)
		}
		return &fileError{name: b.name, line: line, key: key, msg: fmt.Sprintf(format, args...)}
	}
	segs, err := splitPropKey(k)
	if err != nil {
		return fail("malformed key: %v", err)
	}
	cur := b.root
	nodes := []*pnode{cur} // nodes[i]: the node at segs[:i]
	listSpell := ""        // the spelling of the key of the list an index is of
	for i, s := range segs {
		last := i == len(segs)-1
		if cur.leaf {
			if b.flat(nodes, segs, i-1, v, line) {
				return nil
			}
			if s.idx >= 0 {
				return fail("sets an item of %s, which line %d sets to a value: give a list one way, a comma-separated value or items %s[0], %s[1], ...",
					renderPropSegs(segs[:i]), cur.line, renderPropSegs(segs[:i]), renderPropSegs(segs[:i]))
			}
			return fail("sets a key inside %s, which line %d sets to a value", renderPropSegs(segs[:i]), cur.line)
		}
		var next *pnode
		if s.idx >= 0 {
			if len(cur.keys) > 0 {
				return fail("sets %s as a list, but line %d sets keys of it", renderPropSegs(segs[:i]), cur.line)
			}
			if cur.items == nil {
				cur.items = map[int]*pnode{}
				cur.listLine = line
			}
			next = cur.items[s.idx]
			if next == nil {
				next = &pnode{line: line}
				cur.items[s.idx] = next
			}
		} else {
			if len(cur.items) > 0 {
				return fail("sets keys of %s, but line %d sets it as a list", renderPropSegs(segs[:i]), cur.listLine)
			}
			if cur.keys == nil {
				cur.keys = map[string]*pnode{}
			}
			next = cur.keys[s.key]
			if next == nil && i+1 < len(segs) && segs[i+1].idx >= 0 {
				next = cur.relaxedList(s.key)
			}
			if next == nil {
				next = &pnode{line: line}
				cur.keys[s.key] = next
				cur.order = append(cur.order, s.key)
			}
		}
		if s.idx < 0 {
			listSpell = s.key
		}
		if last {
			switch {
			case next.leaf && s.idx >= 0 && i > 0 && segs[i-1].idx < 0 && next.spell != "" && next.spell != listSpell:
				// One item in two spellings of its list's key
				// (required-groups[0], requiredGroups[0]): an error, as
				// the same plain key in two spellings is, not the last
				// value silently.
				return fail("duplicate key: line %d sets %s too (one key, two spellings)", next.line, renderPropSegs(append(append([]propSeg(nil), segs[:i-1]...), propSeg{key: next.spell, idx: -1}, s)))
			case next.leaf:
				// The last value wins, as in Spring Boot.
			case len(next.items) > 0:
				return fail("set to a value, but line %d sets items of it ([n]): give a list one way, a comma-separated value or items [0], [1], ...", next.listLine)
			case len(next.keys) > 0:
				if b.flat(nodes, segs, i, v, line) {
					return nil
				}
				return fail("set to a value, but line %d sets keys of it", next.line)
			}
			next.leaf, next.value, next.line = true, v, line
			if s.idx >= 0 {
				next.spell = listSpell
			}
		}
		cur = next
		nodes = append(nodes, cur)
	}
	return nil
}

// relaxedList returns the list the node's key spelt key in another
// relaxed spelling holds (required-groups for requiredGroups or
// required_groups), or nil. Spring Boot binds a list's items by the
// uniform form of their names (lower case, without '-' and '_'), so
// required-groups[0]=a and requiredGroups[1]=b in one file are one list
// [a, b]; here the second spelling's items join the first's list.
func (n *pnode) relaxedList(key string) *pnode {
	want := squash(key)
	for _, k := range n.order {
		if c := n.keys[k]; c.items != nil && squash(k) == want {
			return c
		}
	}
	return nil
}

// flat sets a key that goes below a value another line sets
// (logging.level.org.springframework=info, then
// logging.level.org.springframework.kafka=debug), or a value where
// another line sets keys below, as a dotted key at a level above: the
// rest of the key from segs[j], for the deepest j <= c (and >= 1) where
// that dotted key is free or a value. In Spring Boot both are properties
// of their own and a map with values (logging.level, a binder's
// configuration) gets both keys, as a YAML file writing the dotted key
// gets them here. Where the schema splits the dotted key (a binding's
// keys), the conflict is reported when the file is read. flat reports
// false, setting nothing, when the key has list indices or names holding
// dots there, or no level has room.
func (b *propsBuilder) flat(nodes []*pnode, segs []propSeg, c int, v string, line int) bool {
	for j := c; j >= 1; j-- {
		parts := make([]string, 0, len(segs)-j)
		for _, s := range segs[j:] {
			if s.idx >= 0 || strings.Contains(s.key, ".") {
				return false
			}
			parts = append(parts, s.key)
		}
		parent := nodes[j]
		key := strings.Join(parts, ".")
		n := parent.keys[key]
		if n != nil && !n.leaf {
			continue
		}
		if n == nil {
			n = &pnode{flat: true}
			parent.keys[key] = n
			parent.order = append(parent.order, key)
		}
		n.leaf, n.value, n.line = true, v, line
		return true
	}
	return false
}

func renderPropSegs(segs []propSeg) string {
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

// finish returns the document's tree (nil when it has no keys).
func (b *propsBuilder) finish() (*ynode, error) {
	if len(b.root.order) == 0 {
		return nil, nil
	}
	return b.root.ynode(b.name, nil)
}

// ynode converts n, at key path path; a list with a gap is an error.
func (n *pnode) ynode(file string, path []propSeg) (*ynode, error) {
	switch {
	case n.leaf:
		return &ynode{kind: yaml.ScalarNode, line: n.line, value: n.value}, nil
	case n.items != nil:
		idx := make([]int, 0, len(n.items))
		for i := range n.items {
			idx = append(idx, i)
		}
		sort.Ints(idx)
		y := &ynode{kind: yaml.SequenceNode, line: n.listLine}
		for want, i := range idx {
			it := n.items[i]
			if i != want {
				return nil, &fileError{name: file, line: it.line, msg: fmt.Sprintf("%s is set but %s is not: number the items of a list from 0 without gaps",
					renderPropSegs(append(path, propSeg{idx: i})), renderPropSegs(append(path, propSeg{idx: want})))}
			}
			c, err := it.ynode(file, append(path, propSeg{idx: i}))
			if err != nil {
				return nil, err
			}
			y.items = append(y.items, c)
		}
		return y, nil
	default:
		y := &ynode{kind: yaml.MappingNode, line: n.line}
		for _, k := range n.order {
			c, err := n.keys[k].ynode(file, append(path, propSeg{key: k, idx: -1}))
			if err != nil {
				return nil, err
			}
			y.entries = append(y.entries, yentry{key: k, line: n.keys[k].line, val: c, literal: !n.keys[k].flat})
		}
		return y, nil
	}
}
