package config

import (
	"errors"
	"testing"

	"github.com/streambind/streambind/stream"
)

// TestBootConnectionUnresolvedPlaceholder: a Spring Boot connection key
// whose placeholder failed is reported once, at its key, and the binder
// gets nothing for it. Its text (${KAFKA_BROKERS}) reached the binder's
// connection defaults, so that streambind lint, which goes on to check
// the binders' settings after the loader's problems, reported it a second
// time as a broker address ("host ${KAFKA_BROKERS} has '$'") or a JAAS
// line ("want a control flag after the login module ${JAAS}").
func TestBootConnectionUnresolvedPlaceholder(t *testing.T) {
	yaml := `spring:
  kafka:
    bootstrap-servers: ${KAFKA_BROKERS}
    client-id: orders
    properties:
      sasl.jaas.config: ${JAAS}
      sasl.mechanism: PLAIN
  rabbitmq:
    addresses: ${RABBIT_ADDRESSES}
    username: app
`
	l, err := Load(Options{Data: []byte(yaml), Env: []string{}, Logger: discard})
	if err == nil {
		t.Fatal("no error")
	}
	var es stream.ConfigErrors
	if !errors.As(err, &es) || len(es) != 3 {
		t.Errorf("%d problems, want 3 (one per placeholder): %v", len(es), err)
	}
	kafka, rabbit := l.Stream.ConnectionDefaults["kafka"], l.Stream.ConnectionDefaults["rabbit"]
	if _, ok := kafka["brokers"]; ok || kafka["client-id"] != "orders" {
		t.Errorf("kafka defaults %v: want client-id only, no brokers", kafka)
	}
	conf, _ := kafka["configuration"].(map[string]any)
	if _, ok := conf["sasl.jaas.config"]; ok || conf["sasl.mechanism"] != "PLAIN" {
		t.Errorf("kafka configuration %v: want sasl.mechanism only", conf)
	}
	if _, ok := rabbit["addresses"]; ok || rabbit["username"] != "app" {
		t.Errorf("rabbit defaults %v: want username only", rabbit)
	}
}
