package stream_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/streambind/streambind/internal/syncbuf"
	"github.com/streambind/streambind/stream"
)

// TestDLQWithoutGroupWarns: consumer.dlq on a binding without a group
// cannot dead-letter (an anonymous consumer has no dead-letter
// destination); the app said nothing at start-up and dropped the failed
// messages one ERROR line at a time. It warns once at start-up now, naming
// the key (lint reports it as an error; SCSt refuses to start).
func TestDLQWithoutGroupWarns(t *testing.T) {
	broker := newBroker(t)
	var buf syncbuf.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
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
	r := startOn(t, broker, cfg, fns, log)
	if err := r.stop(); err != nil {
		t.Fatal(err)
	}
	var warned []string
	for _, line := range strings.Split(buf.String(), "\n") {
		if strings.Contains(line, "level=WARN") && strings.Contains(line, "consumer.dlq does not apply") {
			warned = append(warned, line)
		}
	}
	if len(warned) != 1 || !strings.Contains(warned[0], "property=stream.bindings.anon-in-0.consumer.dlq") {
		t.Fatalf("want one WARN naming stream.bindings.anon-in-0.consumer.dlq, got %q\nlog:\n%s", warned, buf.String())
	}
}
