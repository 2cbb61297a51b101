package config

import (
	"strings"
	"testing"
)

// TestIgnoredBinderBindingKeys: SCSt's Kafka consumer keys trusted-packages
// (KafkaConsumerProperties.trustedPackages) and consumer-priority, and the
// RabbitMQ consumer's consumer-priority, start with a warning each at
// their file:line saying why they change nothing, and are taken out of
// the binder's section (in stream.<type>.default too). Before, the Kafka
// binder stopped start-up with "unknown key" for each.
func TestIgnoredBinderBindingKeys(t *testing.T) {
	p := `spring.cloud.stream.kafka.bindings.in-0.consumer.trusted-packages=com.example.*
spring.cloud.stream.kafka.bindings.in-0.consumer.consumer-priority=5
spring.cloud.stream.kafka.bindings.in-0.consumer.start-offset=earliest
spring.cloud.stream.kafka.default.consumer.trustedPackages=*
spring.cloud.stream.rabbit.bindings.r-in-0.consumer.consumer-priority=10
`
	l := mustLoad(t, Options{Name: "application.properties", File: "application.properties", Data: []byte(p), Logger: discard, Env: []string{}})
	want := map[string]struct {
		line string
		why  string
	}{
		"stream.kafka.bindings.in-0.consumer.trusted-packages":     {"application.properties:1", "no class-based header decoding"},
		"stream.kafka.bindings.in-0.consumer.consumer-priority":    {"application.properties:2", "consumer priority is RabbitMQ's"},
		"stream.kafka.default.consumer.trusted-packages":           {"application.properties:4", "no class-based header decoding"},
		"stream.rabbit.bindings.r-in-0.consumer.consumer-priority": {"application.properties:5", "x-priority"},
	}
	got := map[string]bool{}
	for _, w := range l.Warnings {
		wt, ok := want[w.Path]
		if !ok {
			continue
		}
		got[w.Path] = true
		if w.Origin != wt.line {
			t.Errorf("%s: origin %s, want %s", w.Path, w.Origin, wt.line)
		}
		if !strings.HasPrefix(w.Msg, "ignored: ") || !strings.Contains(w.Msg, wt.why) {
			t.Errorf("%s: %q does not say why (%q)", w.Path, w.Msg, wt.why)
		}
	}
	for p := range want {
		if !got[p] {
			t.Errorf("no warning for %s (warnings: %v)", p, l.Warnings)
		}
	}
	k := l.Stream.Extensions["kafka"]
	if c := k.Bindings["in-0"].Consumer; len(c) != 1 || c["start-offset"] != "earliest" {
		t.Errorf("kafka in-0 consumer = %v, want start-offset alone left for the binder", c)
	}
	if c := k.Default.Consumer; len(c) != 0 {
		t.Errorf("kafka default consumer = %v, want nothing left for the binder", c)
	}
	if c := l.Stream.Extensions["rabbit"].Bindings["r-in-0"].Consumer; len(c) != 0 {
		t.Errorf("rabbit r-in-0 consumer = %v, want nothing left for the binder", c)
	}
}
