package config

import (
	"strings"
	"testing"
)

// Since a "${" with no closing '}' is text (9cf88a0, as Spring), a '}'
// forgotten (destination: ${KAFKA_TOPIC) loaded silently as the
// destination "${KAFKA_TOPIC", which RabbitMQ and NATS create. The value
// is still taken as Spring takes it, with a warning naming the key and
// where it was set.
func TestUnclosedPlaceholderWarned(t *testing.T) {
	const warn = "the value holds a \"${\" with no closing '}'"
	for _, c := range []struct {
		data, env    string
		path, origin string
		want         string // in the warning; "" for none
		dest         string
	}{
		{"stream.bindings.o-out-0.destination: ${KAFKA_TOPIC\n", "KAFKA_TOPIC=orders",
			"stream.bindings.o-out-0.destination", "application.yaml:1", `: "${KAFKA_TOPIC"; as in Spring, it is taken as text`, "${KAFKA_TOPIC"},
		{"stream.bindings.o-out-0.destination: ${T}\n", "T=${KAFKA_TOPIC",
			"stream.bindings.o-out-0.destination", "application.yaml:1", `: "${KAFKA_TOPIC"; value from ${T};`, "${KAFKA_TOPIC"},
		{"a: 1\n", "SPRING_CLOUD_STREAM_BINDINGS_O_OUT_0_DESTINATION=x-${ENV",
			"stream.bindings.o-out-0.destination", "env SPRING_CLOUD_STREAM_BINDINGS_O_OUT_0_DESTINATION", `: "${ENV"`, "x-${ENV"},
		// A secret's value: not quoted.
		{"spring.rabbitmq.password: 'ab${Kq9zcd'\n", "X=1", "spring.rabbitmq.password", "application.yaml:1", "(a secret's value, not shown)", ""},
		{"myapp.x: ${DB_PASSWORD}\n", "DB_PASSWORD=ab${Kq9zcd", "myapp.x", "application.yaml:1", "(a secret's value, not shown); value from ${DB_PASSWORD}", ""},
		// Escaped, or closed: no warning.
		{"stream.bindings.o-out-0.destination: '\\${X'\n", "X=1", "", "", "", `\${X`},
		{"stream.bindings.o-out-0.destination: '\\${X}'\n", "X=1", "", "", "", "${X}"},
		{"stream.bindings.o-out-0.destination: '${X:{y}}'\n", "Y=1", "", "", "", "{y}"},
	} {
		l := mustLoad(t, Options{Data: []byte(c.data), Logger: discard, Env: []string{c.env}})
		var got []string
		for _, w := range l.Warnings {
			if strings.Contains(w.Msg, warn) {
				got = append(got, w.Error())
				if strings.Contains(w.Error(), "Kq9z") {
					t.Errorf("%q: the warning shows a secret: %v", c.data, w)
				}
				if w.Path != c.path || w.Origin != c.origin || c.want == "" || !strings.Contains(w.Msg, c.want) {
					t.Errorf("%q %s: warning %v; want at %s (%s) with %q", c.data, c.env, w, c.path, c.origin, c.want)
				}
			}
		}
		if c.want != "" && len(got) != 1 {
			t.Errorf("%q %s: warnings %q, want one", c.data, c.env, got)
		}
		if c.want == "" && len(got) != 0 {
			t.Errorf("%q %s: warnings %q, want none", c.data, c.env, got)
		}
		if c.dest != "" {
			if d := l.Stream.Binding("o-out-0").Destination; d != c.dest {
				t.Errorf("%q %s: destination %q, want %q (as Spring)", c.data, c.env, d, c.dest)
			}
		}
	}
}
