package config

import (
	"log/slog"
	"strings"
	"testing"
)

// Spring Boot's management.endpoints.web.base-path is not read (the
// actuator paths are fixed under /actuator): its warning says where the
// probes and the scrape are, in a file and as a variable.
func TestBasePathWarningNamesActuatorPaths(t *testing.T) {
	quiet := slog.New(slog.DiscardHandler)
	for _, opts := range []Options{
		{Data: []byte("management:\n  endpoints:\n    web:\n      base-path: /manage\n"), Logger: quiet},
		{Data: []byte("x: 1\n"), Logger: quiet, Env: []string{"MANAGEMENT_ENDPOINTS_WEB_BASE_PATH=/manage"}},
	} {
		l := mustLoad(t, opts)
		var msgs []string
		for _, w := range l.Warnings {
			msgs = append(msgs, w.Path+": "+w.Msg)
		}
		all := strings.Join(msgs, "\n")
		if len(msgs) != 1 || !strings.Contains(all, "/actuator/health/readiness") || !strings.Contains(all, "/actuator/prometheus") {
			t.Errorf("warnings for base-path (env %v):\n%s", opts.Env, all)
		}
	}
}
