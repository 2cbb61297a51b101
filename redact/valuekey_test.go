package redact

import "testing"

// IsSecretValueKey: a key that names one secret value (a string), where a
// list or a map is a mistake, against keys that hold several secrets or
// name a map walked for its keys.
func TestIsSecretValueKey(t *testing.T) {
	for key, want := range map[string]bool{
		"spring.rabbitmq.password":                               true,
		"stream.kafka.binder.sasl.password":                      true,
		"stream.nats.binder.token":                               true,
		"stream.binders.r.environment.spring.rabbitmq.password":  true,
		"stream.kafka.binder.configuration.sasl.jaas.config":     true,
		"stream.kafka.binder.configuration.basic.auth.user.info": true,
		"stream.kafka.binder.configuration.ssl.key.password":     true,
		"stream.kafka.binder.jaas.options.password":              true,
		"outbox.dsn":                            true,
		"myapp.api-key":                         true,
		"myapp.client-secret":                   true,
		"myapp.pasword":                         true,
		"stream.kafka.binder.jaas":              false,
		"stream.kafka.binder.jaas.options":      false,
		"myapp.credentials":                     false,
		"myapp.credentials.user":                false,
		"myapp.passwords":                       false,
		"myapp.api-keys":                        false,
		"myapp.signing-keys":                    false,
		"myapp.tokens":                          false,
		"stream.kafka.binder.configuration.key": false,
		"stream.kafka.binder.configuration.key.serializer":                false,
		"stream.kafka.binder.configuration.basic.auth.credentials.source": false,
		"stream.bindings.password":                                        false,
		"stream.nats.binder.credentials-file":                             false,
		"stream.rabbit.binder.username":                                   false,
		"stream.bindings.x-in-0.producer.routing-key-expression":          false,
	} {
		if got := IsSecretValueKey(key); got != want {
			t.Errorf("IsSecretValueKey(%q) = %v, want %v", key, got, want)
		}
	}
}
