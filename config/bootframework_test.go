package config

import (
	"log/slog"
	"slices"
	"strings"
	"testing"

	"github.com/streambind/streambind/management"
	"github.com/streambind/streambind/telemetry"
)

// A Spring Boot application's logging and management keys: what
// streambind has is mapped, the rest is ignored with a warning, and the
// packages that decode those sections accept the result.
func TestSpringBootLoggingAndManagement(t *testing.T) {
	const file = `spring.cloud.function.definition: up
logging:
  level:
    root: INFO
    org.springframework.cloud.stream: DEBUG
  pattern:
    console: "%d %m%n"
management:
  server:
    port: 8081
  endpoints:
    web:
      exposure:
        include: health,bindings
  endpoint:
    health:
      show-details: always
    env:
      show-values: always
  tracing:
    sampling:
      probability: 0.5
  metrics:
    tags:
      application: shop
`
	quiet := slog.New(slog.DiscardHandler)
	l := mustLoad(t, Options{Data: []byte(file), Logger: quiet})
	logging := l.Raw["logging"].(map[string]any)
	if logging["level"] != "info" {
		t.Errorf("logging.level = %#v, want info", logging["level"])
	}
	mg := l.Raw["management"].(map[string]any)
	if addr := mg["server"].(map[string]any)["address"]; addr != ":8081" {
		t.Errorf("management.server.address = %#v, want :8081", addr)
	}
	if o := l.Stream.Origins["management.server.address"]; o != "application.yaml:10 (management.server.port)" {
		t.Errorf("origin of the address = %q", o)
	}
	var warned []string
	for _, w := range l.Warnings {
		warned = append(warned, w.Path+" ("+w.Origin+")")
		if strings.Contains(w.Msg, "map[") {
			t.Errorf("a raw Go map in %q", w.Msg)
		}
	}
	want := []string{
		"logging.level.org.springframework.cloud.stream (application.yaml:5)",
		"logging.pattern.console (application.yaml:7)",
		"management.endpoint.health.show-details (application.yaml:17)",
		"management.metrics.tags.application (application.yaml:25)",
	}
	if strings.Join(warned, "\n") != strings.Join(want, "\n") {
		t.Errorf("warnings:\n%s\nwant:\n%s", strings.Join(warned, "\n"), strings.Join(want, "\n"))
	}
	tel, err := telemetry.ConfigFrom(l.Raw)
	if err != nil {
		t.Fatal(err)
	}
	if tel.Log.Level != slog.LevelInfo || tel.Tracing.SamplingProbability != 0.5 {
		t.Errorf("telemetry: %+v", tel)
	}
	mc, err := management.ConfigFrom(l.Raw)
	if err != nil {
		t.Fatal(err)
	}
	if mc.Address != ":8081" || mc.ShowValues != management.ShowAlways || !slices.Equal(mc.Include, []string{"health", "bindings"}) {
		t.Errorf("management: %+v", mc)
	}

	// The environment, as Spring Boot reads it.
	l = mustLoad(t, Options{Data: []byte(file), Logger: quiet,
		Env: []string{"LOGGING_LEVEL_ROOT=trace", "MANAGEMENT_SERVER_PORT=-1", "LOGGING_LEVEL_COM_ACME=debug",
			"MANAGEMENT_ENDPOINTS_WEB_EXPOSURE_INCLUDE=*"}})
	if lv := l.Raw["logging"].(map[string]any)["level"]; lv != "debug" {
		t.Errorf("LOGGING_LEVEL_ROOT=trace: logging.level = %#v, want debug", lv)
	}
	if on := lookupPath(l.Raw, []string{"management", "server", "address"}); on != nil {
		t.Error("MANAGEMENT_SERVER_PORT=-1 must leave the management server off")
	}
	found := map[string]bool{}
	for _, w := range l.Warnings {
		found[w.Origin] = true
	}
	if !found["env LOGGING_LEVEL_COM_ACME"] {
		t.Errorf("no warning from env LOGGING_LEVEL_COM_ACME: %v", l.Warnings)
	}
	// Spring Boot's exposure is read, not warned about.
	if found["env MANAGEMENT_ENDPOINTS_WEB_EXPOSURE_INCLUDE"] {
		t.Errorf("a warning from env MANAGEMENT_ENDPOINTS_WEB_EXPOSURE_INCLUDE: %v", l.Warnings)
	}
	if mc, err := management.ConfigFrom(l.Raw); err != nil || !slices.Equal(mc.Include, []string{"*"}) {
		t.Errorf("MANAGEMENT_ENDPOINTS_WEB_EXPOSURE_INCLUDE=*: include %v, %v", mc.Include, err)
	}
	// LOGGING_LEVEL_ROOT over streambind's one-value form.
	l = mustLoad(t, Options{Data: []byte("logging.level: info\n"), Logger: quiet, Env: []string{"LOGGING_LEVEL_ROOT=WARN"}})
	if lv := l.Raw["logging"].(map[string]any)["level"]; lv != "warn" {
		t.Errorf("LOGGING_LEVEL_ROOT=WARN over logging.level: info: %#v", lv)
	}
	// LOGGING_LEVEL over Spring Boot's map of levels: the root's.
	l = mustLoad(t, Options{Data: []byte("logging.level: { root: info, com.acme: debug }\n"), Logger: quiet, Env: []string{"LOGGING_LEVEL=error"}})
	if lv := l.Raw["logging"].(map[string]any)["level"]; lv != "error" {
		t.Errorf("LOGGING_LEVEL=error over logging.level.root: info: %#v", lv)
	}
	// Spring Boot's management.server.address is a host.
	l = mustLoad(t, Options{Data: []byte("management.server: { address: 127.0.0.1, port: 9000 }\n"), Logger: quiet})
	if addr := l.Raw["management"].(map[string]any)["server"].(map[string]any)["address"]; addr != "127.0.0.1:9000" {
		t.Errorf("address = %#v", addr)
	}
}

func TestSpringBootLoggingAndManagementErrors(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		env        []string
		want       string
	}{
		{"a level Spring Boot does not have", "logging.level.root: verbose\n", nil,
			`logging.level.root (application.yaml:1): want trace, debug, info, warn, error, fatal or off (Spring Boot's levels), got "verbose"`},
		{"a level from the environment", "", []string{"LOGGING_LEVEL_ROOT=verbose"},
			`logging.level.root (env LOGGING_LEVEL_ROOT): want trace, debug, info, warn, error, fatal or off`},
		{"a map, not a level", "logging.level.root: { a: 1 }\n", nil,
			`logging.level.root (application.yaml:1): want trace, debug, info, warn, error, fatal or off (Spring Boot's levels), got a map (keys a)`},
		{"a bad port", "management.server.port: http\n", nil,
			`management.server.port (application.yaml:1): want a port (0 to 65535; 0: any free port) or -1 (no management server), got "http"`},
		{"a map where streambind wants a value", "logging.format: { json: true }\n", nil,
			`logging.format (application.yaml:1): want a value, got a map (keys json)`},
		{"a list where streambind wants a value", "management.server.address: [a, b]\n", nil,
			`management.server.address (application.yaml:1): want a value, got a list of 2 items`},
		{"two ports", "management.server: { address: 127.0.0.1:9001, port: 9000 }\n", nil,
			`management.server.port (application.yaml:1): port 9000 conflicts with management.server.address 127.0.0.1:9001`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			es := configErrors(t, Options{Data: []byte(tc.yaml), Env: tc.env})
			if len(es) != 1 || !strings.HasPrefix(es[0].Error(), tc.want) {
				t.Fatalf("got %v\nwant one problem starting %q", es, tc.want)
			}
		})
	}
}
