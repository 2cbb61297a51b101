package redis_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/redis/redistest"
	"github.com/streambind/streambind/stream"
)

// writeCerts writes a CA and a server certificate for 127.0.0.1 signed by
// it (PEM) into dir and returns their paths.
func writeCerts(t *testing.T, dir string) (caFile, certFile, keyFile string) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ca := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "streambind test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	srv := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, srv, caCert, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	write := func(name, typ string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: b}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	return write("ca.pem", "CERTIFICATE", caDER), write("server.pem", "CERTIFICATE", der), write("server.key", "EC PRIVATE KEY", kb)
}

// TestTLS: with tls.ca-file the binder talks TLS to a server that only
// accepts TLS; without the CA the bind fails at once (not unavailable:
// retrying does not help), naming TLS.
func TestTLS(t *testing.T) {
	t.Parallel()
	ca, cert, key := writeCerts(t, t.TempDir())
	s := redistest.StartTLSServer(t, cert, key, ca)

	b := newBinder(t, map[string]any{"address": s.Addr(), "tls": map[string]any{"ca-file": ca}})
	tr := newTracker()
	bindConsumer(t, b, stream.ConsumerSpec{Destination: "tls", Group: "g",
		Handler: func(_ context.Context, m stream.Envelope) error { tr.receive(m.Headers[idHeader]); return nil }})
	sent := ids("m", 20)
	send(t, bindProducer(t, b, stream.ProducerSpec{Destination: "tls"}), sent)
	tr.wait(t, sent, 10*time.Second)

	bad := newBinder(t, map[string]any{"address": s.Addr(), "tls": true})
	_, err := bad.BindProducer(context.Background(), stream.ProducerSpec{Binding: "x-out-0", Destination: "tls"})
	if err == nil {
		t.Fatal("bind without the server's CA succeeded")
	}
	t.Logf("without the CA: %v", err)
	if errors.Is(err, stream.ErrUnavailable) {
		t.Errorf("a certificate the binder does not trust is marked unavailable: %v", err)
	}
}
