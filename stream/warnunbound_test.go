package stream_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/streambind/streambind/stream"
	"github.com/streambind/streambind/telemetry"
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
	if !strings.Contains(logged.String(), `property=stream.bindings.zzz-out-0`) || !strings.Contains(logged.String(), `bound=chargePayment-in-0`) {
		t.Errorf("warning: %s", logged.String())
	}
}

// The framework's own warnings name configuration keys under an attribute
// the redacting logger (telemetry.NewLogger, which docs/operations.md
// says to use) does not hide: under "key" (a secret's name: ssl.key) the
// binding's path came out as key=******.
func TestUnboundWarningSurvivesRedaction(t *testing.T) {
	cfg := loadYAML(t, "stream:\n  function:\n    definition: chargePayment\n  bindings:\n    zzz-out-0:\n      destination: x\n")
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "chargePayment", func(context.Context, []byte) error { return nil })
	for _, format := range []string{"text", "json"} {
		var logged strings.Builder
		opts := append(typesOpts("memory"), stream.WithLogger(telemetry.NewLogger(&logged, telemetry.LogConfig{Format: format})))
		if _, err := stream.NewApp(cfg, fns, opts...); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(logged.String(), "stream.bindings.zzz-out-0") || strings.Contains(logged.String(), "******") {
			t.Errorf("%s warning: %s", format, logged.String())
		}
	}
}
