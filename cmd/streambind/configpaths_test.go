package main

import (
	"strings"
	"testing"
)

// streambind config shows the path of a file a key names (the NATS
// credentials file, TLS key and certificate files, a Kafka key store's
// location), so that a user sees what a placeholder resolved to; the
// secrets next to them stay hidden.
func TestConfigShowsFilePaths(t *testing.T) {
	dir := writeFiles(t, map[string]string{"application.yaml": `stream:
  default-binder: nats
  nats:
    binder:
      servers: nats://127.0.0.1:4222
      credentials-file: ${NATS_CREDS}
      password: hunter2
      tls:
        cert-file: /etc/tls/client.pem
        key-file: /etc/tls/client-key.pem
  binders:
    k:
      type: kafka
      environment:
        brokers: k:9092
        configuration:
          ssl.keystore.location: /etc/kafka/keystore.pem
          ssl.key.password: hunter2
  bindings:
    work-in-0:
      group: g
`})
	m, r := configEntries(t, dir, []string{"NATS_CREDS=/run/secrets/app.creds"})
	if strings.Contains(r.stdout+r.stderr, "hunter2") {
		t.Fatalf("a password shows:\n%s\n%s", r.stdout, r.stderr)
	}
	for key, want := range map[string]string{
		"stream.nats.binder.credentials-file":                              "/run/secrets/app.creds",
		"stream.nats.binder.tls.cert-file":                                 "/etc/tls/client.pem",
		"stream.nats.binder.tls.key-file":                                  "/etc/tls/client-key.pem",
		"stream.nats.binder.password":                                      "******",
		"stream.binders.k.environment.configuration.ssl.keystore.location": "/etc/kafka/keystore.pem",
		"stream.binders.k.environment.configuration.ssl.key.password":      "******",
	} {
		e, ok := m[key]
		if !ok {
			t.Errorf("%s not printed (stdout %s)", key, r.stdout)
			continue
		}
		if e.Value != want {
			t.Errorf("%s = %v, want %q", key, e.Value, want)
		}
	}
	// The YAML output too.
	r = runIn(t, dir, []string{"NATS_CREDS=/run/secrets/app.creds"}, "config")
	if !strings.Contains(r.stdout, "credentials-file: /run/secrets/app.creds # application.yaml:6\n") {
		t.Errorf("yaml: no credentials-file path in\n%s", r.stdout)
	}
}
