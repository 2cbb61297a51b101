package conf

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/props"
)

func selfSignedPEM(t *testing.T, cn string) (tls.Certificate, []byte, []byte) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn}, DNSNames: []string{"localhost"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}}
	der, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	kder, _ := x509.MarshalECPrivateKey(key)
	cp := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	kp := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})
	c, err := tls.X509KeyPair(cp, kp)
	if err != nil {
		t.Fatal(err)
	}
	return c, cp, kp
}

// TestClientCertificateNotSentWhereNotAccepted: a server that asks for a
// client certificate without requiring one, and trusts only another CA,
// lets the client in without it — as Go's TLS does with Certificates; with
// the reloading GetClientCertificate (915ab4a) the client sent it anyway
// and the handshake failed with "unknown certificate authority" (review).
func TestClientCertificateNotSentWhereNotAccepted(t *testing.T) {
	dir := t.TempDir()
	srv, srvPEM, _ := selfSignedPEM(t, "server")
	_, otherCA, _ := selfSignedPEM(t, "other-ca")
	_, cp, kp := selfSignedPEM(t, "client")
	os.WriteFile(filepath.Join(dir, "ca.pem"), srvPEM, 0o600)
	os.WriteFile(filepath.Join(dir, "c.pem"), cp, 0o600)
	os.WriteFile(filepath.Join(dir, "k.pem"), kp, 0o600)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(otherCA)
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{srv}, ClientAuth: tls.VerifyClientCertIfGiven, ClientCAs: pool})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { c.(*tls.Conn).Handshake(); c.Write([]byte("x")); c.Close() }()
		}
	}()
	var d props.Decoder
	cfg := (&TLS{Set: true, CAFile: filepath.Join(dir, "ca.pem"), CertFile: filepath.Join(dir, "c.pem"), KeyFile: filepath.Join(dir, "k.pem"), ServerName: "localhost"}).Build(&d, "x")
	if d.Err() != nil {
		t.Fatal(d.Err())
	}
	conn, err := tls.Dial("tcp", ln.Addr().String(), cfg.Clone())
	if err == nil {
		b := make([]byte, 1)
		_, err = conn.Read(b)
		conn.Close()
	}
	if err != nil {
		t.Fatalf("handshake with a server that does not require the certificate: %v", err)
	}
}

// TestKeyFileNotPEMAtKeyFile: a key-file without PEM data is reported at
// key-file (it was at cert-file: review); a file with the key and an
// encrypted block besides still loads.
func TestKeyFileNotPEMAtKeyFile(t *testing.T) {
	dir := t.TempDir()
	_, cp, kp := selfSignedPEM(t, "client")
	os.WriteFile(filepath.Join(dir, "c.pem"), cp, 0o600)
	os.WriteFile(filepath.Join(dir, "k.der"), []byte("not pem at all"), 0o600)
	os.WriteFile(filepath.Join(dir, "both.pem"), append(append([]byte{}, kp...), []byte("-----BEGIN ENCRYPTED PRIVATE KEY-----\nMAMCAQE=\n-----END ENCRYPTED PRIVATE KEY-----\n")...), 0o600)
	for _, k := range []string{"k.der", "both.pem"} {
		var d props.Decoder
		(&TLS{Set: true, CertFile: filepath.Join(dir, "c.pem"), CertPath: "x.tls.cert-file", KeyFile: filepath.Join(dir, k), KeyPath: "x.tls.key-file"}).Build(&d, "x")
		err := d.Err()
		switch {
		case k == "k.der" && (err == nil || !strings.Contains(err.Error(), "x.tls.key-file: ")):
			t.Errorf("%s: %v; want it at x.tls.key-file", k, err)
		case k == "both.pem" && err != nil:
			t.Errorf("%s: %v; want it to load", k, err)
		}
	}
}
