package management_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/streambind/streambind/config"
	"github.com/streambind/streambind/management"
)

// webConfig loads yaml as an app does and returns its management
// settings, for newFixture.
func webConfig(t *testing.T, yaml string) func(*management.Options) {
	t.Helper()
	l, err := config.Load(config.Options{Data: []byte(yaml), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	c, err := management.ConfigFrom(l.Raw)
	if err != nil {
		t.Fatal(err)
	}
	return func(o *management.Options) {
		c.Address, c.ConfigEndpoint = o.Address, o.ConfigEndpoint
		o.Config = c
	}
}

// expect GETs each path of want and checks its status code.
func expect(t *testing.T, base string, want map[string]int) {
	t.Helper()
	for path, code := range want {
		if got, _, raw := do(t, "GET", base+path, ""); got != code {
			t.Errorf("GET %s: %d %s, want %d", path, got, raw, code)
		}
	}
}

// management.endpoints.web.base-path and path-mapping move the actuator
// endpoints, every one of them, as in Spring Boot; streambind's own paths
// stay where they are.
func TestBasePathAndPathMapping(t *testing.T) {
	f := newFixture(t, webConfig(t, `management:
  endpoints:
    web:
      base-path: /manage/
      path-mapping:
        health: healthcheck
        prometheus: /scrape/prometheus
`))
	f.run(t)
	expect(t, f.base, map[string]int{
		"/manage/healthcheck":                  200,
		"/manage/healthcheck/liveness":         200,
		"/manage/healthcheck/readiness":        200,
		"/manage/healthcheck/binders/memory":   200,
		"/manage/scrape/prometheus":            200,
		"/manage/info":                         200,
		"/manage/bindings":                     200,
		"/manage/bindings/src":                 200,
		"/manage/functions":                    200,
		"/manage/topology":                     200,
		"/manage/config":                       200,
		"/manage":                              200,
		"/manage/health":                       404,
		"/manage/prometheus":                   404,
		"/actuator/health":                     404,
		"/actuator/health/liveness":            404,
		"/actuator/bindings":                   404,
		"/actuator/prometheus":                 404,
		"/actuator":                            404,
		"/health/liveness":                     200,
		"/health/readiness":                    200,
		"/metrics":                             200,
		"/manage/healthcheck/binders/nonesuch": 404,
	})
	if code, _, raw := do(t, "POST", f.base+"/manage/bindings/src", `{"state":"STOPPED"}`); code != http.StatusNoContent {
		t.Fatalf("POST /manage/bindings/src: %d %s", code, raw)
	}
	if v := getBinding(t, f.base+"/manage/bindings/src"); v.State != management.BindingStopped {
		t.Fatalf("GET /manage/bindings/src after a STOPPED: %+v", v)
	}
	if code, _, _ := do(t, "POST", f.base+"/actuator/bindings/src", `{"state":"STARTED"}`); code != 404 {
		t.Errorf("POST /actuator/bindings/src: %d, want 404", code)
	}
	eps := f.srv.Endpoints()
	for _, want := range []string{"GET /manage/healthcheck/{path...}", "POST /manage/bindings/{name}", "GET /manage", "GET /metrics"} {
		if !strings.Contains(strings.Join(eps, "\n"), want) {
			t.Errorf("Endpoints() lacks %s: %v", want, eps)
		}
	}
}

// base-path: / puts the actuator endpoints at the root, in Spring Boot's
// form: /health/liveness and /health/readiness are then Spring Boot's
// groups (the same status codes as streambind's own, which they take
// over), and / is the discovery page.
func TestBasePathRoot(t *testing.T) {
	f := newFixture(t, webConfig(t, "management.endpoints.web.base-path: /\n"))
	f.run(t)
	expect(t, f.base, map[string]int{
		"/health": 200, "/health/binders": 200, "/prometheus": 200, "/info": 200, "/bindings": 200,
		"/bindings/src": 200, "/config": 200, "/metrics": 200, "/actuator/health": 404, "/nope": 404,
	})
	for _, p := range []string{"/health/liveness", "/health/readiness"} {
		code, m, raw := do(t, "GET", f.base+p, "")
		if code != 200 || m["components"] == nil || m["app"] != nil {
			t.Errorf("GET %s: %d %s, want Spring Boot's group", p, code, raw)
		}
	}
	code, m, raw := do(t, "GET", f.base+"/", "")
	links, _ := m["_links"].(map[string]any)
	self, _ := links["self"].(map[string]any)
	health, _ := links["health"].(map[string]any)
	if code != 200 || self["href"] != f.base || health["href"] != f.base+"/health" {
		t.Fatalf("GET /: %d %s", code, raw)
	}
	if eps := strings.Join(f.srv.Endpoints(), "\n") + "\n"; !strings.Contains(eps, "GET /\n") || strings.Contains(eps, "{$}") {
		t.Errorf("Endpoints() with the discovery page at the root:\n%s", eps)
	}
}

// GET /actuator is Spring Boot's discovery page: a link to itself and to
// every endpoint served, on the host the request named.
func TestDiscoveryPage(t *testing.T) {
	f := newFixture(t)
	req, err := http.NewRequest("GET", f.base+"/actuator", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = "probe.example:9000"
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var page struct {
		Links map[string]struct {
			Href      string `json:"href"`
			Templated bool   `json:"templated"`
		} `json:"_links"`
	}
	if err := json.Unmarshal(raw, &page); err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET /actuator: %d %s %v", resp.StatusCode, raw, err)
	}
	const h = "http://probe.example:9000/actuator"
	want := map[string]string{"self": h, "bindings": h + "/bindings", "bindings-name": h + "/bindings/{name}",
		"config": h + "/config", "functions": h + "/functions", "health": h + "/health", "health-path": h + "/health/{*path}",
		"info": h + "/info", "prometheus": h + "/prometheus", "topology": h + "/topology"}
	got := map[string]string{}
	for name, l := range page.Links {
		got[name] = l.Href
		if l.Templated != strings.Contains(l.Href, "{") {
			t.Errorf("%s: templated %v", name, l.Templated)
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("links:\n%v\nwant\n%v", got, want)
	}
	if i := strings.Index(string(raw), `"self"`); i < 0 || strings.Index(string(raw), `"bindings"`) < i {
		t.Errorf("self is not the first link: %s", raw)
	}
	if strings.Contains(string(raw), "hunter2") {
		t.Errorf("a secret in the discovery page: %s", raw)
	}
}

// management.endpoints.web.exposure serves the endpoints named (exclude
// wins), as in Spring Boot; the discovery page lists those only;
// streambind's own paths are not actuator endpoints and stay.
// discovery.enabled: false turns the page off.
func TestExposure(t *testing.T) {
	f := newFixture(t, webConfig(t, `management.endpoints.web:
  exposure:
    include: health,prometheus,bindings,info
    exclude: info
`))
	f.run(t)
	expect(t, f.base, map[string]int{
		"/actuator/health": 200, "/actuator/health/liveness": 200, "/actuator/health/binders/memory": 200,
		"/actuator/prometheus": 200, "/actuator/bindings": 200, "/actuator/bindings/src": 200,
		"/actuator/info": 404, "/actuator/config": 404, "/actuator/functions": 404, "/actuator/topology": 404,
		"/health/liveness": 200, "/health/readiness": 200, "/metrics": 200,
	})
	_, m, raw := do(t, "GET", f.base+"/actuator", "")
	links, _ := m["_links"].(map[string]any)
	if len(links) != 6 || links["bindings-name"] == nil || links["health-path"] == nil || links["prometheus"] == nil || links["info"] != nil {
		t.Errorf("discovery with exposure: %s", raw)
	}

	f = newFixture(t, webConfig(t, "management.endpoints.web: { exposure: { include: '*' }, discovery: { enabled: false } }\n"))
	expect(t, f.base, map[string]int{"/actuator": 404, "/actuator/info": 200, "/actuator/config": 200})
}

// Spring Boot's nested health paths: a binder of the binders component, a
// component within a group; 404 for one that is not there (the bindings
// component is not composite: its details name the bindings). Errors are
// redacted.
func TestNestedHealth(t *testing.T) {
	f := newFixture(t)
	f.run(t)
	code, m, raw := do(t, "GET", f.base+"/actuator/health/binders/memory", "")
	if details, _ := m["details"].(map[string]any); code != 200 || m["status"] != "UP" || details["type"] != "memory" {
		t.Fatalf("binders/memory: %d %s", code, raw)
	}
	expect(t, f.base, map[string]int{
		"/actuator/health/readiness/binders/memory": 200, "/actuator/health/readiness/readinessState": 200,
		"/actuator/health/liveness/livenessState": 200, "/actuator/health/binders/nonesuch": 404,
		"/actuator/health/ping/x": 404, "/actuator/health/liveness/binders": 404, "/actuator/health/bindings/src": 404,
		"/actuator/health/readiness/ping": 404,
	})
	f.binder.down.Store(true)
	code, m, raw = do(t, "GET", f.base+"/actuator/health/binders/memory", "")
	if code != 503 || m["status"] != "DOWN" || !strings.Contains(string(raw), "lost") || strings.Contains(string(raw), "hunter2") {
		t.Fatalf("binders/memory down: %d %s", code, raw)
	}
	f.binder.down.Store(false)
	f.binder.destDown.Store(true)
	if code, _, raw := do(t, "GET", f.base+"/actuator/health/bindings", ""); code != 503 || !strings.Contains(string(raw), "src") {
		t.Fatalf("bindings down: %d %s", code, raw)
	}
	expect(t, f.base, map[string]int{"/actuator/health/bindings/src": 404})
}

// ConfigFrom refuses what package config refuses (for a tree not loaded
// by it); a Config set from Go code with paths that clash or are not
// valid is served without them (logged), not a ServeMux panic.
func TestActuatorWebConfigFromGo(t *testing.T) {
	for key, v := range map[string]any{
		"management.endpoints.web.base-path":             "manage",
		"management.endpoints.web.path-mapping.health":   "a b",
		"management.endpoints.web.path-mapping.info":     "health",
		"management.endpoints.web.exposure.include":      map[string]any{"a": 1},
		"management.endpoints.web.discovery.enabled":     "maybe",
		"management.endpoints.web.exposure.includ":       "health",
		"management.endpoints.web.path-mapping.bindings": 3,
	} {
		if _, err := management.ConfigFrom(tree(key, v)); err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("%s: %v: %v", key, v, err)
		}
	}
	var logs strings.Builder
	f := newFixture(t, func(o *management.Options) {
		o.BasePath = "/{x}"
		o.PathMapping = map[string]string{"info": "health", "prometheus": "p/../q"}
		o.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	})
	expect(t, f.base, map[string]int{"/actuator/health/liveness": 200, "/actuator/prometheus": 200, "/actuator/info": 404})
	for _, want := range []string{"base path /{x}", "path mapping of prometheus", "endpoint=info"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, logs.String())
		}
	}
}

// tree builds the configuration tree {a: {b: {c: v}}} of key path "a.b.c".
func tree(path string, v any) map[string]any {
	segs := strings.Split(path, ".")
	for i := len(segs) - 1; i >= 0; i-- {
		v = map[string]any{segs[i]: v}
	}
	return v.(map[string]any)
}

// The warning of a server beyond loopback names the state changes at
// their configured path, and only while they are served.
func TestBeyondLoopbackWarningFollowsPaths(t *testing.T) {
	for _, tc := range []struct {
		yaml, want string
	}{
		{"management.endpoints.web.base-path: /manage\n", "stop, pause and start bindings (POST /manage/bindings/{name})"},
		{"management.endpoints.web.exposure.include: health\n", "can read every endpoint served"},
	} {
		var logs strings.Builder
		newFixture(t, webConfig(t, tc.yaml), func(o *management.Options) {
			o.Address = ":0"
			o.Logger = slog.New(slog.NewTextHandler(&logs, nil))
		})
		if !strings.Contains(logs.String(), tc.want) {
			t.Errorf("%s: log lacks %q:\n%s", tc.yaml, tc.want, logs.String())
		}
	}
}

// One of streambind's own paths taken by an actuator endpoint is a WARN
// (it was a DEBUG line): base-path /metrics put the discovery page where
// the Prometheus scrape goes. With base-path / the health groups taking
// /health/liveness and /health/readiness is the documented design: no WARN.
func TestOwnPathTakenWarns(t *testing.T) {
	for _, tc := range []struct {
		yaml string
		warn bool
	}{
		{"management.endpoints.web.base-path: /metrics\n", true},
		{"management.endpoints.web.base-path: /\n", false},
	} {
		var logs strings.Builder
		newFixture(t, webConfig(t, tc.yaml), func(o *management.Options) {
			o.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
		})
		if got := strings.Contains(logs.String(), "is an actuator endpoint's path"); got != tc.warn {
			t.Errorf("%s: WARN %v, want %v:\n%s", tc.yaml, got, tc.warn, logs.String())
		}
	}
}
