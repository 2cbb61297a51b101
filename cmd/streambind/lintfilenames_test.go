package main

import (
	"strings"
	"testing"
)

// A Spring "classpath:" location can never be read by a Go service, on any
// host: under a Kafka client property, as the NATS credentials-file or as
// a tls ca-file (NATS, Redis, RabbitMQ) it is an error, not a file warning
// (lint exits 1 without --check-files), as it is under the Spring Boot key
// (spring.kafka.ssl.trust-store-location). A "file:" prefix is dropped, as
// the Boot keys drop it: the file is looked for at the path after it.
func TestLintClasspathLocationIsAnError(t *testing.T) {
	dir := writeFiles(t, map[string]string{"application.yaml": `stream:
  function:
    definition: up;r;q
  kafka:
    binder:
      brokers: localhost:9093
      configuration:
        security.protocol: SSL
        ssl.truststore.type: PEM
        ssl.truststore.location: classpath:certs/ca.pem
  binders:
    n:
      type: nats
      environment:
        credentials-file: "classpath:app.creds"
        tls: {ca-file: classpath:ca.pem}
    r:
      type: redis
      environment:
        tls: {ca-file: classpath:redis-ca.pem}
    q:
      type: rabbit
      environment:
        tls: {ca-file: "file:/nonexistent/rabbit-ca.pem"}
  bindings:
    up-in-0: {destination: a, group: g, binder: kafka}
    up-out-0: {destination: b, binder: n}
    r-in-0: {destination: c, group: g, binder: r}
    q-in-0: {destination: d, group: g, binder: q}
`})
	r := runIn(t, dir, []string{}, "lint")
	if r.code != exitFailure {
		t.Errorf("exit %d, want 1 (a classpath: location is never readable):\n%s", r.code, r.stdout)
	}
	const cp = `: a classpath: resource cannot be read by a Go service; give a file path`
	for _, want := range []string{
		`application.yaml:10: stream.kafka.binder.configuration.ssl.truststore.location: "classpath:certs/ca.pem"` + cp,
		`application.yaml:15: stream.binders.n.environment.credentials-file: "classpath:app.creds"` + cp,
		`application.yaml:16: stream.binders.n.environment.tls.ca-file: "classpath:ca.pem"` + cp,
		`application.yaml:20: stream.binders.r.environment.tls.ca-file: "classpath:redis-ca.pem"` + cp,
		// file: dropped: the file itself is missing (a warning).
		"application.yaml:24: stream.binders.q.environment.tls.ca-file: warning: file /nonexistent/rabbit-ca.pem: cannot be read",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("lint does not say\n%s\n%s", want, r.stdout)
		}
	}
}

// A NATS credentials block (user JWT and nkey seed) pasted as the value of
// credentials / credentials-file instead of a file name is never shown:
// lint and config (its problem list) show the file problem with the name
// as ******.
func TestLintCredentialsContentsNotShown(t *testing.T) {
	const seed = "SUAMSECRETSEEDXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"
	const jwt = "eyJhbGciOi.SECRETJWT"
	for _, key := range []string{"credentials", "credentials-file"} {
		dir := writeFiles(t, map[string]string{"application.yaml": `stream:
  function:
    definition: up
  binders:
    n:
      type: nats
      environment:
        ` + key + `: "-----BEGIN NATS USER JWT-----\n` + jwt + `\n------END NATS USER JWT------\n-----BEGIN USER NKEY SEED-----\n` + seed + `\n------END USER NKEY SEED------\n"
  bindings:
    up-in-0: {destination: a, binder: n}
    up-out-0: {destination: b, binder: n}
`})
		for _, cmd := range []string{"lint", "config"} {
			r := runIn(t, dir, []string{}, cmd)
			out := r.stdout + r.stderr
			for _, secret := range []string{seed, "SECRETJWT", "BEGIN"} {
				if strings.Contains(out, secret) {
					t.Errorf("%s (%s) shows %q:\n%s", cmd, key, secret, out)
				}
			}
			if want := "application.yaml:8: stream.binders.n.environment." + key + ": warning: file ******"; !strings.Contains(out, want) {
				t.Errorf("%s (%s) does not say %q:\n%s", cmd, key, want, out)
			}
		}
	}
}
