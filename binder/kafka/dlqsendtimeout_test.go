package kafka_test

import (
	"context"
	"strings"
	"testing"

	"github.com/streambind/streambind/binder/kafka"
	"github.com/streambind/streambind/stream"
)

// TestDLQSendTimeoutExpressionTreatedAsProducers: a consumer's
// dlq-producer-properties is SCSt's producer properties of the dead-letter
// writer, so its send-timeout-expression gets what the binding-level key
// gets (TestSendTimeoutExpressionWithoutSyncStarts): without that map's
// sync: true a WARN at its file:line that it is ignored, in a binding's
// section and in stream.kafka.default alike; under sync: true (the map's
// own or the default's) a refusal. Before, it was taken silently.
func TestDLQSendTimeoutExpressionTreatedAsProducers(t *testing.T) {
	const head = `spring:
  cloud:
    function:
      definition: enrich
    stream:
      bindings:
        enrich-in-0: { destination: orders, group: enricher, consumer: { max-attempts: 1 } }
        enrich-out-0: { destination: enriched }
      kafka:
        binder:
          brokers: kafka-1
`
	warned := func(warnings []string) []string {
		var out []string
		for _, w := range warnings {
			if strings.Contains(strings.ToLower(w), "send-timeout-expression") || strings.Contains(w, "sendTimeoutExpression") {
				out = append(out, w)
			}
		}
		return out
	}

	warnings, err := scstAppWarnings(t, "application.yaml", head+`        default:
          consumer:
            dlq-producer-properties:
              sendTimeoutExpression: 5000
        bindings:
          enrich-in-0:
            consumer:
              enable-dlq: true
              dlq-producer-properties:
                sync: false
                send-timeout-expression: "headers['timeout']"
`)
	if err != nil {
		t.Fatalf("dlq send-timeout-expression without sync: %v", err)
	}
	got := warned(warnings)
	want := []string{
		"spring.cloud.stream.kafka.default.consumer.dlq-producer-properties.sendTimeoutExpression (application.yaml:15): ignored: SCSt evaluates it only with sync: true",
		"spring.cloud.stream.kafka.bindings.enrich-in-0.consumer.dlq-producer-properties.send-timeout-expression (application.yaml:22): ignored: SCSt evaluates it only with sync: true",
	}
	wantTimeoutWarnings(t, got, want, "dlq-producer-properties' sync")

	// Under the map's sync: true, its own or the default's, refused.
	for name, tail := range map[string]string{
		"own sync": `        bindings:
          enrich-in-0:
            consumer:
              dlq-producer-properties: { sync: true, send-timeout-expression: "1000" }
`,
		"default's sync": `        default:
          consumer:
            dlq-producer-properties: { sync: "true" }
        bindings:
          enrich-in-0:
            consumer:
              dlq-producer-properties: { sendTimeoutExpression: "1000" }
`,
		"inherited expression": `        default:
          consumer:
            dlq-producer-properties: { send-timeout-expression: "1000" }
        bindings:
          enrich-in-0:
            consumer:
              dlq-producer-properties: { sync: true }
`,
	} {
		warnings, err := scstAppWarnings(t, "application.yaml", head+tail)
		if err == nil || !strings.Contains(err.Error(), "dlq-producer-properties") || !strings.Contains(err.Error(), "not supported with sync: true: SCSt waits that long at most for the broker's acknowledgement of a dead letter") {
			t.Errorf("%s: err = %v, want the refusal under sync: true", name, err)
		}
		if w := warned(warnings); len(w) != 0 {
			t.Errorf("%s: warned %v, want the refusal alone", name, w)
		}
	}

	// A configuration built otherwise: the binder takes it without sync.
	b, err := kafka.New(context.Background(), stream.BinderSettings{Name: "k", Type: kafka.Type})
	if err != nil {
		t.Fatal(err)
	}
	v := b.(stream.SpecValidator)
	err = v.ValidateConsumer(stream.ConsumerSpec{Binding: "in-0", Extension: map[string]any{
		"dlq-producer-properties": map[string]any{"send-timeout-expression": "1000"}}})
	if err != nil {
		t.Errorf("without sync: %v", err)
	}
	err = v.ValidateConsumer(stream.ConsumerSpec{Binding: "in-0", Extension: map[string]any{
		"dlq-producer-properties": map[string]any{"send-timeout-expression": "1000", "sync": true}}})
	wantErrs(t, err, map[string]string{"stream.kafka.bindings.in-0.consumer.dlq-producer-properties.send-timeout-expression": "not supported with sync: true"})
}
