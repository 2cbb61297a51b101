package config

import (
	"reflect"
	"testing"
)

// logging: {level.root: DEBUG} and management: {server.port: 9001} are
// Spring Boot's logging.level.root and management.server.port, as the
// same keys nested or in a .properties file: packages telemetry and
// management, which read them nested, refused them as unknown keys
// (lint: logging.level.root: unknown key).
func TestFrameworkDottedYAMLKeys(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"application.yaml": "logging:\n  level.root: DEBUG\n  level.org.example: WARN\n" +
			"management:\n  server.port: 9001\n  tracing.exporter: none\n",
	})
	l := mustLoad(t, Options{Dir: dir})
	logging, _ := l.Raw["logging"].(map[string]any)
	if want := map[string]any{"level": "debug"}; !reflect.DeepEqual(logging, want) {
		t.Errorf("logging = %v, want %v", logging, want)
	}
	mg, _ := l.Raw["management"].(map[string]any)
	server, _ := mg["server"].(map[string]any)
	tracing, _ := mg["tracing"].(map[string]any)
	if server["address"] != ":9001" || tracing["exporter"] != "none" || len(mg) != 2 {
		t.Errorf("management = %v, want server.address :9001 and tracing.exporter none", mg)
	}
	if o := l.Stream.Origins["logging.level"]; o != "application.yaml:2 (logging.level.root)" {
		t.Errorf("origin of logging.level = %q", o)
	}
}
