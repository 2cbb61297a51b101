// Package management is the operations side of a streambind app: an HTTP
// server with the bindings actuator (read and change binding states),
// liveness and readiness probes, Prometheus metrics and the effective
// configuration with secrets redacted. It is off unless
// management.server.address is configured.
//
//	management:
//	  server:
//	    address: 127.0.0.1:8081   # empty (the default): no server
//	  endpoint:
//	    config:
//	      enabled: true           # GET /actuator/config; default true
//
// Endpoints:
//
//	GET  /actuator/bindings          every binding: state, binder, destination, group, counters
//	GET  /actuator/bindings/{name}   one binding (404 if unknown)
//	POST /actuator/bindings/{name}   {"state":"STOPPED|STARTED|PAUSED|RESUMED"}
//	GET  /health/liveness            200 while the process serves
//	GET  /health/readiness           200 when running and every binder with bindings is connected, else 503
//	GET  /metrics                    Prometheus text format
//	GET  /actuator/config            the effective configuration, secrets redacted
//
// Errors are JSON: {"error": "..."}.
package management

import (
	"fmt"
	"sort"
	"strings"
)

// Config is the "management" section of the configuration.
type Config struct {
	// Address is management.server.address, host:port. Empty (the
	// default) means no server: nothing listens. Use a loopback address
	// unless the port is protected otherwise.
	Address string
	// ConfigEndpoint enables GET /actuator/config
	// (management.endpoint.config.enabled). Default true.
	ConfigEndpoint bool
}

// ConfigFrom decodes the management section of a loaded configuration tree
// (config.Loaded.Raw): lower-case keys, camelCase or kebab-case. Unknown keys
// are errors, as everywhere in streambind.
func ConfigFrom(raw map[string]any) (Config, error) {
	c := Config{ConfigEndpoint: true}
	m, ok := raw["management"]
	if !ok || m == nil {
		return c, nil
	}
	var errs []string
	walk(m, "management", func(path string, v any) {
		switch norm(path) {
		case "management.server.address":
			s, ok := v.(string)
			if !ok {
				errs = append(errs, fmt.Sprintf("%s: want host:port, got %v", path, v))
				return
			}
			c.Address = s
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
		case "management.tracing.exporter", "management.tracing.endpoint", "management.tracing.sampling-probability",
			"management.tracing.service-name", "management.tracing.insecure":
			// Decoded by package telemetry.
		default:
			errs = append(errs, fmt.Sprintf("%s: unknown key", path))
		}
	})
	if len(errs) > 0 {
		sort.Strings(errs)
		return c, fmt.Errorf("management configuration: %s", strings.Join(errs, "; "))
	}
	return c, nil
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
	known := []string{"management.server.address", "management.endpoint.config.enabled", "management.endpoints.config.enabled",
		"management.tracing.exporter", "management.tracing.endpoint", "management.tracing.sampling-probability",
		"management.tracing.service-name", "management.tracing.insecure"}
	p := strings.ReplaceAll(strings.ReplaceAll(strings.ToLower(path), "-", ""), "_", "")
	for _, k := range known {
		if strings.ReplaceAll(k, "-", "") == p {
			return k
		}
	}
	return path
}
