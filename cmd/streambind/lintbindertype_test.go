package main

import (
	"strings"
	"testing"
)

// A binding or stream.default-binder naming a binder type (rabbit) while
// binders of that type are declared (warehouse, archive) got a third,
// undeclared binder with the type's defaults, and lint said nothing: it
// is an error at the key's line, naming the declared binders. The type
// name stays fine where no binder of the type is declared. With several
// binders declared and no default, the problem names the binding that
// names none with its line, and has no line of its own: the key is not
// set (it was at line 1, then at the binding's first key's line).
func TestLintBinderTypeNameWithDeclaredBinders(t *testing.T) {
	const binders = `spring.cloud.stream:
  function.definition: relay
  binders:
    events:
      type: kafka
      environment: { brokers: 127.0.0.1:29092 }
    warehouse:
      type: rabbit
      environment: { addresses: 127.0.0.1:5672, virtual-host: vh-a }
    archive:
      type: rabbit
      environment: { addresses: 127.0.0.1:5672, virtual-host: vh-b }
`
	dir := writeFiles(t, map[string]string{
		"binding/application.yaml": binders + `  bindings:
    relay-in-0: { binder: events, destination: in, group: g }
    relay-out-0:
      binder: rabbit
      destination: out
`,
		"default/application.yaml": binders + `  default-binder: rabbit
  bindings:
    relay-in-0: { binder: events, destination: in, group: g }
    relay-out-0: { destination: out }
`,
		"implicit/application.yaml": `spring.cloud.stream:
  function.definition: relay
  binders:
    events: { type: kafka, environment: { brokers: 127.0.0.1:29092 } }
  bindings:
    relay-in-0: { binder: events, destination: in, group: g }
    relay-out-0: { binder: rabbit, destination: out }
  # No queue of out is known: not mandatory, else lint warns of that.
  rabbit.bindings.relay-out-0.producer.mandatory: false
`,
		// Every declared binder opted out: the app's code chooses a type
		// no declared binder has (lint does not assume rabbit from
		// spring.rabbitmq, which would name the type of declared binders).
		"nocandidate/application.yaml": `spring:
  rabbitmq: { host: 127.0.0.1 }
  cloud.stream:
    function.definition: relay
    binders:
      warehouse: { type: rabbit, default-candidate: false }
      archive: { type: rabbit, default-candidate: false }
    bindings:
      relay-in-0: { binder: warehouse, destination: in, group: g }
      relay-out-0: { destination: out }
`,
		"nodefault/application.yaml": binders + `  bindings:
    relay-in-0: { binder: events, destination: in, group: g }
    relay-out-0:
      destination: out
`,
	})
	const named = `binder "rabbit" names a binder type while binders archive, warehouse of that type are declared under stream.binders; name one of them`
	for _, tc := range []struct {
		dir, want string
		code      int
	}{
		{"binding", "binding/application.yaml:16: spring.cloud.stream.bindings.relay-out-0.binder: " + named, exitFailure},
		{"default", "default/application.yaml:13: spring.cloud.stream.default-binder: " + named, exitFailure},
		{"implicit", "", exitOK},
		{"nocandidate", "", exitOK},
		{"nodefault", "nodefault/application.yaml: stream.default-binder: is not set and 3 binders are declared under stream.binders (archive, events, warehouse): set stream.default-binder to the one the bindings that name no binder use (the binding that names none: relay-out-0 (application.yaml:15))", exitFailure},
	} {
		r := runIn(t, dir, nil, "lint", tc.dir)
		if r.code != tc.code || (tc.want == "" && r.stdout != "") || !strings.Contains(r.stdout, tc.want) {
			t.Errorf("%s: exit status %d, stdout:\n%s\nwant %d and %q", tc.dir, r.code, r.stdout, tc.code, tc.want)
		}
	}
}
