package main

import (
	"fmt"
	"io"
	"maps"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/streambind/streambind/binder/kafka"
	"github.com/streambind/streambind/binder/memory"
	"github.com/streambind/streambind/binder/nats"
	"github.com/streambind/streambind/binder/props"
	"github.com/streambind/streambind/binder/rabbit"
	"github.com/streambind/streambind/redact"
	"github.com/streambind/streambind/stream"
	"github.com/streambind/streambind/topology"
)

// problem is one finding of lint.
type problem struct {
	loc     location
	key     string
	msg     string
	warning bool
	// kind says which consistency check found it ("" for the others).
	kind string
}

// Kinds of consistency problems.
const (
	kindDLQ            = "dlq-anonymous"
	kindPartitions     = "partitions"
	kindRequiredGroups = "required-groups"
	kindUnroutable     = "mandatory-unroutable"
	kindOverlap        = "destination-overlap"
	kindInProcess      = "in-process-shared"
	// kindFile: a file a setting names cannot be read or is not what the
	// setting needs (checked.files), a warning that --strict does not
	// count.
	kindFile = "file"
)

func (p problem) less(q problem) bool {
	if p.loc.file != q.loc.file {
		return p.loc.file < q.loc.file
	}
	if p.loc.line != q.loc.line {
		return p.loc.line < q.loc.line
	}
	if p.key != q.key {
		return p.key < q.key
	}
	return p.msg < q.msg
}

// text is the problem as a line: "file:line: key: message", or "env NAME:
// key: message" for a value from environment variable NAME. Control
// characters and bytes that are not UTF-8 are escaped (printable).
func (p problem) text() string {
	var b strings.Builder
	switch {
	case p.loc.env != "":
		b.WriteString("env " + p.loc.env)
	case p.loc.flag != "":
		b.WriteString(p.loc.flag)
	default:
		b.WriteString(p.loc.file)
		if p.loc.line > 0 {
			b.WriteString(":" + strconv.Itoa(p.loc.line))
		}
	}
	b.WriteString(": ")
	if p.key != "" {
		b.WriteString(p.key + ": ")
	}
	if p.warning {
		b.WriteString("warning: ")
	}
	b.WriteString(p.msg)
	// One line: a key or value with a line break (a YAML key
	// "x\n::error ...") must not start another, nor an ESC recolour
	// the terminal.
	return printable(b.String())
}

// github is the problem as a GitHub Actions workflow command: an error, or
// a warning; failing says the warning fails the run (--strict), and is an
// error annotation titled "warning (--strict)", so that the job's summary
// shows why it failed.
func (p problem) github(failing bool) string {
	level, props := "error", ""
	switch {
	case p.warning && failing:
		props = "title=" + ghProperty(strictTitle)
	case p.warning:
		level = "warning"
	}
	msg := p.msg
	if p.key != "" {
		msg = p.key + ": " + msg
	}
	if p.loc.env != "" {
		// No file to annotate: the annotation names the variable.
		msg = "env " + p.loc.env + ": " + msg
	} else if p.loc.flag != "" {
		msg = p.loc.flag + ": " + msg
	} else {
		file := "file=" + ghProperty(p.loc.file)
		if p.loc.line > 0 {
			file += ",line=" + strconv.Itoa(p.loc.line)
		}
		props = strings.TrimSuffix(file+","+props, ",")
	}
	if props != "" {
		return "::" + level + " " + props + "::" + ghData(msg)
	}
	return "::" + level + "::" + ghData(msg)
}

// writtenKey is key path, set at origin, as the service's files wrote it
// there (config's stream.Config.WrittenKey), else path.
func (s *service) writtenKey(path, origin string) string {
	if s.loaded != nil {
		if w := s.loaded.Stream.WrittenKey(path, origin); w != "" {
			return w
		}
	}
	return path
}

// strictTitle titles the error annotation of a warning --strict counts.
const strictTitle = "warning (--strict)"

// problemOf turns a problem the loader, the app or a binder found in s
// into a lint problem: at the key it was set (shownKey), as written there
// (the problem's Key), where it was set, the file or the environment
// variable named once (not again as the key or at the start of the
// message), secrets redacted.
func (s *service) problemOf(e *stream.ConfigError, warning bool) problem {
	key := shownKey(e.Path, e.Origin)
	if key == e.Path {
		key = e.Shown()
		if e.Key == "" { // a finding of lint's own
			key = s.writtenKey(e.Path, e.Origin)
		}
	}
	p := problem{loc: s.locate(e.Origin), key: key, msg: redact.String(e.Msg), warning: warning}
	if p.loc.flag != "" {
		p.key = "" // a flag's value, not a key of the files
	}
	if e.Origin == "" && isConfigFileName(p.key) {
		// A problem with a whole file (it cannot be read): the key is
		// the file's name.
		p.loc.file, p.key = s.file(p.key), ""
	}
	names := []string{p.loc.env}
	if p.loc.env == "" {
		names = []string{p.loc.file, filepath.Base(p.loc.file)}
	}
	for _, n := range names {
		if n == "" {
			continue
		}
		if p.key == n {
			p.key = ""
		}
		p.msg = strings.TrimPrefix(p.msg, n+": ")
	}
	// A file's name may hold the text a secret placeholder gave an
	// import location (file:${DB_PASSWORD}.yaml): hidden, as the loader
	// hides it in its messages.
	p.loc.file, p.key, p.msg = s.hideSecrets(p.loc.file), s.hideSecrets(p.key), s.hideSecrets(p.msg)
	return p
}

// hideSecrets hides in t the texts secret placeholders gave (values and
// locations: config.Loaded.Secrets).
func (s *service) hideSecrets(t string) string {
	if s.loaded == nil {
		return t
	}
	return s.loaded.Secrets.String(t)
}

// isConfigFileName reports whether name is that of a configuration file.
func isConfigFileName(name string) bool {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".yaml", ".yml", ".properties":
		return !strings.HasPrefix(name, "stream.")
	}
	return false
}

// ghData escapes a workflow command's message.
func ghData(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}

// ghProperty escapes a workflow command's property value.
func ghProperty(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C").Replace(s)
}

// system is the services given, each checked.
type system struct {
	services []*checkedService
}

type checkedService struct {
	*service
	*checked
}

// loadSystem loads and checks every path; a path that cannot be read is
// returned in bad.
func loadSystem(e *runEnv, paths []string, profiles []string) (*system, []error) {
	if len(paths) == 0 {
		paths = []string{"."}
	}
	sys := &system{}
	var bad []error
	for _, p := range paths {
		s, err := loadService(e, p, profiles)
		if err != nil {
			bad = append(bad, err)
			continue
		}
		sys.services = append(sys.services, &checkedService{service: s, checked: check(s)})
	}
	return sys, bad
}

func newLintCmd(e *runEnv) *cobra.Command {
	var lf loadFlags
	var format string
	var strict, checkFiles bool
	cmd := &cobra.Command{
		Use:   "lint [PATH...]",
		Short: "Validate services' configuration without connecting to anything",
		Long: `lint validates the configuration of one or more services, read as an app
reads it (--profile, environment overrides, placeholders), without
connecting to anything: every key, type and placeholder, the binder-specific
properties (each binder's own validator), the management and logging
sections, the outbox and idempotency sections (keys and values, as those
packages decode them when the app starts; nothing connects to PostgreSQL
or Redis), and the consistency of the bindings within and across the
services given (dlq on an anonymous consumer, partitioned on one (a
warning: it does not apply, the consumer receives every partition's
messages, as in SCSt), Kafka's auto-rebalance-enabled: false on one
(ignored: it reads every partition), partitioned consumers of a group
that do not fit their producers — as the broker assigns partitions: on RabbitMQ
and NATS partitions from instance-count (NATS: its partition-count) on
reach no instance —, required-groups nobody reads, RabbitMQ producers
whose required-groups declare a group's queue with other arguments than
the group's consumer binding of the destination declares it with (its
dlq, ttl, max-length, quorum, dead-letter-* ...: a producer declares the
queue with its own RabbitMQ producer properties, auto-bind-dlq for dlq,
as in SCSt, and whichever binds second fails at start; the error names
both bindings, the settings that differ and what to set on the
producer) or durable where that consumer binding has
durable-subscription: false (a non-durable queue; no producer setting
declares one: the error says to remove the group from required-groups or
drop durable-subscription: false), RabbitMQ producers
whose mandatory sends no queue of the services given takes, NATS destinations of which one is
another's prefix at a '.'). A binding configured for no
function, not in stream.input-bindings or output-bindings and without a
group is taken for a producer the bridge sends to (SCSt's StreamBridge).
Producers and consumers meet on a destination of one name when their
binders are of one type and on one broker: the same addresses (with the
defaults; as send, tail and dlq name them), on RabbitMQ with the same
virtual host. Two binder names with the same connection settings are one
broker; two binders of one type on different addresses are two (a mirror
reading orders on one Kafka cluster and writing orders on another is no
loop, nor are a producer's partitions checked against a consumer of the
other broker). The same holds across services: files that name one broker
by different host names (localhost and kafka) are taken for two brokers.
In-process destinations are one
binder's of one service (each process has its own): services on the
in-process binder are not checked against each other (a warning says so
where they name the same destination); lint them on the broker they share
for that (--profile kafka, or STREAM_DEFAULT_BINDER=kafka for SCSt files
that name no binder). A partitioned consumer of a group with
instance-count > 1 on the in-process binder is a warning: the queues of
the instances not in its process are read by nobody, and once full every
send to the destination blocks (set partitioned: false for that profile).

A PATH is a configuration file (application.yaml, .yml or .properties:
its profile files are looked for beside it) or a directory searched as
an app searches its working directory (./, ./config/ and ./config/*/ for
application.* or SPRING_CONFIG_NAME's names, SPRING_CONFIG_LOCATION and
SPRING_CONFIG_ADDITIONAL_LOCATION applied); the default is the working
directory. Functions are not registered in a lint
run: each function of the definition is checked as the kind its
configured bindings show. With an empty definition, the one function
whose bindings have an input or a group is taken for the app's only
function, and outputs of other names for the send bridge's (a warning
says so). When no function's bindings have an input or a group, the
outputs of two functions or more (news-out-0 and alert-out-0) are all the
send bridge's, with no function bound: a producer that sends with the
bridge alone (SCSt's StreamBridge), which the app starts, binding each at
its first send; one function's outputs alone are taken for a supplier's.
Two functions with an input or a group are an error, as is an output-only name
within two edits of that function's (a typo). A configured output of no
bound function beside a bound function output of the same index that has
no settings is a warning naming that output.

The binder of the bindings that name none is stream.default-binder, else
the one binder declared under stream.binders that is a default candidate
(default-candidate not false). When the configuration sets neither (or
no declared binder is a candidate), the app's code chooses (the one binder
type it registers): that is no problem, and lint checks those bindings
with the binder of the configuration's one binder-specific or Spring Boot
connection section (stream.kafka, spring.kafka, spring.rabbitmq, ...),
else with the in-process binder. A value read from spring.kafka.* or
spring.rabbitmq.* is reported at that key and its line. Several candidate
binders declared and no default-binder is an error, as in the app.

Warnings do not fail the run: keys the loader ignores (obsolete Spring
Cloud Stream keys, Spring Boot settings not read), the WARN a binder logs
when it binds a setting it does not carry out as SCSt does (RabbitMQ's
max-concurrency above the binding's concurrency: the binder runs
concurrency workers, where SCSt's container adds consumers up to
max-concurrency under load), an application.yaml,
.yml or .properties in a directory PATH or its config/ that
SPRING_CONFIG_NAME or SPRING_CONFIG_LOCATION leave unread, configured bindings
that no bound function or output binding uses (with the nearest bound
name; when it is a typo away and has no settings of its own, a
did-you-mean and the destination and group it runs on instead: as in
SCSt, which ignores unknown binding names, a warning, an error with
--strict), required-groups that no consumer of the services given reads, an
in-process consumer with dlq: true whose dead letters no consumer reads
(the in-process binder drops each; graph's note "dead letters of X go to
Y (memory), which no consumer reads"),
RabbitMQ and NATS producers whose required-groups provision a group in
the other partition shape than the group's consumer bindings read it (a
partitioned producer declares the queues <destination>.<group>-<p>, on
NATS the durables <group>_p<p>, where an unpartitioned consumer reads
<destination>.<group>, the durable <group>; or the other way round: what
the producer made is read by nothing and fills up for ever; the warning
names it and what to set; Redis and in-process groups are read in either
shape), and when several services are given, a RabbitMQ producer that publishes
mandatory (the binder's default) to an exchange that no required-groups
and no consumer of those services binds a queue to (each send is returned unroutable and fails, so a
function's input is redelivered for ever, until another app binds one),
and a service whose RabbitMQ default prefixes differ
(stream.rabbit.default.consumer.prefix set and producer.prefix not, say:
its consumers read the exchange <consumer prefix><destination>, its
producers and send --destination send to <producer prefix><destination>;
SCSt applies them so too), a RabbitMQ dead-letter reader with dlq
whose source declares the dead-letter queue without the x-dead-letter-*
arguments the reader declares it with (one of them fails at start), and
a binding whose content type no built-in converter handles
(application/json and any +json type, text/plain, application/octet-stream
are built in; application/*+avro is not): lint sees no Go types, and a
function that takes or returns a typed payload there needs a converter
registered in code (stream.WithConverter) or the app refuses an output
binding at start-up (and warns of an input binding, whose messages'
contentType headers may pick a converter), while []byte and string
payloads pass through as they are; an output's partition-key-expression
or (Kafka) message-key-expression that reads one of SCSt's received
headers (kafka_receivedMessageKey, kafka_receivedTopic,
amqp_receivedRoutingKey, ...), null in an output's expression (they are
the input's key and Received, not inherited headers); and the
routing-expression or an idempotency key-expression of an input whose
binder is not RabbitMQ that reads an amqp_* received header
(amqp_receivedRoutingKey, amqp_receivedExchange, amqp_consumerQueue,
amqp_redelivered), always null there.

The files a configuration names (TLS trust and key stores, CA files,
client certificates and keys, a NATS credentials file) are read, but one
that cannot be read, or does not hold what its setting needs (no PEM
certificate, a key that does not match), is a warning: lint often runs
where they are not (a CI job), and the app, which reads them when it
starts, fails on them there. Everything else about those settings is
checked all the same (a store type that is not supported, TLS settings
under a plaintext security.protocol, cert-file without key-file are
errors), and the bindings are checked against the binder's settings as
the app has them (Kafka's consumer-properties against a binding's
max-bytes). --check-files makes a file's problems errors (run it where the
app runs); --strict does not count them.

One line per problem, sorted: "file:line: key: message" ("warning: " before
the message of a warning; "env NAME: key: message" for a value set by
environment variable NAME). Exit status 1 when there is an error (or, with
--strict, a warning other than a file's), 0 when clean, 2 for bad usage.
When --strict fails the run on warnings, a line on stderr says so
("streambind lint: 3 warnings (--strict)").

Linting in CI: lint resolves placeholders as the app does, so a ${VAR}
placeholder without a default is an error where VAR is not set: set it in
the job (a dummy value is fine, lint connects to nothing) or give it a
default (${VAR:default}). The certificate and credentials files are
seldom on a CI runner: lint there without them (warnings, which --strict
does not count), and run lint --check-files where they are (the host or
image the app runs in). --format github makes each problem an annotation
at its file and line; with --strict the warnings it counts are error
annotations (titled "warning (--strict)"), a file's warning stays a
warning. A GitHub Actions step:

  - name: Lint the streambind configuration
    run: |
      go install github.com/streambind/streambind/cmd/streambind@latest
      streambind lint --strict --format github services/*/
    env:
      KAFKA_BROKERS: ci-dummy:9092   # a placeholder without a default`,
		Example: `  streambind lint
  streambind lint --profile kafka .
  streambind lint orders/application.yaml payments/ shipping/
  streambind lint --format github services/*/   # annotations in a GitHub Actions job
  streambind lint --check-files /etc/orders/     # on the host: the certificates must be there too`,
		RunE: func(cmd *cobra.Command, args []string) error {
			var gh bool
			switch format {
			case "text":
			case "github":
				gh = true
			default:
				return usage("--format: want text or github, got %q", format)
			}
			sys, bad := loadSystem(e, args, lf.profiles(cmd))
			probs := sys.lint(checkFiles)
			code, t := writeProblems(cmd.OutOrStdout(), probs, gh, strict)
			for _, err := range bad {
				fmt.Fprintf(e.stderr, "streambind: %v\n", err)
				code = exitFailure
			}
			if sum := t.strictSummary(); strict && sum != "" {
				// The warnings failed the run: say so, not only
				// "warning:" lines and exit status 1.
				fmt.Fprintln(e.stderr, sum)
			}
			if code != exitOK {
				return silent(code)
			}
			return nil
		},
	}
	lf.add(cmd)
	cmd.Flags().StringVar(&format, "format", "text", "output format: text or github (GitHub Actions annotations)")
	cmd.Flags().BoolVar(&strict, "strict", false, "fail (exit status 1) on warnings too, except those about files (see --check-files)")
	cmd.Flags().BoolVar(&checkFiles, "check-files", false, "report the files the configuration names (TLS trust and key stores, CA files, client certificates and keys, credentials files) that cannot be read or do not hold what their setting needs as errors, not warnings")
	return cmd
}

// printProblems writes the problems, sorted, and returns the exit status.
func printProblems(w io.Writer, probs []problem, gh, strict bool) int {
	code, _ := writeProblems(w, probs, gh, strict)
	return code
}

// tally counts the problems written.
type tally struct {
	errors int
	// warnings are those --strict counts (all but a file's); fileWarnings
	// are a file's.
	warnings, fileWarnings int
}

// strictSummary is the line that says why a --strict run failed
// ("streambind lint: 3 warnings (--strict)"), "" when no warning failed
// it.
func (t tally) strictSummary() string {
	if t.warnings == 0 {
		return ""
	}
	s := "streambind lint: "
	if t.errors > 0 {
		s += countOf(t.errors, "error") + ", "
	}
	s += countOf(t.warnings, "warning") + " (--strict)"
	if t.fileWarnings > 0 {
		s += "; " + countOf(t.fileWarnings, "warning") + " about files not counted (errors with --check-files)"
	}
	return s
}

// countOf is "1 noun", "n nouns".
func countOf(n int, noun string) string {
	return strconv.Itoa(n) + " " + noun + plural(n)
}

// writeProblems writes the problems, sorted (a repeated line once), and
// returns the exit status and what it wrote. With strict, a warning other
// than a file's fails the run, and in GitHub format is an error
// annotation.
func writeProblems(w io.Writer, probs []problem, gh, strict bool) (int, tally) {
	sort.SliceStable(probs, func(i, j int) bool { return probs[i].less(probs[j]) })
	code := exitOK
	var t tally
	last := ""
	for _, p := range probs {
		failing := !p.warning || strict && p.kind != kindFile
		line := p.text()
		if gh {
			line = p.github(failing)
		}
		if line == last {
			continue
		}
		last = line
		fmt.Fprintln(w, line)
		switch {
		case !p.warning:
			t.errors++
		case p.kind == kindFile:
			t.fileWarnings++
		default:
			t.warnings++
		}
		if failing {
			code = exitFailure
		}
	}
	return code, t
}

// lint returns every problem of every service, and those between them.
// The files a configuration names that cannot be read or do not hold what
// their setting needs are warnings, errors with checkFiles.
func (sys *system) lint(checkFiles bool) []problem {
	var out []problem
	for _, s := range sys.services {
		for _, e := range s.problems {
			out = append(out, s.problemOf(e, false))
		}
		for _, e := range s.warnings {
			msg, file := s.files[e]
			switch {
			case file && checkFiles:
				c := *e
				c.Msg = msg
				out = append(out, s.problemOf(&c, false))
			case file:
				p := s.problemOf(e, true)
				p.kind = kindFile
				out = append(out, p)
			default:
				out = append(out, s.problemOf(e, true))
			}
		}
		for _, e := range prefixMismatch(s) {
			out = append(out, s.problemOf(e, true))
		}
		for _, e := range unconvertedContentTypes(s) { // lintcontenttype.go
			out = append(out, s.problemOf(e, true))
		}
		for _, e := range receivedKeyInOutputExpressions(s) { // lintreceivedkey.go
			out = append(out, s.problemOf(e, true))
		}
		for _, e := range amqpHeadersOffRabbit(s) { // lintreceivedkey.go
			out = append(out, s.problemOf(e, true))
		}
		out = append(out, memoryPartitionedInstances(s)...) // lintmemoryinstances.go
	}
	// Within each scope: in-process destinations are one binder's of one
	// service (graph's scopes), not joined across services.
	var cons []problem
	for _, sub := range sys.scopes(nil) {
		cons = append(cons, sub.consistency()...)
	}
	// The app warns at start-up of a dlq without a group (naming the
	// key): where that is an error here, it is listed once, as the error.
	type at struct {
		loc location
		key string
	}
	dlqErrs := map[at]bool{}
	for _, p := range cons {
		if p.kind == kindDLQ && !p.warning {
			dlqErrs[at{p.loc, p.key}] = true
		}
	}
	out = slices.DeleteFunc(out, func(p problem) bool {
		return p.warning && dlqErrs[at{p.loc, p.key}] && strings.HasPrefix(p.msg, appDLQWarning)
	})
	// The binders that refuse it at start-up (kafka, as SCSt's; nats,
	// redis) report it themselves, in SCSt's words: listed once.
	appErrs := map[at]bool{}
	for _, p := range out {
		if !p.warning {
			appErrs[at{p.loc, p.key}] = true
		}
	}
	cons = slices.DeleteFunc(cons, func(p problem) bool {
		return p.kind == kindDLQ && !p.warning && appErrs[at{p.loc, p.key}]
	})
	out = append(out, cons...)
	out = append(out, sys.unreadInProcessDLQs()...) // lintmemorydlq.go
	return sys.hideSecrets(append(out, sys.inProcessShared()...))
}

// inProcessShared warns, once a binding, of in-process destinations that
// several of the services given name: each process has its own, so they
// are not checked against each other (scopes) — a system of SCSt files
// that name no binder runs on the in-process binder here, and lint said
// nothing of them.
func (sys *system) inProcessShared() []problem {
	users := map[string][]endpoint{} // destination → its in-process endpoints
	for _, s := range sys.services {
		for _, b := range s.bindings {
			if !b.configured || b.binderType != memory.Type {
				continue
			}
			for _, d := range b.destinations {
				users[d] = append(users[d], endpoint{s, b})
			}
		}
	}
	var out []problem
	for _, d := range slices.Sorted(maps.Keys(users)) {
		eps := users[d]
		for _, ep := range eps {
			var others []string
			for _, o := range eps {
				if o.svc != ep.svc && !slices.Contains(others, o.ref(ep.svc)) {
					others = append(others, o.ref(ep.svc))
				}
			}
			if len(others) == 0 {
				continue
			}
			out = append(out, ep.keyProblem(kindInProcess, "destination", fmt.Sprintf(
				"%s is an in-process destination, as in %s: each process has its own, so they are not checked against each other; lint them on the broker they share (--profile, or STREAM_DEFAULT_BINDER=<binder> for files that name none)",
				d, strings.Join(others, ", ")), true))
		}
	}
	return out
}

// appDLQWarning begins the app's start-up warning of consumer.dlq on a
// binding without a group (stream's warnDLQWithoutGroup).
const appDLQWarning = "consumer.dlq does not apply to a binding without a group"

// endpoint is a binding of a service.
type endpoint struct {
	svc *checkedService
	b   *binding
}

// ref names a binding for messages: "binding" within the service of
// from, else "service/binding", with the file:line it was configured at.
func (ep endpoint) ref(from *checkedService) string {
	name := ep.b.name
	if from != ep.svc {
		name = ep.svc.name + "/" + name
	}
	l := ep.svc.locate(ep.svc.origin("stream.bindings." + ep.b.name))
	if l.line > 0 {
		return fmt.Sprintf("%s (%s:%d)", name, l.file, l.line)
	}
	return name
}

// keyProblem is a problem about key (below a binding, "consumer.dlq") of
// ep: reported where the key was set, the binding's own key or
// stream.default's, else at the binding, saying that the default applies.
func (ep endpoint) keyProblem(kind, key, msg string, warning bool) problem {
	s := ep.svc
	path := "stream.bindings." + ep.b.name + "." + key
	if o, ok := s.exactOrigin(path); ok {
		return problem{loc: s.locate(o), key: s.writtenKey(path, o), msg: msg, warning: warning, kind: kind}
	}
	if o, ok := s.exactOrigin("stream.default." + key); ok {
		return problem{loc: s.locate(o), key: s.writtenKey("stream.default."+key, o), msg: "binding " + ep.b.name + ": " + msg, warning: warning, kind: kind}
	}
	if key == "consumer.instance-count" || key == "consumer.instance-index" {
		// stream.instance-count/-index are every consumer's default.
		top := "stream." + strings.TrimPrefix(key, "consumer.")
		if o, ok := s.exactOrigin(top); ok {
			return problem{loc: s.locate(o), key: s.writtenKey(top, o), msg: "binding " + ep.b.name + ": " + msg, warning: warning, kind: kind}
		}
	}
	// Set nowhere: reported at the binding, and said so (the value is the
	// default, not something at that line).
	return problem{loc: s.locate(s.origin(path)), key: path, msg: msg + " (" + key + " is not set: its default applies)", warning: warning, kind: kind}
}

// fixedAnonymousProblem is the warning of auto-rebalance-enabled: false
// on ep, an anonymous Kafka consumer: reported where the key was set (the
// binding's Kafka section, else the Kafka default's), else at the
// binding.
func fixedAnonymousProblem(ep endpoint) problem {
	const key = "consumer.auto-rebalance-enabled"
	const msg = "auto-rebalance-enabled: false is ignored for an anonymous consumer (no group): it reads every partition, as in SCSt, so each instance reads them all; set a group for a fixed assignment"
	s := ep.svc
	for _, path := range []string{"stream.kafka.bindings." + ep.b.name + "." + key, "stream.kafka.default." + key} {
		if o, ok := s.exactOrigin(path); ok {
			return problem{loc: s.locate(o), key: path, msg: msg, warning: true}
		}
	}
	path := "stream.bindings." + ep.b.name
	return problem{loc: s.locate(s.origin(path)), key: path, msg: msg, warning: true}
}

// destKey identifies a destination system-wide: binder type, broker (the
// binder's brokerOf: two binders of one type on different brokers do not
// meet) and name (on RabbitMQ the exchange's: destName).
type destKey struct{ typ, broker, name string }

// destName is the name of destination d of binding b on its broker: on
// RabbitMQ the exchange <prefix><destination> (SCSt's prefix), where
// bindings of different prefixes meet (prefix dev. of orders and no prefix
// of dev.orders) or miss each other (orders with prefix dev. and without).
func destName(b *binding, d string) string {
	if b.binderType != rabbit.Type {
		return d
	}
	return rabbitPrefix(b) + d
}

// rabbitPrefix is a RabbitMQ binding's prefix ("" when unset), read as
// the binder and the topology read it.
func rabbitPrefix(b *binding) string { return topology.ExtString(b.ext, "prefix") }

// endpoints returns the configured producers and consumers of every
// destination.
func (sys *system) endpoints() (producers, consumers map[destKey][]endpoint) {
	producers, consumers = map[destKey][]endpoint{}, map[destKey][]endpoint{}
	for _, s := range sys.services {
		for _, b := range s.bindings {
			if !b.configured {
				continue
			}
			for _, d := range b.destinations {
				k := destKey{b.binderType, b.broker, destName(b, d)}
				if b.input {
					consumers[k] = append(consumers[k], endpoint{s, b})
				} else {
					producers[k] = append(producers[k], endpoint{s, b})
				}
			}
		}
	}
	return producers, consumers
}

// consistency checks the bindings against each other.
func (sys *system) consistency() []problem {
	var out []problem
	producers, consumers := sys.endpoints()

	// dlq on an anonymous consumer.
	for _, s := range sys.services {
		for _, b := range s.bindings {
			// On RabbitMQ, as in SCSt, the anonymous queue has the
			// x-dead-letter-* arguments and its failed messages go to the
			// DLX: a dead-letter setting, not a mistake. The app's
			// start-up WARN (appDLQWarning's binding) says so; no error.
			if b.configured && b.input && b.consumer.DLQ && b.group == "" && b.binderType != rabbit.Type {
				why := "dlq needs a consumer group: the failed messages of an anonymous consumer are dropped, not dead-lettered (set group)"
				out = append(out, endpoint{s, b}.keyProblem(kindDLQ, "consumer.dlq", why, false))
			}
		}
	}

	// Kafka's auto-rebalance-enabled: false on an anonymous consumer: the
	// binder ignores it with a WARN at bind (as SCSt, an anonymous
	// consumer reads every partition), so two instances would each read
	// every partition; said here, before they run.
	for _, s := range sys.services {
		for _, b := range s.bindings {
			if b.configured && b.input && b.group == "" && b.binderType == kafka.Type &&
				strings.EqualFold(topology.ExtString(b.ext, "auto-rebalance-enabled"), "false") {
				out = append(out, fixedAnonymousProblem(endpoint{s, b}))
			}
		}
	}

	out = append(out, natsOverlaps(producers, consumers)...)
	out = append(out, requiredGroupArgs(producers, consumers)...)   // lintrequiredgroups.go
	out = append(out, requiredGroupShapes(producers, consumers)...) // lintgroupshape.go

	for _, k := range sortedDestKeys(producers) {
		ps := producers[k]
		// Producers that disagree on the partition count.
		counts := map[int]bool{}
		for _, p := range ps {
			counts[p.b.producer.PartitionCount] = true
		}
		if len(counts) > 1 {
			for _, p := range ps {
				var others []string
				for _, q := range ps {
					if q.b.producer.PartitionCount != p.b.producer.PartitionCount {
						others = append(others, fmt.Sprintf("%s with %d", q.ref(p.svc), q.b.producer.PartitionCount))
					}
				}
				out = append(out, p.keyProblem(kindPartitions, "producer.partition-count", fmt.Sprintf(
					"is %d, but %s also sends to %s: producers of one destination must agree on its partitions",
					p.b.producer.PartitionCount, strings.Join(others, ", "), k.name), false))
			}
		}
		// Partitioned consumers that do not fit the producers; not an
		// anonymous one, to which partitioned does not apply (it receives
		// every partition's messages, as in SCSt; the app's WARN at bind,
		// which lint reports, says so).
		for _, c := range consumers[k] {
			if !c.b.consumer.Partitioned || c.b.group == "" {
				continue
			}
			n := c.b.consumer.InstanceCount
			for _, p := range ps {
				pc := p.b.producer.PartitionCount
				switch {
				case k.typ == kafka.Type:
					// Kafka gives each partition to one member of the group.
					if p.b.producer.IsPartitioned() && pc < n {
						out = append(out, c.keyProblem(kindPartitions, "consumer.instance-count", fmt.Sprintf(
							"is %d, but %s sends to %s with partition-count %d: Kafka gives each partition to one instance, so %d of the %d instances receive nothing",
							n, p.ref(c.svc), k.name, pc, n-pc, n), false))
					}
				case k.typ == nats.Type && !p.b.producer.IsPartitioned():
					// NATS partitioned consumers filter <destination>.<p>.
					out = append(out, c.keyProblem(kindPartitions, "consumer.partitioned", fmt.Sprintf(
						"is true, but %s sends to %s unpartitioned: on NATS a partitioned consumer reads only the partition subjects %s.<p>, so no instance receives its messages",
						p.ref(c.svc), k.name, k.name), false))
				case k.typ == nats.Type && p.b.producer.IsPartitioned() && pc > natsPartitions(c.b):
					// NATS instance i reads p < its NATS partition-count
					// (default instance-count) with p % n == i.
					npc := natsPartitions(c.b)
					out = append(out, c.keyProblem(kindPartitions, "consumer.instance-count", fmt.Sprintf(
						"is %d, but %s sends to %s with partition-count %d: on NATS the instances read only the partitions below the consumer's NATS partition-count (%d; default instance-count), so %s no instance",
						n, p.ref(c.svc), k.name, pc, npc, span("partition", npc, pc-1, "reaches", "reach")), false))
				case k.typ == rabbit.Type && !p.b.producer.IsPartitioned():
					// RabbitMQ binds instance i's queue with <key>-<i>;
					// an unpartitioned producer's routing key has no
					// -<p> suffix (binder/rabbit bindingKeys, routingKey).
					out = append(out, c.keyProblem(kindPartitions, "consumer.partitioned", fmt.Sprintf(
						"is true, but %s sends to %s unpartitioned: on RabbitMQ a partitioned consumer's queue is bound with the routing key %s-<instance-index> and an unpartitioned producer publishes without the -<partition> suffix, so no instance receives its messages",
						p.ref(c.svc), k.name, k.name), false))
				case !p.b.producer.IsPartitioned() && n > 1:
					out = append(out, c.keyProblem(kindPartitions, "consumer.partitioned", fmt.Sprintf(
						"is true with instance-count %d, but %s sends to %s unpartitioned: every message goes to partition 0, so %s nothing",
						n, p.ref(c.svc), k.name, span("instance", 1, n-1, "receives", "receive")), false))
				case p.b.producer.IsPartitioned() && pc < n:
					out = append(out, c.keyProblem(kindPartitions, "consumer.instance-count", fmt.Sprintf(
						"is %d, but %s sends to %s with partition-count %d: %s nothing",
						n, p.ref(c.svc), k.name, pc, span("instance", pc, n-1, "receives", "receive")), false))
				case p.b.producer.IsPartitioned() && pc > n && k.typ == rabbit.Type:
					out = append(out, c.keyProblem(kindPartitions, "consumer.instance-count", fmt.Sprintf(
						"is %d, but %s sends to %s with partition-count %d: on RabbitMQ partition p goes to the queue of instance p, so %s no instance",
						n, p.ref(c.svc), k.name, pc, span("partition", n, pc-1, "reaches", "reach")), false))
				}
			}
		}
		// Groups provisioned that nobody reads.
		for _, p := range ps {
			for _, g := range p.b.producer.RequiredGroups {
				if g = strings.TrimSpace(g); g == "" || groupRead(k, g, p.b, consumers[k], sys, k.typ) {
					continue
				}
				out = append(out, p.keyProblem(kindRequiredGroups, "producer.required-groups", fmt.Sprintf(
					"provisions group %q on %s, but no consumer of the services given reads it: its messages pile up (lint the consuming service together with this one)",
					g, k.name), true))
			}
		}
		// Mandatory RabbitMQ sends to an exchange no queue is known to be
		// bound to: each is returned, and fails. A warning: another app
		// may bind one. Only for several services linted together: a
		// producer service linted alone (its consumers elsewhere, the
		// common case) would always get it.
		if k.typ == rabbit.Type && len(sys.services) > 1 && len(consumers[k]) == 0 {
			for _, p := range ps {
				if !slices.ContainsFunc(p.b.producer.RequiredGroups, func(g string) bool { return strings.TrimSpace(g) != "" }) && rabbitMandatory(p.b) {
					out = append(out, p.unroutableProblem(k.name))
				}
			}
		}
	}
	return out
}

// rabbitMandatory reports whether a RabbitMQ producer publishes mandatory
// (the binder's default; an invalid value the binder's validator reports).
func rabbitMandatory(b *binding) bool {
	for k, v := range b.ext {
		if props.Norm(k) == "mandatory" {
			m, err := props.Bool(v)
			return err != nil || m
		}
	}
	return true
}

// unroutableProblem is the warning for a mandatory RabbitMQ producer of
// exchange dest that neither provisions a queue (required-groups) nor has
// a consumer among the services given: reported at mandatory where the
// configuration sets it, else at the binding's required-groups.
func (ep endpoint) unroutableProblem(dest string) problem {
	msg := fmt.Sprintf("the producer publishes mandatory to exchange %s, and no queue is known to be bound to it (required-groups is not set and no consumer of the services given reads it): "+
		"until some app binds one, every send is returned unroutable and fails (ErrUnroutable, transient), so a function's input is redelivered for ever and a bridge send fails; "+
		"set required-groups (the producer declares the group's queue before its first send), lint the consuming service together with this one, or set mandatory: false to drop what no queue takes", dest)
	s := ep.svc
	for _, key := range []string{"stream.rabbit.bindings." + ep.b.name + ".producer.mandatory", "stream.rabbit.default.producer.mandatory"} {
		if o, ok := s.exactOrigin(key); ok {
			if !strings.HasPrefix(key, "stream.rabbit.bindings.") {
				msg = "binding " + ep.b.name + ": " + msg
			}
			return problem{loc: s.locate(o), key: key, msg: msg, warning: true, kind: kindUnroutable}
		}
	}
	return ep.keyProblem(kindUnroutable, "producer.required-groups", msg, true)
}

// natsOverlaps reports NATS destinations of which one is another's prefix
// at a '.' (orders and orders.eu), at every binding of the longer one: the
// shorter one's stream captures <destination>.> (its partitions), which
// holds the longer one's subjects, and the binder refuses to bind it.
func natsOverlaps(producers, consumers map[destKey][]endpoint) []problem {
	eps := map[destKey][]endpoint{}
	for _, m := range []map[destKey][]endpoint{producers, consumers} {
		for k, v := range m {
			if k.typ == nats.Type {
				eps[k] = append(eps[k], v...)
			}
		}
	}
	keys := sortedDestKeys(eps)
	var out []problem
	for _, long := range keys {
		for _, short := range keys {
			if long.broker != short.broker || !strings.HasPrefix(long.name, short.name+".") {
				continue
			}
			for _, ep := range eps[long] {
				out = append(out, ep.keyProblem(kindOverlap, "destination", fmt.Sprintf(
					"%s overlaps the NATS destination %s (%s): the stream of %s captures %s.> (its partitions), which holds %s's subjects, so the second of them to bind fails; rename one",
					long.name, short.name, eps[short][0].ref(ep.svc), short.name, short.name, long.name), false))
			}
		}
	}
	return out
}

// span names the items lo..hi with the verb that fits: "instance 3
// receives", "instances 2..3 receive".
func span(noun string, lo, hi int, one, many string) string {
	if lo == hi {
		return fmt.Sprintf("%s %d %s", noun, lo, one)
	}
	return fmt.Sprintf("%ss %d..%d %s", noun, lo, hi, many)
}

// groupRead reports whether some consumer reads group g that producer p
// provisions on destination k: a consumer of k with group g, or on
// RabbitMQ any consumer of the queue p declares, <exchange>.<g>
// (<prefix><g> with queue-name-group-only).
func groupRead(k destKey, g string, p *binding, cs []endpoint, sys *system, typ string) bool {
	if typ != rabbit.Type || !groupOnly(p) {
		for _, c := range cs {
			if c.b.group == g && !(typ == rabbit.Type && groupOnly(c.b)) {
				return true
			}
		}
	}
	if typ != rabbit.Type {
		return false
	}
	queue := k.name + "." + g
	if groupOnly(p) {
		queue = rabbitPrefix(p) + g
	}
	for _, s := range sys.services {
		for _, b := range s.bindings {
			if b.configured && b.input && b.binderType == typ && b.broker == k.broker && rabbitQueue(b, "") == queue {
				return true
			}
		}
	}
	return false
}

// groupOnly reports whether a RabbitMQ consumer's queue is named by its
// group alone (queue-name-group-only).
func groupOnly(b *binding) bool {
	return extBool(b.ext, "queue-name-group-only")
}

// rabbitQueue returns the queue a RabbitMQ consumer reads for destination
// d (its first when ""): <prefix><destination>.<group>, or
// <prefix><group> with queue-name-group-only; "" for an anonymous
// consumer.
func rabbitQueue(b *binding, d string) string {
	if b.group == "" {
		return ""
	}
	if groupOnly(b) {
		return rabbitPrefix(b) + b.group
	}
	if d == "" && len(b.destinations) > 0 {
		d = b.destinations[0]
	}
	return rabbitPrefix(b) + d + "." + b.group
}

// natsPartitions is the partitions a NATS partitioned consumer's instances
// read (those below it): its NATS partition-count, else instance-count.
func natsPartitions(b *binding) int {
	for k, v := range b.ext {
		if props.Norm(k) == props.Norm("partition-count") {
			if n, err := props.Int(v, 1); err == nil {
				return n
			}
		}
	}
	return max(b.consumer.InstanceCount, 1)
}

// extBool reads a boolean binder-specific property, false when unset or
// invalid (the binder's validator reports it).
func extBool(ext map[string]any, key string) bool {
	for k, v := range ext {
		if props.Norm(k) == props.Norm(key) {
			b, err := props.Bool(v)
			return err == nil && b
		}
	}
	return false
}

func sortedDestKeys[V any](m map[destKey]V) []destKey {
	out := make([]destKey, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].typ != out[j].typ {
			return out[i].typ < out[j].typ
		}
		if out[i].name != out[j].name {
			return out[i].name < out[j].name
		}
		return out[i].broker < out[j].broker
	})
	return out
}
