package config

import (
	"log/slog"
	"reflect"
	"strings"
	"testing"

	"github.com/streambind/streambind/management"
)

// Spring Boot's management.endpoints.web.base-path, path-mapping,
// exposure and discovery are read (they were ignored with a warning): from
// a file in any of Spring Boot's spellings, and from the environment as
// Spring Boot binds them, with nothing to warn about.
func TestActuatorWebSettingsAreRead(t *testing.T) {
	quiet := slog.New(slog.DiscardHandler)
	want := management.Config{BasePath: "/manage", PathMapping: map[string]string{"health": "/healthcheck"},
		Include: []string{"health", "prometheus"}, DiscoveryDisabled: true}
	for _, tc := range []struct {
		name string
		opts Options
	}{
		{"file", Options{Data: []byte(`management:
  endpoints:
    web:
      base-path: /manage/
      path-mapping:
        health: healthcheck
      exposure:
        include: health,prometheus
      discovery.enabled: false
`)}},
		{"file, camelCase and a list", Options{Data: []byte(`management.endpoints.web:
  basePath: /manage
  pathMapping: { health: /healthcheck }
  exposure: { include: [health, prometheus] }
  discovery: { enabled: "false" }
`)}},
		{"properties", Options{Data: []byte("management.endpoints.web.base-path=/manage\nmanagement.endpoints.web.path-mapping.health=healthcheck\n" +
			"management.endpoints.web.exposure.include=health,prometheus\nmanagement.endpoints.web.discovery.enabled=false\n"), Name: "application.properties"}},
		{"environment", Options{Data: []byte("x: 1\n"), Env: []string{"MANAGEMENT_ENDPOINTS_WEB_BASE_PATH=/manage",
			"MANAGEMENT_ENDPOINTS_WEB_PATHMAPPING_HEALTH=healthcheck", "MANAGEMENT_ENDPOINTS_WEB_EXPOSURE_INCLUDE=health,prometheus",
			"MANAGEMENT_ENDPOINTS_WEB_DISCOVERY_ENABLED=false"}}},
		{"environment over the file", Options{Data: []byte("management.endpoints.web: { base-path: /old, path-mapping: { health: old }, exposure: { include: [info] } }\n"),
			Env: []string{"MANAGEMENT_ENDPOINTS_WEB_BASEPATH=/manage", "MANAGEMENT_ENDPOINTS_WEB_PATHMAPPING_HEALTH=healthcheck",
				"MANAGEMENT_ENDPOINTS_WEB_EXPOSURE_INCLUDE=health,prometheus", "MANAGEMENT_ENDPOINTS_WEB_DISCOVERY_ENABLED=false"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.Logger = quiet
			l := mustLoad(t, tc.opts)
			for _, w := range l.Warnings {
				t.Errorf("warning: %s (%s): %s", w.Path, w.Origin, w.Msg)
			}
			got, err := management.ConfigFrom(l.Raw)
			if err != nil {
				t.Fatal(err)
			}
			got = management.Config{BasePath: got.BasePath, PathMapping: got.PathMapping, Include: got.Include, DiscoveryDisabled: got.DiscoveryDisabled}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got %+v\nwant %+v", got, want)
			}
		})
	}
	// The root.
	for _, base := range []string{"/", ""} {
		l := mustLoad(t, Options{Data: []byte("management.endpoints.web.base-path: '" + base + "'\n"), Logger: quiet})
		if got, err := management.ConfigFrom(l.Raw); err != nil || got.BasePath != "/" {
			t.Errorf("base-path %q: %q, %v; want /", base, got.BasePath, err)
		}
	}
}

// A bad path is a configuration error with its file and line, as Spring
// Boot refuses it at start-up; a mapping or an exposure of an endpoint
// streambind does not have is a warning.
func TestActuatorWebSettingsErrors(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		env        []string
		want       string
	}{
		{"no leading slash", "management:\n  endpoints:\n    web:\n      base-path: manage\n", nil,
			`management.endpoints.web.base-path (application.yaml:4): want a path that starts with '/' (or is empty, or /, for the root), got "manage"`},
		{"from the environment", "", []string{"MANAGEMENT_ENDPOINTS_WEB_BASE_PATH=manage"},
			`management.endpoints.web.base-path (env MANAGEMENT_ENDPOINTS_WEB_BASE_PATH): want a path that starts with '/'`},
		{"a map", "management.endpoints.web.base-path: { a: 1 }\n", nil,
			`management.endpoints.web.base-path (application.yaml:1): want a path that starts with '/' (or /, for the root), got a map (keys a)`},
		{"an empty segment", "management.endpoints.web.base-path: /a//b\n", nil,
			`management.endpoints.web.base-path (application.yaml:1): empty path segment in "/a//b"`},
		{"a pattern in a mapping", "management.endpoints.web.path-mapping.health: 'h/{x}'\n", nil,
			`management.endpoints.web.path-mapping.health (application.yaml:1): '{' in "/h/{x}": want letters, digits`},
		{"two endpoints at one path", "management.endpoints.web.path-mapping:\n  info: health\n", nil,
			`management.endpoints.web.path-mapping.info (application.yaml:2): /actuator/health would be the path of both info and health: give each its own path`},
		{"an endpoint at health's group", "management.endpoints.web.path-mapping:\n  prometheus: health/readiness\n", nil,
			`management.endpoints.web.path-mapping.prometheus (application.yaml:2): /actuator/health/readiness would be the path of both prometheus and health's group readiness`},
		{"an endpoint at the discovery page", "management.endpoints.web.path-mapping:\n  health: /\n", nil,
			`management.endpoints.web.path-mapping.health (application.yaml:2): /actuator would be the path of both health and the discovery page`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			es := configErrors(t, Options{Data: []byte(tc.yaml), Env: tc.env})
			if len(es) != 1 || !strings.HasPrefix(es[0].Error(), tc.want) {
				t.Fatalf("got %v\nwant one problem starting %q", es, tc.want)
			}
		})
	}

	// Without the discovery page, an endpoint may take the base path
	// (/actuator is health); not exposed, an endpoint's mapping clashes
	// with nothing.
	for _, yaml := range []string{
		"management.endpoints.web: { path-mapping: { health: / }, discovery: { enabled: false } }\n",
		"management.endpoints.web: { path-mapping: { info: health }, exposure: { exclude: info } }\n",
	} {
		l := mustLoad(t, Options{Data: []byte(yaml), Logger: slog.New(slog.DiscardHandler)})
		if _, err := management.ConfigFrom(l.Raw); err != nil {
			t.Errorf("%s: %v", yaml, err)
		}
	}

	l := mustLoad(t, Options{Data: []byte("management.endpoints.web:\n  path-mapping:\n    env: environment\n  exposure:\n    include: [health, env]\n  cors:\n    allowed-origins: x\n"),
		Logger: slog.New(slog.DiscardHandler)})
	var got []string
	for _, w := range l.Warnings {
		got = append(got, w.Path+" ("+w.Origin+"): "+w.Msg)
	}
	want := []string{
		`management.endpoints.web.exposure.include (application.yaml:5): streambind has no "env" endpoint (its actuator endpoints: bindings, config, functions, health, info, prometheus, topology): not served`,
		`management.endpoints.web.path-mapping.env (application.yaml:3): ignored: streambind has no "env" endpoint (its actuator endpoints: bindings, config, functions, health, info, prometheus, topology)`,
		`management.endpoints.web.cors.allowed-origins (application.yaml:7): ignored: Spring Boot's web endpoint setting: streambind reads management.endpoints.web's base-path, path-mapping, exposure.include, exposure.exclude and discovery.enabled (docs/operations.md)`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("warnings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if _, err := management.ConfigFrom(l.Raw); err != nil {
		t.Error(err)
	}
}
