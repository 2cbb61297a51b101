package config

import (
	"log/slog"
	"strings"
	"testing"

	"github.com/streambind/streambind/stream"
)

// TestLoaderWarningsReachTheAppLogger: Load's warnings (a key ignored)
// reach the logger the program gives its app (stream.WithLogger) when
// Options.Logger is unset: Load runs before that logger exists (its
// format and level are the configuration's), and logged them to
// slog.Default(), plain text on stderr beside the app's JSON lines. They
// are logged once, by the first app made of the configuration; with
// Options.Logger set they go there at Load, and the app does not log them
// again.
func TestLoaderWarningsReachTheAppLogger(t *testing.T) {
	const yaml = `stream:
  default-binder: memory
spring:
  kafka:
    consumer:
      group-id: x
`
	app := func(cfg *stream.Config) string {
		t.Helper()
		var buf strings.Builder
		if _, err := stream.NewApp(cfg, nil, stream.WithLogger(slog.New(slog.NewJSONHandler(&buf, nil)))); err != nil {
			t.Fatalf("NewApp: %v", err)
		}
		return buf.String()
	}
	const line = `"msg":"configuration key ignored","property":"spring.kafka.consumer.group-id","origin":"application.yaml:6"`

	l := mustLoad(t, Options{Data: []byte(yaml), Env: []string{}})
	if len(l.Warnings) != 1 {
		t.Fatalf("warnings %v, want the group-id one", l.Warnings)
	}
	if got := app(l.Stream); strings.Count(got, line) != 1 {
		t.Errorf("the app's logger got %q; want the loader's warning once: %s", got, line)
	}
	// A second app of the configuration (a copy of it) logs it no more.
	cp := *l.Stream
	if got := app(&cp); strings.Contains(got, "configuration key ignored") {
		t.Errorf("a second app logged the loader's warning again: %q", got)
	}

	// Options.Logger set: logged there at Load, not again by the app.
	var at strings.Builder
	l = mustLoad(t, Options{Data: []byte(yaml), Env: []string{}, Logger: slog.New(slog.NewJSONHandler(&at, nil))})
	if strings.Count(at.String(), line) != 1 {
		t.Errorf("Options.Logger got %q; want the warning once: %s", at.String(), line)
	}
	if got := app(l.Stream); strings.Contains(got, "configuration key ignored") {
		t.Errorf("the app logged the warning Options.Logger had: %q", got)
	}
}

// TestLogWarningsBeforeNoApp: a program that ends between Load and NewApp
// (telemetry.ConfigFrom failing, say) logs the warnings Load left to the
// app with Loaded.LogWarnings, deferred after Load; once NewApp logged
// them it is a no-op, and a second call logs nothing more.
func TestLogWarningsBeforeNoApp(t *testing.T) {
	const yaml = `stream:
  default-binder: memory
spring:
  kafka:
    consumer:
      group-id: x
`
	const line = `"msg":"configuration key ignored","property":"spring.kafka.consumer.group-id"`
	jsonTo := func(b *strings.Builder) *slog.Logger { return slog.New(slog.NewJSONHandler(b, nil)) }

	// No app: the deferred call logs them, once.
	l := mustLoad(t, Options{Data: []byte(yaml), Env: []string{}})
	var got strings.Builder
	l.LogWarnings(jsonTo(&got))
	l.LogWarnings(jsonTo(&got))
	if strings.Count(got.String(), line) != 1 {
		t.Errorf("LogWarnings logged %q; want the loader's warning once: %s", got.String(), line)
	}

	// An app made first: it logged them, LogWarnings does not again.
	l = mustLoad(t, Options{Data: []byte(yaml), Env: []string{}})
	var app, after strings.Builder
	if _, err := stream.NewApp(l.Stream, nil, stream.WithLogger(jsonTo(&app))); err != nil {
		t.Fatalf("NewApp: %v", err)
	}
	l.LogWarnings(jsonTo(&after))
	if strings.Count(app.String(), line) != 1 || after.Len() != 0 {
		t.Errorf("app logged %q, LogWarnings after it %q; want the warning once, in the app's log", app.String(), after.String())
	}
	var none *Loaded
	none.LogWarnings(nil) // no panic
}
