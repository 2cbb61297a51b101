package main

import (
	"strings"
	"testing"
)

// TestLintContentTypeWithoutBuiltinConverter: a binding whose content type
// none of the built-in converters handles (a ported SCSt service's
// application/*+avro, application/x-protobuf) is a warning at the key and
// its line, naming the binding and saying that a converter must be
// registered in code: lint said nothing, and the app then failed every
// send of a typed function (it now refuses it at start-up). One warning
// for stream.default.content-type, naming the bindings that take it. lint
// sees no Go types, so it is a warning (exit status 0): a []byte function
// passes such payloads through. Types the built-ins handle (parameters,
// case, +json, application/*+json) and native decoding are no warning.
func TestLintContentTypeWithoutBuiltinConverter(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"port/application.yaml": `
spring:
  cloud:
    function:
      definition: enrich;audit
    stream:
      default:
        contentType: application/x-protobuf
      bindings:
        enrich-in-0:
          destination: orders
          group: g
          contentType: application/*+avro
        enrich-out-0:
          destination: enriched
        audit-in-0:
          destination: payments
          group: g
`,
		"ok/application.yaml": `
stream:
  function:
    definition: enrich;audit;raw
  bindings:
    enrich-in-0: { destination: orders, group: g, content-type: "application/json;charset=UTF-8" }
    enrich-out-0: { destination: enriched, content-type: "application/*+json" }
    audit-in-0: { destination: payments, group: g, content-type: "Text/Plain; charset=utf-8" }
    raw-in-0: { destination: blobs, group: g, content-type: application/x-protobuf, consumer: { use-native-decoding: true } }
    raw-out-0: { destination: blobs2, content-type: application/vnd.shop.order+json }
`,
	})
	const tail = ` (built in: application/json (also for any +json type), application/octet-stream, text/plain): a typed payload there needs a converter registered in code (stream.WithConverter): without one the app refuses an output binding that returns one at start-up, and an input binding decodes only the messages whose own contentType header names a converter (a warning at start-up); []byte and string payloads pass through as they are`
	for _, tc := range []struct {
		dir  string
		want []string
	}{
		{"port", []string{
			`port/application.yaml:8: spring.cloud.stream.default.contentType: warning: bindings audit-in-0, enrich-out-0: no built-in converter handles content type "application/x-protobuf"` + tail,
			`port/application.yaml:13: spring.cloud.stream.bindings.enrich-in-0.contentType: warning: binding enrich-in-0: no built-in converter handles content type "application/*+avro"` + tail,
		}},
		{"ok", nil},
	} {
		r := runIn(t, dir, nil, "lint", tc.dir)
		if r.code != exitOK {
			t.Errorf("%s: exit status %d, want 0 (a warning); output:\n%s", tc.dir, r.code, strings.Join(r.lines(), "\n"))
		}
		assertLines(t, r.lines(), tc.want)
	}
}
