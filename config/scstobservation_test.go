package config

import (
	"testing"
)

// TestSCStEnableObservationIgnoredWithWarning: an SCSt file with
// spring.cloud.stream.kafka.binder.enableObservation=true runs unchanged:
// the key is taken out with a warning at its line saying where tracing is
// configured (it was refused by the binder, failing start-up). false,
// SCSt's default, is left to the binder, which accepts it.
func TestSCStEnableObservationIgnoredWithWarning(t *testing.T) {
	props := "spring.cloud.stream.kafka.binder.brokers=localhost:9092\nspring.cloud.stream.kafka.binder.enableObservation=true\n"
	l := mustLoad(t, Options{Data: []byte(props), Name: "application.properties", Logger: discard, Env: []string{}})
	var found bool
	for _, w := range l.Warnings {
		if w.Path == "stream.kafka.binder.enable-observation" {
			found = true
			if want := "application.properties:2: ignored: tracing is configured with management.tracing.* (package telemetry, stream.WithTracerProvider), which traces every binding on every binder"; w.Origin+": "+w.Msg != want {
				t.Errorf("warning %s: %s\nwant %s", w.Origin, w.Msg, want)
			}
		}
	}
	if !found {
		t.Errorf("no warning for enable-observation (warnings: %v)", l.Warnings)
	}
	if _, ok := l.Stream.Extensions["kafka"].Binder["enable-observation"]; ok {
		t.Errorf("enable-observation left for the binder: %v", l.Stream.Extensions["kafka"].Binder)
	}
	l = mustLoad(t, Options{Data: []byte("spring.cloud.stream.kafka.binder.enable-observation=false\n"), Name: "application.properties", Logger: discard, Env: []string{}})
	for _, w := range l.Warnings {
		if w.Path == "stream.kafka.binder.enable-observation" {
			t.Errorf("warning at false: %s", w.Msg)
		}
	}
}
