// Package config loads a streambind application's configuration: the base
// files application.yaml and application.properties, the profile files
// application-<profile>.yaml and .properties merged over them (found where
// Spring Boot looks for them: ./, ./config/ and ./config/*/ of
// Options.Dir, or the locations SPRING_CONFIG_LOCATION names), and
// environment variables on top, into a *stream.Config (the "stream"
// section) plus the whole merged tree for the other sections.
//
// The keys follow docs/conventions.md ("Configuration"):
//
//   - The canonical root is stream. spring.cloud.stream.* and
//     spring.cloud.function.definition are accepted as aliases of stream.*
//     and stream.function.definition. Other roots (management, logging,
//     app-specific ones) are kept in [Loaded.Raw], unvalidated here;
//     [Loaded.Decode] decodes an application's own section into a typed
//     struct with the same strictness (unknown keys and bad values are
//     errors at their file:line).
//   - Keys are kebab-case; camelCase and snake_case spellings of every
//     property key are accepted (maxAttempts == max-attempts). Names of
//     bindings and binders keep the case the first file that names them
//     gives them (chargePayment-in-0), and match case-insensitively;
//     binder types are lower-cased. The first level of a binder's maps (a
//     binder's environment, and the binder, consumer and producer maps of
//     binder-specific sections) holds property names: camelCase is turned
//     into kebab-case, except in keys holding a '.' (native client
//     properties such as bootstrap.servers). The keys of other maps
//     (function.bindings, retryable-exceptions, and the maps below a
//     binder property, such as configuration) are map keys, kept exactly
//     as written (toUpper-in-0, java.lang.IllegalStateException), as
//     Spring Boot keeps them.
//   - A dotted key ("bindings.x-in-0.group: g") stands for nested keys, at
//     the top level and at every level of property keys, and at a level of
//     names ("x-in-0.group: g" under bindings), as Spring Boot flattens a
//     YAML file; "[a.b]" there is a name holding dots.
//   - Consumer enable-dlq (Kafka) and auto-bind-dlq (RabbitMQ) are accepted
//     as dlq.
//   - stream.<type> (stream.kafka, stream.rabbit, ...) holding binder,
//     default or bindings is a binder-specific section
//     ([stream.Config.Extensions]); any other unknown key is an error.
//   - Environment variables override keys, as Spring Boot's relaxed
//     binding reads them: the key path in upper case with '.' turned into
//     '_', and each '-' either turned into '_' or dropped (the squashed
//     camelCase form): STREAM_DEFAULT_BINDER, STREAM_BINDINGS_CHARGEPAYMENT_IN_0_GROUP,
//     SPRING_CLOUD_STREAM_BINDINGS_X_IN_0_CONSUMER_MAXATTEMPTS,
//     MANAGEMENT_SERVER_ADDRESS, LOGGING_LEVEL, MYAPP_DB_URL. Only upper-case
//     variables are read, but for those starting SPRING_ or STREAM_ in
//     another case (spring_profiles_active,
//     spring_cloud_stream_bindings_x_in_0_group), read as their upper-case
//     spelling as Spring Boot reads them (origin: the name as set); set
//     in two cases, the upper-case spelling wins, else the lower-case
//     one, else the least name. Where '_' could stand for '.' or '-', the keys
//     and names the files declare decide (a key the files spell db-url
//     before one they spell db.url; the longer key first).
//   - In the stream section a variable may name any key of the schema, and
//     new binding, binder and section names (STREAM_* wins over
//     SPRING_CLOUD_STREAM_*; SPRING_CLOUD_FUNCTION_DEFINITION is
//     stream.function.definition). A variable that starts like a key
//     (STREAM_BINDINGS_..., STREAM_DEFAULT_...) but names none, or that one
//     token changed to a near one makes a key's (STREAM_SHUTDOWN_TIMOUT),
//     is an error; other STREAM_* variables (say STREAM_BINDER, used in a
//     placeholder) are ignored.
//   - Outside the stream section a variable overrides only a key that
//     exists: one the files declare (any root: management, logging,
//     spring.rabbitmq, myapp...), or one of the framework's keys
//     ([FrameworkKeys]: management.*, logging.*) even when no file sets
//     it. A variable that matches no such key is ignored (so PATH or HOME
//     never create a key; but a file with a root key home is overridden
//     by HOME, as in Spring), except under the framework's roots
//     (management, logging): there a variable that starts like one of
//     their keys (MANAGEMENT_SERVER_ADRESS, LOGGING_FORMAT_JSON) or is one
//     typo from one (LOGGING_LEVL) is an error with a did-you-mean. The
//     variables Kubernetes sets for a service (<NAME>_SERVICE_HOST,
//     <NAME>_PORT=tcp://..., ...) are never taken for misspelt keys.
//     [Loaded.Decode] also applies variables to the fields of its target
//     that no file sets (MYAPP_DB_PASSWORD for a field DB.Password).
//   - A variable named as the key it sets, dots and all
//     (spring.cloud.stream.kafka.binder.brokers=kafka:9092, as
//     docker-compose files and Kubernetes manifests often set an SCSt
//     service's keys), is read as Spring Boot reads it: under the roots
//     spring, stream, management and logging and the roots the files
//     declare, over the files and under the upper-case variables, checked
//     as a file's key (origin "env <name>"). spring.profiles.active,
//     include, default, group.<name> and spring.config.location,
//     additional-location, name, import so named choose the profiles and
//     the files, under their upper-case variables (SPRING_PROFILES_ACTIVE
//     wins over spring.profiles.active, as Spring Boot's mappers of the
//     system environment order them); another spring.profiles.* or
//     spring.config.* so named is a warning.
//   - SPRING_APPLICATION_JSON ([EnvApplicationJSON]), a JSON object of
//     keys, is read as Spring Boot reads it: over the files and the other
//     variables, its keys validated as a file's (origin "env
//     SPRING_APPLICATION_JSON"). Its spring.profiles.active, include,
//     default and group.<name> choose the profiles, over the variables'.
//   - The command line ([Options.Args], given by the program):
//     --name=value sets the key as Spring Boot's
//     SimpleCommandLinePropertySource does, over everything else,
//     SPRING_APPLICATION_JSON included (origin "command line"); its
//     profile and spring.config.* settings win over the JSON's.
//   - Spring Boot's logging.level.root and management.server.port (in a
//     file, or LOGGING_LEVEL_ROOT, MANAGEMENT_SERVER_PORT) are read as
//     logging.level and the port of management.server.address (-1: none);
//     with neither management.server.port nor management.server.address,
//     Spring Boot's server.port (SERVER_PORT) and server.address are, since
//     Boot serves the actuator on its main server (-1: none; exposure
//     unset is Boot's health; server.servlet.context-path goes before the
//     base path);
//     Boot's management.endpoints.web base-path, path-mapping, exposure
//     and discovery are checked here (a bad path is an error with its
//     origin) and read by package management; Boot's other logging and
//     management settings that streambind lacks (logging.level.<logger>,
//     logging.pattern, management.endpoint.health, management.health,
//     management.metrics, ...) are warnings ([Loaded.Warnings]), removed
//     from [Loaded.Raw].
//   - A variable names a whole list (a comma-separated value, as for
//     STREAM_..._REQUIRED_GROUPS=a,b) or an item, by its index:
//     MYAPP_HOSTS_0 (Spring's MYAPP_HOSTS_0_ and MYAPP_HOSTS[0] too),
//     MYAPP_SERVERS_0_HOST for a key of an item. As in Spring Boot, the
//     items given by variables replace the files' list whole: number them
//     from 0 without gaps (a gap is an error).
//   - Two variables that set the same key (MAXATTEMPTS and MAX_ATTEMPTS,
//     or a list and one of its items) are an error, unless one is STREAM_*
//     and the other SPRING_CLOUD_STREAM_*. The origin of a key a variable set is "env NAME".
//   - ${VAR} and ${VAR:default} in any string value, of every root, are
//     replaced from the environment; the default may be empty or contain
//     ':' and placeholders. ${a.key} (${spring.application.name},
//     ${server.port:8080}) is the variable that stands for the key
//     (SERVER_PORT), else the key's value in the configuration itself
//     (relaxed; its own placeholders resolved first). A ${VAR} not in the
//     environment is looked up in the configuration too, as Spring looks it
//     up in every property source: a .env file imported as properties
//     (optional:file:.env[.properties]) gives it. An unset VAR or key
//     without a default, "${}" and keys that refer to each other in a
//     cycle (reported once, with the chain) are errors; a "${" with no
//     closing '}' is text, as Spring Framework 6.2's PlaceholderParser
//     keeps it.
//   - An explicit 0 for a key whose default is not 0 (max-attempts,
//     concurrency, partition-count, ...) is an error: stream.Config reads 0
//     as "not set".
//   - A YAML file may hold several documents (---), a .properties file
//     too (#---); a document with spring.config.activate.on-profile (or
//     the older spring.profiles) applies only when its profile expression
//     (a, !a, a & b, a | b, parentheses) matches the active profiles.
//     spring.profiles.active and spring.profiles.include in the base files
//     activate profiles when neither Options.Profiles nor the environment
//     names them. While no profile is active, Spring Boot's default
//     profiles are accepted (SPRING_PROFILES_DEFAULT, else
//     spring.profiles.default of the base files, else "default"): their
//     files and documents apply, and they need none.
//     spring.profiles.group.<name> makes its members active right after
//     name (depth first; a profile already active is not added again), as
//     in Spring Boot; it, spring.profiles.active, include and default are
//     errors in a profile-specific file or document. Anchors, aliases and
//     merge keys (<<) work.
//   - spring.config.import loads more files, as Spring Boot does (see
//     imports.go and docs/conventions.md): paths relative to the importing
//     file, file: relative to Options.Dir, directories ending in '/',
//     optional:, [.properties] hints, profile variants, ${...} in
//     locations, SPRING_CONFIG_IMPORT, and configtree: for mounted
//     ConfigMaps and Secrets (values taken literally); the imported
//     documents merge right after the importing one. classpath:
//     and configserver: are refused (with optional:, a warning).
//   - The base files are searched for as Spring Boot does (see
//     locations.go and docs/conventions.md): in ./, ./config/ and each
//     ./config/*/ subdirectory of Options.Dir (a later one wins; within
//     these, profile files win over base files), with the names of
//     SPRING_CONFIG_NAME; SPRING_CONFIG_LOCATION replaces the locations,
//     SPRING_CONFIG_ADDITIONAL_LOCATION adds winning ones (files,
//     directories, optional:, hints, one '*'; Options.ConfigName,
//     Locations and AdditionalLocations stand for them). A missing
//     location without optional: is an error naming its variable;
//     classpath: is refused. An explicit Options.File replaces the
//     locations; Options.Data (embedded configuration) is the lowest
//     group, the locations searched over it. SPRING_APPLICATION_JSON's
//     spring.config.name, location and additional-location win over the
//     variables; placeholders in them are resolved before splitting. A
//     file several locations name is read at its last place. Written in
//     a file, spring.config.name, location and additional-location have
//     no effect (as in Boot): warnings, as is any other spring.config key
//     but import and activate, or a value of spring.config itself.
//   - .properties files (java.util.Properties syntax) take dotted keys,
//     a[0] list items and [a.b] map keys holding dots; they are read as
//     UTF-8, or as ISO-8859-1 (Spring Boot's encoding for them) when not
//     valid UTF-8. YAML files are UTF-8. A byte order mark is dropped. At
//     the same level (base or one profile) the .properties file wins over
//     the YAML one, as in Spring Boot.
//   - Limits: a file is at most [MaxFileBytes] (16 MiB); a value at most
//     1 MiB once its placeholders are replaced, all values together at
//     most 64 MiB; a chain of keys referring to keys at most 64 long;
//     placeholder defaults nested at most 16 deep. Each is an error naming
//     the file or key, never a hang.
//   - Values are converted strictly per key: integers, numbers, booleans
//     (also the strings "true"/"false"), strings, durations (Go syntax such
//     as 250ms; a bare integer means milliseconds), lists of strings (a YAML
//     list or a comma-separated string). Blanks around a number, boolean
//     or duration are ignored, as Spring's conversion ignores them.
//   - A key given both a value and keys inside it (brokers and
//     brokers.x) is an error naming both keys and lines; a binding
//     property in a binder section (stream.<type>.binder, or a declared
//     binder's environment in either form) is an error saying where it
//     goes (scstbinderkeys.go); a key that names one secret value
//     (redact.IsSecretValueKey) given a list or a map is an error that
//     shows none of the values.
//
// Every problem found is reported, as a [stream.ConfigErrors], each with its
// key path and origin (file:line or env NAME).
//
// Viper does the layering (each file and the environment merged over the
// previous ones); yaml.v3 nodes give the line numbers.
package config

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"

	"github.com/spf13/viper"

	"github.com/streambind/streambind/redact"
	"github.com/streambind/streambind/stream"
)

// DefaultFile is the base file read when Options.File is empty
// (application.yml is accepted too).
const DefaultFile = "application.yaml"

// Options says where the configuration comes from. The zero value reads
// application.yaml from the working directory, the profiles named by
// STREAM_PROFILES_ACTIVE, and the process environment.
type Options struct {
	// Dir is the directory of the base file and the profile files, and the
	// application's directory that file: and configtree: imports are
	// relative to. Default: the working directory.
	Dir string
	// File is the base config file, relative to Dir unless absolute; a
	// name ending in .properties is read as a .properties file. Default:
	// the search of the locations (Locations): "application.yaml" (or
	// "application.yml" if only that exists) and "application.properties",
	// which wins over it, in Dir, then in Dir/config/ and each
	// Dir/config/*/; when none exists the base configuration is empty (not
	// an error). A File that is named explicitly but missing is an error;
	// it replaces the locations (SPRING_CONFIG_LOCATION is then ignored
	// with a warning), its profile files are looked for beside it.
	File string
	// Profiles to activate, in order: application-<profile>.yaml (or .yml)
	// and application-<profile>.properties (which wins), beside the base
	// file and with its stem, are merged over it; a profile with no file
	// is a warning naming the files looked for (as in Spring Boot, a
	// profile may only switch code), unless a document of the base files
	// is activated by it. When nil, the profiles are taken from
	// the environment: spring.profiles.active of SPRING_APPLICATION_JSON,
	// else STREAM_PROFILES_ACTIVE (comma list), else
	// SPRING_PROFILES_ACTIVE, else spring.profiles.active of the base
	// files; spring.profiles.include of the base files is added in every
	// case, before them (as in Spring Boot, the active profiles win). A non-nil empty slice activates none (but include's); while
	// none is active the default profiles are accepted (see Load). The
	// members of a profile's group (spring.profiles.group.<name>) follow
	// it. "The base files" include the files their documents without a
	// profile condition import (spring.config.import).
	Profiles []string
	// Env is the environment (NAME=value entries) read for overrides,
	// placeholders and profiles; a later entry for a name wins. Nil means
	// os.Environ(); a non-nil empty slice means no environment.
	Env []string
	// Args are the program's command-line arguments (os.Args[1:]), read
	// as Spring Boot reads them (SimpleCommandLinePropertySource): each
	// --name=value sets the key name (relaxed, as a .properties file's
	// key: --spring.cloud.stream.bindings.process-in-0.group=g,
	// --stream.default-binder=kafka, --server.port=8081), --name alone
	// sets it to "", an option given twice gets both values joined with
	// ','; an argument not starting with "--" is not read, "--" alone
	// ends the options (Spring Framework 6.1), and "--=x" is an error, as
	// in Spring. They win over everything
	// else, SPRING_APPLICATION_JSON included (origin "command line"),
	// and --spring.profiles.active (include, default, group.<name>)
	// chooses the profiles over every variable. Nil (or empty) means
	// none: as a Spring Boot application hands its main's args to
	// SpringApplication.run, a service hands its own, Args: os.Args[1:]
	// (java -jar app.jar --spring.profiles.active=kafka becomes app
	// --spring.profiles.active=kafka). Load never reads os.Args itself,
	// so a program with flags of its own passes what its flag parsing
	// left (flag.Args(), after "--"), or nothing.
	Args []string
	// Data, when non-nil, is used as the content of the base file instead of
	// reading it (tests, embedded configuration). Profile files are still
	// read from Dir (without File: only while the default locations are
	// in force; spring.config.location replaces them). Without File, Data
	// is embedded configuration, as Spring Boot's packaged
	// classpath:/application.yaml: the lowest group, with the locations
	// (Locations, else the default ones) still searched over it, so that
	// a deployment's ./config/application.yaml overrides it.
	Data []byte
	// Name is the base file's name in messages and origins. Default: File
	// as given, or "application.yaml".
	Name string
	// ConfigName is spring.config.name: the stems of the files read from
	// each directory location (<name>.yaml or .yml, <name>.properties,
	// <name>-<profile>.*), a later name winning. Nil means the variable
	// SPRING_CONFIG_NAME (comma list), else "application".
	ConfigName []string
	// Locations is spring.config.location: the locations searched for
	// the base files and their profile files, in place of
	// [DefaultLocations] (./, ./config/, ./config/*/ relative to Dir):
	// files, directories ending in '/', optional:, file:, [.yaml] hints,
	// one '*' as the last directory; a later location wins (see
	// locations.go). Nil means the variable SPRING_CONFIG_LOCATION (comma
	// list), else the default locations. Not allowed with File, which
	// replaces the locations itself (SPRING_CONFIG_LOCATION is then
	// ignored with a warning); with Data, searched over it.
	Locations []string
	// AdditionalLocations is spring.config.additional-location: more
	// locations, searched after the others and winning over them. Nil
	// means the variable SPRING_CONFIG_ADDITIONAL_LOCATION (or
	// SPRING_CONFIG_ADDITIONALLOCATION).
	AdditionalLocations []string
	// RequireProfileFiles makes an active profile with no file, and no
	// document of the base files activated by it, an error naming the files
	// looked for instead of a warning: for programs whose profiles choose
	// what they connect to (a mistyped profile would otherwise run on the
	// defaults).
	RequireProfileFiles bool
	// Logger receives the warnings (keys ignored, files not read, with
	// the reason), once each, at level WARN; they are in
	// [Loaded.Warnings] too. A logger with a discarding handler silences
	// them. Unset (nil), they are left to the app made of the
	// configuration: stream.NewApp logs them through the app's logger
	// (stream.WithLogger), the one the program makes after Load from the
	// configuration's logging settings, as [stream.Config.LoaderWarnings]
	// says; a program that makes no app reads Loaded.Warnings, and one
	// that can end before NewApp defers [Loaded.LogWarnings]. Only when
	// Load fails (no app is made) are they logged to slog.Default(), the
	// last resort.
	Logger *slog.Logger
}

// Loaded is a loaded configuration.
type Loaded struct {
	// Stream is the decoded stream section. Its Origins map every key path
	// that was set (of every root, lower-case: "stream.bindings.x-in-0.group",
	// "management.port", list items as "a.b[0]") to its origin
	// ("application.yaml:12", "application-kafka.yaml:3", "env NAME").
	Stream *stream.Config
	// Raw is the whole merged tree, every root, after aliases (spring.cloud.stream
	// is under "stream"), environment overrides and placeholders: maps are
	// map[string]any with lower-case keys (binding and binder names spelt
	// as configured), lists []any, leaves nil, bool,
	// int, uint64, float64 or string. Other sections (management.*, ...)
	// are decoded from it by their owners; an application's own, by
	// [Loaded.Decode].
	Raw map[string]any
	// Profiles are the active profiles, in the order they were merged.
	Profiles []string
	// Files are the files read, in the order they were merged.
	Files []string
	// Warnings are the keys that were ignored, each with the reason
	// (obsolete Spring Cloud Stream keys, Spring Boot settings streambind
	// does not read): the configuration runs without them. A warning
	// whose Path is a file's name (origins' spelling, Origin empty) is an
	// application.yaml, .yml or .properties in Dir or Dir/config/ left
	// unread because spring.config.name or location chose other files.
	Warnings []*stream.ConfigError
	// SecretPaths holds the key paths of Raw (lower-case, list items as
	// "a.b[0]") whose values came, wholly or partly, from a placeholder
	// whose variable or property name is a secret (${DB_PASSWORD},
	// ${spring.rabbitmq.password}), or from a key that did: their keys do
	// not say they are secret. [Loaded.Redacted] hides them.
	SecretPaths map[string]bool
	// Secrets are the texts those placeholders gave. Errors and Warnings
	// have them hidden already; a caller that shows values of Raw (or of
	// Stream: spring.rabbitmq.port is in addresses host:port) or messages
	// of its own about them hides them with Secrets.String and
	// Secrets.Tree. Never nil after Load.
	Secrets *redact.Values

	// env is the environment Load read, for Decode; aliases, the names
	// it added for variables written in another case (caseAliases).
	env     map[string]string
	aliases map[string]string
	// written holds the property names as the files spell them
	// (management.server.reserveStock-in-0.binder), for Problem.
	written map[string]bool
}

// Load reads, merges, checks and decodes the configuration.
//
// On error it returns a [stream.ConfigErrors] listing every problem (bad
// files, unknown keys, bad values, unset placeholders, invalid bindings),
// together with a Loaded holding what could be decoded, so that the caller
// can add the problems it finds itself; a caller must not start with a
// configuration that failed to load.
func Load(opts Options) (*Loaded, error) {
	envList := opts.Env
	if envList == nil {
		envList = os.Environ()
	}
	env := envMap(envList)
	aliases := caseAliases(env) // spring_profiles_active read as SPRING_PROFILES_ACTIVE
	cfgSchema := configSchema()
	root := rootSchema(cfgSchema)

	var errs stream.ConfigErrors
	// The command line's options, kept beside the environment for the
	// profile settings (argsEnvKey); their layer goes over everything.
	errs = append(errs, keepArgs(env, opts.Args)...)
	out := &Loaded{Stream: &stream.Config{}, Raw: map[string]any{}, Secrets: &redact.Values{}, env: env, aliases: aliases}

	// The files: the base files' documents, then each profile's files',
	// location group by location group (locations.go).
	locGroups, berrs, bwarns, locHidden := findBase(opts, env)
	errs = append(errs, berrs...)
	out.Warnings = append(out.Warnings, bwarns...)
	var bases []*source
	var baseDocs []*fileDocs
	for _, g := range locGroups {
		for _, src := range g.files {
			g.docs = append(g.docs, src.documents(&errs))
		}
		bases = append(bases, g.files...)
		baseDocs = append(baseDocs, g.docs...)
	}
	platform := cloudPlatform(env)
	// As in Spring Boot, the imports of the documents without a profile
	// condition are loaded before the profiles are worked out: they may
	// set them. (The second pass, below, reports their problems.)
	var preErrs stream.ConfigErrors
	var preWarns []*stream.ConfigError
	pre := newImporter(opts, env, platform, nil, &preErrs, &preWarns, baseDocs)
	preDocs := chunkDocs(append(pre.expand(baseDocs, false), pre.envImports()...))
	// The placeholders of the profile keys are resolved as Spring Boot
	// binds them (ConfigDataEnvironment.withProfiles): from the
	// environment, then the keys of the documents loaded so far
	// (ConfigDataEnvironmentContributorPlaceholdersResolver), as a
	// location's are.
	plookup := pre.lookup(nil)
	profiles, profileOrigins, perrs := activeProfiles(opts.Profiles, plookup, env, preDocs)
	errs = append(errs, perrs...)
	out.Profiles = profiles
	// As in Spring Boot, the default profiles (spring.profiles.default,
	// "default" unless set) are the accepted ones while no profile is
	// active: application-default.yaml and the documents activated by
	// "default" apply then. They are not active profiles (Loaded.Profiles
	// stays empty, as Spring's getActiveProfiles), and having no file is
	// no problem.
	accepted := profiles
	var deferrs []*stream.ConfigError
	if len(profiles) == 0 {
		accepted, deferrs = defaultProfiles(plookup, env, preDocs)
		errs = append(errs, deferrs...)
	}
	var layers []*layer
	addDocs := func(fd *fileDocs, profileFile bool) {
		for _, d := range fd.docs {
			if d.activeSet && (profileFile || d.onProfile != nil) {
				errs = append(errs, profileKeyProblem(fd.src.name, d.activeLine, "active", profileFile))
			}
			if d.includeSet && (profileFile || d.onProfile != nil) {
				errs = append(errs, profileKeyProblem(fd.src.name, d.inclLine, "include", profileFile))
			}
			if d.defaultSet && (profileFile || d.onProfile != nil) {
				errs = append(errs, profileKeyProblem(fd.src.name, d.defaultLine, "default", profileFile))
			}
			if d.groups != nil && (profileFile || d.onProfile != nil) {
				errs = append(errs, profileKeyProblem(fd.src.name, d.groupLine, "group", profileFile))
			}
			if d.root != nil && d.applies(accepted, platform) {
				layers = append(layers, docLayer(fd.src.name, d.root, root, &errs))
			}
		}
	}
	imp := newImporter(opts, env, platform, accepted, &errs, &out.Warnings, baseDocs)
	listed := map[string]bool{}
	addChunks := func(cs []chunk) {
		for _, c := range cs {
			if !listed[c.fd.src.path] {
				listed[c.fd.src.path] = true
				out.Files = append(out.Files, c.fd.src.path)
			}
			addDocs(c.fd, c.profileSpecific)
		}
	}
	mentioned := map[string]bool{}
	found, tried := map[string]bool{}, map[string][]string{}
	for _, lg := range locGroups {
		baseChunks := imp.expand(lg.docs, false)
		addChunks(baseChunks)
		for q := range profilesMentioned(chunkDocs(baseChunks)) {
			mentioned[q] = true
		}
		for _, p := range accepted {
			srcs, t, perrs := lg.profileFiles(opts, bases, p)
			errs = append(errs, perrs...)
			tried[p] = append(tried[p], t...)
			if len(srcs) > 0 || len(perrs) > 0 {
				found[p] = true
			}
			for _, src := range srcs {
				if abs := absPath(src.path); imp.loaded[abs] {
					continue // imported already (a directory import of the base files' own)
				} else {
					imp.loaded[abs] = true
				}
				cs := imp.expand([]*fileDocs{src.documents(&errs)}, true)
				addChunks(cs)
				for q := range profilesMentioned(chunkDocs(cs)) {
					mentioned[q] = true
				}
			}
		}
	}
	// spring.config.import of the environment (SPRING_CONFIG_IMPORT,
	// SPRING_APPLICATION_JSON): over the files, as Boot's initial imports.
	envChunks := imp.envImports()
	addChunks(envChunks)
	for q := range profilesMentioned(chunkDocs(envChunks)) {
		mentioned[q] = true
	}
	// A profile that names a group is not a typo: it activates the
	// group's members, whose files are looked for in turn.
	groups, _ := groupsOf(plookup, env, preDocs)
	for name, g := range groups {
		if len(g.members) > 0 {
			mentioned[name] = true
		}
	}
	type missingProfile struct {
		p   string
		err *missingProfileError
	}
	var missingFiles []missingProfile
	for _, p := range accepted {
		if !found[p] && !imp.variantFor[p] && len(profiles) > 0 { // a default profile needs no file; nor one an import's variant (extra-dev.yaml) loaded for
			missingFiles = append(missingFiles, missingProfile{p, newMissingProfile(p, tried[p])})
		}
	}
	// As in Spring Boot, a profile may set nothing (it often only switches
	// code elsewhere): a warning, in case of a typo. A profile that a
	// document of the base files or of another profile's file is
	// activated by needs no file of its own.
	var profileWarnings []*stream.ConfigError
	for _, m := range missingFiles {
		switch {
		case mentioned[m.p]:
		case opts.RequireProfileFiles:
			m.err.msg += otherProfiles(opts.Dir, m.p, m.err.tried, mentioned)
			errs = append(errs, fileProblem(m.err))
		default:
			o := profileOrigins[m.p]
			w := &stream.ConfigError{Path: o.key, Origin: o.origin, Msg: unmatchedProfile(m.p, m.err.tried) +
				otherProfiles(opts.Dir, m.p, m.err.tried, mentioned)}
			profileWarnings = append(profileWarnings, w)
			out.Warnings = append(out.Warnings, w)
		}
	}

	// Layering: files in order, then the environment.
	v := viper.New()
	origins := map[string]string{}
	roots := map[string]bool{}
	merge := func(l *layer) {
		current := snapshot(v, roots)
		l.matchSpellings(current)
		errs = append(errs, shadowed(current, l.tree, "", l.origins, origins)...)
		_ = v.MergeConfigMap(l.tree) // never fails
		for k := range l.tree {
			roots[k] = true
		}
	}
	spelled := map[string]string{}
	// The keys as the layers write them where spelt otherwise, with the
	// origin each was written at: a key is kept (stream.Config.Keys)
	// while its origin is the key's, not once a later source set it.
	keys := map[string]writtenKey{}
	addKeys := func(l *layer) {
		for k, w := range l.keys {
			keys[k] = writtenKey{w, l.origins[k]}
		}
	}
	// The precedence of each key's source, for the aliases of a binder
	// setting (resolveBinderAliases).
	var ranks sourceRanks
	for _, l := range layers {
		for k, s := range l.spelled {
			if spelled[k] == "" {
				spelled[k] = s
			}
		}
		merge(l)
		for k, o := range l.origins {
			origins[k] = o
		}
		addKeys(l)
		ranks.add(l)
	}
	// Variables named as keys (spring.cloud.stream.kafka.binder.brokers),
	// over the files and under the upper-case ones.
	fileRoots := map[string]bool{}
	for k := range roots {
		fileRoots[strings.ToLower(k)] = true
	}
	// mergeOver merges a layer of variables (dotted names,
	// SPRING_APPLICATION_JSON) over the files: a list it sets replaces
	// theirs whole, their items' origins with it.
	mergeOver := func(l *layer) {
		for k, s := range l.spelled {
			if spelled[k] == "" {
				spelled[k] = s
			}
		}
		merge(l)
		// Every list dropped before any origin is set: the list's key
		// coming after its item's (map order) would drop the item's.
		for k := range l.origins {
			for p := range origins {
				if strings.HasPrefix(p, k+"[") {
					delete(origins, p) // a list replaced whole
				}
			}
		}
		for k, o := range l.origins {
			origins[k] = o
		}
		addKeys(l)
		ranks.add(l)
	}
	dls, derrs, dwarns := dottedEnvLayers(env, root, fileRoots)
	errs = append(errs, derrs...)
	out.Warnings = append(out.Warnings, dwarns...)
	afterDotted := overDotted(origins, spelled)
	v, derrs = mergeLayers(v, roots, dls, origins, func(l *layer) { afterDotted(l); ranks.add(l) })
	errs = append(errs, derrs...)
	el := envLayer(env, cfgSchema, snapshot(v, roots), spelled)
	for k, s := range el.spelled {
		if spelled[k] == "" {
			spelled[k] = s
		}
	}
	errs = append(errs, el.errs...)
	out.Warnings = append(out.Warnings, el.warns...)
	// As merge, in time proportional to the layer (mergeLayers).
	v, derrs = mergeLayers(v, roots, []*layer{el}, origins, nil)
	errs = append(errs, derrs...)
	items := newListItemOrigins(origins)
	for k := range el.origins {
		// A variable that sets a list (or an item of one) replaces the
		// files' list whole: their items' origins go with it.
		items.drop(origins, k)
	}
	// In name order: a map several variables enter takes the origin of
	// the first, the same on every load (not whichever map order gave).
	elKeys := make([]string, 0, len(el.origins))
	for k := range el.origins {
		elKeys = append(elKeys, k)
	}
	sort.Strings(elKeys)
	for _, k := range elKeys {
		o := el.origins[k]
		origins[k] = o
		for p := k; strings.Contains(p, "."); {
			p = p[:strings.LastIndex(p, ".")]
			if _, ok := origins[p]; !ok {
				origins[p] = o
			}
		}
	}
	ranks.add(el)
	// SPRING_APPLICATION_JSON, over the other variables as in Spring Boot.
	jl, jerrs := appJSONLayer(env, root)
	errs = append(errs, jerrs...)
	if jl != nil {
		mergeOver(jl)
	}
	// The command line (--name=value), over SPRING_APPLICATION_JSON as in
	// Spring Boot.
	al, aerrs := argsLayer(env, root)
	errs = append(errs, aerrs...)
	if al != nil {
		mergeOver(al)
	}

	// Placeholders, then decoding and checks.
	// A key whose placeholder failed is left unset and not checked further,
	// so that one problem is reported once.
	raw := snapshot(v, roots)
	respell(raw, spelled)
	unresolved := map[string]bool{}
	markUnresolved := func(path string) {
		if i := strings.IndexByte(path, '['); i >= 0 {
			path = path[:i]
		}
		unresolved[path] = true
	}
	// The placeholders each expanded key's value came from
	// (stream.Config.Placeholders).
	expandedFrom := map[string]string{}
	// The property names the files (and SPRING_APPLICATION_JSON) spell:
	// a placeholder that is no Spring property name finds only those.
	written := map[string]bool{}
	for _, l := range layers {
		for n := range l.written {
			written[n] = true
		}
	}
	for _, l := range []*layer{jl, al} {
		if l == nil {
			continue
		}
		for n := range l.written {
			written[n] = true
		}
	}
	out.written = written
	// A profile key's placeholders were resolved, and their problems
	// reported, when the profiles were activated (activeProfiles,
	// defaultProfiles): not reported a second time here.
	profileKeyReported := map[string]bool{}
	for _, e := range append(append([]*stream.ConfigError(nil), perrs...), deferrs...) {
		profileKeyReported[strings.ToLower(e.Path)] = true
	}
	secretPaths, secrets := resolvePlaceholders(raw, env, written, imp.literal(origins), func(path, msg string) {
		markUnresolved(path)
		key := strings.ToLower(path)
		if i := strings.IndexByte(key, '['); i >= 0 {
			key = key[:i]
		}
		if strings.HasPrefix(key, "spring.profiles.") && profileKeyReported[key] {
			return
		}
		origin := originOf(origins, path)
		if name, ok := strings.CutPrefix(origin, "env "); ok && (redact.IsSecretKey(path) || redact.IsSecretKey(name)) {
			// A secret's value set by a variable (SPRING_RABBITMQ_PASSWORD):
			// nothing of it shown, the names of its placeholders included.
			msg = secretValueProblem(name)
		}
		errs = append(errs, &stream.ConfigError{Path: path, Origin: origin, Msg: msg})
	}, markUnresolved, func(path, from string) {
		expandedFrom[strings.ToLower(path)] = from
	})
	out.Raw = raw
	out.Warnings = append(out.Warnings, unclosedPlaceholders(raw, origins, imp.literal(origins), secretPaths, expandedFrom)...)
	errs = append(errs, misspeltSpringCloud(raw, origins)...)
	out.Warnings = append(out.Warnings, ignoredSpringCloud(raw, origins)...)
	errs = append(errs, badHeaderNames(raw, origins)...)
	fileOrigins := make([]map[string]string, len(layers))
	for i, l := range layers {
		fileOrigins[i] = l.origins
	}
	out.Warnings = append(out.Warnings, springConfigKeys(raw, origins, fileOrigins)...)
	unread := unreadDefaults(opts, out.Files)
	out.Warnings = append(out.Warnings, unread...)
	fwarns, ferrs := bootFramework(raw, origins, unresolved)
	out.Warnings = append(out.Warnings, fwarns...)
	errs = append(errs, ferrs...)
	instanceIndexFromEnv(raw, env, origins)
	iwarns, ierrs := scstPollers(raw, origins, unresolved)
	out.Warnings = append(out.Warnings, iwarns...)
	errs = append(errs, ierrs...)
	if tree, ok := raw["stream"].(map[string]any); ok {
		warnings, serrs := adaptSCSt(tree, origins)
		out.Warnings = append(out.Warnings, warnings...)
		errs = append(errs, serrs...)
		warnings, serrs = rabbitEnvironments(tree, origins)
		out.Warnings = append(out.Warnings, warnings...)
		errs = append(errs, serrs...)
		warnings, serrs = kafkaEnvironments(tree, origins)
		out.Warnings = append(out.Warnings, warnings...)
		errs = append(errs, serrs...)
		warnings, serrs = liftDLQAliases(tree, origins)
		out.Warnings = append(out.Warnings, warnings...)
		errs = append(errs, serrs...)
		errs = append(errs, resolveBinderAliases(tree, origins, &ranks, keys)...)
	}

	d := &decoder{origins: origins, skip: unresolved}
	d.decode(raw["stream"], cfgSchema, reflect.ValueOf(out.Stream).Elem(), "stream")
	setBindingAliases(out.Stream)
	errs = append(errs, d.errs...)
	normaliseEnums(out.Stream)
	tree, _ := raw["stream"].(map[string]any)
	for _, e := range validate(out.Stream, tree, origins) {
		if !unresolved[e.Path] {
			errs = append(errs, e)
		}
	}
	out.Stream.Origins = origins
	out.Stream.Keys = map[string]string{}
	for k, w := range keys {
		if origins[k] == w.origin {
			out.Stream.Keys[k] = w.key
		}
	}
	warnings, berrs := bootConnections(raw, out.Stream, origins, unresolved)
	errs = append(errs, berrs...)
	out.Warnings = append(out.Warnings, warnings...)
	out.Stream.Placeholders = expandedFrom
	out.Stream.NamePlaceholders(errs)
	// A value placeholders naming a secret filled in is hidden wherever
	// a message shows it, whichever key it landed in (max-attempts:
	// ${DB_PASSWORD}) or was made into (host:port).
	out.SecretPaths = make(map[string]bool, len(secretPaths))
	for p := range secretPaths {
		out.SecretPaths[strings.ToLower(p)] = true
	}
	// The values a configuration tree gave secret keys are hidden too.
	for _, ts := range imp.secrets {
		if redact.IsConnectionKey(ts.path) {
			// A DSN's password, not its scheme, user and host (see
			// placeholders.resolve).
			for _, t := range redact.ConnectionSecrets(ts.value) {
				secrets.Add(t)
			}
		} else {
			secrets.Add(ts.value)
		}
		out.SecretPaths[ts.path] = true
		if rest, ok := strings.CutPrefix(ts.path, "spring.cloud.stream."); ok {
			out.SecretPaths["stream."+rest] = true
		}
	}
	// And the texts secret placeholders gave import locations and
	// spring.config.name, location and additional-location.
	for _, t := range append(locHidden, imp.hiddenTexts...) {
		secrets.Add(t)
	}
	out.Secrets = secrets
	out.Stream.Secrets = secrets // NewApp's checks (the binders') hide them too
	out.Stream.NoConfigFile = noConfigFile(opts, out.Files)
	for _, e := range errs {
		e.Msg = secrets.String(renameAliases(e.Msg, aliases))
		e.Origin = renameAliases(e.Origin, aliases)
	}
	for _, w := range out.Warnings {
		w.Msg = secrets.String(renameAliases(w.Msg, aliases))
		w.Origin = renameAliases(w.Origin, aliases)
	}
	if len(aliases) > 0 {
		for k, o := range origins {
			origins[k] = renameAliases(o, aliases)
		}
	}
	// Each problem names its key as written where it was set.
	for _, e := range append(errs, out.Warnings...) {
		if e.Key == "" {
			e.Key = out.Stream.WrittenKey(e.Path, e.Origin)
		}
	}
	if len(out.Warnings) > 0 {
		lw := &stream.LoaderWarnings{Warnings: make([]stream.LoaderWarning, len(out.Warnings))}
		for i, w := range out.Warnings {
			lw.Warnings[i] = stream.LoaderWarning{ConfigError: w, File: slices.Contains(unread, w), Profile: slices.Contains(profileWarnings, w)}
		}
		switch {
		case opts.Logger != nil:
			lw.Log(opts.Logger)
		case len(errs) > 0:
			// No app is made of a configuration that did not load: the
			// last resort, the process's default logger.
			lw.Log(slog.Default())
		default:
			// The app made of it logs them (stream.NewApp), through its
			// logger: the program's, which it makes after Load, from
			// the configuration's logging settings.
			out.Stream.LoaderWarnings = lw
		}
	}

	return out, errs.Err()
}

// writtenKey is a key as a source writes it (layer.keys), and where.
type writtenKey struct{ key, origin string }

// respell gives the names (bindings, binders) and the map keys
// (function.bindings, retryable-exceptions, ...) of the merged tree, which
// viper lower-cases, their spelling in the files (the first file that
// spells them), so that they appear as written everywhere: in
// Config.Bindings, Config.Binders, Function.Bindings, Raw and messages.
// Names are still matched case-insensitively; Origins keep lower-case key
// paths. The deepest keys go first, so that every parent is still found
// under its lower-case path.
func respell(raw map[string]any, spelled map[string]string) {
	paths := make([]string, 0, len(spelled))
	for p := range spelled {
		paths = append(paths, p)
	}
	sort.Sort(sort.Reverse(sort.StringSlice(paths)))
	for _, p := range paths {
		segs := strings.Split(p, "\x00")
		if len(segs) < 2 {
			continue
		}
		parent, _ := lookupPath(raw, segs[:len(segs)-1]).(map[string]any)
		lower, name := segs[len(segs)-1], spelled[p]
		if v, ok := parent[lower]; ok {
			if _, taken := parent[name]; !taken {
				delete(parent, lower)
				parent[name] = v
			}
		}
	}
}

// snapshot returns viper's merged tree, root by root.
func snapshot(v *viper.Viper, roots map[string]bool) map[string]any {
	m := make(map[string]any, len(roots))
	for r := range roots {
		if val := v.Get(r); val != nil {
			m[r] = val
		}
	}
	return m
}

// shadowed reports the keys where over sets a value (not a map) over a map
// of base: viper keeps the map and drops the value, so it must not pass
// silently.
func shadowed(base, over map[string]any, path string, overOrigins, baseOrigins map[string]string) []*stream.ConfigError {
	var es []*stream.ConfigError
	for _, k := range sortedKeys(over) {
		p := k
		if path != "" {
			p = path + "." + k
		}
		bm, isMap := base[k].(map[string]any)
		if !isMap {
			continue
		}
		switch ov := over[k].(type) {
		case map[string]any:
			es = append(es, shadowed(bm, ov, p, overOrigins, baseOrigins)...)
		case nil:
			// null: "not set here", the map stays.
		default:
			es = append(es, &stream.ConfigError{Path: p, Origin: overOrigins[p],
				Msg: "cannot replace the map set at " + orUnknown(baseOrigins[p]) + " with a value"})
		}
	}
	return es
}

func orUnknown(s string) string {
	if s == "" {
		return "an earlier source"
	}
	return s
}

// source is one configuration file.
type source struct {
	path  string // path on disk
	name  string // name in messages
	data  []byte
	props bool // a .properties file (else YAML)
}

// fileDocs is a file's documents.
type fileDocs struct {
	src  *source
	docs []*document
}

// MaxFileBytes bounds a configuration file (16 MiB): a larger one is
// refused, naming the file and the limit, rather than parsed.
const MaxFileBytes = 16 << 20

// readConfigFile reads a file of at most MaxFileBytes; a larger one is an
// error (not read whole).
func readConfigFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	// A regular file's size says it before any byte is read (a pipe or a
	// device is read up to the limit).
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() && fi.Size() > MaxFileBytes {
		return nil, errTooLarge
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxFileBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxFileBytes {
		return nil, errTooLarge
	}
	return data, nil
}

// errTooLarge: a file past MaxFileBytes.
var errTooLarge = fmt.Errorf("the file is larger than %d MiB, the limit for a configuration file", MaxFileBytes>>20)

// documents parses src into its documents; problems go to errs.
func (src *source) documents(errs *stream.ConfigErrors) *fileDocs {
	fd := &fileDocs{src: src}
	if len(src.data) > MaxFileBytes {
		*errs = append(*errs, fileProblem(&fileError{name: src.name, msg: fmt.Sprintf("the file is %d bytes, larger than %d MiB, the limit for a configuration file", len(src.data), MaxFileBytes>>20)}))
		return fd
	}
	var roots []*ynode
	var err error
	if src.props {
		roots, err = parseProperties(src.name, src.data)
	} else {
		roots, err = parseYAML(src.name, src.data)
	}
	if err != nil {
		*errs = append(*errs, fileProblem(err))
		return fd
	}
	for _, r := range roots {
		d, derrs := newDocument(src.name, r)
		for _, e := range derrs {
			*errs = append(*errs, fileProblem(e))
		}
		fd.docs = append(fd.docs, d)
	}
	return fd
}

// profileKeyProblem reports spring.profiles.active or .include where Spring
// Boot refuses it: in a profile-specific file or document.
func profileKeyProblem(name string, line int, key string, profileFile bool) *stream.ConfigError {
	where := "a document activated by a profile (spring.config.activate.on-profile)"
	if profileFile {
		where = "a profile-specific file"
	}
	fix := "set it in the base file or the environment"
	if key == "group" {
		fix = "set it in the base file" // groups must be known before the profile files are read
	}
	return fileProblem(&fileError{name: name, line: line,
		msg: "spring.profiles." + key + " cannot be set in " + where + ", as in Spring Boot: " + fix})
}

// docLayer normalises one document; problems go to errs.
func docLayer(name string, y *ynode, root *schema, errs *stream.ConfigErrors) *layer {
	l := newLayer(name)
	l.mapping(y, root, nil)
	writtenNames(y, l.written)
	*errs = append(*errs, l.errs...)
	return l
}

// fileProblem turns a file-level error into a ConfigError: at the file's
// line (Origin) and about its key (Path) when known, else with the file's
// name as Path.
func fileProblem(err error) *stream.ConfigError {
	var fe *fileError
	if errors.As(err, &fe) {
		ce := &stream.ConfigError{Path: fe.name, Msg: fe.msg}
		if fe.line > 0 {
			// The origin names the file: the path is the key, if any,
			// not the file again.
			ce.Path, ce.Origin = fe.key, (&layer{name: fe.name}).at(fe.line)
		}
		return ce
	}
	return &stream.ConfigError{Path: "config", Msg: err.Error()}
}

// isProperties reports whether a file name is a .properties file.
func isProperties(name string) bool { return strings.EqualFold(filepath.Ext(name), ".properties") }

// readBase reads the base file named by Options.File (or given as
// Options.Data); findBase calls it only with one of them set (the
// locations, locations.go, find the others).
func readBase(opts Options) ([]*source, []*stream.ConfigError) {
	if opts.File != "" {
		src := &source{path: inDir(opts.Dir, opts.File), name: opts.File, props: isProperties(opts.File)}
		if opts.Name != "" {
			src.name = opts.Name
		}
		if opts.Data != nil {
			src.data = opts.Data
			return []*source{src}, nil
		}
		data, err := readConfigFile(src.path)
		if err != nil {
			return nil, []*stream.ConfigError{fileProblem(&fileError{name: src.name, msg: "cannot read config file: " + err.Error()})}
		}
		src.data = data
		return []*source{src}, nil
	}
	name := opts.Name
	if name == "" {
		name = DefaultFile
	}
	return []*source{{path: inDir(opts.Dir, DefaultFile), name: name, data: opts.Data, props: isProperties(name)}}, nil
}

// stemFiles returns the extensions of the files of one stem (a directory's
// application, application-prod) that exist, exist(ext) says, in merge
// order: .yaml, else .yml (ymlFirst: .yml, else .yaml), then .properties,
// which wins over YAML as in Spring Boot. When both YAML files exist the
// second extension is returned as ignored (bothYAMLError), else "".
func stemFiles(ymlFirst bool, exist func(ext string) bool) (exts []string, ignored string) {
	yamls := []string{".yaml", ".yml"}
	if ymlFirst {
		yamls = []string{".yml", ".yaml"}
	}
	switch {
	case exist(yamls[0]):
		exts = append(exts, yamls[0])
		if exist(yamls[1]) {
			ignored = yamls[1]
		}
	case exist(yamls[1]):
		exts = append(exts, yamls[1])
	}
	if exist(".properties") {
		exts = append(exts, ".properties")
	}
	return exts, ignored
}

// exists reports whether path names an existing file (or something that
// is not known not to exist).
func exists(path string) bool {
	_, err := os.Stat(path)
	return !errors.Is(err, fs.ErrNotExist)
}

// bothYAMLError reports a .yml file beside the .yaml file of the same
// name (or the other way round): Spring Boot reads both, streambind reads
// one YAML file per name, and the other's keys must not be lost without
// a word.
func bothYAMLError(ignored, read string) *fileError {
	return &fileError{name: ignored, msg: "not read: " + read + " is read instead (Spring Boot would read both); merge the two files into one"}
}

// PropertiesFile is the base .properties file read beside DefaultFile when
// Options.File is empty; its keys win over the YAML file's.
const PropertiesFile = "application.properties"

// readProfile reads the files of profile p beside the base file and with
// its stem: <stem>-<p>.yaml (or .yml; the extension of the base file is
// tried first) then <stem>-<p>.properties, which wins. At least one must
// exist.
func readProfile(opts Options, bases []*source, p string) ([]*source, error) {
	given := opts.File
	if given == "" {
		given = DefaultFile
		for _, b := range bases {
			if strings.HasSuffix(b.path, ".yml") {
				given = "application.yml"
			}
		}
	}
	ext := filepath.Ext(given)
	stem := strings.TrimSuffix(given, ext) + "-" + p
	ymlFirst := strings.EqualFold(ext, ".yml")
	exts, ignored := stemFiles(ymlFirst, func(e string) bool { return exists(inDir(opts.Dir, stem+e)) })
	var out []*source
	for _, e := range exts {
		name := stem + e
		data, err := readConfigFile(inDir(opts.Dir, name))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, &fileError{name: name, msg: "cannot read profile file: " + err.Error()}
		}
		out = append(out, &source{path: inDir(opts.Dir, name), name: name, data: data, props: isProperties(name)})
		if ignored != "" && e != ".properties" {
			return nil, bothYAMLError(stem+ignored, name)
		}
	}
	if len(out) == 0 {
		tried := []string{stem + ".yaml", stem + ".yml", stem + ".properties"}
		if ymlFirst {
			tried[0], tried[1] = tried[1], tried[0]
		}
		return nil, &missingProfileError{&fileError{name: tried[0], msg: "profile " + quoteShort(p) + " is active but its file is missing (looked for " + strings.Join(tried, ", ") + ")"}, tried}
	}
	return out, nil
}

// missingProfileError: no file of an active profile exists.
type missingProfileError struct {
	*fileError
	tried []string // the files looked for
}

func (e *missingProfileError) Unwrap() error { return e.fileError }

// profilesMentioned returns the profile names that the documents' profile
// conditions name: an active profile with no file of its own is a warning
// unless a document is activated by it. The names of a malformed
// condition (reported on its own) count too.
func profilesMentioned(files []*fileDocs) map[string]bool {
	m := map[string]bool{}
	var walk func(e *profileExpr)
	walk = func(e *profileExpr) {
		if e.op == 0 {
			m[e.name] = true
		}
		for _, a := range e.args {
			walk(a)
		}
	}
	for _, fd := range files {
		for _, d := range fd.docs {
			for _, s := range d.onProfile {
				if e, err := parseProfileExpr(s); err == nil {
					walk(e)
				} else {
					for _, t := range tokenizeProfiles(s) {
						if !strings.ContainsAny(t, "!&|()") {
							m[t] = true
						}
					}
				}
			}
		}
	}
	return m
}

// chunkDocs returns the documents of cs, in order.
func chunkDocs(cs []chunk) []*fileDocs {
	out := make([]*fileDocs, len(cs))
	for i, c := range cs {
		out[i] = c.fd
	}
	return out
}

func inDir(dir, file string) string {
	if dir == "" || filepath.IsAbs(file) {
		return file
	}
	return filepath.Join(dir, file)
}

// activeProfiles returns the profiles to merge: spring.profiles.include
// of SPRING_APPLICATION_JSON, of the environment and of the base files'
// documents without a profile condition, then those given, else
// SPRING_APPLICATION_JSON's spring.profiles.active, else
// STREAM_PROFILES_ACTIVE, else SPRING_PROFILES_ACTIVE (comma
// lists), else spring.profiles.active of the base files (the last
// document that sets it, of those without a profile condition), in
// Spring Boot's order. Blank entries and repeats are
// dropped; names that could escape the directory are errors.
//
// The placeholders of the names (but those given in code) are resolved
// with lookup, whichever source gave them: a file's
// spring.profiles.active: ${x} takes the key x of a file, or the variable
// X or x (Spring's SystemEnvironmentPropertySource), and
// SPRING_PROFILES_ACTIVE='${P}' the variable P, as Spring Boot's binder
// resolves the placeholders of every property source's values.
func activeProfiles(given []string, lookup lookupFunc, env map[string]string, bases []*fileDocs) ([]string, map[string]profileOrigin, []*stream.ConfigError) {
	list, origin := given, "Options.Profiles"
	ad, errs := argsProfileKeys(env)
	jd, jerrs := appJSONProfileKeys(env)
	errs = append(errs, jerrs...)
	if list == nil && ad != nil && ad.activeSet {
		// The command line (--spring.profiles.active=x) ranks above
		// SPRING_APPLICATION_JSON in Spring Boot.
		list, origin = ad.active, OriginArgs
		if list == nil {
			list = []string{}
		}
	}
	if list == nil && jd != nil && jd.activeSet {
		// SPRING_APPLICATION_JSON ranks above the other variables in
		// Spring Boot.
		list, origin = jd.active, "env "+EnvApplicationJSON
		if list == nil {
			list = []string{}
		}
	}
	if list == nil {
		if name, s, ok := envSetting(env, "spring.profiles.active", EnvProfiles, EnvSpringProfiles); ok {
			list, origin = splitList(s), "env "+name
		}
	}
	type named struct{ name, origin, key string }
	var all []named
	fromFile := list == nil
	for _, fd := range bases {
		for _, d := range fd.docs {
			if d.onProfile != nil {
				continue
			}
			if d.activeSet && fromFile {
				all = all[:0]
				for _, p := range d.active {
					all = append(all, named{p, fd.src.name + ":" + fmt.Sprint(d.activeLine), "spring.profiles.active"})
				}
			}
		}
	}
	for _, p := range list {
		all = append(all, named{p, origin, "spring.profiles.active"})
	}
	// The included profiles come first, as in Spring Boot (its Profiles
	// puts the additional ones before the active ones): the files of the
	// active profiles win over theirs.
	var included []named
	if ad != nil {
		for _, p := range ad.include {
			included = append(included, named{p, OriginArgs, "spring.profiles.include"})
		}
	}
	if jd != nil {
		for _, p := range jd.include {
			included = append(included, named{p, "env " + EnvApplicationJSON, "spring.profiles.include"})
		}
	}
	if name, s, ok := envSetting(env, "spring.profiles.include", EnvSpringProfilesInclude); ok {
		for _, p := range splitList(s) {
			included = append(included, named{p, "env " + name, "spring.profiles.include"})
		}
	}
	for _, fd := range bases {
		for _, d := range fd.docs {
			if d.onProfile == nil && d.includeSet {
				for _, p := range d.include {
					included = append(included, named{p, fd.src.name + ":" + fmt.Sprint(d.inclLine), "spring.profiles.include"})
				}
			}
		}
	}
	all = append(included, all...)
	var out []string
	seen := map[string]bool{}
	origins := map[string]profileOrigin{}
	for _, n := range all {
		// spring.profiles.active: ${PROFILE:dev}, SPRING_PROFILES_ACTIVE=${P}.
		expand := n.origin != "Options.Profiles"
		ps, perrs := profileNames(n.name, expand, lookup, n.key, "profiles", n.origin)
		errs = append(errs, perrs...)
		for _, p := range ps {
			if !seen[p] {
				seen[p] = true
				out = append(out, p)
				origins[p] = profileOrigin{key: n.key, origin: n.origin}
			}
		}
	}
	groups, gerrs := groupsOf(lookup, env, bases)
	errs = append(errs, gerrs...)
	out = expandGroups(out, groups, origins)
	return out, origins, errs
}

// groupDef is a profile group as the files define it.
type groupDef struct {
	members []string
	origin  string // file:line of spring.profiles.group.<name>
}

// groupsOf returns spring.profiles.group of the documents without a
// profile condition, by group name: as Spring Boot binds the key, a later
// document's list for a name replaces an earlier one's. Members are
// checked as profile names, their placeholders expanded from the
// environment.
func groupsOf(lookup lookupFunc, env map[string]string, files []*fileDocs) (map[string]groupDef, []*stream.ConfigError) {
	groups := map[string]groupDef{}
	var errs []*stream.ConfigError
	for _, fd := range files {
		for _, d := range fd.docs {
			if d.onProfile != nil {
				continue
			}
			for _, g := range d.groups {
				origin := fd.src.name + ":" + fmt.Sprint(g.line)
				def := groupDef{origin: origin}
				for _, m := range g.members {
					ps, perrs := profileNames(m, true, lookup, "spring.profiles.group."+g.name, "spring.profiles.group."+g.name, origin)
					errs = append(errs, perrs...)
					def.members = append(def.members, ps...)
				}
				groups[g.name] = def
			}
		}
	}
	// SPRING_PROFILES_GROUP_<NAME>=a,b (a comma list), over the files, as
	// Spring Boot binds the environment: the group of that name the files
	// define (relaxed: SPRING_PROFILES_GROUP_PROD_DB for prod-db), else
	// the name in lower case with '_' as '.'. (Indexed items,
	// ..._<NAME>_0, are not read.)
	byEnv := map[string]string{}
	for name := range groups {
		byEnv[relaxedEnvName("spring.profiles.group."+name)] = name
	}
	var names, dotted []string
	for v := range env {
		switch {
		case strings.HasPrefix(v, "SPRING_PROFILES_GROUP_"):
			names = append(names, v)
		case strings.HasPrefix(v, "spring.profiles.group."):
			dotted = append(dotted, v)
		}
	}
	sort.Strings(names)
	sort.Strings(dotted)
	// The variables named as the key (spring.profiles.group.prod=a,b)
	// after the upper-case ones, as Spring Boot's mappers of the system
	// environment: SPRING_PROFILES_GROUP_PROD wins over it.
	for _, v := range append(names, dotted...) {
		var name string
		if rest, ok := strings.CutPrefix(v, "spring.profiles.group."); ok {
			if _, upper := env[relaxedEnvName(v)]; rest == "" || upper {
				continue
			}
			name = rest
		} else {
			rest, _ := strings.CutPrefix(v, "SPRING_PROFILES_GROUP_")
			if rest == "" {
				continue
			}
			declared := false
			name, declared = byEnv[v]
			if !declared {
				name = strings.ToLower(strings.ReplaceAll(rest, "_", "."))
			}
		}
		def := groupDef{origin: "env " + v}
		for _, m := range splitList(env[v]) {
			ps, perrs := profileNames(m, true, lookup, "spring.profiles.group."+name, "spring.profiles.group."+name, def.origin)
			errs = append(errs, perrs...)
			def.members = append(def.members, ps...)
		}
		groups[name] = def
	}
	// SPRING_APPLICATION_JSON's groups, over the variables' (Spring Boot
	// binds the map from every source, the JSON's entry for a name
	// winning). (Problems with its keys are activeProfiles'.)
	if jd, _ := appJSONProfileKeys(env); jd != nil {
		for _, g := range jd.groups {
			def := groupDef{origin: "env " + EnvApplicationJSON}
			for _, m := range g.members {
				ps, perrs := profileNames(m, true, lookup, "spring.profiles.group."+g.name, "spring.profiles.group."+g.name, def.origin)
				errs = append(errs, perrs...)
				def.members = append(def.members, ps...)
			}
			groups[g.name] = def
		}
	}
	// The command line's, over the JSON's.
	if ad, _ := argsProfileKeys(env); ad != nil {
		for _, g := range ad.groups {
			def := groupDef{origin: OriginArgs}
			for _, m := range g.members {
				ps, perrs := profileNames(m, true, lookup, "spring.profiles.group."+g.name, "spring.profiles.group."+g.name, def.origin)
				errs = append(errs, perrs...)
				def.members = append(def.members, ps...)
			}
			groups[g.name] = def
		}
	}
	return groups, errs
}

// expandGroups returns profiles with the members of their groups, as
// Spring Boot's Profiles expands them: each profile followed by its
// group's members, each of those by its own group's (depth first), a
// profile already listed not again (so a group naming itself, or groups
// naming each other, end). The origin of a profile a group added is the
// group's key.
func expandGroups(profiles []string, groups map[string]groupDef, origins map[string]profileOrigin) []string {
	if len(groups) == 0 {
		return profiles
	}
	var out []string
	seen := map[string]bool{}
	var add func(p string)
	add = func(p string) {
		if seen[p] {
			return
		}
		seen[p] = true
		out = append(out, p)
		g, ok := groups[p]
		if !ok {
			return
		}
		for _, m := range g.members {
			if _, named := origins[m]; !named && !seen[m] {
				origins[m] = profileOrigin{key: "spring.profiles.group." + p, origin: g.origin}
			}
			add(m)
		}
	}
	for _, p := range profiles {
		add(p)
	}
	return out
}

// EnvSpringProfilesDefault names the default profiles (Spring Boot's
// SPRING_PROFILES_DEFAULT, a comma list), over spring.profiles.default of
// the base files.
const EnvSpringProfilesDefault = "SPRING_PROFILES_DEFAULT"

// EnvSpringProfilesInclude is Spring Boot's SPRING_PROFILES_INCLUDE: more
// profiles, comma-separated, besides those the files include.
const EnvSpringProfilesInclude = "SPRING_PROFILES_INCLUDE"

// envSetting returns the first of the variables names that is set, else
// the variable named as key itself (spring.profiles.active=prod, as a
// docker-compose file or a Kubernetes manifest may set it), with its name
// and value: Spring Boot reads the system environment through
// SpringConfigurationPropertySource's SYSTEM_ENVIRONMENT_MAPPERS,
// SystemEnvironmentPropertyMapper (SPRING_PROFILES_ACTIVE) then
// DefaultPropertyMapper (spring.profiles.active), the first found
// winning.
func envSetting(env map[string]string, key string, names ...string) (string, string, bool) {
	for _, n := range append(names, key) {
		if v, ok := env[n]; ok {
			return n, v, true
		}
	}
	return "", "", false
}

// defaultProfiles returns the profiles accepted while none is active, as
// Spring Boot's: SPRING_APPLICATION_JSON's spring.profiles.default, else
// SPRING_PROFILES_DEFAULT, else spring.profiles.default of
// the base files (the last document without a profile condition that
// sets it), else "default". Names are checked as active profiles' are.
func defaultProfiles(lookup lookupFunc, env map[string]string, bases []*fileDocs) ([]string, []*stream.ConfigError) {
	list, origin := []string{"default"}, ""
	for _, fd := range bases {
		for _, d := range fd.docs {
			if d.onProfile == nil && d.defaultSet {
				list, origin = d.deflt, fd.src.name+":"+fmt.Sprint(d.defaultLine)
			}
		}
	}
	if ad, _ := argsProfileKeys(env); ad != nil && ad.defaultSet {
		list, origin = ad.deflt, OriginArgs
	} else if jd, _ := appJSONProfileKeys(env); jd != nil && jd.defaultSet {
		list, origin = jd.deflt, "env "+EnvApplicationJSON
	} else if name, s, ok := envSetting(env, "spring.profiles.default", EnvSpringProfilesDefault); ok {
		list, origin = splitList(s), "env "+name
	}
	var out []string
	var errs []*stream.ConfigError
	seen := map[string]bool{}
	for _, raw := range list {
		ps, perrs := profileNames(raw, true, lookup, "spring.profiles.default", "spring.profiles.default", origin)
		errs = append(errs, perrs...)
		for _, p := range ps {
			if !seen[p] {
				seen[p] = true
				out = append(out, p)
			}
		}
	}
	// Spring Boot expands the default profiles' groups too. (Problems
	// with the groups are activeProfiles' to report.)
	groups, _ := groupsOf(lookup, env, bases)
	out = expandGroups(out, groups, map[string]profileOrigin{})
	return out, errs
}

// profileNames returns the profile names raw writes — its placeholders
// expanded with lookup when expand (but for the names given in code),
// problems reported at expandPath, and the value then split on
// its commas, as Spring Boot binds a list (${PROFILES} with PROFILES=a,b
// is a and b) — without the blank ones; a name that cannot name a profile
// file (a path) is left out with a problem at namePath.
func profileNames(raw string, expand bool, lookup lookupFunc, expandPath, namePath, origin string) ([]string, []*stream.ConfigError) {
	p := strings.TrimSpace(raw)
	names := []string{p}
	if expand && strings.Contains(p, "${") {
		var probs []string
		if p, probs = expandNested(p, lookup, 0); len(probs) > 0 {
			errs := make([]*stream.ConfigError, 0, len(probs))
			for _, msg := range probs {
				errs = append(errs, &stream.ConfigError{Path: expandPath, Origin: origin, Msg: msg})
			}
			return nil, errs
		}
		names = strings.Split(p, ",")
	}
	var out []string
	var errs []*stream.ConfigError
	for _, n := range names {
		n = strings.TrimSpace(n)
		switch {
		case n == "":
		case strings.ContainsAny(n, `/\`) || n == "." || n == "..":
			errs = append(errs, &stream.ConfigError{Path: namePath, Origin: origin, Msg: "invalid profile name " + quoteShort(n)})
		case strings.ContainsAny(n, "${}"):
			// A "${" with no closing '}' is text (Spring Framework 6.2),
			// so spring.profiles.active: ${P would name a profile "${P";
			// Spring Boot 3.5 refuses such a name (its profile names
			// hold letters, digits, '-', '_' and '.': gh-34062, gh-45947).
			errs = append(errs, &stream.ConfigError{Path: namePath, Origin: origin,
				Msg: "invalid profile name " + quoteShort(n) + ": a profile name cannot hold '$', '{' or '}' (a placeholder with no closing '}'?)"})
		default:
			out = append(out, n)
		}
	}
	return out, errs
}

// profileOrigin is where an active profile was named.
type profileOrigin struct{ key, origin string }
