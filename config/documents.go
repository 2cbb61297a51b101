package config

import (
	"fmt"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// This file selects the documents of a multi-document file (YAML "---",
// .properties "#---") as Spring Boot does: a document holding
// spring.config.activate.on-profile (or the older spring.profiles) applies
// only when its profile expression matches the active profiles; the
// others always apply, in file order. spring.profiles.active and
// spring.profiles.include in a file activate profiles when neither
// Options.Profiles nor the environment names them.

// document is one document of a file, with its activation condition taken
// out of the tree.
type document struct {
	root *ynode // nil: empty
	// onProfile is the document's profile condition (one expression per
	// item, any may match); nil when it has none.
	onProfile []string
	// onKey, onLine: the key that holds the condition and its line.
	onKey  string
	onLine int
	// platform: spring.config.activate.on-cloud-platform (lower-case), ""
	// when not set.
	platform string
	// active, include: spring.profiles.active / .include set in the
	// document (nil: not set); activeLine: the line of the key.
	active, include       []string
	activeLine, inclLine  int
	activeSet, includeSet bool
	// deflt: spring.profiles.default (nil: not set); defaultLine: its
	// line.
	deflt       []string
	defaultLine int
	defaultSet  bool
	// groups: spring.profiles.group.<name> set in the document, in file
	// order; groupLine: the line of the first (nil: none set).
	groups    []profileGroup
	groupLine int
	// imports: the locations of spring.config.import (nil: not set),
	// taken out of the tree; importLine: the line of the key;
	// importLines: each location's line (a list item's own).
	imports     []string
	importLine  int
	importLines []int
	// literal: the document's values are taken as they are, never
	// placeholder-resolved (a configuration tree's file, as Spring Boot's
	// ConfigTreePropertySource values are not Strings).
	literal bool
}

// profileGroup is one spring.profiles.group.<name>: the profiles that
// become active with profile name, and where it is set.
type profileGroup struct {
	name    string
	members []string
	line    int
}

// activationKeys are the keys that make a document conditional, in the
// order they are looked for.
var activationKeys = [][]string{
	{"spring", "config", "activate", "on-profile"},
	{"spring", "profiles"}, // before Spring Boot 2.4; a value, not the map of .active
}

// newDocument takes the activation keys out of root (a copy; aliases may
// share nodes) and returns the document. Problems (a condition that is
// not a string or a list of strings) are returned with their line.
func newDocument(name string, root *ynode) (*document, []*fileError) {
	d := &document{}
	var errs []*fileError
	if root == nil {
		return d, nil
	}
	for _, key := range activationKeys {
		val, line, rest, found := extractKey(root, key, key[len(key)-1] == "profiles")
		if !found {
			continue
		}
		root = rest
		list, ok := stringList(val)
		if !ok {
			errs = append(errs, &fileError{name: name, line: line, msg: strings.Join(key, ".") + ": expected a profile expression or a list of them"})
			continue
		}
		if d.onProfile != nil {
			errs = append(errs, &fileError{name: name, line: line, msg: strings.Join(key, ".") + ": the document's profile condition is already given by " + d.onKey + " (line " + fmt.Sprint(d.onLine) + ")"})
			continue
		}
		if len(list) == 0 {
			errs = append(errs, &fileError{name: name, line: line, msg: strings.Join(key, ".") + ": empty profile condition"})
			list = []string{}
		}
		d.onProfile, d.onKey, d.onLine = list, strings.Join(key, "."), line
		for _, expr := range list {
			if _, err := parseProfileExpr(expr); err != nil {
				errs = append(errs, &fileError{name: name, line: line, msg: d.onKey + ": " + err.Error()})
			}
		}
	}
	if val, line, rest, found := extractKey(root, []string{"spring", "config", "activate", "on-cloud-platform"}, false); found {
		root = rest
		p, err := toString(val.value)
		p = strings.ToLower(strings.TrimSpace(p))
		if _, known := cloudPlatforms[p]; val.kind != yaml.ScalarNode || err != nil || !known {
			errs = append(errs, &fileError{name: name, line: line, msg: "spring.config.activate.on-cloud-platform: want none, kubernetes, cloud_foundry or heroku (the platforms streambind detects, as Spring Boot does, from the environment)"})
			p = "\x00" // never matches
		}
		d.platform = p
	}
	errs = append(errs, unknownActivateKeys(name, root)...)
	if val, line, rest, found := extractKey(root, []string{"spring", "config", "import"}, false); found {
		root = rest
		if list, lines, ok := stringListLines(val, line); ok {
			d.imports, d.importLine, d.importLines = list, line, lines
		} else {
			errs = append(errs, &fileError{name: name, line: line, msg: "spring.config.import: expected a location, a comma-separated string of them or a list"})
		}
	}
	gs, gerrs := profileGroups(name, root)
	errs = append(errs, gerrs...)
	d.groups = gs
	if len(gs) > 0 {
		d.groupLine = gs[0].line
	}
	for _, k := range []string{"active", "include", "default"} {
		val, line, found := findKey(root, []string{"spring", "profiles", k})
		if !found {
			continue
		}
		list, ok := stringList(val)
		if !ok {
			errs = append(errs, &fileError{name: name, line: line, msg: "spring.profiles." + k + ": expected a comma-separated string or a list of profile names"})
			continue
		}
		switch k {
		case "active":
			d.active, d.activeLine, d.activeSet = list, line, true
		case "include":
			d.include, d.inclLine, d.includeSet = list, line, true
		default:
			d.deflt, d.defaultLine, d.defaultSet = list, line, true
		}
	}
	d.root = root
	if len(root.entries) == 0 && (d.onProfile != nil || d.platform != "") {
		d.root = nil
	}
	return d, errs
}

// groupPrefix is spring.profiles.group, squashed.
var groupPrefix = []string{"spring", "profiles", "group"}

// profileGroups reads spring.profiles.group.<name> of a document: each
// group's name (as written: profile names are case-sensitive) and its
// members (a list or a comma-separated string), nested or dotted keys
// alike. A group without a name, or whose value is not a list of
// profile names, is a problem at its line.
func profileGroups(name string, root *ynode) ([]profileGroup, []*fileError) {
	var out []profileGroup
	var errs []*fileError
	var walk func(y *ynode, at, spelt []string)
	walk = func(y *ynode, at, spelt []string) {
		if y == nil || y.kind != yaml.MappingNode {
			return
		}
		for _, e := range y.entries {
			segs, parts := keySegs(e.key), strings.Split(e.key, ".")
			if e.literal {
				segs, parts = []string{squash(e.key)}, []string{e.key}
			}
			full := append(append([]string(nil), at...), segs...)
			fullSpelt := append(append([]string(nil), spelt...), parts...)
			n := min(len(full), len(groupPrefix))
			if !sameSegs(full[:n], groupPrefix[:n]) {
				continue
			}
			if len(full) <= len(groupPrefix) {
				if e.val.kind == yaml.MappingNode {
					walk(e.val, full, fullSpelt)
				} else if len(full) == len(groupPrefix) && !(e.val.kind == yaml.ScalarNode && e.val.value == nil) {
					errs = append(errs, &fileError{name: name, line: e.line, msg: "spring.profiles.group: expected a map of group names to lists of profiles (spring.profiles.group.<name>: a, b)"})
				}
				continue
			}
			group := strings.Join(fullSpelt[len(groupPrefix):], ".")
			list, ok := stringList(e.val)
			if !ok {
				errs = append(errs, &fileError{name: name, line: e.line, msg: "spring.profiles.group." + group + ": expected a comma-separated string or a list of profile names"})
				continue
			}
			out = append(out, profileGroup{name: group, members: list, line: e.line})
		}
	}
	walk(root, nil, nil)
	return out, errs
}

// stringList reads a scalar (comma-separated) or a list of scalars as
// trimmed, non-empty strings. A comma inside a placeholder
// (${MEMBERS:a,b}) does not split: as Spring Boot binds a list, the value
// is split once its placeholders are resolved (splitList).
func stringList(y *ynode) ([]string, bool) {
	out, _, ok := stringListLines(y, 0)
	return out, ok
}

// stringListLines is stringList with each string's line: a list item's
// own, else line (the key's).
func stringListLines(y *ynode, line int) ([]string, []int, bool) {
	var raw []string
	var lines []int
	switch y.kind {
	case yaml.ScalarNode:
		if y.value == nil {
			return nil, nil, true
		}
		s, err := toString(y.value)
		if err != nil {
			return nil, nil, false
		}
		for _, part := range splitList(s) {
			raw, lines = append(raw, part), append(lines, line)
		}
	case yaml.SequenceNode:
		for _, it := range y.items {
			if it.kind != yaml.ScalarNode || it.value == nil {
				return nil, nil, false
			}
			s, err := toString(it.value)
			if err != nil {
				return nil, nil, false
			}
			l := it.line
			if l == 0 {
				l = line
			}
			raw, lines = append(raw, s), append(lines, l)
		}
	default:
		return nil, nil, false
	}
	out, outLines := []string{}, []int{}
	for i, s := range raw {
		if s = strings.TrimSpace(s); s != "" {
			out, outLines = append(out, s), append(outLines, lines[i])
		}
	}
	return out, outLines, true
}

// splitList splits a comma-separated value not yet resolved on the commas
// outside placeholders, an escaped one (\${X:b,c}) included: "a,${X:b,c}"
// is "a" and "${X:b,c}". Each part resolves as it does within the whole
// value; its resolved text is then split at every comma, as Spring Boot
// resolves a value's placeholders first and then converts the String to
// a list (IndexedElementsBinder.convert, StringUtils.
// commaDelimitedListToStringArray): "a,\${X:b,c}" is "a", "${X:b" and
// "c". The parts are not trimmed.
func splitList(s string) []string {
	if !strings.Contains(s, "${") {
		return strings.Split(s, ",")
	}
	var out []string
	start := 0
	c := braceCloser{s: s}
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '$' && i+1 < len(s) && s[i+1] == '{':
			end := c.closing(i)
			if end < 0 {
				i++ // no closing '}': a "${" of the text (Spring's PlaceholderParser)
				continue
			}
			i = end
		case s[i] == ',':
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

// keySegs splits a mapping key into the key path it stands for
// ("spring.config" → spring, config), each squashed for comparison.
func keySegs(k string) []string {
	segs := strings.Split(k, ".")
	for i, s := range segs {
		segs[i] = squash(s)
	}
	return segs
}

// exactSegs splits a mapping key into the key path it stands for, as
// written: for a name looked up by its exact name (not a Spring property
// name, as ${CONF_DIR}).
func exactSegs(k string) []string {
	return strings.Split(k, ".")
}

// findKey returns the value at path below y (keys compared relaxed,
// dotted keys standing for nested ones), its key's line.
func findKey(y *ynode, path []string) (*ynode, int, bool) {
	return findKeyAs(y, path, false)
}

// findKeyAs is findKey with the keys compared relaxed (path squashed, as
// keySegs) or, when exact, as written (path as written): a name that is
// no Spring property name (${CONF_DIR}) is looked up by its exact name.
func findKeyAs(y *ynode, path []string, exact bool) (*ynode, int, bool) {
	if y == nil || y.kind != yaml.MappingNode {
		return nil, 0, false
	}
	segsOf, same := keySegs, sameSegs
	if exact {
		segsOf, same = exactSegs, slices.Equal[[]string]
	}
	for _, e := range y.entries {
		segs := segsOf(e.key)
		if len(segs) > len(path) {
			// a.b.c.d: found when it starts with path (the value is
			// below the key looked for).
			if same(segs[:len(path)], path) {
				return e.val, e.line, true
			}
			continue
		}
		if !same(segs, path[:len(segs)]) {
			continue
		}
		if len(segs) == len(path) {
			return e.val, e.line, true
		}
		if v, l, ok := findKeyAs(e.val, path[len(segs):], exact); ok {
			return v, l, true
		}
	}
	return nil, 0, false
}

// extractKey is findKey that also returns y without the key (copied, so
// that nodes shared by aliases are untouched; maps left empty are
// dropped). scalarOnly: a map at path (spring.profiles.active under
// spring.profiles) is not the key.
func extractKey(y *ynode, path []string, scalarOnly bool) (*ynode, int, *ynode, bool) {
	if y == nil || y.kind != yaml.MappingNode {
		return nil, 0, y, false
	}
	for i, e := range y.entries {
		segs := keySegs(e.key)
		if len(segs) > len(path) || !sameSegs(segs, path[:len(segs)]) {
			continue
		}
		c := *y
		c.entries = append([]yentry(nil), y.entries...)
		if len(segs) == len(path) {
			if scalarOnly && e.val.kind == yaml.MappingNode {
				continue
			}
			c.entries = append(c.entries[:i], c.entries[i+1:]...)
			return e.val, e.line, &c, true
		}
		v, l, rest, ok := extractKey(e.val, path[len(segs):], scalarOnly)
		if !ok {
			continue
		}
		if len(rest.entries) == 0 {
			c.entries = append(c.entries[:i], c.entries[i+1:]...)
		} else {
			c.entries[i].val = rest
		}
		return v, l, &c, true
	}
	return nil, 0, y, false
}

func sameSegs(a, b []string) bool {
	for i := range a {
		if a[i] != squash(b[i]) {
			return false
		}
	}
	return true
}

// cloudPlatforms maps the platforms of on-cloud-platform to the
// environment variables that reveal them (any one), as Spring Boot's
// CloudPlatform detects them; none is active when no other is.
var cloudPlatforms = map[string][]string{
	"none":          nil,
	"kubernetes":    {"KUBERNETES_SERVICE_HOST"},
	"cloud_foundry": {"VCAP_APPLICATION", "VCAP_SERVICES"},
	"heroku":        {"DYNO"},
}

// cloudPlatform returns the platform the environment reveals, or "none".
func cloudPlatform(env map[string]string) string {
	for _, p := range []string{"kubernetes", "cloud_foundry", "heroku"} {
		for _, v := range cloudPlatforms[p] {
			if _, ok := env[v]; ok {
				return p
			}
		}
	}
	return "none"
}

// applies reports whether the document applies with profiles active on
// platform.
func (d *document) applies(active []string, platform string) bool {
	if d.platform != "" && d.platform != platform {
		return false
	}
	if d.onProfile == nil {
		return true
	}
	for _, s := range d.onProfile {
		if e, err := parseProfileExpr(s); err == nil && e.match(active) {
			return true
		}
	}
	return false
}

// profileExpr is a parsed profile expression: a name, !e, e & e..., e | e....
type profileExpr struct {
	op   byte // 0: name; '!', '&', '|'
	name string
	args []*profileExpr
}

func (e *profileExpr) match(active []string) bool {
	switch e.op {
	case '!':
		return !e.args[0].match(active)
	case '&':
		for _, a := range e.args {
			if !a.match(active) {
				return false
			}
		}
		return true
	case '|':
		for _, a := range e.args {
			if a.match(active) {
				return true
			}
		}
		return false
	}
	for _, p := range active {
		if p == e.name {
			return true
		}
	}
	return false
}

// parseProfileExpr parses a Spring profile expression: a profile name,
// "!e", "e & f", "e | f" and parentheses; as in Spring, & and | are not
// mixed without parentheses.
func parseProfileExpr(s string) (*profileExpr, error) {
	p := &exprParser{toks: tokenizeProfiles(s), src: s}
	if len(p.toks) == 0 {
		return nil, fmt.Errorf("empty profile expression")
	}
	e, err := p.expr()
	if err != nil {
		return nil, err
	}
	if p.pos < len(p.toks) {
		return nil, p.malformed("unexpected " + quoteShort(p.toks[p.pos]))
	}
	return e, nil
}

func tokenizeProfiles(s string) []string {
	var toks []string
	cur := strings.Builder{}
	flush := func() {
		if cur.Len() > 0 {
			toks = append(toks, cur.String())
			cur.Reset()
		}
	}
	for _, r := range s {
		switch r {
		case ' ', '\t':
			flush()
		case '!', '&', '|', '(', ')':
			flush()
			toks = append(toks, string(r))
		default:
			cur.WriteRune(r)
		}
	}
	flush()
	return toks
}

type exprParser struct {
	toks []string
	pos  int
	src  string
}

func (p *exprParser) malformed(why string) error {
	return fmt.Errorf("malformed profile expression %s: %s", quoteShort(p.src), why)
}

func (p *exprParser) expr() (*profileExpr, error) {
	first, err := p.term()
	if err != nil {
		return nil, err
	}
	var op byte
	args := []*profileExpr{first}
	for p.pos < len(p.toks) && (p.toks[p.pos] == "&" || p.toks[p.pos] == "|") {
		o := p.toks[p.pos][0]
		if op != 0 && o != op {
			return nil, p.malformed("& and | mixed without parentheses")
		}
		op = o
		p.pos++
		t, err := p.term()
		if err != nil {
			return nil, err
		}
		args = append(args, t)
	}
	if op == 0 {
		return first, nil
	}
	return &profileExpr{op: op, args: args}, nil
}

func (p *exprParser) term() (*profileExpr, error) {
	if p.pos >= len(p.toks) {
		return nil, p.malformed("ends where a profile is expected")
	}
	t := p.toks[p.pos]
	p.pos++
	switch t {
	case "!":
		a, err := p.term()
		if err != nil {
			return nil, err
		}
		return &profileExpr{op: '!', args: []*profileExpr{a}}, nil
	case "(":
		e, err := p.expr()
		if err != nil {
			return nil, err
		}
		if p.pos >= len(p.toks) || p.toks[p.pos] != ")" {
			return nil, p.malformed("missing ')'")
		}
		p.pos++
		return e, nil
	case "&", "|", ")":
		return nil, p.malformed("unexpected " + quoteShort(t))
	}
	return &profileExpr{name: t}, nil
}

// activateKeys are the keys of spring.config.activate, squashed.
var activateKeys = []string{"on-profile", "on-cloud-platform"}

// unknownActivateKeys reports the keys left under spring.config.activate
// once its conditions are taken out of root: a misspelt condition
// (on-profil) must not leave the document applying whatever the profiles,
// silently, and a condition given twice (nested and dotted) is ambiguous.
func unknownActivateKeys(name string, root *ynode) []*fileError {
	prefix := []string{"spring", "config", "activate"}
	var errs []*fileError
	var walk func(y *ynode, at, spelt []string)
	walk = func(y *ynode, at, spelt []string) {
		if y == nil || y.kind != yaml.MappingNode {
			return
		}
		for _, e := range y.entries {
			segs := keySegs(e.key)
			full := append(append([]string(nil), at...), segs...)
			fullSpelt := append(append([]string(nil), spelt...), strings.Split(e.key, ".")...)
			n := min(len(full), len(prefix))
			if !sameSegs(full[:n], prefix[:n]) {
				continue
			}
			switch {
			case len(full) < len(prefix):
				walk(e.val, full, fullSpelt)
			case len(full) == len(prefix) && e.val.kind == yaml.MappingNode:
				walk(e.val, full, fullSpelt)
			case len(full) == len(prefix):
				if e.val.kind == yaml.ScalarNode && e.val.value == nil {
					continue // "spring.config.activate:" with nothing below
				}
				errs = append(errs, &fileError{name: name, line: e.line,
					msg: "spring.config.activate: expected a map of on-profile, on-cloud-platform"})
			default:
				key := strings.Join(fullSpelt[len(prefix):], ".")
				msg := "spring.config.activate." + key + ": "
				switch sq := full[len(prefix)]; {
				case (sq == "onprofile" || sq == "oncloudplatform") && len(full) == len(prefix)+1:
					msg += "the document's condition is given twice: give it once"
				case sq == "onprofile" || sq == "oncloudplatform":
					msg += "expected a value (a profile expression, a platform), not keys below it"
				default:
					msg += "unknown key"
					if s := suggest(fullSpelt[len(prefix)], activateKeys); s != "" {
						msg += "; did you mean " + s + "?"
					}
					msg += " (spring.config.activate has on-profile and on-cloud-platform; with its condition misspelt the document would apply whatever the active profiles)"
				}
				errs = append(errs, &fileError{name: name, line: e.line, msg: msg})
			}
		}
	}
	walk(root, nil, nil)
	return errs
}
