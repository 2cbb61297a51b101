package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nkeys"
)

// filesYAML is a service with a Kafka binder over SSL (a PEM trust store
// and key store) and a RabbitMQ binder over TLS (CA file, client
// certificate and key), the files at the paths given; extra goes under
// the kafka binder's configuration.
func filesYAML(trust, keystore, ca, cert, key, extra string) string {
	return fmt.Sprintf(`spring:
  cloud:
    function:
      definition: up;down
    stream:
      default-binder: kafka
      binders:
        kafka:
          type: kafka
          environment:
            brokers: k1:9093
            configuration:
              security.protocol: SSL
              ssl.truststore.location: %s
              ssl.keystore.location: %s%s
        rabbit:
          type: rabbit
          environment:
            addresses: amqps://mq:5671
            tls:
              ca-file: %s
              cert-file: %s
              key-file: %s
      bindings:
        up-in-0: {destination: a, group: g}
        up-out-0: {destination: b}
        down-in-0: {destination: b, group: g, binder: rabbit}
`, trust, keystore, extra, ca, cert, key)
}

// pemFiles writes a CA certificate, a client certificate and its key, and
// a Kafka PEM key store (key and certificate in one file) to dir.
func pemFiles(t *testing.T, dir string) (ca, cert, key, keystore string) {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "lint test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder})
	ca, cert, key, keystore = filepath.Join(dir, "ca.pem"), filepath.Join(dir, "client.pem"), filepath.Join(dir, "client-key.pem"), filepath.Join(dir, "keystore.pem")
	for f, b := range map[string][]byte{ca: certPEM, cert: certPEM, key: keyPEM, keystore: append(append([]byte{}, keyPEM...), certPEM...)} {
		if err := os.WriteFile(f, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return ca, cert, key, keystore
}

const fileHintText = " (an error with streambind lint --check-files, and when the app starts)"

// A right configuration whose certificate files are not there (a CI job)
// lints with a warning for each file, at its key and line, and exit
// status 0, --strict too; --check-files makes them errors. With the files
// there, lint is clean either way.
func TestLintCertificateFiles(t *testing.T) {
	nowhere := filepath.Join(t.TempDir(), "not-here")
	trust, keystore := filepath.Join(nowhere, "kafka-ca.pem"), filepath.Join(nowhere, "kafka-keystore.pem")
	ca, cert, key := filepath.Join(nowhere, "rabbit-ca.pem"), filepath.Join(nowhere, "client.pem"), filepath.Join(nowhere, "client-key.pem")
	dir := writeFiles(t, map[string]string{"application.yaml": filesYAML(trust, keystore, ca, cert, key, "")})
	missing := func(f string) string { return "file " + f + ": cannot be read: no such file or directory" }
	lines := []struct{ at, msg string }{
		{"application.yaml:14: spring.cloud.stream.binders.kafka.environment.configuration.ssl.truststore.location: ", missing(trust)},
		{"application.yaml:15: spring.cloud.stream.binders.kafka.environment.configuration.ssl.keystore.location: ", missing(keystore)},
		{"application.yaml:21: spring.cloud.stream.binders.rabbit.environment.tls.ca-file: ", missing(ca)},
		{"application.yaml:22: spring.cloud.stream.binders.rabbit.environment.tls.cert-file: ", missing(cert)},
		{"application.yaml:23: spring.cloud.stream.binders.rabbit.environment.tls.key-file: ", missing(key)},
	}
	var warnings, errs []string
	for _, l := range lines {
		warnings = append(warnings, l.at+"warning: "+l.msg+fileHintText)
		errs = append(errs, l.at+l.msg)
	}

	for _, args := range [][]string{{"lint"}, {"lint", "--strict"}} {
		r := runIn(t, dir, nil, args...)
		if r.code != exitOK || r.stderr != "" {
			t.Errorf("%v: exit status %d, stderr %q; want 0", args, r.code, r.stderr)
		}
		assertLines(t, r.lines(), warnings)
	}
	r := runIn(t, dir, nil, "lint", "--check-files")
	if r.code != exitFailure {
		t.Errorf("--check-files: exit status %d, want 1", r.code)
	}
	assertLines(t, r.lines(), errs)

	r = runIn(t, dir, nil, "lint", "--format", "github")
	if r.code != exitOK || !strings.HasPrefix(r.stdout, "::warning file=application.yaml,line=14::") {
		t.Errorf("--format github: exit status %d, stdout %q", r.code, r.stdout)
	}

	// The files there: clean, with and without --check-files.
	ca, cert, key, ks := pemFiles(t, t.TempDir())
	good := writeFiles(t, map[string]string{"application.yaml": filesYAML(ca, ks, ca, cert, key, "")})
	for _, args := range [][]string{{"lint"}, {"lint", "--check-files"}, {"lint", "--check-files", "--strict"}} {
		r := runIn(t, good, nil, args...)
		if r.code != exitOK || r.stdout != "" || r.stderr != "" {
			t.Errorf("files there, %v: exit status %d, stdout %q, stderr %q; want 0 and nothing", args, r.code, r.stdout, r.stderr)
		}
	}
}

// A file that is there but does not hold what its setting needs is a
// problem of the file too: a warning, an error with --check-files; its
// contents are never shown.
func TestLintCertificateFileContents(t *testing.T) {
	fdir := t.TempDir()
	ca, cert, _, ks := pemFiles(t, fdir)
	bogus := filepath.Join(fdir, "bogus.pem")
	if err := os.WriteFile(bogus, []byte("password=hunter2-s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	dir := writeFiles(t, map[string]string{"application.yaml": filesYAML(bogus, ks, bogus, cert, ca, "")})
	want := []string{
		"application.yaml:14: spring.cloud.stream.binders.kafka.environment.configuration.ssl.truststore.location: file " + bogus + ": is not a PEM file (a JKS or PKCS12 store?): Go's TLS reads PEM files only; convert it with keytool and openssl and set the store type to PEM",
		"application.yaml:21: spring.cloud.stream.binders.rabbit.environment.tls.ca-file: file " + bogus + ": no PEM certificate in it",
		"application.yaml:23: spring.cloud.stream.binders.rabbit.environment.tls.key-file: file " + ca + ": loading the client certificate's key (cert-file " + cert + "): tls: found a certificate rather than a key in the PEM for the private key",
	}
	r := runIn(t, dir, nil, "lint", "--check-files")
	if r.code != exitFailure {
		t.Errorf("--check-files: exit status %d, want 1", r.code)
	}
	assertLines(t, r.lines(), want)
	r = runIn(t, dir, nil, "lint")
	if r.code != exitOK {
		t.Errorf("exit status %d, want 0", r.code)
	}
	var warnings []string
	for _, w := range want {
		at, msg, _ := strings.Cut(w, ": file ")
		warnings = append(warnings, at+": warning: file "+msg+fileHintText)
	}
	assertLines(t, r.lines(), warnings)
	if strings.Contains(r.stdout+r.stderr, "hunter2") {
		t.Errorf("the file's contents are shown: %s", r.stdout)
	}
}

// What is wrong with the settings whatever the files is an error without
// --check-files too, the missing files still warnings beside it.
func TestLintCertificateSettingsStillChecked(t *testing.T) {
	trust := filepath.Join(t.TempDir(), "not-here", "ca.pem")
	service := func(kafkaConf, rabbitTLS string) string {
		return `spring:
  cloud:
    function:
      definition: up;down
    stream:
      default-binder: kafka
      binders:
        kafka:
          type: kafka
          environment:
            configuration:
` + kafkaConf + `
        rabbit:
          type: rabbit
          environment:
            addresses: amqps://mq:5671
            tls:
` + rabbitTLS + `
      bindings:
        up-in-0: {destination: a, group: g}
        up-out-0: {destination: b}
        down-in-0: {destination: b, group: g, binder: rabbit}
`
	}
	kafkaSSL := "              security.protocol: SSL\n              ssl.truststore.location: " + trust
	rabbitCA := "              ca-file: " + trust
	for _, tc := range []struct {
		name, kafka, rabbit, want string
	}{
		{"store type not supported", kafkaSSL + "\n              ssl.truststore.type: JKS", rabbitCA,
			"application.yaml:14: spring.cloud.stream.binders.kafka.environment.configuration.ssl.truststore.type: JKS is not supported: Go's TLS reads PEM files only (convert a JKS or PKCS12 store with keytool and openssl, and set PEM)"},
		{"password of a store", kafkaSSL + "\n              ssl.truststore.password: changeit", rabbitCA,
			"application.yaml:14: spring.cloud.stream.binders.kafka.environment.configuration.ssl.truststore.password: not supported: only PEM trust stores are supported, and they take no password (convert JKS or PKCS12 with keytool -exportcert -rfc)"},
		{"TLS under plaintext", "              security.protocol: PLAINTEXT\n              ssl.truststore.location: " + trust, rabbitCA,
			"application.yaml:13: spring.cloud.stream.binders.kafka.environment.configuration.ssl.truststore.location: TLS is used only with security.protocol SSL or SASL_SSL, and security.protocol is PLAINTEXT"},
		{"cert-file without key-file", kafkaSSL, rabbitCA + "\n              cert-file: " + trust,
			"application.yaml:18: spring.cloud.stream.binders.rabbit.environment.tls: cert-file and key-file go together"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeFiles(t, map[string]string{"application.yaml": service(tc.kafka, tc.rabbit)})
			r := runIn(t, dir, nil, "lint")
			if r.code != exitFailure {
				t.Errorf("exit status %d, want 1", r.code)
			}
			found, warned := false, false
			for _, l := range r.lines() {
				if strings.Contains(l, ": warning: file "+trust+": cannot be read") {
					warned = true
					continue
				}
				if l != tc.want {
					t.Errorf("unexpected line %q", l)
				}
				found = true
			}
			if !found || !warned {
				t.Errorf("want %q and a warning about %s, got\n%s", tc.want, trust, r.stdout)
			}
		})
	}
}

// config and graph, which do not connect either, take a file's problem
// as lint does without --check-files: a warning (config prints it on
// stderr), not a failure.
func TestConfigAndGraphCertificateFiles(t *testing.T) {
	nowhere := filepath.Join(t.TempDir(), "not-here")
	f := filepath.Join(nowhere, "x.pem")
	dir := writeFiles(t, map[string]string{"application.yaml": filesYAML(f, f, f, f, f, "")})
	r := runIn(t, dir, nil, "config")
	if r.code != exitOK || !strings.Contains(r.stderr, "tls.ca-file: warning: file "+f+": cannot be read") {
		t.Errorf("config: exit status %d, stderr %q", r.code, r.stderr)
	}
	r = runIn(t, dir, nil, "graph")
	if r.code != exitOK {
		t.Errorf("graph: exit status %d, stderr %q", r.code, r.stderr)
	}
}

// natsLintYAML is a service on a NATS binder whose settings name the
// credentials file creds (line 12), more binder settings following.
func natsLintYAML(creds, more string) string {
	return `spring:
  cloud:
    function:
      definition: up
    stream:
      default-binder: nats
      bindings:
        up-in-0: {destination: a, group: g}
      nats:
        binder:
          servers: nats://h:4222
          credentials-file: ` + creds + `
` + more
}

// A NATS binder's credentials file and CA file are files too.
func TestLintNATSFiles(t *testing.T) {
	nowhere := filepath.Join(t.TempDir(), "not-here")
	creds, ca := filepath.Join(nowhere, "user.creds"), filepath.Join(nowhere, "ca.pem")
	dir := writeFiles(t, map[string]string{"application.yaml": natsLintYAML(creds, "          tls:\n            ca-file: "+ca+"\n")})
	r := runIn(t, dir, nil, "lint")
	if r.code != exitOK || len(r.lines()) != 2 || !strings.Contains(r.stdout, "application.yaml:12: spring.cloud.stream.nats.binder.credentials-file: warning: file "+creds+": cannot be read: no such file or directory"+fileHintText) ||
		!strings.Contains(r.stdout, "application.yaml:14: spring.cloud.stream.nats.binder.tls.ca-file: warning: file "+ca+": cannot be read") {
		t.Errorf("exit status %d, stdout:\n%s", r.code, r.stdout)
	}
	r = runIn(t, dir, nil, "lint", "--check-files")
	if r.code != exitFailure || len(r.lines()) != 2 || strings.Contains(r.stdout, "warning") {
		t.Errorf("--check-files: exit status %d, stdout:\n%s", r.code, r.stdout)
	}
}

// natsCredsFile writes a real NATS credentials file (a user JWT signed by
// an account, and the user's nkey seed) to dir and returns its path.
func natsCredsFile(t *testing.T, dir string) string {
	t.Helper()
	akp, err := nkeys.CreateAccount()
	if err != nil {
		t.Fatal(err)
	}
	ukp, err := nkeys.CreateUser()
	if err != nil {
		t.Fatal(err)
	}
	upub, _ := ukp.PublicKey()
	ujwt, err := jwt.NewUserClaims(upub).Encode(akp)
	if err != nil {
		t.Fatal(err)
	}
	seed, _ := ukp.Seed()
	creds, err := jwt.FormatUserConfig(ujwt, seed)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "good.creds")
	if err := os.WriteFile(p, creds, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// A NATS credentials file that is there but is not one (its contents are
// never shown) is a file problem at the key's line like one that is not
// there; two auth methods are reported at the line of the second one; a
// real credentials file passes --check-files.
func TestLintNATSCredentialsContents(t *testing.T) {
	files := t.TempDir()
	bad := filepath.Join(files, "bad.creds")
	if err := os.WriteFile(bad, []byte("not a creds file\nSUAsecret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	good := natsCredsFile(t, files)
	yaml := natsLintYAML
	const badMsg = ": holds no user JWT, holds an nkey seed that is not valid (want a NATS credentials file: a user JWT and its nkey seed, as nsc writes it)"
	dir := writeFiles(t, map[string]string{"application.yaml": yaml(bad, "")})
	r := runIn(t, dir, nil, "lint")
	if want := "application.yaml:12: spring.cloud.stream.nats.binder.credentials-file: warning: file " + bad + badMsg + fileHintText; r.code != exitOK || len(r.lines()) != 1 || r.lines()[0] != want {
		t.Errorf("exit status %d, stdout:\n%s\nwant:\n%s", r.code, r.stdout, want)
	}
	r = runIn(t, dir, nil, "lint", "--check-files")
	if want := "application.yaml:12: spring.cloud.stream.nats.binder.credentials-file: file " + bad + badMsg; r.code != exitFailure || len(r.lines()) != 1 || r.lines()[0] != want {
		t.Errorf("--check-files: exit status %d, stdout:\n%s\nwant:\n%s", r.code, r.stdout, want)
	}
	if strings.Contains(r.stdout+r.stderr, "SUAsecret") || strings.Contains(r.stdout+r.stderr, "not a creds") {
		t.Errorf("lint shows the file's contents:\n%s%s", r.stdout, r.stderr)
	}

	dir = writeFiles(t, map[string]string{"application.yaml": yaml(good, "")})
	if r := runIn(t, dir, nil, "lint", "--check-files"); r.code != exitOK || r.stdout != "" {
		t.Errorf("a real credentials file: exit status %d, stdout:\n%s", r.code, r.stdout)
	}

	dir = writeFiles(t, map[string]string{"application.yaml": yaml(good, "          token: t0k-secret\n")})
	r = runIn(t, dir, nil, "lint", "--check-files")
	if want := "application.yaml:13: spring.cloud.stream.nats.binder.token: set only one of username/password, token and credentials-file (also set: stream.nats.binder.credentials-file)"; r.code != exitFailure || len(r.lines()) != 1 || r.lines()[0] != want {
		t.Errorf("token and credentials-file: exit status %d, stdout:\n%s\nwant:\n%s", r.code, r.stdout, want)
	}
	if strings.Contains(r.stdout+r.stderr, "t0k-secret") {
		t.Errorf("lint shows the token:\n%s", r.stdout)
	}
}

// A binder whose settings fail only because of their files (missing
// where lint runs) still has its bindings checked against its real
// settings, not reading the files: a binding problem that depends on the
// binder's settings (Kafka: fetch.min.bytes of the binder's
// consumer-properties above a binding's max-bytes; Kafka is the only
// binder whose binding checks depend on its settings) is reported, lint
// exits 1 beside the file warnings, as with the files there (and as the
// app fails). Each way Kafka reads a file is covered: a PEM store, a
// store of Kafka's default type (read to tell PEM), and the binder's tls
// keys.
func TestLintFileWarningKeepsSettingsDependentBindingChecks(t *testing.T) {
	const want = "fetch.min.bytes (500000) is above the largest fetch"
	for _, tc := range []struct {
		name     string
		security func(ca, cert, key, keystore string) string // under the binder's environment
	}{
		{"PEM trust store", func(ca, _, _, _ string) string {
			return `
        configuration:
          security.protocol: SSL
          ssl.truststore.type: PEM
          ssl.truststore.location: ` + ca
		}},
		{"stores of the default type", func(ca, _, _, keystore string) string {
			return `
        configuration:
          security.protocol: SSL
          ssl.truststore.location: ` + ca + `
          ssl.keystore.location: ` + keystore
		}},
		{"tls keys", func(ca, cert, key, _ string) string {
			return `
        tls:
          ca-file: ` + ca + `
          cert-file: ` + cert + `
          key-file: ` + key
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			yaml := func(ca, cert, key, keystore string) string {
				return `stream:
  function:
    definition: up
  binders:
    k:
      type: kafka
      environment:
        brokers: localhost:9092
        consumer-properties:
          fetch.min.bytes: 500000` + tc.security(ca, cert, key, keystore) + `
  kafka:
    bindings:
      up-in-0:
        consumer:
          max-bytes: 1000
  bindings:
    up-in-0: {destination: a, group: g, binder: k}
    up-out-0: {destination: b, binder: k}
`
			}
			dir := t.TempDir()
			ca, cert, key, keystore := pemFiles(t, dir)
			write := func(s string) {
				t.Helper()
				if err := os.WriteFile(filepath.Join(dir, "application.yaml"), []byte(s), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			write(yaml(ca, cert, key, keystore))
			present := runIn(t, dir, nil, "lint")
			if present.code != exitFailure || !strings.Contains(present.stdout, want) || strings.Contains(present.stdout, "warning: file ") {
				t.Fatalf("files present: exit %d\n%s", present.code, present.stdout)
			}
			gone := filepath.Join(dir, "not-here")
			write(yaml(gone+"/ca.pem", gone+"/cert.pem", gone+"/key.pem", gone+"/keystore.pem"))
			missing := runIn(t, dir, nil, "lint")
			if missing.code != exitFailure || !strings.Contains(missing.stdout, want) || !strings.Contains(missing.stdout, "warning: file "+gone) {
				t.Errorf("files missing: exit %d, want 1 with the binding error and the file warnings:\n%s", missing.code, missing.stdout)
			}
			checked := runIn(t, dir, nil, "lint", "--check-files")
			if checked.code != exitFailure || !strings.Contains(checked.stdout, want) || !strings.Contains(checked.stdout, ": file "+gone) {
				t.Errorf("--check-files: exit %d, want 1 with the binding error and the file errors:\n%s", checked.code, checked.stdout)
			}
		})
	}
}
