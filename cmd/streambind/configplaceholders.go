package main

import (
	"bytes"
	"os"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// placeholderIndex tells which values of a service's YAML files were
// written with a placeholder (${VAR:default}): such a value is a string
// once resolved, which the app reads typed ("true" as true, "3" as 3), as
// it reads a .properties file's. The loaded configuration does not keep
// the text as written, so the files are read again, each once, when asked.
type placeholderIndex struct {
	s *service
	// files maps a file's name as origins give it to its keys written
	// with a placeholder; nil for a file that could not be read.
	files map[string]map[int][]yamlKey
}

// yamlKey is a key of a YAML mapping whose value is a scalar.
type yamlKey struct {
	// path is the key's full path in its document, its segments joined
	// by '.' as written ("stream.binders.east.environment.virtual-host";
	// an item of a sequence is a segment "[i]").
	path        string
	placeholder bool // the value, as written, holds "${"
}

func newPlaceholderIndex(s *service) *placeholderIndex {
	return &placeholderIndex{s: s, files: map[string]map[int][]yamlKey{}}
}

// filled reports whether the value of key path key, set at origin
// ("application.yaml:12", "application.yaml:3 (spring.kafka.x)"), was
// written with a placeholder in a YAML file.
func (x *placeholderIndex) filled(key, origin string) bool {
	m := fileLine.FindStringSubmatch(origin)
	if m == nil {
		return false
	}
	name := m[1]
	line, _ := strconv.Atoi(m[2])
	lower := strings.ToLower(name)
	if !strings.HasSuffix(lower, ".yaml") && !strings.HasSuffix(lower, ".yml") {
		return false
	}
	keys := x.keysOf(name)[line]
	// Several keys on one line (a flow mapping): the one whose full path
	// ends as the key path does (or the Spring Boot key the value was
	// taken from), compared segment by segment as the loader compares
	// keys; spring.cloud.stream.x in the file is stream.x.
	for _, k := range keys {
		if keyEnds(key, k.path) || (m[3] != "" && keyEnds(m[3], k.path)) {
			return k.placeholder
		}
	}
	// The key spelt otherwise (spring.cloud.stream.x: ... is stream.x):
	// the one key of the line.
	return len(keys) == 1 && keys[0].placeholder
}

// keyEnds reports whether the key path ends with the segments of key,
// compared as relaxed binding compares them (case, '-' and '_' aside),
// or key with those of path when path is the shorter.
func keyEnds(path, key string) bool {
	ps, ks := strings.Split(path, "."), strings.Split(key, ".")
	for i := 1; i <= len(ps) && i <= len(ks); i++ {
		if relaxedSegment(ps[len(ps)-i]) != relaxedSegment(ks[len(ks)-i]) {
			return false
		}
	}
	return true
}

func relaxedSegment(s string) string {
	return strings.ToLower(strings.NewReplacer("-", "", "_", "").Replace(s))
}

// keysOf returns the keys of file name (as origins name it) with a scalar
// value, by line.
func (x *placeholderIndex) keysOf(name string) map[int][]yamlKey {
	if keys, ok := x.files[name]; ok {
		return keys
	}
	x.files[name] = nil
	path := ""
	for _, f := range x.s.loaded.Files {
		if x.s.loadedName(f) == name {
			path = f
		}
	}
	if path == "" {
		return nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	keys := map[int][]yamlKey{}
	dec := yaml.NewDecoder(bytes.NewReader(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))))
	for {
		var doc yaml.Node
		if err := dec.Decode(&doc); err != nil {
			break // the end, or an error the loader reported: what was read stands
		}
		indexKeys(&doc, nil, keys)
	}
	x.files[name] = keys
	return keys
}

// indexKeys adds the keys of the mappings under n (at key path path in its
// document) whose value is a scalar (or an alias of one) to keys, by the
// line of the key, with their full paths. Aliases are not followed
// further: every node of the file is visited once.
func indexKeys(n *yaml.Node, path []string, keys map[int][]yamlKey) {
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			indexKeys(c, path, keys)
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			indexKeys(c, append(path[:len(path):len(path)], "["+strconv.Itoa(i)+"]"), keys)
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Kind == yaml.AliasNode && k.Alias != nil {
				k = k.Alias
			}
			if k.Kind != yaml.ScalarNode {
				continue
			}
			p := append(path[:len(path):len(path)], k.Value)
			if k.Tag == "!!merge" {
				p = path // <<: {a: 1} sets a here
			}
			val := v
			if val.Kind == yaml.AliasNode && val.Alias != nil {
				val = val.Alias
			}
			if val.Kind == yaml.ScalarNode {
				keys[k.Line] = append(keys[k.Line], yamlKey{path: strings.Join(p, "."), placeholder: strings.Contains(val.Value, "${")})
				continue
			}
			indexKeys(v, p, keys)
		}
	}
}
