package stream_test

import (
	"context"
	"errors"
	"testing"

	"github.com/streambind/streambind/stream"
)

// A negative stream.shutdown-timeout or stream.dynamic-destination-cache-size
// is an error at its key with its file:line: it was taken silently for the
// default, while 0 (which stands for "not set") is refused.
func TestNegativeCoreLimitsAreRefused(t *testing.T) {
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "sink", func(context.Context, string) error { return nil })
	cfg := loadYAML(t, `stream:
  function: {definition: sink}
  shutdown-timeout: -5s
  dynamic-destination-cache-size: -3
`)
	_, err := stream.NewApp(cfg, fns, typesOpts("memory")...)
	var es stream.ConfigErrors
	if !errors.As(err, &es) {
		t.Fatalf("NewApp: %v, want configuration errors", err)
	}
	want := map[string]string{
		"stream.shutdown-timeout":               "application.yaml:3",
		"stream.dynamic-destination-cache-size": "application.yaml:4",
	}
	for _, e := range es {
		if want[e.Path] == e.Origin {
			delete(want, e.Path)
		}
	}
	if len(want) > 0 || len(es) != 2 {
		t.Fatalf("missing %v; got:\n%v", want, es)
	}

	// Positive values start.
	cfg = loadYAML(t, `stream:
  function: {definition: sink}
  shutdown-timeout: 1ms
  dynamic-destination-cache-size: 1
`)
	if _, err := stream.NewApp(cfg, fns, typesOpts("memory")...); err != nil {
		t.Fatalf("NewApp: %v", err)
	}
}
