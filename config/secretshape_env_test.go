package config

import (
	"strings"
	"testing"
)

// A list item of a key that names one secret value, given by an
// environment variable, is refused at the key, naming the variable and
// not its value, as a list given in a file is (TestSecretGivenListOrMap).
// The variable was ignored (spring.rabbitmq.*: the password was unset, as
// in Spring Boot, without a word) or handed to the binder as a list
// (stream.*, a binder's environment).
func TestSecretListItemFromEnv(t *testing.T) {
	for _, c := range []struct{ name, data, env, path string }{
		{"boot", "spring.rabbitmq.username: u\n", "SPRING_RABBITMQ_PASSWORD_0", "spring.rabbitmq.password"},
		{"boot key in the file", "spring.rabbitmq.password: p\n", "SPRING_RABBITMQ_PASSWORD_1", "spring.rabbitmq.password"},
		{"binder section", "stream.rabbit.binder.host: h\n", "STREAM_RABBIT_BINDER_PASSWORD_0", "stream.rabbit.binder.password"},
		{"scst binder section", "stream.kafka.binder.brokers: h\n", "SPRING_CLOUD_STREAM_KAFKA_BINDER_SASL_PASSWORD_0", "stream.kafka.binder.sasl-password"},
		{"binder environment", "stream.binders.x.type: rabbit\n", "STREAM_BINDERS_X_ENVIRONMENT_PASSWORD_0", "stream.binders.x.environment.password"},
		{"binder environment boot key", "stream.binders.x.type: rabbit\n", "STREAM_BINDERS_X_ENVIRONMENT_SPRING_RABBITMQ_PASSWORD_0", "stream.binders.x.environment.spring-rabbitmq-password"},
	} {
		t.Run(c.name, func(t *testing.T) {
			es := configErrors(t, Options{Data: []byte(c.data), Env: []string{c.env + "=s3cr3tA"}})
			if len(es) != 1 || es[0].Path != c.path || es[0].Origin != "env "+c.env || !strings.Contains(es[0].Msg, "a secret is one value") {
				t.Fatalf("got %v, want one problem at %s (env %s)", es, c.path, c.env)
			}
			if s := es.Error(); strings.Contains(s, "s3cr3t") {
				t.Errorf("the error shows the value: %s", s)
			}
		})
	}
	// Another variable after a secret's name (Docker's *_FILE), a list
	// item of a key that is no secret, and an application's own key
	// (checked by its type when decoded) stay.
	for _, env := range []string{"SPRING_RABBITMQ_PASSWORD_FILE=/run/secrets/p", "STREAM_BINDERS_X_ENVIRONMENT_ADDRESSES_0=h:5672", "MYAPP_PASSWORD_0=a"} {
		mustLoad(t, Options{Data: []byte("spring.rabbitmq.username: u\nmyapp.password: [a]\nstream.binders.x.type: rabbit\n"), Env: []string{env}})
	}
}
