package config

import (
	"log/slog"
	"strings"
	"testing"

	"github.com/streambind/streambind/management"
)

// management.endpoints.web.discovery.enabled is read as Spring Boot binds
// a boolean (StringToBooleanConverter, any case: true/on/yes/1,
// false/off/no/0): YAML's off, which Spring Boot's YAML 1.1 reads as false,
// and MANAGEMENT_ENDPOINTS_WEB_DISCOVERY_ENABLED=FALSE turn the page off.
// They failed start-up ("want true or false, got \"off\"", without the
// file and line). Another value is an error at its key with its origin.
func TestActuatorDiscoveryEnabledAsSpringBoolean(t *testing.T) {
	quiet := slog.New(slog.DiscardHandler)
	for _, tc := range []struct {
		name string
		opts Options
	}{
		{"yaml off", Options{Data: []byte("management.endpoints.web.discovery.enabled: off\n")}},
		{"yaml no", Options{Data: []byte("management.endpoints.web.discovery.enabled: no\n")}},
		{"yaml FALSE", Options{Data: []byte("management.endpoints.web.discovery.enabled: FALSE\n")}},
		{"properties 0", Options{Data: []byte("management.endpoints.web.discovery.enabled=0\n"), Name: "application.properties"}},
		{"environment FALSE", Options{Data: []byte("x: 1\n"), Env: []string{"MANAGEMENT_ENDPOINTS_WEB_DISCOVERY_ENABLED=FALSE"}}},
		{"environment Off", Options{Data: []byte("x: 1\n"), Env: []string{"MANAGEMENT_ENDPOINTS_WEB_DISCOVERY_ENABLED=Off"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.Logger = quiet
			l := mustLoad(t, tc.opts)
			c, err := management.ConfigFrom(l.Raw)
			if err != nil || !c.DiscoveryDisabled {
				t.Fatalf("ConfigFrom: discovery disabled %v, %v; want disabled", c.DiscoveryDisabled, err)
			}
		})
	}
	// Off, an endpoint may take the base path: no conflict is reported.
	l := mustLoad(t, Options{Data: []byte("management.endpoints.web: { path-mapping: { health: / }, discovery: { enabled: off } }\n"), Logger: quiet})
	if _, err := management.ConfigFrom(l.Raw); err != nil {
		t.Error(err)
	}
	es := configErrors(t, Options{Data: []byte("management:\n  endpoints:\n    web:\n      discovery:\n        enabled: maybe\n")})
	want := `management.endpoints.web.discovery.enabled (application.yaml:5): want true or false, got "maybe"`
	if len(es) != 1 || !strings.HasPrefix(es[0].Error(), want) {
		t.Errorf("got %v\nwant one problem starting %q", es, want)
	}
}
