package config

import (
	"reflect"
	"sort"
	"strings"
	"time"
	"unicode"

	"github.com/streambind/streambind/internal/didyoumean"
	"github.com/streambind/streambind/stream"
)

// kind says how the keys of one level of the tree are interpreted.
type kind int

const (
	// kindStruct: fixed property keys (a struct of package stream, or a
	// pseudo-struct such as the root or spring.cloud).
	kindStruct kind = iota
	// kindNames: keys are names (bindings, binders); each value has the
	// schema elem.
	kindNames
	// kindFree: a free-form map (map[string]any) decoded later by a binder.
	kindFree
	// kindLeaf: a scalar, or a []string.
	kindLeaf
	// kindOther: outside the schema (other roots, unknown keys): kept as
	// given, not validated here.
	kindOther
)

// schema describes one level of the configuration tree. It is built from
// the mapstructure tags of stream.Config by reflection.
type schema struct {
	kind kind
	typ  reflect.Type // Go type of the value (nil for pseudo-structs)
	// kindStruct
	fields []*field
	remain *field // where unknown keys go (Config.Extensions), or nil
	open   bool   // unknown keys are allowed and kept as kindOther
	lazy   bool   // only an alias path: no map is created for the key itself
	// kindFree: props says the keys of this level are property names (the
	// first level of a binder's map[string]any: environment, binder,
	// consumer, producer), which are spelled kebab-case; the keys of other
	// free maps (function.bindings, retryable-exceptions, and the maps
	// below a property, such as configuration or headers) are map keys,
	// kept exactly as written, as Spring Boot keeps them.
	props bool
	// kindFree: headers says the keys of this level are header names (a
	// function's header mappings): kept as written, and a variable's
	// '_' between them read as '.' (resolver.headerName).
	headers bool
	// kindNames
	elem *schema
}

// field is one property key of a kindStruct level.
type field struct {
	key     string   // canonical kebab-case key
	aliases []string // other accepted spellings (SCSt's enable-dlq)
	index   int      // index of the Go struct field; -1 for pseudo-fields
	s       *schema
	target  []string // when set, the absolute canonical path the key stands for
}

// spellings returns key and its aliases.
func (f *field) spellings() []string { return append([]string{f.key}, f.aliases...) }

var durationType = reflect.TypeOf(time.Duration(0))

// configSchema returns the schema of stream.Config.
func configSchema() *schema {
	s := schemaOf(reflect.TypeOf(stream.Config{}))
	// A function's header mappings (stream.FunctionSettings) map header
	// names, not property names: as Spring Boot binds the map, a name
	// keeps its spelling (myHeader, X-Tenant, [kafka_messageKey]), not
	// kebab-cased as the keys of a binder's property maps are.
	for _, f := range s.field("function").s.field("configuration").s.elem.fields {
		f.s.props, f.s.headers = false, true
	}
	return s
}

// schemaOf derives the schema of Go type t.
func schemaOf(t reflect.Type) *schema {
	switch {
	case t == durationType:
		return &schema{kind: kindLeaf, typ: t}
	case t.Kind() == reflect.Struct:
		s := &schema{kind: kindStruct, typ: t}
		for i := 0; i < t.NumField(); i++ {
			sf := t.Field(i)
			tag := sf.Tag.Get("mapstructure")
			name, opts, _ := strings.Cut(tag, ",")
			if name == "-" || !sf.IsExported() {
				continue
			}
			if strings.Contains(","+opts+",", ",remain,") {
				// map[string]X: unknown keys are names of X values.
				s.remain = &field{index: i, s: schemaOf(sf.Type.Elem())}
				continue
			}
			if name == "" {
				name = strings.ToLower(sf.Name)
			}
			s.fields = append(s.fields, &field{
				key:     name,
				aliases: fieldAliases(t, name),
				index:   i,
				s:       schemaOf(sf.Type),
			})
		}
		return s
	case t.Kind() == reflect.Map && t.Elem().Kind() == reflect.Struct:
		return &schema{kind: kindNames, typ: t, elem: schemaOf(t.Elem())}
	case t.Kind() == reflect.Map:
		return &schema{kind: kindFree, typ: t, props: t.Elem().Kind() == reflect.Interface}
	default:
		return &schema{kind: kindLeaf, typ: t}
	}
}

// fieldAliases returns the other spellings accepted for key of struct t.
func fieldAliases(t reflect.Type, key string) []string {
	if t == reflect.TypeOf(stream.ConsumerConfig{}) && key == "dlq" {
		// SCSt: enable-dlq (Kafka), auto-bind-dlq (RabbitMQ).
		return []string{"enable-dlq", "auto-bind-dlq"}
	}
	return nil
}

// rootSchema is the schema of a whole application.yaml: the canonical root
// stream, the SCSt aliases under spring, and any other root kept as given.
func rootSchema(cfg *schema) *schema {
	def := cfg.field("function").s.field("definition").s
	routing := cfg.field("function").s.field("routing-expression").s
	fnconf := cfg.field("function").s.field("configuration").s
	return &schema{kind: kindStruct, open: true, fields: []*field{
		{key: "stream", index: -1, s: cfg},
		{key: "spring", index: -1, s: &schema{kind: kindStruct, open: true, lazy: true, fields: []*field{
			{key: "cloud", index: -1, s: &schema{kind: kindStruct, open: true, lazy: true, fields: []*field{
				{key: "stream", index: -1, s: cfg, target: []string{"stream"}},
				{key: "function", index: -1, s: &schema{kind: kindStruct, open: true, lazy: true, fields: []*field{
					{key: "definition", index: -1, s: def, target: []string{"stream", "function", "definition"}},
					{key: "routing-expression", index: -1, s: routing, target: []string{"stream", "function", "routing-expression"}},
					{key: "configuration", index: -1, s: fnconf, target: []string{"stream", "function", "configuration"}},
				}}},
			}}},
		}}},
	}}
}

// field returns the field of s that key names: its canonical key or an
// alias, compared without '-' and '_' and ignoring case (so camelCase,
// kebab-case and snake_case all match). Nil if none.
func (s *schema) field(key string) *field {
	k := squash(key)
	for _, f := range s.fields {
		for _, sp := range f.spellings() {
			if squash(sp) == k {
				return f
			}
		}
	}
	return nil
}

// keys returns the canonical keys of s, sorted.
func (s *schema) keys() []string {
	ks := make([]string, 0, len(s.fields))
	for _, f := range s.fields {
		ks = append(ks, f.key)
	}
	sort.Strings(ks)
	return ks
}

// squash lower-cases key and drops '-' and '_'.
func squash(key string) string {
	if isSquashed(key) {
		return key
	}
	var b strings.Builder
	for _, r := range key {
		if r == '-' || r == '_' {
			continue
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}

func isSquashed(key string) bool {
	for i := 0; i < len(key); i++ {
		if c := key[i]; c == '-' || c == '_' || c >= 0x80 || ('A' <= c && c <= 'Z') {
			return false
		}
	}
	return true
}

// kebab turns a camelCase key into kebab-case and lower-cases it:
// "maxAttempts" → "max-attempts", "sslCAFile" → "ssl-ca-file". Keys that
// are already kebab-case or snake_case are only lower-cased.
func kebab(key string) string {
	rs := []rune(key)
	var b strings.Builder
	for i, r := range rs {
		if unicode.IsUpper(r) && i > 0 {
			prev := rs[i-1]
			nextLower := i+1 < len(rs) && unicode.IsLower(rs[i+1])
			if unicode.IsLower(prev) || unicode.IsDigit(prev) || (unicode.IsUpper(prev) && nextLower) {
				b.WriteByte('-')
			}
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}

// mapKeys is the schema of the keys below a property of a free-form map
// (and of typed free maps): map keys, kept as written.
var mapKeys = &schema{kind: kindFree}

// freeKey normalises a property name of a free-form map: camelCase becomes
// kebab-case, except in keys holding a '.' (native client properties such
// as bootstrap.servers), which are only lower-cased.
func freeKey(key string) string {
	if strings.Contains(key, ".") {
		return strings.ToLower(key)
	}
	return kebab(key)
}

// suggest returns the candidate closest to key (compared squashed), or ""
// when none is close enough to be a likely typo ([didyoumean.Suggest], the
// rule packages management and telemetry share).
func suggest(key string, candidates []string) string {
	return didyoumean.Suggest(key, candidates)
}

// suggestions returns every candidate near enough to key to be a likely
// typo of it, nearest first ([didyoumean.Suggestions]).
func suggestions(key string, candidates []string) []string {
	return didyoumean.Suggestions(key, candidates)
}

// levenshtein is the edit distance of a and b (in characters).
func levenshtein(a, b string) int { return didyoumean.Distance(a, b) }
