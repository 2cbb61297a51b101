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
