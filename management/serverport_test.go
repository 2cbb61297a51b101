package management_test

import (
	"errors"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/streambind/streambind/config"
	"github.com/streambind/streambind/internal/syncbuf"
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
		"/health/readiness":            200, // health is exposed
		"/metrics":                     404, // prometheus is not
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
		"/health/liveness":               200, // health is exposed
		"/metrics":                       404, // prometheus is not
	})
}

// On server.port, usually reachable by the app's clients on every
// interface, streambind's own paths follow the exposure of the endpoint
// they serve: /metrics prometheus's, /health/* health's. They were served
// whatever the exposure, so that an app that merely set server.port served
// its binding names, destinations and groups (/metrics) to anyone. A
// management server configured as such (management.server.address or
// management.server.port) serves them always, as documented.
func TestOwnPathsFollowExposureOnServerPort(t *testing.T) {
	const port = "server:\n  port: 0\n  address: 127.0.0.1\n"
	for _, tc := range []struct {
		yaml string
		want map[string]int
	}{
		{port, map[string]int{"/actuator/health": 200, "/health/liveness": 200, "/health/readiness": 200, "/metrics": 404}},
		{port + "management.endpoints.web.exposure.include: bindings,prometheus\n", map[string]int{"/actuator/prometheus": 200,
			"/metrics": 200, "/health/liveness": 404, "/health/readiness": 404}},
		{port + "management.endpoints.web.exposure.include: bindings\n", map[string]int{"/actuator/bindings": 200,
			"/metrics": 404, "/health/liveness": 404, "/health/readiness": 404}},
		{port + "management.endpoints.web.exposure:\n  include: '*'\n  exclude: prometheus\n", map[string]int{"/metrics": 404,
			"/health/liveness": 200}},
		{"management.server.address: 127.0.0.1:0\nmanagement.endpoints.web.exposure.include: bindings\n", map[string]int{
			"/metrics": 200, "/health/liveness": 200, "/health/readiness": 200}},
	} {
		t.Run(tc.yaml, func(t *testing.T) {
			expect(t, serverPortFixture(t, tc.yaml).base, tc.want)
		})
	}
}

// A server.port that the app's own HTTP server took first: Start's error
// names server.port and the ways out, not a bare "address already in use"
// on a management address the user never set.
func TestServerPortInUseNamesTheFix(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	p := ln.Addr().(*net.TCPAddr).Port
	l, err := config.Load(config.Options{Data: []byte("server:\n  port: " + strconv.Itoa(p) + "\n  address: 127.0.0.1\n"), Env: []string{},
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	c, err := management.ConfigFrom(l.Raw)
	if err != nil {
		t.Fatal(err)
	}
	err = management.New(sinkApp(t), management.Options{Config: c}).Start()
	if !errors.Is(err, syscall.EADDRINUSE) {
		t.Fatalf("Start on a taken server.port: %v, want address in use", err)
	}
	for _, want := range []string{"server.port", "management.server.port", "-1", "Handler"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
}

// The actuator on server.port without server.address listens on every
// interface: with bindings exposed, the start-up WARN names the
// unauthenticated state change.
func TestServerPortBeyondLoopbackWarns(t *testing.T) {
	l, err := config.Load(config.Options{Data: []byte("server.port: 0\nmanagement.endpoints.web.exposure.include: bindings\n"), Env: []string{},
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	c, err := management.ConfigFrom(l.Raw)
	if err != nil {
		t.Fatal(err)
	}
	var logs syncbuf.Buffer
	newFixture(t, func(o *management.Options) {
		o.Config = c
		o.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	})
	if want := "stop, pause and start bindings (POST /actuator/bindings/{name})"; !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), want) {
		t.Errorf("log lacks the WARN naming %q:\n%s", want, logs.String())
	}
}
