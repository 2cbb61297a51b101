package kafka_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/streambind/streambind/binder/kafka"
	"github.com/streambind/streambind/binder/kafka/kafkatest"
	"github.com/streambind/streambind/internal/syncbuf"
	"github.com/streambind/streambind/stream"
)

// testCA writes a CA certificate to dir and returns it with a server
// certificate for 127.0.0.1 / localhost signed by it.
func testCA(t *testing.T, dir string) (caFile string, server tls.Certificate) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "streambind test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	caFile = filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "localhost"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, KeyUsage: x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	return caFile, tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// roundTrip sends a few messages through b and waits for them.
func roundTrip(t *testing.T, b stream.Binder) {
	t.Helper()
	dest := uniqueTopic(t)
	tr := newTracker()
	startConsumer(t, b, consumerSpec(dest, "g", tr.handler()))
	p := bindProducer(t, b, dest, 1)
	produce(context.Background(), t, p, tr, "m", 20, 1, 0)
	tr.waitAll(t, faultTimeout)
}

func TestTLS(t *testing.T) {
	t.Parallel()
	caFile, cert := testCA(t, t.TempDir())
	c := kafkatest.Start(t, kfake.TLS(&tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}))
	t.Run("ca-file", func(t *testing.T) {
		b := newBinder(t, c, map[string]any{"tls": map[string]any{"ca-file": caFile}})
		closeBinder(t, b)
		roundTrip(t, b)
	})
	t.Run("insecure-skip-verify", func(t *testing.T) {
		b := newBinder(t, c, map[string]any{"tls": map[string]any{"insecure-skip-verify": true}})
		closeBinder(t, b)
		roundTrip(t, b)
	})
	t.Run("untrusted", func(t *testing.T) {
		b := newBinder(t, c, map[string]any{"tls": map[string]any{"enabled": true}, "dial-timeout": "2s"})
		closeBinder(t, b)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, err := b.BindProducer(ctx, stream.ProducerSpec{Binding: "x-out-0", Destination: uniqueTopic(t)})
		if err == nil {
			t.Fatal("bind against a broker with an untrusted certificate succeeded")
		}
		t.Logf("error (as expected): %v", err)
	})
}

func TestSASL(t *testing.T) {
	t.Parallel()
	const user, pass = "shop", "s3cr3t-Pa55word"
	for _, mech := range []string{"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"} {
		t.Run(mech, func(t *testing.T) {
			c := kafkatest.Start(t, kfake.EnableSASL(), kfake.Superuser(mech, user, pass))
			t.Run("ok", func(t *testing.T) {
				b := newBinder(t, c, map[string]any{"sasl": map[string]any{"mechanism": mech, "username": user, "password": pass}})
				closeBinder(t, b)
				roundTrip(t, b)
			})
			t.Run("wrong password", func(t *testing.T) {
				const wrong = "wr0ng-Pa55word-xyzzy"
				var logs syncbuf.Buffer
				b, err := kafka.New(context.Background(), stream.BinderSettings{
					Name: "secure", Type: kafka.Type,
					Environment: map[string]any{"brokers": c.Brokers(), "dial-timeout": "2s",
						"sasl": map[string]any{"mechanism": mech, "username": user, "password": wrong}},
					Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
				})
				if err != nil {
					t.Fatal(err)
				}
				closeBinder(t, b)
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				_, err = b.BindProducer(ctx, stream.ProducerSpec{Binding: "x-out-0", Destination: uniqueTopic(t)})
				if err == nil {
					t.Fatal("bind with a wrong password succeeded")
				}
				t.Logf("error (as expected): %v", err)
				if strings.Contains(err.Error(), wrong) {
					t.Errorf("the error contains the password: %v", err)
				}
				if strings.Contains(logs.String(), wrong) {
					t.Errorf("the logs contain the password:\n%s", logs.String())
				}
			})
		})
	}
}

// TestSecretsNotPrinted: configuration errors never echo the password.
func TestSecretsNotPrinted(t *testing.T) {
	const secret = "hunter2-very-secret"
	_, err := kafka.New(context.Background(), stream.BinderSettings{Name: "k", Type: kafka.Type, Environment: map[string]any{
		"sasl": map[string]any{"mechanism": "SCRAM-SHA-1", "password": secret, "nope": secret},
	}})
	if err == nil {
		t.Fatal("want errors")
	}
	for _, want := range []string{"mechanism", "username", "nope"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not name %q: %v", want, err)
		}
	}
	if strings.Contains(err.Error(), secret) {
		t.Errorf("error contains the password: %v", err)
	}
}
