package config

import (
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode"

	"github.com/streambind/streambind/redact"
	"github.com/streambind/streambind/stream"
)

// Environment variables read besides the overrides.
const (
	// EnvProfiles lists the active profiles, comma-separated.
	EnvProfiles = "STREAM_PROFILES_ACTIVE"
	// EnvSpringProfiles is SCSt's spelling of EnvProfiles, read when
	// EnvProfiles is unset.
	EnvSpringProfiles = "SPRING_PROFILES_ACTIVE"
)

// envMap turns "NAME=value" entries into a map; a later entry for the same
// name wins (as in os/exec). Entries without '=' are ignored.
func envMap(env []string) map[string]string {
	m := make(map[string]string, len(env))
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok && k != "" {
			m[k] = v
		}
	}
	return m
}

// caseAliases adds to env, under its upper-case name, each variable of
// the loader's prefixes (SPRING_..., STREAM_...) written in another case
// (spring_profiles_active, Spring_Cloud_Stream_...), and returns the
// upper-case names it added, mapped to the names set. Spring Boot reads
// such a variable as the upper-case one: its SystemEnvironmentPropertyMapper
// lower-cases each element of a variable's name, and Spring's
// SystemEnvironmentPropertySource finds spring.profiles.active as
// spring_profiles_active. Each is read as its upper-case spelling would
// be; that spelling, when set too, wins (Boot looks it up first), and of
// two other spellings the lower-case one wins (Boot's second lookup),
// else the least name. Other variables (http_proxy, path) are not
// ours: left alone. A name holding '.' is the key itself (the dotted
// variables), left alone too.
func caseAliases(env map[string]string) map[string]string {
	var aliases map[string]string
	var names []string
	for name := range env {
		up := strings.ToUpper(name)
		if up == name || strings.ContainsAny(name, ".") || !(strings.HasPrefix(up, "SPRING_") || strings.HasPrefix(up, "STREAM_")) {
			continue
		}
		names = append(names, name)
	}
	// The lower-case spelling first, then the least name.
	sort.Slice(names, func(i, j int) bool {
		li, lj := names[i] == strings.ToLower(names[i]), names[j] == strings.ToLower(names[j])
		if li != lj {
			return li
		}
		return names[i] < names[j]
	})
	for _, name := range names {
		up := strings.ToUpper(name)
		if _, set := env[up]; set {
			continue
		}
		if aliases == nil {
			aliases = map[string]string{}
		}
		env[up], aliases[up] = env[name], name
	}
	return aliases
}

// renameAliases gives the variables caseAliases added their names as set
// in s (an origin or a message): "env SPRING_PROFILES_ACTIVE" for
// spring_profiles_active set is "env spring_profiles_active".
func renameAliases(s string, aliases map[string]string) string {
	if len(aliases) == 0 || s == "" {
		return s
	}
	for up, name := range aliases {
		for from := 0; ; {
			i := strings.Index(s[from:], up)
			if i < 0 {
				break
			}
			i += from
			end := i + len(up)
			if (i > 0 && isNameByte(s[i-1])) || (end < len(s) && isNameByte(s[end])) {
				from = end
				continue
			}
			s = s[:i] + name + s[end:]
			from = i + len(name)
		}
	}
	return s
}

// isNameByte reports whether c may be part of a variable's name.
func isNameByte(c byte) bool {
	return c == '_' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

// envVar is one environment variable that overrides a key.
type envVar struct {
	name, value string
	rank        int      // precedence: a higher rank wins
	tokens      []string // the key, upper-case, split at '_'
	prefix      string   // what name has before tokens (STREAM_, ...)
}

// overrideVars picks the variables that override keys: STREAM_* (rank 2)
// over SPRING_CLOUD_STREAM_* (rank 1) over SPRING_CLOUD_FUNCTION_DEFINITION
// and SPRING_CLOUD_FUNCTION_CONFIGURATION_* (rank 0), in the order they are
// applied.
func overrideVars(env map[string]string) []envVar {
	var vars []envVar
	for name, value := range env {
		var v envVar
		switch {
		case name == EnvProfiles:
			continue
		case name == "SPRING_CLOUD_FUNCTION_DEFINITION":
			v = envVar{rank: 0, prefix: "SPRING_CLOUD_", tokens: []string{"FUNCTION", "DEFINITION"}}
		case isRoutingExpressionVar(name):
			// spring.cloud.function.routing-expression, which a file's
			// key sets (stream.function.routing-expression): the variable
			// was ignored without a word.
			v = envVar{rank: 0, prefix: "SPRING_CLOUD_", tokens: []string{"FUNCTION", "ROUTING", "EXPRESSION"}}
		case strings.HasPrefix(name, "SPRING_CLOUD_FUNCTION_CONFIGURATION_"):
			// Spring Cloud Function's per-function configuration (header
			// mappings), spring.cloud.function.configuration: read as
			// stream.function.configuration, as the files' key is.
			v = envVar{rank: 0, prefix: "SPRING_CLOUD_", tokens: strings.Split(strings.ToUpper(strings.TrimPrefix(name, "SPRING_CLOUD_")), "_")}
		case strings.HasPrefix(name, "SPRING_CLOUD_STREAM_"):
			v = envVar{rank: 1, prefix: "SPRING_CLOUD_STREAM_", tokens: strings.Split(strings.ToUpper(strings.TrimPrefix(name, "SPRING_CLOUD_STREAM_")), "_")}
		case strings.HasPrefix(name, "STREAM_"):
			v = envVar{rank: 2, prefix: "STREAM_", tokens: strings.Split(strings.ToUpper(strings.TrimPrefix(name, "STREAM_")), "_")}
		default:
			continue
		}
		v.name, v.value = name, value
		vars = append(vars, v)
	}
	sort.Slice(vars, func(i, j int) bool {
		if vars[i].rank != vars[j].rank {
			return vars[i].rank < vars[j].rank
		}
		return vars[i].name < vars[j].name
	})
	return vars
}

// envLayer builds the layer of environment overrides. files is the merged
// tree of the files, used to resolve the '_' ambiguity against the names
// and free-form keys they declare; spelled holds how the files spell those
// names (viper lower-cases them in files).
func envLayer(env map[string]string, cfg *schema, files map[string]any, spelled map[string]string) *layer {
	l := newLayer("env")
	vars := overrideVars(env)
	r := &resolver{files: files, spelled: spelled}
	def, _ := r.lookup([]string{"stream", "function", "definition"}).(string)
	for _, v := range vars {
		if len(v.tokens) == 2 && v.tokens[0] == "FUNCTION" && v.tokens[1] == "DEFINITION" {
			def = v.value
		}
	}
	r.funcBindings = functionBindings(def)
	if m, ok := r.lookup([]string{"stream", "function", "bindings"}).(map[string]any); ok {
		for _, n := range m { // stream.function.bindings: the new names
			if s, ok := n.(string); ok && strings.TrimSpace(s) != "" {
				r.funcBindings = append(r.funcBindings, strings.TrimSpace(s))
			}
		}
	}
	for _, key := range []string{"output-bindings", "input-bindings"} {
		out, ok := r.lookup([]string{"stream", key}).(string)
		if !ok {
			continue
		}
		for _, n := range strings.Split(out, ";") {
			if n = strings.TrimSpace(n); n != "" {
				r.funcBindings = append(r.funcBindings, n)
			}
		}
	}

	var sets []envSet
	for _, v := range vars {
		origin := "env " + v.name
		path, ok := scstOnlyEnvKey(v.tokens)
		if !ok {
			path, ok = r.kafkaStreamsEnvKey(v.tokens)
		}
		if !ok && len(v.tokens) > 1 && v.tokens[0] == "POLLER" {
			l.fail("stream.poller", origin, "%s matches no key of stream.poller (SCSt's application-wide poller: %s)", v.name, strings.Join(streamPollerKeys, ", "))
			continue
		}
		r.alts = nil
		if !ok {
			path, ok = r.resolve(cfg, v.tokens, []string{"stream"})
		}
		if !ok {
			// An SCSt key the files may set, with a warning or a refusal
			// of its own (scstenv.go): the same for the variable.
			path, ok = r.scstAdaptedEnvKey(cfg, v.tokens)
		}
		if !ok {
			// Only a variable that starts like a key is taken for a
			// misspelt one; others (STREAM_BINDER used in a placeholder)
			// are not ours.
			if f := fieldPrefix(cfg, v.tokens); f != nil {
				if fix, path := r.envSuggestion(cfg, v); fix != "" {
					l.fail(renderPath(keySegs2(path)), origin, "%s matches no configuration key; did you mean %s?", v.name, fix)
				} else {
					l.fail("stream."+f.key, origin, "%s matches no configuration key (expected the key path in upper case with '.' and '-' as '_', e.g. STREAM_BINDINGS_<NAME>_GROUP)", v.name)
				}
			} else if sec := r.binderSection(cfg, v.tokens); sec != "" {
				l.fail("stream."+sec, origin, "matches no key of the binder-specific section (expected e.g. STREAM_%s_BINDINGS_<NAME>_CONSUMER_<KEY>)", strings.ToUpper(sec))
			} else if fix, path := r.envSuggestion(cfg, v); fix != "" {
				// A top-level key one typo off (STREAM_SHUTDOWN_TIMOUT,
				// STREAM_DEFAULTBINDR): a variable of the operator's own
				// (STREAM_BINDER, read by a placeholder) is none, as a
				// change of one of its tokens names no key.
				l.fail(renderPath(keySegs2(path)), origin, "%s matches no configuration key; did you mean %s?", v.name, fix)
			}
			continue
		}
		sets = append(sets, envSet{v: v, path: l.envSegs(path)})
		// The other entries whose names the variable's name equals, as
		// Spring Boot compares them (a-b beside ab for AB): each takes it.
		for _, a := range r.alts {
			if slices.Equal(a.primary, path) {
				sets = append(sets, envSet{v: v, path: l.envSegs(a.path)})
			}
		}
	}
	sets = append(sets, otherRootSets(env, files, l)...)
	l.build(sets)
	return l
}

// envSegs turns a key path resolve returned into path segments. A name
// known in another case (a binding of the function definition,
// shipOrder-in-0) keeps it, as the files' names do.
func (l *layer) envSegs(path []string) []pathSeg {
	segs := make([]pathSeg, len(path))
	for i, k := range path {
		if lk := strings.ToLower(k); lk != k {
			lower := make([]string, i+1)
			for j := range lower {
				lower[j] = strings.ToLower(path[j])
			}
			if id := spellKey(lower); l.spelled[id] == "" {
				l.spelled[id] = k
			}
			k = lk
		}
		segs[i] = keySeg(k)
		if n, ok := strings.CutPrefix(k, indexMark); ok {
			segs[i].idx, _ = strconv.Atoi(n)
		}
	}
	return segs
}

// indexMark starts a list index in a key path resolve returns; no key that
// a variable can spell holds it.
const indexMark = "\x00"

// isStreamVar reports whether variable name is read for the stream
// section (or is a profile list), not for the other roots.
func isStreamVar(name string) bool {
	return name == EnvProfiles || name == "SPRING_CLOUD_FUNCTION_DEFINITION" || isRoutingExpressionVar(name) || strings.HasPrefix(name, "SPRING_CLOUD_FUNCTION_CONFIGURATION_") ||
		strings.HasPrefix(name, "STREAM_") || strings.HasPrefix(name, "SPRING_CLOUD_STREAM_")
}

// isRoutingExpressionVar reports whether name is Spring Cloud Function's
// routing expression's variable, in either of Spring Boot's spellings.
func isRoutingExpressionVar(name string) bool {
	return name == "SPRING_CLOUD_FUNCTION_ROUTINGEXPRESSION" || name == "SPRING_CLOUD_FUNCTION_ROUTING_EXPRESSION"
}

// otherRootSets resolves the variables that override keys outside the
// stream section: keys of the files' other roots and the framework keys.
// A variable that names none is ignored, unless it is under a framework
// root (management, logging) and starts like one of its keys: then it is
// reported as misspelt.
func otherRootSets(env map[string]string, files map[string]any, l *layer) []envSet {
	root := &keyNode{kind: nodeMap, children: map[string]*keyNode{}}
	for k, v := range files {
		if k != "stream" {
			root.children[k] = valueNode(v)
		}
	}
	for _, k := range FrameworkKeys() {
		root.addKey(k)
		if frameworkListKeys[k] {
			// A list, as Spring Boot binds it: a whole one
			// (MANAGEMENT_ENDPOINTS_WEB_EXPOSURE_INCLUDE=health,info) or
			// item by item (..._INCLUDE_0=health), a file's text or not.
			if n := root.node(k); n != nil && n.kind == nodeLeaf {
				n.kind = nodeList
			}
		}
	}
	for _, k := range bootEnvKeys {
		root.addKey(k)
	}
	for _, k := range integrationPollerKeys {
		root.addKey(k)
	}
	owned := frameworkRoots()
	names := make([]string, 0, len(env))
	for name := range env {
		names = append(names, name)
	}
	sort.Strings(names)
	var sets []envSet
	for _, name := range names {
		if isStreamVar(name) || name == EnvApplicationJSON {
			continue
		}
		toks, ok := relaxedTokens(name)
		if !ok {
			continue
		}
		if path, ok := resolveNode(root, toks, nil); ok {
			sets = append(sets, envSet{v: envVar{name: name, value: env[name], rank: 3}, path: path})
			continue
		}
		if id, ok := secretItemVar(root, toks); ok {
			l.fail(id, "env "+name, "a secret is one value, a string: got a list item (not shown); give the value itself, in the variable without the index")
			continue
		}
		if path, warnPath, msg, ok := bootEnvVar(files, toks); ok && !isKubernetesLink(name, env[name]) {
			if path != nil {
				sets = append(sets, envSet{v: envVar{name: name, value: env[name], rank: 3}, path: path})
			} else {
				l.warns = append(l.warns, &stream.ConfigError{Path: warnPath, Origin: "env " + name, Msg: msg})
			}
			continue
		}
		if path := bootSectionEnvVar(toks); path != nil && !isKubernetesLink(name, env[name]) {
			// As the key in a file (bootConnections).
			sets = append(sets, envSet{v: envVar{name: name, value: env[name], rank: 3}, path: path})
			continue
		}
		if p, msg, isErr, ok := springCloudEnvVar(toks); ok {
			// As the key in a file (springcloud.go).
			if isErr {
				l.fail(p, "env "+name, "%s", msg)
			} else {
				l.warns = append(l.warns, &stream.ConfigError{Path: p, Origin: "env " + name, Msg: msg})
			}
			continue
		}
		if p, msg, report := misspelt(root, name, env[name], toks, owned); report {
			l.fail(p, "env "+name, "%s", msg)
		}
	}
	return sets
}

// secretItemVar returns the key that names one secret value
// (redact.IsSecretValueKey) of which toks, a variable's name that matches
// no key, names a list item (SPRING_RABBITMQ_PASSWORD_0: the key, then an
// index), and whether it does. Spring Boot binds no item to the String
// (the password would be unset); a file's list there is refused
// (layer.secretShape), and so is the variable, without its value. Only an
// index follows the key: SPRING_DATASOURCE_PASSWORD_FILE is some other
// variable (Docker's secret files), not ours.
func secretItemVar(root *keyNode, toks []string) (string, bool) {
	for n := len(toks) - 1; n > 0; n-- {
		if _, ok := envIndex(toks[n]); !ok {
			continue
		}
		path, ok := resolveNode(root, toks[:n], nil)
		if !ok || !secretRoots[path[0].key] {
			continue
		}
		if id := renderPath(path); redact.IsSecretValueKey(id) {
			return id, true
		}
	}
	return "", false
}

// fieldPrefix returns the field of s whose key starts toks, or nil.
func fieldPrefix(s *schema, toks []string) *field {
	for _, f := range s.fields {
		for _, kt := range envSpellings(f) {
			if hasPrefix(toks, kt) {
				return f
			}
		}
	}
	return nil
}

// envSpellings are the token sequences that name field f in a variable:
// each spelling with its dashes as '_' (DEFAULT_BINDER), and with its dashes
// dropped, as Spring's relaxed binding writes camelCase keys
// (DEFAULTBINDER for defaultBinder).
func envSpellings(f *field) [][]string {
	var out [][]string
	for _, k := range f.spellings() {
		out = append(out, envTokens(k))
		if sq := strings.ToUpper(squash(k)); strings.Contains(k, "-") {
			out = append(out, []string{sq})
		}
	}
	return out
}

// keyTokens returns how many tokens of toks spell key k, either with its
// dashes as '_' or squashed (START_OFFSET or STARTOFFSET for start-offset);
// 0 when they do not.
func keyTokens(toks []string, k string) int {
	if kt := envTokens(k); hasPrefix(toks, kt) {
		return len(kt)
	}
	if len(toks) > 0 && toks[0] == strings.ToUpper(squash(k)) {
		return 1
	}
	return 0
}

// builtinBinderTypes are the binder types streambind ships, whose sections
// (stream.kafka, ...) an override may name before the files do.
var builtinBinderTypes = []string{"kafka", "memory", "nats", "rabbit", "redis"}

// binderSection returns the binder-specific section (stream.<type>) that
// toks start with, or "": a section of the files, of a declared binder's
// type, or of a built-in type. A variable starting so is ours, so that a
// misspelt one is reported instead of ignored.
func (r *resolver) binderSection(cfg *schema, toks []string) string {
	if len(toks) == 0 {
		return ""
	}
	candidates := append([]string(nil), builtinBinderTypes...)
	for _, k := range r.keysAt([]string{"stream"}) {
		if cfg.field(k) == nil {
			candidates = append(candidates, k)
		}
	}
	for _, b := range r.keysAt([]string{"stream", "binders"}) {
		if t, ok := r.lookup([]string{"stream", "binders", b, "type"}).(string); ok {
			candidates = append(candidates, t)
		}
	}
	for _, c := range candidates {
		if strings.ToUpper(c) == toks[0] {
			return strings.ToLower(c)
		}
	}
	return ""
}

// functionBindings returns the binding names of the functions in a
// function definition ("a;b" → a-in-0, a-out-0, b-in-0, b-out-0), in the
// definition's case. A composed function's ("a|b", or "a,b", which
// Spring Cloud Function reads as "a|b") are a|b-in-0 and
// a|b-out-0, which a variable spells without the '|' (envTokens), as for
// SCSt, whose binding is ab-in-0: STREAM_BINDINGS_AB_IN_0_GROUP.
func functionBindings(def string) []string {
	var names []string
	for _, fn := range strings.Split(stream.NormalizeDefinition(def), ";") {
		fn = strings.TrimSpace(fn)
		if fn == "" {
			continue
		}
		names = append(names, fn+"-in-0", fn+"-out-0")
	}
	return names
}

// resolver maps the tokens of an environment variable to a key path.
type resolver struct {
	files        map[string]any
	funcBindings []string          // binding names of the functions and output-bindings, in their case
	spelled      map[string]string // the files' names as written (layer.spelled)
	// alts are the key paths of the other entries a variable's name
	// equals at a level of names, each with the path resolve returned
	// when it chose the first (names); reset before each variable.
	alts []altPath
}

// altPath is a key path that a variable sets besides primary.
type altPath struct{ primary, path []string }

// lookup returns the value at path in the files' tree, or nil.
func (r *resolver) lookup(path []string) any {
	var v any = r.files
	for _, seg := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[seg]
	}
	return v
}

// keysAt returns the keys of the map at path in the files' tree.
func (r *resolver) keysAt(path []string) []string {
	m, _ := r.lookup(path).(map[string]any)
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// envTokens spells key as an environment variable does, split at '_':
// "max-attempts" → [MAX ATTEMPTS]; the '|' of a composed function's
// binding, which no variable name holds, is dropped ("a|b-in-0" → [AB IN
// 0]), as SCSt drops it from the binding's name.
func envTokens(key string) []string {
	return strings.Split(envTokenReplacer.Replace(strings.ToUpper(key)), "_")
}

// envTokenReplacer is envTokens' replacer, built once: building one per
// call cost most of the time of matching the environment against a large
// configuration. A Replacer is safe for concurrent use.
var envTokenReplacer = strings.NewReplacer("-", "_", ".", "_", "|", "")

func hasPrefix(toks, prefix []string) bool {
	if len(prefix) > len(toks) {
		return false
	}
	for i, p := range prefix {
		if toks[i] != p {
			return false
		}
	}
	return true
}

// resolve matches toks against schema s at path and returns the key path
// they name, which must be a leaf or a key of a free-form map.
func (r *resolver) resolve(s *schema, toks []string, path []string) ([]string, bool) {
	if len(toks) == 0 {
		return path, s.kind == kindLeaf
	}
	switch s.kind {
	case kindLeaf:
		// An item of a list of strings: NAME_0 or NAME_0_.
		if s.typ.Kind() != reflect.Slice {
			return nil, false
		}
		i, ok := envIndex(toks[0])
		if rest := toks[1:]; !ok || len(rest) > 1 || (len(rest) == 1 && rest[0] != "") {
			return nil, false
		}
		return appendPath(path, indexMark+strconv.Itoa(i)), true
	case kindStruct:
		// Longest key first: DEFAULT_BINDER is default-binder, not
		// default.binder.
		fields := append([]*field(nil), s.fields...)
		sort.SliceStable(fields, func(i, j int) bool {
			return strings.Count(fields[i].key, "-") > strings.Count(fields[j].key, "-")
		})
		for _, f := range fields {
			for _, kt := range envSpellings(f) {
				if !hasPrefix(toks, kt) {
					continue
				}
				if p, ok := r.resolve(f.s, toks[len(kt):], appendPath(path, f.key)); ok {
					return p, true
				}
			}
		}
		if s.remain != nil {
			var known []string
			for _, k := range r.keysAt(path) {
				if s.field(k) == nil {
					known = append(known, k)
				}
			}
			return r.names(s.remain.s, toks, path, known)
		}
		return nil, false
	case kindNames:
		known := r.keysAt(path)
		if path[len(path)-1] == "bindings" && len(path) <= 3 {
			// A binder-specific section's bindings (stream.<type>.bindings)
			// are the common section's: a name keeps the case the files or
			// the function definition give it (shipOrder-in-0), as variables
			// can only spell it in upper case.
			if len(path) == 3 {
				for _, n := range r.keysAt([]string{"stream", "bindings"}) {
					if sp := r.spelled[spellKey([]string{"stream", "bindings", n})]; sp != "" {
						n = sp
					}
					known = append(known, n)
				}
			}
			known = append(known, r.funcBindings...)
		}
		return r.names(s.elem, toks, path, known)
	case kindFree:
		if s.headers {
			return r.headerName(toks, path, true)
		}
		return r.free(toks, path, s.props)
	default:
		return nil, false
	}
}

// names resolves toks at a level of names: a known name (the longest that
// fits) if any, else the shortest name that leaves a valid key path (that
// is, the longest suffix that is a property path), '_' read as '-'.
func (r *resolver) names(elem *schema, toks, path, known []string) ([]string, bool) {
	var best []string
	bestLen := 0
	for _, n := range known {
		nt := envTokens(n)
		if len(nt) >= len(toks) || len(nt) <= bestLen || !hasPrefix(toks, nt) || hasEmpty(nt) {
			continue
		}
		if p, ok := r.resolve(elem, toks[len(nt):], appendPath(path, n)); ok {
			best, bestLen = p, len(nt)
		}
	}
	if bestLen <= 1 && len(toks) > 1 && toks[0] != "" {
		if p, ok := r.squashedNames(elem, toks, path, known, best); ok {
			return p, true
		}
	}
	if best != nil {
		return best, true
	}
	for i := 1; i < len(toks); i++ {
		if hasEmpty(toks[:i]) {
			return nil, false
		}
		name := strings.ToLower(strings.Join(toks[:i], "-"))
		if p, ok := r.resolve(elem, toks[i:], appendPath(path, name)); ok {
			return p, true
		}
	}
	return nil, false
}

// squashedNames resolves toks at a level of names whose first token is a
// known name with its dashes (and any other character that is not a letter
// or a digit) dropped: NEWSIN0 is news-in-0, PROCESSSTUDENTSIN0
// processStudents-in-0. Spring Boot's documented variable for a key drops
// its dashes (spring.main.log-startup-info is SPRING_MAIN_LOGSTARTUPINFO),
// and its ConfigurationPropertyName equality ignores them, and the case,
// in a map key: when SCSt binds the bindings map, the files' entry
// news-in-0 takes the variable's newsin0.destination. Every known name
// that equals the token (a-b and ab for AB, exact included: exact, the
// name that one token spells, passed by names) takes the value, as each
// entry of Boot's map binds its keys from the variable: the first is
// returned, the others recorded in r.alts.
func (r *resolver) squashedNames(elem *schema, toks, path, known, exact []string) ([]string, bool) {
	var found [][]string
	seen := map[string]bool{}
	if exact != nil {
		found = append(found, exact)
		seen[strings.ToLower(exact[len(path)])] = true
	}
	for _, n := range known {
		if seen[strings.ToLower(n)] || envSquash(n) != toks[0] {
			continue
		}
		if p, ok := r.resolve(elem, toks[1:], appendPath(path, n)); ok {
			seen[strings.ToLower(n)] = true
			found = append(found, p)
		}
	}
	if len(found) == 0 {
		return nil, false
	}
	for _, p := range found[1:] {
		r.alts = append(r.alts, altPath{primary: found[0], path: p})
	}
	return found[0], true
}

// envSquash is name as a variable spells it with its dashes dropped
// (news-in-0 → NEWSIN0): upper case, letters and digits only.
func envSquash(name string) string {
	var b strings.Builder
	for _, c := range name {
		if unicode.IsLetter(c) || unicode.IsDigit(c) {
			b.WriteRune(unicode.ToUpper(c))
		}
	}
	return b.String()
}

// eachKeyFitting calls fit for each key of the files at path that the
// first tokens of toks spell (n of them), longest keys first, with
// whether its value is a map, until fit returns true.
func (r *resolver) eachKeyFitting(toks, path []string, fit func(k string, n int, isMap bool) bool) {
	m, _ := r.lookup(path).(map[string]any)
	keys := r.keysAt(path)
	sort.SliceStable(keys, func(i, j int) bool { return len(envTokens(keys[i])) > len(envTokens(keys[j])) })
	for _, k := range keys {
		n := keyTokens(toks, k)
		if n == 0 {
			continue
		}
		_, isMap := m[k].(map[string]any)
		if fit(k, n, isMap) {
			return
		}
	}
}

// free resolves toks inside a free-form map: an existing key (descending
// into existing maps) if one fits, else one kebab-case key; at the level
// of a binder's properties (props), its tokens of digits list indexes
// (freeIndexed). The keys of other free maps (function.bindings: a
// binding name, process-in-0) end in digits of their own.
func (r *resolver) free(toks, path []string, props bool) ([]string, bool) {
	if n := len(toks); props && n >= 2 && toks[n-1] == "" {
		if _, ok := envIndex(toks[n-2]); ok {
			toks = toks[:n-1] // BROKERS_0_, Spring's spelling of an item
		}
	}
	if hasEmpty(toks) {
		return nil, false
	}
	var found []string
	r.eachKeyFitting(toks, path, func(k string, n int, isMap bool) bool {
		switch {
		case n == len(toks):
			found = appendPath(path, k)
		case isMap:
			found, _ = r.free(toks[n:], appendPath(path, k), false)
		case n == len(toks)-1:
			// BROKERS_0 beside the files' brokers, a list or one
			// comma-separated value: its item, as Spring Boot reads the
			// variable (brokers[0]), not a key brokers-0.
			if i, ok := envIndex(toks[n]); ok {
				found = appendPath(appendPath(path, k), indexMark+strconv.Itoa(i))
			}
		}
		return found != nil
	})
	if found != nil {
		return found, true
	}
	if !props {
		return appendPath(path, strings.ToLower(strings.Join(toks, "-"))), true
	}
	return freeIndexed(toks, path), true
}

// headerName resolves toks inside a function's header mappings (top:
// at their first level): an existing key (descending into existing maps)
// if one fits, else, as Spring Boot reads a variable's name, one header
// name with '_' read as '.' (..._SPRING_CLOUD_STREAM_SENDTO_DESTINATION
// is spring.cloud.stream.sendto.destination), lower-case since a
// variable's name cannot keep a header name's case; a first token 0 is
// SCF's input index (..._0_X is 0: {x: ...}).
func (r *resolver) headerName(toks, path []string, top bool) ([]string, bool) {
	if len(toks) == 0 || hasEmpty(toks) {
		return nil, false
	}
	var found []string
	r.eachKeyFitting(toks, path, func(k string, n int, isMap bool) bool {
		switch {
		case n == len(toks):
			found = appendPath(path, k)
		case isMap:
			found, _ = r.headerName(toks[n:], appendPath(path, k), false)
		}
		return found != nil
	})
	if found != nil {
		return found, true
	}
	if top && toks[0] == "0" && len(toks) > 1 {
		return r.headerName(toks[1:], appendPath(path, "0"), false)
	}
	return appendPath(path, strings.ToLower(strings.Join(toks, "."))), true
}

// freeIndexed is the key path toks name below path where no key of the
// files fits: their words joined by '-' (one key: the binder reads it as
// the nested key), and each token of digits after the first a list
// index, as Spring Boot's SystemEnvironmentPropertyMapper maps a numeric
// element of a variable's name to an index whether or not a file has the
// list (BROKERS_0 is brokers[0], HEADERS_0_NAME headers[0].name); the
// binder refused a key brokers-0.
func freeIndexed(toks, path []string) []string {
	var words []string
	for i, t := range toks {
		if idx, ok := envIndex(t); ok && i > 0 {
			if len(words) > 0 {
				path = appendPath(path, strings.ToLower(strings.Join(words, "-")))
				words = nil
			}
			path = appendPath(path, indexMark+strconv.Itoa(idx))
			continue
		}
		words = append(words, t)
	}
	if len(words) > 0 {
		path = appendPath(path, strings.ToLower(strings.Join(words, "-")))
	}
	return path
}

func hasEmpty(toks []string) bool {
	for _, t := range toks {
		if t == "" {
			return true
		}
	}
	return false
}

// envSuggestion returns the name variable v likely meant, one of its
// tokens (the last that fits) replaced by a near token of a key
// (SPRING_CLOUD_STREAM_BINDINGS_X_IN_0_DESTINATON → ..._DESTINATION), and
// the key path v itself spells (misspeltPath: ...x-in-0.destinaton, not
// the key it would set); "" when no such change names a key.
func (r *resolver) envSuggestion(cfg *schema, v envVar) (string, []string) {
	vocab := schemaTokens(cfg)
	// Not cut from v.name by the tokens' length: upper-casing can change
	// it (a byte that is not UTF-8 becomes U+FFFD, three bytes).
	prefix := v.prefix
	for i := len(v.tokens) - 1; i >= 0; i-- {
		t := v.tokens[i]
		if t == "" || strings.Trim(t, "0123456789") == "" {
			continue
		}
		// Every near token, nearest first: the nearest may name no key
		// there (DEFAULT_BINDR: BIND, of auto-bind-dlq, is as near as
		// BINDER).
		for _, sug := range suggestions(t, vocab) {
			if sug == t {
				break
			}
			toks := append([]string(nil), v.tokens...)
			toks[i] = sug
			if path, ok := r.resolve(cfg, toks, []string{"stream"}); ok {
				return prefix + strings.Join(toks, "_"), r.misspeltPath(path, toks, v.tokens, i)
			}
		}
	}
	return "", nil
}

// misspeltPath returns the key path variable tokens orig spells, given
// the path (below "stream") that toks, orig with token i corrected,
// resolved to: the segment holding token i as orig spells it (lower case,
// its tokens joined by '-': DESTINATON is destinaton), the segments
// before it as the files or the function definition spell them
// (handleOrder-in-0, which the files' tree holds in lower case), those
// after it as resolved. When the segments cannot be matched to the tokens
// (an alias), the path of the section holding the key.
func (r *resolver) misspeltPath(path, toks, orig []string, i int) []string {
	compact := strings.NewReplacer("-", "", ".", "", "_", "")
	out := make([]string, len(path))
	copy(out, path)
	lower := make([]string, 1, len(path))
	lower[0] = strings.ToLower(path[0])
	for k := 1; k < len(out); k++ { // the names as written
		lower = append(lower, strings.ToLower(path[k]))
		if sp := r.spelled[spellKey(lower)]; sp != "" {
			out[k] = sp
		}
	}
	t := 0
	for k := 1; k < len(path); k++ {
		seg := path[k]
		if n, ok := strings.CutPrefix(seg, indexMark); ok {
			seg = n
		}
		want := strings.ToUpper(compact.Replace(seg))
		start, got := t, ""
		for t < len(toks) && len(got) < len(want) {
			got += toks[t]
			t++
		}
		if got != want {
			break
		}
		if start <= i && i < t {
			out[k] = strings.ToLower(strings.Join(orig[start:t], "-"))
			return out
		}
	}
	return out[:len(out)-1]
}

// schemaTokens returns the tokens that the keys of s and of the levels
// below spell in a variable (MAX, ATTEMPTS, MAXATTEMPTS, ...), sorted.
func schemaTokens(s *schema) []string {
	set := map[string]bool{}
	seen := map[*schema]bool{}
	var walk func(s *schema)
	walk = func(s *schema) {
		if s == nil || seen[s] {
			return
		}
		seen[s] = true
		for _, f := range s.fields {
			for _, kt := range envSpellings(f) {
				for _, t := range kt {
					set[t] = true
				}
			}
			walk(f.s)
		}
		if s.remain != nil {
			walk(s.remain.s)
		}
		walk(s.elem)
	}
	walk(s)
	out := make([]string, 0, len(set))
	for t := range set {
		if t != "" {
			out = append(out, t)
		}
	}
	sort.Strings(out)
	return out
}

// keySegs2 turns a key path resolve returned (list indexes marked with
// indexMark) into path segments.
func keySegs2(path []string) []pathSeg {
	segs := make([]pathSeg, len(path))
	for i, k := range path {
		segs[i] = keySeg(k)
		if n, ok := strings.CutPrefix(k, indexMark); ok {
			segs[i].idx, _ = strconv.Atoi(n)
		}
	}
	return segs
}

// streamPollerKeys are the keys of SCSt's stream.poller
// (spring.cloud.stream.poller) as written, time-unit and receive-timeout
// included, which stream.Config.Poller has no field for: scstPollers
// rewrites the section before decoding.
var streamPollerKeys = []string{"fixed-delay", "fixed-rate", "max-messages-per-poll", "cron", "initial-delay", "time-unit", "receive-timeout"}

// scstOnlyEnvKey resolves a variable's tokens (after STREAM_ or
// SPRING_CLOUD_STREAM_) to a key of SCSt's that the config layer adapts
// before decoding, so has no field to resolve against:
// SPRING_CLOUD_STREAM_POLLER_FIXED_DELAY is stream.poller.fixed-delay,
// SPRING_CLOUD_STREAM_SOURCE stream.source.
func scstOnlyEnvKey(tokens []string) ([]string, bool) {
	if len(tokens) == 1 && tokens[0] == "SOURCE" {
		return []string{"stream", "source"}, true // SCSt's output bindings list (a;b)
	}
	if len(tokens) < 2 || tokens[0] != "POLLER" {
		return nil, false
	}
	key := strings.ToLower(strings.Join(tokens[1:], "-"))
	for _, k := range streamPollerKeys {
		if k == key || strings.ReplaceAll(k, "-", "") == key {
			return []string{"stream", "poller", k}, true
		}
	}
	return nil, false
}
