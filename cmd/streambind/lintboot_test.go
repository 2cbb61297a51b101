package main

import "testing"

// A bad value of spring.kafka.* or spring.rabbitmq.* is reported at the
// Spring Boot key and its line, not at the binder key it becomes; with
// no default-binder, the spring.kafka / spring.rabbitmq section shows
// the binder that checks it (as the app registering only that binder).
func TestLintBootConnectionKeys(t *testing.T) {
	for _, tc := range []struct{ head, section, want string }{
		{"      default-binder: kafka\n", "kafka:\n    consumer:\n      auto-offset-reset: middle\n",
			`application.yaml:11: spring.kafka.consumer.auto-offset-reset: want earliest or latest, got "middle"`},
		{"", "kafka:\n    consumer:\n      auto-offset-reset: middle\n",
			`application.yaml:9: spring.kafka.consumer.auto-offset-reset: want earliest or latest, got "middle"`},
		{"", "kafka:\n    producer:\n      compression-type: brotli\n",
			`application.yaml:9: spring.kafka.producer.compression-type: want none, gzip, snappy, lz4 or zstd, got "brotli"`},
		{"", "kafka:\n    bootstrap-servers: host:notaport\n",
			`application.yaml:8: spring.kafka.bootstrap-servers: broker address "host:notaport": port "notaport" is not a number in 1..65535`},
		{"", "rabbitmq:\n    addresses: h:99999\n",
			`application.yaml:8: spring.rabbitmq.addresses: entry 1: the port is not a number from 1 to 65535 (want [amqp://|amqps://][user[:password]@]host[:port][/virtual-host]; the entry is not shown: it may hold a password)`},
	} {
		yaml := "spring:\n  cloud:\n    function:\n      definition: up\n    stream:\n" + tc.head +
			"      bindings:\n        up-in-0: {destination: a, group: g}\n  " + tc.section
		if tc.head == "" {
			yaml = "spring:\n  cloud:\n    function:\n      definition: up\n    stream:\n      bindings: {up-in-0: {destination: a, group: g}}\n  " + tc.section
		}
		dir := writeFiles(t, map[string]string{"application.yaml": yaml})
		r := runIn(t, dir, nil, "lint")
		if r.code != exitFailure {
			t.Errorf("%q: exit status %d, want 1", tc.section, r.code)
		}
		assertLines(t, r.lines(), []string{tc.want})
	}
}
