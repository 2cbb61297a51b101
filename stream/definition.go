package stream

import (
	"fmt"
	"strings"
)

// NormalizeDefinition returns a function definition with each ',' read
// as '|', as Spring Cloud Function reads one (SimpleFunctionRegistry:
// functionDefinition.replaceAll(",", "|")): "uppercase,reverse;log"
// composes uppercase and reverse, and its bindings are
// uppercase|reverse-in-0 and -out-0, SCSt's uppercasereverse-in-0 and
// -out-0 (BindableFunctionProxyFactory names them after the definition
// with ',' as '|' and the '|' dropped).
func NormalizeDefinition(def string) string { return strings.ReplaceAll(def, ",", "|") }

// commaDefinition returns cfg with its function definition normalised
// (NormalizeDefinition; a copy when it changes), and the items written
// with ',' ("uppercase,reverse") by their bound name in lower case
// ("uppercase|reverse"), for the note of a binding named after one of
// their parts.
func commaDefinition(cfg *Config) (*Config, map[string]string) {
	def := cfg.Function.Definition
	if !strings.Contains(def, ",") {
		return cfg, nil
	}
	items := map[string]string{}
	for _, item := range strings.Split(def, ";") {
		if item = strings.TrimSpace(item); strings.Contains(item, ",") {
			items[strings.ToLower(boundName(NormalizeDefinition(item)))] = item
		}
	}
	c := *cfg
	c.Function.Definition = NormalizeDefinition(def)
	return &c, items
}

// boundName is the name a definition item binds under: its function
// names without the blanks around them, joined by '|' (as Catalog.resolve
// names it).
func boundName(item string) string {
	parts := strings.Split(item, "|")
	for i, p := range parts {
		parts[i] = strings.TrimSpace(p)
	}
	return strings.Join(parts, "|")
}

// commaNote is what the warning for a configured binding named after a
// part of the composition comp (a binding name: uppercase|reverse-in-0)
// adds when the definition wrote the composition with ',': that SCSt
// composes it too, and that separate functions are separated with ';'.
// "" when it was written with '|'.
func (a *App) commaNote(comp string) string {
	loc := functionalName.FindStringIndex(comp)
	if loc == nil {
		return ""
	}
	item, ok := a.commaItems[strings.ToLower(comp[:loc[0]])]
	if !ok {
		return ""
	}
	parts := strings.Split(item, ",")
	for i, p := range parts {
		parts[i] = strings.TrimSpace(p)
	}
	return fmt.Sprintf("; the definition writes the composition %q, and ',' composes as '|' does (Spring Cloud Function reads ',' as '|'): if %s are separate functions, separate them with ';' (%q)",
		item, strings.Join(parts, " and "), strings.Join(parts, ";"))
}
