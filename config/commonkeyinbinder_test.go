package config

import (
	"strings"
	"testing"
)

// TestCommonKeyInBinderSection: a common binding property written in a
// binder type's binding section (spring.cloud.stream.kafka.bindings.<b>.consumer.maxAttempts,
// ...kafka.default.consumer.useNativeDecoding, ...rabbit.bindings.<b>.producer.requiredGroups,
// the binding's own group) is ignored, as SCSt's binder property classes
// have no such field, with a warning at its file:line naming where it
// takes effect, and is taken out of the section so that the binder does
// not refuse it. Before, start-up failed with the binder's "unknown key
// (known: start-offset, ...)". A key that is neither common nor the
// binder's stays in the section, for the binder to refuse; the binder's
// own keys stay.
func TestCommonKeyInBinderSection(t *testing.T) {
	y := `spring:
  cloud:
    stream:
      bindings:
        x-in-0:
          group: g
      kafka:
        default:
          consumer:
            useNativeDecoding: true
        bindings:
          x-in-0:
            consumer:
              maxAttempts: 5
              concurrency: 2
              group: other
              startOffset: earliest
              bogusKey: 1
      rabbit:
        bindings:
          x-out-0:
            producer:
              requiredGroups: orders
              routingKeyExpression: "'k'"
              partitioned: true
`
	l := mustLoad(t, Options{Data: []byte(y), Logger: discard, Env: []string{}})
	want := map[string]string{
		"stream.kafka.default.consumer.use-native-decoding":       "application.yaml:10: ignored: use-native-decoding is a common consumer property, not one of the kafka binder's, which SCSt ignores here too; to apply it, set stream.default.consumer.use-native-decoding (spring.cloud.stream.default.consumer.useNativeDecoding in SCSt's form)",
		"stream.kafka.bindings.x-in-0.consumer.max-attempts":      "application.yaml:14: ignored: max-attempts is a common consumer property, not one of the kafka binder's, which SCSt ignores here too; to apply it, set stream.bindings.x-in-0.consumer.max-attempts (spring.cloud.stream.bindings.x-in-0.consumer.maxAttempts in SCSt's form)",
		"stream.kafka.bindings.x-in-0.consumer.concurrency":       "application.yaml:15: ignored: concurrency is a common consumer property, not one of the kafka binder's, which SCSt ignores here too; to apply it, set stream.bindings.x-in-0.consumer.concurrency (spring.cloud.stream.bindings.x-in-0.consumer.concurrency in SCSt's form)",
		"stream.kafka.bindings.x-in-0.consumer.group":             "application.yaml:16: ignored: group is a property of the binding, not one of the kafka binder's consumer properties, which SCSt ignores here too; to apply it, set stream.bindings.x-in-0.group (spring.cloud.stream.bindings.x-in-0.group in SCSt's form)",
		"stream.rabbit.bindings.x-out-0.producer.required-groups": "application.yaml:23: ignored: required-groups is a common producer property, not one of the rabbit binder's, which SCSt ignores here too; to apply it, set stream.bindings.x-out-0.producer.required-groups (spring.cloud.stream.bindings.x-out-0.producer.requiredGroups in SCSt's form)",
		"stream.rabbit.bindings.x-out-0.producer.partitioned":     "application.yaml:25: ignored: partitioned is a common producer property of SCSt, not one of the rabbit binder's, which SCSt ignores here too; its place is stream.bindings.x-out-0.producer.partitioned (spring.cloud.stream.bindings.x-out-0.producer.partitioned in SCSt's form)",
	}
	wantWarnings(t, l, want)
	kc := l.Stream.Extensions["kafka"].Bindings["x-in-0"].Consumer
	if len(kc) != 2 || kc["start-offset"] == nil || kc["bogus-key"] == nil {
		t.Errorf("kafka consumer section = %v, want start-offset and bogus-key (the binder's and an unknown key, for the binder)", kc)
	}
	if d := l.Stream.Extensions["kafka"].Default.Consumer; len(d) != 0 {
		t.Errorf("kafka default consumer section = %v, want empty", d)
	}
	rp := l.Stream.Extensions["rabbit"].Bindings["x-out-0"].Producer
	if len(rp) != 1 || rp["routing-key-expression"] == nil {
		t.Errorf("rabbit producer section = %v, want routing-key-expression alone", rp)
	}
	// Ignored, as in SCSt: the common settings are not applied.
	c := l.Stream.Bindings["x-in-0"]
	if c.Group != "g" || c.Consumer.MaxAttempts == 5 || c.Consumer.Concurrency == 2 || c.Consumer.UseNativeDecoding {
		t.Errorf("binding x-in-0 = %+v: a key of the binder section was applied", c)
	}
	if rg := l.Stream.Bindings["x-out-0"].Producer.RequiredGroups; len(rg) != 0 {
		t.Errorf("required-groups = %v, want none", rg)
	}
	for _, w := range l.Warnings {
		if strings.Contains(w.Path, "bogus") {
			t.Errorf("unknown key warned instead of left to the binder: %v", w)
		}
	}
}

// The same keys set by environment variables, in the squashed form
// (SPRING_CLOUD_STREAM_KAFKA_BINDINGS_XIN0_CONSUMER_MAXATTEMPTS), get the
// same warning, naming the key in its canonical kebab-case spelling
// (consumer.max-attempts, not consumer.maxattempts) and the variable.
func TestCommonKeyInBinderSectionEnv(t *testing.T) {
	y := "spring:\n  cloud:\n    stream:\n      bindings:\n        x-in-0:\n          group: g\n"
	l := mustLoad(t, Options{Data: []byte(y), Logger: discard, Env: []string{
		"SPRING_CLOUD_STREAM_KAFKA_BINDINGS_XIN0_CONSUMER_MAXATTEMPTS=5",
		"SPRING_CLOUD_STREAM_KAFKA_DEFAULT_CONSUMER_USENATIVEDECODING=true",
	}})
	want := map[string][2]string{
		"stream.kafka.bindings.x-in-0.consumer.max-attempts": {"env SPRING_CLOUD_STREAM_KAFKA_BINDINGS_XIN0_CONSUMER_MAXATTEMPTS",
			"set stream.bindings.x-in-0.consumer.max-attempts (spring.cloud.stream.bindings.x-in-0.consumer.maxAttempts in SCSt's form)"},
		"stream.kafka.default.consumer.use-native-decoding": {"env SPRING_CLOUD_STREAM_KAFKA_DEFAULT_CONSUMER_USENATIVEDECODING",
			"set stream.default.consumer.use-native-decoding (spring.cloud.stream.default.consumer.useNativeDecoding in SCSt's form)"},
	}
	got := 0
	for _, w := range l.Warnings {
		if exp, ok := want[w.Path]; ok {
			got++
			if !strings.HasPrefix(w.Origin, exp[0]) || !strings.Contains(w.Msg, exp[1]) {
				t.Errorf("warning %s (%s): %s\nwant origin %s and %q", w.Path, w.Origin, w.Msg, exp[0], exp[1])
			}
		}
	}
	if got != len(want) {
		t.Errorf("warnings %v, want one at each of %v", l.Warnings, want)
	}
	if c := l.Stream.Extensions["kafka"].Bindings["x-in-0"].Consumer; len(c) != 0 {
		t.Errorf("left in the section: %v", c)
	}
	if d := l.Stream.Extensions["kafka"].Default.Consumer; len(d) != 0 {
		t.Errorf("left in the section: %v", d)
	}
}
