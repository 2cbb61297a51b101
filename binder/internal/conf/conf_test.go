package conf

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/props"
	"github.com/streambind/streambind/stream"
)

func TestStringAndSecret(t *testing.T) {
	if s, err := String("  a b \n"); err != nil || s != "a b" {
		t.Fatalf("String: %q, %v", s, err)
	}
	if s, err := Secret(" pw "); err != nil || s != " pw " {
		t.Fatalf("Secret: %q, %v", s, err)
	}
	if _, err := Secret(12345); err == nil || strings.Contains(err.Error(), "12345") || strings.Contains(err.Error(), "int") {
		t.Fatalf("Secret of a number: %v", err)
	}
}

func decode(t *testing.T, v any, hs bool) (TLS, error, error) {
	t.Helper()
	var d props.Decoder
	var ts TLS
	err := ts.Decode(&d, "x.tls", v, hs)
	return ts, err, d.Err()
}

func TestDecode(t *testing.T) {
	ts, err, derr := decode(t, true, false)
	if err != nil || derr != nil || !ts.Set || ts.Enabled == nil || !*ts.Enabled {
		t.Fatalf("bool: %+v %v %v", ts, err, derr)
	}
	ts, err, derr = decode(t, map[string]any{"enabled": false, "ca-file": " /ca ", "cert-file": "/c", "key-file": "/k", "server-name": "h", "insecure-skip-verify": true, "handshake-first": true}, true)
	if err != nil || derr != nil || *ts.Enabled || ts.CAFile != "/ca" || ts.CertFile != "/c" || ts.KeyFile != "/k" || ts.ServerName != "h" || !ts.SkipVerify || !ts.HandshakeFirst {
		t.Fatalf("map: %+v %v %v", ts, err, derr)
	}
	_, err, _ = decode(t, 3, true)
	if err == nil || err.Error() != "want a map (enabled, ca-file, cert-file, key-file, server-name, insecure-skip-verify, handshake-first) or a bool" {
		t.Fatalf("number: %v", err)
	}
	_, err, _ = decode(t, 3, false)
	if err == nil || err.Error() != "want a map (enabled, ca-file, cert-file, key-file, server-name, insecure-skip-verify) or a bool" {
		t.Fatalf("number: %v", err)
	}
	_, err, derr = decode(t, map[string]any{"handshake-first": true}, false)
	if err != nil || derr == nil || !strings.Contains(derr.Error(), "x.tls.handshake-first") || strings.Contains(derr.Error(), "known: enabled, ca-file, cert-file, key-file, server-name, insecure-skip-verify,") {
		t.Fatalf("handshake-first where the binder has none: %v %v", err, derr)
	}
	_, err, derr = decode(t, map[string]any{"bogus": 1}, true)
	if err != nil || derr == nil || !strings.Contains(derr.Error(), "x.tls.bogus") || !strings.Contains(derr.Error(), "handshake-first") {
		t.Fatalf("unknown key: %v %v", err, derr)
	}
}

func build(ts TLS) (*tls.Config, error) {
	var d props.Decoder
	c := ts.Build(&d, "env")
	return c, d.Err()
}

func TestBuildOffAndErrors(t *testing.T) {
	f := false
	for _, ts := range []TLS{{}, {Set: true, Enabled: &f}} {
		if c, err := build(ts); c != nil || err != nil {
			t.Fatalf("%+v: %v %v, want no TLS", ts, c, err)
		}
	}
	c, err := build(TLS{Set: true, ServerName: "h", SkipVerify: true})
	if err != nil || c.MinVersion != tls.VersionTLS12 || c.ServerName != "h" || !c.InsecureSkipVerify {
		t.Fatalf("plain: %+v %v", c, err)
	}
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "ca.txt")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		ts   TLS
		want string
	}{
		{TLS{Set: true, CAFile: filepath.Join(dir, "missing.pem")}, "env.tls.ca-file: file " + filepath.Join(dir, "missing.pem") + ": cannot be read: no such file or directory"},
		{TLS{Set: true, CAFile: notPEM}, "env.tls.ca-file: file " + notPEM + ": no PEM certificate in it"},
		{TLS{Set: true, CAFile: dir}, "env.tls.ca-file: file " + dir + ": cannot be read: is a directory"},
		{TLS{Set: true, CertFile: "/c"}, "env.tls: cert-file and key-file go together"},
		{TLS{Set: true, KeyFile: "/k"}, "env.tls: cert-file and key-file go together"},
		{TLS{Set: true, CertFile: notPEM, KeyFile: notPEM}, "env.tls.cert-file: file " + notPEM + ": loading the client certificate: tls: "},
		{TLS{Set: true, CertFile: notPEM, KeyFile: "/nope/k.pem"}, "env.tls.key-file: file /nope/k.pem: cannot be read"},
		{TLS{Set: true, CAFile: "/nope/ca.pem", CAPath: "a.b.CaFile"}, "a.b.CaFile: file /nope/ca.pem: cannot be read"},
	} {
		if _, err := build(tc.ts); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Fatalf("%+v: got %v, want %q", tc.ts, err, tc.want)
		}
	}
}

// Every file is checked, each problem reported once, at its key, and a
// problem with a file reads "file <name>: ..." (FileProblem), which
// streambind lint tells from the others; the others do not.
func TestBuildReportsEveryFile(t *testing.T) {
	var d props.Decoder
	ts := TLS{Set: true, CAFile: "/nope/ca.pem", CertFile: "/nope/c.pem", KeyFile: "/nope/k.pem"}
	ts.Build(&d, "env")
	var ces stream.ConfigErrors
	if !errors.As(d.Err(), &ces) || len(ces) != 3 {
		t.Fatalf("got %v, want 3 problems", d.Err())
	}
	for i, want := range []struct{ path, file string }{{"env.tls.ca-file", "/nope/ca.pem"}, {"env.tls.cert-file", "/nope/c.pem"}, {"env.tls.key-file", "/nope/k.pem"}} {
		if ces[i].Path != want.path || ces[i].Msg != "file "+want.file+": cannot be read: no such file or directory" {
			t.Errorf("problem %d: %s: %s, want %s: file %s: ...", i, ces[i].Path, ces[i].Msg, want.path, want.file)
		}
	}
	_, err := build(TLS{Set: true, CertFile: "/nope/c.pem"})
	if err == nil || strings.Contains(err.Error(), ": file ") {
		t.Fatalf("cert-file alone: %v, want a problem that is not about a file", err)
	}
	// One key store file for both: read once, reported once.
	var d2 props.Decoder
	(&TLS{Set: true, CertFile: "/nope/ks.pem", KeyFile: "/nope/ks.pem"}).Build(&d2, "env")
	if !errors.As(d2.Err(), &ces) || len(ces) != 1 || ces[0].Path != "env.tls.cert-file" {
		t.Fatalf("one file for both: %v", d2.Err())
	}
}

func TestDecodeRecordsFileKeys(t *testing.T) {
	ts, err, derr := decode(t, map[string]any{"CA-File": "/ca", "cert_file": "/c", "keyFile": "/k"}, false)
	if err != nil || derr != nil || ts.CAPath != "x.tls.CA-File" || ts.CertPath != "x.tls.cert_file" || ts.KeyPath != "x.tls.keyFile" {
		t.Fatalf("%+v %v %v", ts, err, derr)
	}
}

func TestReadFile(t *testing.T) {
	f := filepath.Join(t.TempDir(), "x.pem")
	if err := os.WriteFile(f, []byte("secret contents"), 0o600); err != nil {
		t.Fatal(err)
	}
	if b, err := ReadFile(f); err != nil || string(b) != "secret contents" {
		t.Fatalf("%q %v", b, err)
	}
	_, err := ReadFile(f + ".missing")
	if err == nil || err.Error() != "file "+f+".missing: cannot be read: no such file or directory" {
		t.Fatalf("missing: %v", err)
	}
	if err := FileProblem("/a", "is %s", "odd"); err.Error() != "file /a: is odd" {
		t.Fatalf("FileProblem: %v", err)
	}
}

func TestBuildLoadsCAAndClientCertificate(t *testing.T) {
	dir := t.TempDir()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile := filepath.Join(dir, "c.pem"), filepath.Join(dir, "k.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := build(TLS{Set: true, CAFile: certFile, CertFile: certFile, KeyFile: keyFile})
	if err != nil {
		t.Fatal(err)
	}
	if c.RootCAs == nil || len(c.Certificates) != 1 {
		t.Fatalf("roots %v, %d certificates", c.RootCAs, len(c.Certificates))
	}
}

// TestBuildCAFileWithSkipVerify: ca-file and insecure-skip-verify true
// together are an error at ca-file: Go's TLS verifies nothing then, so
// the CA file was silently unused (security trial).
func TestBuildCAFileWithSkipVerify(t *testing.T) {
	var d props.Decoder
	ts := TLS{Set: true, CAFile: "/nonexistent/ca.pem", CAPath: "x.tls.ca-file", SkipVerify: true, SkipFiles: true}
	ts.Build(&d, "x")
	if err := d.Err(); err == nil || !strings.Contains(err.Error(), "x.tls.ca-file: is not used with insecure-skip-verify true") {
		t.Fatalf("ca-file with insecure-skip-verify: %v", err)
	}
	var d2 props.Decoder
	ts = TLS{Set: true, SkipVerify: true}
	if c := ts.Build(&d2, "x"); d2.Err() != nil || c == nil || !c.InsecureSkipVerify {
		t.Fatalf("insecure-skip-verify alone: %v, %v", c, d2.Err())
	}
}

// TestBuildKeyProblemsAtKeyFile: a key-file that does not fit the
// certificate, and one holding an encrypted key, are reported at key-file
// (they were reported at cert-file, an encrypted key as "failed to parse
// private key" alone: security trial).
func TestBuildKeyProblemsAtKeyFile(t *testing.T) {
	dir := t.TempDir()
	_, certPEM, _ := selfSignedPEM(t, "client")
	_, _, otherKeyPEM := selfSignedPEM(t, "other")
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	block := func(b *pem.Block) []byte { return pem.EncodeToMemory(b) }
	certFile := write("c.pem", certPEM)
	for _, tc := range []struct {
		name, keyFile, want string
	}{
		{"another key", write("other.pem", otherKeyPEM), "does not match"},
		{"encrypted PKCS#8", write("enc8.pem", block(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: []byte{0x30, 0x03, 0x02, 0x01, 0x01}})), "encrypted (passphrase-protected)"},
		{"legacy encrypted", write("encl.pem", block(&pem.Block{Type: "EC PRIVATE KEY", Headers: map[string]string{"Proc-Type": "4,ENCRYPTED", "DEK-Info": "AES-128-CBC,00"}, Bytes: []byte{1, 2, 3}})), "encrypted (passphrase-protected)"},
	} {
		var d props.Decoder
		ts := TLS{Set: true, CertFile: certFile, CertPath: "x.tls.cert-file", KeyFile: tc.keyFile, KeyPath: "x.tls.key-file"}
		ts.Build(&d, "x")
		err := d.Err()
		if err == nil || !strings.Contains(err.Error(), "x.tls.key-file: file ") || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v; want it at x.tls.key-file saying %q", tc.name, err, tc.want)
		}
	}
}

// TestClientCertificateReloaded: a client certificate rotated on disk
// (cert-file and key-file rewritten) is served at the next handshake; a
// half-written rotation (a certificate without its key) keeps the last
// good one until the key follows. They were read once, at start: a
// rotated certificate needed a restart (security trial).
func TestClientCertificateReloaded(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "c.pem"), filepath.Join(dir, "k.pem")
	n := 0
	// issue writes a new certificate and key as they are, dated ahead so
	// that the file system's time granularity cannot hide the change.
	issue := func(writeKey bool) *x509.Certificate {
		t.Helper()
		n++
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(int64(n)), Subject: pkix.Name{CommonName: "client"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		if err != nil {
			t.Fatal(err)
		}
		kder, err := x509.MarshalECPrivateKey(key)
		if err != nil {
			t.Fatal(err)
		}
		at := time.Now().Add(time.Duration(n) * time.Minute)
		files := [][2]string{{certFile, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))}}
		if writeKey {
			files = append(files, [2]string{keyFile, string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}))})
		}
		for _, f := range files {
			if err := os.WriteFile(f[0], []byte(f[1]), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Chtimes(f[0], at, at); err != nil {
				t.Fatal(err)
			}
		}
		c, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	serial := func(c *tls.Config) int64 {
		t.Helper()
		cert, err := c.GetClientCertificate(&tls.CertificateRequestInfo{Version: tls.VersionTLS13, SignatureSchemes: []tls.SignatureScheme{tls.ECDSAWithP256AndSHA256}})
		if err != nil || cert == nil || len(cert.Certificate) == 0 {
			t.Fatalf("GetClientCertificate: %v, %v", cert, err)
		}
		x, err := x509.ParseCertificate(cert.Certificate[0])
		if err != nil {
			t.Fatal(err)
		}
		return x.SerialNumber.Int64()
	}
	issue(true)
	c, err := build(TLS{Set: true, CertFile: certFile, KeyFile: keyFile})
	if err != nil {
		t.Fatal(err)
	}
	if got := serial(c); got != 1 {
		t.Fatalf("first certificate: serial %d; want 1", got)
	}
	issue(true)
	if got := serial(c); got != 2 {
		t.Fatalf("after rotation: serial %d; want 2 (the rotated certificate)", got)
	}
	issue(false) // the certificate written, its key not yet
	if got := serial(c); got != 2 {
		t.Fatalf("half-written rotation: serial %d; want 2 (the last that loads)", got)
	}
	issue(true)
	if got := serial(c); got != 4 {
		t.Fatalf("after the key followed: serial %d; want 4", got)
	}
}
