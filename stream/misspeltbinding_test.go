package stream_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/streambind/streambind/config"
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

// A binding name misspelt in an environment variable
// (STREAM_BINDINGS_PAYMNT_IN_0_GROUP) beside a file that configures the
// bound payment-in-0 is warned about with a did-you-mean and the variable
// to set, as the file form is: variables override, they configure no other
// deployment's functions. The same name configured in a file besides gets
// no guess (see above).
func TestMisspeltBindingInEnvWarnsDidYouMean(t *testing.T) {
	const yaml = "stream:\n  function:\n    definition: payment\n  bindings:\n    payment-in-0:\n      destination: orders\n"
	for _, c := range []struct {
		yaml string
		env  []string
		want string // "" for no did-you-mean
	}{
		{yaml, []string{"STREAM_BINDINGS_PAYMNT_IN_0_GROUP=billing"},
			"did you mean payment-in-0? set STREAM_BINDINGS_PAYMENT_IN_0_GROUP instead of STREAM_BINDINGS_PAYMNT_IN_0_GROUP"},
		{yaml, []string{"SPRING_CLOUD_STREAM_BINDINGS_PAYMNT_IN_0_CONSUMER_MAX_ATTEMPTS=2"},
			"did you mean payment-in-0? set SPRING_CLOUD_STREAM_BINDINGS_PAYMENT_IN_0_CONSUMER_MAX_ATTEMPTS instead of SPRING_CLOUD_STREAM_BINDINGS_PAYMNT_IN_0_CONSUMER_MAX_ATTEMPTS"},
		{yaml + "    paymnt-in-0:\n      destination: x\n", []string{"STREAM_BINDINGS_PAYMNT_IN_0_GROUP=billing"}, ""},
	} {
		l, err := config.Load(config.Options{Data: []byte(c.yaml), Env: c.env})
		if err != nil {
			t.Fatal(err)
		}
		fns := stream.NewCatalog()
		stream.AddConsumer(fns, "payment", func(context.Context, []byte) error { return nil })
		var logged strings.Builder
		opts := append(typesOpts("memory"), stream.WithLogger(slog.New(slog.NewTextHandler(&logged, nil))))
		if _, err := stream.NewApp(l.Stream, fns, opts...); err != nil {
			t.Fatal(err)
		}
		out := logged.String()
		if !strings.Contains(out, "level=WARN") || !strings.Contains(out, "paymnt-in-0") {
			t.Errorf("%v: no warning:\n%s", c.env, out)
		}
		if c.want == "" && strings.Contains(out, "did you mean") || c.want != "" && !strings.Contains(out, c.want) {
			t.Errorf("%v: logged:\n%s\nwant: %q", c.env, out, c.want)
		}
	}
}
