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

// TestInstanceIndexListLogged: a partitioned consumer with a group and
// consumer.instance-index-list binds one consumer per index, and its
// "binding bound" line says instance=0,2/3; the list is ignored with a
// WARN naming the key on a consumer that is not partitioned and on an
// anonymous one (one consumer each), and its negative indexes are skipped
// with a WARN.
func TestInstanceIndexListLogged(t *testing.T) {
	fns := stream.NewCatalog()
	for _, f := range []string{"listed", "unpart", "anon", "neg"} {
		stream.AddConsumer(fns, f, func(context.Context, string) error { return nil })
	}
	part := func(l ...int) stream.ConsumerConfig {
		return stream.ConsumerConfig{Partitioned: true, InstanceCount: 3, InstanceIndexList: l}
	}
	cfg := &stream.Config{
		Function: stream.FunctionConfig{Definition: "listed;unpart;anon;neg"},
		Bindings: map[string]stream.BindingConfig{
			"listed-in-0": {Destination: "a,b", Group: "g", Consumer: part(0, 2)},
			"unpart-in-0": {Destination: "c", Group: "g", Consumer: stream.ConsumerConfig{InstanceCount: 3, InstanceIndexList: []int{1, 2}}},
			"anon-in-0":   {Destination: "d", Consumer: part(1, 2)},
			"neg-in-0":    {Destination: "e", Group: "g", Consumer: part(-1, 1)},
		},
	}
	out := runLogged(t, cfg, fns)
	lines := strings.Split(out, "\n")
	find := func(substr ...string) []string {
		var got []string
		for _, l := range lines {
			all := true
			for _, s := range substr {
				all = all && strings.Contains(l, s)
			}
			if all {
				got = append(got, l)
			}
		}
		return got
	}
	// One consumer per destination and index: a and b, each as 0 and 2.
	if got := find(`msg="binding bound"`, "binding=listed-in-0", "instance=0,2/3",
		`queue.0="a.g #0/3"`, `queue.1="a.g #2/3"`, `queue.2="b.g #0/3"`, `queue.3="b.g #2/3"`); len(got) != 1 {
		t.Errorf("listed-in-0: want a binding bound line with instance=0,2/3 and the queues of a and b at 0 and 2, got %q\nlog:\n%s", got, out)
	}
	if got := find(`msg="binding bound"`, "binding=neg-in-0", "instance=1/3"); len(got) != 1 {
		t.Errorf("neg-in-0: want a binding bound line with instance=1/3, got %q", got)
	}
	for _, w := range []struct{ binding, msg string }{
		{"unpart-in-0", "the consumer is not partitioned"},
		{"anon-in-0", "without a group"},
		{"neg-in-0", "negative indexes are skipped"},
	} {
		if got := find("level=WARN", "property=stream.bindings."+w.binding+".consumer.instance-index-list", w.msg); len(got) != 1 {
			t.Errorf("%s: want one WARN %q naming the key, got %q", w.binding, w.msg, got)
		}
	}
	if got := find("level=WARN", "instance-index-list", "listed-in-0"); len(got) != 0 {
		t.Errorf("listed-in-0 warned: %q", got)
	}
}
