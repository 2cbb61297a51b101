package stream_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/streambind/streambind/config"
	"github.com/streambind/streambind/stream"
)

// A variable that is the origin of several keys (a binder property map's
// section and its entry: STREAM_KAFKA_BINDINGS_PAYMNT_IN_0_CONSUMER_CONFIGURATION_SASL_JAAS_CONFIG)
// under a misspelt binding name has its fix named once, not once a key;
// and its value (a secret here) is never logged. (No Kafka binder is
// registered: the section is kept as written, as the loader read it.)
func TestMisspeltBindingInEnvFixNamedOnce(t *testing.T) {
	const yaml = "stream:\n  function:\n    definition: payment\n  bindings:\n    payment-in-0:\n      destination: orders\n"
	const from = "STREAM_KAFKA_BINDINGS_PAYMNT_IN_0_CONSUMER_CONFIGURATION_SASL_JAAS_CONFIG"
	l, err := config.Load(config.Options{Data: []byte(yaml), Env: []string{from + "=s3cr3t-jaas"}})
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
	fix := "set STREAM_KAFKA_BINDINGS_PAYMENT_IN_0_CONSUMER_CONFIGURATION_SASL_JAAS_CONFIG instead of " + from
	if n := strings.Count(out, fix); n != 1 || !strings.Contains(out, "did you mean payment-in-0?") {
		t.Errorf("the fix %d times (want 1) in:\n%s", n, out)
	}
	if strings.Contains(out, "s3cr3t") {
		t.Errorf("the variable's value is logged:\n%s", out)
	}
}
