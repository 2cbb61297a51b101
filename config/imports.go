package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
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
//     property per file). optional: lets it be missing. A file whose name
//     has no .yaml, .yml or .properties extension is named with a hint:
//     dev.env[.properties].
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
//     the keys of the documents loaded so far (the importing one too).
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
	// soFar are the documents met so far, in merge order, for the
	// placeholders of locations.
	soFar []*fileDocs
	// secrets: the configuration tree values of secret keys.
	secrets []treeSecret
}

// treeSecret is a value a configuration tree gave a secret key.
type treeSecret struct{ path, value string }

// chunk is a file's document (or a file with none), with whether it was
// read as profile-specific.
type chunk struct {
	fd              *fileDocs
	profileSpecific bool
}

func newImporter(opts Options, env map[string]string, platform string, profiles []string, errs *stream.ConfigErrors, warns *[]*stream.ConfigError, bases []*fileDocs) *importer {
	imp := &importer{opts: opts, env: env, platform: platform, profiles: profiles, errs: errs, warns: warns, loaded: map[string]bool{}}
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

// expand returns the documents of fds, each followed by what it imports,
// in merge order. profileSpecific: fds are profile-specific files.
func (imp *importer) expand(fds []*fileDocs, profileSpecific bool) []chunk {
	var out []chunk
	for _, fd := range fds {
		if len(fd.docs) == 0 {
			c := &fileDocs{src: fd.src}
			imp.soFar = append(imp.soFar, c)
			out = append(out, chunk{c, profileSpecific})
		}
		for _, d := range fd.docs {
			c := &fileDocs{src: fd.src, docs: []*document{d}}
			imp.soFar = append(imp.soFar, c)
			out = append(out, chunk{c, profileSpecific})
			if d.imports == nil {
				continue
			}
			if d.platform != "" && d.platform != imp.platform {
				continue
			}
			if d.onProfile != nil && (imp.profiles == nil || !d.applies(imp.profiles, imp.platform)) {
				continue // its imports wait for the profiles, or it does not apply
			}
			if imp.profiles == nil && profileSpecific {
				continue
			}
			out = append(out, imp.importsOf(fd.src, d, profileSpecific || d.onProfile != nil)...)
		}
	}
	return out
}

// importsOf loads what document d of src imports.
func (imp *importer) importsOf(src *source, d *document, profileSpecific bool) []chunk {
	var out []chunk
	var variants []importLoc
	origin := src.name + ":" + fmt.Sprint(d.importLine)
	problem := func(msg string) {
		*imp.errs = append(*imp.errs, &stream.ConfigError{Path: "spring.config.import", Origin: origin, Msg: msg})
	}
	warn := func(msg string) {
		*imp.warns = append(*imp.warns, &stream.ConfigError{Path: "spring.config.import", Origin: origin, Msg: msg})
	}
	for _, raw := range d.imports {
		loc, ok := imp.parseLocation(src, d, raw, problem, warn)
		if !ok {
			continue
		}
		switch loc.kind {
		case "configtree":
			out = append(out, imp.configTree(loc, profileSpecific, problem)...)
		case "dir":
			st, err := os.Stat(loc.path)
			if err != nil || !st.IsDir() {
				if !loc.optional {
					problem(quoteShort(loc.raw) + ": no such directory (" + loc.path + "); prefix the location with optional: if it may be missing")
				}
				continue
			}
			for _, f := range imp.dirFiles(loc.path, "application", problem) {
				out = append(out, imp.load(f, isProperties(f), false, profileSpecific, problem)...)
			}
			variants = append(variants, loc)
		default:
			out = append(out, imp.load(loc.path, loc.props, !loc.optional, profileSpecific, func(msg string) { problem(quoteShort(loc.raw) + ": " + msg) })...)
			variants = append(variants, loc)
		}
	}
	if imp.profiles == nil {
		return out
	}
	// The profile-specific variants, after the imports, as Spring Boot
	// resolves them once the profiles are known.
	for _, loc := range variants {
		for _, p := range imp.profiles {
			if loc.kind == "dir" {
				for _, f := range imp.dirFiles(loc.path, "application-"+p, problem) {
					out = append(out, imp.load(f, isProperties(f), false, true, problem)...)
				}
				continue
			}
			f := loc.path
			if !loc.hint {
				ext := filepath.Ext(f)
				f = strings.TrimSuffix(f, ext) + "-" + p + ext
			} else {
				f += "-" + p
			}
			out = append(out, imp.load(f, loc.props, false, true, problem)...)
		}
	}
	return out
}

// dirFiles returns the files of directory dir with stem stem that exist:
// <stem>.yaml (or .yml) then <stem>.properties, which wins.
func (imp *importer) dirFiles(dir, stem string, problem func(string)) []string {
	var out []string
	y, yml := filepath.Join(dir, stem+".yaml"), filepath.Join(dir, stem+".yml")
	switch {
	case isFile(y) && isFile(yml):
		problem(bothYAMLError(yml, y).Error())
		out = append(out, y)
	case isFile(y):
		out = append(out, y)
	case isFile(yml):
		out = append(out, yml)
	}
	if p := filepath.Join(dir, stem+".properties"); isFile(p) {
		out = append(out, p)
	}
	return out
}

func isFile(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}

// load reads file path (unless loaded already) and returns its documents
// with their own imports. A missing file is a problem when required.
func (imp *importer) load(path string, props, required, profileSpecific bool, problem func(string)) []chunk {
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
	return imp.expand([]*fileDocs{src.documents(imp.errs)}, profileSpecific)
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

// parseLocation resolves one location of spring.config.import; false
// when it is skipped (problems and warnings reported).
func (imp *importer) parseLocation(src *source, d *document, raw string, problem, warn func(string)) (importLoc, bool) {
	loc := importLoc{raw: strings.TrimSpace(raw)}
	if strings.Contains(loc.raw, "${") {
		s, probs := expandNested(loc.raw, imp.lookup(d, 0), 0)
		if len(probs) > 0 {
			for _, p := range probs {
				problem(quoteShort(loc.raw) + ": " + p)
			}
			return loc, false
		}
		loc.raw = strings.TrimSpace(s)
	}
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

// lookup resolves a placeholder of a location, as Spring Boot does with
// the sources loaded so far: the environment variable NAME, or the one
// that stands for key path NAME, else the key NAME of the documents met
// so far that apply (the importing one too; the latest wins), its own
// placeholders resolved in turn.
func (imp *importer) lookup(cur *document, depth int) lookupFunc {
	return func(name string) (string, bool, string) {
		if v, ok := imp.env[name]; ok {
			return v, true, ""
		}
		if v, ok := imp.env[relaxedEnvName(name)]; ok {
			return v, true, ""
		}
		if depth >= maxPlaceholderDepth {
			return "", false, fmt.Sprintf("placeholders referring to keys more than %d deep", maxPlaceholderDepth)
		}
		path := keySegs(name)
		for i := len(imp.soFar) - 1; i >= 0; i-- {
			for _, d := range imp.soFar[i].docs {
				if d != cur && d.onProfile != nil && (imp.profiles == nil || !d.applies(imp.profiles, imp.platform)) {
					continue
				}
				if d.platform != "" && d.platform != imp.platform {
					continue
				}
				val, _, found := findKey(d.root, path)
				if !found || val.kind != yaml.ScalarNode || val.value == nil {
					continue
				}
				s, err := toString(val.value)
				if err != nil {
					continue
				}
				if strings.Contains(s, "${") {
					out, probs := expandNested(s, imp.lookup(cur, depth+1), 0)
					if len(probs) > 0 {
						return "", false, strings.Join(probs, "; ")
					}
					s = out
				}
				return s, true, ""
			}
		}
		return "", false, ""
	}
}

// maxTreeDepth bounds the directories of a configuration tree, as Spring
// Boot's (100).
const maxTreeDepth = 100

// configTree reads a configuration tree (a Kubernetes ConfigMap or Secret
// mounted as a volume): each file a property, named by its path below the
// directory with '/' as '.', its content the value, one trailing newline
// dropped when it is the only one (Boot's AUTO_TRIM_TRAILING_NEW_LINE).
// Names starting with ".." (the volume's ..data links) are skipped, as
// Boot skips them. The values of secret keys (db.password) are hidden in
// every message.
func (imp *importer) configTree(loc importLoc, profileSpecific bool, problem func(string)) []chunk {
	st, err := os.Stat(loc.path)
	if err != nil || !st.IsDir() {
		if !loc.optional {
			problem(quoteShort(loc.raw) + ": no such directory (" + loc.path + "); prefix the location with optional: if it may be missing")
		}
		return nil
	}
	roots := []string{loc.path}
	if loc.wildcard {
		roots = nil
		entries, _ := os.ReadDir(loc.path)
		for _, e := range entries {
			p := filepath.Join(loc.path, e.Name())
			if st, err := os.Stat(p); err == nil && st.IsDir() && !strings.HasPrefix(e.Name(), "..") {
				roots = append(roots, p)
			}
		}
	}
	var out []chunk
	for _, root := range roots {
		var files []string
		// walked: the directories read, by their real path: links that
		// lead back up the tree are followed once, not round and round.
		walked := map[string]bool{}
		var walk func(dir string, depth int)
		walk = func(dir string, depth int) {
			if real, err := filepath.EvalSymlinks(dir); err == nil {
				if walked[real] {
					return
				}
				walked[real] = true
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
			imp.loaded[abs] = true
			rel, _ := filepath.Rel(root, f)
			key := strings.ReplaceAll(filepath.ToSlash(rel), "/", ".")
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
			c := &fileDocs{src: src, docs: []*document{d}}
			imp.soFar = append(imp.soFar, c)
			out = append(out, chunk{c, profileSpecific})
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
