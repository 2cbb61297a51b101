package stream_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/streambind/streambind/stream"
)

// With consumer.retry-delays, a max-attempts (or back-off key) the binding
// sets does not apply: start-up warns, naming both keys. One inherited
// from stream.default does not warn when the binding sets retry-delays
// itself (the default is for the other bindings; it warned, failing
// lint --strict with no way out but dropping the default), and does when
// retry-delays is stream.default's too.
func TestRetryDelaysWarnsAboutMaxAttempts(t *testing.T) {
	for _, tc := range []struct{ name, yaml, want string }{
		{"binding", "stream:\n  function:\n    definition: work\n  bindings:\n    work-in-0:\n      group: g\n      consumer:\n        max-attempts: 5\n        retry-delays: 1s\n",
			"property=stream.bindings.work-in-0.consumer.max-attempts"},
		{"default", "stream:\n  function:\n    definition: work\n  default:\n    consumer:\n      max-attempts: 3\n      back-off-multiplier: 3\n  bindings:\n    work-in-0:\n      group: g\n      consumer:\n        retry-delays: 1s\n", ""},
		{"default and binding", "stream:\n  function:\n    definition: work\n  default:\n    consumer:\n      max-attempts: 3\n  bindings:\n    work-in-0:\n      group: g\n      consumer:\n        max-attempts: 4\n        retry-delays: 1s\n",
			"property=stream.bindings.work-in-0.consumer.max-attempts"},
		{"both default", "stream:\n  function:\n    definition: work\n  default:\n    consumer:\n      back-off-multiplier: 3\n      retry-delays: 1s\n  bindings:\n    work-in-0:\n      group: g\n",
			"property=stream.default.consumer.back-off-multiplier"},
		{"none", "stream:\n  function:\n    definition: work\n  bindings:\n    work-in-0:\n      group: g\n      consumer:\n        retry-delays: 1s\n", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := loadYAML(t, tc.yaml)
			fns := stream.NewCatalog()
			stream.AddConsumer(fns, "work", func(context.Context, []byte) error { return nil })
			var logged strings.Builder
			opts := append(typesOpts("memory"), stream.WithLogger(slog.New(slog.NewTextHandler(&logged, nil))))
			if _, err := stream.NewApp(cfg, fns, opts...); err != nil {
				t.Fatal(err)
			}
			warned := strings.Contains(logged.String(), "retry-delays each delivery gets one attempt")
			if tc.want == "" {
				if warned {
					t.Errorf("unexpected warning: %s", logged.String())
				}
				return
			}
			if !warned || !strings.Contains(logged.String(), tc.want) || !strings.Contains(logged.String(), "retry-delays=[1s]") {
				t.Errorf("want a warning naming %s and retry-delays; log: %s", tc.want, logged.String())
			}
		})
	}
}
