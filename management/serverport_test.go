package management_test

import (
	"log/slog"
	"strings"
	"testing"

	"github.com/streambind/streambind/config"
	"github.com/streambind/streambind/management"
)

// serverPortFixture runs the fixture's app with the management settings
// yaml gives, address included (loaded as an app loads them, without the
// process's environment).
func serverPortFixture(t *testing.T, yaml string) *fixture {
	t.Helper()
	l, err := config.Load(config.Options{Data: []byte(yaml), Env: []string{}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	c, err := management.ConfigFrom(l.Raw)
	if err != nil {
		t.Fatal(err)
	}
	if c.Address == "" {
		t.Fatalf("%q: no management address: nothing would be served", yaml)
	}
	f := newFixture(t, func(o *management.Options) { o.Config = c })
	if !strings.HasPrefix(f.srv.Addr(), "127.0.0.1:") {
		t.Fatalf("listening on %s, want server.address's 127.0.0.1", f.srv.Addr())
	}
	f.run(t)
	return f
}

// A Spring service's server.port (here 0, any free port, on
// server.address) with an exposure list serves the actuator there, as
// Spring Boot does without management.server.port; it served nothing (no
// management address) and said nothing.
func TestActuatorServedOnServerPort(t *testing.T) {
	f := serverPortFixture(t, "server:\n  port: 0\n  address: 127.0.0.1\nmanagement.endpoints.web.exposure.include: bindings,health\n")
	expect(t, f.base, map[string]int{
		"/actuator/bindings":           200,
		"/actuator/bindings/sink-in-0": 200,
		"/actuator/health":             200,
		"/actuator/health/readiness":   200,
		"/actuator/config":             404, // not in the exposure list
		"/actuator/prometheus":         404,
		"/health/readiness":            200, // streambind's own paths are always there
	})
	if v := getBinding(t, f.base+"/actuator/bindings/sink-in-0"); v.BindingName != "sink-in-0" || v.State != management.BindingRunning {
		t.Errorf("GET /actuator/bindings/sink-in-0 on server.port: %+v", v)
	}
	if code, _, raw := do(t, "POST", f.base+"/actuator/bindings/sink-in-0", `{"state":"PAUSED"}`); code != 204 {
		t.Errorf("POST PAUSED on server.port: %d %s", code, raw)
	}
}

// Without an exposure list, the actuator on server.port serves Spring
// Boot's default exposure, health only, under server.servlet.context-path.
func TestActuatorOnServerPortDefaultExposure(t *testing.T) {
	f := serverPortFixture(t, "server:\n  port: 0\n  address: 127.0.0.1\n  servlet:\n    context-path: /svc\n")
	expect(t, f.base, map[string]int{
		"/svc/actuator/health":           200,
		"/svc/actuator/health/liveness":  200,
		"/svc/actuator/health/readiness": 200,
		"/svc/actuator":                  200, // the discovery page
		"/svc/actuator/bindings":         404,
		"/svc/actuator/config":           404,
		"/actuator/health":               404,
		"/health/liveness":               200,
		"/metrics":                       200,
	})
}
