package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/streambind/streambind/redact"
	"github.com/streambind/streambind/stream"
)

// This file finds the base files where Spring Boot looks for them
// (Spring Boot reference, "External Application Properties", "Optional
// Locations", "Wildcard Locations", "Profile Specific Files"):
//
//   - The default search locations are Boot's file ones, relative to
//     Options.Dir (the application's working directory): ./, ./config/
//     and each immediate subdirectory of ./config/ (./config/*/, in
//     lexical order; names starting with ".." skipped, as Boot skips a
//     volume's ..data links), a later location winning. Boot's classpath:/
//     and classpath:/config/ have no counterpart in a Go program.
//   - In each directory location, for each config name (spring.config.name,
//     default "application"; a later name wins): <name>.yaml (or .yml)
//     then <name>.properties, which wins, and with profiles active
//     <name>-<profile>.yaml (or .yml) and .properties.
//   - spring.config.location (Options.Locations, else the variable
//     SPRING_CONFIG_LOCATION) replaces the default locations;
//     spring.config.additional-location (Options.AdditionalLocations,
//     else SPRING_CONFIG_ADDITIONAL_LOCATION or
//     SPRING_CONFIG_ADDITIONALLOCATION) adds locations after them, which
//     win. A location is written as in spring.config.import (imports.go
//     parses it): a file (its profile variants <file>-<profile>.<ext> are
//     read too), a directory ending in '/', file: and a path both
//     relative to Options.Dir, optional:, an extension hint
//     (conf/app[.yaml]), and a wildcard '*' as the last directory
//     (config/*/, config/*/app.yaml). A missing location that is not
//     optional: is an error naming it and where it came from (the
//     variable or the Options field); classpath: is refused (a Go program
//     has none), with optional: ignored with a warning.
//   - Each comma-separated item is a location group of its own: its base
//     files, then its profile files, merge before the next group's (so a
//     later group's base file wins over an earlier group's profile file);
//     locations joined with ';' form one group: the base files of all of
//     them, then each profile's files of all of them, as Boot's default
//     locations do (./config/application-prod.yaml wins over
//     ./config/application.yaml and over ./application-prod.yaml).
//   - A file is read once, however many locations name it: at its last
//     (winning) place, as Boot's ConfigDataImporter loads the candidate of
//     highest precedence first and skips a resource loaded already.
//   - An explicit base file (Options.File) replaces the locations, as a
//     spring.config.location naming one file would: the profile files are
//     looked for beside it (<stem>-<profile>.*), and
//     SPRING_CONFIG_LOCATION is then ignored with a warning; additional
//     locations still apply.
//   - Options.Data (without File) is embedded configuration, Boot's
//     packaged classpath:/application.yaml: the lowest group, the
//     locations (default, or spring.config.location) searched over it.
//     (Boot's spring.config.location drops classpath:/ too; Data, which
//     the program gives, is kept.)
//   - spring.config.name, location and additional-location are taken from
//     the Options fields, else SPRING_APPLICATION_JSON (as Boot ranks it
//     over the variables), else the variables; their placeholders are
//     resolved from the environment before the value is split at commas,
//     an unresolvable one an error naming the key.

// DefaultLocations are the locations searched when neither
// Options.Locations nor SPRING_CONFIG_LOCATION names any: Spring Boot's
// file locations, one group, relative to Options.Dir.
const DefaultLocations = "optional:file:./;optional:file:./config/;optional:file:./config/*/"

// DefaultConfigName is the stem of the files of a directory location when
// neither Options.ConfigName nor SPRING_CONFIG_NAME names any.
const DefaultConfigName = "application"

// The variables that stand for spring.config.name, location and
// additional-location.
const (
	envConfigName               = "SPRING_CONFIG_NAME"
	envConfigLocation           = "SPRING_CONFIG_LOCATION"
	envConfigAdditional         = "SPRING_CONFIG_ADDITIONAL_LOCATION"
	envConfigAdditionalSquashed = "SPRING_CONFIG_ADDITIONALLOCATION"
)

// baseGroup is a location group: its base files merge first, then, for
// each profile, the profile files of each of its locations.
type baseGroup struct {
	locs  []searchLoc
	files []*source
	docs  []*fileDocs // the documents of files (Load fills them)
	// explicit: the group is Options.File or Options.Data, whose profile
	// files readProfile finds.
	explicit bool
	// later: the groups merged after this one; a profile file one of
	// them reads too is read there, where it wins.
	later []*baseGroup
	// embedded: Options.Data's source, no file on disk.
	embedded *source
	// dirProfiles: Options.Data's group (without File) looks for its
	// profile files in Options.Dir: only while the default locations
	// are in force (spring.config.location replaces ./).
	dirProfiles bool
}

// searchLoc is one location of the search.
type searchLoc struct {
	importLoc
	names []string // the config names, for a directory
	// dot: the default ./ location, Options.Dir itself: Options.Name
	// names its YAML file (without Options.Data), and its profile files are listed among those
	// looked for even when the directory is missing.
	dot bool
}

// locFinder gathers what the search finds and what goes wrong.
type locFinder struct {
	opts  Options
	env   map[string]string
	names []string
	errs  []*stream.ConfigError
	warns []*stream.ConfigError
	// seen: the files read, by absolute path, each read once (nil: it
	// could not be read, reported once); a location naming it again gets
	// the same source, and lastOnly keeps its last place.
	seen map[string]*source
	// dirs: whether a directory location was searched (for
	// spring.config.name, which names nothing else).
	dirs bool
	// hidden holds the texts that placeholders naming a secret
	// (${DB_PASSWORD}) gave the settings: Load hides them in every
	// message and adds them to Loaded.Secrets, as an import location's.
	hidden []string
}

// findBase returns the location groups and their base files, in merge
// order, with the problems found, the warnings, and the texts secret
// placeholders gave the settings (to be hidden in every message).
func findBase(opts Options, env map[string]string) ([]*baseGroup, []*stream.ConfigError, []*stream.ConfigError, []string) {
	f := &locFinder{opts: opts, env: env, seen: map[string]*source{}}
	names, nameFrom := f.configNames()
	f.names = names
	var groups []*baseGroup
	var embedded *source // Options.Data's, which no file on disk is
	switch {
	case opts.File != "":
		if opts.Locations != nil {
			f.errs = append(f.errs, &stream.ConfigError{Path: "spring.config.location", Origin: "Options.Locations",
				Msg: "Options.File names the base file already: give it as one of Options.Locations instead, or leave Options.Locations nil"})
		} else if v, from := f.rawSetting(envConfigLocation); v != "" {
			f.warns = append(f.warns, &stream.ConfigError{Path: "spring.config.location", Origin: from,
				Msg: "ignored: the program names its configuration file (Options.File), which replaces the locations; " + quoteShort(v) + " is not read"})
		}
		files, errs := readBase(opts)
		f.errs = append(f.errs, errs...)
		if opts.Data != nil && len(files) == 1 {
			embedded = files[0]
		}
		groups = append(groups, &baseGroup{files: files, explicit: true})
	default:
		if opts.Data != nil {
			// Embedded configuration, as Spring Boot's packaged
			// classpath:/application.yaml: the lowest group, the file
			// locations searched over it.
			files, errs := readBase(opts)
			f.errs = append(f.errs, errs...)
			embedded = files[0]
			groups = append(groups, &baseGroup{files: files, explicit: true})
		}
		list, from := f.setting("spring.config.location", opts.Locations, "Options.Locations", envConfigLocation)
		if list == nil {
			list, from = []string{DefaultLocations}, ""
			if embedded != nil {
				groups[0].dirProfiles = true
			}
		}
		groups = append(groups, f.groups(list, "spring.config.location", from)...)
	}
	list, from := f.setting("spring.config.additional-location", opts.AdditionalLocations, "Options.AdditionalLocations", envConfigAdditional, envConfigAdditionalSquashed)
	groups = append(groups, f.groups(list, "spring.config.additional-location", from)...)
	if nameFrom != "" && !f.dirs {
		f.warns = append(f.warns, &stream.ConfigError{Path: "spring.config.name", Origin: nameFrom,
			Msg: "ignored: it names the files of directory locations, and no directory is searched (the locations name files)"})
	}
	lastOnly(groups, embedded)
	if embedded != nil {
		// A file on disk read too under the embedded data's name
		// (./application.yaml over Options.Data): the origins tell
		// them apart.
		for _, g := range groups[1:] {
			for _, src := range g.files {
				if src.name == embedded.name {
					embedded.name = "embedded " + embedded.name
				}
			}
		}
	}
	return groups, f.errs, f.warns, f.hidden
}

// lastOnly keeps each file at its last place only: a file that several
// locations name (SPRING_CONFIG_ADDITIONAL_LOCATION=optional:file:./config/,
// a default location too) is read once, where it wins, as Spring Boot
// loads it (ConfigDataImporter.load walks the candidates from the one of
// highest precedence and skips a resource loaded already). Each group
// learns the groups merged after it, whose profile files win too
// (profileFiles). embedded (Options.Data) is no file on disk.
func lastOnly(groups []*baseGroup, embedded *source) {
	key := func(src *source) string {
		if src == embedded {
			return "\x00embedded"
		}
		return absPath(src.path)
	}
	last := map[string]int{}
	n := 0
	for _, g := range groups {
		for _, src := range g.files {
			last[key(src)] = n
			n++
		}
	}
	n = 0
	for i, g := range groups {
		kept := g.files[:0:0]
		for _, src := range g.files {
			if last[key(src)] == n {
				kept = append(kept, src)
			}
			n++
		}
		g.files = kept
		g.later = groups[i+1:]
		g.embedded = embedded
	}
}

// rawSetting returns the value of the first of the variables vars set
// (not blank) and where it came from (SPRING_APPLICATION_JSON's key
// first, as Spring Boot ranks it over the other variables).
func (f *locFinder) rawSetting(vars ...string) (string, string) {
	if v, from := f.jsonSetting(vars[0]); from != "" {
		return v, from
	}
	for _, name := range vars {
		if v, ok := f.env[name]; ok && strings.TrimSpace(v) != "" {
			return v, "env " + name
		}
	}
	if key := strings.Join(jsonKeys[vars[0]], "."); key != "" {
		if v, ok := f.env[key]; ok && strings.TrimSpace(v) != "" {
			return v, "env " + key // the dotted variable, after the upper-case ones
		}
	}
	return "", ""
}

// jsonKeys are the keys of SPRING_APPLICATION_JSON standing for the
// variables of spring.config.name, location and additional-location.
var jsonKeys = map[string][]string{
	envConfigName:       {"spring", "config", "name"},
	envConfigLocation:   {"spring", "config", "location"},
	envConfigAdditional: {"spring", "config", "additional-location"},
}

// jsonSetting returns the value SPRING_APPLICATION_JSON gives the key
// that variable name stands for (a JSON string, or an array joined with
// commas) and its origin; "", "" when it gives none. As Spring Boot adds
// the JSON as a property source before it binds spring.config.*, the
// JSON's key wins over the variable.
func (f *locFinder) jsonSetting(name string) (string, string) {
	path := jsonKeys[name]
	if path == nil {
		return "", ""
	}
	key := strings.Join(path, ".")
	// The command line's, over the JSON's, as in Spring Boot.
	list, _, found, ok := argsList(f.env, path)
	origin := OriginArgs + " (" + key + ")"
	if !found {
		list, _, found, ok = appJSONList(f.env, path)
		origin = "env " + EnvApplicationJSON + " (" + key + ")"
	}
	if !found {
		return "", ""
	}
	if !ok {
		f.errs = append(f.errs, &stream.ConfigError{Path: key, Origin: origin, Msg: "want a string or a list of strings"})
		return "", ""
	}
	if len(list) == 0 {
		return "", ""
	}
	return strings.Join(list, ","), origin
}

// setting returns the comma-separated items of a location setting: the
// Options field when not nil, else SPRING_APPLICATION_JSON's key, else
// the first variable set (not blank), with where it came from ("" for
// none). Placeholders in the value are resolved before it is split, as
// Spring Boot's Binder does: ${DIRS} may stand for a list; an
// unresolvable one is an error naming the key (and nothing is searched).
// Two spellings of one variable that disagree are an error.
func (f *locFinder) setting(key string, field []string, fieldName string, vars ...string) ([]string, string) {
	if field != nil {
		out := make([]string, 0, len(field))
		for _, item := range field {
			v, ok := f.resolve(key, fieldName, item)
			if !ok {
				return []string{}, fieldName
			}
			out = append(out, v)
		}
		return out, fieldName
	}
	if v, from := f.jsonSetting(vars[0]); from != "" {
		return f.split(key, from, v)
	}
	from, value := "", ""
	for _, name := range vars {
		v, ok := f.env[name]
		if !ok || strings.TrimSpace(v) == "" {
			continue
		}
		if from != "" {
			if v != value {
				f.errs = append(f.errs, &stream.ConfigError{Path: key, Origin: "env " + name,
					Msg: "set differently by " + from + ": set one of the two variables"})
			}
			continue
		}
		from, value = "env "+name, v
	}
	if v, ok := f.env[key]; ok && from == "" && strings.TrimSpace(v) != "" {
		// A variable named as the key (spring.config.location=...), as
		// Spring Boot reads the system environment: its upper-case
		// name first (SystemEnvironmentPropertyMapper), then the key as
		// written (DefaultPropertyMapper).
		from, value = "env "+key, v
	}
	if from == "" {
		return nil, ""
	}
	return f.split(key, from, value)
}

// split resolves the placeholders of a setting's value, then splits it at
// its commas.
func (f *locFinder) split(key, from, v string) ([]string, string) {
	v, ok := f.resolve(key, from, v)
	if !ok {
		return []string{}, from
	}
	return strings.Split(v, ","), from
}

// resolve replaces the placeholders of v, the value of key given by from,
// from the environment; an unresolvable one is an error naming key.
func (f *locFinder) resolve(key, from, v string) (string, bool) {
	if !strings.Contains(v, "${") {
		return v, true
	}
	imp := &importer{opts: f.opts, env: f.env, loaded: map[string]bool{}}
	s, probs := f.expand(imp, v)
	for _, p := range probs {
		f.errs = append(f.errs, &stream.ConfigError{Path: key, Origin: from, Msg: quoteShort(v) + ": " + p})
	}
	return s, len(probs) == 0
}

// expand resolves the placeholders of v from the environment, keeping the
// texts placeholders naming a secret gave in f.hidden.
func (f *locFinder) expand(imp *importer, v string) (string, []string) {
	return expandObserved(v, imp.lookup(nil), 0, func(name, text string) {
		if redact.IsSecretKey(name) {
			f.hidden = append(f.hidden, text)
		}
	})
}

// configNames returns spring.config.name: Options.ConfigName, else
// SPRING_APPLICATION_JSON's spring.config.name, else SPRING_CONFIG_NAME,
// else "application"; and where it came from ("" for the default).
func (f *locFinder) configNames() ([]string, string) {
	nerrs := len(f.errs)
	list, from := f.setting("spring.config.name", f.opts.ConfigName, "Options.ConfigName", envConfigName)
	var names []string
	for _, n := range list {
		n = strings.TrimSpace(n)
		switch {
		case n == "":
		case strings.ContainsAny(n, `*/\`):
			f.errs = append(f.errs, &stream.ConfigError{Path: "spring.config.name", Origin: from,
				Msg: quoteShort(n) + ": a config name is a file name without its extension: no '*', no directory (name the directory as a location)"})
		default:
			names = append(names, n)
		}
	}
	if len(names) == 0 {
		if from != "" && len(f.errs) == nerrs {
			f.errs = append(f.errs, &stream.ConfigError{Path: "spring.config.name", Origin: from, Msg: "names no file"})
		}
		return []string{DefaultConfigName}, ""
	}
	return names, from
}

// groups resolves the items of a location setting (key, given by from)
// into location groups and reads their base files.
func (f *locFinder) groups(items []string, key, from string) []*baseGroup {
	imp := &importer{opts: f.opts, env: f.env, loaded: map[string]bool{}}
	src := &source{path: inDir(f.opts.Dir, DefaultFile)} // bare paths are relative to Options.Dir
	var out []*baseGroup
	for _, item := range items {
		g := &baseGroup{}
		for _, raw := range strings.Split(item, ";") {
			if strings.TrimSpace(raw) == "" {
				continue
			}
			problem := func(msg string) {
				f.errs = append(f.errs, &stream.ConfigError{Path: key, Origin: orDefault(from), Msg: forLocation(msg)})
			}
			warn := func(msg string) {
				f.warns = append(f.warns, &stream.ConfigError{Path: key, Origin: orDefault(from), Msg: forLocation(msg)})
			}
			for _, r := range f.expandWildcard(imp, strings.TrimSpace(raw), problem) {
				loc, ok := imp.parseResolved(src, r, problem, warn)
				if !ok {
					continue
				}
				if loc.kind == "configtree" {
					msg := "a configuration tree is read by spring.config.import (configtree:" + strings.TrimPrefix(loc.raw, "configtree:") + "), not as a location of the base files"
					if loc.optional {
						warn("ignored " + quoteShort(loc.raw) + ": " + msg)
					} else {
						problem(quoteShort(loc.raw) + ": " + msg)
					}
					continue
				}
				sl := searchLoc{importLoc: loc, names: f.names, dot: from == "" && r == "optional:file:./"}
				g.locs = append(g.locs, sl)
				g.files = append(g.files, f.readLoc(sl, problem)...)
			}
		}
		if len(g.locs) > 0 {
			out = append(out, g)
		}
	}
	return out
}

func orDefault(from string) string {
	if from == "" {
		return "default locations"
	}
	return from
}

// forLocation adapts a message of parseResolved, written for
// spring.config.import, to a location of the base files, which no file
// holds: its paths are relative to Options.Dir.
func forLocation(msg string) string {
	return strings.Replace(msg, "(relative to the application's directory) or with a path relative to this file", "or a path (both relative to the application's directory)", 1)
}

// expandWildcard returns the locations a location with a '*' stands for
// (one per subdirectory, in lexical order), as Spring Boot allows it: one
// '*', as the last directory (dir/*/ or dir/*/file). Other locations are
// returned as they are. The setting's placeholders are resolved already
// (locFinder.setting); those its variables' values hold
// (SPRING_CONFIG_LOCATION=${DIRS}, DIRS=${BASE}/conf/) are resolved here,
// first. The locations returned are resolved: parseResolved parses them.
func (f *locFinder) expandWildcard(imp *importer, raw string, problem func(string)) []string {
	if strings.Contains(raw, "${") {
		s, probs := f.expand(imp, raw)
		if len(probs) > 0 {
			for _, p := range probs {
				problem(quoteShort(raw) + ": " + p)
			}
			return nil
		}
		raw = strings.TrimSpace(s)
	}
	rest := raw
	optional := false
	if r, ok := cutPrefixFold(rest, "optional:"); ok {
		optional, rest = true, r
	}
	if m := urlPrefix.FindStringSubmatch(rest); m != nil {
		if !strings.EqualFold(m[1], "file") {
			return []string{raw} // parseResolved refuses it, or reads it
		}
		rest = rest[len(m[0]):]
	}
	if !strings.Contains(rest, "*") {
		return []string{raw}
	}
	i := strings.Index(rest, "*/")
	if strings.Count(rest, "*") != 1 || i < 0 || (i > 0 && rest[i-1] != '/') || strings.Contains(rest[i+2:], "/") {
		problem(quoteShort(raw) + ": a wildcard location holds one '*', as its last directory: config/*/ (each subdirectory) or config/*/application.yaml")
		return nil
	}
	parent, file := inDir(f.opts.Dir, rest[:i]), rest[i+2:]
	if parent == "" {
		parent = "."
	}
	subs, err := subdirs(parent)
	for i, s := range subs {
		subs[i] = absPath(s)
	}
	sort.Strings(subs)
	if len(subs) == 0 {
		if !optional {
			what := "no subdirectories"
			if err != nil {
				what = "no such directory"
			}
			problem(missingLocation(raw, what, parent))
		}
		return nil
	}
	var out []string
	for _, s := range subs {
		if file == "" {
			loc := "file:" + s + string(filepath.Separator)
			if optional {
				loc = "optional:" + loc
			}
			out = append(out, loc)
			continue
		}
		// The subdirectories that hold the file: the others are skipped,
		// as Boot skips them.
		out = append(out, "optional:file:"+filepath.Join(s, file))
	}
	return out
}

// readLoc reads the base files of location loc (each file once).
func (f *locFinder) readLoc(loc searchLoc, problem func(string)) []*source {
	if loc.kind == "dir" {
		f.dirs = true
		st, err := os.Stat(loc.path)
		if err != nil || !st.IsDir() {
			if !loc.optional {
				problem(missingLocation(loc.raw, "no such directory", loc.path))
			}
			return nil
		}
		var out []*source
		for _, name := range loc.names {
			srcs, errs := f.dirFiles(loc, name)
			f.errs = append(f.errs, errs...)
			out = append(out, srcs...)
		}
		return out
	}
	src, err := f.readFile(loc.path, loc.props)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if !loc.optional {
			problem(missingLocation(loc.raw, "no such file", loc.path))
		}
		return nil
	case err != nil:
		f.errs = append(f.errs, fileProblem(err))
		return nil
	case src == nil:
		return nil
	}
	return []*source{src}
}

// readFile reads the file at path; a file read already gives the same
// source (nil, nil if it could not be read).
func (f *locFinder) readFile(path string, props bool) (*source, error) {
	abs := absPath(path)
	if src, ok := f.seen[abs]; ok {
		return src, nil
	}
	data, err := readConfigFile(path)
	name := f.displayName(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if err != nil {
		f.seen[abs] = nil
		return nil, &fileError{name: name, msg: "cannot read config file: " + err.Error()}
	}
	src := &source{path: path, name: name, data: data, props: props}
	f.seen[abs] = src
	return src, nil
}

// dirFiles reads <stem>.yaml (or .yml; both is an error, the .yaml file
// read) then <stem>.properties, which wins, from directory location loc
// (stemFiles).
func (f *locFinder) dirFiles(loc searchLoc, stem string) ([]*source, []*stream.ConfigError) {
	var out []*source
	var errs []*stream.ConfigError
	exts, ignored := stemFiles(false, func(e string) bool { return exists(inDir(loc.path, stem+e)) })
	for _, e := range exts {
		file := stem + e
		src, err := f.readFile(inDir(loc.path, file), isProperties(file))
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case err != nil:
			errs = append(errs, fileProblem(err))
		case src != nil:
			if loc.dot && f.opts.Name != "" && f.opts.Data == nil && !isProperties(file) && stem == DefaultConfigName {
				// Options.Name names the ./ YAML file of the search;
				// with Options.Data it names the embedded data, and a
				// file on disk keeps its own name.
				src.name = f.opts.Name
			}
			out = append(out, src)
		}
		if ignored != "" && e != ".properties" {
			errs = append(errs, fileProblem(bothYAMLError(f.displayName(inDir(loc.path, stem+ignored)), f.displayName(inDir(loc.path, file)))))
		}
	}
	return out, errs
}

// displayName is a file's name in messages and origins: its path
// relative to Options.Dir when below it (config/application.yaml), else
// its absolute path.
func (f *locFinder) displayName(path string) string {
	return (&importer{opts: f.opts}).displayName(path)
}

// profileFiles reads the files of profile p in group g: for each
// location, <name>-<p>.yaml (or .yml) and .properties in a directory,
// <file>-<p>.<ext> beside a file. It returns them, the files looked for
// (in the directories that exist), and the problems. A file a later
// group reads too (as a base or a profile file) is left to it: it is
// read where it wins.
func (g *baseGroup) profileFiles(opts Options, bases []*source, p string) ([]*source, []string, []*stream.ConfigError) {
	claimed := g.claimed(p)
	if g.explicit {
		if opts.File == "" && g.embedded != nil {
			// Options.Data: its profile files are looked for in Dir,
			// which a later location (./) may search itself; not when
			// spring.config.location replaces the default locations
			// (Dir is then no location: a stray ./application-prod.yaml
			// must not win over the locations named).
			if !g.dirProfiles {
				return nil, nil, nil
			}
			all := true
			for _, e := range []string{".yaml", ".yml", ".properties"} {
				all = all && claimed[absPath(inDir(opts.Dir, DefaultConfigName+"-"+p+e))]
			}
			if all {
				return nil, nil, nil
			}
		}
		srcs, err := readProfile(opts, bases, p)
		var missing *missingProfileError
		switch {
		case errors.As(err, &missing):
			return nil, missing.tried, nil
		case err != nil:
			return nil, nil, []*stream.ConfigError{fileProblem(err)}
		}
		var out []*source
		for _, src := range srcs {
			if !claimed[absPath(src.path)] {
				out = append(out, src)
			}
		}
		return out, nil, nil
	}
	// A profile file that is a base file too (or was imported) is
	// skipped by Load.
	f := &locFinder{opts: opts, seen: map[string]*source{}}
	for abs := range claimed {
		f.seen[abs] = nil // readFile skips it
	}
	var out []*source
	var tried []string
	var errs []*stream.ConfigError
	for _, loc := range g.locs {
		if loc.kind == "dir" {
			if st, err := os.Stat(loc.path); (err != nil || !st.IsDir()) && !loc.dot {
				continue
			}
			for _, name := range loc.names {
				stem := name + "-" + p
				for _, e := range []string{".yaml", ".yml", ".properties"} {
					tried = append(tried, f.displayName(filepath.Join(loc.path, stem+e)))
				}
				srcs, es := f.dirFiles(loc, stem)
				out, errs = append(out, srcs...), append(errs, es...)
			}
			continue
		}
		file := profileVariant(loc.importLoc, p)
		tried = append(tried, f.displayName(file))
		src, err := f.readFile(file, loc.props)
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case err != nil:
			errs = append(errs, fileProblem(err))
		case src != nil:
			out = append(out, src)
		}
	}
	return out, tried, errs
}

// profileVariant is the path of the file of profile p beside file
// location loc: <file>-<p>.<ext> (<file>-<p> with an extension hint).
func profileVariant(loc importLoc, p string) string {
	if loc.hint {
		return loc.path + "-" + p
	}
	ext := filepath.Ext(loc.path)
	return strings.TrimSuffix(loc.path, ext) + "-" + p + ext
}

// claimed returns the absolute paths of the files the groups after g read
// for profile p: their base files and the profile files they look for.
func (g *baseGroup) claimed(p string) map[string]bool {
	m := map[string]bool{}
	for _, lg := range g.later {
		for _, src := range lg.files {
			if src != lg.embedded {
				m[absPath(src.path)] = true
			}
		}
		for _, loc := range lg.locs {
			if loc.kind != "dir" {
				m[absPath(profileVariant(loc.importLoc, p))] = true
				continue
			}
			for _, name := range loc.names {
				for _, e := range []string{".yaml", ".yml", ".properties"} {
					m[absPath(filepath.Join(loc.path, name+"-"+p+e))] = true
				}
			}
		}
	}
	return m
}

// maxLookedFor bounds the files a missing profile's message lists: with
// many ./config/*/ directories the list would run to kilobytes.
const maxLookedFor = 12

// lookedFor lists the files looked for (each once), the first
// maxLookedFor of them, then how many more.
func lookedFor(tried []string) string {
	seen := map[string]bool{}
	var list []string
	for _, t := range tried {
		if !seen[t] {
			seen[t] = true
			list = append(list, t)
		}
	}
	if len(list) > maxLookedFor {
		return strings.Join(list[:maxLookedFor], ", ") + fmt.Sprintf(", ... and %d more", len(list)-maxLookedFor)
	}
	return strings.Join(list, ", ")
}

// otherProfiles is, for an active profile p that has no file (tried: the
// files looked for, as displayName gives them, relative to dir), "; did
// you mean q?" for the profile q closest to it (a likely typo: rabit
// for rabbit) among those with a file where p's were looked for
// (application-rabbit.yaml beside application-rabit.yaml) or a document
// (mentioned: the profiles documents are activated by), followed by
// the list of those profiles; "" when there are none.
func otherProfiles(dir, p string, tried []string, mentioned map[string]bool) string {
	seen := map[string]bool{}
	var known []string
	add := func(q string) {
		if q != "" && q != p && !seen[q] {
			seen[q] = true
			known = append(known, q)
		}
	}
	for _, t := range tried {
		ext := filepath.Ext(t)
		prefix, ok := strings.CutSuffix(t, "-"+p+ext)
		if !ok || ext == "" {
			continue
		}
		if !filepath.IsAbs(prefix) {
			prefix = inDir(dir, filepath.FromSlash(prefix))
		}
		matches, _ := filepath.Glob(globEscape(prefix) + "-*" + ext)
		for _, m := range matches {
			add(strings.TrimSuffix(strings.TrimPrefix(m, prefix+"-"), ext))
		}
	}
	for q := range mentioned {
		add(q)
	}
	if len(known) == 0 {
		return ""
	}
	sort.Strings(known)
	out := ""
	if q := suggest(p, known); q != "" {
		out = "; did you mean " + quoteShort(q) + "?"
	}
	if len(known) > maxLookedFor {
		return out + " (profiles with a file or document: " + strings.Join(known[:maxLookedFor], ", ") + fmt.Sprintf(", ... and %d more)", len(known)-maxLookedFor)
	}
	return out + " (profiles with a file or document: " + strings.Join(known, ", ") + ")"
}

// unmatchedProfile is the warning about an active profile p that matches
// no configuration: no profile file (tried: the files looked for) and no
// document conditional on it. The key that activated it
// (spring.profiles.active, STREAM_PROFILES_ACTIVE) is read, not ignored:
// the profile only changes nothing, which Spring Boot allows (a profile
// may only switch code), so a warning, in case of a typo.
func unmatchedProfile(p string, tried []string) string {
	return "profile " + quoteShort(p) + " is active but matches no configuration: no profile file (looked for " + lookedFor(tried) +
		") and no document with spring.config.activate.on-profile (or spring.profiles) matching it"
}

// globEscape escapes the metacharacters of filepath.Match in path.
func globEscape(path string) string {
	var b strings.Builder
	for _, r := range path {
		if strings.ContainsRune(`*?[\`, r) && (r != '\\' || filepath.Separator != '\\') {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// newMissingProfile is the problem of an active profile none of whose
// files exists (tried: the files looked for).
func newMissingProfile(p string, tried []string) *missingProfileError {
	name := "profile " + quoteShort(p)
	if len(tried) > 0 {
		name = tried[0]
	}
	return &missingProfileError{&fileError{name: name, msg: "profile " + quoteShort(p) + " is active but its file is missing (looked for " + lookedFor(tried) + ")"}, tried}
}

// DescribeSearch says where [Load] looks for the base files with opts
// when spring.config.name, location or additional-location is set (by
// the Options fields, SPRING_APPLICATION_JSON or the variables): the
// files looked for in the directory locations and the locations, with
// the settings that chose them; "" for the default search (application.*
// in ./, ./config/ and ./config/*/). For a message when no file is
// found.
func DescribeSearch(opts Options) string {
	envList := opts.Env
	if envList == nil {
		envList = os.Environ()
	}
	env := envMap(envList)
	caseAliases(env)
	f := &locFinder{opts: opts, env: env, seen: map[string]*source{}}
	names, nameFrom := f.configNames()
	locs, locFrom := f.setting("spring.config.location", opts.Locations, "Options.Locations", envConfigLocation)
	adds, addFrom := f.setting("spring.config.additional-location", opts.AdditionalLocations, "Options.AdditionalLocations", envConfigAdditional, envConfigAdditionalSquashed)
	if nameFrom == "" && locFrom == "" && addFrom == "" {
		return ""
	}
	var files []string
	for _, n := range names {
		files = append(files, n+".yaml", n+".yml", n+".properties")
	}
	what := orList(files)
	if nameFrom != "" {
		what += " (" + nameFrom + ")"
	}
	describe := func(items []string, from string) string {
		var dirs, named []string
		for _, item := range items {
			for _, l := range strings.Split(item, ";") {
				l = strings.TrimSpace(l)
				l, _ = cutPrefixFold(l, "optional:")
				l, _ = cutPrefixFold(l, "file:")
				switch {
				case l == "":
				case strings.HasSuffix(l, "/") || strings.HasSuffix(l, `\`):
					dirs = append(dirs, l)
				default:
					named = append(named, l)
				}
			}
		}
		var parts []string
		if len(dirs) > 0 {
			parts = append(parts, what+" in "+orList(dirs))
		}
		if len(named) > 0 {
			parts = append(parts, orList(named))
		}
		if len(parts) == 0 {
			return ""
		}
		return strings.Join(parts, ", or ") + " (" + orDefault(from) + ")"
	}
	if locs == nil {
		locs = []string{"./;config/;config/*/"}
	}
	out := describe(locs, locFrom)
	if s := describe(adds, addFrom); s != "" {
		out += "; then " + s
	}
	var hidden redact.Values
	for _, t := range f.hidden {
		hidden.Add(t)
	}
	return hidden.String(out)
}

// noConfigFile is stream.Config.NoConfigFile: when Load read no file
// (files) and was given no Data, "no configuration file was found
// (looked for ...)", naming the files and directories searched; else "".
func noConfigFile(opts Options, files []string) string {
	if len(files) > 0 || opts.Data != nil {
		return ""
	}
	if opts.File != "" {
		return "no configuration file was found (looked for " + inDir(opts.Dir, opts.File) + ")"
	}
	if s := DescribeSearch(opts); s != "" {
		return "no configuration file was found (looked for " + s + ")"
	}
	dir := opts.Dir
	if dir == "" {
		dir = "."
	}
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	dir = strings.TrimSuffix(filepath.ToSlash(dir), "/") + "/"
	return "no configuration file was found (looked for " + DefaultFile + ", application.yml or " + PropertiesFile +
		" in " + dir + ", " + dir + "config/ or " + dir + "config/*/)"
}

// orList joins items as "a, b or c".
func orList(items []string) string {
	if len(items) <= 1 {
		return strings.Join(items, "")
	}
	return strings.Join(items[:len(items)-1], ", ") + " or " + items[len(items)-1]
}

// springConfigSetBy says how spring.config.name, location and
// additional-location (squashed) are set, as they are not in a file.
var springConfigSetBy = map[string]string{
	"name":               envConfigName + ", or Options.ConfigName, which replace the name application: list it too, as application,orders, to go on reading application.yaml",
	"location":           envConfigLocation + ", or Options.Locations, which replace the default locations ./, ./config/ and ./config/*/; to read more files beside them, " + envConfigAdditional + " or spring.config.import",
	"additionallocation": envConfigAdditional + ", or Options.AdditionalLocations",
}

// springConfigKeys reports the keys under spring.config that a file
// holds and that have no effect there, and removes them from raw (their
// origins, file:line, are in origins). spring.config.import and
// spring.config.activate are read per document and are gone from raw by
// now, unless invalid (reported then as errors).
//
//   - spring.config.name, location and additional-location: Spring Boot
//     reads them from the environment before it reads any file, and so
//     does streambind (see findBase): written in a file, they are ignored,
//     in Boot without a word. Set by SPRING_APPLICATION_JSON or a
//     variable, they were read, and are kept.
//   - spring.config.import set by SPRING_APPLICATION_JSON was read (an
//     initial import) and is kept; spring.config.activate there has no
//     document to condition: a warning.
//   - spring.config.on-not-found and use-legacy-processing: Boot's,
//     without a counterpart here.
//   - Any other key (spring.config.locaton, import-check): not one of
//     Boot's; so is a value of spring.config itself (spring.config: x).
//
// A key that several files set is a warning at each (fileOrigins are the
// files' layers' origins, in order), so that one run names them all.
func springConfigKeys(raw map[string]any, origins map[string]string, fileOrigins []map[string]string) (warnings []*stream.ConfigError) {
	sk, _ := mapKey(raw, "spring")
	spring, ok := raw[sk].(map[string]any)
	if !ok {
		return nil
	}
	ck, ok := mapKey(spring, "config")
	if !ok {
		return nil
	}
	dropConfig := func() {
		delete(spring, ck)
		if len(spring) == 0 {
			delete(raw, sk)
		}
	}
	cfg, ok := spring[ck].(map[string]any)
	if !ok {
		if spring[ck] == nil {
			return nil // "config:" with nothing below
		}
		for _, o := range eachOrigin(originOfValue(origins, "spring.config"), fileOrigins, "spring.config") {
			warnings = append(warnings, &stream.ConfigError{Path: "spring.config", Origin: o,
				Msg: "has no effect: spring.config holds keys (import, activate.on-profile, activate.on-cloud-platform), not a value of its own; ignored"})
		}
		dropConfig()
		return warnings
	}
	for _, k := range sortedKeys(cfg) {
		path := "spring.config." + k
		origin := originOfValue(origins, path)
		// The command line's are read before any file, as the
		// environment's are.
		fromEnv := strings.HasPrefix(origin, "env ") || strings.HasPrefix(origin, OriginArgs)
		var msg string
		var where []string // where to warn, if not eachOrigin's
		switch squash(k) {
		case "name", "location", "additionallocation":
			msg = "has no effect in a file: Spring Boot, and streambind, read spring.config.name, location and additional-location from the environment before any file (set " +
				springConfigSetBy[squash(k)] + "); ignored"
			if fromEnv {
				// Read from the environment already, and kept; the files
				// that set it too are warned of all the same (their value
				// is not the one read). A blank variable counts as unset:
				// then nothing sets it, and the key is dropped.
				where = filesSetting(fileOrigins, path)
				if len(where) == 0 {
					continue
				}
				if s, isStr := cfg[k].(string); !isStr || strings.TrimSpace(s) != "" || strings.HasPrefix(origin, "env "+EnvApplicationJSON) || strings.HasPrefix(origin, OriginArgs) {
					for _, o := range where {
						warnings = append(warnings, &stream.ConfigError{Path: path, Origin: o, Msg: msg + " (" + origin + " sets it: that is read)"})
					}
					continue
				}
			}
		case "import":
			if fromEnv {
				continue // read from the environment already (an initial import)
			}
			delete(cfg, k) // a file's, invalid: reported where its document was read
			continue
		case "activate":
			if !fromEnv {
				delete(cfg, k) // a file's, invalid: reported where its document was read
				continue
			}
			msg = "has no effect in the environment: spring.config.activate conditions the document of a file that holds it; ignored"
		case "onnotfound":
			msg = "Spring Boot's on-not-found has no counterpart in streambind: a missing location is an error unless written optional:; ignored"
		case "uselegacyprocessing":
			msg = "Spring Boot 2.x's legacy config processing has no counterpart in streambind, which reads files by Boot 2.4+'s rules; ignored"
		case "importcheck":
			msg = "not a key of Spring Boot's spring.config: Spring Cloud Config's import check is spring.cloud.config.import-check.enabled, and has no counterpart in streambind (it has no config server import); ignored"
		default:
			msg = "not a key of Spring Boot's spring.config (import, activate.on-profile, activate.on-cloud-platform; name, location and additional-location from the environment); ignored"
		}
		if where == nil {
			where = eachOrigin(origin, fileOrigins, path)
		}
		for _, o := range where {
			warnings = append(warnings, &stream.ConfigError{Path: path, Origin: o, Msg: msg})
		}
		delete(cfg, k)
	}
	if len(cfg) == 0 {
		dropConfig()
	}
	return warnings
}

// eachOrigin returns the origins of path, whose value has its origin
// last: where each file that sets it does, in order, when it has its
// value from a file; else (from the environment, or unknown) last.
func eachOrigin(last string, fileOrigins []map[string]string, path string) []string {
	if strings.HasPrefix(last, "env ") {
		return []string{last}
	}
	if out := filesSetting(fileOrigins, path); len(out) > 0 {
		return out
	}
	return []string{last}
}

// filesSetting returns where the files' layers set path (or a key below
// it), in order.
func filesSetting(fileOrigins []map[string]string, path string) []string {
	var out []string
	for _, fo := range fileOrigins {
		if o := setAt(fo, path); o != "" && !slices.Contains(out, o) {
			out = append(out, o)
		}
	}
	return out
}

// setAt is where a layer sets path itself or the first key or list item
// below it; "" if it sets none (not the origin of an enclosing key).
func setAt(origins map[string]string, path string) string {
	if o, ok := origins[strings.ToLower(path)]; ok {
		return o
	}
	return firstBelow(origins, path)
}

// originOfValue is the origin of path (see originOf), or of the first
// key or list item set below it.
func originOfValue(origins map[string]string, path string) string {
	if o := originOf(origins, path); o != "" {
		return o
	}
	return firstBelow(origins, path)
}

// firstBelow is the origin of the first key or list item set below path
// ("" if none): a key below sorts before a list item ('.' < '[').
func firstBelow(origins map[string]string, path string) string {
	path = strings.ToLower(path)
	best := ""
	for k := range origins {
		if (strings.HasPrefix(k, path+".") || strings.HasPrefix(k, path+"[")) && (best == "" || k < best) {
			best = k
		}
	}
	return origins[best]
}

// unreadDefaults warns of each application.yaml, .yml or .properties in
// Options.Dir or its config/ that Load did not read (files, absolute)
// because spring.config.name or location chose other files: a service
// ported with its application.yaml beside the file SPRING_CONFIG_NAME
// names ran without it, its settings (a virtual host, credentials)
// silently at their defaults. Spring Boot says nothing; the file is more
// often a mistake than a choice. Nothing with Options.File, which names
// the one base file.
func unreadDefaults(opts Options, files []string) []*stream.ConfigError {
	if opts.File != "" {
		return nil
	}
	searched := DescribeSearch(opts)
	if searched == "" {
		return nil
	}
	read := map[string]bool{}
	for _, f := range files {
		read[absPath(f)] = true
	}
	imp := &importer{opts: opts}
	var out []*stream.ConfigError
	for _, dir := range []string{"", "config"} {
		for _, name := range []string{DefaultFile, "application.yml", PropertiesFile} {
			path := inDir(opts.Dir, filepath.Join(dir, name))
			if read[absPath(path)] {
				continue
			}
			if st, err := os.Stat(path); err != nil || !st.Mode().IsRegular() {
				continue
			}
			out = append(out, &stream.ConfigError{Path: imp.displayName(path),
				Msg: "not read: the files looked for are " + searched})
		}
	}
	return out
}
