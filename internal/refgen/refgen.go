// Package refgen generates docs/configuration.md, the reference of every
// configuration key, from the code:
//
//   - the keys of the stream section are config.Properties (the schema the
//     loader validates with, derived from stream.Config's mapstructure
//     tags), with their SCSt spellings;
//   - their descriptions are the doc comments of stream.Config's fields,
//     and their defaults are what stream.Config.Binding returns for an
//     empty configuration (binding keys) or what the doc comment states
//     ("Default 10s."); a doc comment whose default disagrees with the code
//     is an error;
//   - the binders whose own code reads each key (beside the core, which reads every key) are found by type-checking every
//     binder package (binder/<x> declaring const Type) and looking for
//     reads of the fields of package stream's types;
//   - the binder-specific keys are the settings blocks of each binder's
//     package doc: a code block after a paragraph that starts with "Binder
//     settings", "Producer properties" or "Consumer properties", one
//     "key: default  # description" per line;
//   - the management and logging keys are the blocks of the package docs
//     of management and telemetry that start with a top-level key, whose
//     values are examples and whose comments state the default.
//
// cmd genref writes the file (go generate ./docs), and the test in docs
// fails when the checked-in file differs from what Generate returns.
package refgen

import (
	"bytes"
	"errors"
	"fmt"
	"go/format"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/streambind/streambind/config"
	"github.com/streambind/streambind/stream"
)

// binderPkg is a binder package of the module.
type binderPkg struct {
	typ        string // its binder type, const Type
	importPath string
	dir        string
	rel        string // directory relative to the module root, slash-separated
	src        *pkgSource
}

// Generate returns the configuration reference for the module whose
// go.mod is in root. buildFlags go to the `go list -export` that gives the
// binder packages' export data for type-checking: a test built with -race
// passes "-race", so that go list finds the packages its own build
// compiled in the build cache instead of compiling every dependency again
// without the race detector (on a cold cache, over a minute of CPU while
// the rest of the suite runs).
func Generate(root string, buildFlags ...string) ([]byte, error) {
	module, err := modulePath(root)
	if err != nil {
		return nil, err
	}
	streamSrc, err := parseDir(filepath.Join(root, "stream"))
	if err != nil {
		return nil, err
	}
	binders, err := findBinders(root, module)
	if err != nil {
		return nil, err
	}
	readers, err := fieldReaders(root, module, buildFlags, binders)
	if err != nil {
		return nil, err
	}
	g := &gen{docs: streamSrc.fieldDocs(), readers: readers}
	g.header()
	if err := g.core(config.Properties()); err != nil {
		return nil, err
	}
	if err := g.binders(binders); err != nil {
		return nil, err
	}
	for _, s := range []struct{ dir, title, intro string }{
		{"management", "management (package management)", "The management server; off unless `management.server.address` is set (or Spring Boot's `management.server.port`, or, with neither, `server.port`: see [operations.md](operations.md#on-serverport)). See [operations.md](operations.md)."},
		{"telemetry", "logging and tracing (package telemetry)", "Logging (`log/slog`) and tracing (OpenTelemetry), set up by package telemetry from the same file."},
		{"outbox", "outbox (package outbox)", "The transactional outbox and its relay, read by `outbox.FromConfig`. See [outbox.md](outbox.md)."},
		{"idempotency", "idempotency (package idempotency)", "The connections of the idempotent consumer's stores, read by `idempotency.FromConfig`; which binding uses which store, its key and retention are `stream.bindings.<name>.consumer.idempotency.*`. See [idempotency.md](idempotency.md)."},
	} {
		src, err := parseDir(filepath.Join(root, s.dir))
		if err != nil {
			return nil, err
		}
		if err := g.section(src, s.dir, s.title, s.intro); err != nil {
			return nil, err
		}
	}
	g.footer()
	return g.buf.Bytes(), nil
}

// modulePath reads the module path from root/go.mod.
func modulePath(root string) (string, error) {
	b, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		return "", fmt.Errorf("read go.mod: %w", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "module "); ok {
			return strings.Trim(strings.TrimSpace(rest), `"`), nil
		}
	}
	return "", errors.New("go.mod: no module line")
}

// findBinders returns the packages binder/<x> that declare a string
// constant Type, sorted by type.
func findBinders(root, module string) ([]binderPkg, error) {
	dirs, err := os.ReadDir(filepath.Join(root, "binder"))
	if err != nil {
		return nil, fmt.Errorf("read binder/: %w", err)
	}
	var out []binderPkg
	for _, d := range dirs {
		if !d.IsDir() || d.Name() == "internal" || strings.HasPrefix(d.Name(), ".") {
			continue
		}
		dir := filepath.Join(root, "binder", d.Name())
		if m, _ := filepath.Glob(filepath.Join(dir, "*.go")); len(m) == 0 {
			continue
		}
		src, err := parseDir(dir)
		if err != nil {
			return nil, err
		}
		typ := src.stringConst("Type")
		if typ == "" {
			continue // not a binder (props, bindertest)
		}
		out = append(out, binderPkg{typ: typ, importPath: module + "/binder/" + d.Name(), dir: dir,
			rel: "binder/" + d.Name(), src: src})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].typ < out[j].typ })
	return out, nil
}

type gen struct {
	buf     bytes.Buffer
	docs    map[string]string   // doc comments of package stream's fields, by "Type.Field"
	readers map[string][]string // binder types reading a field of package stream, by "Type.Field"
}

func (g *gen) p(format string, args ...any) { fmt.Fprintf(&g.buf, format, args...) }

func (g *gen) header() {
	g.p(`<!-- Code generated by internal/cmd/genref (go generate ./docs); DO NOT EDIT. -->

# Configuration reference

Every key streambind reads, generated from the code: the keys of the
` + "`stream`" + ` section are the schema the loader validates with (the
mapstructure tags of ` + "`stream.Config`" + `), their descriptions the
fields' doc comments and their defaults the code's; the binder-specific keys
and the ` + "`management`" + `, ` + "`logging`" + `, ` + "`outbox`" + ` and ` + "`idempotency`" + `
sections are the settings blocks of the package docs. ` + "`make test`" + ` fails when this file
and the code disagree; after changing a key or its doc, run
` + "`go generate ./docs`" + `.

How keys are written (package config; the whole contract is
[conventions.md](conventions.md)):

- Keys are kebab-case; camelCase and snake_case spellings are accepted for
  every key (` + "`maxAttempts`" + ` is ` + "`max-attempts`" + `).
- A Spring Cloud Stream file loads unchanged: ` + "`spring.cloud.stream.*`" + ` is
  ` + "`stream.*`" + `, and ` + "`spring.cloud.function.definition`" + ` is
  ` + "`stream.function.definition`" + `. The *SCSt spelling* column shows how a
  key is written there; it does not claim that SCSt has the property (see
  [coming-from-spring-cloud-stream.md](coming-from-spring-cloud-stream.md)
  for what SCSt has and streambind lacks).
- The environment overrides keys: the key path in upper case with ` + "`.`" + ` and
  ` + "`-`" + ` turned into ` + "`_`" + ` (` + "`STREAM_BINDINGS_CHARGEPAYMENT_IN_0_GROUP`" + `), or a
  variable named as the key, under the upper-case one, as Spring Boot reads
  the system environment (` + "`spring.cloud.stream.bindings.x-in-0.group=g`" + `;
  ` + "`spring.profiles.active=prod`" + ` and ` + "`spring.config.location=conf/`" + `
  choose the profiles and the files so too).
  The dashes may also be dropped, Spring Boot's documented form
  (` + "`" + `spring.main.log-startup-info` + "`" + ` is ` + "`" + `SPRING_MAIN_LOGSTARTUPINFO` + "`" + `): for a
  key (` + "`" + `STREAM_DEFAULTBINDER` + "`" + `, ` + "`" + `..._CONSUMER_MAXATTEMPTS` + "`" + `; a binder's key so set,
  ` + "`" + `..._KAFKA_BINDER_MINPARTITIONCOUNT` + "`" + `, is shown by ` + "`" + `streambind config` + "`" + ` in its
  documented spelling, ` + "`" + `min-partition-count` + "`" + `, and so is a key of a
  binder's nested section, ` + "`" + `..._BINDER_TLS_SERVERNAME` + "`" + ` as
  ` + "`" + `tls.server-name` + "`" + `, which the binder applies as such whether or not the
  files have a ` + "`" + `tls` + "`" + ` section) and for a name of
  a map streambind binds by name — a binding (` + "`" + `stream.bindings.<name>` + "`" + `, and
  ` + "`" + `stream.<type>.bindings.<name>` + "`" + ` of a binder-specific section) or a binder
  (` + "`" + `stream.binders.<name>` + "`" + `). A name segment that equals, upper-cased with
  its dashes and any other character but letters and digits dropped, a name
  the files declare or a binding of the function definition
  (` + "`" + `output-bindings` + "`" + `, ` + "`" + `input-bindings` + "`" + `, ` + "`" + `function.bindings` + "`" + `) sets that
  entry: ` + "`" + `SPRING_CLOUD_STREAM_BINDINGS_NEWSIN0_DESTINATION` + "`" + ` is the
  destination of ` + "`" + `news-in-0` + "`" + `, ` + "`" + `..._BINDINGS_PROCESSSTUDENTSIN0_GROUP` + "`" + ` the
  group of ` + "`" + `processStudents-in-0` + "`" + `, ` + "`" + `..._BINDERS_KAFKAONE_TYPE` + "`" + ` the type of
  binder ` + "`" + `kafka-one` + "`" + `, as in SCSt, where Spring Boot's
  ` + "`" + `ConfigurationPropertyName` + "`" + ` equality ignores a map key's dashes and case
  and the files' entry binds the variable's keys. (Boot also adds an
  entry of the variable's name, ` + "`" + `newsin0` + "`" + `, that no binding uses;
  streambind does not.) When two entries equal it (` + "`" + `a-b` + "`" + ` and ` + "`" + `ab` + "`" + ` for
  ` + "`" + `..._BINDINGS_AB_DESTINATION` + "`" + `) the variable sets both, as in Spring Boot,
  where each entry binds it; ` + "`" + `A_B` + "`" + ` is ` + "`" + `a-b` + "`" + `'s only. A name that equals no
  entry is a new entry, named as the variable spells it, lower case
  (` + "`" + `..._BINDINGS_OTHERIN0_DESTINATION` + "`" + ` is binding ` + "`" + `otherin0` + "`" + `), as Spring
  Boot makes one.
- ` + "`${VAR}`" + ` and ` + "`${VAR:default}`" + ` are replaced in any value, looked up as
  Spring Boot looks them up (its ` + "`ConfigurationPropertySourcesPropertyResolver`" + `).
  A name in Spring's canonical form (lower case, digits and ` + "`-`" + ` between
  dots: ` + "`${server.port}`" + `) is looked up relaxed: the environment
  (` + "`SERVER_PORT`" + `), then the configuration's keys (` + "`serverPort`" + `, ` + "`server-port`" + `).
  Any other name (` + "`${PORT}`" + `, ` + "`${DATABASE_URL}`" + `, ` + "`${myApp.url}`" + `) is looked up by
  its exact name: the variables Spring's ` + "`SystemEnvironmentPropertySource`" + `
  tries (the name, with ` + "`.`" + ` and/or ` + "`-`" + ` as ` + "`_`" + `, and each in upper case),
  then a key the files spell exactly so (a ` + "`.env`" + ` file imported as
  properties); it is never lower-cased to match a key: ` + "`${PORT:9000}`" + ` beside
  ` + "`port: 1`" + ` is 9000 (see [conventions.md](conventions.md#configuration-applicationyaml-applicationproperties)).
  A backslash escapes, as in Spring Framework 6.2 (Boot 3.4+): ` + "`\\${X}`" + ` is the
  literal ` + "`${X}`" + `, and ` + "`\\:`" + ` in a name is a ` + "`:`" + ` of the name. A
  ` + "`${`" + ` with no closing ` + "`}`" + ` is text, not an error (` + "`ab${A`" + ` stays so), as
  Spring Framework 6.2's ` + "`PlaceholderParser`" + ` keeps it, with a warning naming the
  key and its file:line (` + "`destination: ${KAFKA_TOPIC`" + `, a ` + "`}`" + ` forgotten).
  Environment values are resolved as the files' are, a variable's value
  that a placeholder takes too (` + "`${A}`" + ` with ` + "`A=${B}-x`" + `), cycles through
  variables an error, as Spring resolves the values of every property
  source; a problem in a secret variable's value (` + "`DB_PASSWORD`" + `) shows
  nothing of it.
- Durations are Go durations (` + "`250ms`" + `, ` + "`10s`" + `); a bare integer means
  milliseconds. A key that holds a list (` + "`required-groups`" + `, ` + "`dynamic-destinations`" + `,
  ` + "`retry-delays`" + `) is a YAML list or a comma-separated string, as Spring Boot binds
  a list. A key that SCSt types as one string of names is that string only:
  ` + "`destination`" + ` (an input's destinations, comma-separated: ` + "`a,b`" + `),
  ` + "`function.definition`" + `, ` + "`output-bindings`" + ` and ` + "`input-bindings`" + ` (separated by
  ` + "`;`" + `); a YAML list there is an error that says what to write (Spring Boot
  binds no list to a string: SCSt would run with the key unset).
- Unknown keys and bad values fail start-up, every problem at once, with its
  key path and file:line, the key as the file wrote it there
  (` + "`spring.cloud.stream.bindings.x-in-0.consumer.maxAttempts`" + `, a .properties
  line's key; ` + "`stream.ConfigError.Path`" + ` has the canonical form). A key
  given both a value and keys inside it (` + "`brokers`" + ` and ` + "`brokers.x`" + `:
  Spring Boot binds the first and ignores the second) is refused, the error naming both keys. A binding property
  written in a binder section (` + "`stream.rabbit.binder.prefetch`" + `), or in a
  declared binder's ` + "`environment`" + ` in either form, is an error saying where
  it goes. A common binding property written among a binder type's binding
  properties (` + "`stream.kafka.bindings.<b>.consumer.max-attempts`" + `, ` + "`...consumer.group`" + `),
  which SCSt's binder ignores there, is ignored too, with a warning naming
  where it takes effect (` + "`stream.bindings.<b>.consumer.max-attempts`" + `).
- A key that names one secret value (a password, a token, an API key,
  ` + "`sasl.jaas.config`" + `: package redact's rule) takes a string: a list or a
  map there is an error at its file:line that shows none of the values
  (Spring Boot binds neither to a String: the password would be unset),
  and so is a list item an environment variable gives it
  (` + "`SPRING_RABBITMQ_PASSWORD_0`" + `, ` + "`STREAM_RABBIT_BINDER_PASSWORD_0`" + `), naming the
  variable.
- A zero value means "not set" for keys whose default is not zero: such a
  key rejects an explicit 0.

`)
}

// section of the stream keys: a heading, the canonical and SCSt prefixes
// and which properties belong to it.
type coreSection struct {
	title, intro  string
	prefix, scst  string // "stream.bindings.<name>.", "spring.cloud.stream.bindings.<name>."
	match         func(path string) bool
	props         []config.Property
	readersColumn bool
}

func (g *gen) core(props []config.Property) error {
	binding, err := bindingDefaults()
	if err != nil {
		return err
	}
	top := func(p string) bool {
		return !strings.HasPrefix(p, "stream.binders.") && !strings.HasPrefix(p, "stream.default.") &&
			!strings.HasPrefix(p, "stream.bindings.") && !strings.HasPrefix(p, "stream.<type>.")
	}
	sections := []*coreSection{
		{title: "Top level", prefix: "stream.", scst: "spring.cloud.stream.", match: top},
		{title: "Binders", prefix: "stream.binders.<name>.", scst: "spring.cloud.stream.binders.<name>.",
			intro: "Named binders. A binding names one with `binder`. A binder type's name names a binder of that type with the type's defaults only when no binder of that type is declared here (as in SCSt): `binder: rabbit` beside declared binders of type rabbit is an error that lists them, not a further binder on the default broker. With several default candidates declared and no `default-binder`, start-up fails naming the bindings that name no binder.",
			match: func(p string) bool { return strings.HasPrefix(p, "stream.binders.") }},
		{title: "Bindings", prefix: "stream.bindings.<name>.", scst: "spring.cloud.stream.bindings.<name>.", readersColumn: true,
			intro: "A binding is named `<function>-in-<n>` / `<function>-out-<n>` (or listed in `output-bindings`). " +
				"`stream.default.<key>` (SCSt `spring.cloud.stream.default.<key>`) takes every key below and sets it for every binding; " +
				"a binding's own setting wins. Binding names are matched without regard to case.\n\n" +
				readersIntro,
			match: func(p string) bool { return strings.HasPrefix(p, "stream.bindings.") }},
		{title: "Binder-specific sections", prefix: "stream.<type>.", scst: "spring.cloud.stream.<type>.",
			intro: "`<type>` is a binder type (`kafka`, `rabbit`, ...). These maps are decoded strictly by the binder of that type: their keys are listed per binder under [Binder settings](#binder-settings).",
			match: func(p string) bool { return strings.HasPrefix(p, "stream.<type>.") }},
	}
	var defaults []string
	for _, p := range props {
		if rest, ok := strings.CutPrefix(p.Path, "stream.default."); ok {
			defaults = append(defaults, rest)
			continue
		}
		for _, s := range sections {
			if s.match(p.Path) {
				s.props = append(s.props, p)
				break
			}
		}
	}
	// stream.default must take exactly the keys of a binding.
	var bindingKeys []string
	for _, p := range sections[2].props {
		bindingKeys = append(bindingKeys, strings.TrimPrefix(p.Path, "stream.bindings.<name>."))
	}
	if !slices.Equal(defaults, bindingKeys) {
		return fmt.Errorf("stream.default has keys %v but a binding has %v: the reference assumes they are the same", defaults, bindingKeys)
	}

	g.p("## The stream section\n\n")
	for _, s := range sections {
		g.p("### %s: `%s*`\n\n", s.title, s.prefix)
		if s.intro != "" {
			g.p("%s\n\n", s.intro)
		}
		if s.readersColumn {
			g.p("| key | default | SCSt spelling | %s | description |\n|---|---|---|---|---|\n", readersHeader)
		} else {
			g.p("| key | default | SCSt spelling | description |\n|---|---|---|---|\n")
		}
		for _, p := range s.props {
			key := strings.TrimPrefix(p.Path, s.prefix)
			scst := p.SCSt
			if rel, ok := strings.CutPrefix(scst, s.scst); ok {
				scst = rel
			}
			scstCell := "`" + scst + "`"
			if len(p.Aliases) > 0 {
				parent := scst[:strings.LastIndexByte(scst, '.')+1]
				var also []string
				for _, a := range p.Aliases {
					also = append(also, parent+camelKey(a))
				}
				scstCell += " (also " + codeList(also) + ")"
			}
			doc := g.docs[structName(p)+"."+p.Field]
			if doc == "" {
				doc = g.seeAlso(p, s.props)
			}
			def, err := g.coreDefault(p, doc, binding)
			if err != nil {
				return err
			}
			desc := describe(doc, p.Field, lastKey(p.Path))
			if len(p.Aliases) > 0 {
				desc = joinText(desc, "Also spelt "+codeList(p.Aliases)+".")
			}
			if p.Free && !strings.HasSuffix(p.Path, "function.bindings") && !strings.HasSuffix(p.Path, "header-mapping-expression") { // maps read by the app
				desc = joinText(desc, "A map decoded by the binder.")
			}
			if s.readersColumn {
				g.p("| `%s` | %s | %s | %s | %s |\n", key, def, cell(scstCell), g.readersOf(p), cell(desc))
			} else {
				g.p("| `%s` | %s | %s | %s |\n", key, def, cell(scstCell), cell(desc))
			}
		}
		g.p("\n")
	}
	return nil
}

// readersHeader heads the column of the binders whose own code reads a
// binding key. It said "binders that read it", which read as where the key
// works: consumer.max-attempts, "rabbit", looked RabbitMQ-only, when the
// core retries on every binder and RabbitMQ reads it only for SCSt's
// requeue-rejected rule.
const readersHeader = "binder code that also reads it"

// readersIntro explains readersHeader's column above the bindings table.
const readersIntro = "Every key below is read by the core (package stream), whatever the binder: the retries of `max-attempts` and their back-off, " +
	"dead-lettering, conversion and concurrency are the core's on every binder. Where a key works differently by binder, or on some only, " +
	"its description (or [conventions.md](conventions.md)) says so: `retry-delays`, `max-in-flight`, partitioned consumers.\n\n" +
	"*" + readersHeader + "*: the binder types whose own code reads the key too, to map it onto their broker " +
	"(found by type-checking them). It is not the list of binders where the key works: " +
	"RabbitMQ's code reads `max-attempts` only for SCSt's requeue-rejected rule. *none*: no binder's code reads the key."

// readersOf lists the binders whose own code reads a binding key.
func (g *gen) readersOf(p config.Property) string {
	var rs []string
	name := structName(p)
	rs = append(rs, g.readers[name+"."+p.Field]...)
	if name == "BindingConfig" {
		// The specs carry destination, group and content type.
		rs = append(rs, g.readers["ConsumerSpec."+p.Field]...)
		rs = append(rs, g.readers["ProducerSpec."+p.Field]...)
	}
	slices.Sort(rs)
	rs = slices.Compact(rs)
	if len(rs) == 0 {
		return "none"
	}
	return strings.Join(rs, ", ")
}

// seeAlso is the description of a field without a doc comment: a pointer to
// the key whose comment names it.
func (g *gen) seeAlso(p config.Property, props []config.Property) string {
	for _, q := range props {
		if q.Struct == p.Struct && q.Field != p.Field && strings.Contains(g.docs[structName(q)+"."+q.Field], p.Field) {
			return "See `" + lastKey(q.Path) + "`."
		}
	}
	return ""
}

func structName(p config.Property) string {
	if p.Struct == nil {
		return ""
	}
	return p.Struct.Name()
}

func lastKey(path string) string { return path[strings.LastIndexByte(path, '.')+1:] }

const (
	sentinelBinding = "zz-binding-name"
	sentinelBinder  = "zz-default-binder"
)

// bindingDefaults is the effective configuration of a binding of an empty
// configuration, with sentinels for the values derived from elsewhere.
func bindingDefaults() (reflect.Value, error) {
	cfg := &stream.Config{DefaultBinder: sentinelBinder}
	return reflect.ValueOf(cfg.Binding(sentinelBinding)), nil
}

var (
	docDefaultRE = regexp.MustCompile(`(?:^|[.;]\s+)(?:Default:?|defaults to)\s+("[^"]*"|\S+)`)
	requiredRE   = regexp.MustCompile(`(?:^|[.;]\s+)Required\.`)
)

// docDefault returns the default a doc comment states: "Default 10s.",
// "defaults to 1.", `Default "memory".`
func docDefault(doc string) (string, bool) {
	doc = strings.Join(strings.Fields(doc), " ")
	m := docDefaultRE.FindStringSubmatch(doc)
	if m == nil {
		return "", false
	}
	v := strings.TrimRight(m[1], ".,;:")
	if uq, err := strconv.Unquote(v); err == nil {
		v = uq
	}
	return v, true
}

// coreDefault renders the default of a key of the stream section: the
// code's for binding keys, else the doc comment's.
func (g *gen) coreDefault(p config.Property, doc string, binding reflect.Value) (string, error) {
	fromDoc, docHas := docDefault(doc)
	if rel, ok := strings.CutPrefix(p.Path, "stream.bindings.<name>."); ok {
		v, err := valueAt(binding, strings.Split(rel, "."))
		if err != nil {
			return "", err
		}
		code, known := renderValue(v)
		if known {
			if docHas && !sameValue(code, fromDoc) {
				return "", fmt.Errorf("the doc comment of stream.%s.%s says the default is %q, but stream.Config.Binding gives %q: fix the comment or the code",
					structName(p), p.Field, fromDoc, code)
			}
			switch code {
			case sentinelBinding:
				return "the binding's name", nil
			case sentinelBinder:
				return "`stream.default-binder`", nil
			}
			return "`" + code + "`", nil
		}
	}
	switch {
	case docHas && (fromDoc == "none" || fromDoc == "empty"):
		return fromDoc, nil
	case docHas:
		return "`" + fromDoc + "`", nil
	case requiredRE.MatchString(doc):
		return "required", nil
	case p.Type != nil && p.Type.Kind() == reflect.Bool:
		return "`false`", nil
	}
	return "none", nil
}

// sameValue compares a default from the code with one from a doc comment,
// as values (2 == 2.0, 1s == 1000ms).
func sameValue(a, b string) bool {
	if a == b {
		return true
	}
	if da, err := time.ParseDuration(a); err == nil {
		db, err := time.ParseDuration(b)
		return err == nil && da == db
	}
	if fa, err := strconv.ParseFloat(a, 64); err == nil {
		fb, err := strconv.ParseFloat(b, 64)
		return err == nil && fa == fb
	}
	return false
}

// valueAt follows kebab-case keys through struct fields by their
// mapstructure tags.
func valueAt(v reflect.Value, keys []string) (reflect.Value, error) {
	for _, k := range keys {
		t := v.Type()
		found := false
		for i := 0; i < t.NumField(); i++ {
			name, _, _ := strings.Cut(t.Field(i).Tag.Get("mapstructure"), ",")
			if name == k {
				v, found = v.Field(i), true
				break
			}
		}
		if !found {
			return reflect.Value{}, fmt.Errorf("no field of %s has the key %q", t, k)
		}
	}
	return v, nil
}

// renderValue renders a default value; known is false when the value is
// "not set" (nil, empty) and the doc comment must say what it means.
func renderValue(v reflect.Value) (s string, known bool) {
	if v.Type() == reflect.TypeOf(time.Duration(0)) {
		return time.Duration(v.Int()).String(), true
	}
	switch v.Kind() {
	case reflect.String:
		return v.String(), v.String() != ""
	case reflect.Int, reflect.Int64, reflect.Int32:
		return strconv.FormatInt(v.Int(), 10), true
	case reflect.Float64:
		return strconv.FormatFloat(v.Float(), 'f', -1, 64), true
	case reflect.Bool:
		return strconv.FormatBool(v.Bool()), true
	case reflect.Pointer:
		if v.IsNil() {
			return "", false
		}
		return renderValue(v.Elem())
	case reflect.Slice:
		if v.Len() == 0 {
			return "", false
		}
		var parts []string
		for i := 0; i < v.Len(); i++ {
			s, _ := renderValue(v.Index(i))
			parts = append(parts, s)
		}
		return strings.Join(parts, ","), true
	}
	return "", false
}

var docLinkRE = regexp.MustCompile(`\[([A-Za-z_][\w]*(?:\.[A-Za-z_]\w*)?)\]`)

// describe turns a field's doc comment into a description: one line, the
// leading Go field name replaced by the key, doc links as code.
func describe(doc, field, key string) string {
	d := strings.Join(strings.Fields(doc), " ")
	if rest, ok := strings.CutPrefix(d, field); ok && (strings.HasPrefix(rest, " ") || strings.HasPrefix(rest, ",")) {
		d = "`" + key + "`" + rest
	}
	return docLinkRE.ReplaceAllString(d, "`stream.$1`")
}

// cell escapes text for a Markdown table cell.
func cell(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

// camelKey turns a dotted kebab-case key into camelCase, segment by
// segment ("tls.ca-file" → "tls.caFile"); segments holding no '-' are kept.
func camelKey(key string) string {
	segs := strings.Split(key, ".")
	for i, s := range segs {
		parts := strings.Split(s, "-")
		for j := 1; j < len(parts); j++ {
			if parts[j] != "" {
				parts[j] = strings.ToUpper(parts[j][:1]) + parts[j][1:]
			}
		}
		segs[i] = strings.Join(parts, "")
	}
	return strings.Join(segs, ".")
}

func codeList(ks []string) string {
	out := make([]string, len(ks))
	for i, k := range ks {
		out[i] = "`" + k + "`"
	}
	return strings.Join(out, ", ")
}

// binderKinds are the settings blocks of a binder's package doc, by the
// words its introducing paragraph starts with.
var binderKinds = []struct{ lead, kind, title string }{
	{"Binder settings", "binder", "Binder settings"},
	{"Producer properties", "producer", "Producer properties"},
	{"Consumer properties", "consumer", "Consumer properties"},
}

// binderBlock is one settings block of a binder's package doc.
type binderBlock struct {
	kind, title string
	entries     []entry // "as above" resolved
}

// parseBinderDoc returns the settings blocks of a binder's package doc.
func parseBinderDoc(b binderPkg) ([]binderBlock, error) {
	var out []binderBlock
	seen := map[string]entry{}
	for i, blk := range codeBlocks(b.src.packageDoc()) {
		var kind, title string
		for _, k := range binderKinds {
			if strings.HasPrefix(blk.intro, k.lead) {
				kind, title = k.kind, k.title
			}
		}
		if kind == "" {
			continue
		}
		entries, err := parseBlock(blk.lines, fmt.Sprintf("package %s doc, code block %d (%s)", b.rel, i+1, kind))
		if err != nil {
			return nil, err
		}
		for j, e := range entries {
			if rest, ok := strings.CutPrefix(e.Value, "as above"); ok {
				prev, found := seen[e.Key]
				if !found {
					return nil, fmt.Errorf("package %s doc: %s says \"as above\" but no earlier block has it", b.rel, e.Key)
				}
				e.Value = prev.Value
				e.Comment = joinText(prev.Comment, strings.TrimSpace(strings.TrimLeft(rest, ",;:")))
				entries[j] = e
			}
			seen[e.Key] = e
		}
		out = append(out, binderBlock{kind: kind, title: title, entries: entries})
	}
	return out, nil
}

// Setting is one key of a binder's settings block.
type Setting struct {
	// Key is the dotted key within the block, kebab-case ("tls.ca-file").
	Key string
	// Value is the default as written in the doc ("10s", `""`, "(none)").
	Value string
	// Section is true when other keys are nested under Key.
	Section bool
}

// BinderDoc is what a binder's package doc lists.
type BinderDoc struct {
	Type string // the binder type
	// Settings by block kind: "binder", "producer", "consumer".
	Settings map[string][]Setting
}

// BinderDocs returns the settings blocks of the package docs of the
// binders of the module at root, sorted by type.
func BinderDocs(root string) ([]BinderDoc, error) {
	module, err := modulePath(root)
	if err != nil {
		return nil, err
	}
	bs, err := findBinders(root, module)
	if err != nil {
		return nil, err
	}
	var out []BinderDoc
	for _, b := range bs {
		blocks, err := parseBinderDoc(b)
		if err != nil {
			return nil, err
		}
		d := BinderDoc{Type: b.typ, Settings: map[string][]Setting{}}
		for _, blk := range blocks {
			for _, e := range blk.entries {
				d.Settings[blk.kind] = append(d.Settings[blk.kind], Setting{Key: e.Key, Value: e.Value, Section: e.Parent})
			}
		}
		out = append(out, d)
	}
	return out, nil
}

func (g *gen) binders(bs []binderPkg) error {
	g.p("## Binder settings\n\n")
	g.p("Each binder decodes its own keys strictly (an unknown key is an error naming its path), from its package doc's settings blocks:\n\n")
	g.p("- *binder settings*: `stream.<type>.binder.<key>`, or `stream.binders.<name>.environment.<key>` for a named binder (which wins);\n")
	g.p("- *producer properties*: `stream.<type>.bindings.<binding>.producer.<key>` (or `stream.<type>.default.producer.<key>` for every binding);\n")
	g.p("- *consumer properties*: `stream.<type>.bindings.<binding>.consumer.<key>` (or `stream.<type>.default.consumer.<key>`).\n\n")
	g.p("The *SCSt spelling* is the key under `spring.cloud.stream.<type>.binder.`, `...bindings.<binding>.producer.` or `...consumer.`, camelCase.\n\n")
	for _, b := range bs {
		g.p("### %s (package [%s](../%s))\n\n", b.typ, b.rel, b.rel)
		blocks, err := parseBinderDoc(b)
		if err != nil {
			return err
		}
		paths := map[string]string{
			"binder":   fmt.Sprintf("`stream.%s.binder.<key>` or `stream.binders.<name>.environment.<key>`", b.typ),
			"producer": fmt.Sprintf("`stream.%s.bindings.<binding>.producer.<key>`", b.typ),
			"consumer": fmt.Sprintf("`stream.%s.bindings.<binding>.consumer.<key>`", b.typ),
		}
		for _, blk := range blocks {
			g.p("#### %s\n\n%s\n\n", blk.title, paths[blk.kind])
			g.p("| key | default | SCSt spelling | description |\n|---|---|---|---|\n")
			for _, e := range blk.entries {
				g.p("| `%s` | %s | `%s` | %s |\n", e.Key, cell(blockDefault(e)), cell(camelKey(e.Key)), cell(e.Comment))
			}
			g.p("\n")
		}
		if len(blocks) == 0 {
			g.p("Its package doc has no settings block yet (a code block after a paragraph starting \"Binder settings\", \"Producer properties\" or \"Consumer properties\"; see [the end of this file](#how-this-file-is-made)).\n\n")
		}
	}
	return nil
}

// blockDefault renders the value of a binder settings line, which is its
// default: `1024`, `""`, "none" for (none), "—" for a section.
func blockDefault(e entry) string {
	switch {
	case e.Value == "" && e.Parent:
		return "—"
	case e.Value == "":
		return "none"
	case strings.HasPrefix(e.Value, "(") && strings.HasSuffix(e.Value, ")"):
		return e.Value[1 : len(e.Value)-1]
	}
	return "`" + e.Value + "`"
}

var rootLineRE = regexp.MustCompile(`^[a-z][a-z0-9-]*:\s*(#.*)?$`)

// section writes the keys of the settings blocks of package dir's doc that
// start at a root key (management:, logging:). Their values are examples;
// the comments state the defaults.
func (g *gen) section(src *pkgSource, dir, title, intro string) error {
	g.p("## %s\n\n%s\n\n", title, intro)
	g.p("| key | default | example | description |\n|---|---|---|---|\n")
	n := 0
	for i, blk := range codeBlocks(src.packageDoc()) {
		if len(blk.lines) == 0 || !rootLineRE.MatchString(blk.lines[0]) {
			continue
		}
		entries, err := parseBlock(blk.lines, fmt.Sprintf("package %s doc, code block %d", dir, i+1))
		if err != nil {
			return err
		}
		for _, e := range entries {
			if e.Parent && e.Comment == "" {
				continue
			}
			def, ok := commentDefault(e.Comment)
			if !ok {
				return fmt.Errorf("package %s doc: %s: the comment states no default (\"default X\" or \"X (default)\")", dir, e.Key)
			}
			if def != "empty" && def != "none" && !strings.Contains(strings.TrimSpace(def), " ") {
				def = "`" + strings.Trim(def, `"`) + "`"
			}
			example := ""
			if e.Value != "" {
				example = "`" + e.Value + "`"
			}
			g.p("| `%s` | %s | %s | %s |\n", e.Key, cell(def), cell(example), cell(e.Comment))
			n++
		}
	}
	if n == 0 {
		return fmt.Errorf("package %s doc: no settings block", dir)
	}
	g.p("\n")
	return nil
}

func (g *gen) footer() {
	g.p(`## How this file is made

` + "`go generate ./docs`" + ` runs ` + "`internal/cmd/genref`" + `, and ` + "`go test ./docs`" + `
fails when this file differs from what it generates. What it reads:

- **The stream section**: ` + "`config.Properties()`" + `, the schema the loader
  validates with; each field's doc comment in package stream; the default from
  ` + "`stream.Config.Binding`" + ` for binding keys, otherwise a sentence
  "Default X." in the doc comment (a comment that disagrees with the code fails
  the generator).
- **Binder code that also reads it**: every package ` + "`binder/<x>`" + ` that declares
  ` + "`const Type`" + ` is type-checked, with the packages under
  ` + "`binder/internal`" + ` it imports, for reads of the fields of package
  stream's types (a call of a method of package stream counts as the reads of
  that method).
- **Binder settings**: in a binder's package doc, a code block right after a
  paragraph that starts with "Binder settings", "Producer properties" or
  "Consumer properties", one key per line, nested by indentation:
  ` + "`key: default  # description`" + `, a line holding only a ` + "`# comment`" + `
  continuing the previous key's description, ` + "`(words)`" + ` for a default that
  is not a literal, ` + "`a: / b: default`" + ` or ` + "`a, b: default`" + ` for keys
  that share a line, and ` + "`key: as above, ...`" + ` for a key described in an
  earlier block.
- **management, logging, outbox and idempotency**: the code blocks of the
  package docs of management, telemetry, outbox and idempotency that start
  with a top-level key; their values are
  examples and each comment states the default (` + "`default X`" + ` or
  ` + "`X (default)`" + `).
`)
}

// BinderKeysGo renders cmd/streambind/binderkeys_gen.go: the keys of
// each binder's settings blocks (BinderDocs), by binder type and block
// kind, in their documented kebab-case spelling, a nested key by its
// section's and its own (tls.server-name). streambind config prints a key
// an environment variable set without its dashes
// (..._CONSUMER_STARTOFFSET: startoffset; ..._BINDER_TLS_SERVERNAME:
// tls-servername, or servername in a tls section of the files) in that
// spelling (start-offset; tls: server-name), as a file's key is printed.
func BinderKeysGo(root string) ([]byte, error) {
	docs, err := BinderDocs(root)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	b.WriteString("// Code generated by internal/cmd/genbinderkeys (go generate ./cmd/streambind); DO NOT EDIT.\n\n")
	b.WriteString("package main\n\n")
	b.WriteString("// binderKeyNames are the keys of the binders' settings blocks (their\n")
	b.WriteString("// package docs), by binder type and block: binder, producer, consumer;\n")
	b.WriteString("// a nested key is its section's and its own, joined by '.'\n")
	b.WriteString("// (tls.server-name).\n")
	b.WriteString("var binderKeyNames = map[string]map[string][]string{\n")
	for _, d := range docs {
		fmt.Fprintf(&b, "\t%q: {\n", d.Type)
		kinds := make([]string, 0, len(d.Settings))
		for k := range d.Settings {
			kinds = append(kinds, k)
		}
		sort.Strings(kinds)
		for _, kind := range kinds {
			seen := map[string]bool{}
			var keys []string
			for _, s := range d.Settings[kind] {
				// A nested key's section, then the key itself.
				sec, _, _ := strings.Cut(s.Key, ".")
				for _, k := range []string{sec, s.Key} {
					if !seen[k] {
						seen[k] = true
						keys = append(keys, k)
					}
				}
			}
			sort.Strings(keys)
			fmt.Fprintf(&b, "\t\t%q: {", kind)
			for i, k := range keys {
				if i > 0 {
					b.WriteString(", ")
				}
				fmt.Fprintf(&b, "%q", k)
			}
			b.WriteString("},\n")
		}
		b.WriteString("\t},\n")
	}
	b.WriteString("}\n")
	return format.Source(b.Bytes())
}
