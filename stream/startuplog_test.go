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
	out := runLogged(t, cfg, fns)
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

// TestDLQWithoutGroupWarns: consumer.dlq on a binding without a group
// cannot dead-letter (an anonymous consumer has no dead-letter
// destination); the app said nothing at start-up and dropped the failed
// messages one ERROR line at a time. It warns once at start-up now, naming
// the key (lint reports it as an error; SCSt refuses to start).
func TestDLQWithoutGroupWarns(t *testing.T) {
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "anon", func(context.Context, string) error { return nil })
	stream.AddConsumer(fns, "grouped", func(context.Context, string) error { return nil })
	cfg := &stream.Config{
		Function: stream.FunctionConfig{Definition: "anon;grouped"},
		Bindings: map[string]stream.BindingConfig{
			"anon-in-0":    {Destination: "orders", Consumer: stream.ConsumerConfig{DLQ: true}},
			"grouped-in-0": {Destination: "orders", Group: "g", Consumer: stream.ConsumerConfig{DLQ: true}},
		},
	}
	out := runLogged(t, cfg, fns)
	var warned []string
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, "level=WARN") && strings.Contains(line, "consumer.dlq does not apply") {
			warned = append(warned, line)
		}
	}
	if len(warned) != 1 || !strings.Contains(warned[0], "property=stream.bindings.anon-in-0.consumer.dlq") {
		t.Fatalf("want one WARN naming stream.bindings.anon-in-0.consumer.dlq, got %q\nlog:\n%s", warned, out)
	}
}

// TestPartitionedWithoutGroupWarns: consumer.partitioned on a binding
// without a group does not apply (an anonymous consumer receives every
// partition's messages, as in SCSt): the app warns once at start-up,
// naming the key; a partitioned binding with a group does not warn.
func TestPartitionedWithoutGroupWarns(t *testing.T) {
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "anon", func(context.Context, string) error { return nil })
	stream.AddConsumer(fns, "grouped", func(context.Context, string) error { return nil })
	cfg := &stream.Config{
		Function: stream.FunctionConfig{Definition: "anon;grouped"},
		Bindings: map[string]stream.BindingConfig{
			"anon-in-0":    {Destination: "orders", Consumer: stream.ConsumerConfig{Partitioned: true, InstanceIndex: 1, InstanceCount: 2}},
			"grouped-in-0": {Destination: "orders", Group: "g", Consumer: stream.ConsumerConfig{Partitioned: true, InstanceIndex: 0, InstanceCount: 1}},
		},
	}
	out := runLogged(t, cfg, fns)
	var warned []string
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, "level=WARN") && strings.Contains(line, "consumer.partitioned does not apply") {
			warned = append(warned, line)
		}
	}
	if len(warned) != 1 || !strings.Contains(warned[0], "property=stream.bindings.anon-in-0.consumer.partitioned") ||
		!strings.Contains(warned[0], "receives every partition's messages") {
		t.Fatalf("want one WARN naming stream.bindings.anon-in-0.consumer.partitioned, got %q\nlog:\n%s", warned, out)
	}
	// Its bound line names no instance: it gets every partition.
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, "binding=anon-in-0") && strings.Contains(line, "instance=") {
			t.Errorf("the anonymous consumer's line names an instance: %s", line)
		}
		if strings.Contains(line, "binding=grouped-in-0") && strings.Contains(line, "binding bound") && !strings.Contains(line, "instance=0/1") {
			t.Errorf("the grouped consumer's bound line names no instance: %s", line)
		}
	}
}

// runLogged runs an app of cfg and fns on a broker of its own until it is
// ready, stops it, and returns what it logged (text).
func runLogged(t *testing.T, cfg *stream.Config, fns *stream.Catalog) string {
	t.Helper()
	var buf syncbuf.Buffer
	r := startOn(t, newBroker(t), cfg, fns, slog.New(slog.NewTextHandler(&buf, nil)))
	if err := r.stop(); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}
