package config

import (
	"strings"
	"testing"
	"time"
)

// Values written as Spring Boot binds them mean what they mean there:
// a boolean may be true/false, yes/no, on/off or 1/0 in any case (Spring's
// StringToBooleanConverter; YAML 1.1's yes/on, which Spring Boot's YAML
// loader reads as booleans).
func TestSpringBooleanWords(t *testing.T) {
	props := `spring.cloud.function.definition=process
spring.cloud.stream.bindings.process-in-0.group=g
spring.cloud.stream.bindings.process-in-0.consumer.batchMode=YES
spring.cloud.stream.bindings.process-in-0.consumer.auto-startup=off
spring.cloud.stream.kafka.bindings.process-in-0.consumer.enableDlq=on
spring.cloud.stream.bindings.process-out-0.producer.use-native-encoding=1
`
	l := mustLoad(t, Options{Data: []byte(props), File: "application.properties", Logger: discard, Env: []string{}})
	c := l.Stream.Bindings["process-in-0"].Consumer
	if !c.BatchMode || !c.DLQ {
		t.Errorf("batch-mode=YES and enableDlq=on: batch-mode %v, dlq %v; want both true", c.BatchMode, c.DLQ)
	}
	if c.AutoStartup == nil || *c.AutoStartup {
		t.Errorf("auto-startup=off: got %v, want false", c.AutoStartup)
	}
	if !l.Stream.Bindings["process-out-0"].Producer.UseNativeEncoding {
		t.Error("use-native-encoding=1: got false")
	}

	yaml := `spring:
  cloud:
    stream:
      bindings:
        a-in-0:
          group: g
          consumer:
            partitioned: yes
            default-retryable: No
`
	l = mustLoad(t, Options{Data: []byte(yaml), Logger: discard, Env: []string{}})
	c = l.Stream.Bindings["a-in-0"].Consumer
	if !c.Partitioned || c.DefaultRetryable == nil || *c.DefaultRetryable {
		t.Errorf("partitioned: yes, default-retryable: No: got %v, %v", c.Partitioned, c.DefaultRetryable)
	}

	_, err := Load(Options{Data: []byte("stream:\n  bindings:\n    a-in-0:\n      consumer:\n        batch-mode: maybe\n"), Logger: discard, Env: []string{}})
	if err == nil {
		t.Fatal("batch-mode: maybe was accepted")
	}
}

// SCSt's enums are bound leniently by Spring Boot (case, '-' and '_'
// ignored): header-mode: NONE is none, and EMBEDDED_HEADERS is still
// refused with the reason.
func TestHeaderModeAsSpringBindsIt(t *testing.T) {
	yaml := `spring:
  cloud:
    stream:
      default:
        producer:
          header-mode: None
      bindings:
        a-in-0:
          group: g
          consumer:
            header-mode: NONE
        a-out-0:
          producer:
            header-mode: HEADERS
`
	l := mustLoad(t, Options{Data: []byte(yaml), Logger: discard, Env: []string{}})
	if got := l.Stream.Bindings["a-in-0"].Consumer.HeaderMode; got != "none" {
		t.Errorf("consumer header-mode NONE read as %q, want none", got)
	}
	if got := l.Stream.Bindings["a-out-0"].Producer.HeaderMode; got != "headers" {
		t.Errorf("producer header-mode HEADERS read as %q, want headers", got)
	}
	if got := l.Stream.Binding("other").Producer.HeaderMode; got != "none" {
		t.Errorf("stream.default's header-mode None read as %q, want none", got)
	}

	es := configErrors(t, Options{Data: []byte("stream:\n  bindings:\n    a-in-0:\n      consumer:\n        header-mode: EMBEDDED_HEADERS\n"), Env: []string{}})
	if len(es) != 1 || es[0].Path != "stream.bindings.a-in-0.consumer.header-mode" || !strings.Contains(es[0].Msg, "embeddedHeaders is not supported") {
		t.Errorf("EMBEDDED_HEADERS: got %v, want the embeddedHeaders refusal", es)
	}
}

// Durations in Spring Boot's ISO-8601 and days forms, which Go's lack,
// mean what they mean there.
func TestSpringDurationForms(t *testing.T) {
	yaml := `spring:
  cloud:
    stream:
      bindings:
        a-in-0:
          group: g
          consumer:
            back-off-max-interval: PT20S
            back-off-initial-interval: pt0.5s
      bindings.a-out-0.producer.poller.fixed-delay: 1d
`
	l := mustLoad(t, Options{Data: []byte(yaml), Logger: discard, Env: []string{}})
	c := l.Stream.Bindings["a-in-0"].Consumer
	if c.BackOffMaxInterval != 20*time.Second || c.BackOffInitialInterval != 500*time.Millisecond {
		t.Errorf("PT20S, pt0.5s read as %v, %v", c.BackOffMaxInterval, c.BackOffInitialInterval)
	}
	if got := l.Stream.Bindings["a-out-0"].Producer.Poller.FixedDelay; got != 24*time.Hour {
		t.Errorf("1d read as %v", got)
	}
}
