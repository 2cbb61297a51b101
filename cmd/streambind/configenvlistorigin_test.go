package main

import (
	"strings"
	"testing"
)

// streambind config names, as the origin of a list that variables set
// item by item, every one of them (it named the first only).
func TestConfigEnvListOriginNamesEveryVariable(t *testing.T) {
	dir := writeFiles(t, map[string]string{"application.yaml": "spring.cloud.function.definition: handleOrder\n" +
		"spring.cloud.stream.bindings.handleOrder-in-0: { destination: orders, group: g, binder: kafka }\n" +
		"spring.cloud.stream.kafka.binder.brokers: localhost:9092\n"})
	env := []string{"SPRING_CLOUD_STREAM_KAFKA_BINDER_BROKERS_0=a:1", "SPRING_CLOUD_STREAM_KAFKA_BINDER_BROKERS_1=b:1"}
	r := runIn(t, dir, env, "config")
	want := "      brokers: ['a:1', 'b:1'] # env SPRING_CLOUD_STREAM_KAFKA_BINDER_BROKERS_0, SPRING_CLOUD_STREAM_KAFKA_BINDER_BROKERS_1\n"
	if r.code != 0 || !strings.Contains(r.stdout, want) {
		t.Errorf("exit %d, stderr %s, stdout:\n%s\nwant the line %q", r.code, r.stderr, r.stdout, want)
	}
	for i := 2; i < 7; i++ {
		env = append(env, "SPRING_CLOUD_STREAM_KAFKA_BINDER_BROKERS_"+string(rune('0'+i))+"=c:1")
	}
	r = runIn(t, dir, env, "config", "--format", "json")
	want = `"origin": "env SPRING_CLOUD_STREAM_KAFKA_BINDER_BROKERS_0, SPRING_CLOUD_STREAM_KAFKA_BINDER_BROKERS_1, …, SPRING_CLOUD_STREAM_KAFKA_BINDER_BROKERS_6"`
	if r.code != 0 || !strings.Contains(r.stdout, want) {
		t.Errorf("7 items: exit %d, stderr %s, stdout:\n%s\nwant %s", r.code, r.stderr, r.stdout, want)
	}
	// One variable for the whole list: its name alone.
	r = runIn(t, dir, []string{"SPRING_CLOUD_STREAM_KAFKA_BINDER_BROKERS=a:1,b:1"}, "config")
	if want := "      brokers: a:1,b:1 # env SPRING_CLOUD_STREAM_KAFKA_BINDER_BROKERS\n"; !strings.Contains(r.stdout, want) {
		t.Errorf("one variable: stdout:\n%s\nwant the line %q", r.stdout, want)
	}
}
