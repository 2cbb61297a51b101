package nats_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	natsbinder "github.com/streambind/streambind/binder/nats"
	"github.com/streambind/streambind/binder/nats/natstest"
	"github.com/streambind/streambind/stream"
)

// logBuffer collects log output, for checking that no secret is logged.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// authBinder makes a binder whose debug log goes to logs, through a
// logger that names the binder as the App's does.
func authBinder(t *testing.T, env map[string]any, logs *logBuffer) stream.Binder {
	t.Helper()
	b, err := natsbinder.New(context.Background(), stream.BinderSettings{
		Name: "nats", Type: natsbinder.Type, Environment: env,
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})).With("binder", "nats"),
	})
	if err != nil {
		t.Fatal(err)
	}
	closeBinder(t, b)
	return b
}

// roundTrip sends one message through b and waits for it.
func roundTrip(t *testing.T, b stream.Binder) {
	t.Helper()
	dest := unique(t, "auth")
	tr := newTracker()
	startConsumer(t, b, stream.ConsumerSpec{Destination: dest, Group: "g", Handler: tr.handler(0)})
	p := bindProducer(t, b, stream.ProducerSpec{Destination: dest})
	if err := p.Send(context.Background(), msg("one")); err != nil {
		t.Fatal(err)
	}
	tr.wait(t, []string{"one"}, 10*time.Second)
}

// refused checks that binding on b fails at once, not as unavailable
// (retrying cannot help), saying why, without the secrets.
func refused(t *testing.T, b stream.Binder, logs *logBuffer, secrets ...string) {
	t.Helper()
	start := time.Now()
	_, err := b.BindProducer(context.Background(), stream.ProducerSpec{Binding: "x-out-0", Destination: unique(t, "refused"), ContentType: "text/plain"})
	if err == nil {
		t.Fatal("BindProducer with wrong credentials succeeded")
	}
	t.Log(err)
	if errors.Is(err, stream.ErrUnavailable) {
		t.Errorf("wrong credentials reported as unavailable (the app would retry them until startup-timeout): %v", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("refusal took %s", d)
	}
	if !strings.Contains(err.Error(), "authentication failed") {
		t.Errorf("error %q does not say that authentication failed", err)
	}
	for _, s := range secrets {
		if strings.Contains(err.Error(), s) {
			t.Errorf("error shows the secret %q: %v", s, err)
		}
		if strings.Contains(logs.String(), s) {
			t.Errorf("log shows the secret %q:\n%s", s, logs)
		}
	}
}

func TestUserPassword(t *testing.T) {
	const pw = "s3cr3t-Pa55w0rd"
	srv := natstest.Start(t, natstest.Options{Config: `authorization { user: alice, password: "` + pw + `" }` + "\n"})
	var logs logBuffer
	t.Run("right", func(t *testing.T) {
		roundTrip(t, authBinder(t, map[string]any{"servers": srv.URL(), "username": "alice", "password": pw}, &logs))
	})
	t.Run("wrong", func(t *testing.T) {
		var logs logBuffer
		const wrong = "Wr0ng-Passw0rd-xyz"
		refused(t, authBinder(t, map[string]any{"servers": srv.URL(), "username": "alice", "password": wrong}, &logs), &logs, wrong, pw)
	})
	t.Run("wrong-in-url", func(t *testing.T) {
		var logs logBuffer
		const wrong = "Url-Passw0rd-xyz"
		refused(t, authBinder(t, map[string]any{"servers": "nats://alice:" + wrong + "@" + srv.Addr()}, &logs), &logs, wrong)
	})
	if strings.Contains(logs.String(), pw) {
		t.Errorf("log shows the password:\n%s", logs.String())
	}
	// The App's logger names the binder; the binder does not again.
	if !strings.Contains(logs.String(), "nats: connected") {
		t.Errorf("no connected line in the log:\n%s", logs.String())
	}
	for _, line := range strings.Split(logs.String(), "\n") {
		if strings.Count(line, "binder=") > 1 {
			t.Errorf("a log line names the binder twice: %s", line)
		}
	}
}

func TestToken(t *testing.T) {
	const token = "t0ken-Secret-0123456789"
	srv := natstest.Start(t, natstest.Options{Config: `authorization { token: "` + token + `" }` + "\n"})
	var logs logBuffer
	t.Run("right", func(t *testing.T) {
		roundTrip(t, authBinder(t, map[string]any{"servers": srv.URL(), "token": token}, &logs))
	})
	t.Run("wrong", func(t *testing.T) {
		var logs logBuffer
		const wrong = "wr0ng-t0ken-9876543210"
		refused(t, authBinder(t, map[string]any{"servers": srv.URL(), "token": wrong}, &logs), &logs, wrong, token)
	})
	if strings.Contains(logs.String(), token) {
		t.Errorf("log shows the token:\n%s", logs.String())
	}
}

// TestTLS: a server that requires TLS is reached with the CA file of its
// certificate; without it (system roots) the bind fails as a TLS error,
// not as unavailable.
func TestTLS(t *testing.T) {
	dir := t.TempDir()
	ca, cert, key := writeCerts(t, dir)
	srv := natstest.Start(t, natstest.Options{Config: "tls {\n  cert_file: \"" + cert + "\"\n  key_file: \"" + key + "\"\n}\n"})
	var logs logBuffer
	t.Run("ca-file", func(t *testing.T) {
		roundTrip(t, authBinder(t, map[string]any{"servers": srv.URL(), "tls": map[string]any{"ca-file": ca}}, &logs))
	})
	t.Run("unknown-ca", func(t *testing.T) {
		b := authBinder(t, map[string]any{"servers": srv.URL(), "tls": map[string]any{"enabled": true}}, &logs)
		_, err := b.BindProducer(context.Background(), stream.ProducerSpec{Binding: "x-out-0", Destination: unique(t, "tls"), ContentType: "text/plain"})
		if err == nil || errors.Is(err, stream.ErrUnavailable) {
			t.Fatalf("BindProducer with an unknown CA: %v, want a TLS error that is not unavailable", err)
		}
		t.Log(err)
	})
}

// writeCerts writes a CA and a server certificate for 127.0.0.1 signed by
// it, PEM, and returns their paths.
func writeCerts(t *testing.T, dir string) (caFile, certFile, keyFile string) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "natstest CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	srvKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	srvTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	srvDER, err := x509.CreateCertificate(rand.Reader, srvTmpl, caCert, &srvKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(srvKey)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name, typ string, der []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	return write("ca.pem", "CERTIFICATE", caDER), write("server.pem", "CERTIFICATE", srvDER), write("server-key.pem", "EC PRIVATE KEY", keyDER)
}
