// Package management is the operations side of a streambind app: an HTTP
// server with the bindings actuator (read and change binding states),
// liveness and readiness probes, Prometheus metrics and the effective
// configuration. It is off unless management.server.address is configured
// and the app's main starts it ([New], then [Server.Start]; docs/operations.md
// shows the wiring).
//
//	management:
//	  server:
//	    address: 127.0.0.1:8081   # empty (the default): no server
//	    read-header-timeout: 5s   # request line and headers; default 5s
//	    read-timeout: 10s         # the whole request, body included; default 10s
//	    write-timeout: 45s        # from the end of the headers to the end of the response; default 45s
//	    idle-timeout: 30s         # a keep-alive connection between requests; default 30s
//	    max-connections: 64       # connections open at once; default 64
//	  endpoint:
//	    config:
//	      enabled: true           # GET /actuator/config; default true
//	      show-values: never      # never (default) | always
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
// Endpoints:
//
//	GET  /actuator/bindings          every binding: state, binder, destination, group, counters
//	GET  /actuator/bindings/{name}   one binding (404 if unknown)
//	POST /actuator/bindings/{name}   {"state":"STOPPED|STARTED|PAUSED|RESUMED"}
//	GET  /actuator/functions         registered functions: kind, Go input/output types, bound or not
//	GET  /actuator/topology          the app's topology (package topology's model, as streambind graph --format json)
//	GET  /health/liveness            200 while the process serves
//	GET  /health/readiness           200 when running and every binder with bindings is connected, else 503
//	GET  /metrics                    Prometheus text format
//	GET  /actuator/config            the effective configuration: keys and origins, values only if show-values is always
//
// Spring Boot Actuator's paths, for the probes and scrape configurations of
// a ported Spring service (see [ActuatorHealth]):
//
//	GET  /actuator/health                the readiness group's status with every component and the groups; 200 UP, 503 DOWN or OUT_OF_SERVICE
//	GET  /actuator/health/liveness       {"status":"UP"}, 200 while the process serves
//	GET  /actuator/health/readiness      what /health/readiness checks: OUT_OF_SERVICE (503) until the app runs and once it stops, DOWN (503) while a binder or binding is down
//	GET  /actuator/health/{component}    one component: ping, livenessState, readinessState, binders, bindings (404 when absent)
//	GET  /actuator/prometheus            the same as /metrics
//	GET  /actuator/info                  {} (no info contributors)
//
// Their paths are fixed: Spring Boot's management.endpoints.web.base-path
// is not read (ignored with a warning, as Spring Boot's other keys
// streambind has no equivalent for).
//
// The body of POST /actuator/bindings/{name} is at most 4 KiB (413 past
// that) and must be exactly one JSON object with exactly one field, "state"
// (a string); anything else — another field, the field twice, a second
// object or any other data after the first — is a 400 that says what is
// wrong, and the binding is left as it is. A change that fails (a stop or
// pause whose in-flight messages did not finish within its time: the
// binding is STOPPED or PAUSED all the same; a message is acknowledged if
// its handler finishes while it can be, else redelivered) is a
// 500 {"error": "...", "state": "<the binding's state now>"}, logged at
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
	"github.com/streambind/streambind/redact"
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
	// Address is management.server.address, host:port. Empty (the
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
// an error naming both.
func ConfigFrom(raw map[string]any) (Config, error) {
	c := Config{ConfigEndpoint: true}
	m, ok := raw["management"]
	if !ok || m == nil {
		return c.withDefaults(), nil
	}
	var errs []string
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
	walk(m, "management", func(path string, v any) {
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
			val := fmt.Sprint(v)
			if prev, ok := setAt[key]; ok && prev.value != val {
				a, b := setting{path, val}, prev
				if b.path < a.path {
					a, b = b, a
				}
				errs = append(errs, fmt.Sprintf("%s: %s conflicts with %s: %s (the same setting)", a.path, redact.Value(a.value), b.path, redact.Value(b.value)))
				return
			}
			setAt[key] = setting{path, val}
		}
		duration := func(d *time.Duration) {
			x, err := props.Duration(v, false)
			if err != nil {
				errs = append(errs, fmt.Sprintf("%s: %v", path, err))
				return
			}
			*d = x
		}
		switch key := norm(path); key {
		case "management.server.address":
			s, ok := v.(string)
			if !ok {
				errs = append(errs, fmt.Sprintf("%s: want host:port, got %v", path, v))
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
		case "management.server.max-connections":
			n, err := props.Int(v, 1)
			if err != nil {
				errs = append(errs, fmt.Sprintf("%s: %v", path, err))
				return
			}
			c.MaxConnections = n
		case "management.endpoint.config.enabled", "management.endpoints.config.enabled":
			switch b := v.(type) {
			case bool:
				c.ConfigEndpoint = b
			case string:
				c.ConfigEndpoint = b == "true"
				if b != "true" && b != "false" {
					errs = append(errs, fmt.Sprintf("%s: want true or false, got %q", path, b))
				}
			default:
				errs = append(errs, fmt.Sprintf("%s: want true or false, got %v", path, v))
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
				errs = append(errs, fmt.Sprintf("%s: when-authorized is not supported (the management server has no authentication); want never or always", path))
				return
			default:
				errs = append(errs, fmt.Sprintf("%s: want never or always, got %v", path, v))
				return
			}
			if showFrom != "" && sv != c.ShowValues {
				errs = append(errs, fmt.Sprintf("%s: %s conflicts with %s: %s", path, sv, showFrom, c.ShowValues))
				return
			}
			c.ShowValues, showFrom = sv, path
		case "management.tracing.exporter", "management.tracing.endpoint", "management.tracing.sampling-probability",
			"management.tracing.service-name", "management.tracing.insecure":
			// Decoded by package telemetry.
		default:
			errs = append(errs, fmt.Sprintf("%s: unknown key", path))
		}
	})
	if len(errs) > 0 {
		sort.Strings(errs)
		return c.withDefaults(), fmt.Errorf("management configuration: %s", strings.Join(errs, "; "))
	}
	return c.withDefaults(), nil
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
	"management.server.max-connections", "management.endpoint.config.enabled", "management.endpoints.config.enabled",
	"management.tracing.exporter", "management.tracing.endpoint", "management.tracing.sampling-probability",
	"management.tracing.service-name", "management.tracing.insecure"}, showValuesKeys...)

// squash is a key path lower-cased, without hyphens and underscores.
func squash(path string) string {
	return strings.ReplaceAll(strings.ReplaceAll(strings.ToLower(path), "-", ""), "_", "")
}

// knownOrSection reports whether path is a key ConfigFrom reads or a
// section holding one ("management.server").
func knownOrSection(path string) bool {
	p := squash(path)
	for _, k := range knownKeys {
		if k := squash(k); k == p || strings.HasPrefix(k, p+".") {
			return true
		}
	}
	return false
}
