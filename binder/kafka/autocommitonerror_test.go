package kafka_test

import (
	"context"
	"strings"
	"testing"

	"github.com/streambind/streambind/binder/kafka"
	"github.com/streambind/streambind/stream"
)

// TestAutoCommitOnErrorFalseStarts: SCSt's Kafka consumer property
// auto-commit-on-error applies, in SCSt 4, to pollable consumers only (a
// message-driven binding ignores it), and streambind has none: false
// starts, with a warning at its file:line saying what the binder does
// instead (commit a message that failed every attempt once dead-lettered
// or dropped); true, what the binder does, without a word; the binder
// takes either from a configuration built otherwise. Before, false
// stopped start-up.
func TestAutoCommitOnErrorFalseStarts(t *testing.T) {
	const yaml = `spring:
  cloud:
    function:
      definition: enrich
    stream:
      bindings:
        enrich-in-0: { destination: orders, group: enricher }
      kafka:
        binder:
          brokers: kafka-1
        default:
          consumer:
            autoCommitOnError: true
        bindings:
          enrich-in-0:
            consumer:
              auto-commit-on-error: false
`
	warnings, err := scstAppWarnings(t, "application.yaml", yaml)
	if err != nil {
		t.Fatalf("auto-commit-on-error: false: %v", err)
	}
	n := 0
	for _, w := range warnings {
		if !strings.Contains(strings.ToLower(w), "commit-on-error") && !strings.Contains(w, "autoCommitOnError") {
			continue
		}
		n++
		if !strings.HasPrefix(w, "spring.cloud.stream.kafka.bindings.enrich-in-0.consumer.auto-commit-on-error (application.yaml:17): ignored: false is not honoured: SCSt applies auto-commit-on-error to pollable consumers only") ||
			!strings.Contains(w, "dead-lettered (enable-dlq) or dropped") {
			t.Errorf("warning %s", w)
		}
	}
	if n != 1 {
		t.Errorf("want one warning, for false; warnings:\n%s", strings.Join(warnings, "\n"))
	}

	b, err := kafka.New(context.Background(), stream.BinderSettings{Name: "k", Type: kafka.Type})
	if err != nil {
		t.Fatal(err)
	}
	v := b.(stream.SpecValidator)
	for _, val := range []any{false, "false", true} {
		if err := v.ValidateConsumer(stream.ConsumerSpec{Binding: "in-0", Extension: map[string]any{"autoCommitOnError": val}}); err != nil {
			t.Errorf("auto-commit-on-error %v: %v", val, err)
		}
	}
	err = v.ValidateConsumer(stream.ConsumerSpec{Binding: "in-0", Extension: map[string]any{"auto-commit-on-error": "sometimes"}})
	wantErrs(t, err, map[string]string{"stream.kafka.bindings.in-0.consumer.auto-commit-on-error": "sometimes"})
}
