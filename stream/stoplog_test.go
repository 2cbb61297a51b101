package stream_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/streambind/streambind/internal/syncbuf"
	"github.com/streambind/streambind/stream"
)

// TestShutdownLogsEveryBindingStopped: at shutdown every binding logs
// "binding stopped" as it logged "binding started" (docs/operations.md,
// log lines) — outputs too: they stopped silently, so an operator reading
// the log saw the supplier's binding started and never stopped.
func TestShutdownLogsEveryBindingStopped(t *testing.T) {
	broker := newBroker(t)
	var buf syncbuf.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	fns := stream.NewCatalog()
	stream.AddSupplier(fns, "tick", func(context.Context) (string, error) { return "", stream.Skip })
	stream.AddFunction(fns, "upper", func(_ context.Context, s string) (string, error) { return strings.ToUpper(s), nil })
	cfg := &stream.Config{
		Function: stream.FunctionConfig{Definition: "tick;upper"},
		Bindings: map[string]stream.BindingConfig{
			"tick-out-0":  {Destination: "ticks"},
			"upper-in-0":  {Destination: "ticks", Group: "g"},
			"upper-out-0": {Destination: "uppers"},
		},
	}
	r := startOn(t, broker, cfg, fns, log)
	if err := r.stop(); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, b := range []string{"tick-out-0", "upper-in-0", "upper-out-0"} {
		for _, msg := range []string{`msg="binding started"`, `msg="binding stopped"`} {
			n := 0
			for _, line := range strings.Split(out, "\n") {
				if strings.Contains(line, msg) && strings.Contains(line, "binding="+b) {
					n++
				}
			}
			if n != 1 {
				t.Errorf("%s: %s logged %d times, want once\nlog:\n%s", b, msg, n, out)
			}
		}
	}
}
