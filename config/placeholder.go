package config

import (
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/streambind/streambind/redact"
)

// expandPlaceholders replaces every ${VAR} and ${VAR:default} in s with the
// value of environment variable VAR, or with default (itself expanded) when
// VAR is unset. A variable that is set but empty counts as set. The default
// may be empty and may contain ':'. A variable's value has its own
// placeholders resolved in turn, as Spring's PlaceholderParser resolves
// a placeholder's value (SimplePlaceholderPart.resolveToText): ${A} with
// A=${B}-x and B=b is b-x; a variable that refers back to itself,
// directly or through others, is a cycle, as Spring's "Circular
// placeholder reference". As Spring Framework 6.2's PlaceholderParser, a
// backslash escapes: \${ is the literal ${ (see expandObserved), \: in a
// name is a ':' of the name. It returns the problems found: unset
// variables without a default, empty names and cycles. A "${" with no
// closing '}' is no placeholder and stays as written, no problem, as in
// Spring.
//
// Each variable's value is expanded at most once, whether it resolves or
// fails (envExpander): A0='${A1}${A1}', A1='${A2}${A2}', ... with the
// last unset cost 2^depth expansions when only successes were remembered.
func expandPlaceholders(s string, env map[string]string) (string, []string) {
	e := newEnvExpander(env)
	return expandNested(s, e.lookup, 0)
}

// expandEnvValue is expandPlaceholders of the value of environment
// variable name, the variable on the chain first: a reference back to it
// is a cycle, and when it is a secret (redact.IsSecretKey: DB_PASSWORD)
// a problem with its value quotes nothing of it (secretValueProblem).
func expandEnvValue(name string, env map[string]string) (string, []string) {
	e := newEnvExpander(env)
	v := env[name]
	e.stack = append(e.stack, name)
	out, probs := expandNested(v, e.lookup, 0)
	if len(probs) > 0 && redact.IsSecretKey(name) {
		return v, []string{secretValueProblem(name)}
	}
	return out, probs
}

// envExpander resolves the placeholders of environment variables' values
// for expandPlaceholders. Each variable is expanded once: its value, or
// its problem, is remembered (done, failed), so that references repeated
// down a chain (A='${B}${B}', B='${C}${C}', ...) or around a cycle cost
// time linear in the variables and references, not exponential.
type envExpander struct {
	env        map[string]string
	done       map[string]string
	failed     map[string]string // the problem, as found (not masked)
	stack      []string
	expansions int // values expanded (each variable's at most once)
}

func newEnvExpander(env map[string]string) *envExpander {
	return &envExpander{env: env, done: map[string]string{}, failed: map[string]string{}}
}

func (e *envExpander) lookup(name string) (string, bool, string) {
	v, ok := e.env[name]
	if !ok || !strings.Contains(v, "${") {
		return v, ok, ""
	}
	if out, ok := e.done[name]; ok {
		return out, true, ""
	}
	if p, ok := e.failed[name]; ok {
		return "", false, e.mask(name, p)
	}
	if i := slices.Index(e.stack, name); i >= 0 {
		chain := make([]string, 0, len(e.stack)+1)
		for _, n := range append(e.stack[:len(e.stack):len(e.stack)], name) {
			chain = append(chain, "env "+n)
		}
		return "", false, e.mask(name, cycleProblem(chain))
	}
	if len(e.stack) >= maxPlaceholderDepth {
		return "", false, e.mask(name, fmt.Sprintf("placeholders in environment variables refer more than %d deep", maxPlaceholderDepth))
	}
	e.stack = append(e.stack, name)
	e.expansions++
	out, probs := expandNested(v, e.lookup, 0)
	e.stack = e.stack[:len(e.stack)-1]
	if len(probs) > 0 {
		for i, p := range probs {
			if !strings.HasPrefix(p, "placeholder cycle: ") && !strings.HasPrefix(p, "in the value of ") {
				probs[i] = "in the value of environment variable " + name + ": " + p
			}
		}
		p := strings.Join(probs, "; ")
		e.failed[name] = p
		return "", false, e.mask(name, p)
	}
	e.done[name] = out
	return out, true, ""
}

// mask returns problem, the problem of the variable name looked up, or,
// when that variable or one on the chain that led to it is a secret, the
// problem that quotes nothing of the secret's value (secretValueProblem):
// the names and text of its placeholders, or of the variables it refers
// to, come from it.
func (e *envExpander) mask(name, problem string) string {
	for _, n := range append(e.stack, name) {
		if redact.IsSecretKey(n) {
			return secretValueProblem(n)
		}
	}
	return problem
}

// secretValueProblem is the problem with the placeholders of the value of
// secret environment variable name (or of a variable it refers to): as
// secrets never appear in errors, neither its text nor the names it
// holds are quoted.
func secretValueProblem(name string) string {
	return "the value of environment variable " + name + " (a secret, not shown) has a placeholder that cannot be resolved"
}

// maxPlaceholderDepth bounds defaults nested in defaults
// (${A:${B:${C:x}}}): deeper nesting is refused rather than expanded in
// quadratic time.
const maxPlaceholderDepth = 16

// lookupFunc returns the value a placeholder name stands for and whether it
// is known; problem, when not empty, is why it cannot be used (a cycle),
// reported instead of the default being taken. A problem starting with
// unsetMark is reported only when there is no default: a name unset,
// said better than the usual message.
type lookupFunc func(name string) (value string, ok bool, problem string)

// unsetMark starts a lookupFunc's problem that stands for "not set" with
// its own message (see lookupFunc).
const unsetMark = "\x01"

func expandNested(s string, lookup lookupFunc, depth int) (string, []string) {
	return expandObserved(s, lookup, depth, nil)
}

// expandObserved is expandNested telling used, when not nil, of each
// placeholder replaced: its name and the text written in its place (the
// value, or the default expanded).
//
// A backslash right before "${" escapes it, as Spring Framework 6.2's
// PlaceholderParser (Boot 3.4+) does: the backslash is dropped and "${"
// is written as it is, the text after it read on as plain text (so
// \${X} is the literal ${X}, and \${A:${B}} is "${A:" then B's value
// then "}"); a default is read so too (${A:\${B}} defaults to the literal
// ${B}). As in Spring, the escape cannot itself be escaped (\\${X} is
// \ then the literal ${X}), and a "${" with no closing '}' is no
// placeholder to escape: \${X stays as written, backslash included.
func expandObserved(s string, lookup lookupFunc, depth int, used func(name, text string)) (string, []string) {
	if depth > maxPlaceholderDepth {
		return s, []string{fmt.Sprintf("placeholders nested more than %d deep", maxPlaceholderDepth)}
	}
	if !strings.Contains(s, "${") {
		return s, nil
	}
	var b strings.Builder
	var probs []string
	// add adds a problem once: a placeholder repeated (${X}${X}), or
	// names that lead to one failing variable or key, is one problem.
	add := func(ps ...string) {
		for _, p := range ps {
			if !slices.Contains(probs, p) {
				probs = append(probs, p)
			}
		}
	}
	c := braceCloser{s: s}
	off := 0 // s is c.s[off:]
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			b.WriteString(s)
			break
		}
		end := c.closing(off + i)
		if end >= 0 {
			end -= off
		}
		if escapedAt(s, i) {
			if end >= 0 {
				b.WriteString(s[:i-1]) // the escape dropped
			} else {
				b.WriteString(s[:i]) // no placeholder: as written
			}
			b.WriteString("${")
			s, off = s[i+2:], off+i+2
			continue
		}
		b.WriteString(s[:i])
		if end < 0 {
			// No placeholder: as Spring Framework 6.2's PlaceholderParser
			// ("not a valid placeholder, consume the prefix and
			// continue"), the "${" is text and the rest is read on
			// (ab${A stays ab${A; ${A ${B} is "${A " then B's value).
			b.WriteString("${")
			s, off = s[i+2:], off+i+2
			continue
		}
		whole, inner := s[i:end+1], s[i+2:end]
		name, def, hasDef := splitDefault(inner)
		switch {
		case name == "":
			add(fmt.Sprintf("placeholder %s names no variable", quoteShort(whole)))
			b.WriteString(whole)
		case strings.ContainsAny(name, "${}"):
			add(fmt.Sprintf("placeholder %s: a variable name cannot contain '$', '{' or '}'", quoteShort(whole)))
			b.WriteString(whole)
		default:
			val, ok, problem := lookup(name)
			unset, isUnset := strings.CutPrefix(problem, unsetMark)
			switch {
			case problem != "" && !isUnset:
				add(problem) // x: ${x}${x}: one cycle
				b.WriteString(whole)
			case ok:
				b.WriteString(val)
				if used != nil {
					used(name, val)
				}
			case hasDef:
				d, p := expandObserved(def, lookup, depth+1, used)
				add(p...)
				b.WriteString(d)
				if used != nil && len(p) == 0 {
					used(name, d)
				}
			case isUnset:
				add(unset)
			case isEnvName(name):
				add(fmt.Sprintf("environment variable %s is not set (placeholder ${%s}; write ${%s:default} to give a default)", name, name, name))
			default:
				add(fmt.Sprintf("placeholder ${%s}: no configuration key %s and no environment variable %s is set (write ${%s:default} to give a default)", name, name, relaxedEnvName(name), name))
			}
		}
		s, off = s[end+1:], off+end+1
		if b.Len() > maxExpandedBytes {
			return b.String()[:maxExpandedBytes], append(probs, fmt.Sprintf("%s %d KiB as its placeholders are replaced", growsPast, maxExpandedBytes>>10))
		}
	}
	return b.String(), probs
}

// escapedAt reports whether the "${" at i of s is escaped: a backslash
// right before it (Spring's PlaceholderParser.isEscaped).
func escapedAt(s string, i int) bool {
	return i > 0 && s[i-1] == '\\'
}

// splitDefault splits the text between "${" and '}' into the name and the
// default, at the first ':' not escaped. As Spring Framework 6.2's
// PlaceholderParser.splitKeyAndDefault, "\:" before it is a ':' of the
// name, its backslash dropped (${gsm\://one} names gsm://one); the default
// is the text after it, as written (its placeholders expanded in turn, a
// "\:" in it kept as it is, as in Spring).
func splitDefault(inner string) (name, def string, hasDef bool) {
	if !strings.Contains(inner, "\\:") {
		return strings.Cut(inner, ":")
	}
	var b strings.Builder
	for rest := inner; ; {
		j := strings.IndexByte(rest, ':')
		switch {
		case j < 0:
			b.WriteString(rest)
			return b.String(), "", false
		case j > 0 && rest[j-1] == '\\':
			b.WriteString(rest[:j-1])
			b.WriteByte(':')
			rest = rest[j+1:]
		default:
			b.WriteString(rest[:j])
			return b.String(), rest[j+1:], true
		}
	}
}

// growsPast begins the problem of a value past maxExpandedBytes.
const growsPast = "the value grows past"

// maxExpandedBytes bounds a value after its placeholders are replaced:
// keys that refer to each other several times each must not build a
// value of exponential size.
const maxExpandedBytes = 1 << 20

// isEnvName reports whether a placeholder name reads as an environment
// variable (upper case, digits and '_') rather than a key path.
func isEnvName(name string) bool {
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !('A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// relaxedEnvName is the variable that stands for key path name, as Spring
// Boot reads it: upper case, '.' and '-' as '_' (server.port → SERVER_PORT).
func relaxedEnvName(name string) string {
	return strings.ToUpper(envNameReplacer.Replace(name))
}

// envNameReplacer is relaxedEnvName's, built once: a Replacer built at
// each call cost most of a placeholder's lookup.
var envNameReplacer = strings.NewReplacer(".", "_", "-", "_", "[", "_", "]", "")

// dotDashReplacer is springEnvNames', built once.
var dotDashReplacer = strings.NewReplacer(".", "_", "-", "_")

// closingBrace returns the index of the '}' that closes a placeholder whose
// name starts at from, or -1. As Spring Framework 6.2's
// PlaceholderParser.nextValidEndPrefix, every '{' opens a level that a
// '}' closes (its "simple prefix" of the suffix '}'), not only "${":
// ${A:{x}} defaults to {x}, and ${A:{x} has no closing '}' (no
// placeholder, taken as written).
func closingBrace(s string, from int) int {
	depth := 1
	for j := from; j < len(s); j++ {
		switch {
		case s[j] == '{':
			depth++
		case s[j] == '}':
			depth--
			if depth == 0 {
				return j
			}
		}
	}
	return -1
}

// braceCloser answers closingBrace for the "${" of one text in linear
// time over all of them: each "${" with no closing '}' scans the rest of
// the text, and as Spring's PlaceholderParser reads on after it, a text
// full of "${" (or of escaped "\${" closed only at its end) would cost
// time quadratic in its length (a 1 MiB value, minutes). Once the scans
// have read more than twice the text, the '}' closing each '{' is found
// in one pass instead (the same answer: the '}' that brings the count of
// '{' opened since back to zero).
type braceCloser struct {
	s       string
	scanned int
	match   []int32 // once built: for a '{' at i, its '}' or -1
}

// closing returns the index in c.s of the '}' closing the placeholder
// whose "${" is at i, or -1.
func (c *braceCloser) closing(i int) int {
	if c.match == nil {
		if c.scanned <= 2*len(c.s) || len(c.s) > math.MaxInt32 {
			end := closingBrace(c.s, i+2)
			if end < 0 {
				c.scanned += len(c.s) - i
			} else {
				c.scanned += end - i
			}
			return end
		}
		c.match = make([]int32, len(c.s))
		var open []int32
		for j := 0; j < len(c.s); j++ {
			switch c.s[j] {
			case '{':
				c.match[j] = -1
				open = append(open, int32(j))
			case '}':
				if n := len(open); n > 0 {
					c.match[open[n-1]] = int32(j)
					open = open[:n-1]
				}
			}
		}
	}
	return int(c.match[i+1])
}

// quoteShort quotes s, cut to a readable length.
func quoteShort(s string) string {
	const limit = 60
	if len(s) > limit {
		return strconv.Quote(s[:limit]) + "..."
	}
	return strconv.Quote(s)
}

// placeholders resolves the placeholders of a whole merged tree as
// Spring Boot's ConfigurationPropertySourcesPropertyResolver does. A
// name that is a Spring property name (ConfigurationPropertyName: lower
// case, digits and '-' between dots, [indexes]) is looked up relaxed:
// the environment variable NAME, the variable that stands for key path
// NAME (SERVER_PORT for ${server.port:8080}), then the key NAME of the
// configuration itself (spring.cloud.stream.x is stream.x, camelCase and
// kebab-case match), whose own placeholders are resolved first. Any other
// name (${PORT}, ${DATABASE_URL}, ${MyKey}) is looked up by its exact
// name: the variables Spring's SystemEnvironmentPropertySource tries
// (springEnvNames), then a key the files spell exactly so (writtenNames:
// a .env file imported as properties), never a key of another case
// (${PORT} is not port:). A key that refers back to itself, directly or
// through others, is a cycle: reported once with the chain, and its keys
// left unresolved.
type placeholders struct {
	root map[string]any
	env  map[string]string
	// written holds the property names the files spell (writtenNames):
	// a name that is not a Spring property name (${PORT}, ${MyKey}) is
	// looked up by its exact name, as Spring Boot does.
	written map[string]bool
	done    map[string]string // key path → resolved value
	// random holds the key paths (and "env NAME"s) whose values drew a
	// ${random.*} value, directly or through a key or variable they
	// refer to: as in Spring Boot, whose RandomValuePropertySource is
	// asked again each time a placeholder resolves (spring-boot#7009),
	// each reference to such a key resolves it anew, drawing a value of
	// its own (a: ${random.uuid}, b: ${a}: b's UUID is not a's). Their
	// resolved values are not reused (done, envDone keep the last);
	// unresolved holds such a key's value as written, which the walk
	// replaces in the tree.
	random     map[string]bool
	unresolved map[string]string
	// failed maps a key path that could not be resolved to its own
	// problems (none: another key's, reported there). Failures are
	// remembered like successes, so that every key is expanded at most
	// once: keys that refer to others several times each
	// (k0=${k1}${k1}, k1=${k2}${k2}, ...) cost linear time, not 2^n.
	failed  map[string][]string
	inCycle map[string]bool // key paths on a cycle (reported once)
	stack   []string        // key paths being resolved
	// deep, when set, is the problem of a chain of references too deep:
	// reported at the key the walk started from, not at each key of the
	// chain.
	deep string
	// deepTail holds the keys a refused chain goes on through past the
	// key it was refused at: a walk that starts at one of them meets the
	// same chain, reported once already (one chain, one problem).
	deepTail map[string]bool
	// total counts the bytes that expansion produced, bounded by
	// maxTotalExpanded: many keys each holding a copy of a large one
	// must not exhaust memory.
	total      int
	overBudget bool
	// subs counts the placeholders looked up, bounded by
	// maxSubstitutions: a key that drew a random value is resolved anew
	// at each reference, so a chain k0: ${random.int}, k1: ${k0}${k0},
	// ... costs 2^n lookups (n=17: 21 s of start-up).
	subs       int
	overSubs   bool
	secretKeys map[string]bool // isSecretKey's answers
	// squashed indexes the keys of each map looked up by squashed key
	// (first in order), so that many placeholders over a large map cost
	// one index each, not a sort each.
	squashed map[uintptr]map[string]string
	// fail reports a problem at a key path; mark leaves a key path
	// unresolved without a report of its own.
	fail     func(path, msg string)
	mark     func(path string)
	expanded func(path, from string)
	// literal, when not nil, tells the key paths whose values are taken
	// as they are (a configuration tree's).
	literal func(path string) bool
	// secret holds the key paths whose values placeholders naming a
	// secret filled in, wholly or partly (directly, or through a key that
	// one such filled); secrets, the text those placeholders gave.
	secret  map[string]bool
	secrets *redact.Values
	// envDone and envFailed hold the environment variables whose values
	// placeholders were resolved ("env NAME": the value, or the problem);
	// secretVar, those ("env NAME") whose values a placeholder naming a
	// secret filled in.
	envDone   map[string]string
	envFailed map[string]string
	secretVar map[string]bool
}

// inherited marks a problem that is another key's, reported there: the
// key that refers to it is left unresolved without a report of its own.
const inherited = "\x00"

// maxReferenceDepth bounds chains of keys referring to keys.
const maxReferenceDepth = 64

// maxSubstitutions bounds the placeholders one Load looks up, together:
// a configuration needs far fewer; a chain of references that doubles
// at each key (through a random value, resolved anew at each reference)
// far more.
const maxSubstitutions = 100_000

// maxTotalExpanded bounds the bytes all the keys' placeholders expand to,
// together.
const maxTotalExpanded = 64 << 20

// resolvePlaceholders expands the placeholders of every string in tree
// root, in place, but those of the key paths literal (when not nil)
// reports: a configuration tree's values are taken as they are, as Spring
// Boot's ConfigTreePropertySource values are not Strings, which alone
// PropertySourcesPlaceholdersResolver resolves. Each problem is reported through fail with the key path;
// mark is told of the keys left unresolved because of another key's
// problem.
//
// expanded, when not nil, is told of each key whose value placeholders
// changed, with what names them (see placeholderNames), so that a problem
// with the value can say where it came from.
//
// It returns the key paths (as the tree spells them) whose values came,
// wholly or partly, from a placeholder whose variable or property name is
// a secret (redact.IsSecretKey: ${DB_PASSWORD}, ${spring.rabbitmq.password}),
// or from a key that did, and the text such placeholders gave: the key a
// value lands in does not say it is secret (max-attempts: ${DB_PASSWORD}).
//
// written holds the property names the files spell (writtenNames), which
// a name that is no Spring property name must be one of.
func resolvePlaceholders(root map[string]any, env map[string]string, written map[string]bool, literal func(path string) bool, fail func(path, msg string), mark func(path string), expanded func(path, from string)) (secretPaths map[string]bool, secrets *redact.Values) {
	r := &placeholders{root: root, env: env, written: written, done: map[string]string{}, failed: map[string][]string{}, random: map[string]bool{}, unresolved: map[string]string{},
		inCycle: map[string]bool{}, deepTail: map[string]bool{}, fail: fail, mark: mark, expanded: expanded, literal: literal,
		secret: map[string]bool{}, secrets: &redact.Values{},
		envDone: map[string]string{}, envFailed: map[string]string{}, secretVar: map[string]bool{}}
	r.walk(root, "")
	return r.secret, r.secrets
}

// secretName reports whether placeholder name stands for a secret: its
// name is a secret key, or it refers to a key that is one or whose value
// such a placeholder filled.
func (r *placeholders) secretName(name string) bool {
	if r.isSecretKey(name) {
		return true
	}
	if n, _, inEnv := r.envVar(name); inEnv {
		return r.secretVar["env "+n] // its value's placeholders named one
	}
	path, _, found := r.findName(name)
	return found && (r.secret[path] || r.isSecretKey(path))
}

// isSecretKey is redact.IsSecretKey, remembered per name: each
// placeholder asks it, and a random value's references are resolved
// anew each time.
func (r *placeholders) isSecretKey(name string) bool {
	s, ok := r.secretKeys[name]
	if !ok {
		s = redact.IsSecretKey(name)
		if r.secretKeys == nil {
			r.secretKeys = map[string]bool{}
		}
		r.secretKeys[name] = s
	}
	return s
}

// envValue returns the environment variable that placeholder name stands
// for: for a Spring property name, NAME itself or the variable of key
// path NAME (SERVER_PORT); for another name, the first that is set of
// the names Spring's SystemEnvironmentPropertySource tries.
func (r *placeholders) envValue(name string) (string, bool) {
	_, v, ok := r.envVar(name)
	return v, ok
}

// envVar is envValue with the variable's name.
func (r *placeholders) envVar(name string) (string, string, bool) {
	return envVarOf(r.env, name)
}

// envVarOf is the name and value of the variable of env that placeholder
// name stands for (see placeholders.envValue).
func envVarOf(env map[string]string, name string) (string, string, bool) {
	if !springPropertyName(name) {
		for _, n := range springEnvNames(name) {
			if v, ok := env[n]; ok {
				return n, v, true
			}
		}
		return "", "", false
	}
	if v, ok := env[name]; ok {
		return name, v, true
	}
	// Spring Boot's SystemEnvironmentPropertyMapper tries the name with
	// its dashes removed (my.input-topic → MY_INPUTTOPIC, the form Boot's
	// reference documents) before the legacy one with dashes as '_'
	// (MY_INPUT_TOPIC).
	if strings.Contains(name, "-") {
		u := strings.ReplaceAll(name, "-", "")
		if u != "" && u[0] != '.' && !strings.Contains(u, "..") {
			u = relaxedEnvName(u)
			if v, ok := env[u]; ok {
				return u, v, true
			}
		}
	}
	n := relaxedEnvName(name)
	v, ok := env[n]
	return n, v, ok
}

// chainStart returns where on the stack the chain of a cycle that starts
// at i is shown from: with the links that led into it (ENV_PREFIX='${A}',
// A='${B}', B='${A}': env ENV_PREFIX → env A → env B → env A), but for
// the key being resolved first, where the problem is reported.
func (r *placeholders) chainStart(i int) int {
	if i == 0 || strings.HasPrefix(r.stack[0], "env ") {
		return 0
	}
	return 1
}

// cycleProblem is the problem of a placeholder cycle: chain holds the
// keys and variables ("env NAME") met from the first the value's
// placeholders led to, the last repeating the one where the cycle starts.
func cycleProblem(chain []string) string {
	last := chain[len(chain)-1]
	members := chain[slices.Index(chain, last) : len(chain)-1]
	them := members[0]
	if n := len(members); n > 1 {
		them = strings.Join(members[:n-1], ", ") + " or " + members[n-1]
	}
	return "placeholder cycle: " + strings.Join(chain, " → ") + "; set " + them + " to a value without a placeholder"
}

// envResolved is lookup's answer for placeholder name, which the
// environment variable of value v stands for: v with its own
// placeholders resolved, as Spring's PlaceholderParser resolves a
// placeholder's value in turn (SimplePlaceholderPart.resolveToText),
// whatever property source gave it: ${A} with A=${B}-x and B=b is b-x.
// A variable on the chain being resolved is a cycle (A=${B}, B=${A}; or
// a key whose variable refers back to it), reported with the chain, as
// Spring refuses it ("Circular placeholder reference"). Each variable is
// resolved once.
func (r *placeholders) envResolved(name, n, v string) (string, bool, string) {
	if !strings.Contains(v, "${") {
		return v, true, ""
	}
	at := "env " + n // its place on the stack, beside key paths
	if s, ok := r.envDone[at]; ok && !r.random[at] {
		return s, true, ""
	}
	if p, ok := r.envFailed[at]; ok {
		return "", false, r.maskSecret(at, p)
	}
	for i, p := range r.stack {
		if p == at {
			chain := append(append([]string(nil), r.stack[r.chainStart(i):]...), at)
			for _, q := range r.stack[i:] {
				r.inCycle[q] = true
			}
			return "", false, r.maskSecret(at, cycleProblem(chain))
		}
	}
	if len(r.stack) >= maxReferenceDepth {
		return "", false, r.maskSecret(at, fmt.Sprintf("placeholders refer through more than %d keys and variables (%s)", maxReferenceDepth, chainShort(append(r.stack, at))))
	}
	r.stack = append(r.stack, at)
	secret := false
	out, probs := expandObserved(v, r.lookup, 0, func(name, _ string) {
		if r.secretName(name) {
			secret = true
		}
	})
	r.stack = r.stack[:len(r.stack)-1]
	if len(probs) == 0 {
		r.envDone[at] = out
		if secret {
			r.secretVar[at] = true
		}
		return out, true, ""
	}
	own := make([]string, 0, len(probs))
	for _, p := range probs {
		switch {
		case p == inherited:
		case strings.HasPrefix(p, "placeholder cycle: "), strings.HasPrefix(p, "in the value of "):
			own = append(own, p) // names the chain, or the variable
		default:
			own = append(own, "in the value of environment variable "+n+" (placeholder ${"+name+"}): "+p)
		}
	}
	problem := inherited
	if len(own) > 0 {
		problem = strings.Join(own, "; ")
	}
	r.envFailed[at] = problem
	return "", false, r.maskSecret(at, problem)
}

// maskSecret returns problem, that of the variable at ("env NAME") a
// placeholder names, or, when that variable or one on the chain of keys
// and variables that led to it is a secret (redact.IsSecretKey:
// DB_PASSWORD), the problem that quotes nothing of the secret's value
// (secretValueProblem): the text and names of its placeholders, and of
// the variables it refers to, come from it. A key's value written in a
// file is no secret's value to hide: its placeholders' names are shown.
func (r *placeholders) maskSecret(at, problem string) string {
	if problem == inherited {
		return problem
	}
	return maskSecretChain(r.stack, at, problem)
}

// maskSecretChain returns problem, met resolving at after the keys and
// variables ("env NAME") of chain, or secretValueProblem when one of the
// variables is a secret.
func maskSecretChain(chain []string, at, problem string) string {
	for _, p := range append(chain[:len(chain):len(chain)], at) {
		if n, ok := strings.CutPrefix(p, "env "); ok && redact.IsSecretKey(n) {
			return secretValueProblem(n)
		}
	}
	return problem
}

// notExact returns, for a name that is no Spring property name and names
// no key as written, the problem saying that it is looked up by its exact
// name when a key matches it relaxed (${PORT} beside port:, ${myApp.x}
// beside my-app.x: Spring Boot does not match them), with the name to
// write for that key; "" otherwise.
func (r *placeholders) notExact(name string) string {
	if springPropertyName(name) {
		return ""
	}
	fix := strings.ReplaceAll(strings.ToLower(name), "_", "-")
	if !springPropertyName(fix) {
		return ""
	}
	path, v, found := r.find(fix)
	if !found || slices.Contains(r.stack, path) {
		return ""
	}
	switch v.(type) {
	case map[string]any, []any, nil:
		return ""
	}
	what := "no property " + name + " is set"
	if isEnvName(name) {
		what = "environment variable " + name + " is not set"
	}
	return unsetMark + fmt.Sprintf("%s (placeholder ${%s}; the key %s does not stand for it: as in Spring Boot, a name that is not in lower case with '-' is looked up by its exact name, not relaxed; write ${%s} for the key, or ${%s:default} to give a default)", what, name, path, fix, name)
}

// findName is find for placeholder name: a name that is no Spring
// property name finds only a key the files spell exactly so.
func (r *placeholders) findName(name string) (string, any, bool) {
	if springPropertyName(name) {
		return r.find(name)
	}
	if !r.written[name] {
		return "", nil, false
	}
	return r.findExact(name)
}

func (r *placeholders) walk(v any, path string) any {
	switch v := v.(type) {
	case map[string]any:
		for _, k := range sortedKeys(v) {
			p := k
			if path != "" {
				p = path + "." + k
			}
			v[k] = r.walk(v[k], p)
		}
		return v
	case []any:
		for i, it := range v {
			v[i] = r.walk(it, path+"["+strconv.Itoa(i)+"]")
		}
		return v
	case string:
		if s, ok := r.done[path]; ok && !r.random[path] {
			return s
		}
		if r.inCycle[path] {
			r.mark(path) // the cycle is reported where it was found
			return v
		}
		if own, ok := r.failed[path]; ok {
			// Found failing when another key referred to it: its own
			// problems are reported here, once.
			r.report(path, own)
			return v
		}
		s, _ := r.resolve(path, v, true)
		return s
	default:
		return v
	}
}

// report reports the own problems of the key at path, or marks it
// unresolved when it has none.
func (r *placeholders) report(path string, own []string) {
	if len(own) == 0 {
		r.mark(path)
		return
	}
	for _, p := range own {
		r.fail(path, p)
	}
}

// resolve expands s, the value of the key at path, and reports whether it
// could. top: the walk asked, not a reference: problems are reported (at
// path) only then; a reference's are remembered for the walk to report.
func (r *placeholders) resolve(path, s string, top bool) (string, bool) {
	if r.literal != nil && r.literal(path) {
		r.done[path] = s
		return s, true
	}
	r.stack = append(r.stack, path)
	var secret []string
	fromSecret := false
	out, probs := expandObserved(s, r.lookup, 0, func(name, text string) {
		if !r.secretName(name) {
			return
		}
		fromSecret = true
		if redact.IsConnectionKey(name) {
			// A DSN's password, not its scheme, user and host: the
			// whole text, a value, hid every "postgres" of a message
			// (Values hides a start of one cut short).
			secret = append(secret, redact.ConnectionSecrets(text)...)
			return
		}
		secret = append(secret, text)
	})
	r.stack = r.stack[:len(r.stack)-1]
	if len(probs) == 0 && fromSecret {
		r.secret[path] = true
		for _, t := range secret {
			r.secrets.Add(t)
		}
	}
	if len(probs) == 0 && out != s {
		r.total += len(out)
		switch {
		case r.total > maxTotalExpanded && !r.overBudget:
			r.overBudget = true
			probs = []string{fmt.Sprintf("placeholders expand the configuration past %d MiB in all (this key's value: %d bytes; the keys expanded after it are left unresolved)", maxTotalExpanded>>20, len(out))}
		case r.overBudget:
			probs = []string{inherited} // reported once, at the first key past the budget
		}
	}
	if len(probs) == 0 {
		r.done[path] = out
		if r.random[path] {
			r.unresolved[path] = s
		}
		if top && out != s && r.expanded != nil {
			if names := placeholderNames(s); names != "" { // not only escapes
				r.expanded(path, names)
			}
		}
		return out, true
	}
	own := make([]string, 0, len(probs))
	for _, p := range probs {
		// A chain too deep is reported once, where the walk started; a
		// walk that starts further down a refused chain meets that chain
		// (or the growth of its values) again: not reported twice.
		sameChain := r.deepTail[path] && (p == r.deep || strings.HasPrefix(p, growsPast))
		if p != inherited && (top || p != r.deep) && !sameChain {
			own = append(own, p)
		}
	}
	if top {
		r.deep = ""
		r.report(path, own)
		own = nil // reported: a key referring to it inherits it
	}
	r.failed[path] = own
	return s, false
}

func (r *placeholders) lookup(name string) (string, bool, string) {
	if r.subs++; r.subs > maxSubstitutions {
		if r.overSubs || r.deep != "" {
			return "", false, inherited // reported once, at the key the walk started from
		}
		r.overSubs = true
		// Reported where the walk started (as a chain too deep), not at
		// each key on the way.
		r.deep = fmt.Sprintf("placeholder expansion of %s exceeds %d substitutions: a chain of references? (a key that draws a ${random.*} value is resolved anew at each reference; the keys expanded after it are left unresolved)", r.stack[0], maxSubstitutions)
		return "", false, r.deep
	}
	if n, v, ok := r.envVar(name); ok {
		return r.envResolved(name, n, v)
	}
	if !isEnvName(name) {
		// Spring Boot's random values come after the environment and
		// before the configuration files.
		if v, ok, problem := randomValue(name); ok || problem != "" {
			if ok {
				for _, p := range r.stack {
					r.random[p] = true // drawn anew at each reference
				}
			}
			return v, ok, problem
		}
	}
	// A name in upper case (${KAFKA_BROKERS}) is looked up in the files
	// too, as Spring looks it up in every property source: a .env file
	// imported as properties (optional:file:.env[.properties]) holds it,
	// by its exact name.
	path, v, found := r.findName(name)
	if !found {
		return "", false, r.notExact(name)
	}
	if isEnvName(name) {
		switch v.(type) {
		case map[string]any, []any:
			// ${SERVER:localhost} beside a server: section, ${MYAPP}
			// beside myapp: stands for a variable, not for the section
			// (Spring looks up the property SERVER, which a section
			// is not): its default, or "not set", as before the
			// configuration was looked in.
			return "", false, ""
		}
	}
	for i, p := range r.stack {
		if p == path {
			if isEnvName(name) {
				// port: ${PORT:8080}, database-url: ${DATABASE_URL:...}:
				// the variable that overrides the key, with a default,
				// not the key itself (Spring looks up the property PORT,
				// which the key port is not): its default, or "not
				// set", as before the configuration was looked in.
				return "", false, ""
			}
			chain := append(append([]string(nil), r.stack[r.chainStart(i):]...), path)
			for _, q := range r.stack[i:] {
				r.inCycle[q] = true
			}
			return "", false, cycleProblem(chain)
		}
	}
	switch v := v.(type) {
	case string:
		if s, ok := r.done[path]; ok && !r.random[path] {
			return s, true, ""
		}
		if w, ok := r.unresolved[path]; ok {
			v = w // the tree holds a value drawn already
		}
		if r.inCycle[path] {
			return "", false, inherited // reported where the cycle was found
		}
		if _, ok := r.failed[path]; ok {
			return "", false, inherited // remembered: reported at the key or where the walk started
		}
		if r.deep != "" {
			return "", false, inherited // the chain is already refused
		}
		if len(r.stack) >= maxReferenceDepth {
			// Refused before any work, the whole chain named.
			r.deep = fmt.Sprintf("placeholders refer through more than %d keys (%s)", maxReferenceDepth, chainShort(append(r.stack, path)))
			r.markTail(path)
			return "", false, r.deep
		}
		out, ok := r.resolve(path, v, false)
		switch {
		case ok:
			return out, true, ""
		case r.inCycle[path] && len(r.failed[path]) > 0:
			return "", false, r.failed[path][0]
		case r.deep != "":
			return "", false, r.deep
		}
		return "", false, inherited
	case nil:
		return "", false, ""
	case map[string]any:
		// Spring finds no property my.binder beside my.binder.x (nor p
		// beside p[0]): the default, if any, is taken.
		return "", false, unsetMark + "placeholder ${" + name + "}: the key " + path + " holds a map, not a value"
	case []any:
		return "", false, unsetMark + "placeholder ${" + name + "}: the key " + path + " holds a list, not a value"
	default:
		s, _ := toString(v)
		return s, true, ""
	}
}

// markTail adds to deepTail the keys that the key at path refers to,
// directly or through others, without expanding them: each key is read
// once over all chains, however long they are.
func (r *placeholders) markTail(path string) {
	todo := []string{path}
	for len(todo) > 0 {
		p := todo[len(todo)-1]
		todo = todo[:len(todo)-1]
		if r.deepTail[p] {
			continue
		}
		r.deepTail[p] = true
		if r.literal != nil && r.literal(p) {
			continue
		}
		_, v, found := r.find(p)
		s, ok := v.(string)
		if !found || !ok {
			continue
		}
		expandNested(s, func(name string) (string, bool, string) {
			if _, inEnv := r.envValue(name); !inEnv {
				if q, _, ok := r.findName(name); ok && !r.deepTail[q] {
					todo = append(todo, q)
				}
			}
			return "", true, ""
		}, 0)
	}
}

// chainShort joins a chain of key paths with arrows, its middle cut when
// long.
func chainShort(chain []string) string {
	if len(chain) > 6 {
		return strings.Join(chain[:3], " → ") + " → … → " + strings.Join(chain[len(chain)-3:], " → ")
	}
	return strings.Join(chain, " → ")
}

// find returns the key path (as the tree spells it) and value of the key
// that name refers to. Keys compare relaxed (squashed: maxAttempts,
// max-attempts and max_attempts are one key); spring.cloud.stream.* is
// stream.*, spring.cloud.function.definition is stream.function.definition;
// a[0] is an item of list a.
func (r *placeholders) find(name string) (string, any, bool) {
	return r.findIn(name, squash)
}

// findExact is find with the keys compared as the files spell them: a
// key of the merged tree is in lower case (viper lower-cases it) unless
// it is a name or map key respelled as written; so a segment is that key
// or its lower case, not one equal when squashed (${MyKey} is MyKey:, not
// my-key:). writtenNames says whether the files spell it so.
func (r *placeholders) findExact(name string) (string, any, bool) {
	return r.findIn(name, nil)
}

// findIn is find with keys compared relaxed (by fold, squash) or, when
// fold is nil, exactly.
func (r *placeholders) findIn(name string, fold func(string) string) (string, any, bool) {
	segs := strings.Split(name, ".")
	same := func(seg, want string) bool {
		if fold == nil {
			return seg == want
		}
		return fold(seg) == want
	}
	switch {
	case len(segs) >= 3 && same(segs[0], "spring") && same(segs[1], "cloud") && same(segs[2], "stream"):
		segs = append([]string{"stream"}, segs[3:]...)
	case len(segs) == 4 && same(segs[0], "spring") && same(segs[1], "cloud") && same(segs[2], "function") && same(segs[3], "definition"):
		segs = []string{"stream", "function", "definition"}
	}
	return r.findSegs(r.root, segs, "", fold)
}

// findSegs finds the key path segs below cur (path: cur's key path). A key
// of the tree may hold dots (app: {kafka.topic: x}, or a free map's key
// that matchSpellings gave a base file's dotted spelling): as in Spring
// Boot, where a YAML file is flattened to .properties names, it is found
// by the segments it joins, the fewest first (${app.kafka.topic} is
// app.kafka.topic however the files split it).
func (r *placeholders) findSegs(cur any, segs []string, path string, fold func(string) string) (string, any, bool) {
	if len(segs) == 0 {
		return path, cur, true
	}
	m, ok := cur.(map[string]any)
	if !ok {
		return "", nil, false
	}
	for n := 1; n <= len(segs); n++ {
		if n > 1 && strings.ContainsAny(segs[n-2], "[]") {
			break // an index ends a key
		}
		key, idx := segs[n-1], []int(nil)
		for strings.HasSuffix(key, "]") {
			j := strings.LastIndexByte(key, '[')
			if j < 0 {
				return "", nil, false
			}
			i, err := strconv.Atoi(key[j+1 : len(key)-1])
			if err != nil || i < 0 {
				return "", nil, false
			}
			idx = append([]int{i}, idx...)
			key = key[:j]
		}
		if key == "" {
			return "", nil, false
		}
		if n > 1 {
			key = strings.Join(segs[:n-1], ".") + "." + key
		}
		var k string
		found := false
		if fold == nil {
			k, found = exactKey(m, key)
		} else {
			k, found = r.key(m, key)
		}
		if !found {
			continue
		}
		p := k
		if path != "" {
			p = path + "." + k
		}
		v, item := m[k], true
		for _, i := range idx {
			l, ok := v.([]any)
			if item = ok && i < len(l); !item {
				break
			}
			p += "[" + strconv.Itoa(i) + "]"
			v = l[i]
		}
		if !item {
			continue
		}
		if fp, fv, ok := r.findSegs(v, segs[n:], p, fold); ok {
			return fp, fv, true
		}
	}
	return "", nil, false
}

// exactKey returns the key of m that key is as written: itself, or its
// lower case (viper's spelling of a key that is not respelled).
func exactKey(m map[string]any, key string) (string, bool) {
	if _, ok := m[key]; ok {
		return key, true
	}
	if lk := strings.ToLower(key); lk != key {
		if _, ok := m[lk]; ok {
			return lk, true
		}
	}
	return "", false
}

// springPropertyName reports whether name is a valid Spring Boot
// ConfigurationPropertyName (ConfigurationPropertyName.of(name, true) is
// not null): elements separated by '.', each of lower-case letters,
// digits and '-' (not first), or an index in brackets holding anything.
// Spring Boot's ConfigurationPropertySourcesPropertyResolver looks such a
// name up relaxed (server.port is SERVER_PORT, serverPort, server-port),
// any other (PORT, DATABASE_URL, myApp.url) by its exact name in each
// property source. As Spring's ElementsParser, an element made only of
// characters that are invalid in any case ('_', "a._") is dropped, not
// invalid.
func springPropertyName(name string) bool {
	if name == "" || name[0] == '.' || name[len(name)-1] == '.' {
		return false
	}
	const (
		empty = iota
		uniform
		nonUniform
		indexed
	)
	valid := func(c byte, i int) bool {
		return 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || i != 0 && c == '-'
	}
	typ, start, open := empty, 0, 0
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c == '[':
			if open == 0 {
				if typ == nonUniform {
					return false
				}
				start, typ = i+1, indexed
			}
			open++
		case c == ']':
			open--
			if open == 0 {
				start, typ = i+1, empty
			}
		case typ != indexed && c == '.':
			if typ == nonUniform {
				return false
			}
			start, typ = i+1, empty
		case typ == indexed:
		default:
			j := i - start
			switch {
			case typ == empty && valid(c, j):
				if j == 0 {
					typ = uniform
				} else {
					typ = nonUniform
				}
			case !valid(c, j):
				if typ == empty && !valid(lowerASCII(c), j) {
					break
				}
				typ = nonUniform
			}
		}
	}
	return open == 0 && typ != nonUniform
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// springEnvNames are the variables Spring's SystemEnvironmentPropertySource
// tries for a property name, in order: the name, with '.' as '_', with
// '-' as '_', with both; then the same of the name in upper case.
func springEnvNames(name string) []string {
	names := make([]string, 0, 8)
	add := func(n string) {
		for _, m := range names {
			if m == n {
				return
			}
		}
		names = append(names, n)
	}
	for _, n := range []string{name, strings.ToUpper(name)} {
		add(n)
		add(strings.ReplaceAll(n, ".", "_"))
		add(strings.ReplaceAll(n, "-", "_"))
		add(dotDashReplacer.Replace(n))
	}
	return names
}

// writtenNames adds to names the property names document y spells, as
// Spring Boot flattens a file into a property source: keys joined by '.'
// as written (a key in brackets, or a .properties key holding dots, as
// [key]), list items as [i]; only those holding a value. A name under
// spring.cloud.stream is added under stream too, and the other way round
// (the alias streambind reads), as is spring.cloud.function.definition.
func writtenNames(y *ynode, names map[string]bool) {
	var walk func(y *ynode, prefix string)
	walk = func(y *ynode, prefix string) {
		if y == nil {
			return
		}
		switch y.kind {
		case yaml.MappingNode:
			for _, e := range y.entries {
				var p string
				switch {
				case strings.HasPrefix(e.key, "["):
					p = prefix + e.key
				case e.literal && strings.Contains(e.key, "."):
					p = prefix + "[" + e.key + "]"
				case prefix == "":
					p = e.key
				default:
					p = prefix + "." + e.key
				}
				walk(e.val, p)
			}
		case yaml.SequenceNode:
			for i, it := range y.items {
				walk(it, prefix+"["+strconv.Itoa(i)+"]")
			}
		default:
			if prefix == "" {
				return
			}
			names[prefix] = true
			switch {
			case prefix == "spring.cloud.function.definition":
				names["stream.function.definition"] = true
			case prefix == "stream.function.definition":
				names["spring.cloud.function.definition"] = true
			case strings.HasPrefix(prefix, "spring.cloud.stream."):
				names["stream."+strings.TrimPrefix(prefix, "spring.cloud.stream.")] = true
			case strings.HasPrefix(prefix, "stream."):
				names["spring.cloud.stream."+strings.TrimPrefix(prefix, "stream.")] = true
			}
		}
	}
	walk(y, "")
}

// key is mapKey with an index per map.
func (r *placeholders) key(m map[string]any, key string) (string, bool) {
	if _, ok := m[key]; ok {
		return key, true
	}
	id := reflect.ValueOf(m).Pointer()
	idx, ok := r.squashed[id]
	if !ok {
		idx = make(map[string]string, len(m))
		for _, k := range sortedKeys(m) {
			if sq := squash(k); idx[sq] == "" {
				idx[sq] = k
			}
		}
		if r.squashed == nil {
			r.squashed = map[uintptr]map[string]string{}
		}
		r.squashed[id] = idx
	}
	k, ok := idx[squash(key)]
	return k, ok
}

// mapKey returns the key of m that key names: itself, else the one equal
// when squashed (the first in order, for determinism).
func mapKey(m map[string]any, key string) (string, bool) {
	if _, ok := m[key]; ok {
		return key, true
	}
	sq := squash(key)
	for _, k := range sortedKeys(m) {
		if squash(k) == sq {
			return k, true
		}
	}
	return "", false
}

// placeholderNames names the outermost placeholders of s as ${NAME}, comma
// separated, without their defaults: a default written in the file may be
// a secret (${DB_PASSWORD:changeit}), a variable's name is not.
func placeholderNames(s string) string {
	var names []string
	c := braceCloser{s: s}
	off := 0 // s is c.s[off:]
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			break
		}
		if escapedAt(s, i) {
			s, off = s[i+2:], off+i+2 // a literal "${", no placeholder
			continue
		}
		end := c.closing(off + i)
		if end < 0 {
			s, off = s[i+2:], off+i+2 // no closing '}': a "${" of the text
			continue
		}
		end -= off
		name, _, _ := splitDefault(s[i+2 : end])
		if n := "${" + name + "}"; !slices.Contains(names, n) {
			names = append(names, n)
		}
		s, off = s[end+1:], off+end+1
	}
	return strings.Join(names, ", ")
}
