package config

import (
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"

	"github.com/streambind/streambind/internal/actuatorpath"
	"github.com/streambind/streambind/stream"
)

// This file reads the Spring Boot keys of the framework roots (logging,
// management) that a Spring application's files commonly hold, so that
// such a file runs unchanged: what streambind has an equivalent for is
// mapped to its key (logging.level.root → logging.level,
// management.server.port → the port of management.server.address, and
// with neither, server.port and server.address (bootMainServer),
// management.tracing.sampling.probability → sampling-probability), the
// actuator's web paths and exposure are checked (bootactuator.go); the
// Boot settings with no equivalent (per-logger levels, health details,
// health groups, metrics exporters, ...) are warnings, and removed from
// the tree so that packages telemetry and management, which refuse
// unknown keys, do not see them. A misspelt key of streambind's own stays
// an error there.

// bootLevels maps Spring Boot's log levels (case-insensitive) to
// logging.level's; ok false for a level Boot does not have.
func bootLevel(v any) (level string, note string, ok bool) {
	var s string
	switch x := v.(type) {
	case string:
		s = strings.ToLower(strings.TrimSpace(x))
	case bool:
		if x {
			return "", "", false
		}
		s = "off" // YAML 1.1 reads off as false; Spring Boot takes false for OFF
	default:
		return "", "", false
	}
	switch s {
	case "debug", "info", "warn", "error":
		return s, "", true
	case "trace":
		return "debug", "", true // log/slog has no TRACE: the lowest level streambind logs at
	case "fatal":
		return "error", "", true
	case "off":
		return "error", "streambind cannot turn its logs off: OFF is read as error (only errors are logged)", true
	}
	return "", "", false
}

// bootLoggingIgnored are Spring Boot's logging.* groups that streambind
// does not read: it logs to stderr through log/slog, in logging.format.
var bootLoggingIgnored = map[string]bool{
	"pattern": true, "file": true, "config": true, "logback": true, "log4j2": true, "charset": true,
	"group": true, "registershutdownhook": true, "exceptionconversionword": true, "threshold": true,
	"structured": true, "includeapplicationname": true, "includeapplicationgroup": true,
}

// bootLoggingIgnoredMsg is the warning for a key of bootLoggingIgnored,
// in a file or as a variable.
const bootLoggingIgnoredMsg = "Spring Boot logging setting ignored: streambind logs to stderr through log/slog; its keys are logging.level and logging.format (text or json)"

// bootLoggingIgnoredVar returns the key that a variable's name (toks,
// split at '_') under LOGGING_ spells in one of bootLoggingIgnored's
// groups, as Spring Boot would read it (LOGGING_FILE_NAME is
// logging.file.name, LOGGING_REGISTER_SHUTDOWN_HOOK
// logging.register-shutdown-hook), or "": so that such a variable is
// ignored with a warning, as the key in a file is, not in silence.
func bootLoggingIgnoredVar(toks []string) string {
	if len(toks) < 2 || toks[0] != "LOGGING" || hasEmpty(toks) {
		return ""
	}
	for n := 1; n < len(toks); n++ {
		if !bootLoggingIgnored[strings.ToLower(strings.Join(toks[1:1+n], ""))] {
			continue
		}
		p := "logging." + strings.ToLower(strings.Join(toks[1:1+n], "-"))
		if rest := toks[1+n:]; len(rest) > 0 {
			p += "." + strings.ToLower(strings.Join(rest, "."))
		}
		return p
	}
	return ""
}

// bootManagementIgnored are Spring Boot's management.* groups with no
// equivalent in streambind's management server, which serves a fixed set
// of endpoints (docs/operations.md) whenever management.server.address is
// set.
var bootManagementIgnored = map[string]string{
	"health":          "Spring Boot's health indicators and groups: streambind's /actuator/health (groups liveness and readiness) and /health/liveness, /health/readiness follow the app's, binders' and bindings' state",
	"metrics":         "Micrometer's settings: streambind serves its metrics at /metrics and /actuator/prometheus (Prometheus text format)",
	"prometheus":      "Micrometer's Prometheus settings: streambind serves its metrics at /metrics and /actuator/prometheus",
	"info":            "Spring Boot's /actuator/info contributors: streambind's /actuator/info is {}",
	"observations":    "Micrometer Observation settings: streambind traces with OpenTelemetry (management.tracing.*)",
	"otlp":            "Micrometer's OTLP settings: streambind exports traces to management.tracing.endpoint",
	"opentelemetry":   "Spring Boot's OpenTelemetry resource settings: streambind names the service by management.tracing.service-name",
	"zipkin":          "Zipkin export: streambind exports traces over OTLP (management.tracing.*)",
	"wavefront":       "Wavefront export: streambind exports traces over OTLP (management.tracing.*)",
	"defaults":        "Micrometer's default exporters: streambind serves its metrics at /metrics",
	"httpexchanges":   "Spring Boot's /actuator/httpexchanges: streambind has no such endpoint",
	"auditevents":     "Spring Boot's audit events: streambind has no such endpoint",
	"cloudfoundry":    "Cloud Foundry actuator support: streambind has none",
	"appoptics":       "a Micrometer registry: streambind serves its metrics at /metrics",
	"atlas":           "a Micrometer registry: streambind serves its metrics at /metrics",
	"datadog":         "a Micrometer registry: streambind serves its metrics at /metrics",
	"dynatrace":       "a Micrometer registry: streambind serves its metrics at /metrics",
	"elastic":         "a Micrometer registry: streambind serves its metrics at /metrics",
	"ganglia":         "a Micrometer registry: streambind serves its metrics at /metrics",
	"graphite":        "a Micrometer registry: streambind serves its metrics at /metrics",
	"humio":           "a Micrometer registry: streambind serves its metrics at /metrics",
	"influx":          "a Micrometer registry: streambind serves its metrics at /metrics",
	"jmx":             "a Micrometer registry: streambind serves its metrics at /metrics",
	"kairos":          "a Micrometer registry: streambind serves its metrics at /metrics",
	"newrelic":        "a Micrometer registry: streambind serves its metrics at /metrics",
	"signalfx":        "a Micrometer registry: streambind serves its metrics at /metrics",
	"simple":          "a Micrometer registry: streambind serves its metrics at /metrics",
	"stackdriver":     "a Micrometer registry: streambind serves its metrics at /metrics",
	"statsd":          "a Micrometer registry: streambind serves its metrics at /metrics",
	"logging":         "Spring Boot's log export: streambind logs to stderr",
	"endpoints":       "Spring Boot's actuator endpoint settings: streambind reads management.endpoints.web's base-path, path-mapping, exposure.include, exposure.exclude and discovery.enabled; its endpoints are on whenever the management server is (docs/operations.md)",
	"endpoints.web":   "Spring Boot's web endpoint setting: streambind reads management.endpoints.web's base-path, path-mapping, exposure.include, exposure.exclude and discovery.enabled (docs/operations.md)",
	"endpoint":        "Spring Boot's actuator endpoint settings: streambind's endpoints have no such setting",
	"server.basepath": "streambind serves no context path: its actuator endpoints are under management.endpoints.web.base-path (default /actuator), its own at /health/liveness, /health/readiness and /metrics",
	"server.ssl":      "streambind's management server speaks plain HTTP: put TLS in front of it",
	"server.servlet":  "streambind serves no context path: its actuator endpoints are under management.endpoints.web.base-path (default /actuator), its own at /health/liveness, /health/readiness and /metrics",
	"tracing":         "Micrometer Tracing's setting: streambind's tracing keys are management.tracing.exporter, endpoint, insecure, sampling-probability and service-name",
}

// bootManagementIgnoredReason returns why the management key at the
// squashed path segs (without the root) is ignored, or "" when it is not
// a Spring Boot key streambind ignores (one of its own, or unknown).
func bootManagementIgnoredReason(segs []string) string {
	if len(segs) == 0 {
		return ""
	}
	switch segs[0] {
	case "endpoint", "endpoints":
		// streambind's own: endpoint(s).config.*, and the show-values
		// of Spring Boot's configprops and env endpoints ("" for the
		// levels above them: their keys are looked at one by one).
		switch {
		case len(segs) == 1 || segs[1] == "config":
			return ""
		case segs[1] == "configprops" || segs[1] == "env":
			if len(segs) == 2 || len(segs) == 3 && segs[2] == "showvalues" {
				return ""
			}
		case segs[0] == "endpoints" && segs[1] == "web":
			// streambind's own since they are read (bootActuatorWeb);
			// a misspelt key under them is package management's error.
			if len(segs) == 2 || slices.Contains([]string{"basepath", "pathmapping", "exposure", "discovery"}, segs[2]) {
				return ""
			}
			return bootManagementIgnored["endpoints.web"]
		}
		return bootManagementIgnored[segs[0]]
	case "server":
		if len(segs) >= 2 {
			return bootManagementIgnored["server."+segs[1]]
		}
		return ""
	case "tracing":
		if len(segs) >= 2 {
			switch segs[1] {
			case "enabled", "propagation", "baggage", "brave", "opentelemetry":
				return bootManagementIgnored["tracing"]
			}
		}
		return ""
	}
	return bootManagementIgnored[segs[0]]
}

// bootFramework adapts Spring Boot's logging.* and management.* keys of
// raw in place (see the top of this file); origins gets the mapped keys'
// origins. skip holds the key paths whose placeholders failed (reported
// already).
func bootFramework(raw map[string]any, origins map[string]string, skip map[string]bool) (warnings, errs []*stream.ConfigError) {
	warn := func(path, msg string) {
		warnings = append(warnings, &stream.ConfigError{Path: path, Origin: originOf(origins, path), Msg: msg})
	}
	fail := func(path, msg string) {
		errs = append(errs, &stream.ConfigError{Path: path, Origin: originOf(origins, path), Msg: msg})
	}
	if lk, ok := mapKey(raw, "logging"); ok {
		if logging, ok := raw[lk].(map[string]any); ok {
			nestDotted(logging, false) // logging.level's keys are loggers
			w, e := bootLogging(logging, origins, skip)
			warnings, errs = append(warnings, w...), append(errs, e...)
		}
	}
	defer func() { errs = append(errs, frameworkShapes(raw, origins)...) }()
	w, e := bootMainServer(raw, origins, skip)
	warnings, errs = append(warnings, w...), append(errs, e...)
	mk, ok := mapKey(raw, "management")
	if !ok {
		return warnings, errs
	}
	mg, ok := raw[mk].(map[string]any)
	if !ok {
		return warnings, errs
	}
	nestDotted(mg, true)
	// management.server.port: the port of management.server.address;
	// -1 turns the server off, as it turns Spring Boot's actuator off.
	if server, ok := mapAt(mg, "server"); ok {
		if pk, ok := mapKey(server, "port"); ok {
			pv := server[pk]
			delete(server, pk)
			path := "management.server." + pk
			port, perr := bootPort(pv)
			ak, hasAddr := mapKey(server, "address")
			addr, _ := server[ak].(string)
			addrPath := "management.server.address"
			switch {
			case skip[path]:
			case perr != nil:
				fail(path, perr.Error())
			case port < 0:
				if hasAddr {
					delete(server, ak)
				}
			case addr == "":
				server["address"] = ":" + strconv.Itoa(port)
				origins[addrPath] = originOf(origins, path) + " (" + path + ")"
			default:
				host, aport, err := net.SplitHostPort(addr)
				switch {
				case err != nil:
					// Spring Boot's management.server.address is a host.
					server[ak] = net.JoinHostPort(strings.Trim(addr, "[]"), strconv.Itoa(port))
				case aport != strconv.Itoa(port):
					fail(path, fmt.Sprintf("port %d conflicts with management.server.address %s (at %s); set one of them", port, addr, orUnknown(originOf(origins, addrPath))))
				default:
					_ = host // the same port twice: fine
				}
			}
		}
	}
	// Micrometer Tracing's management.tracing.sampling.probability is
	// streambind's sampling-probability.
	if tracing, ok := mapAt(mg, "tracing"); ok {
		if sk, ok := mapKey(tracing, "sampling"); ok {
			if sm, ok := tracing[sk].(map[string]any); ok {
				if pk, ok := mapKey(sm, "probability"); ok {
					from := "management.tracing." + sk + "." + pk
					if ok2 := func() bool { _, ok := mapKey(tracing, "sampling-probability"); return ok }(); ok2 {
						fail(from, "set both as management.tracing.sampling-probability (streambind's key) and as Micrometer's sampling.probability: keep one")
					} else {
						tracing["sampling-probability"] = sm[pk]
						origins["management.tracing.sampling-probability"] = originOf(origins, from) + " (" + from + ")"
					}
					delete(sm, pk)
					if len(sm) == 0 {
						delete(tracing, sk)
					}
				}
			}
		}
	}
	w, e = bootActuatorWeb(mg, origins, skip)
	warnings, errs = append(warnings, w...), append(errs, e...)
	// The Boot settings with no equivalent: warnings, removed.
	var drop func(m map[string]any, path string, segs []string)
	drop = func(m map[string]any, path string, segs []string) {
		for _, k := range sortedKeys(m) {
			p, s := path+"."+k, append(append([]string(nil), segs...), squash(k))
			if reason := bootManagementIgnoredReason(s); reason != "" {
				for _, leaf := range leafPaths(m[k], p) {
					warn(leaf, "ignored: "+reason)
				}
				delete(m, k)
				continue
			}
			if sub, ok := m[k].(map[string]any); ok {
				drop(sub, p, s)
				if len(sub) == 0 {
					delete(m, k)
				}
			}
		}
	}
	drop(mg, mk, nil)
	return warnings, errs
}

// frameworkListKeys are the keys of [FrameworkKeys] that may hold a list
// (Spring Boot's exposure lists: [health, prometheus] or "health,prometheus").
var frameworkListKeys = map[string]bool{
	"management.endpoints.web.exposure.include": true,
	"management.endpoints.web.exposure.exclude": true,
}

// frameworkShapes checks that streambind's own logging and management
// keys hold values, not maps or lists (but for frameworkListKeys): the
// packages that decode them would print Go's rendering of a map. Such a
// key is an error here, removed.
func frameworkShapes(raw map[string]any, origins map[string]string) (errs []*stream.ConfigError) {
	for _, k := range FrameworkKeys() {
		segs := strings.Split(k, ".")
		m := raw
		for i, seg := range segs {
			key, ok := mapKey(m, seg)
			if !ok {
				break
			}
			if i < len(segs)-1 {
				if m, ok = m[key].(map[string]any); !ok {
					break
				}
				continue
			}
			if _, isList := m[key].([]any); isList && frameworkListKeys[k] {
				break
			}
			switch v := m[key].(type) {
			case map[string]any, []any:
				path := strings.Join(append(segs[:i:i], key), ".")
				errs = append(errs, &stream.ConfigError{Path: path, Origin: originOf(origins, path),
					Msg: "want a value, got " + describeValue(v)})
				delete(m, key)
			}
		}
	}
	return errs
}

// nestDotted nests, in place, the keys of m that hold dots (level.root
// under logging:, server.port under management:), at every level if deep:
// Spring Boot flattens YAML to .properties names, so they are the keys
// logging.level.root and management.server.port, which the files that
// write them nested set and packages telemetry and management read
// nested. A dotted key whose place a value or the same key takes stays as
// written.
func nestDotted(m map[string]any, deep bool) {
	for _, k := range sortedKeys(m) {
		first, rest, dotted := strings.Cut(k, ".")
		if !dotted || first == "" || rest == "" {
			continue
		}
		sub, isMap := m[first].(map[string]any)
		if _, exists := m[first]; !exists {
			sub, isMap = map[string]any{}, true
			m[first] = sub
		}
		if _, taken := sub[rest]; !isMap || taken {
			continue
		}
		sub[rest] = m[k]
		delete(m, k)
	}
	if deep {
		for _, v := range m {
			if sub, ok := v.(map[string]any); ok {
				nestDotted(sub, true)
			}
		}
	}
}

// bootLogging adapts logging.*: Spring Boot's map of levels by logger
// (logging.level.root, logging.level.<logger>) becomes streambind's one
// level, root's; the other loggers' levels and Boot's other logging
// settings are warnings.
func bootLogging(logging map[string]any, origins map[string]string, skip map[string]bool) (warnings, errs []*stream.ConfigError) {
	for _, k := range sortedKeys(logging) {
		path := "logging." + k
		switch sq := squash(k); {
		case sq == "level":
			levels, isMap := logging[k].(map[string]any)
			if !isMap {
				// streambind's own form; Boot's levels streambind lacks
				// are mapped, others are checked by package telemetry.
				if lv, note, ok := bootLevel(logging[k]); ok && !skip[path] {
					logging[k] = lv
					if note != "" {
						warnings = append(warnings, &stream.ConfigError{Path: path, Origin: originOf(origins, path), Msg: note})
					}
				}
				continue
			}
			delete(logging, k)
			for _, lk := range sortedKeys(levels) {
				p := path + "." + lk
				if squash(lk) != "root" {
					for _, leaf := range leafPaths(levels[lk], p) {
						logger := strings.TrimPrefix(leaf, path+".")
						warnings = append(warnings, &stream.ConfigError{Path: leaf, Origin: originOf(origins, leaf),
							Msg: "Spring Boot's level of logger " + logger + " ignored: streambind has one level for all its logs (logging.level.root or logging.level)"})
					}
					continue
				}
				if skip[p] {
					continue
				}
				lv, note, ok := bootLevel(levels[lk])
				if !ok {
					errs = append(errs, &stream.ConfigError{Path: p, Origin: originOf(origins, p),
						Msg: fmt.Sprintf("want trace, debug, info, warn, error, fatal or off (Spring Boot's levels), got %s", describeValue(levels[lk]))})
					continue
				}
				logging["level"] = lv
				origins["logging.level"] = originOf(origins, p) + " (" + p + ")"
				if note != "" {
					warnings = append(warnings, &stream.ConfigError{Path: p, Origin: originOf(origins, p), Msg: note})
				}
			}
		case bootLoggingIgnored[sq]:
			for _, leaf := range leafPaths(logging[k], path) {
				warnings = append(warnings, &stream.ConfigError{Path: leaf, Origin: originOf(origins, leaf), Msg: bootLoggingIgnoredMsg})
			}
			delete(logging, k)
		}
	}
	return warnings, errs
}

// bootMainServer puts the actuator on the main server, as Spring Boot
// does unless management.server.port is set: server.port (SERVER_PORT)
// becomes management.server.address, on server.address's host (every
// interface without it), and the actuator's base path is under
// server.servlet.context-path. Without it, a Spring service's configuration
// (server.port: 8080 and an exposure list) served nothing and said
// nothing. Boot's rules, as they apply to streambind's one server:
//
//   - management.server.port set (-1 included: no management server) or
//     streambind's management.server.address set: server.* is not read.
//   - server.port -1 (Boot: no web server): no management server.
//   - management.endpoints.web.exposure.include unset: Spring Boot's
//     default, health, rather than streambind's every endpoint, which is
//     for a management server configured as such (the main port of a
//     Spring service is usually reachable by its clients).
//   - server.servlet.context-path /svc moves the actuator endpoints under
//     it (/svc/actuator/health), as management.endpoints.web.base-path is
//     relative to it in Spring Boot; streambind's own /health/liveness,
//     /health/readiness and /metrics stay at the root, served only as
//     the exposure of health and prometheus allows (management.server.main-server,
//     read as management.Config.MainServer).
//
// The keys set here carry the origin of the server.* key they come from.
// Nothing else in streambind listens on server.port: an app whose own HTTP
// server takes that port mounts the management Handler on it instead of
// starting the management server (docs/operations.md).
func bootMainServer(raw map[string]any, origins map[string]string, skip map[string]bool) (warnings, errs []*stream.ConfigError) {
	pv, portPath, ok := rootServerKey(raw, "port")
	if !ok || pv == nil || skip[portPath] {
		return nil, nil
	}
	fail := func(path, msg string) {
		errs = append(errs, &stream.ConfigError{Path: path, Origin: originOf(origins, path), Msg: msg})
	}
	mk, ok := mapKey(raw, "management")
	if !ok {
		mk = "management"
	}
	mg, isMap := raw[mk].(map[string]any)
	if !isMap {
		if raw[mk] != nil {
			return nil, nil // not a map: package management reports it
		}
		mg = map[string]any{}
	}
	nestDotted(mg, true)
	sk, ok := mapKey(mg, "server")
	if !ok {
		sk = "server"
	}
	server, isMap := mg[sk].(map[string]any)
	if !isMap && mg[sk] != nil {
		return nil, nil
	}
	if _, ok := mapKey(server, "port"); ok {
		return nil, nil // the management server's own port, read by bootFramework
	}
	if k, ok := mapKey(server, "address"); ok && server[k] != nil {
		return nil, nil // streambind's own key wins
	}
	port, err := bootPort(pv)
	if err != nil {
		fail(portPath, strings.Replace(err.Error(), "(no management server)", "(no HTTP server, no management server)", 1))
		return nil, errs
	}
	if port < 0 {
		return nil, nil
	}
	host := ""
	if av, addrPath, ok := rootServerKey(raw, "address"); ok && av != nil && !skip[addrPath] {
		a, isString := av.(string)
		if !isString || strings.TrimSpace(a) == "" {
			fail(addrPath, "want a host (an IP address or a name) for the actuator on server.port, got "+describeValue(av))
			return nil, errs
		}
		host = strings.Trim(strings.TrimSpace(a), "[]")
	}
	from := " (" + portPath + ")"
	if server == nil {
		server = map[string]any{}
		mg[sk] = server
	}
	server["address"] = net.JoinHostPort(host, strconv.Itoa(port))
	// The port is usually reachable by the app's clients: package
	// management serves its own /metrics and /health/* there only as the
	// exposure allows (management.Config.MainServer).
	server["main-server"] = true
	origins["management.server.address"] = originOf(origins, portPath) + from
	raw[mk] = mg

	web := subMap(subMap(mg, "endpoints"), "web")
	exposure := subMap(web, "exposure")
	if k, ok := mapKey(exposure, "include"); !ok || exposure[k] == nil {
		exposure["include"] = "health"
		origins["management.endpoints.web.exposure.include"] = "Spring Boot's default exposure of the actuator on server.port" + from
	}
	if cv, ctxPath, ok := rootServerKey(raw, "servlet.context-path"); ok && cv != nil && !skip[ctxPath] {
		c, isString := cv.(string)
		ctx, err := actuatorpath.BasePath(c)
		switch {
		case !isString:
			fail(ctxPath, "want a path that starts with '/', got "+describeValue(cv))
		case err != nil:
			fail(ctxPath, err.Error())
		case ctx != "":
			base := actuatorpath.DefaultBasePath
			bk, ok := mapKey(web, "base-path")
			if !ok {
				bk = "base-path"
			}
			if b, isString := web[bk].(string); isString {
				if cleaned, err := actuatorpath.BasePath(b); err == nil {
					base = cleaned
				} else {
					break // bootActuatorWeb reports it
				}
			}
			web[bk] = ctx + base
			bp := "management.endpoints.web.base-path"
			was := originOf(origins, bp)
			if was != "" {
				was += ", "
			}
			origins[bp] = was + originOf(origins, ctxPath) + " (" + ctxPath + ")"
		}
	}
	return warnings, errs
}

// rootServerKey returns Spring Boot's server.<name> (name dotted, as
// servlet.context-path) of raw, nested (server: {port: 8080}) or flat
// (server.port: 8080), spelt however relaxed binding allows, with its
// path as spelt.
func rootServerKey(raw map[string]any, name string) (v any, path string, ok bool) {
	if k, ok := mapKey(raw, "server."+name); ok {
		return raw[k], k, true
	}
	m, ok := mapAt(raw, "server")
	if !ok {
		return nil, "", false
	}
	path = "server"
	segs := strings.Split(name, ".")
	for i, seg := range segs {
		k, ok := mapKey(m, seg)
		if !ok {
			if rest := strings.Join(segs[i:], "."); rest != seg {
				if k, ok := mapKey(m, rest); ok {
					return m[k], path + "." + k, true
				}
			}
			return nil, "", false
		}
		path += "." + k
		if i == len(segs)-1 {
			return m[k], path, true
		}
		if m, ok = m[k].(map[string]any); !ok {
			return nil, "", false
		}
	}
	return nil, "", false
}

// subMap returns m's map at key (found as mapKey finds it), made when
// there is none (or it is null).
func subMap(m map[string]any, key string) map[string]any {
	k, ok := mapKey(m, key)
	if !ok {
		k = key
	}
	sub, isMap := m[k].(map[string]any)
	if !isMap {
		sub = map[string]any{}
		m[k] = sub
	}
	return sub
}

// bootPort reads management.server.port: a port, 0 (any free port) or -1
// (off).
func bootPort(v any) (int, error) {
	s, err := toString(v)
	if err == nil {
		var n int
		if n, err = strconv.Atoi(strings.TrimSpace(s)); err == nil && n >= -1 && n <= 65535 {
			return n, nil
		}
	}
	return 0, fmt.Errorf("want a port (0 to 65535; 0: any free port) or -1 (no management server), got %s", describeValue(v))
}

// describeValue shows a value in a message: a string quoted (cut when
// long), a map or list by its shape, never Go's rendering of it.
func describeValue(v any) string {
	switch x := v.(type) {
	case string:
		return quoteShort(x)
	case map[string]any:
		return "a map (keys " + strings.Join(firstKeys(x, 4), ", ") + ")"
	case []any:
		return fmt.Sprintf("a list of %d items", len(x))
	case nil:
		return "null"
	}
	return fmt.Sprint(v)
}

// firstKeys returns up to n keys of m, sorted, with "..." when there are
// more.
func firstKeys(m map[string]any, n int) []string {
	ks := sortedKeys(m)
	if len(ks) > n {
		ks = append(ks[:n:n], "...")
	}
	return ks
}

// bootEnvVar reads SERVER_PORT, SERVER_ADDRESS (bootMainServer) and a
// variable under LOGGING_ or MANAGEMENT_ (toks, split
// at '_') that names no key of the files or of streambind, as Spring Boot
// would: LOGGING_LEVEL_ROOT is the level (logging.level.root, or
// logging.level when the files set it as one value, since a map cannot
// override a value); LOGGING_LEVEL_<LOGGER> and the MANAGEMENT_ settings
// Spring Boot has and streambind lacks are ignored with a warning (msg).
// ok false: not such a variable.
func bootEnvVar(files map[string]any, toks []string) (path []pathSeg, warnPath, msg string, ok bool) {
	if len(toks) == 2 && toks[0] == "LOGGING" && toks[1] == "LEVEL" {
		// LOGGING_LEVEL over the files' map of levels by logger: the
		// root's, as a map cannot be replaced by a value.
		logging, _ := files["logging"].(map[string]any)
		if _, isMap := logging["level"].(map[string]any); isMap {
			return []pathSeg{keySeg("logging"), keySeg("level"), keySeg("root")}, "", "", true
		}
	}
	if len(toks) == 2 && toks[0] == "SERVER" && (toks[1] == "PORT" || toks[1] == "ADDRESS") {
		// Spring Boot's main server, where the actuator is unless
		// management.server.port is set (bootMainServer).
		return []pathSeg{keySeg("server"), keySeg(strings.ToLower(toks[1]))}, "", "", true
	}
	if p := bootLoggingIgnoredVar(toks); p != "" {
		return nil, p, bootLoggingIgnoredMsg, true
	}
	if len(toks) < 3 {
		return nil, "", "", false
	}
	lower := make([]string, len(toks))
	for i, t := range toks {
		if t == "" {
			return nil, "", "", false
		}
		lower[i] = strings.ToLower(t)
	}
	switch {
	case lower[0] == "spring" && lower[1] == "kafka":
		// Spring Boot binds SPRING_KAFKA_PROPERTIES_SASL_JAAS_CONFIG to the
		// map key sasl.jaas.config of spring.kafka.properties (a map's key
		// from the environment: '_' is '.'), and the same for the
		// consumer's, producer's and admin's maps.
		for _, m := range [][]string{{"properties"}, {"consumer", "properties"}, {"producer", "properties"}, {"admin", "properties"}} {
			n := 2 + len(m)
			if len(lower) > n && slices.Equal(lower[2:n], m) {
				path := []pathSeg{keySeg("spring"), keySeg("kafka")}
				for _, k := range m {
					path = append(path, keySeg(k))
				}
				return append(path, keySeg(strings.Join(lower[n:], "."))), "", "", true
			}
		}
	case lower[0] == "logging" && lower[1] == "level":
		if len(lower) == 3 && lower[2] == "root" {
			logging, _ := files["logging"].(map[string]any)
			if _, isMap := logging["level"].(map[string]any); logging["level"] != nil && !isMap {
				return []pathSeg{keySeg("logging"), keySeg("level")}, "", "", true
			}
			return []pathSeg{keySeg("logging"), keySeg("level"), keySeg("root")}, "", "", true
		}
		logger := strings.Join(lower[2:], ".")
		return nil, "logging.level." + logger, "Spring Boot's level of logger " + logger + " ignored: streambind has one level for all its logs (LOGGING_LEVEL_ROOT or LOGGING_LEVEL)", true
	case len(lower) == 3 && lower[0] == "management" && lower[1] == "server" && lower[2] == "port":
		return []pathSeg{keySeg("management"), keySeg("server"), keySeg("port")}, "", "", true
	case len(lower) >= 5 && slices.Equal(lower[:3], []string{"management", "endpoints", "web"}) &&
		(lower[3] == "pathmapping" || len(lower) >= 6 && lower[3] == "path" && lower[4] == "mapping"):
		// MANAGEMENT_ENDPOINTS_WEB_PATHMAPPING_HEALTH: the key health of
		// the map path-mapping, as Spring Boot binds it.
		id := lower[4:]
		if lower[3] == "path" {
			id = lower[5:]
		}
		// Into the files' map however they spell it (pathMapping), so
		// that there is one map to check (bootActuatorWeb).
		path := []pathSeg{keySeg("management"), keySeg("endpoints"), keySeg("web"), keySeg("path-mapping")}
		m := files
		for i, seg := range path {
			k, ok := mapKey(m, seg.key)
			if !ok {
				break
			}
			path[i] = keySeg(k)
			if m, ok = m[k].(map[string]any); !ok {
				break
			}
		}
		return append(path, keySeg(strings.Join(id, "."))), "", "", true
	case lower[0] == "management":
		segs := lower[1:]
		if segs[0] == "server" {
			rest := strings.Join(segs[1:], "")
			for _, g := range []string{"basepath", "ssl", "servlet"} {
				if strings.HasPrefix(rest, g) {
					segs = []string{"server", g}
				}
			}
		}
		if reason := bootManagementIgnoredReason(segs); reason != "" {
			return nil, strings.Join(lower, "."), "ignored: " + reason, true
		}
	}
	return nil, "", "", false
}
