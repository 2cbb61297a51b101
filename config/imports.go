package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/streambind/streambind/redact"
	"github.com/streambind/streambind/stream"
)

// This file loads the files spring.config.import names, as Spring Boot's
// ConfigDataEnvironment does (Spring Boot reference, "Importing
// Additional Data" and "Using Configuration Trees"):
//
//   - A location is a path (relative to the importing file's directory),
//     file:<path> (relative to Options.Dir, which stands for the
//     application's working directory, as Boot's file: URLs are relative
//     to the process's), a directory ending in '/' (its application.yaml
//     or .yml and application.properties), or configtree:<dir>/ (one
//     property per file, its value taken literally). optional: lets it
//     be missing. A file whose name has no .yaml, .yml or .properties
//     extension is named with a hint: dev.env[.properties].
//   - The imported documents are merged right after the document that
//     imports them (they win over it; the documents after it win over
//     them), in the order they are listed (a later one wins). A file is
//     loaded once however many times it is imported, so import cycles end.
//   - The profile-specific variants of an imported file (extra.yaml:
//     extra-<profile>.yaml; a directory: application-<profile>.*) load
//     after the imports of the document, for each active profile, when
//     they exist.
//   - Imports of a document without a profile condition are loaded before
//     the profiles are worked out, so imported files may set
//     spring.profiles.active, include, default and group; imports of a
//     profile-specific file or document are loaded after, and are
//     profile-specific themselves (those keys are refused in them).
//   - ${...} in a location is resolved from the environment, then from
//     the keys of the documents loaded so far, in precedence order (the
//     importing one and the later ones of its file too), and the value
//     split on its commas; before the profiles are known, a key of a
//     document activated by a profile is refused (Boot's
//     InactiveConfigDataAccessException). An optional: location whose
//     placeholders cannot be resolved is skipped with a warning.
//   - As Boot's contributor tree, imports are worked out in precedence
//     order (the reverse of merge order): a file imported by two
//     documents belongs to the later importer, a file listed twice to its
//     later place.
//   - spring.config.import of the environment (SPRING_CONFIG_IMPORT, or
//     the key in SPRING_APPLICATION_JSON) is read as Boot's initial
//     imports: merged over the files, before the profiles are known.
//   - classpath: does not exist in a Go program, nor a Config Server
//     (configserver:): refused, or with optional: ignored with a warning.

// importLoc is one location of spring.config.import, parsed.
type importLoc struct {
	raw      string // as written, placeholders resolved
	optional bool
	kind     string // "file", "dir", "configtree"
	path     string // the file or directory, Options.Dir or the importing file's directory applied
	props    bool   // file: read as .properties
	hint     bool   // file: typed by an extension hint ([.yaml])
	wildcard bool   // configtree: <dir>/*/, each subdirectory a tree
	// problem and warn report at the location's line (its list item's).
	problem, warn func(string)
}

// importer loads the imports of documents. One importer is used for each
// pass over the files (before the profiles are known: profiles nil; and
// after).
type importer struct {
	opts     Options
	env      map[string]string
	platform string
	profiles []string // nil: before the profiles are known
	errs     *stream.ConfigErrors
	warns    *[]*stream.ConfigError
	// loaded holds the absolute paths of the files read (a file is
	// loaded once).
	loaded map[string]bool
	// soFar are the documents of the earlier calls of expand, in merge
	// order; forest, those of the call under way: the placeholders of
	// locations are looked up in them.
	soFar  []*node
	forest []*node
	// secrets: the configuration tree values of secret keys.
	secrets []treeSecret
	// hidden holds the texts that placeholders naming a secret
	// (${DB_PASSWORD}) gave locations: hidden in every message.
	hidden      redact.Values
	hiddenTexts []string
	// variantFor holds the profiles a profile-specific variant of an
	// import (extra-dev.yaml) was loaded for.
	variantFor map[string]bool
	// treeOrigins holds the origins (file:1) of the configuration trees'
	// values: taken as they are, never placeholder-resolved.
	treeOrigins map[string]bool
	// treeEntries counts the directory entries configuration trees
	// walked (bounded: links may make a tree branch out).
	treeEntries int
}

// treeSecret is a value a configuration tree gave a secret key.
type treeSecret struct{ path, value string }

// chunk is a file's document (or a file with none), with whether it was
// read as profile-specific.
type chunk struct {
	fd              *fileDocs
	profileSpecific bool
}

// node is a document in the tree of imports, as Spring Boot's
// ConfigDataEnvironmentContributor: the documents it imports are merged
// after it (they win over it), each followed by its own; the profile
// variants of its imports (extra-dev.yaml) after them.
type node struct {
	c   chunk
	doc *document // nil: a file without documents
	// early: its imports are resolved before the profiles are known (a
	// document without a profile condition, in a file that is not
	// profile-specific), as Boot's phase before profile activation.
	early        bool
	imports      []*node
	variants     []*node
	locs         []importLoc // its file and directory locations, for the variants
	importsDone  bool
	variantsDone bool
}

// flatten appends n and what it imports, in merge order.
func (n *node) flatten(out []*node) []*node {
	out = append(out, n)
	for _, c := range n.imports {
		out = c.flatten(out)
	}
	for _, c := range n.variants {
		out = c.flatten(out)
	}
	return out
}

func newImporter(opts Options, env map[string]string, platform string, profiles []string, errs *stream.ConfigErrors, warns *[]*stream.ConfigError, bases []*fileDocs) *importer {
	imp := &importer{opts: opts, env: env, platform: platform, profiles: profiles, errs: errs, warns: warns, loaded: map[string]bool{}, variantFor: map[string]bool{}, treeOrigins: map[string]bool{}}
	for _, fd := range bases {
		imp.loaded[absPath(fd.src.path)] = true
	}
	return imp
}

func absPath(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return filepath.Clean(p)
}

// nodes returns the documents of fd as nodes, in file order.
func nodes(fd *fileDocs, profileSpecific bool) []*node {
	if len(fd.docs) == 0 {
		return []*node{{c: chunk{&fileDocs{src: fd.src}, profileSpecific}}}
	}
	out := make([]*node, 0, len(fd.docs))
	for _, d := range fd.docs {
		out = append(out, &node{c: chunk{&fileDocs{src: fd.src, docs: []*document{d}}, profileSpecific}, doc: d,
			early: d.onProfile == nil && !profileSpecific})
	}
	return out
}

// expand returns the documents of fds, each followed by what it imports,
// in merge order. profileSpecific: fds are profile-specific files.
//
// As Spring Boot's ConfigDataEnvironmentContributors, the imports are
// worked out in precedence order (the reverse of merge order: a later
// document, a later import, what a document imports before the document):
// the imports of the documents without a profile condition first (before
// the profiles are known), then, once they are, the others' and the
// profile variants. A file imported twice belongs to the import worked
// out first (the later one); the other is skipped.
func (imp *importer) expand(fds []*fileDocs, profileSpecific bool) []chunk {
	var roots []*node
	for _, fd := range fds {
		roots = append(roots, nodes(fd, profileSpecific)...)
	}
	imp.forest = roots
	imp.process(roots, func(n *node) bool { return n.early && !n.importsDone && imp.wantsImports(n) }, false)
	if imp.profiles != nil {
		imp.process(roots, func(n *node) bool {
			return (!n.importsDone && imp.wantsImports(n)) || (!n.variantsDone && len(n.locs) > 0)
		}, true)
	}
	var all []*node
	for _, r := range roots {
		all = r.flatten(all)
	}
	imp.forest = nil
	imp.soFar = append(imp.soFar, all...)
	out := make([]chunk, len(all))
	for i, n := range all {
		out[i] = n.c
	}
	return out
}

// process works out the imports of the nodes under roots that pick
// chooses, the first in precedence order each time, until none is left;
// variants: with their profile variants.
func (imp *importer) process(roots []*node, pick func(*node) bool, variants bool) {
	for {
		var all []*node
		for _, r := range roots {
			all = r.flatten(all)
		}
		var next *node
		for i := len(all) - 1; i >= 0 && next == nil; i-- {
			if pick(all[i]) {
				next = all[i]
			}
		}
		if next == nil {
			return
		}
		if !next.importsDone {
			next.importsDone = true
			if imp.wantsImports(next) {
				imp.importsOf(next)
			}
		}
		if variants {
			next.variantsDone = true
			imp.variantsOf(next)
		}
	}
}

// wantsImports reports whether n's imports are loaded in this pass.
func (imp *importer) wantsImports(n *node) bool {
	d := n.doc
	switch {
	case d == nil || d.imports == nil:
		return false
	case d.platform != "" && d.platform != imp.platform:
		return false
	case d.onProfile != nil && (imp.profiles == nil || !d.applies(imp.profiles, imp.platform)):
		return false // its imports wait for the profiles, or it does not apply
	case imp.profiles == nil && n.c.profileSpecific:
		return false
	}
	return true
}

// importsOf loads what n's document imports. The files are read from the
// last location to the first, as Boot's ConfigDataImporter reads them: a
// file listed twice is merged at its later place.
func (imp *importer) importsOf(n *node) {
	d := n.doc
	profileSpecific := n.c.profileSpecific || d.onProfile != nil
	var locs []importLoc
	for i, raw := range d.imports {
		line := d.importLine
		if i < len(d.importLines) {
			line = d.importLines[i]
		}
		locs = append(locs, imp.resolveLocations(n, raw, line)...)
	}
	slots := make([][]*node, len(locs))
	for i := len(locs) - 1; i >= 0; i-- {
		loc := locs[i]
		switch loc.kind {
		case "configtree":
			slots[i] = imp.configTree(loc, profileSpecific)
		case "dir":
			st, err := os.Stat(loc.path)
			if err != nil || !st.IsDir() {
				if !loc.optional {
					loc.problem(missingLocation(loc.raw, "no such directory", loc.path))
				}
				continue
			}
			for _, f := range imp.dirFiles(loc.path, "application", loc.problem) {
				slots[i] = append(slots[i], imp.load(f, isProperties(f), false, profileSpecific, loc.problem)...)
			}
			n.locs = append(n.locs, loc)
		default:
			slots[i] = imp.load(loc.path, loc.props, !loc.optional, profileSpecific, func(msg string) { loc.problem(quoteShort(loc.raw) + ": " + msg) })
			n.locs = append(n.locs, loc)
		}
	}
	for _, s := range slots {
		n.imports = append(n.imports, s...)
	}
}

// variantsOf loads the profile-specific variants of n's imports, after
// them, as Spring Boot resolves them once the profiles are known.
func (imp *importer) variantsOf(n *node) {
	if imp.profiles == nil {
		return
	}
	for _, loc := range n.locs {
		for _, p := range imp.profiles {
			var got []*node
			if loc.kind == "dir" {
				for _, f := range imp.dirFiles(loc.path, "application-"+p, loc.problem) {
					got = append(got, imp.load(f, isProperties(f), false, true, loc.problem)...)
				}
			} else {
				got = imp.load(profileVariant(loc, p), loc.props, false, true, loc.problem)
			}
			if len(got) > 0 {
				imp.variantFor[p] = true
			}
			n.variants = append(n.variants, got...)
		}
	}
}

// resolveLocations resolves the placeholders of location raw of n's
// document (at line) and splits the result on its commas, as Spring Boot
// binds spring.config.import; a location whose placeholders cannot be
// resolved is a problem, or with optional: skipped with a warning (Boot
// leaves them as written: the location then names no file).
func (imp *importer) resolveLocations(n *node, raw string, line int) []importLoc {
	origin := n.c.fd.src.name
	if line > 0 {
		origin += ":" + fmt.Sprint(line)
	}
	problem := func(msg string) {
		*imp.errs = append(*imp.errs, &stream.ConfigError{Path: "spring.config.import", Origin: origin, Msg: imp.hidden.String(msg)})
	}
	warn := func(msg string) {
		*imp.warns = append(*imp.warns, &stream.ConfigError{Path: "spring.config.import", Origin: origin, Msg: imp.hidden.String(msg)})
	}
	raw = strings.TrimSpace(raw)
	parts := []string{raw}
	if strings.Contains(raw, "${") {
		s, probs := expandObserved(raw, imp.lookup(n), 0, func(name, text string) {
			if redact.IsSecretKey(name) {
				imp.hidden.Add(text)
				imp.hiddenTexts = append(imp.hiddenTexts, text)
			}
		})
		if len(probs) > 0 {
			_, optional := cutPrefixFold(raw, "optional:")
			inactive := false
			for _, p := range probs {
				inactive = inactive || strings.Contains(p, inactiveProblem)
			}
			if optional && !inactive {
				warn("skipped the optional location " + quoteShort(raw) + ", its placeholders unresolved (as Spring Boot, it names no file): " + strings.Join(probs, "; "))
				return nil
			}
			for _, p := range probs {
				problem(quoteShort(raw) + ": " + p)
			}
			return nil
		}
		parts = strings.Split(s, ",") // resolved: split at every comma, as Spring converts the String
	}
	var out []importLoc
	for _, part := range parts {
		if part = strings.TrimSpace(part); part == "" {
			continue
		}
		if loc, ok := imp.parseResolved(n.c.fd.src, part, problem, warn); ok {
			loc.problem, loc.warn = problem, warn
			out = append(out, loc)
		}
	}
	return out
}

// dirFiles returns the files of directory dir with stem stem that exist:
// <stem>.yaml (or .yml) then <stem>.properties, which wins (stemFiles).
func (imp *importer) dirFiles(dir, stem string, problem func(string)) []string {
	exts, ignored := stemFiles(false, func(e string) bool { return isFile(filepath.Join(dir, stem+e)) })
	if ignored != "" {
		problem(bothYAMLError(filepath.Join(dir, stem+ignored), filepath.Join(dir, stem+exts[0])).Error())
	}
	out := make([]string, len(exts))
	for i, e := range exts {
		out[i] = filepath.Join(dir, stem+e)
	}
	return out
}

// missingLocation is the problem of a location that names no directory
// or file (what: "no such directory", at path) and is not optional:.
func missingLocation(raw, what, path string) string {
	return quoteShort(raw) + ": " + what + " (" + path + "); prefix the location with optional: if it may be missing"
}

// subdirs returns the subdirectories of dir (links to directories
// followed), in lexical order, those whose names start with ".." skipped
// as Spring Boot skips a mounted volume's ..data links; and the error
// reading dir.
func subdirs(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	var out []string
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		if st, serr := os.Stat(p); serr == nil && st.IsDir() && !strings.HasPrefix(e.Name(), "..") {
			out = append(out, p)
		}
	}
	return out, err
}

func isFile(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}

// load reads file path (unless loaded already) and returns its documents,
// their imports not worked out yet. A missing file is a problem when
// required.
func (imp *importer) load(path string, props, required, profileSpecific bool, problem func(string)) []*node {
	abs := absPath(path)
	if imp.loaded[abs] {
		return nil
	}
	data, err := readConfigFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		if required {
			problem("no such file (" + path + "); prefix the location with optional: if it may be missing")
		}
		return nil
	}
	if err != nil {
		problem("cannot read " + path + ": " + err.Error())
		return nil
	}
	imp.loaded[abs] = true
	src := &source{path: path, name: imp.displayName(path), data: data, props: props}
	return nodes(src.documents(imp.errs), profileSpecific)
}

// displayName is the name of an imported file in messages and origins:
// its path relative to Options.Dir when it is below it, else its absolute
// path.
func (imp *importer) displayName(path string) string {
	base := absPath(imp.opts.Dir)
	abs := absPath(path)
	if rel, err := filepath.Rel(base, abs); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return filepath.ToSlash(rel)
	}
	return abs
}

// urlPrefix is a location's scheme, as Spring Boot recognises one.
var urlPrefix = regexp.MustCompile(`^([a-zA-Z][a-zA-Z0-9*]*?):`)

// extensionHint is Spring Boot's [.ext] at the end of a location.
var extensionHint = regexp.MustCompile(`^(.*)\[(\.\w+)\]$`)

// parseResolved parses one location of spring.config.import of a
// document of src, its placeholders resolved; false when it is skipped
// (problems and warnings reported).
func (imp *importer) parseResolved(src *source, raw string, problem, warn func(string)) (importLoc, bool) {
	loc := importLoc{raw: strings.TrimSpace(raw)}
	rest := loc.raw
	if r, ok := cutPrefixFold(rest, "optional:"); ok {
		loc.optional, rest = true, r
	}
	scheme := ""
	if m := urlPrefix.FindStringSubmatch(rest); m != nil {
		scheme = strings.ToLower(m[1])
		rest = rest[len(m[0]):]
	}
	switch scheme {
	case "":
		loc.path = rest
		if !filepath.IsAbs(rest) {
			loc.path = filepath.Join(filepath.Dir(src.path), rest)
		}
	case "file":
		loc.path = rest
		if !filepath.IsAbs(rest) {
			loc.path = inDir(imp.opts.Dir, rest)
		}
	case "configtree":
		loc.kind = "configtree"
		loc.path = inDir(imp.opts.Dir, rest)
		if !strings.HasSuffix(rest, "/") {
			problem(quoteShort(loc.raw) + ": a configtree location must end in '/' (configtree:/etc/config/)")
			return loc, false
		}
		if strings.HasSuffix(rest, "/*/") {
			loc.wildcard = true
			loc.path = inDir(imp.opts.Dir, strings.TrimSuffix(rest, "*/"))
		}
		if strings.Contains(strings.TrimSuffix(rest, "*/"), "*") {
			problem(quoteShort(loc.raw) + ": a configtree location may hold '*' only as its last directory (configtree:/etc/config/*/)")
			return loc, false
		}
		return loc, true
	case "classpath", "classpath*":
		msg := "there is no classpath in a Go program: name the file with file: (relative to the application's directory) or with a path relative to this file"
		if loc.optional {
			warn("ignored " + quoteShort(loc.raw) + ": " + msg)
		} else {
			problem(quoteShort(loc.raw) + ": " + msg)
		}
		return loc, false
	case "configserver":
		msg := "Spring Cloud Config Server is not available in streambind: put the properties in a file (file:, or configtree: for mounted ConfigMaps and Secrets) and import that"
		if loc.optional {
			warn("ignored " + quoteShort(loc.raw) + ": " + msg)
		} else {
			problem(quoteShort(loc.raw) + ": " + msg)
		}
		return loc, false
	default:
		msg := "locations of type " + scheme + ": are not supported (streambind reads files: a path, file:, or configtree:)"
		if loc.optional {
			warn("ignored " + quoteShort(loc.raw) + ": " + msg)
		} else {
			problem(quoteShort(loc.raw) + ": " + msg)
		}
		return loc, false
	}
	if strings.Contains(rest, "*") {
		problem(quoteShort(loc.raw) + ": wildcard locations are not supported: name the directory or the file")
		return loc, false
	}
	if strings.HasSuffix(rest, "/") {
		loc.kind = "dir"
		return loc, true
	}
	loc.kind = "file"
	if m := extensionHint.FindStringSubmatch(loc.path); m != nil {
		loc.path, loc.hint = m[1], true
		switch strings.ToLower(m[2]) {
		case ".properties":
			loc.props = true
		case ".yaml", ".yml":
		default:
			problem(quoteShort(loc.raw) + ": unknown extension hint " + m[2] + " (want [.yaml], [.yml] or [.properties])")
			return loc, false
		}
		return loc, true
	}
	switch strings.ToLower(filepath.Ext(loc.path)) {
	case ".properties":
		loc.props = true
	case ".yaml", ".yml":
	default:
		problem(quoteShort(loc.raw) + ": the file's extension is not .yaml, .yml or .properties: give its type with a hint (" + loc.raw + "[.properties]), or end a directory with '/'")
		return loc, false
	}
	return loc, true
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		return s[len(prefix):], true
	}
	return s, false
}

// inactiveProblem marks the problem of a placeholder of a location
// that a document not active yet sets.
const inactiveProblem = "before the profiles are known"

// lookup resolves a placeholder of a location of cur's document, as
// Spring Boot's ConfigDataEnvironmentContributorPlaceholdersResolver
// does: the environment variable NAME, or the one that stands for key
// path NAME, else the key NAME of the documents loaded so far that apply,
// in precedence order (a later document of the file, or one imported
// after, wins; the importing one counts), its own placeholders resolved in
// turn (a configuration tree's values are taken as they are). A location
// resolved before the profiles are known may not take a key from a
// document activated by a profile: Boot refuses it
// (InactiveConfigDataAccessException).
//
// Each name is resolved once per lookupFunc (memo), and a name met again
// while it is being resolved is a cycle, reported with the chain, as
// Spring's "Circular placeholder reference": a key whose value names it
// several times (x: ${x}${x}${x}${x}) cost 4^16 lookups before the depth
// bound, start-up hung.
func (imp *importer) lookup(cur *node) lookupFunc {
	return imp.lookupIn(cur, &lookupState{memo: map[string]lookupResult{}})
}

// lookupState is what the lookups of one lookupFunc share: the names
// being resolved (as "env NAME" or the placeholder's name), the answers
// found.
type lookupState struct {
	stack []string
	memo  map[string]lookupResult
}

type lookupResult struct {
	value, problem string
	ok             bool
}

func (imp *importer) lookupIn(cur *node, st *lookupState) lookupFunc {
	early := imp.profiles == nil || cur == nil || cur.early
	user := "a location of a document without a profile condition" // what the placeholder is in
	if cur == nil && imp.profiles == nil {
		user = "a location or a profile key (spring.profiles.active, include, default, group)"
	}
	var lookup lookupFunc
	lookup = func(name string) (string, bool, string) {
		if r, ok := st.memo[name]; ok {
			return r.value, r.ok, r.problem
		}
		v, ok, problem := imp.lookupOnce(cur, st, lookup, early, user, name)
		st.memo[name] = lookupResult{v, problem, ok}
		return v, ok, problem
	}
	return lookup
}

// lookupOnce is lookupIn's function for a name not resolved yet.
func (imp *importer) lookupOnce(cur *node, st *lookupState, lookup lookupFunc, early bool, user, name string) (string, bool, string) {
	// expand resolves the placeholders of v, the value that label (a
	// variable, "env NAME", or a key, the name) gives.
	expand := func(label, v string) (string, bool, string) {
		// mask hides a problem met in the value of a secret variable
		// (DB_PASSWORD), or in one it leads to: its text and names
		// come from the secret (maskSecretChain, as placeholders.maskSecret).
		mask := func(problem string) string { return maskSecretChain(st.stack, label, problem) }
		if i := slices.Index(st.stack, label); i >= 0 {
			return "", false, mask(cycleProblem(append(append([]string(nil), st.stack...), label)))
		}
		if len(st.stack) >= maxReferenceDepth {
			return "", false, mask(fmt.Sprintf("placeholders refer through more than %d keys and variables (%s)", maxReferenceDepth, chainShort(append(st.stack, label))))
		}
		st.stack = append(st.stack, label)
		out, probs := expandNested(v, lookup, 0)
		st.stack = st.stack[:len(st.stack)-1]
		if len(probs) > 0 {
			return "", false, mask(strings.Join(slices.Compact(probs), "; "))
		}
		return out, true, ""
	}
	{
		// As a value's placeholder (placeholders.envValue, findName): a
		// name that is no Spring property name (${CONF_DIR}, ${confDir})
		// is looked up by its exact name, never relaxed to conf-dir.
		exact := !springPropertyName(name)
		// A variable's value has its own placeholders resolved in turn,
		// as Spring's PlaceholderParser resolves a placeholder's value
		// whatever source gave it.
		if n, v, ok := envVarOf(imp.env, name); ok {
			if !strings.Contains(v, "${") {
				return v, true, ""
			}
			return expand("env "+n, v)
		}
		path := keySegs(name)
		if exact {
			path = exactSegs(name)
		}
		var known []*node
		for _, r := range imp.forest {
			known = r.flatten(known)
		}
		known = append(append([]*node(nil), imp.soFar...), known...)
		holds := "" // a list or a map found at the name
		for i := len(known) - 1; i >= 0; i-- {
			n := known[i]
			d := n.doc
			if d == nil || (d.platform != "" && d.platform != imp.platform) {
				continue
			}
			if early && n.c.profileSpecific {
				continue // not loaded yet when Boot resolves the location
			}
			val, line, found := findKeyAs(d.root, path, exact)
			if found && holds == "" {
				switch val.kind {
				case yaml.SequenceNode:
					holds = "a list"
				case yaml.MappingNode:
					holds = "a map"
				}
			}
			if !found || val.kind != yaml.ScalarNode || val.value == nil {
				continue
			}
			if n != cur && d.onProfile != nil {
				if early {
					return "", false, fmt.Sprintf("placeholder ${%s}: the key is set at %s:%d in a document activated by a profile, which %s cannot use: it is resolved %s (as Spring Boot refuses it: InactiveConfigDataAccessException); set the key in the environment or in a document without a profile condition",
						name, n.c.fd.src.name, line, user, inactiveProblem)
				}
				if !d.applies(imp.profiles, imp.platform) {
					continue
				}
			}
			s, err := toString(val.value)
			if err != nil {
				continue
			}
			if strings.Contains(s, "${") && !d.literal {
				return expand(name, s)
			}
			return s, true, ""
		}
		if holds != "" && !isEnvName(name) {
			// As the merged tree's placeholders say it (Spring finds
			// no property p beside p[0]: its default, if any, is taken).
			return "", false, unsetMark + fmt.Sprintf("placeholder ${%s}: the key %s holds %s, not a value", name, name, holds)
		}
		return "", false, ""
	}
}

// maxTreeDepth bounds the directories of a configuration tree, as Spring
// Boot's (100).
const maxTreeDepth = 100

// maxTreeEntries bounds the directory entries of the configuration
// trees of one pass: links to directories (followed, as Boot follows
// them) may make a tree branch out.
const maxTreeEntries = 100000

// configTree reads a configuration tree (a Kubernetes ConfigMap or Secret
// mounted as a volume): each file a property, named by its path below the
// directory with '/' as '.', its content the value, one trailing newline
// dropped when it is the only one (Boot's AUTO_TRIM_TRAILING_NEW_LINE).
// As Boot's ConfigTreePropertySource: names starting with ".." (the
// volume's ..data links) are skipped; links are followed (two links to
// one directory are two subtrees), except one leading back up the tree
// (a cycle); the values are taken as they are (no placeholder is
// resolved in them). A file whose name is no property name (a dot file:
// the .dockerconfigjson of an image pull Secret) is skipped, as Boot's
// binding skips it. The values of secret keys (db.password) are hidden
// in every message.
func (imp *importer) configTree(loc importLoc, profileSpecific bool) []*node {
	problem := loc.problem
	st, err := os.Stat(loc.path)
	if err != nil || !st.IsDir() {
		if !loc.optional {
			problem(missingLocation(loc.raw, "no such directory", loc.path))
		}
		return nil
	}
	roots := []string{loc.path}
	if loc.wildcard {
		roots, _ = subdirs(loc.path)
	}
	var out []*node
	for _, root := range roots {
		var files []string
		// ancestors: the directories being walked, by their real path: a
		// link to one of them is a cycle, not followed.
		ancestors := map[string]bool{}
		tooLarge := false
		var walk func(dir string, depth int)
		walk = func(dir string, depth int) {
			real, err := filepath.EvalSymlinks(dir)
			if err == nil {
				if ancestors[real] {
					return
				}
				ancestors[real] = true
				defer delete(ancestors, real)
			}
			entries, err := os.ReadDir(dir)
			if err != nil {
				problem("cannot read configuration tree " + dir + ": " + err.Error())
				return
			}
			for _, e := range entries {
				if strings.HasPrefix(e.Name(), "..") {
					continue
				}
				if imp.treeEntries++; imp.treeEntries > maxTreeEntries {
					if !tooLarge {
						tooLarge = true
						problem(quoteShort(loc.raw) + fmt.Sprintf(": the configuration tree has more than %d entries (links to directories counted each time they are met); the rest is not read", maxTreeEntries))
					}
					return
				}
				p := filepath.Join(dir, e.Name())
				st, err := os.Stat(p) // follows the volume's links
				switch {
				case err != nil:
				case st.IsDir() && depth < maxTreeDepth:
					walk(p, depth+1)
				case st.Mode().IsRegular():
					files = append(files, p)
				}
			}
		}
		walk(root, 1)
		sort.Strings(files)
		for _, f := range files {
			abs := absPath(f)
			if imp.loaded[abs] {
				continue
			}
			rel, _ := filepath.Rel(root, f)
			key := strings.ReplaceAll(filepath.ToSlash(rel), "/", ".")
			if slices.Contains(strings.Split(key, "."), "") {
				continue // no property name: .dockerconfigjson
			}
			imp.loaded[abs] = true
			data, err := readConfigFile(f)
			name := imp.displayName(f)
			if err != nil {
				problem("cannot read configuration tree file " + name + ": " + err.Error())
				continue
			}
			value := trimOneNewline(string(data))
			if redact.IsSecretKey(key) {
				imp.secrets = append(imp.secrets, treeSecret{path: strings.ToLower(key), value: value})
			}
			y := &ynode{kind: yaml.MappingNode, line: 1, entries: []yentry{{key: key, line: 1, val: &ynode{kind: yaml.ScalarNode, line: 1, value: value}}}}
			src := &source{path: f, name: name}
			d, derrs := newDocument(name, y)
			for _, e := range derrs {
				*imp.errs = append(*imp.errs, fileProblem(e))
			}
			d.literal = true
			imp.treeOrigins[(&layer{name: name}).at(1)] = true
			out = append(out, nodes(&fileDocs{src: src, docs: []*document{d}}, profileSpecific)...)
		}
	}
	return out
}

// trimOneNewline drops the trailing newline of a value that has one line
// ("secret\n", "secret\r\n"); a value of several lines is kept whole.
func trimOneNewline(s string) string {
	if !strings.HasSuffix(s, "\n") || strings.Count(s, "\n") > 1 {
		return s
	}
	s = strings.TrimSuffix(s, "\n")
	return strings.TrimSuffix(s, "\r")
}

// literal returns whether the value at a key path (of the merged tree
// whose origins are origins) is a configuration tree's, taken as it is.
func (imp *importer) literal(origins map[string]string) func(path string) bool {
	return func(path string) bool {
		return len(imp.treeOrigins) > 0 && imp.treeOrigins[origins[strings.ToLower(path)]]
	}
}

// envImports loads the locations spring.config.import has in the
// environment: SPRING_APPLICATION_JSON's, else SPRING_CONFIG_IMPORT (a
// comma list), as Spring Boot binds the key from the environment for its
// initial imports. A relative location is relative to Options.Dir (the
// working directory). Their documents win over the files' (they are
// merged after them: Boot ranks the initial imports above the config
// locations), below the environment variables themselves. It returns
// their documents in merge order (nil when the key is not set).
func (imp *importer) envImports() []chunk {
	var list []string
	var lines []int
	name := ""
	if l, ls, _, ok := argsList(imp.env, []string{"spring", "config", "import"}); ok {
		list, lines, name = l, ls, OriginArgs // over the JSON, as in Spring Boot
	} else if l, ls, _, ok := appJSONList(imp.env, []string{"spring", "config", "import"}); ok {
		list, lines, name = l, ls, "env "+EnvApplicationJSON
	}
	if name == "" {
		if s, ok := imp.env[EnvConfigImport]; ok {
			list, name = splitList(s), "env "+EnvConfigImport
		} else if items := indexedEnv(imp.env, EnvConfigImport+"_"); len(items) > 0 {
			list, name = items, "env "+EnvConfigImport+"_<n>"
		} else if s, ok := imp.env["spring.config.import"]; ok {
			// The dotted variable, after the upper-case one (as
			// Spring Boot's mappers of the system environment).
			list, name = splitList(s), "env spring.config.import"
		}
		lines = make([]int, len(list))
	}
	if name == "" {
		return nil
	}
	src := &source{path: inDir(imp.opts.Dir, EnvConfigImport), name: name}
	d := &document{imports: list, importLines: lines}
	if d.imports == nil {
		d.imports = []string{}
	}
	out := imp.expand([]*fileDocs{{src: src, docs: []*document{d}}}, false)
	return out[1:] // the variable itself is no document
}

// appJSONList returns the items SPRING_APPLICATION_JSON gives key path
// (a string, or a list of strings) and the line of each; found: the JSON
// sets the key; ok: to a string or a list of strings. JSON that does not
// parse sets nothing (appJSONLayer reports it).
func appJSONList(env map[string]string, path []string) (list []string, lines []int, found, ok bool) {
	s := env[EnvApplicationJSON]
	if strings.TrimSpace(s) == "" {
		return nil, nil, false, false
	}
	docs, err := parseYAML(EnvApplicationJSON, []byte(s))
	if err != nil || len(docs) != 1 || docs[0] == nil {
		return nil, nil, false, false
	}
	val, _, found := findKey(docs[0], path)
	if !found {
		return nil, nil, false, false
	}
	list, lines, ok = stringListLines(val, 0)
	return list, lines, true, ok
}

// indexedEnv returns the values of the variables prefix<n> (0, 1, ...), in
// index order, as Spring Boot binds a list's items from the environment
// (SPRING_CONFIG_IMPORT_0).
func indexedEnv(env map[string]string, prefix string) []string {
	type item struct {
		i int
		v string
	}
	var items []item
	for k, v := range env {
		rest, ok := strings.CutPrefix(k, prefix)
		if !ok || rest == "" {
			continue
		}
		i, err := strconv.Atoi(rest)
		if err != nil || i < 0 || strconv.Itoa(i) != rest {
			continue
		}
		items = append(items, item{i, v})
	}
	sort.Slice(items, func(a, b int) bool { return items[a].i < items[b].i })
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = it.v
	}
	return out
}

// EnvConfigImport is Spring Boot's SPRING_CONFIG_IMPORT: more locations to
// import (a comma list), as spring.config.import in a file.
const EnvConfigImport = "SPRING_CONFIG_IMPORT"
