package stream_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/streambind/streambind/stream"
)

// A configured binding a typo away from a bound one that has no settings
// (bookInvoise-in-0 for bookInvoice-in-0) is warned about with a
// did-you-mean and what the bound binding runs on instead: its own name
// as destination, an anonymous group (the trial's app booked nothing).
// Not an error: SCSt binds unknown names silently.
func TestMisspeltBindingWarnsDefaults(t *testing.T) {
	for _, c := range []struct{ yaml, want string }{
		{"stream:\n  function:\n    definition: bookInvoice\n  bindings:\n    bookInvoise-in-0:\n      destination: invoices\n      group: booking\n",
			"did you mean bookInvoice-in-0? bookInvoice-in-0 uses defaults: destination bookInvoice-in-0, anonymous group"},
		{"stream:\n  function:\n    definition: bookInvoice\n  default:\n    group: billing\n  bindings:\n    bookInvoce-in-0:\n      destination: invoices\n",
			"did you mean bookInvoice-in-0? bookInvoice-in-0 uses defaults: destination bookInvoice-in-0, group billing (stream.default.group)"},
	} {
		cfg := loadYAML(t, c.yaml)
		fns := stream.NewCatalog()
		stream.AddConsumer(fns, "bookInvoice", func(context.Context, []byte) error { return nil })
		var logged strings.Builder
		opts := append(typesOpts("memory"), stream.WithLogger(slog.New(slog.NewTextHandler(&logged, nil))))
		if _, err := stream.NewApp(cfg, fns, opts...); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(logged.String(), "level=WARN") || !strings.Contains(logged.String(), c.want) {
			t.Errorf("logged:\n%s\nwant: %s", logged.String(), c.want)
		}
	}
	// A bound binding with settings of its own: no guess.
	cfg := loadYAML(t, "stream:\n  function:\n    definition: bookInvoice\n  bindings:\n    bookInvoice-in-0:\n      group: g\n    bookInvoise-in-0:\n      group: g\n")
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "bookInvoice", func(context.Context, []byte) error { return nil })
	var logged strings.Builder
	opts := append(typesOpts("memory"), stream.WithLogger(slog.New(slog.NewTextHandler(&logged, nil))))
	if _, err := stream.NewApp(cfg, fns, opts...); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(logged.String(), "did you mean") || !strings.Contains(logged.String(), "bookInvoise-in-0") {
		t.Errorf("logged:\n%s", logged.String())
	}
}
