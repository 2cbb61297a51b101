package config

import (
	"context"
	"strings"
	"testing"

	"github.com/streambind/streambind/binder/memory"
	"github.com/streambind/streambind/stream"
)

// TestFunctionHeaderMappingKeys: Spring Cloud Function's
// spring.cloud.function.configuration.<fn>.input-header-mapping-expression
// and output-header-mapping-expression load as
// stream.function.configuration (the dotted header name of a .properties
// key, the YAML map form with a bracketed dotted name), copy-input-headers
// is ignored with a warning at its line, and an expression that does not
// compile stops start-up naming its key and file:line. Before, every such
// key was ignored with "configuration key ignored".
func TestFunctionHeaderMappingKeys(t *testing.T) {
	p := `spring.cloud.function.definition=echo
spring.cloud.stream.default-binder=memory
spring.cloud.function.configuration.echo.input-header-mapping-expression.spring.cloud.stream.sendto.destination=headers['target']
spring.cloud.function.configuration.echo.input-header-mapping-expression.tenant='acme'
spring.cloud.function.configuration.echo.copy-input-headers=true
`
	l := mustLoad(t, Options{Name: "application.properties", File: "application.properties", Data: []byte(p), Logger: discard, Env: []string{}})
	in := l.Stream.Function.Configuration["echo"].InputHeaderMappingExpression
	if in["tenant"] != "'acme'" {
		t.Errorf("input mappings %v", in)
	}
	var warned bool
	for _, w := range l.Warnings {
		if strings.Contains(w.Path, "input-header-mapping") {
			t.Errorf("warned of a mapping: %v", w)
		}
		if strings.HasSuffix(w.Path, "echo.copy-input-headers") && w.Origin == "application.properties:5" && strings.HasPrefix(w.Msg, "ignored: ") {
			warned = true
		}
	}
	if !warned {
		t.Errorf("no warning for copy-input-headers: %v", l.Warnings)
	}
	fns := stream.NewCatalog()
	stream.AddFunction(fns, "echo", func(_ context.Context, s string) (string, error) { return s, nil })
	if _, err := stream.NewApp(l.Stream, fns, stream.WithoutSignals(), stream.WithLogger(discard), stream.WithBinderType("memory", memory.New)); err != nil {
		t.Fatalf("NewApp: %v", err)
	}

	y := `spring:
  cloud:
    function:
      definition: echo
      configuration:
        echo:
          input-header-mapping-expression:
            "[spring.cloud.stream.sendto.destination]": "headers['target']"
            tenant: "T(java.util.UUID).randomUUID()"
    stream:
      default-binder: memory
`
	l = mustLoad(t, Options{Data: []byte(y), Logger: discard, Env: []string{}})
	_, err := stream.NewApp(l.Stream, fns, stream.WithoutSignals(), stream.WithLogger(discard), stream.WithBinderType("memory", memory.New))
	const want = "spring.cloud.function.configuration.echo.input-header-mapping-expression.tenant (application.yaml:9): expression" // as written
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("bad expression: got %v, want %q", err, want)
	}
}
