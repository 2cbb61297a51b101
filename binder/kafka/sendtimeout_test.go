package kafka_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/streambind/streambind/binder/kafka"
	"github.com/streambind/streambind/stream"
)

// TestSendTimeoutExpressionWithoutSyncStarts: SCSt's Kafka producer
// property send-timeout-expression is evaluated only with sync: true (how
// long a send waits for the broker's acknowledgement); without it, it has
// no effect in SCSt, and here it starts with a warning at its file:line
// (in a binding's section and in stream.kafka.default alike). Under
// sync: true (the binding's own or inherited from the default) it is
// still refused, saying what bounds a send here. Before, it was refused
// whatever sync said.
func TestSendTimeoutExpressionWithoutSyncStarts(t *testing.T) {
	const head = `spring:
  cloud:
    function:
      definition: enrich
    stream:
      bindings:
        enrich-in-0: { destination: orders, group: enricher }
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

	// Without sync: accepted, with a warning each at its line.
	warnings, err := scstAppWarnings(t, "application.yaml", head+`        default:
          producer:
            sendTimeoutExpression: 5000
        bindings:
          enrich-out-0:
            producer:
              sync: false
              send-timeout-expression: "headers['timeout']"
`)
	if err != nil {
		t.Fatalf("send-timeout-expression without sync: %v", err)
	}
	got := warned(warnings)
	want := []string{
		"spring.cloud.stream.kafka.default.producer.sendTimeoutExpression (application.yaml:14): ignored: SCSt evaluates it only with sync: true",
		"spring.cloud.stream.kafka.bindings.enrich-out-0.producer.send-timeout-expression (application.yaml:19): ignored: SCSt evaluates it only with sync: true",
	}
	wantTimeoutWarnings(t, got, want, "write-timeout × send-attempts")

	// Under sync: true, the binding's own or the default's, refused.
	for name, tail := range map[string]string{
		"binding's sync": `        bindings:
          enrich-out-0:
            producer: { sync: true, send-timeout-expression: "1000" }
`,
		"default's sync": `        default:
          producer: { sync: "true" }
        bindings:
          enrich-out-0:
            producer: { sendTimeoutExpression: "1000" }
`,
		"inherited expression": `        default:
          producer: { send-timeout-expression: "1000" }
        bindings:
          enrich-out-0:
            producer: { sync: true }
`,
	} {
		warnings, err := scstAppWarnings(t, "application.yaml", head+tail)
		if err == nil || !strings.Contains(err.Error(), "not supported with sync: true") || !strings.Contains(err.Error(), "Bridge().Send a context with a deadline") {
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
	for _, ext := range []map[string]any{
		{"sendTimeoutExpression": "1000"},
		{"send-timeout-expression": 1000, "sync": false},
	} {
		if err := v.ValidateProducer(stream.ProducerSpec{Binding: "out-0", Extension: ext}); err != nil {
			t.Errorf("%v: %v", ext, err)
		}
	}
	err = v.ValidateProducer(stream.ProducerSpec{Binding: "out-0", Extension: map[string]any{"send-timeout-expression": "1000", "sync": "true"}})
	wantErrs(t, err, map[string]string{"stream.kafka.bindings.out-0.producer.send-timeout-expression": "not supported with sync: true"})
}

// wantTimeoutWarnings checks that got holds exactly the warnings about
// send-timeout-expression that want starts (in any order), each also
// saying why (reason).
func wantTimeoutWarnings(t *testing.T, got, want []string, reason string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("warnings about send-timeout-expression:\n%s\nwant %d", strings.Join(got, "\n"), len(want))
	}
	for _, w := range want {
		if !slices.ContainsFunc(got, func(g string) bool { return strings.HasPrefix(g, w) && strings.Contains(g, reason) }) {
			t.Errorf("no warning %q...; got:\n%s", w, strings.Join(got, "\n"))
		}
	}
}
