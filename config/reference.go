package config

import (
	"reflect"
	"slices"
	"strings"
	"unicode"
)

// Property describes one key of the stream section as [Load] accepts it.
// [Properties] lists them, for tools that list or check keys; the
// configuration reference in docs/configuration.md is generated from it.
type Property struct {
	// Path is the canonical key path from the root, kebab-case:
	// "stream.bindings.<name>.consumer.max-attempts". A level whose keys
	// are names (bindings, binders) is written <name>; a binder-specific
	// section stream.<type>.
	Path string
	// SCSt is the same key as a Spring Cloud Stream file spells it, which
	// Load accepts too: under spring.cloud.stream (spring.cloud.function
	// for the function definition), camelCase:
	// "spring.cloud.stream.bindings.<name>.consumer.maxAttempts". It says
	// how the key is written there, not that SCSt has such a property.
	SCSt string
	// Aliases are the other spellings accepted for the last element of
	// Path (SCSt's enable-dlq and auto-bind-dlq for dlq), kebab-case.
	Aliases []string
	// Type is the Go type the value decodes to; map[string]any for a
	// free-form map.
	Type reflect.Type
	// Free is true for a free-form map whose keys are decoded by a binder
	// (stream.binders.<name>.environment, stream.<type>.binder, and the
	// consumer and producer maps of stream.<type>.default and
	// stream.<type>.bindings.<name>).
	Free bool
	// Struct and Field name the Go struct field the key decodes into
	// (Struct is a type of package stream), so that a tool can find its doc
	// comment. Struct is nil when there is no such field.
	Struct reflect.Type
	Field  string
}

// Properties returns every key of the stream section that [Load] accepts,
// leaves and free-form maps only, in the order of the fields of
// [stream.Config] (depth first). It is derived from the same schema Load
// validates with, so it cannot list a key Load rejects or miss one it
// accepts.
func Properties() []Property {
	cfg := configSchema()
	root := rootSchema(cfg)
	aliases := scstAliases(root, nil)
	var out []Property
	var walk func(s *schema, path []string)
	walk = func(s *schema, path []string) {
		switch s.kind {
		case kindStruct:
			for _, f := range s.fields {
				p := append(append([]string(nil), path...), f.key)
				if f.s.kind == kindLeaf || f.s.kind == kindFree {
					prop := Property{
						Path:    strings.Join(p, "."),
						SCSt:    scstPath(aliases, p),
						Aliases: f.aliases,
						Type:    f.s.typ,
						Free:    f.s.kind == kindFree,
					}
					if s.typ != nil && f.index >= 0 {
						prop.Struct, prop.Field = s.typ, s.typ.Field(f.index).Name
					}
					out = append(out, prop)
					continue
				}
				walk(f.s, p)
			}
			if s.remain != nil {
				walk(s.remain.s, append(append([]string(nil), path...), "<type>"))
			}
		case kindNames:
			walk(s.elem, append(append([]string(nil), path...), "<name>"))
		}
	}
	walk(cfg, []string{"stream"})
	return out
}

// scstAlias is a path under spring that stands for a canonical path.
type scstAlias struct{ from, to []string }

// scstAliases collects the alias paths of root (spring.cloud.stream →
// stream, spring.cloud.function.definition → stream.function.definition).
func scstAliases(s *schema, path []string) []scstAlias {
	var out []scstAlias
	for _, f := range s.fields {
		p := append(append([]string(nil), path...), f.key)
		if f.target != nil {
			out = append(out, scstAlias{from: p, to: f.target})
			continue
		}
		if f.index < 0 && f.s.kind == kindStruct && f.s.lazy {
			out = append(out, scstAliases(f.s, p)...)
		}
	}
	return out
}

// scstPath spells canonical path p under the alias with the longest
// matching target, camelCase.
func scstPath(aliases []scstAlias, p []string) string {
	var best *scstAlias
	for i, a := range aliases {
		if len(a.to) <= len(p) && slices.Equal(a.to, p[:len(a.to)]) && (best == nil || len(a.to) > len(best.to)) {
			best = &aliases[i]
		}
	}
	if best == nil {
		return ""
	}
	out := append([]string(nil), best.from...)
	for _, seg := range p[len(best.to):] {
		out = append(out, camel(seg))
	}
	return strings.Join(out, ".")
}

// camel turns a kebab-case key into camelCase ("max-attempts" →
// "maxAttempts"); a placeholder such as <name> is kept.
func camel(key string) string {
	if strings.HasPrefix(key, "<") {
		return key
	}
	parts := strings.Split(key, "-")
	for i := 1; i < len(parts); i++ {
		if r := []rune(parts[i]); len(r) > 0 {
			r[0] = unicode.ToUpper(r[0])
			parts[i] = string(r)
		}
	}
	return strings.Join(parts, "")
}
