package stream_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/streambind/streambind/stream"
)

// The warning about a configured binding that nothing binds lists the
// bound names as the function definition spells them, not lower-cased.
func TestUnboundWarningKeepsCase(t *testing.T) {
	cfg := loadYAML(t, "stream:\n  function:\n    definition: chargePayment\n  bindings:\n    zzz-out-0:\n      destination: x\n")
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "chargePayment", func(context.Context, []byte) error { return nil })
	var logged strings.Builder
	opts := append(typesOpts("memory"), stream.WithLogger(slog.New(slog.NewTextHandler(&logged, nil))))
	if _, err := stream.NewApp(cfg, fns, opts...); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logged.String(), `key=stream.bindings.zzz-out-0`) || !strings.Contains(logged.String(), `bound=chargePayment-in-0`) {
		t.Errorf("warning: %s", logged.String())
	}
}
