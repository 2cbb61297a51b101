package main

import (
	"strings"
	"testing"
)

// A misspelt key of a binder's settings set by an indexed variable
// (BROKER_1) is reported as unknown, as BROKER_0 is, not as a list whose
// items are numbered with a gap: the loader takes the digits for an
// index, not knowing the binder's keys.
func TestLintEnvIndexedUnknownKey(t *testing.T) {
	dir := writeFiles(t, map[string]string{"application.yaml": "spring.cloud.function.definition: handleOrder\n" +
		"spring.cloud.stream.bindings.handleOrder-in-0: { destination: orders, group: g, binder: kafka }\n" +
		"spring.cloud.stream.kafka.binder.brokers: localhost:9092\n"})
	for _, v := range []string{"SPRING_CLOUD_STREAM_KAFKA_BINDER_BROKER_0", "SPRING_CLOUD_STREAM_KAFKA_BINDER_BROKER_1"} {
		r := runIn(t, dir, []string{v + "=x:1"}, "lint")
		want := "env " + v + ": stream.kafka.binder.broker: unknown key; did you mean brokers? (known: "
		if r.code != 1 || !strings.HasPrefix(r.stdout, want) || strings.Count(r.stdout, "\n") != 1 {
			t.Errorf("%s: exit %d, stdout:\n%s\nwant one line starting %q", v, r.code, r.stdout, want)
		}
	}
	// A gap in a key the binder knows stays the loader's problem.
	r := runIn(t, dir, []string{"SPRING_CLOUD_STREAM_KAFKA_BINDER_BROKERS_1=x:1"}, "lint")
	if want := "env SPRING_CLOUD_STREAM_KAFKA_BINDER_BROKERS_1: stream.kafka.binder.brokers: sets item 1, but no variable sets item 0 "; r.code != 1 || !strings.HasPrefix(r.stdout, want) {
		t.Errorf("BROKERS_1: exit %d, stdout:\n%s\nwant %q", r.code, r.stdout, want)
	}
}
