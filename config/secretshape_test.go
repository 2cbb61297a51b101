package config

import (
	"strings"
	"testing"
)

// A key that names one secret value (redact.IsSecretValueKey) given a
// list or a map is refused at its key and file:line, and the message shows
// none of the values. It was accepted and handed on as it came: Spring
// Boot binds no list or map to a String (the password is unset), and a
// binder's message about the value's type might quote it.
func TestSecretGivenListOrMap(t *testing.T) {
	for _, c := range []struct{ name, file, data, path, origin string }{
		{"boot list", "application.yaml", "spring:\n  rabbitmq:\n    password: [s3cr3tA, s3cr3tB]\n",
			"spring.rabbitmq.password", "application.yaml:3"},
		{"binder map", "application.yaml", "stream:\n  rabbit:\n    binder:\n      password:\n        a: s3cr3tA\n",
			"stream.rabbit.binder.password", "application.yaml:4"},
		{"scst dotted", "application.yaml", "spring.cloud.stream.kafka.binder.sasl.password:\n  - s3cr3tA\n",
			"stream.kafka.binder.sasl.password", "application.yaml:1"},
		{"client property", "application.yaml", "stream:\n  kafka:\n    binder:\n      configuration:\n        sasl.jaas.config: {a: s3cr3tA}\n",
			"stream.kafka.binder.configuration.sasl.jaas.config", "application.yaml:5"},
		{"environment", "application.yaml", "stream:\n  binders:\n    r1:\n      type: rabbit\n      environment:\n        spring.rabbitmq.password: [s3cr3tA]\n",
			"stream.binders.r1.environment.spring.rabbitmq.password", "application.yaml:6"},
		{"properties items", "application.properties", "spring.rabbitmq.username=u\nspring.rabbitmq.password[0]=s3cr3tA\nspring.rabbitmq.password[1]=s3cr3tB\n",
			"spring.rabbitmq.password", "application.properties:2"},
		{"inside a list item", "application.yaml", "stream:\n  binders:\n    r1:\n      type: rabbit\n      environment:\n        servers:\n          - host: h\n            password: [s3cr3tA]\n",
			"stream.binders.r1.environment.servers[0].password", "application.yaml:8"},
	} {
		t.Run(c.name, func(t *testing.T) {
			es := configErrors(t, Options{Data: []byte(c.data), Name: c.file})
			if len(es) != 1 || es[0].Path != c.path || es[0].Origin != c.origin || !strings.Contains(es[0].Msg, "a secret is one value") {
				t.Fatalf("got %v, want one problem at %s (%s)", es, c.path, c.origin)
			}
			if s := es.Error(); strings.Contains(s, "s3cr3t") {
				t.Errorf("the error shows a value: %s", s)
			}
		})
	}
	// Keys that hold several secrets, or maps walked for their keys, stay;
	// so does an application's own key, checked by its type when decoded.
	for _, ok := range []string{
		"stream:\n  kafka:\n    binder:\n      jaas:\n        login-module: m\n        options: {username: u, password: p}\n",
		"stream:\n  kafka:\n    binder:\n      configuration:\n        key: {serializer: s}\n",
		"myapp:\n  password: [a, b]\n  api-keys: [a, b]\n",
		// Logger names, not keys: Spring Boot's nested logger levels and a
		// logging group (a list of loggers) named like a secret.
		"logging:\n  level:\n    com.acme.secret:\n      store: DEBUG\n",
		"logging:\n  group:\n    token: [com.acme.a, com.acme.b]\n",
	} {
		mustLoad(t, Options{Data: []byte(ok)})
	}
}
