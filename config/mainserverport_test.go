package config

import (
	"log/slog"
	"reflect"
	"strings"
	"testing"

	"github.com/streambind/streambind/management"
)

// Spring Boot serves the actuator on the main server (server.port,
// server.address, under server.servlet.context-path) unless
// management.server.port is set: a Spring service's server.port: 8080
// with an exposure list served nothing (no address) and said nothing.
func TestActuatorOnServerPort(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		env        []string
		addr, base string
		include    []string
	}{
		{"server.port and an exposure list", "server:\n  port: 8080\nmanagement.endpoints.web.exposure.include: bindings,health\n", nil,
			":8080", "/actuator", []string{"bindings", "health"}},
		{"server.port alone: Spring Boot's exposure", "server.port: 8080\n", nil, ":8080", "/actuator", []string{"health"}},
		{"server.address", "server: {port: 8080, address: 127.0.0.1}\n", nil, "127.0.0.1:8080", "/actuator", []string{"health"}},
		{"server.address IPv6", "server: {port: 8080, address: '::1'}\n", nil, "[::1]:8080", "/actuator", []string{"health"}},
		{"any free port", "server.port: 0\n", nil, ":0", "/actuator", []string{"health"}},
		{"SERVER_PORT", "x: 1\n", []string{"SERVER_PORT=7001"}, ":7001", "/actuator", []string{"health"}},
		{"SERVER_PORT over the file", "server.port: 8080\n", []string{"SERVER_PORT=7001"}, ":7001", "/actuator", []string{"health"}},
		{"a Kubernetes service link is no port", "x: 1\n", []string{"SERVER_PORT=tcp://10.0.0.1:80"}, "", "/actuator", nil},
		{"management.server.port wins", "server.port: 8080\nmanagement.server.port: 8081\n", nil, ":8081", "/actuator", nil},
		{"MANAGEMENT_SERVER_PORT wins", "server.port: 8080\n", []string{"MANAGEMENT_SERVER_PORT=8081"}, ":8081", "/actuator", nil},
		{"management.server.port -1: no server", "server.port: 8080\nmanagement.server.port: -1\n", nil, "", "/actuator", nil},
		{"server.port -1: no server", "server.port: -1\n", nil, "", "/actuator", nil},
		{"management.server.address wins", "server.port: 8080\nmanagement.server.address: 127.0.0.1:9000\n", nil, "127.0.0.1:9000", "/actuator", nil},
		{"context path", "server: {port: 8080, servlet: {context-path: /svc}}\n", nil, ":8080", "/svc/actuator", []string{"health"}},
		{"context path and base path", "server.port: 8080\nserver.servlet.contextPath: /svc/\nmanagement.endpoints.web.base-path: /manage\n", nil,
			":8080", "/svc/manage", []string{"health"}},
		{"context path and the root", "server.port: 8080\nserver.servlet.context-path: /svc\nmanagement.endpoints.web.base-path: /\n", nil,
			":8080", "/svc", []string{"health"}},
		{"no context path with management.server.port", "server.port: 8080\nserver.servlet.context-path: /svc\nmanagement.server.port: 8081\n", nil,
			":8081", "/actuator", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := mustLoad(t, Options{Data: []byte(tc.yaml), Env: tc.env, Logger: slog.New(slog.DiscardHandler)})
			c, err := management.ConfigFrom(l.Raw)
			if err != nil {
				t.Fatal(err)
			}
			if c.Address != tc.addr || c.BasePath != tc.base || !reflect.DeepEqual(c.Include, tc.include) {
				t.Errorf("address %q, base path %q, include %q; want %q, %q, %q", c.Address, c.BasePath, c.Include, tc.addr, tc.base, tc.include)
			}
		})
	}
	l := mustLoad(t, Options{Data: []byte("server:\n  port: 8080\n"), Name: "application.yaml", Logger: slog.New(slog.DiscardHandler)})
	if o := l.Stream.Origins["management.server.address"]; o != "application.yaml:2 (server.port)" {
		t.Errorf("origin of management.server.address %q", o)
	}
	for _, tc := range []struct{ yaml, path, want string }{
		{"server.port: eighty\n", "server.port", `want a port (0 to 65535; 0: any free port) or -1 (no HTTP server, no management server), got "eighty"`},
		{"server: {port: 8080, address: [a]}\n", "server.address", "want a host"},
		{"server: {port: 8080, servlet: {context-path: svc}}\n", "server.servlet.context-path", "want a path that starts with '/'"},
	} {
		if es := configErrors(t, Options{Data: []byte(tc.yaml)}); len(es) != 1 || es[0].Path != tc.path || !strings.Contains(es[0].Msg, tc.want) {
			t.Errorf("%q: got %v, want one problem at %s: %s", tc.yaml, es, tc.path, tc.want)
		}
	}
}
