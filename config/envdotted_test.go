package config

import (
	"strings"
	"testing"
)

// A variable named as the key it sets (spring.cloud.stream.kafka.binder.
// brokers=kafka:9092, as docker-compose files and Kubernetes manifests set
// SCSt services' configuration) is read as Spring Boot reads it: over the
// files, under the upper-case variables, checked as a file's key.
func TestDottedEnvironmentVariables(t *testing.T) {
	data := []byte("spring:\n  cloud:\n    stream:\n      bindings:\n        process-in-0: { destination: orders, group: g }\n        process-out-0: { destination: payments }\nmyapp:\n  url: http://files\n")
	l := mustLoad(t, Options{Data: data, Logger: discard, Env: []string{
		"spring.cloud.stream.bindings.process-in-0.destination=orders-from-env",
		"spring.cloud.stream.bindings.process-out-0.destination=dotted",
		"SPRING_CLOUD_STREAM_BINDINGS_PROCESS_OUT_0_DESTINATION=upper",
		"spring.cloud.stream.rabbit.bindings.process-in-0.consumer.autoBindDlq=true",
		"spring.rabbitmq.host=rabbit.example",
		"spring.cloud.function.definition=process",
		"myapp.url=http://env",
		"com.example.other=ignored",
		"spring.profiles.active=prod",
	}})
	b := l.Stream.Binding("process-in-0")
	if b.Destination != "orders-from-env" || b.Group != "g" {
		t.Errorf("process-in-0: destination %q group %q, want orders-from-env g", b.Destination, b.Group)
	}
	if o := l.Stream.Origins["stream.bindings.process-in-0.destination"]; o != "env spring.cloud.stream.bindings.process-in-0.destination" {
		t.Errorf("origin %q", o)
	}
	if d := l.Stream.Binding("process-out-0").Destination; d != "upper" {
		t.Errorf("process-out-0 destination %q, want upper (the upper-case variable wins, as in Spring Boot)", d)
	}
	if !b.Consumer.DLQ {
		t.Error("auto-bind-dlq from a dotted variable not read")
	}
	if l.Stream.Function.Definition != "process" {
		t.Errorf("definition %q", l.Stream.Function.Definition)
	}
	if a := l.Stream.ConnectionDefaults["rabbit"]["addresses"]; a != "rabbit.example:5672" {
		t.Errorf("rabbit addresses %v, want rabbit.example:5672", a)
	}
	var app struct {
		URL string `json:"url"`
	}
	if err := l.Decode("myapp", &app); err != nil || app.URL != "http://env" {
		t.Errorf("myapp.url %q (%v), want http://env", app.URL, err)
	}
	if _, ok := l.Raw["com"]; ok {
		t.Error("com.example.other (no root streambind or the files have) was read")
	}
	// spring.profiles.active as a variable activates the profile, as in
	// Spring Boot (see TestDottedSelectionVariables).
	if strings.Join(l.Profiles, ",") != "prod" {
		t.Errorf("spring.profiles.active=prod as a variable: profiles %v", l.Profiles)
	}

	es := configErrors(t, Options{Data: data, Env: []string{"spring.cloud.stream.bindings.process-in-0.groupp=x"}})
	if len(es) != 1 || es[0].Origin != "env spring.cloud.stream.bindings.process-in-0.groupp" || !strings.Contains(es[0].Msg, "did you mean group") {
		t.Errorf("misspelt dotted variable: %v", es)
	}
}
