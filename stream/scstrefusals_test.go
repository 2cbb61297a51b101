package stream_test

import (
	"context"
	"strings"
	"testing"

	"github.com/streambind/streambind/config"
	"github.com/streambind/streambind/stream"
)

// Each refusal of an SCSt setting names the key path, the file:line that
// set it and the reason (issue 9's acceptance list): those the loader
// finds and those the app finds.
func TestSCStRefusalsNameKeyLineAndReason(t *testing.T) {
	type refusal struct{ path, origin, reason string }
	check := func(t *testing.T, errs stream.ConfigErrors, want []refusal) {
		t.Helper()
		for _, w := range want {
			found := false
			for _, e := range errs {
				if e.Path == w.path && e.Origin == w.origin && strings.Contains(e.Msg, w.reason) {
					found = true
				}
			}
			if !found {
				t.Errorf("no error at %s (%s) with %q; got:\n%v", w.path, w.origin, w.reason, errs)
			}
		}
		if len(errs) != len(want) {
			t.Errorf("%d errors, want %d:\n%v", len(errs), len(want), errs)
		}
	}

	t.Run("loader", func(t *testing.T) {
		yaml := `spring:
  cloud:
    stream:
      bindings:
        a-in-0:
          consumer:
            header-mode: embeddedHeaders
        out:
          producer:
            partition-key-expression: "#root.payload"
            partition-count: 2
`
		_, err := config.Load(config.Options{Data: []byte(yaml), Env: []string{}})
		check(t, configErrs(t, err), []refusal{
			{"stream.bindings.a-in-0.consumer.header-mode", "application.yaml:7", "embeddedHeaders is not supported: it embeds headers in the payload"},
			{"stream.bindings.out.producer.partition-key-expression", "application.yaml:10", `expression "#root.payload": variable reference #root is not supported`},
		})
	})

	t.Run("app", func(t *testing.T) {
		yaml := `spring:
  cloud:
    function:
      definition: typed;a
      routing-expression: "T(java.lang.String).valueOf(headers['type'])"
    stream:
      input-bindings: nobody
      bindings:
        typed-in-0:
          destination: x
          group: g
          consumer:
            use-native-decoding: true
            retryable-exceptions:
              com.acme.Nope: false
        out:
          binder: nope
      output-bindings: out
`
		fns := stream.NewCatalog()
		stream.AddConsumer(fns, "typed", func(context.Context, Order) error { return nil })
		stream.AddConsumer(fns, "a", func(context.Context, string) error { return nil })
		_, err := stream.NewApp(loadYAML(t, yaml), fns, typesOpts("memory")...)
		check(t, configErrs(t, err), []refusal{
			{"stream.function.routing-expression", "application.yaml:5", `expression "T(java.lang.String).valueOf(headers['type'])": type reference T(...) is not supported`},
			{"stream.input-bindings", "application.yaml:7", "input binding nobody has no handler: register a consumer named nobody"},
			{"stream.bindings.typed-in-0.consumer.use-native-decoding", "application.yaml:13", "with native decoding the binder's bytes reach it unconverted, so it must take []byte, string or a Message"},
			{"stream.bindings.typed-in-0.consumer.retryable-exceptions.com.acme.Nope", "application.yaml:15", `no error named "com.acme.Nope" (register it with stream.WithNamedError`},
			{"stream.bindings.out.binder", "application.yaml:17", `binder "nope" is neither declared under stream.binders nor a registered binder type (memory)`},
		})
	})
}
