package stream_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/streambind/streambind/binder/memory"
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

// A binder-specific section of a binding that is neither bound nor
// configured under stream.bindings (a misspelt name:
// stream.nats.bindings.paymnet-in-0) is warned about as unbound: its
// settings were ignored without a word, by the app and by lint --strict.
func TestUnboundBinderSectionWarned(t *testing.T) {
	cfg := loadYAML(t, `stream:
  function:
    definition: payment
  default-binder: plain
  bindings:
    payment-in-0:
      destination: orders
      group: g
  plain:
    bindings:
      paymnet-in-0:
        consumer:
          ack-wait: 3s
      payment-in-0:
        consumer:
          ack-wait: 5s
`)
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "payment", func(context.Context, []byte) error { return nil })
	var logged strings.Builder
	// A binder type that validates no binder-specific keys (as a plugin
	// may): the in-process binder, its SpecValidator hidden.
	plain := func(ctx context.Context, s stream.BinderSettings) (stream.Binder, error) {
		b, err := memory.New(ctx, s)
		return struct{ stream.Binder }{b}, err
	}
	opts := []stream.Option{stream.WithoutSignals(), stream.WithBinderType("plain", plain), stream.WithLogger(slog.New(slog.NewTextHandler(&logged, nil)))}
	if _, err := stream.NewApp(cfg, fns, opts...); err != nil {
		t.Fatal(err)
	}
	out := logged.String()
	if !strings.Contains(out, "property=stream.plain.bindings.paymnet-in-0") || !strings.Contains(out, "nearest_bound=payment-in-0") {
		t.Errorf("log %s; want the misspelt section warned about, with the nearest bound name", out)
	}
	if strings.Contains(out, "stream.plain.bindings.payment-in-0") {
		t.Errorf("log %s; the bound binding's section is not unbound", out)
	}
}

// A composed function's binder-specific section under SCSt's name for the
// binding (upperreverse-in-0 for upper|reverse-in-0, as an SCSt file
// writes it) applies to the binding, as under stream.bindings, and is not
// warned about as unbound: it was ignored.
func TestComposedBinderSectionSCStName(t *testing.T) {
	cfg := loadYAML(t, `stream:
  function:
    definition: upper|reverse
  default-binder: plain
  plain:
    bindings:
      upperreverse-in-0:
        consumer:
          ack-wait: 3s
`)
	if cons, _ := cfg.Extension("plain", "upper|reverse-in-0"); cons["ack-wait"] != "3s" {
		t.Errorf("upper|reverse-in-0's section %v, want upperreverse-in-0's", cons)
	}
	fns := stream.NewCatalog()
	stream.AddFunction(fns, "upper", func(_ context.Context, s string) (string, error) { return strings.ToUpper(s), nil })
	stream.AddFunction(fns, "reverse", func(_ context.Context, s string) (string, error) { return s, nil })
	var logged strings.Builder
	plain := func(ctx context.Context, s stream.BinderSettings) (stream.Binder, error) {
		b, err := memory.New(ctx, s)
		return struct{ stream.Binder }{b}, err
	}
	opts := []stream.Option{stream.WithoutSignals(), stream.WithBinderType("plain", plain), stream.WithLogger(slog.New(slog.NewTextHandler(&logged, nil)))}
	if _, err := stream.NewApp(cfg, fns, opts...); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(logged.String(), "not bound") {
		t.Errorf("log %s; want no unbound warning", logged.String())
	}
}
