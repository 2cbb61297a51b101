package config

import (
	"context"
	"errors"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/memory"
	"github.com/streambind/streambind/stream"
)

// TestHeaderMappingNamesAsWritten: a function header mapping's header
// name is kept as the file writes it, as Spring Boot binds the map's keys
// (its ORIGINAL form): bracketed ([kafka_messageKey], [a.B]) and plain
// (myHeader, X-Tenant) alike, in YAML and .properties, in the flat and the
// 0. index form; myHeader and my-header are two headers, not a duplicate
// key. Before, the names were kebab-cased (kafka_message-key, my-header,
// x-tenant, a.b) except under 0., and the .properties pair was refused.
func TestHeaderMappingNamesAsWritten(t *testing.T) {
	y := `spring:
  cloud:
    function:
      definition: echo
      configuration:
        echo:
          input-header-mapping-expression:
            "[kafka_messageKey]": "headers['k']"
            myHeader: "'a'"
            X-Tenant: "'b'"
            "[a.B]": "'c'"
            spring.cloud.stream.sendto.destination: "'d'"
          output-header-mapping-expression:
            0:
              X-Trace: "'e'"
`
	l := mustLoad(t, Options{Data: []byte(y), Logger: discard})
	fs := l.Stream.Function.Configuration["echo"]
	wantIn := map[string]any{"kafka_messageKey": "headers['k']", "myHeader": "'a'", "X-Tenant": "'b'", "a.B": "'c'", "spring.cloud.stream.sendto.destination": "'d'"}
	if !maps.Equal(fs.InputHeaderMappingExpression, wantIn) {
		t.Errorf("YAML input mappings %v, want %v", fs.InputHeaderMappingExpression, wantIn)
	}
	if o, _ := fs.OutputHeaderMappingExpression["0"].(map[string]any); o["X-Trace"] != "'e'" || len(o) != 1 {
		t.Errorf("YAML output mappings %v", fs.OutputHeaderMappingExpression)
	}
	// What streambind config prints.
	raw := l.Raw["stream"].(map[string]any)["function"].(map[string]any)["configuration"].(map[string]any)["echo"].(map[string]any)
	if in, _ := raw["input-header-mapping-expression"].(map[string]any); !maps.Equal(in, wantIn) {
		t.Errorf("Raw input mappings %v, want %v", in, wantIn)
	}

	p := `spring.cloud.function.definition=echo
spring.cloud.function.configuration.echo.input-header-mapping-expression.[kafka_messageKey]=headers['k']
spring.cloud.function.configuration.echo.input-header-mapping-expression.myHeader='a'
spring.cloud.function.configuration.echo.input-header-mapping-expression.my-header='a2'
spring.cloud.function.configuration.echo.input-header-mapping-expression.[a.B]='c'
spring.cloud.stream.function.configuration.echo.output-header-mapping-expression.0.X-Trace='e'
`
	l = mustLoad(t, Options{Name: "application.properties", File: "application.properties", Data: []byte(p), Logger: discard})
	fs = l.Stream.Function.Configuration["echo"]
	wantIn = map[string]any{"kafka_messageKey": "headers['k']", "myHeader": "'a'", "my-header": "'a2'", "a.B": "'c'"}
	if !maps.Equal(fs.InputHeaderMappingExpression, wantIn) {
		t.Errorf(".properties input mappings %v, want %v", fs.InputHeaderMappingExpression, wantIn)
	}
	if o, _ := fs.OutputHeaderMappingExpression["0"].(map[string]any); o["X-Trace"] != "'e'" || len(o) != 1 {
		t.Errorf(".properties output mappings %v", fs.OutputHeaderMappingExpression)
	}
}

// TestFunctionConfigurationEnvHeaderNames: a variable's '_' in a header
// name is '.', as Spring Boot reads it (..._SPRING_CLOUD_STREAM_SENDTO_DESTINATION
// maps spring.cloud.stream.sendto.destination, which routes), _0_ is the
// input index, and SPRING_CLOUD_FUNCTION_CONFIGURATION_* is read as
// STREAM_FUNCTION_CONFIGURATION_* is. Before: the header
// spring-cloud-stream-sendto-destination, a header 0-x, and the SPRING_
// variable ignored without a word.
func TestFunctionConfigurationEnvHeaderNames(t *testing.T) {
	l := mustLoad(t, Options{Data: []byte("spring.cloud.function.definition: echo\n"), Logger: discard, Env: []string{
		"STREAM_FUNCTION_CONFIGURATION_ECHO_INPUTHEADERMAPPINGEXPRESSION_SPRING_CLOUD_STREAM_SENDTO_DESTINATION=headers['t']",
		"STREAM_FUNCTION_CONFIGURATION_ECHO_OUTPUTHEADERMAPPINGEXPRESSION_0_X=headers['x']",
		"SPRING_CLOUD_FUNCTION_CONFIGURATION_ECHO_INPUTHEADERMAPPINGEXPRESSION_TENANT='acme'",
	}})
	fs := l.Stream.Function.Configuration["echo"]
	wantIn := map[string]any{stream.HeaderSendToDestination: "headers['t']", "tenant": "'acme'"}
	if !maps.Equal(fs.InputHeaderMappingExpression, wantIn) {
		t.Errorf("input mappings %v, want %v", fs.InputHeaderMappingExpression, wantIn)
	}
	if o, _ := fs.OutputHeaderMappingExpression["0"].(map[string]any); o["x"] != "headers['x']" || len(o) != 1 {
		t.Errorf("output mappings %v, want 0: {x: headers['x']}", fs.OutputHeaderMappingExpression)
	}
	if o := l.Stream.Origins["stream.function.configuration.echo.input-header-mapping-expression.tenant"]; o != "env SPRING_CLOUD_FUNCTION_CONFIGURATION_ECHO_INPUTHEADERMAPPINGEXPRESSION_TENANT" {
		t.Errorf("tenant's origin %q", o)
	}
}

// TestHeaderMappingBadNamesRefused: a header name that names no header
// ("" and "[]", which collided as one empty name; a[0], which became
// a[0; a..b) and an input index written other than 0 (00, taken for 0)
// stop loading at the key's file:line.
func TestHeaderMappingBadNamesRefused(t *testing.T) {
	y := `spring:
  cloud:
    function:
      definition: echo
      configuration:
        echo:
          input-header-mapping-expression:
            "": "'a'"
            "[]": "'b'"
            "a[0]": "'c'"
            "00":
              x: "'d'"
            ok: "'e'"
`
	_, err := Load(Options{Data: []byte(y), Logger: discard, Env: []string{}})
	var ce stream.ConfigErrors
	if !errors.As(err, &ce) {
		t.Fatalf("Load: %v, want ConfigErrors", err)
	}
	base := "stream.function.configuration.echo.input-header-mapping-expression."
	want := map[string]string{
		base:          "application.yaml:8",
		base + "[]":   "application.yaml:9",
		base + "a[0]": "application.yaml:10",
		base + "00":   "application.yaml:11",
	}
	for _, e := range ce {
		if o, ok := want[e.Path]; ok && o == e.Origin {
			delete(want, e.Path)
		}
		if strings.HasSuffix(e.Path, ".ok") {
			t.Errorf("a good name refused: %v", e)
		}
	}
	if len(want) > 0 {
		t.Errorf("not refused at their lines: %v; got %v", want, err)
	}

	p := "spring.cloud.function.definition=echo\n" +
		"spring.cloud.function.configuration.echo.output-header-mapping-expression.a..b='x'\n"
	_, err = Load(Options{Name: "application.properties", File: "application.properties", Data: []byte(p), Logger: discard, Env: []string{}})
	if err == nil || !strings.Contains(err.Error(), "application.properties:2") {
		t.Errorf("a..b: got %v, want a problem at application.properties:2", err)
	}
}

// TestHeaderMappingNamesReachFunction: the effect at run time. Header
// names loaded from YAML are the headers a function sees: kafka_messageKey
// and X-Tenant, not kafka_message-key and x-tenant.
func TestHeaderMappingNamesReachFunction(t *testing.T) {
	y := `spring:
  cloud:
    function:
      definition: echo
      configuration:
        echo:
          input-header-mapping-expression:
            "[kafka_messageKey]": "headers['k']"
            X-Tenant: "'acme'"
    stream:
      default-binder: memory
      bindings:
        echo-in-0: {destination: hm-names-in, group: g}
`
	l := mustLoad(t, Options{Data: []byte(y), Logger: discard})
	seen := make(chan stream.Headers, 1)
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "echo", func(_ context.Context, m stream.Message[string]) error { seen <- m.Headers; return nil })
	app, err := stream.NewApp(l.Stream, fns, stream.WithoutSignals(), stream.WithLogger(discard), stream.WithBinderType("memory", memory.New))
	if err != nil {
		t.Fatalf("NewApp: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- app.Run(ctx) }()
	defer func() { cancel(); <-done }()
	select {
	case <-app.Ready():
	case err := <-done:
		t.Fatalf("Run: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("not ready")
	}
	if err := app.Bridge().Send(ctx, "hm-names-in", stream.NewMessage("x", "k", "key-1")); err != nil {
		t.Fatal(err)
	}
	select {
	case h := <-seen:
		if h["kafka_messageKey"] != "key-1" || h["X-Tenant"] != "acme" {
			t.Errorf("the function saw %v, want kafka_messageKey=key-1 and X-Tenant=acme", h)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no message")
	}
}
