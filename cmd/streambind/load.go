package main

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/streambind/streambind/config"
	"github.com/streambind/streambind/internal/didyoumean"
	"github.com/streambind/streambind/stream"
)

// loadFlags are the flags every subcommand that reads configuration has.
type loadFlags struct {
	profile string
}

func (f *loadFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.profile, "profile", "",
		"profiles to activate, comma-separated (application-<profile>.yaml or .properties); default: SPRING_APPLICATION_JSON's spring.profiles.active, else STREAM_PROFILES_ACTIVE, else SPRING_PROFILES_ACTIVE, else the base files'")
}

// profiles returns the profiles to give the loader: nil (the environment
// decides, as in an app) unless --profile was given.
func (f *loadFlags) profiles(cmd *cobra.Command) []string {
	if !cmd.Flags().Changed("profile") {
		return nil
	}
	out := []string{}
	for _, p := range strings.Split(f.profile, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// service is one service's configuration, loaded.
type service struct {
	// path is the PATH as given; dir is the directory of its files as
	// shown in messages (relative when PATH was).
	path, dir string
	// base is the base file's name ("application.yaml"); "" when the
	// directory holds none.
	base   string
	name   string
	loaded *config.Loaded
	// loadDir is the directory the loader read from (Options.Dir, an
	// absolute path): the names of origins are relative to it.
	loadDir string
	// loadErrs are the loader's problems.
	loadErrs stream.ConfigErrors
	// searched says which files a directory PATH was searched for when
	// SPRING_CONFIG_NAME, _LOCATION or _ADDITIONAL_LOCATION chose them
	// (config.DescribeSearch); "" for the default search or a file PATH.
	searched string
}

// loadService loads the configuration at path (a file or a directory),
// resolving a relative path against e.dir.
func loadService(e *runEnv, path string, profiles []string) (*service, error) {
	if path == "" {
		path = "."
	}
	abs := path
	if !filepath.IsAbs(abs) && e.dir != "" {
		abs = filepath.Join(e.dir, abs)
	}
	st, err := os.Stat(abs)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%s: no such file or directory", path)
		}
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	s := &service{path: path}
	// The loader's warnings are in Loaded.Warnings: lint prints them.
	// Args: none; the CLI's own flags are no service's command line.
	opts := config.Options{Profiles: profiles, Env: e.env, Args: []string{}, Logger: slog.New(slog.DiscardHandler)}
	if e.env == nil {
		opts.Env = []string{}
	}
	absDir := abs
	if st.IsDir() {
		s.dir = path
		opts.Dir = abs
		// opts.File stays empty so that config.Load searches the
		// directory as an app's working directory: application.yaml (or
		// .yml) and application.properties, which wins, in it, in config/
		// and in config/*/ (or where SPRING_CONFIG_NAME, _LOCATION and
		// _ADDITIONAL_LOCATION say), with their profile files. base (shown
		// in messages) is the first file read.
	} else {
		s.dir = filepath.Dir(path)
		s.base = filepath.Base(path)
		absDir = filepath.Dir(abs)
		opts.Dir = absDir
		opts.File = s.base
	}
	loaded, err := config.Load(opts)
	s.loadDir = opts.Dir
	if st.IsDir() {
		s.searched = config.DescribeSearch(opts)
		if loaded != nil && len(loaded.Files) > 0 {
			s.base = loaded.Files[0] // a location outside the directory: its path
			if rel, rerr := filepath.Rel(abs, loaded.Files[0]); rerr == nil && !strings.HasPrefix(rel, "..") {
				s.base = filepath.ToSlash(rel)
			}
		}
		if s.base == "" {
			if err == nil {
				if s.searched != "" {
					// SPRING_CONFIG_NAME, _LOCATION or
					// _ADDITIONAL_LOCATION chose the files: name them.
					return nil, fmt.Errorf("%s: no configuration file found: looked for %s", path, s.searched)
				}
				return nil, fmt.Errorf("%s: no %s, application.yml or %s in this directory (nor in its config/ or config/*/ directories)", path, config.DefaultFile, config.PropertiesFile)
			}
			s.base = config.DefaultFile
		}
	}
	var ces stream.ConfigErrors
	switch {
	case err == nil:
	case errors.As(err, &ces):
		s.loadErrs = ces
	default:
		s.loadErrs = stream.ConfigErrors{{Path: s.base, Msg: err.Error()}}
	}
	if loaded == nil {
		loaded = &config.Loaded{Stream: &stream.Config{}, Raw: map[string]any{}}
	}
	s.loaded = loaded
	s.name = applicationName(loaded.Raw)
	if s.name == "" {
		if a, err := filepath.Abs(absDir); err == nil {
			absDir = a
		}
		s.name = filepath.Base(absDir)
	}
	return s, nil
}

// applicationName returns spring.application.name, if set.
func applicationName(raw map[string]any) string {
	m, _ := raw["spring"].(map[string]any)
	app, _ := m["application"].(map[string]any)
	name, _ := app["name"].(string)
	return strings.TrimSpace(name)
}

// file returns the path of one of the service's files as shown in
// messages: its name (from an origin) joined to the service's directory.
func (s *service) file(name string) string {
	if name == "" {
		name = s.base
	}
	if filepath.IsAbs(name) {
		return name // a file imported from outside the service's directory
	}
	if s.dir == "" || s.dir == "." {
		return name
	}
	return filepath.Join(s.dir, name)
}

// location is where a problem was set: a file and a line (0 if unknown),
// and for a value from the environment its variable.
type location struct {
	file string
	line int
	env  string
	flag string // a command-line flag (--profile), when the value came from one
}

var fileLine = regexp.MustCompile(`^(.+?):(\d+)(?: \((.+)\))?$`)

// locate turns an origin ("application.yaml:12", "env NAME", "") into a
// location in s's files.
func (s *service) locate(origin string) location {
	if name, ok := strings.CutPrefix(origin, "env "); ok {
		return location{env: name}
	}
	if origin == "Options.Profiles" { // the profiles the command was given
		return location{flag: "--profile"}
	}
	if m := fileLine.FindStringSubmatch(origin); m != nil {
		n, _ := strconv.Atoi(m[2])
		return location{file: s.file(m[1]), line: n}
	}
	return location{file: s.file("")}
}

// shownKey is the key a problem at path is reported at: the Spring Boot
// key the value came from when its origin names one ("application.yaml:9
// (spring.kafka.consumer.auto-offset-reset)", set for a binder key read
// from spring.kafka.* or spring.rabbitmq.*), else path. Inside a binder's
// environment the Boot key is below that environment.
func shownKey(path, origin string) string {
	m := fileLine.FindStringSubmatch(origin)
	if m == nil || m[3] == "" {
		return path
	}
	from := m[3]
	if strings.HasPrefix(strings.ToLower(path), "stream.binders.") && !strings.HasPrefix(from, "stream.") {
		if i := strings.Index(strings.ToLower(path), ".environment."); i >= 0 {
			return path[:i+len(".environment.")] + from
		}
	}
	return from
}

// origin returns where key path p, or its nearest parent that has one,
// was set; "" when nothing on the way was.
func (s *service) origin(p string) string {
	origins := s.loaded.Stream.Origins
	p = strings.ToLower(p)
	for p != "" {
		if o, ok := origins[p]; ok {
			return o
		}
		i := strings.LastIndexAny(p, ".[")
		if i < 0 {
			break
		}
		p = p[:i]
	}
	return ""
}

// exactOrigin returns the origin of p itself.
func (s *service) exactOrigin(p string) (string, bool) {
	o, ok := s.loaded.Stream.Origins[strings.ToLower(p)]
	return o, ok
}

// configFlagHelp is the help of the --config flag of send, tail and dlq.
const configFlagHelp = "the service's application.yaml, or its directory (or give it as PATH, as to lint and config)"

// takePath takes the PATH argument of a command that has --config (send,
// tail, dlq), the service's directory or file as lint, config and graph
// take it: the same as --config.
func takePath(cmd *cobra.Command, args []string, config *string) error {
	if len(args) == 0 {
		return nil
	}
	if cmd.Flags().Changed("config") && args[0] != *config {
		return usage("give the configuration as PATH or as --config, not both (PATH %q, --config %q)", args[0], *config)
	}
	*config = args[0]
	return nil
}

// isServicePath reports whether arg names a service's configuration: a
// directory, or a .yaml, .yml or .properties file (relative to e.dir).
// send's first argument is PATH when it is one, else a message.
func isServicePath(e *runEnv, arg string) bool {
	p := arg
	if !filepath.IsAbs(p) && e.dir != "" {
		p = filepath.Join(e.dir, p)
	}
	st, err := os.Stat(p)
	if err != nil {
		return false
	}
	return st.IsDir() || isConfigFileName(filepath.Base(arg))
}

// binderFlagHelp is the help of the --binder flag of send, tail and dlq.
const binderFlagHelp = "the binder of the bindings and destinations that name none, in place of stream.default-binder: a binder declared under stream.binders or a binder type (kafka, rabbit, nats, redis, memory); needed when the configuration chooses none"

// applyBinderFlag makes flag (--binder, when given) cfg's default binder
// for this run, as stream.default-binder would: a binder declared under
// stream.binders or a binder type, matched case-insensitively.
func applyBinderFlag(cfg *stream.Config, flag string) error {
	flag = strings.TrimSpace(flag)
	if flag == "" {
		return nil
	}
	for n := range cfg.Binders {
		if strings.EqualFold(n, flag) {
			cfg.DefaultBinder = n
			return nil
		}
	}
	for _, t := range knownBinderTypes() {
		if strings.EqualFold(t, flag) {
			cfg.DefaultBinder = t
			return nil
		}
	}
	want := "a binder type (" + strings.Join(knownBinderTypes(), ", ") + ")"
	if len(cfg.Binders) > 0 {
		declared := make([]string, 0, len(cfg.Binders))
		for n := range cfg.Binders {
			declared = append(declared, n)
		}
		sort.Strings(declared)
		want = "a binder declared under stream.binders (" + strings.Join(declared, ", ") + ") or " + want
	}
	return usage("--binder: want %s, got %q", want, flag)
}

// ownBinder returns the binder binding names itself (its binder, else
// stream.default.binder), "" when it takes stream.default-binder.
func ownBinder(cfg *stream.Config, binding string) string {
	for k, b := range cfg.Bindings {
		if strings.EqualFold(k, binding) && strings.TrimSpace(b.Binder) != "" {
			return strings.TrimSpace(b.Binder)
		}
	}
	return strings.TrimSpace(cfg.Default.Binder)
}

// checkBinderChoice checks that the binder of binding ("" for a
// destination of --destination) is decided, by the binding, by cfg
// (stream.DefaultBinderOf) or by --binder (flag), and that --binder does
// not contradict the binding's own binder. An app that registers one
// binder type in code needs neither default-binder nor a declared binder;
// the command, which registers every type, asks for one: exit status 2.
func checkBinderChoice(cfg *stream.Config, binding, flag string) error {
	own := ""
	if binding != "" {
		own = ownBinder(cfg, binding)
	}
	if own != "" {
		if flag != "" && !strings.EqualFold(own, cfg.DefaultBinder) {
			return usage("--binder %s: binding %s names its own binder, %s", flag, binding, own)
		}
		return nil
	}
	if name, _ := stream.DefaultBinderOf(cfg, knownBinderTypes()); name != "" {
		return nil
	}
	if len(cfg.Binders) == 0 {
		return usage("which binder? stream.default-binder is not set and no binder is declared under stream.binders (the app's code chooses: the one binder type it registers): set stream.default-binder, or pass --binder (%s)",
			strings.Join(knownBinderTypes(), ", "))
	}
	declared := make([]string, 0, len(cfg.Binders))
	for n := range cfg.Binders {
		declared = append(declared, n)
	}
	sort.Strings(declared)
	candidates := stream.DefaultCandidates(cfg)
	if len(candidates) == 0 {
		return usage("which binder? stream.default-binder is not set and no binder declared under stream.binders is a default candidate (the app's code chooses: the one binder type it registers that no declared binder is named after): set stream.default-binder, or pass --binder (%s, or a binder type)",
			strings.Join(declared, ", "))
	}
	if len(candidates) < len(declared) {
		return usage("which binder? stream.default-binder is not set and %d of the binders declared under stream.binders are default candidates (%s): set stream.default-binder, or pass --binder (%s)",
			len(candidates), strings.Join(candidates, ", "), strings.Join(declared, ", "))
	}
	return usage("which binder? stream.default-binder is not set and %d binders are declared under stream.binders: set stream.default-binder, or pass --binder (%s)",
		len(declared), strings.Join(declared, ", "))
}

// configFile is the configuration file the service was loaded from, as the user
// named it (application.yaml, not "." for the current directory).
func (s *service) configFile() string {
	if filepath.IsAbs(s.base) {
		return s.base // a location outside the directory (SPRING_CONFIG_LOCATION)
	}
	return filepath.Join(s.dir, s.base)
}

// listOrNone is names joined by commas, or "none".
func listOrNone(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

// didYouMean is ` (did you mean NAME?)` for the one of names closest to
// name when it is close enough to be a typo (work-in-O, wrok-in-0,
// Work-In-1 for work-in-0), else for the one that name is the function of
// (work for work-in-0), else "".
func didYouMean(name string, names []string) string {
	want := strings.ToLower(name)
	best, bestD := "", -1
	for _, n := range names {
		if d := didyoumean.Distance(want, strings.ToLower(n)); bestD < 0 || d < bestD {
			best, bestD = n, d
		}
	}
	// The bound counts best's characters, not its bytes, as
	// internal/didyoumean's rule does (Distance counts runes).
	if best != "" && bestD <= max(1, min(3, utf8.RuneCountInString(best)/3)) {
		return " (did you mean " + best + "?)"
	}
	// A function's name for its binding: audit for audit-in-0.
	var prefixed []string
	for _, n := range names {
		if strings.HasPrefix(strings.ToLower(n), want+"-") {
			prefixed = append(prefixed, n)
		}
	}
	if len(prefixed) == 1 {
		return " (did you mean " + prefixed[0] + "?)"
	}
	return ""
}
