package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// maxNodes bounds the size of one file's tree after alias expansion, so
// that a few lines of nested aliases ("billion laughs") cannot exhaust
// memory.
const maxNodes = 100_000

// maxScalarBytes bounds the text of one file's scalars after alias
// expansion: a long string repeated by aliases must not exhaust memory
// either.
const maxScalarBytes = 16 << 20

// ynode is a YAML node with aliases and merge keys (<<) resolved.
type ynode struct {
	kind    yaml.Kind // MappingNode, SequenceNode or ScalarNode
	line    int
	entries []yentry // MappingNode, in file order
	items   []*ynode // SequenceNode
	value   any      // ScalarNode: nil, bool, int, uint64, float64 or string
}

// yentry is one key of a mapping.
type yentry struct {
	key    string
	line   int
	merged bool // from a merge key (<<): explicit keys win over it
	// literal: the key is one step whatever it holds (a .properties key's
	// [a.b]), never split at its dots.
	literal bool
	val     *ynode
	// indexed: the list val was assembled from keys with list indices
	// (required-groups[0]), those keys relative to this mapping
	// (indexedKeys); a map of plain values keeps them as its keys.
	indexed *[]yentry
}

// parseYAML parses the documents of a YAML file (separated by ---), in
// order. name is used in messages. An empty document yields a nil node.
// Errors carry the line where known.
func parseYAML(name string, data []byte) ([]*ynode, error) {
	data = bytes.TrimPrefix(data, utf8BOM)
	if !utf8.Valid(data) {
		return nil, notUTF8(name, data)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	x := &expander{name: name, active: map[*yaml.Node]bool{}}
	var docs []*ynode
	for {
		var doc yaml.Node
		if err := dec.Decode(&doc); err != nil {
			if errors.Is(err, io.EOF) {
				return docs, nil
			}
			return nil, yamlError(name, err)
		}
		n := &doc
		if n.Kind == yaml.DocumentNode {
			if len(n.Content) == 0 {
				docs = append(docs, nil)
				continue
			}
			n = n.Content[0]
		}
		// The node and text bounds count for the whole file.
		root, err := x.expand(n)
		if err != nil {
			return nil, err
		}
		if root == nil || (root.kind == yaml.ScalarNode && root.value == nil) {
			docs = append(docs, nil)
			continue
		}
		if root.kind != yaml.MappingNode {
			return nil, &fileError{name: name, line: root.line, msg: "the top level must be a mapping of keys (stream: ...)"}
		}
		if err := indexedKeys(name, root); err != nil {
			return nil, err
		}
		docs = append(docs, root)
	}
}

// notUTF8 reports the first byte of data that is not UTF-8, with its
// line and offset: YAML files are UTF-8.
func notUTF8(name string, data []byte) *fileError {
	off := 0
	for off < len(data) {
		r, size := utf8.DecodeRune(data[off:])
		if r == utf8.RuneError && size <= 1 {
			break
		}
		off += size
	}
	line := 1 + bytes.Count(data[:off], []byte("\n"))
	return &fileError{name: name, line: line,
		msg: fmt.Sprintf("malformed YAML: byte 0x%02x at offset %d is not UTF-8 (a YAML file is UTF-8; save it so, or write the character as \\uXXXX in a double-quoted string)", data[off], off)}
}

// fileError is a problem with a whole file (unreadable, malformed).
type fileError struct {
	name string
	line int    // 0 if unknown
	key  string // the key the problem is about, if any
	msg  string
}

func (e *fileError) Error() string {
	msg := e.msg
	if e.key != "" {
		msg = e.key + ": " + msg
	}
	if e.line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.name, e.line, msg)
	}
	return e.name + ": " + msg
}

// yamlError turns a yaml.v3 error ("yaml: line 3: ...") into a fileError.
//
// yaml.v3 reports scanner errors with 1-based lines but parser errors
// (those of parserError) with the 0-based line of the construct being
// parsed, and no line at all when that is 0; both are corrected here, so a
// parser error points at the first line of the enclosing mapping or list.
func yamlError(name string, err error) *fileError {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 0
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if num, tail, ok := strings.Cut(rest, ": "); ok {
			if n, err := strconv.Atoi(num); err == nil {
				line, msg = n, tail
			}
		}
	}
	if parserError(msg) {
		line++
	}
	if strings.Contains(msg, "did not find expected alphabetic or numeric character") {
		// The scanner read an alias (*name) or anchor (&name): most often
		// an unquoted cron expression or glob.
		msg += ` (a value starting with * or & is an alias or anchor in YAML: quote it, as in cron: "*/2 * * * * *")`
	}
	return &fileError{name: name, line: line, msg: "malformed YAML: " + msg}
}

// parserError reports whether msg is one of yaml.v3's parser (not scanner)
// error messages.
func parserError(msg string) bool {
	switch msg {
	case "did not find expected <stream-start>",
		"did not find expected <document start>",
		"found undefined tag handle",
		"did not find expected node content",
		"did not find expected '-' indicator",
		"did not find expected key",
		"did not find expected ',' or ']'",
		"did not find expected ',' or '}'",
		"found duplicate %YAML directive",
		"found incompatible YAML document",
		"found duplicate %TAG directive":
		return true
	}
	return false
}

// expander turns yaml.Nodes into ynodes.
type expander struct {
	name   string
	nodes  int
	bytes  int                 // scalar text expanded so far
	active map[*yaml.Node]bool // alias targets being expanded (cycle check)
}

func (x *expander) expand(n *yaml.Node) (*ynode, error) {
	x.nodes++
	if x.nodes > maxNodes {
		return nil, &fileError{name: x.name, line: n.Line,
			msg: fmt.Sprintf("too many nodes after expanding aliases (more than %d)", maxNodes)}
	}
	switch n.Kind {
	case yaml.AliasNode:
		if n.Alias == nil {
			return &ynode{kind: yaml.ScalarNode, line: n.Line}, nil
		}
		if x.active[n.Alias] {
			return nil, &fileError{name: x.name, line: n.Line, msg: fmt.Sprintf("alias *%s refers to itself", n.Value)}
		}
		x.active[n.Alias] = true
		defer delete(x.active, n.Alias)
		y, err := x.expand(n.Alias)
		if err != nil {
			return nil, err
		}
		c := *y // keep the line of the alias, not of the anchor
		c.line = n.Line
		return &c, nil
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return &ynode{kind: yaml.ScalarNode, line: n.Line}, nil
		}
		return x.expand(n.Content[0])
	case yaml.SequenceNode:
		y := &ynode{kind: yaml.SequenceNode, line: n.Line}
		for _, c := range n.Content {
			item, err := x.expand(c)
			if err != nil {
				return nil, err
			}
			y.items = append(y.items, item)
		}
		return y, nil
	case yaml.MappingNode:
		return x.mapping(n)
	default:
		x.bytes += len(n.Value)
		if x.bytes > maxScalarBytes {
			return nil, &fileError{name: x.name, line: n.Line,
				msg: fmt.Sprintf("too much text after expanding aliases (more than %d MiB)", maxScalarBytes>>20)}
		}
		return &ynode{kind: yaml.ScalarNode, line: n.Line, value: scalarValue(n)}, nil
	}
}

// mapping expands a mapping node, applying merge keys: the entries of the
// merged mappings come after the explicit ones, marked as merged.
func (x *expander) mapping(n *yaml.Node) (*ynode, error) {
	y := &ynode{kind: yaml.MappingNode, line: n.Line}
	var merges []*ynode
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.AliasNode && k.Alias != nil {
			k = k.Alias // anchors are never on alias nodes: one step
		}
		if k.Kind != yaml.ScalarNode {
			return nil, &fileError{name: x.name, line: k.Line, msg: "a key must be a plain value, not a list or a map"}
		}
		val, err := x.expand(v)
		if err != nil {
			return nil, err
		}
		if k.ShortTag() == "!!merge" {
			switch val.kind {
			case yaml.MappingNode:
				merges = append(merges, val)
			case yaml.SequenceNode:
				for _, it := range val.items {
					if it.kind != yaml.MappingNode {
						return nil, &fileError{name: x.name, line: it.line, msg: "a merge key (<<) takes a map or a list of maps"}
					}
					merges = append(merges, it)
				}
			default:
				return nil, &fileError{name: x.name, line: k.Line, msg: "a merge key (<<) takes a map or a list of maps"}
			}
			continue
		}
		y.entries = append(y.entries, yentry{key: k.Value, line: k.Line, val: val})
	}
	for _, m := range merges {
		for _, e := range m.entries {
			e.merged = true
			y.entries = append(y.entries, e)
		}
	}
	return y, nil
}

// scalarValue decodes a scalar node: null, bool, int and float by their
// resolved YAML tag; anything else (strings, timestamps, custom tags) as
// its text.
func scalarValue(n *yaml.Node) any {
	switch n.ShortTag() {
	case "!!null":
		return nil
	case "!!int":
		// yaml.v3 reads 010 as octal 8; the environment and placeholders
		// give the same digits as 10. Leading zeros are decimal here, as
		// everywhere else in the configuration (0o10 and 0x8 stay as
		// written).
		if t := strings.TrimLeft(n.Value, "+-"); len(t) > 1 && t[0] == '0' && strings.Trim(t, "0123456789") == "" {
			if d, err := strconv.ParseInt(n.Value, 10, 64); err == nil {
				return int(d)
			}
		}
		var v any
		if err := n.Decode(&v); err != nil {
			return n.Value
		}
		return v
	case "!!bool", "!!float":
		var v any
		if err := n.Decode(&v); err != nil {
			return n.Value
		}
		return v
	default:
		return n.Value
	}
}
