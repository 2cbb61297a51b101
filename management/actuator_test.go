package management_test

import (
	"strings"
	"testing"
)

// component returns m["components"][name] as a map (nil when absent).
func component(m map[string]any, name string) map[string]any {
	comps, _ := m["components"].(map[string]any)
	c, _ := comps[name].(map[string]any)
	return c
}

// The Spring Boot Actuator paths a ported Spring service's Kubernetes probes
// and Prometheus scrape use answer as Spring Boot does: {"status": ...}
// with 200 for UP, 503 for DOWN and OUT_OF_SERVICE; readiness is
// OUT_OF_SERVICE until the app runs and once it stops, DOWN while a binder
// or a binding is down; liveness stays UP; /actuator/prometheus is the
// scrape of /metrics.
func TestSpringActuatorPaths(t *testing.T) {
	f := newFixture(t)
	get := func(path string, wantCode int, wantStatus string) (map[string]any, string) {
		t.Helper()
		code, m, raw := do(t, "GET", f.base+path, "")
		if code != wantCode || (wantStatus != "" && m["status"] != wantStatus) {
			t.Fatalf("GET %s: %d %s, want %d %s", path, code, raw, wantCode, wantStatus)
		}
		return m, string(raw)
	}

	// Before the app runs: not ready (Spring's REFUSING_TRAFFIC), but live.
	m, _ := get("/actuator/health/readiness", 503, "OUT_OF_SERVICE")
	if c := component(m, "readinessState"); c["status"] != "OUT_OF_SERVICE" {
		t.Fatalf("readinessState before start: %v", m)
	}
	get("/actuator/health", 503, "OUT_OF_SERVICE")
	get("/actuator/health/liveness", 200, "UP")

	f.run(t)
	m, raw := get("/actuator/health/readiness", 200, "UP")
	binders := component(m, "binders")
	memory, _ := binders["components"].(map[string]any)["memory"].(map[string]any)
	if binders["status"] != "UP" || memory["status"] != "UP" {
		t.Fatalf("readiness binders: %s", raw)
	}
	m, raw = get("/actuator/health", 200, "UP")
	groups, _ := m["groups"].([]any)
	if len(groups) != 2 || groups[0] != "liveness" || groups[1] != "readiness" ||
		component(m, "livenessState")["status"] != "UP" || component(m, "readinessState")["status"] != "UP" {
		t.Fatalf("health: %s", raw)
	}
	get("/actuator/health/binders", 200, "UP")
	get("/actuator/health/ping", 200, "UP")
	get("/actuator/health/nope", 404, "")

	// A binder down: readiness and health DOWN (503), the error shown
	// redacted; liveness UP, so that a broker outage restarts nothing.
	f.binder.down.Store(true)
	_, raw = get("/actuator/health/readiness", 503, "DOWN")
	if !strings.Contains(raw, "lost") || strings.Contains(raw, "hunter2") {
		t.Fatalf("binder down: %s", raw)
	}
	_, raw = get("/actuator/health", 503, "DOWN")
	if strings.Contains(raw, "hunter2") {
		t.Fatalf("health shows the password: %s", raw)
	}
	get("/actuator/health/binders", 503, "DOWN")
	get("/actuator/health/liveness", 200, "UP")
	f.binder.down.Store(false)
	get("/actuator/health/readiness", 200, "UP")

	// A binding whose destination is unusable: DOWN with the reason.
	f.binder.destDown.Store(true)
	m, raw = get("/actuator/health/readiness", 503, "DOWN")
	if d, _ := component(m, "bindings")["details"].(map[string]any); d["src"] == nil || !strings.Contains(raw, "ACCESS_REFUSED") {
		t.Fatalf("binding down: %s", raw)
	}
	f.binder.destDown.Store(false)

	// The scrape: Prometheus text, as /metrics.
	code, _, body := do(t, "GET", f.base+"/actuator/prometheus", "")
	if code != 200 || !strings.Contains(string(body), `streambind_binding_up{binder="memory",binding="src"`) {
		t.Fatalf("prometheus: %d\n%s", code, body)
	}
	if code, m, raw := do(t, "GET", f.base+"/actuator/info", ""); code != 200 || len(m) != 0 || strings.TrimSpace(string(raw)) != "{}" {
		t.Fatalf("info: %d %s", code, raw)
	}

	// Shutting down: OUT_OF_SERVICE again, as Spring Boot's graceful
	// shutdown; still live.
	if err := f.stop(); err != nil {
		t.Fatal(err)
	}
	get("/actuator/health/readiness", 503, "OUT_OF_SERVICE")
	get("/actuator/health/liveness", 200, "UP")
	// The existing paths are unchanged.
	if code, m, _ := do(t, "GET", f.base+"/health/readiness", ""); code != 503 || m["status"] != "DOWN" || m["app"] != "stopping" {
		t.Fatalf("/health/readiness after stop: %d %v", code, m)
	}
}
