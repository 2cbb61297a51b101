package stream_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/streambind/streambind/stream"
)

// TestErrorHandlerDefinition: SCSt 4's error-handler-definition names
// the binding's error handler; here a handler registered in code under
// that name (stream.WithNamedErrorHandler, as WithKeyExtractor for
// partition-key-extractor-name), called for each message that failed
// every attempt, also from stream.default. A handler set for the binding
// with WithErrorHandler wins. An unknown name fails NewApp at the key,
// listing the registered names. Before, config.Load refused the key ("it
// names a Spring bean, and there are none here"), so an SCSt file with it
// did not start even with the handler in code.
func TestErrorHandlerDefinition(t *testing.T) {
	yaml := func(dest, def string) string {
		return `spring.cloud.function.definition: work
spring.cloud.stream:
  default:
    error-handler-definition: fromDefault
  bindings:
    work-in-0:
      destination: ` + dest + `
      group: g
      consumer.max-attempts: 1
` + def
	}
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "work", func(context.Context, string) error { return errors.New("refused") })
	handler := func(name string, got chan<- string) stream.ErrorHandler {
		return func(_ context.Context, fm stream.FailedMessage) { got <- name + ": " + string(fm.Envelope.Payload) }
	}

	for _, tc := range []struct {
		name, def string
		own       bool // WithErrorHandler for the binding
		want      string
	}{
		{"binding's", "      errorHandlerDefinition: audit\n", false, "audit"},
		{"default's", "", false, "fromDefault"},
		{"WithErrorHandler wins", "      error-handler-definition: audit\n", true, "own"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dest := strings.NewReplacer("/", "-", " ", "-", "'", "").Replace(t.Name())
			got := make(chan string, 4)
			opts := []stream.Option{
				stream.WithNamedErrorHandler("audit", handler("audit", got)),
				stream.WithNamedErrorHandler("fromDefault", handler("fromDefault", got)),
			}
			if tc.own {
				opts = append(opts, stream.WithErrorHandler("work-in-0", handler("own", got)))
			}
			r := runAppFrom(t, yaml(dest, tc.def), fns, opts...)
			if err := r.app.Bridge().Send(context.Background(), dest, "m1"); err != nil {
				t.Fatal(err)
			}
			select {
			case g := <-got:
				if want := tc.want + ": m1"; g != want {
					t.Errorf("error handler called as %q, want %q", g, want)
				}
			case <-time.After(wait):
				t.Fatal("no error handler called")
			}
		})
	}

	t.Run("unknown name", func(t *testing.T) {
		_, err := stream.NewApp(loadYAML(t, yaml("unknown", "      error-handler-definition: audti\n")), fns,
			append(typesOpts("memory"), stream.WithNamedErrorHandler("audit", handler("audit", nil)),
				stream.WithNamedErrorHandler("fromDefault", handler("fromDefault", nil)))...)
		errs := configErrs(t, err)
		if len(errs) != 1 || errs[0].Path != "stream.bindings.work-in-0.error-handler-definition" ||
			!strings.Contains(errs[0].Msg, `no error handler "audti" registered (register it with stream.WithNamedErrorHandler("audti", handler)); registered: "audit", "fromDefault"`) {
			t.Fatalf("NewApp: %v; want one problem at stream.bindings.work-in-0.error-handler-definition naming audti and the registered names", err)
		}
		_, err = stream.NewApp(loadYAML(t, yaml("unknown", "")), fns, typesOpts("memory")...)
		errs = configErrs(t, err)
		if len(errs) != 1 || !strings.Contains(errs[0].Msg, `no error handler "fromDefault" registered`) || !strings.Contains(errs[0].Msg, "; none is registered") {
			t.Fatalf("NewApp without handlers: %v; want the default's name refused, none registered", err)
		}
	})
}

// runAppFrom loads yaml and runs an app of fns on the in-process binder.
func runAppFrom(t *testing.T, yaml string, fns *stream.Catalog, opts ...stream.Option) *running {
	t.Helper()
	app, err := stream.NewApp(loadYAML(t, yaml), fns, append(typesOpts("memory"), opts...)...)
	if err != nil {
		t.Fatalf("NewApp: %v", err)
	}
	return runApp(t, app)
}
