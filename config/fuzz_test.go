package config

import (
	"errors"
	"testing"

	"github.com/streambind/streambind/stream"
)

// FuzzLoad feeds arbitrary bytes as the base file, and one arbitrary
// environment entry. Load must never panic, must always return a Loaded,
// must report problems only as stream.ConfigErrors, and must be
// deterministic.
func FuzzLoad(f *testing.F) {
	for _, s := range []string{
		kebabYAML, camelYAML, scstYAML,
		"",
		"stream:\n  bindings:\n    x-in-0: {group: a\n",
		"stream:\n\tdefault-binder: x\n",
		"- a\n- b\n",
		"a: &x [*x]\n",
		"a: &a [*a, *a]\nb: &b [*a, *a]\nc: &c [*b, *b]\nd: &d [*c, *c]\n",
		"stream:\n  default-binder: ${\n  bindings: { x-in-0: { group: '${}', destination: '${A:${B' } }\n",
		"stream: {}\n---\nstream: {}\n",
		"stream:\n  bindings:\n    x-in-0:\n      consumer: { max-attempts: 0, back-off-initial-interval: 99999999999999999999 }\n",
		"stream.bindings..group: x\n",
		"? [a]\n: b\n",
		"stream:\n  bindings:\n    <<: {x-in-0: {group: g}}\n",
		"stream:\n  kafka: 5\n  rabbit: { binder: [1], bindings: { x: 1 } }\n",
		"stream:\n  binders: { k: { environment: 1 } }\n  dynamic-destinations: { a: 1 }\n",
		"spring: 1\nspring.cloud.stream.default-binder: x\n",
		"stream: !!binary aGVsbG8=\n",
		"stream:\n  shutdown-timeout: -9223372036854775808\n",
		"spring.profiles.active: a\n---\nspring.config.activate.on-profile: '!a & (b | c)'\nstream: { default-binder: x }\n---\nspring.profiles: [a]\n",
		"a: ${b}\nb: ${a}\nstream:\n  default-binder: ${spring.application.name:${a}}\n",
		"spring.rabbitmq: { host: h, port: p, ssl: { enabled: maybe } }\nspring.kafka.bootstrap-servers: [a]\n",
		"stream:\n  function: { bindings: { p-in-0: Input } }\n  bindings: { INPUT: { group: g }, ChargePayment-in-0: {} }\n  poller: { fixed-delay: 1s, cron: x }\n",
	} {
		f.Add([]byte(s), "STREAM_BINDINGS_X_IN_0_GROUP=${G:g}")
	}
	f.Add([]byte(kebabYAML), "STREAM_BINDERS_LOCAL_KAFKA_ENVIRONMENT_BROKERS_X=1")
	f.Add([]byte(kebabYAML), "STREAM__=1")
	f.Add([]byte(kebabYAML), `SPRING_APPLICATION_JSON={"stream":{"bindings":{"x-in-0":{"group":"j"}}},"a.b":[1]}`)
	f.Add([]byte("logging:\n  level: { root: INFO, org.x: DEBUG }\nmanagement:\n  server: { address: h, port: 80 }\n  endpoints.web.exposure.include: '*'\n"), "LOGGING_LEVEL=trace")
	f.Add([]byte(kebabYAML), "SPRING_CLOUD_STREAM_BINDINGS_X_IN_0_DESTINATON=x")
	f.Add([]byte(kebabYAML), "STREAM_KAFKA_BINDINGS_CHARGEPAYMENT_IN_0_CONSUMER=1")
	const app = "myapp:\n  db: { url: u, maxConns: 1 }\n  hosts: [a, b]\n  servers: [ { host: h } ]\nmanagement:\n  server: { address: ':1' }\n"
	for _, env := range []string{
		"MYAPP_HOSTS_1=x", "MYAPP_HOSTS[0]_=x", "MYAPP_SERVERS_0_HOST=${H:h}", "MYAPP_SERVERS[9999]=1", "MYAPP_DB_MAX_CONNS=x",
		"MANAGEMENT_SERVER_ADRESS=1", "MANAGEMENT_SERVER=1", "LOGGING_LEVEL_ROOT=debug", "LOGGING_LEVL=x", "MANAGEMENT_SERVER_PORT=tcp://1",
		"STREAM_BINDINGS_X_OUT_0_PRODUCER_REQUIRED_GROUPS_3=a", "MYAPP_TENANTS_A_B_URL=x", "MYAPP_[0]=1", "MYAPP__DB=1",
	} {
		f.Add([]byte(app), env)
	}
	f.Fuzz(func(t *testing.T, data []byte, env string) {
		opts := Options{Dir: t.TempDir(), Data: data, Env: []string{env}}
		l, err := Load(opts)
		if l == nil || l.Stream == nil {
			t.Fatal("Load returned no Loaded")
		}
		if err != nil {
			var es stream.ConfigErrors
			if !errors.As(err, &es) || len(es) == 0 {
				t.Fatalf("error %T is not a non-empty stream.ConfigErrors: %v", err, err)
			}
		}
		l2, err2 := Load(opts)
		if (err == nil) != (err2 == nil) || (err != nil && err.Error() != err2.Error()) {
			t.Fatalf("not deterministic:\n%v\n%v", err, err2)
		}
		// Decode takes whatever Load made, for any root.
		for _, section := range []string{"myapp", "management", "a.b"} {
			var c1, c2 testApp
			err, err2 := l.Decode(section, &c1), l2.Decode(section, &c2)
			if err != nil {
				var es stream.ConfigErrors
				if !errors.As(err, &es) || len(es) == 0 {
					t.Fatalf("Decode: error %T is not a non-empty stream.ConfigErrors: %v", err, err)
				}
			}
			if (err == nil) != (err2 == nil) || (err != nil && err.Error() != err2.Error()) {
				t.Fatalf("Decode not deterministic:\n%v\n%v", err, err2)
			}
		}
	})
}
