package main

import (
	"strings"
	"testing"
)

// Several keys with the same last segment on one line (a flow mapping):
// each value is matched to its key by the key's full path in the file, so
// east's placeholder prints typed (1) and west's quoted "2" stays a
// string, whichever comes first; the same with the keys spelt otherwise
// (spring.cloud.stream.*, VirtualHost) and through a merge key.
func TestConfigPlaceholderFlowMappingSameLastKey(t *testing.T) {
	for name, yaml := range map[string]string{
		"placeholder first": `stream:
  function:
    definition: up
  binders: {east: {type: rabbit, environment: {virtual-host: "${VH:1}"}}, west: {type: rabbit, environment: {virtual-host: "2"}}}
`,
		"literal first": `stream:
  function:
    definition: up
  binders: {west: {type: rabbit, environment: {virtual-host: "2"}}, east: {type: rabbit, environment: {virtual-host: "${VH:1}"}}}
`,
		"relaxed spelling": `spring:
  cloud:
    stream:
      function:
        definition: up
      binders: {West: {type: rabbit, environment: {virtualHost: "2"}}, East: {type: rabbit, environment: {virtual_host: "${VH:1}"}}}
`,
		"merge key": `base: &base {type: rabbit}
stream:
  function:
    definition: up
  binders: {west: {<<: *base, environment: {virtual-host: "2"}}, east: {<<: *base, environment: {virtual-host: "${VH:1}"}}}
`,
	} {
		t.Run(name, func(t *testing.T) {
			dir := writeFiles(t, map[string]string{"application.yaml": yaml + `  bindings:
    up-in-0: {destination: a, binder: east}
    up-out-0: {destination: b, binder: west}
`})
			if name == "relaxed spelling" {
				dir = writeFiles(t, map[string]string{"application.yaml": yaml + `      bindings:
        up-in-0: {destination: a, binder: East}
        up-out-0: {destination: b, binder: West}
`})
			}
			m, r := configEntries(t, dir, []string{})
			if r.code != exitOK {
				t.Fatalf("exit %d:\n%s%s", r.code, r.stdout, r.stderr)
			}
			// The key as config prints it (spelt as written, or not).
			value := func(key string) any {
				for k, e := range m {
					if keyEnds(k, key) && len(strings.Split(k, ".")) == len(strings.Split(key, ".")) {
						return e.Value
					}
				}
				return nil
			}
			if v := value("stream.binders.east.environment.virtual-host"); v != float64(1) {
				t.Errorf("east (placeholder) = %#v, want 1", v)
			}
			if v := value("stream.binders.west.environment.virtual-host"); v != "2" {
				t.Errorf("west (quoted literal) = %#v, want \"2\"", v)
			}
		})
	}
}
