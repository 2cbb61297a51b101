// Package management is the operations side of a streambind app: an HTTP
// server with the bindings actuator (read and change binding states),
// liveness and readiness probes, Prometheus metrics and the effective
// configuration. It is off unless management.server.address is configured
// (package config sets it from Spring Boot's management.server.port, or,
// with neither, from server.port, where Spring Boot serves the actuator)
// and the app's main starts it ([New], then [Server.Start]; docs/operations.md
// shows the wiring).
//
//	management:
//	  server:
//	    address: 127.0.0.1:8081   # empty (the default): management.server.port's, else server.port's, else no server
//	    read-header-timeout: 5s   # request line and headers; default 5s
//	    read-timeout: 10s         # the whole request, body included; default 10s
//	    write-timeout: 45s        # from the end of the headers to the end of the response; default 45s
//	    idle-timeout: 30s         # a keep-alive connection between requests; default 30s
//	    max-connections: 64       # connections open at once; default 64
//	  endpoint:
//	    config:
//	      enabled: true           # GET /actuator/config; default true
//	      show-values: never      # never (default) | always
//	  endpoints:
//	    web:
//	      base-path: /actuator    # where the actuator endpoints are served; / for the root; default /actuator
//	      path-mapping:
//	        health: healthcheck   # an endpoint's path under base-path, by endpoint id (this serves /actuator/healthcheck); default its id
//	      exposure:
//	        include: "*"          # the actuator endpoints served, by id, comma-separated or a list; default every one (Spring Boot's: health)
//	        exclude: info         # endpoints not served, whatever include says; default none
//	      discovery:
//	        enabled: true         # GET <base-path>, the links to every endpoint served; default true
//
// Durations are Go durations (250ms, 10s) or a number of milliseconds, and
// must be positive. Request headers are limited to 16 KiB (431 past that).
// A connection that sends nothing, sends its headers or body too slowly, or
// stays idle longer than its timeout is closed. Past max-connections, new
// connections wait in the kernel's accept queue (they are not refused)
// until one closes; probes, scrapes and operators are a handful of
// connections, so the bound only bites on a flood. A stop or pause through
// POST /actuator/bindings/{name} waits at most [StateChangeTimeout], and at
// most write-timeout less one second (half of it when write-timeout is 2s or
// less) so that its answer can still be written; a client that gives up
// (disconnects) does not cut it short.
//
// Endpoints (the actuator endpoints, under /actuator, are at Spring Boot's
// default paths; see [Actuator paths]):
//
//	GET  /actuator/bindings          every binding, in SCSt's JSON ([BindingView]), with its counters
//	GET  /actuator/bindings/{name}   a list of the binding of that name ([] if none), as SCSt's
//	POST /actuator/bindings/{name}   {"state":"STOPPED|STARTED|PAUSED|RESUMED"}: 204 No Content, as SCSt's
//	GET  /actuator/functions         registered functions: kind, Go input/output types, bound or not
//	GET  /actuator/topology          the app's topology (package topology's model, as streambind graph --format json)
//	GET  /health/liveness            200 while the process serves
//	GET  /health/readiness           200 when running and every binder with bindings is connected, else 503
//	GET  /metrics                    Prometheus text format
//	GET  /actuator/config            the effective configuration: keys and origins, values only if show-values is always
//
// On Spring Boot's server.port ([Config.MainServer]) /health/liveness and
// /health/readiness are served only with health exposed, /metrics only
// with prometheus exposed: that port is usually reachable by the app's
// clients.
//
// Spring Boot Actuator's paths, for the probes and scrape configurations of
// a ported Spring service (see [ActuatorHealth]):
//
//	GET  /actuator                       the discovery page: {"_links": {"self": ..., "health": ..., "health-path": ...}}, a link to every endpoint served
//	GET  /actuator/health                the readiness group's status with every component and the groups; 200 UP, 503 DOWN or OUT_OF_SERVICE
//	GET  /actuator/health/liveness       {"status":"UP"}, 200 while the process serves
//	GET  /actuator/health/readiness      what /health/readiness checks: OUT_OF_SERVICE (503) until the app runs and once it stops, DOWN (503) while a binder or binding is down
//	GET  /actuator/health/{path...}      one component: ping, livenessState, readinessState, binders, bindings; binders/<name>: one binder; readiness/<component>: one within a group (404 when absent)
//	GET  /actuator/prometheus            the same as /metrics
//	GET  /actuator/info                  {} (no info contributors)
//
// # Actuator paths
//
// The actuator endpoints — those under /actuator: bindings, functions,
// topology, config, health, prometheus and info (their ids) — move with
// Spring Boot's settings, read as Spring Boot reads them:
//
//   - management.endpoints.web.base-path (MANAGEMENT_ENDPOINTS_WEB_BASE_PATH)
//     moves them all: /manage serves /manage/health, /manage/bindings/{name}
//     and the discovery page at /manage. It must start with '/'; a trailing
//     '/' is dropped; / puts them at the root (/health, /prometheus,
//     /bindings) and the discovery page at /.
//   - management.endpoints.web.path-mapping.<id>
//     (MANAGEMENT_ENDPOINTS_WEB_PATHMAPPING_<ID>) moves one:
//     health: healthcheck serves /actuator/healthcheck,
//     /actuator/healthcheck/liveness, ... (a leading '/' is optional).
//     A mapping of an endpoint streambind does not serve (env, loggers)
//     is ignored with a warning.
//   - management.endpoints.web.exposure.include and exclude (a list, or
//     ids separated by commas; "*" for all) choose the actuator endpoints
//     served; exclude wins. Unset, every endpoint is served: streambind's
//     default differs from Spring Boot's (health only), since the server
//     is off unless an address is set and listens only there; a ported
//     configuration that names its endpoints gets those.
//   - management.endpoints.web.discovery.enabled: false turns the
//     discovery page off.
//
// A path segment is letters, digits, '-', '.', '_' and '~'. Two endpoints
// at one path (info: health, prometheus: health/readiness, or an endpoint
// at the base path while the discovery page is there) are a configuration
// error, as Spring Boot refuses them. streambind's own paths, /health/liveness,
// /health/readiness and /metrics, are not actuator endpoints: they stay
// where they are, whatever these settings, except where an actuator
// endpoint takes their path — with base-path: /, /health/liveness and
// /health/readiness are Spring Boot's health groups, in Spring Boot's form
// (the same status codes). The discovery page's links are built from the
// request's Host, as Spring Boot's: http://<host>/actuator/health.
//
// The body of POST /actuator/bindings/{name} is at most 4 KiB (413 past
// that) and must be exactly one JSON object with exactly one field, "state"
// (a string); anything else — another field, the field twice, a second
// object or any other data after the first — is a 400 that says what is
// wrong, and the binding is left as it is. A change that fails (a stop or
// pause whose in-flight messages did not finish within its time: the
// binding is STOPPED or PAUSED all the same; a message is acknowledged if
// its handler finishes while it can be, else redelivered) is a
// 500 {"error": "...", "state": "<the binding's state now>"} (running,
// stopped or paused, as in [BindingView]), logged at
// WARN as "binding state change failed" with the state requested and the
// state now.
// A state change is served only while the app runs: before (the server
// starts before app.Run; the app is binding) and once it shuts down, a
// valid POST is a 503 {"error": "...", "state": "<the binding's state>"}
// that says which, and the binding is left as it is (while starting, with
// Retry-After: 1; GET /health/readiness says "app": "running" once it
// can be sent).
//
// # Configuration endpoint
//
// GET /actuator/config lists every key of the effective configuration (every
// root: stream, management, logging and the application's own sections) with
// its origin ("application.yaml:12", "env STREAM_BINDERS_K_ENVIRONMENT_URI"):
//
//	{"showValues": "never", "properties": {
//	  "myapp.db.url":            {"origin": "application.yaml:3"},
//	  "stream.bindings.x.group": {"origin": "application.yaml:9"}}}
//
// management.endpoint.config.show-values chooses, as Spring Boot 3's
// management.endpoint.env.show-values and
// management.endpoint.configprops.show-values do (both accepted as
// aliases), whether values are shown:
//
//   - never (the default): keys and origins only; no value is shown.
//   - always: every value, redacted by package redact: values of keys that
//     name secrets (password, pwd, token, secret, credentials, auth-header,
//     api-key, sasl.jaas.config, dsn, ...) are replaced by "******", and
//     the secrets inside every other value (URL passwords, user:pw@host,
//     ?password=, host=h password=pw, Bearer tokens, PEM private keys) are
//     hidden. See package redact for the rule. A number JSON cannot hold
//     (YAML's .inf, -.inf, .nan) is shown as YAML spells it, a string.
//
// Spring's when-authorized is rejected: the endpoint has no authentication
// (protect it by the address it listens on). Values are matched without
// regard to case (NEVER, Always).
//
// The counters of a binding in /actuator/bindings are keyed by their
// Prometheus names and are, from one definition, exactly the values
// /metrics serves for that binding; its handler-duration histogram lists
// each bucket with its upper bound. Binding names are served as configured
// (case kept) and found whatever their case.
// In /metrics, a label value that is not valid UTF-8 (a dynamic
// destination named by a message header) has each invalid byte written
// \xNN, and a metric that cannot be gathered is logged at WARN and left
// out: the scrape serves the others.
//
// Errors are JSON: {"error": "..."}, with secrets redacted.
package management

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/streambind/streambind/binder/props"
	"github.com/streambind/streambind/internal/actuatorpath"
	"github.com/streambind/streambind/internal/didyoumean"
	"github.com/streambind/streambind/internal/sectionerr"
	"github.com/streambind/streambind/redact"
	"github.com/streambind/streambind/stream"
)

// ShowValues says whether GET /actuator/config shows values.
type ShowValues string

// The values of management.endpoint.config.show-values.
const (
	// ShowNever shows keys and origins only (the default).
	ShowNever ShowValues = "never"
	// ShowAlways shows values, redacted.
	ShowAlways ShowValues = "always"
)

// Defaults of the management server's limits.
const (
	DefaultReadHeaderTimeout = 5 * time.Second
	DefaultReadTimeout       = 10 * time.Second
	DefaultWriteTimeout      = 45 * time.Second
	DefaultIdleTimeout       = 30 * time.Second
	DefaultMaxConnections    = 64
	// MaxBodyBytes bounds the body of a POST.
	MaxBodyBytes = 4096
)

// Config is the "management" section of the configuration.
type Config struct {
	// Address is management.server.address, host:port (package config
	// sets it from management.server.port, or from server.port and
	// server.address when neither management key is set). Empty (the
	// default) means no server: nothing listens. Use a loopback address
	// unless the port is protected otherwise.
	Address string
	// ReadHeaderTimeout, ReadTimeout, WriteTimeout and IdleTimeout are
	// management.server.read-header-timeout, read-timeout, write-timeout
	// and idle-timeout. Zero means the default.
	ReadHeaderTimeout time.Duration
	ReadTimeout       time.Duration
	WriteTimeout      time.Duration
	IdleTimeout       time.Duration
	// MaxConnections is management.server.max-connections, the
	// connections served at once. Zero means the default.
	MaxConnections int
	// ConfigEndpoint enables GET /actuator/config
	// (management.endpoint.config.enabled). Default true.
	ConfigEndpoint bool
	// ShowValues is management.endpoint.config.show-values. Empty (and,
	// from Go code, anything but ShowAlways) means ShowNever.
	ShowValues ShowValues
	// BasePath is management.endpoints.web.base-path, where the actuator
	// endpoints (/actuator/...) are served: "/manage" serves
	// /manage/health. Empty means the default, /actuator; "/" is the
	// root (/health, /prometheus; see the package doc for the paths of
	// streambind's own that this takes). A trailing '/' is dropped.
	BasePath string
	// PathMapping is management.endpoints.web.path-mapping: endpoint id
	// (health, prometheus, info, bindings, functions, topology, config)
	// to its path under BasePath ("healthcheck" serves
	// /actuator/healthcheck); an endpoint not listed is at its id.
	PathMapping map[string]string
	// Include and Exclude are management.endpoints.web.exposure.include
	// and exclude: the actuator endpoints served, by id, "*" for all.
	// Include empty (the default) serves every endpoint; Exclude wins
	// over Include.
	Include, Exclude []string
	// DiscoveryDisabled turns off GET <BasePath>, the links page
	// (management.endpoints.web.discovery.enabled: false).
	DiscoveryDisabled bool
	// MainServer is true when Address is Spring Boot's main server port
	// (server.port; package config sets it, as management.server.main-server,
	// only when neither management.server.port nor management.server.address
	// is set). That port is usually reachable by the app's clients, on every
	// interface, so streambind's own paths follow the exposure there as the
	// actuator endpoints do: /metrics only with prometheus exposed,
	// /health/liveness and /health/readiness only with health exposed. A
	// management server configured as such serves them always. Set by
	// package config (bootMainServer), not a key to set by hand; set, it
	// only narrows what is served.
	MainServer bool
}

// withDefaults returns c with zero limits replaced by their defaults.
func (c Config) withDefaults() Config {
	set := func(d *time.Duration, def time.Duration) {
		if *d <= 0 {
			*d = def
		}
	}
	set(&c.ReadHeaderTimeout, DefaultReadHeaderTimeout)
	set(&c.ReadTimeout, DefaultReadTimeout)
	set(&c.WriteTimeout, DefaultWriteTimeout)
	set(&c.IdleTimeout, DefaultIdleTimeout)
	if c.MaxConnections <= 0 {
		c.MaxConnections = DefaultMaxConnections
	}
	if c.ShowValues != ShowAlways {
		c.ShowValues = ShowNever
	}
	if c.BasePath == "" {
		c.BasePath = actuatorpath.DefaultBasePath
	}
	return c
}

// showValuesKeys are the keys that set ShowValues: ours, and Spring Boot's.
var showValuesKeys = []string{"management.endpoint.config.show-values", "management.endpoints.config.show-values",
	"management.endpoint.configprops.show-values", "management.endpoint.env.show-values"}

// ConfigFrom decodes the management section of a loaded configuration tree
// (config.Loaded.Raw): lower-case keys, camelCase or kebab-case. Unknown keys
// are errors, as everywhere in streambind; a known key or section left empty
// (YAML null: "server:" with its keys commented out) is unset; a setting
// given two values (two spellings, read-timeout and readTimeout, or a key
// and its alias, endpoint.config.enabled and endpoints.config.enabled) is
// an error naming both. Its error names keys as raw has them
// (lower-case) and not where they are set: an app that loaded its
// configuration with package config calls [FromConfig], which does.
func ConfigFrom(raw map[string]any) (Config, error) {
	c, errs := decode(raw)
	return c, sectionerr.Joined("management", errs)
}

// FromConfig is [ConfigFrom] reporting each problem as the configuration
// loader reports the stream section's: a [stream.ConfigErrors] whose
// items name the key as the files write it and where they set it
// (file:line, or "env NAME"), through problem, the loaded
// configuration's (config.Loaded.Problem; package config's own tests use
// this package, so it takes the function rather than the type):
//
//	mcfg, err := management.FromConfig(loaded.Raw, loaded.Problem)
//
// Every problem of the section is reported at once. A nil problem names
// each key as raw has it, without where it is set (as [ConfigFrom] does,
// in a [stream.ConfigErrors]).
func FromConfig(raw map[string]any, problem func(path, msg string) *stream.ConfigError) (Config, error) {
	c, errs := decode(raw)
	return c, sectionerr.Errors(errs, problem)
}

// decode decodes raw's management section over the defaults, returning
// every problem, sorted by key path.
func decode(raw map[string]any) (Config, []sectionerr.Problem) {
	c := Config{ConfigEndpoint: true}
	m, ok := raw["management"]
	if !ok || m == nil {
		return c.withDefaults(), nil
	}
	var errs []sectionerr.Problem
	bad := func(path, format string, args ...any) {
		errs = append(errs, sectionerr.Problem{Path: path, Msg: fmt.Sprintf(format, args...)})
	}
	showFrom := ""
	// setAt is where each setting was set, and to what: a setting written
	// twice (read-timeout and readTimeout, or endpoint.config.enabled and
	// its alias endpoints.config.enabled) with two values is an error, not
	// whichever the map's order visits last.
	type setting struct {
		path  string
		value string
	}
	setAt := map[string]setting{}
	// conflict reports a setting (key) given two values, and false then.
	conflict := func(key, path string, v any) bool {
		val := fmt.Sprint(v)
		if prev, ok := setAt[key]; ok && prev.value != val {
			a, b := setting{path, val}, prev
			if b.path < a.path {
				a, b = b, a
			}
			bad(a.path, "%s conflicts with %s: %s (the same setting)", redact.Value(a.value), b.path, redact.Value(b.value))
			return true
		}
		setAt[key] = setting{path, val}
		return false
	}
	mappedAt := map[string]string{} // endpoint id → its path-mapping key
	walk(m, "management", func(path string, v any) {
		if id, ok := pathMappingID(path); ok {
			if v == nil {
				return
			}
			if conflict(pathMappingKey+"."+actuatorpath.ID(id), path, v) {
				return
			}
			str, isString := v.(string)
			if !isString {
				bad(path, "want a path, got %v", redact.Value(fmt.Sprint(v)))
				return
			}
			known, ok := actuatorpath.Known(id)
			if !ok {
				return // not an endpoint of streambind's: package config warns
			}
			mapped, err := actuatorpath.Mapping(str)
			if err != nil {
				bad(path, "%v", err)
				return
			}
			if mapped != "" {
				if c.PathMapping == nil {
					c.PathMapping = map[string]string{}
				}
				c.PathMapping[known] = mapped
				mappedAt[known] = path
			}
			return
		}
		if v == nil && knownOrSection(path) {
			// An empty section or key (YAML "server:" with its keys
			// commented out): unset, as everywhere in the configuration.
			return
		}
		// show-values' spellings conflict by value (showFrom, below);
		// management.tracing.* is telemetry's (telemetry.ConfigFrom
		// reports its conflicts).
		if key := norm(path); knownOrSection(path) && !slices.Contains(showValuesKeys, key) && !strings.HasPrefix(key, "management.tracing.") {
			if key == "management.endpoints.config.enabled" {
				key = "management.endpoint.config.enabled"
			}
			if conflict(key, path, v) {
				return
			}
		}
		// A boolean as Spring Boot binds one (StringToBooleanConverter):
		// true/on/yes/1, false/off/no/0, in any case, as the config
		// loader reads its own (YAML's unquoted off is Spring's false).
		boolean := func(b *bool) {
			x, err := props.Bool(v)
			if err != nil {
				bad(path, "%v", err)
				return
			}
			*b = x
		}
		duration := func(d *time.Duration) {
			x, err := props.Duration(v, false)
			if err != nil {
				bad(path, "%v", err)
				return
			}
			*d = x
		}
		switch key := norm(path); key {
		case "management.server.address":
			s, ok := v.(string)
			if !ok {
				bad(path, "want host:port, got %v", v)
				return
			}
			c.Address = s
		case "management.server.read-header-timeout":
			duration(&c.ReadHeaderTimeout)
		case "management.server.read-timeout":
			duration(&c.ReadTimeout)
		case "management.server.write-timeout":
			duration(&c.WriteTimeout)
		case "management.server.idle-timeout":
			duration(&c.IdleTimeout)
		case "management.server.main-server":
			boolean(&c.MainServer)
		case "management.server.max-connections":
			n, err := props.Int(v, 1)
			if err != nil {
				bad(path, "%v", err)
				return
			}
			c.MaxConnections = n
		case "management.endpoint.config.enabled", "management.endpoints.config.enabled":
			boolean(&c.ConfigEndpoint)
		case "management.endpoints.web.discovery.enabled":
			on := true
			boolean(&on)
			c.DiscoveryDisabled = !on
		case "management.endpoints.web.base-path":
			str, ok := v.(string)
			if !ok {
				bad(path, "want a path that starts with '/', got %v", v)
				return
			}
			base, err := actuatorpath.BasePath(str)
			if err != nil {
				bad(path, "%v", err)
				return
			}
			if base == "" {
				base = "/" // the root; "" is the default
			}
			c.BasePath = base
		case "management.endpoints.web.exposure.include", "management.endpoints.web.exposure.exclude":
			ids, err := idList(v)
			if err != nil {
				bad(path, "%v", err)
				return
			}
			if key == "management.endpoints.web.exposure.include" {
				c.Include = ids
			} else {
				c.Exclude = ids
			}
		case showValuesKeys[0], showValuesKeys[1], showValuesKeys[2], showValuesKeys[3]:
			s, _ := v.(string)
			var sv ShowValues
			switch strings.ReplaceAll(strings.ToLower(strings.TrimSpace(s)), "_", "-") {
			case "never":
				sv = ShowNever
			case "always":
				sv = ShowAlways
			case "when-authorized", "whenauthorized":
				bad(path, "when-authorized is not supported (the management server has no authentication); want never or always")
				return
			default:
				bad(path, "want never or always, got %v", v)
				return
			}
			if showFrom != "" && sv != c.ShowValues {
				bad(path, "%s conflicts with %s: %s", sv, showFrom, c.ShowValues)
				return
			}
			c.ShowValues, showFrom = sv, path
		case "management.tracing.exporter", "management.tracing.endpoint", "management.tracing.sampling-probability",
			"management.tracing.service-name", "management.tracing.insecure":
			// Decoded by package telemetry.
		default:
			if strings.HasPrefix(norm(path), "management.tracing.") {
				// Package telemetry's section: it reports the key (once,
				// with its own did-you-mean), not both packages.
				return
			}
			bad(path, "%s", unknownKey(path))
		}
	})
	for id, err := range c.settings().Conflicts() {
		at := mappedAt[id]
		if at == "" {
			at = "management.endpoints.web.base-path"
		}
		bad(at, "%v", err)
	}
	sectionerr.Sort(errs)
	return c.withDefaults(), errs
}

// pathMappingKey is the map of endpoint paths; its keys are endpoint ids.
const pathMappingKey = "management.endpoints.web.path-mapping"

// pathMappingID returns the endpoint id of a key under pathMappingKey
// (spelt as Spring Boot's relaxed binding allows: pathMapping, path_mapping).
func pathMappingID(path string) (string, bool) {
	segs := strings.SplitN(path, ".", 5)
	if len(segs) < 5 || squash(strings.Join(segs[:4], ".")) != squash(pathMappingKey) {
		return "", false
	}
	return segs[4], true
}

// idList reads an exposure list: a YAML list or a comma-separated string
// of endpoint ids (Spring Boot's "health,prometheus"), each trimmed.
func idList(v any) ([]string, error) {
	var items []string
	switch x := v.(type) {
	case string:
		items = strings.Split(x, ",")
	case []any:
		for _, it := range x {
			s, ok := it.(string)
			if !ok {
				return nil, fmt.Errorf("want endpoint ids (health, prometheus, ... or \"*\"), got the item %v", redact.Value(fmt.Sprint(it)))
			}
			items = append(items, s)
		}
	default:
		return nil, fmt.Errorf("want endpoint ids (health, prometheus, ... or \"*\"), got %v", redact.Value(fmt.Sprint(v)))
	}
	var ids []string
	for _, it := range items {
		if it = strings.TrimSpace(it); it != "" {
			ids = append(ids, it)
		}
	}
	return ids, nil
}

// settings returns the web settings of the actuator endpoints, the paths
// cleaned (see settingsChecked).
func (c Config) settings() actuatorpath.Settings {
	st, _ := c.settingsChecked()
	return st
}

// settingsChecked is settings, with the problems of paths set from Go
// code (ConfigFrom refuses them): each is left at its default.
func (c Config) settingsChecked() (actuatorpath.Settings, []string) {
	var bad []string
	st := actuatorpath.Settings{Base: actuatorpath.DefaultBasePath, Include: c.Include, Exclude: c.Exclude, Discovery: !c.DiscoveryDisabled}
	if c.BasePath != "" {
		if base, err := actuatorpath.BasePath(c.BasePath); err != nil {
			bad = append(bad, fmt.Sprintf("base path %s: %v", c.BasePath, err))
		} else {
			st.Base = base
		}
	}
	for id, p := range c.PathMapping {
		known, ok := actuatorpath.Known(id)
		if !ok {
			continue
		}
		mapped, err := actuatorpath.Mapping(p)
		if err != nil {
			bad = append(bad, fmt.Sprintf("path mapping of %s: %v", id, err))
			continue
		}
		if mapped != "" {
			if st.Mapping == nil {
				st.Mapping = map[string]string{}
			}
			st.Mapping[known] = mapped
		}
	}
	return st, bad
}

// walk calls f for every leaf of a configuration tree.
func walk(v any, path string, f func(path string, v any)) {
	if m, ok := v.(map[string]any); ok {
		for k, sub := range m {
			walk(sub, path+"."+k, f)
		}
		return
	}
	f(path, v)
}

// norm turns camelCase-lowered keys (viper lower-cases) into the kebab form:
// "enabled" stays, "samplingprobability" is matched by removing hyphens on
// both sides.
func norm(path string) string {
	p := squash(path)
	for _, k := range knownKeys {
		if squash(k) == p {
			return k
		}
	}
	return path
}

// knownKeys are the keys ConfigFrom reads.
var knownKeys = append([]string{"management.server.address", "management.server.read-header-timeout",
	"management.server.read-timeout", "management.server.write-timeout", "management.server.idle-timeout",
	"management.server.max-connections", "management.server.main-server", "management.endpoint.config.enabled", "management.endpoints.config.enabled",
	"management.tracing.exporter", "management.tracing.endpoint", "management.tracing.sampling-probability",
	"management.tracing.service-name", "management.tracing.insecure", "management.endpoints.web.base-path",
	"management.endpoints.web.exposure.include", "management.endpoints.web.exposure.exclude",
	"management.endpoints.web.discovery.enabled"}, showValuesKeys...)

// unknownKey is the message of an unknown key path, with the known key it
// most likely misspells, by the rule package config applies to its keys
// ([didyoumean.Suggest]). Under a known section (management.server.adress)
// it names the section's keys: "unknown key; did you mean address?", or,
// with none close, "unknown key (known keys: ...)", as package telemetry
// words its own (management.tracing: both report such a key, in the same
// words); elsewhere (management.servr.address) the whole known path it is
// a typo of, if any.
func unknownKey(path string) string {
	parent, leaf := "", path
	if i := strings.LastIndexByte(path, '.'); i >= 0 {
		parent, leaf = path[:i], path[i+1:]
	}
	var siblings []string
	p := squash(parent) + "."
	for _, k := range append(slices.Clone(knownKeys), pathMappingKey) {
		// parent as raw has it, lower-case: the key's own segment.
		segs := strings.Split(k, ".")
		if n := strings.Count(parent, ".") + 1; n < len(segs) && strings.HasPrefix(squash(k), p) && !slices.Contains(siblings, segs[n]) {
			siblings = append(siblings, segs[n])
		}
	}
	if len(siblings) > 0 {
		sort.Strings(siblings)
		if sug := didyoumean.Suggest(leaf, siblings); sug != "" {
			return "unknown key; did you mean " + sug + "?"
		}
		return "unknown key (known keys: " + strings.Join(siblings, ", ") + ")"
	}
	if sug := didyoumean.Suggest(path, knownKeys); sug != "" {
		return "unknown key; did you mean " + sug + "?"
	}
	return "unknown key"
}

// squash is a key path lower-cased, without hyphens and underscores.
func squash(path string) string {
	return strings.ReplaceAll(strings.ReplaceAll(strings.ToLower(path), "-", ""), "_", "")
}

// knownOrSection reports whether path is a key ConfigFrom reads or a
// section holding one ("management.server").
func knownOrSection(path string) bool {
	p := squash(path)
	if pm := squash(pathMappingKey); p == pm || strings.HasPrefix(p, pm+".") {
		return true
	}
	for _, k := range knownKeys {
		if k := squash(k); k == p || strings.HasPrefix(k, p+".") {
			return true
		}
	}
	return false
}
