package stream_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/streambind/streambind/binder/kafka"
	"github.com/streambind/streambind/binder/memory"
	"github.com/streambind/streambind/binder/rabbit"
	"github.com/streambind/streambind/config"
	"github.com/streambind/streambind/internal/syncbuf"
	"github.com/streambind/streambind/stream"
)

// A binder type's section of a binding that is not bound and names no
// binder, while no default binder is decided (two binders declared,
// stream.default-binder not set, every bound binding naming its own), is
// read by no binder: only its unknown keys are checked, without a warning
// naming a type. configuredBinderType took the binding's binder from
// Config.Binding, whose fallback when no default binder is decided is the
// in-process binder: with memory not registered the Kafka section got
// Kafka's full rules (ack-mode MANUAL refused start-up), with it the
// warning said the binding was on a binder of type memory.
func TestOtherTypeSectionWithoutDefaultBinder(t *testing.T) {
	const yaml = `spring.cloud.function.definition: process
spring.cloud.stream.binders.r1.type: rabbit
spring.cloud.stream.binders.k1.type: kafka
spring.cloud.stream.bindings.process-in-0: {destination: x, group: g, binder: r1}
spring.cloud.stream.kafka.bindings.other-in-0.consumer.ack-mode: MANUAL
`
	newApp := func(t *testing.T, yaml string, withMemory bool) (string, error) {
		t.Helper()
		l, err := config.Load(config.Options{Data: []byte(yaml), Env: []string{}, Logger: discardLogger()})
		if err != nil {
			t.Fatalf("Load: %v", err)
		}
		var logs syncbuf.Buffer
		fns := stream.NewCatalog()
		stream.AddConsumer(fns, "process", func(context.Context, string) error { return nil })
		opts := []stream.Option{stream.WithoutSignals(),
			stream.WithLogger(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn}))),
			stream.WithBinderType(rabbit.Type, rabbit.New), stream.WithBinderType(kafka.Type, kafka.New)}
		if withMemory {
			opts = append(opts, stream.WithBinderType(memory.Type, memory.New))
		}
		_, err = stream.NewApp(l.Stream, fns, opts...)
		return logs.String(), err
	}
	for _, withMemory := range []bool{false, true} {
		logs, err := newApp(t, yaml, withMemory)
		if err != nil {
			t.Fatalf("memory registered %v: NewApp: %v, want the kafka section of a binding on no binder ignored", withMemory, err)
		}
		if strings.Contains(logs, "is on a binder of type") {
			t.Errorf("memory registered %v: a warning names a binder type of other-in-0, which has none:\n%s", withMemory, logs)
		}
		// A typo there is still an error.
		_, err = newApp(t, yaml+"spring.cloud.stream.kafka.bindings.other-in-0.consumer.ack-mdoe: RECORD\n", withMemory)
		var es stream.ConfigErrors
		if !errors.As(err, &es) || len(es) != 1 || es[0].Path != "stream.kafka.bindings.other-in-0.consumer.ack-mdoe" || es[0].Origin != "application.yaml:6" {
			t.Fatalf("memory registered %v: NewApp with a typo: %v, want one unknown key at application.yaml:6", withMemory, err)
		}
	}

	// With stream.default-binder naming the declared Kafka binder, the
	// binding is on Kafka, whose rules apply.
	_, err := newApp(t, yaml+"spring.cloud.stream.default-binder: k1\n", false)
	var es stream.ConfigErrors
	if !errors.As(err, &es) || len(es) != 1 || es[0].Path != "stream.kafka.bindings.other-in-0.consumer.ack-mode" || !strings.Contains(es[0].Msg, "MANUAL is not supported") {
		t.Fatalf("NewApp with default-binder k1: %v, want ack-mode MANUAL refused", err)
	}
}
