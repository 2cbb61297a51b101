package stream_test

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"github.com/streambind/streambind/binder/kafka"
	"github.com/streambind/streambind/binder/memory"
	"github.com/streambind/streambind/binder/rabbit"
	"github.com/streambind/streambind/config"
	"github.com/streambind/streambind/internal/syncbuf"
	"github.com/streambind/streambind/stream"
)

// A binder type's section of a binding on a binder of another type is
// read by no binder (as in SCSt, where only the type's binder reads it):
// its keys are ignored with one warning naming the binding, its binder
// type and the section, whatever their values — a file shared by profiles
// that move the binding between binders must not fail for the binder it
// does not use. stream.kafka.bindings.process-in-0.consumer.ack-mode:
// MANUAL refused start-up while the binding ran on RabbitMQ (and
// enable-dlq beside it was ignored). A key the type does not know at all
// (a typo) is still an error.
func TestOtherTypeSectionOfBindingIsIgnored(t *testing.T) {
	const base = `spring.cloud.function.definition: process
spring.cloud.stream.default-binder: rabbit
spring.cloud.stream.bindings.process-in-0: {destination: x, group: g}
spring.cloud.stream.bindings.process-out-0: {destination: y}
spring.cloud.stream.kafka.bindings.process-in-0.consumer.ack-mode: MANUAL
spring.cloud.stream.kafka.bindings.process-in-0.consumer.auto-commit-offset: false
spring.cloud.stream.kafka.bindings.process-out-0.producer.close-timeout: 5
`
	newApp := func(t *testing.T, yaml string) (string, error) {
		t.Helper()
		l, err := config.Load(config.Options{Data: []byte(yaml), Env: []string{}, Logger: discardLogger()})
		if err != nil {
			t.Fatalf("Load: %v", err)
		}
		var logs syncbuf.Buffer
		fns := stream.NewCatalog()
		stream.AddFunction(fns, "process", func(_ context.Context, s string) (string, error) { return s, nil })
		_, err = stream.NewApp(l.Stream, fns, stream.WithoutSignals(),
			stream.WithLogger(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn}))),
			stream.WithBinderType(memory.Type, memory.New), stream.WithBinderType(rabbit.Type, rabbit.New),
			stream.WithBinderType(kafka.Type, kafka.New))
		return logs.String(), err
	}

	logs, err := newApp(t, base)
	if err != nil {
		t.Fatalf("NewApp: %v, want the kafka sections of bindings on rabbit ignored", err)
	}
	for _, b := range []string{"process-in-0", "process-out-0"} {
		want := "property=stream.kafka.bindings." + b + " origin=application.yaml:"
		if n := strings.Count(logs, want); n != 1 ||
			!strings.Contains(logs, "ignored: binding "+b+" is on a binder of type rabbit, which does not read the kafka binder's properties (as in SCSt)") {
			t.Errorf("%s: %d warnings at %q, want 1; logs:\n%s", b, n, want, logs)
		}
	}

	// A typo of the section is still reported, the rest still ignored.
	_, err = newApp(t, base+`spring.cloud.stream.kafka.bindings.process-in-0.consumer.ack-mdoe: RECORD
`)
	var es stream.ConfigErrors
	if !errors.As(err, &es) || len(es) != 1 || es[0].Path != "stream.kafka.bindings.process-in-0.consumer.ack-mdoe" ||
		!strings.Contains(es[0].Msg, "unknown key; did you mean ack-mode?") || es[0].Origin != "application.yaml:8" {
		t.Fatalf("NewApp with a typo: %v, want one unknown key at application.yaml:8", err)
	}

	// So is a key the type no longer has (props.RemovedKey): here the
	// rabbit section of a binding on kafka.
	_, err = newApp(t, strings.Replace(base, "{destination: x, group: g}", "{destination: x, group: g, binder: kafka}", 1)+
		`spring.cloud.stream.rabbit.bindings.process-in-0.consumer.dead-letter-args: {x: 1}
`)
	if !errors.As(err, &es) || !slices.ContainsFunc(es, func(e *stream.ConfigError) bool {
		return e.Path == "stream.rabbit.bindings.process-in-0.consumer.dead-letter-args" && strings.Contains(e.Msg, "dead-letter-args was removed")
	}) {
		t.Fatalf("NewApp with a removed rabbit key on a binding on kafka: %v, want dead-letter-args reported as removed", err)
	}

	// A binding on kafka itself still gets its section's rules.
	_, err = newApp(t, strings.Replace(base, "{destination: x, group: g}", "{destination: x, group: g, binder: kafka}", 1))
	if !errors.As(err, &es) || len(es) != 2 || es[0].Path != "stream.kafka.bindings.process-in-0.consumer.ack-mode" ||
		!strings.Contains(es[0].Msg, "MANUAL is not supported") || es[1].Path != "stream.kafka.bindings.process-in-0.consumer.auto-commit-offset" {
		t.Fatalf("NewApp with the binding on kafka: %v, want ack-mode MANUAL and auto-commit-offset false refused", err)
	}
}
