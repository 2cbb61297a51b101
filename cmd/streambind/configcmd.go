package main

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"

	"github.com/streambind/streambind/binder/props"
	"github.com/streambind/streambind/internal/cron"
	"github.com/streambind/streambind/redact"
	"github.com/streambind/streambind/stream"
)

func newConfigCmd(e *runEnv) *cobra.Command {
	var lf loadFlags
	var format string
	cmd := &cobra.Command{
		Use:   "config [PATH]",
		Short: "Print the effective configuration, with the origin of every value",
		Long: `config prints the effective configuration of a service, read as its app
reads it (--profile, environment overrides, placeholders resolved), with
the origin of every value: file:line, "env NAME" ("env NAME_0, NAME_1"
for a list that variables set item by item), "stream.default at
file:line" for a binding value it inherits, or "default". Every binding the
app binds is listed with all its stream.bindings settings, defaults
included (those of a
function none of whose bindings is configured too: the origin of their
destination says that they are bound if the function is of the kind that
has them, which only the app's code shows); so are the outbox section,
when set, and idempotency.postgres and idempotency.redis, when set or
used by a binding (consumer.idempotency.store), as those packages read
them. Their durations are shown in their largest whole unit (24h, 1m,
90s, 100ms). A binding's binder-specific settings
(stream.<type>.bindings.<name>, stream.<type>.default) are printed as
configured: their defaults (RabbitMQ's prefetch 128, ...) are in
docs/configuration.md. The other sections are printed as configured, values of a
.properties file, of the environment or filled from a placeholder
(${VAR:default}) typed as the app reads them (true, 25; "007" stays a
string; a key written with no value is "", as Spring reads it). Secrets
are redacted (package redact): values of keys that name secrets are
replaced by ******, passwords in URLs, DSNs and credentials are hidden.

stream.default-binder is shown as the app decides it: as set (set empty,
default-binder: "" or ${BINDER:}, it is not set, as in SCSt), else the one
binder declared under stream.binders that is a default candidate
(default-candidate not false); without either it is null, "not set": the
app's code chooses (the one binder type it registers that no declared
binder is named after), and so is the binder of every binding that names
none.

The Spring Boot connection settings a binder takes (spring.kafka.
bootstrap-servers, spring.rabbitmq.*, ...) are shown where a binder of the
type gets them, under stream.<type>.binder (brokers, addresses, ...), with
their Spring Boot key as origin; a key the section sets itself wins.

An output binding's poller (a polled supplier's schedule) is shown with
the keys the schedule does not use marked (cron wins over fixed-rate,
fixed-rate over fixed-delay) and, for a cron, its next poll in the local
time zone. The application-wide poller (spring.integration.poller,
spring.cloud.stream.poller) is shown as stream.poller, with the key each
value was written at, and as "stream.poller at ..." in the bindings that
poll on it (those that set no producer.poller key). A poller is shown only
for an output binding that may be a supplier's.

YAML (default; it starts with a comment naming the active profiles, groups
expanded, and the files read in the order they are merged, and when
SPRING_CONFIG_NAME, _LOCATION or _ADDITIONAL_LOCATION chose them, the files
looked for; the origin is a comment after each value) or --format json
(a list of {"key", "value", "origin"}). Exit status 1 when the configuration
has errors (printed on stderr as lint prints them, with its warnings; the
configuration is printed all the same), 2 for bad usage.`,
		Example: `  streambind config
  streambind config --profile kafka
  STREAM_DEFAULT_BINDER=rabbit streambind config services/orders
  streambind config --format json | jq '.[] | select(.origin | startswith("env"))'`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "yaml" && format != "json" {
				return usage("--format: want yaml or json, got %q", format)
			}
			path := "."
			if len(args) == 1 {
				path = args[0]
			}
			s, err := loadService(e, path, lf.profiles(cmd))
			if err != nil {
				return failed(err)
			}
			cs := &checkedService{service: s, checked: check(s)}
			entries := effective(cs)
			if format == "json" {
				err = writeConfigJSON(cmd.OutOrStdout(), entries)
			} else {
				err = writeConfigYAML(cmd.OutOrStdout(), entries, configHeader(s))
			}
			if err != nil {
				return failed(err)
			}
			// Problems and warnings on stderr, as lint prints them; only
			// problems fail.
			var probs []problem
			for _, ce := range cs.problems {
				probs = append(probs, s.problemOf(ce, false))
			}
			for _, ce := range cs.warnings {
				probs = append(probs, s.problemOf(ce, true))
			}
			if printProblems(e.stderr, probs, false, false) != exitOK {
				return silent(exitFailure)
			}
			return nil
		},
	}
	lf.add(cmd)
	cmd.Flags().StringVar(&format, "format", "yaml", "output format: yaml or json")
	return cmd
}

// configEntry is one value of the effective configuration.
type configEntry struct {
	// Key is the key path; list items are not split.
	Key    string `json:"key"`
	Value  any    `json:"value"`
	Origin string `json:"origin"`
	// path is Key's segments (a segment may hold a '.': bootstrap.servers).
	path []string
}

// effective returns the effective configuration of s, redacted, in key
// order.
func effective(s *checkedService) []configEntry {
	cfg := s.loaded.Stream
	tree := deepCopy(s.loaded.Raw)
	origins := map[string]string{}
	// asConfigured holds the key paths of origins whose value is printed
	// as configured all the same (typed by typedScalar): the Spring Boot
	// settings shown under a binder-type section.
	asConfigured := map[string]bool{}
	placeholders := newPlaceholderIndex(s.service)
	originOf := func(p string) string {
		o, ok := s.exactOrigin(p)
		if !ok {
			return ""
		}
		if strings.HasPrefix(p, "stream.poller.") {
			// Lifted from an application-wide poller: say which key.
			return s.bootOrigin(o)
		}
		return s.showOrigin(o)
	}

	streamTree, _ := tree["stream"].(map[string]any)
	if streamTree == nil {
		streamTree = map[string]any{}
		tree["stream"] = streamTree
	}
	setDefault := func(m map[string]any, key, path string, v any) {
		if _, ok := m[key]; !ok {
			m[key] = v
			origins[path] = "default"
		}
	}
	if v, ok := streamTree["default-binder"]; !ok || cfg.DefaultBinder == "" {
		// Not set, or set empty (default-binder: "", ${BINDER:}), which
		// is not set (as in SCSt).
		name, origin := defaultBinderOf(cfg)
		if s, blank := v.(string); ok && blank && strings.TrimSpace(s) == "" {
			origin += "; set empty at " + originOf("stream.default-binder") + ", which is not set"
		}
		var v any // null: not decided by the configuration
		if name != "" {
			v = name
		}
		streamTree["default-binder"] = v
		origins["stream.default-binder"] = origin
	}
	setDefault(streamTree, "shutdown-timeout", "stream.shutdown-timeout", duration(stream.DefaultShutdownTimeout))
	setDefault(streamTree, "dynamic-destination-cache-size", "stream.dynamic-destination-cache-size", stream.DefaultDynamicDestinationCacheSize)
	if binders, ok := streamTree["binders"].(map[string]any); ok {
		for name, b := range binders {
			if bm, ok := b.(map[string]any); ok {
				setDefault(bm, "startup-timeout", "stream.binders."+name+".startup-timeout", duration(stream.DefaultStartupTimeout))
				setDefault(bm, "inherit-environment", "stream.binders."+name+".inherit-environment", true)
				setDefault(bm, "default-candidate", "stream.binders."+name+".default-candidate", true)
			}
		}
	}

	// The binder-type sections as a binder of the type gets them
	// (stream.BinderSettingsOf): with the Spring Boot connection settings
	// (spring.kafka.bootstrap-servers, spring.rabbitmq.*) the section does
	// not set, whichever way the binder is chosen.
	for _, typ := range sortedKeysOf(cfg.ConnectionDefaults) {
		sec, _ := streamTree[typ].(map[string]any)
		if sec == nil {
			sec = map[string]any{}
			streamTree[typ] = sec
		}
		binder, _ := sec["binder"].(map[string]any)
		if binder == nil {
			binder = map[string]any{}
			sec["binder"] = binder
		}
		settings := stream.BinderSettingsOf(&stream.Config{ConnectionDefaults: cfg.ConnectionDefaults, Extensions: cfg.Extensions}, typ)
		// A binder of the type with inherit-environment false does not
		// get them: the origin says so, as the section is shown once.
		var alone []string
		for n, bc := range cfg.Binders {
			if strings.EqualFold(bc.Type, typ) && !bc.Inherits() {
				alone = append(alone, n)
			}
		}
		slices.Sort(alone)
		note := ""
		if len(alone) > 0 {
			note = "; not for " + strings.Join(alone, ", ") + " (inherit-environment: false)"
		}
		addDerived(binder, deepCopy(settings.Binder), "stream."+typ+".binder", func(p string) string {
			asConfigured[p] = true
			if o, ok := s.exactOrigin(p); ok {
				return s.bootOrigin(o) + note
			}
			return "default (spring." + typ + ")" + note
		}, origins)
	}

	// The binder sections' keys spelt as the binders document them, also
	// those set by a variable without dashes (configkeys.go).
	canonicalBinderKeys(streamTree, origins, originOf, func(p string, v any) any { return typedScalar(s.service, placeholders, p, v) })
	// Nor the empty maps an ignored key leaves there.
	pruneEmptyBinderSections(streamTree)

	// The bindings the app binds, with every setting.
	bindings, _ := streamTree["bindings"].(map[string]any)
	if bindings == nil {
		bindings = map[string]any{}
	}
	// A binding of a function no binding of which is configured is listed
	// too, with the defaults the app gives it: the configuration does not
	// show the function's kind, so the origin of its destination says on
	// what its existence depends.
	for _, b := range s.bindings {
		for k := range bindings {
			if strings.EqualFold(k, b.name) {
				delete(bindings, k)
			}
		}
		vals, bo := s.bindingValues(b, mayPoll(s.bindings, b))
		s.markInvalid(b.name, vals, bo)
		if !b.configured && b.function != "" {
			p := "stream.bindings." + b.name + ".destination"
			if b.input {
				bo[p] += "; bound if " + b.function + " is a function or a consumer (no binding of it is configured)"
			} else {
				bo[p] += "; bound if " + b.function + " is a function or a supplier (no binding of it is configured)"
			}
		}
		bindings[b.name] = vals
		for k, o := range bo {
			origins[k] = o
		}
	}
	if len(bindings) > 0 {
		streamTree["bindings"] = bindings
	}
	s.pgSections(tree, origins, s.bindings) // configpgsections.go

	// Values placeholders naming secrets filled in are hidden, and so is
	// whatever holds them (addresses host:port from spring.rabbitmq.port).
	red, _ := redact.Tree(s.loaded.HideSecrets(tree, "")).(map[string]any)
	var out []configEntry
	var walk func(segs []string, v any)
	walk = func(segs []string, v any) {
		if m, ok := v.(map[string]any); ok && len(m) > 0 {
			for _, k := range sortedKeysOf(m) {
				walk(append(segs[:len(segs):len(segs)], k), m[k])
			}
			return
		}
		prefix := strings.Join(segs, ".")
		o, ok := origins[prefix]
		if !ok {
			o = originOf(prefix)
		}
		if !ok || asConfigured[prefix] {
			v = typedScalar(s.service, placeholders, prefix, v)
		}
		if o == "" {
			o = "default"
		}
		if l, ok := v.([]any); ok {
			o = s.listOrigin(prefix, o, len(l))
		}
		out = append(out, configEntry{Key: prefix, Value: v, Origin: s.hideSecrets(o), path: segs})
	}
	walk(nil, red)
	return out
}

// listOrigin returns the origin of the list at key path p, of n items,
// whose own origin is o: for a list that several variables set item by
// item (STREAM_KAFKA_BINDER_BROKERS_0, _1) all of them, in index order
// ("env X_0, X_1"; the first two, "…" and the last of more than five),
// where o names the first only; else o.
func (s *service) listOrigin(p, o string, n int) string {
	if !strings.HasPrefix(o, "env ") || n < 2 {
		return o
	}
	var names []string
	for i := range n {
		io, ok := s.exactOrigin(p + "[" + strconv.Itoa(i) + "]")
		if !ok {
			return o
		}
		name, isEnv := strings.CutPrefix(s.showOrigin(io), "env ")
		if !isEnv {
			return o
		}
		if !slices.Contains(names, name) {
			names = append(names, name)
		}
	}
	if len(names) < 2 {
		return o
	}
	if len(names) > 5 {
		names = []string{names[0], names[1], "…", names[len(names)-1]}
	}
	return "env " + strings.Join(names, ", ")
}

// addDerived adds to dst the values of src it lacks, maps merged key by
// key, recording the origin of each added value (origin of its key path,
// below path).
func addDerived(dst, src map[string]any, path string, origin func(string) string, origins map[string]string) {
	for k, v := range src {
		p := path + "." + k
		have, ok := dst[k]
		if !ok {
			dst[k] = v
			markOrigins(v, p, origin, origins)
			continue
		}
		hm, ok1 := have.(map[string]any)
		vm, ok2 := v.(map[string]any)
		if ok1 && ok2 {
			addDerived(hm, vm, p, origin, origins)
		}
	}
}

// markOrigins records the origin of every value of v, at key path p.
func markOrigins(v any, p string, origin func(string) string, origins map[string]string) {
	if m, ok := v.(map[string]any); ok && len(m) > 0 {
		for k, x := range m {
			markOrigins(x, p+"."+k, origin, origins)
		}
		return
	}
	origins[p] = origin(p)
}

// bootOrigin renders the origin of a value package config took from a
// Spring Boot key: "application.yaml:3 (spring.kafka.bootstrap-servers)".
func (s *service) bootOrigin(o string) string {
	if m := fileLine.FindStringSubmatch(o); m != nil && m[3] != "" {
		return s.showOrigin(o) + " (" + m[3] + ")"
	}
	return s.showOrigin(o)
}

// typedScalar returns v, a value of the configuration as read, typed as
// the app reads it: a .properties file, the environment and a placeholder
// (${VAR:default}, whichever gives its value) give only strings, so "true"
// there is the boolean true and "3" the number 3 ("007" and "1e3" stay
// strings; a YAML file's values keep the type YAML gave them, a quoted
// "true" stays a string).
func typedScalar(s *service, placeholders *placeholderIndex, key string, v any) any {
	if v == nil {
		// A key written with no value (dlqDeadLetterExchange:) is the
		// empty string to Spring (its YAML loader) and to the binders,
		// which for such keys means the opposite of not set (no DLX on
		// the DLQ; no host-name check): not shown as null.
		if _, ok := s.exactOrigin(key); ok {
			return ""
		}
		return v
	}
	str, ok := v.(string)
	if !ok {
		return v
	}
	o, ok := s.exactOrigin(key)
	if !ok {
		return v
	}
	if l := s.locate(o); l.env == "" && !strings.HasSuffix(strings.ToLower(l.file), ".properties") && !placeholders.filled(key, o) {
		return v
	}
	switch strings.ToLower(strings.TrimSpace(str)) {
	case "true":
		return true
	case "false":
		return false
	}
	if n, err := strconv.ParseInt(str, 10, 64); err == nil && strconv.FormatInt(n, 10) == str {
		return n
	}
	return v
}

// showOrigin renders an origin for config: file:line with the service's
// directory, or "env NAME".
func (s *service) showOrigin(o string) string {
	l := s.locate(o)
	switch {
	case l.env != "":
		return "env " + l.env
	case l.line > 0:
		return l.file + ":" + strconv.Itoa(l.line)
	}
	return o
}

// mayPoll reports whether output binding b may be a polled supplier's:
// it belongs to a function (not the send bridge) none of whose input
// bindings is configured. A poller drives a supplier's output only.
func mayPoll(all []*binding, b *binding) bool {
	if b.input || b.function == "" {
		return false
	}
	for _, o := range all {
		if o.input && o.function == b.function && o.configured {
			return false
		}
	}
	return true
}

// bindingValues returns every setting of binding b as the app uses it,
// and the origin of each (key paths under stream.bindings.<b>); polled
// says whether to show its producer.poller (mayPoll).
func (s *service) bindingValues(b *binding, polled bool) (map[string]any, map[string]string) {
	cfg := s.loaded.Stream
	eff := cfg.Binding(b.name)
	origins := map[string]string{}
	prefix := "stream.bindings." + b.name + "."
	from := func(key string) string {
		if o, ok := s.exactOrigin(prefix + key); ok {
			return s.showOrigin(o)
		}
		if o, ok := s.exactOrigin("stream.default." + key); ok {
			return "stream.default at " + s.bootOrigin(o)
		}
		if rest, ok := strings.CutPrefix(key, "producer.poller."); ok && cfg.UsesStreamPoller(b.name) {
			if o, ok := s.exactOrigin("stream.poller." + rest); ok {
				return "stream.poller at " + s.bootOrigin(o)
			}
		}
		return "default"
	}
	vals := map[string]any{}
	set := func(key string, v any) {
		parts := strings.Split(key, ".")
		m := vals
		for _, p := range parts[:len(parts)-1] {
			sub, ok := m[p].(map[string]any)
			if !ok {
				sub = map[string]any{}
				m[p] = sub
			}
			m = sub
		}
		m[parts[len(parts)-1]] = v
		origins[prefix+key] = from(key)
	}
	// A reader of another binding's dead letters: where the binder says
	// they are (as the app resolves it).
	var readsOf string
	if of := eff.Consumer.DeadLettersOf; b.input && of != "" {
		if ds, srcEff, ok := s.deadLetterSource(of); ok {
			readsOf = "dead-letters-of " + of
			eff.Destination, eff.Binder = ds.Destination, srcEff.Binder
			if ds.Group != "" {
				eff.Group = ds.Group
			}
		}
	}
	set("destination", eff.Destination)
	if readsOf != "" {
		origins[prefix+"destination"] = readsOf
	} else if origins[prefix+"destination"] == "default" {
		origins[prefix+"destination"] = "default (the binding name)"
	}
	set("binder", eff.Binder)
	if origins[prefix+"binder"] == "default" {
		if o, ok := s.exactOrigin("stream.default-binder"); ok && cfg.DefaultBinder != "" {
			origins[prefix+"binder"] = "stream.default-binder at " + s.showOrigin(o)
		} else if name, origin := defaultBinderOf(cfg); name == "" {
			// Not decided by the configuration: not the in-process binder
			// stream.Config falls back to.
			vals["binder"] = nil
			origins[prefix+"binder"] = "stream.default-binder " + origin
		} else {
			vals["binder"] = name
			origins[prefix+"binder"] = "stream.default-binder " + origin
		}
	}
	set("content-type", eff.ContentType)
	if b.input {
		set("group", eff.Group)
		if readsOf != "" && eff.Group != s.loaded.Stream.Binding(b.name).Group {
			origins[prefix+"group"] = readsOf
		}
		c := eff.Consumer
		if c.DeadLettersOf != "" {
			set("consumer.dead-letters-of", c.DeadLettersOf)
		}
		set("consumer.concurrency", c.Concurrency)
		set("consumer.max-attempts", c.MaxAttempts)
		set("consumer.max-in-flight", c.MaxInFlight)
		set("consumer.back-off-initial-interval", duration(c.BackOffInitialInterval))
		set("consumer.back-off-multiplier", c.BackOffMultiplier)
		set("consumer.back-off-max-interval", duration(c.BackOffMaxInterval))
		set("consumer.dlq", c.DLQ)
		set("consumer.partitioned", c.Partitioned)
		set("consumer.instance-index", c.InstanceIndex)
		set("consumer.instance-count", c.InstanceCount)
		// Inherited from stream.instance-index/-count (SCSt's
		// spring.cloud.stream.instance-count) where the binding sets none.
		for _, k := range []string{"instance-index", "instance-count"} {
			if origins[prefix+"consumer."+k] != "default" {
				continue
			}
			if o, ok := s.exactOrigin("stream." + k); ok {
				origins[prefix+"consumer."+k] = "stream." + k + " at " + s.bootOrigin(o)
			}
		}
		if len(c.InstanceIndexList) > 0 {
			// Shown where set only: the binding otherwise reads as
			// instance-index, and every binding would list an empty list.
			idx := make([]any, 0, len(c.InstanceIndexList))
			for _, x := range c.InstanceIndexList {
				idx = append(idx, x)
			}
			set("consumer.instance-index-list", idx)
		}
		set("consumer.batch-mode", c.BatchMode)
		set("consumer.auto-startup", c.AutoStart())
		set("consumer.default-retryable", c.IsRetryable())
		retryable := map[string]any{}
		for n, r := range c.RetryableExceptions {
			retryable[n] = r
		}
		set("consumer.retryable-exceptions", retryable)
		delays := make([]any, 0, len(c.RetryDelays))
		for _, d := range c.RetryDelays {
			delays = append(delays, duration(d))
		}
		set("consumer.retry-delays", delays)
		set("consumer.header-mode", headerMode(c.HeaderMode))
		set("consumer.use-native-decoding", c.UseNativeDecoding)
		if c.Idempotency.Store != "" {
			set("consumer.idempotency.store", c.Idempotency.Store)
			set("consumer.idempotency.key-expression", c.Idempotency.KeyExpression)
			set("consumer.idempotency.retention", duration(c.Idempotency.Retention))
		}
	} else {
		p := eff.Producer
		if p.PartitionKeyExpression != "" {
			set("producer.partition-key-expression", p.PartitionKeyExpression)
		}
		if p.PartitionKeyExtractorName != "" {
			set("producer.partition-key-extractor-name", p.PartitionKeyExtractorName)
		}
		if p.PartitionSelectorExpression != "" {
			set("producer.partition-selector-expression", p.PartitionSelectorExpression)
		}
		set("producer.partition-count", p.PartitionCount)
		groups := make([]any, 0, len(p.RequiredGroups))
		for _, g := range p.RequiredGroups {
			groups = append(groups, g)
		}
		set("producer.required-groups", groups)
		set("producer.auto-startup", p.AutoStart())
		if polled {
			set("producer.poller.fixed-delay", duration(p.Poller.FixedDelay))
			if p.Poller.FixedRate > 0 {
				set("producer.poller.fixed-rate", duration(p.Poller.FixedRate))
			}
			set("producer.poller.initial-delay", duration(p.Poller.InitialDelay))
			set("producer.poller.max-messages-per-poll", p.Poller.MaxMessagesPerPoll)
			if p.Poller.Cron != "" {
				set("producer.poller.cron", p.Poller.Cron)
			}
			notePollerSchedule(p.Poller, prefix+"producer.poller.", origins, time.Now())
		}
		set("producer.header-mode", headerMode(p.HeaderMode))
		set("producer.use-native-encoding", p.UseNativeEncoding)
	}
	return vals, origins
}

// notePollerSchedule adds to the origins of a polled supplier's poller
// keys (under prefix) which of them the schedule uses: the keys cron or
// fixed-rate override are marked not used, and a cron says its next poll
// after now, in the local time zone the app polls in.
func notePollerSchedule(p stream.PollerConfig, prefix string, origins map[string]string, now time.Time) {
	switch {
	case p.Cron != "":
		origins[prefix+"fixed-delay"] += " (not used: cron is set)"
		if p.FixedRate > 0 {
			origins[prefix+"fixed-rate"] += " (not used: cron is set)"
		}
		if p.InitialDelay > 0 {
			origins[prefix+"initial-delay"] += " (not used with cron)"
		}
		if c, err := cron.Parse(p.Cron); err == nil {
			if next := c.Next(now); !next.IsZero() {
				origins[prefix+"cron"] += "; next poll " + next.Format("2006-01-02 15:04:05 MST")
			}
		}
	case p.FixedRate > 0:
		origins[prefix+"fixed-delay"] += " (not used: fixed-rate is set)"
	}
}

// headerMode is a header-mode as the app applies it ("" is headers).
func headerMode(m string) string {
	if m == "" {
		return stream.HeaderModeHeaders
	}
	return m
}

// duration renders d in its largest whole unit where it has one, as a
// file would set it: 24h (not 86400s or 24h0m0s), 1m, 90s, 100ms.
func duration(d time.Duration) string {
	switch {
	case d == 0:
		return "0s"
	case d%time.Hour == 0:
		return strconv.FormatInt(int64(d/time.Hour), 10) + "h"
	case d%time.Minute == 0:
		return strconv.FormatInt(int64(d/time.Minute), 10) + "m"
	case d%time.Second == 0:
		return strconv.FormatInt(int64(d/time.Second), 10) + "s"
	case d%time.Millisecond == 0:
		return strconv.FormatInt(int64(d/time.Millisecond), 10) + "ms"
	}
	return d.String()
}

// defaultBinderOf returns the binder of the bindings that name none when
// cfg does not set stream.default-binder, as the app decides it
// (stream.DefaultBinderOf): the one binder declared under stream.binders
// that is a default candidate, else the one binder type the app registers.
// The command cannot see the app's code: with no binder declared, or none
// a candidate, it does not know which types the app registers, and
// returns "" with an origin that says so.
func defaultBinderOf(cfg *stream.Config) (name, origin string) {
	if len(cfg.Binders) == 0 {
		return "", "not set: the app's code decides (the one binder type it registers; with several it fails to start)"
	}
	candidates := stream.DefaultCandidates(cfg)
	if len(candidates) == 0 {
		return "", "not set: no binder declared under stream.binders is a default candidate (default-candidate: false), so the app's code decides (the one binder type it registers that no declared binder is named after; with several it fails to start)"
	}
	name, why := stream.DefaultBinderOf(cfg, knownBinderTypes())
	if name == "" {
		return "", "not set: " + strings.TrimPrefix(why, "is not set and ")
	}
	if len(candidates) < len(cfg.Binders) {
		return name, "default (the one binder declared under stream.binders that is a default candidate)"
	}
	return name, "default (the one binder declared under stream.binders)"
}

func deepCopy(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = deepCopyValue(v)
	}
	return out
}

func deepCopyValue(v any) any {
	switch t := v.(type) {
	case map[string]any:
		return deepCopy(t)
	case []any:
		out := make([]any, len(t))
		for i, x := range t {
			out[i] = deepCopyValue(x)
		}
		return out
	}
	return v
}

func writeConfigJSON(w io.Writer, entries []configEntry) error {
	if entries == nil {
		entries = []configEntry{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(entries)
}

// configHeader is the head comment of config's YAML output: the active
// profiles (groups expanded) and the files read, in the order they were
// merged — what Spring Boot logs at start-up as "The following profiles
// are active".
func configHeader(s *service) string {
	if s.loaded == nil {
		return ""
	}
	profiles := "none"
	if len(s.loaded.Profiles) > 0 {
		// A profile named by a placeholder of a secret
		// (spring.profiles.active: ${DB_PASSWORD}) is hidden, as in the
		// loader's messages.
		profiles = s.hideSecrets(strings.Join(s.loaded.Profiles, ", "))
	}
	files := make([]string, 0, len(s.loaded.Files))
	for _, f := range s.loaded.Files {
		// As origins show them: relative to the service's directory
		// when inside it. The loader names a file by the directory it
		// was given, relative (c01/application.yml) when that is:
		// loadedName takes either, so that the directory is not joined
		// twice (c01/c01/application.yml).
		files = append(files, s.file(s.loadedName(f)))
	}
	read := "none"
	if len(files) > 0 {
		read = strings.Join(files, ", ")
	}
	h := "active profiles: " + profiles + "\nfiles read, later ones winning: " + s.hideSecrets(read)
	if s.searched != "" {
		// The variables that chose the files, so that a file left unread
		// by them is explained.
		h += "\nfiles looked for: " + s.hideSecrets(s.searched)
	}
	return h
}

// writeConfigYAML writes the entries as one YAML tree, each value
// followed by its origin as a comment, under header's lines.
func writeConfigYAML(w io.Writer, entries []configEntry, header string) error {
	root := &yaml.Node{Kind: yaml.MappingNode, HeadComment: printableLines(header)}
	maps := map[string]*yaml.Node{"": root}
	var mapFor func(segs []string) *yaml.Node
	mapFor = func(segs []string) *yaml.Node {
		id := strings.Join(segs, "\x00")
		if n, ok := maps[id]; ok {
			return n
		}
		n := &yaml.Node{Kind: yaml.MappingNode}
		pm := mapFor(segs[:len(segs)-1])
		pm.Content = append(pm.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: segs[len(segs)-1]}, n)
		maps[id] = n
		return n
	}
	for _, e := range entries {
		if len(e.path) == 0 {
			continue
		}
		v := &yaml.Node{}
		if err := v.Encode(e.Value); err != nil {
			return fmt.Errorf("%s: %w", e.Key, err)
		}
		if v.Kind == yaml.SequenceNode || v.Kind == yaml.MappingNode {
			v.Style = yaml.FlowStyle
		}
		v.LineComment = printable(e.Origin) // a line break would end the comment
		m := mapFor(e.path[:len(e.path)-1])
		m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: e.path[len(e.path)-1]}, v)
	}
	enc := yaml.NewEncoder(w)
	enc.SetIndent(2)
	if err := enc.Encode(root); err != nil {
		return err
	}
	return enc.Close()
}

// markInvalid shows, for each setting of binding name that is a problem,
// the value as written instead of the effective one (a default the app
// never uses: it refuses the configuration), and the problem after its
// origin.
func (s *checkedService) markInvalid(name string, vals map[string]any, origins map[string]string) {
	prefix := "stream.bindings." + name + "."
	for _, e := range s.problems {
		if len(e.Path) <= len(prefix) || !strings.EqualFold(e.Path[:len(prefix)], prefix) {
			continue
		}
		parts := strings.Split(e.Path[len(prefix):], ".")
		m := vals
		for _, p := range parts[:len(parts)-1] {
			if m, _ = m[p].(map[string]any); m == nil {
				break
			}
		}
		last := parts[len(parts)-1]
		if _, shown := m[last]; m == nil || !shown {
			continue
		}
		if raw, ok := rawAt(s.loaded.Raw, e.Path); ok {
			m[last] = raw
		}
		key := prefix + strings.Join(parts, ".")
		origins[key] += " (invalid: " + e.Msg + ")"
	}
}

// rawAt returns the value at key path p of the loaded tree, its keys
// matched as the loader matches them (case and dashes aside).
func rawAt(tree map[string]any, p string) (any, bool) {
	var v any = tree
	for _, seg := range strings.Split(p, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		found := false
		for k, sub := range m {
			if strings.EqualFold(k, seg) || props.Norm(k) == props.Norm(seg) {
				v, found = sub, true
				break
			}
		}
		if !found {
			return nil, false
		}
	}
	return v, true
}
