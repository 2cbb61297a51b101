package main

import (
	"context"
	"strings"
	"testing"

	"github.com/streambind/streambind/binder/memory"
	"github.com/streambind/streambind/config"
	"github.com/streambind/streambind/stream"
)

// nativeService is a service whose function sink consumes sink-in-0 with
// consumer settings consumer (a YAML flow map) on binder type typ.
func nativeService(typ, consumer string) string {
	return `spring:
  cloud:
    function:
      definition: sink
    stream:
      default-binder: ` + typ + `
      bindings:
        sink-in-0:
          destination: x
          group: g
          consumer: ` + consumer + "\n"
}

// TestLintNativeDecoding: a consumer binding with use-native-decoding is
// clean, with and without batch-mode, as the app starts it with a
// consumer of []byte (of [][]byte in batch mode). lint's stand-in
// consumers took [][]byte, which native decoding refuses without batch
// mode: lint reported a problem the app does not have.
func TestLintNativeDecoding(t *testing.T) {
	t.Parallel()
	for _, typ := range []string{"memory", "kafka"} {
		for _, tc := range []struct {
			name, consumer string
			batch          bool
		}{
			{"native", "{use-native-decoding: true}", false},
			{"native batch", "{use-native-decoding: true, batch-mode: true}", true},
			{"batch", "{batch-mode: true}", true},
		} {
			t.Run(typ+"/"+tc.name, func(t *testing.T) {
				t.Parallel()
				dir := writeFiles(t, map[string]string{"application.yaml": nativeService(typ, tc.consumer)})
				r := runIn(t, dir, nil, "lint")
				if r.code != exitOK || r.stdout != "" || r.stderr != "" {
					t.Errorf("lint: exit status %d, stdout %q, stderr %q; want 0 and nothing", r.code, r.stdout, r.stderr)
				}
				// The app accepts it, with the function an app would have.
				loaded, err := config.Load(config.Options{Dir: dir, Env: []string{}})
				if err != nil {
					t.Fatal(err)
				}
				fns := stream.NewCatalog()
				if tc.batch {
					stream.AddConsumer(fns, "sink", func(context.Context, [][]byte) error { return nil })
				} else {
					stream.AddConsumer(fns, "sink", func(context.Context, []byte) error { return nil })
				}
				cfg := *loaded.Stream
				cfg.DefaultBinder = memory.Type // validated, not bound
				if _, err := stream.NewApp(&cfg, fns, stream.WithBinderType(memory.Type, memory.New), stream.WithoutSignals()); err != nil {
					t.Errorf("the app refuses it: %v", err)
				}
			})
		}
	}

	// The same in stream.default, of a function (composed) and of an input
	// binding of no function.
	dir := writeFiles(t, map[string]string{"application.yaml": `stream:
  function:
    definition: up|down
  input-bindings: audit
  default:
    consumer:
      use-native-decoding: true
  bindings:
    up|down-in-0: {destination: a, group: g}
    up|down-out-0: {destination: b}
    audit: {destination: c, group: g}
`})
	if r := runIn(t, dir, nil, "lint"); r.code != exitOK || r.stdout != "" || r.stderr != "" {
		t.Errorf("stream.default: exit status %d, stdout %q, stderr %q; want 0 and nothing", r.code, r.stdout, r.stderr)
	}

	// Still refused where the app refuses every function: one that takes
	// the input of a batch-mode binding (a slice) and of a binding with
	// native decoding without batch mode ([]byte, string or a Message).
	dir = writeFiles(t, map[string]string{"application.yaml": `stream:
  function:
    definition: up;up|down
  bindings:
    up-in-0: {destination: a, group: g, consumer: {use-native-decoding: true}}
    up-out-0: {destination: b}
    up|down-in-0: {destination: c, group: g, consumer: {batch-mode: true}}
    up|down-out-0: {destination: d}
`})
	r := runIn(t, dir, nil, "lint")
	if want := "stream.bindings.up-in-0.consumer.use-native-decoding: function \"up\" takes"; r.code != exitFailure || !strings.Contains(r.stdout, want) {
		t.Errorf("a function both batch-mode and native-decoded: exit status %d, stdout %q; want 1 and %q", r.code, r.stdout, want)
	}
}
