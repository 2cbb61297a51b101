// Package conf holds the settings decoding that the nats and redis binders
// of this module do alike, on top of package props:
//
//   - [String] and [Secret] read a string value; a secret is never echoed
//     in an error (not even its type);
//   - [TLS] decodes a binder's tls section (a bool, or a map of enabled,
//     ca-file, cert-file, key-file, server-name, insecure-skip-verify and,
//     where the binder has it, handshake-first) and builds the
//     [tls.Config] it describes, reporting every problem to the decoder;
//   - [FileName], [ReadFile] and [FileProblem] take the name of a file a
//     setting names, as Spring writes it ("file:/etc/ca.pem" is
//     /etc/ca.pem; a "classpath:" resource is an error), and make the
//     problems with the file (it cannot be read, its contents are not what
//     the setting needs), which all read "file <name>...", the name shown
//     as ****** when it is not shaped like a file name (the contents of a
//     credentials file or a key, pasted instead of its name).
//
// A message that starts with "file " is a problem with a file's presence
// or contents and with nothing else: streambind lint, which runs where the
// files a production configuration names often do not exist (CI), tells
// them apart by it and reports them as warnings unless --check-files. The
// binders of this module keep to it (kafka and rabbit use these functions
// too).
//
// It is internal to the binders of this module.
package conf

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"sync"

	"github.com/streambind/streambind/binder/props"
	"github.com/streambind/streambind/redact"
)

// String reads a string value with surrounding white space trimmed.
func String(v any) (string, error) {
	s, err := props.String(v)
	return strings.TrimSpace(s), err
}

// Secret reads a secret value: a string, taken as it is and never echoed
// (not even its type in an error, beyond "want a string").
func Secret(v any) (string, error) {
	if s, ok := v.(string); ok {
		return s, nil
	}
	return "", errors.New("want a string")
}

// TLS is a binder's tls settings as its configuration gives them. The
// zero value is "not set" (no TLS).
type TLS struct {
	// Set: a tls key was given (or, for a binder that takes one, a URL
	// asked for TLS). TLS is used when Set and Enabled is not false.
	Set bool
	// Enabled is the tls.enabled value, or tls given as a bool; nil when
	// neither was given.
	Enabled                               *bool
	CAFile, CertFile, KeyFile, ServerName string
	SkipVerify                            bool
	// HandshakeFirst (NATS only): TLS before the server's INFO.
	HandshakeFirst bool
	// CAPath, CertPath and KeyPath are the key paths ca-file, cert-file
	// and key-file were set at, where Build reports their problems;
	// Decode sets them. Empty: path + ".tls.ca-file" (and so on), path
	// being Build's.
	CAPath, CertPath, KeyPath string
	// SkipFiles: Build reads none of the files (stream.BinderSettings
	// SkipFiles, a check's second try); the configuration it returns has
	// no roots and no client certificate, and serves validation only.
	SkipFiles bool
}

// FileProblem returns the problem format describes with the file name: its
// message reads "file <name>: <problem>" (see the package doc). A name
// that is not shaped like a file name (see [ShownName]) is not shown:
// "file ****** (not shown: ...): <problem>".
func FileProblem(name, format string, args ...any) error {
	return fmt.Errorf("file %s: %s", ShownName(name), fmt.Sprintf(format, args...))
}

// ShownName returns the file name as errors show it: name itself, unless
// it is not shaped like a file name a setting would hold
// ([redact.IsFileName]: a line break, a PEM or NATS "-----BEGIN" block, an
// nkey seed, a JWT, more than 512 bytes). Such a value is most likely the
// contents of a file (a NATS credentials file, a private key) set where
// its name goes, a secret: it is shown as "****** (not shown: not a file
// name; the file's contents instead of its name?)".
func ShownName(name string) string {
	if redact.IsFileName(name) {
		return name
	}
	return redact.Redacted + " (not shown: not a file name; the file's contents instead of its name?)"
}

// FileName returns the file a setting names, as Spring writes locations:
// white space around it trimmed, and a "file:" prefix dropped
// ("file:/etc/kafka/ca.pem" is /etc/kafka/ca.pem), as the Spring Boot keys
// (spring.kafka.ssl.trust-store-location) drop it. A "classpath:" (or
// "classpath*:") resource is an error, which is not a file problem (no
// host has it): a Go service has no classpath.
func FileName(name string) (string, error) {
	n := strings.TrimSpace(name)
	if rest, ok := strings.CutPrefix(n, "file:"); ok {
		n = strings.TrimSpace(rest)
	}
	if strings.HasPrefix(n, "classpath:") || strings.HasPrefix(n, "classpath*:") {
		return "", fmt.Errorf("%s: a classpath: resource cannot be read by a Go service; give a file path (a \"file:\" prefix is dropped, as in Spring)", strconv.Quote(ShownName(strings.TrimSpace(name))))
	}
	return n, nil
}

// ReadFile reads the file name, as a setting names it (see [FileName]:
// "file:" dropped, "classpath:" refused, that error not a file problem).
// Its other errors are [FileProblem]s: "file <name>: cannot be read: no
// such file or directory".
func ReadFile(name string) ([]byte, error) {
	name, err := FileName(name)
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(name)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, FileProblem(name, "cannot be read: %v", err)
	}
	return b, nil
}

// certReloader serves the client certificate of cert-file and key-file,
// read again at a handshake after either file changed (modification time
// or size), so that a rotated certificate (cert-manager, Vault agent) is
// used from the next connection on, without a restart. While the files do
// not load together (one written, the other not yet) the last certificate
// that did is kept.
type certReloader struct {
	certFile, keyFile string

	mu    sync.Mutex
	cert  *tls.Certificate
	stamp [2]fileStamp
}

// fileStamp is what tells a file changed.
type fileStamp struct{ mod, size int64 }

func stampFiles(certFile, keyFile string) [2]fileStamp {
	var out [2]fileStamp
	for i, f := range []string{certFile, keyFile} {
		if n, err := FileName(f); err == nil {
			if fi, err := os.Stat(n); err == nil {
				out[i] = fileStamp{fi.ModTime().UnixNano(), fi.Size()}
			}
		}
	}
	return out
}

// get is tls.Config.GetClientCertificate. Like Go's TLS with
// Certificates, it sends no certificate when the server would not accept
// this one (another CA, a signature scheme it does not take): a server
// that asks for a client certificate without requiring one still lets
// the client in by password.
func (r *certReloader) get(cri *tls.CertificateRequestInfo) (*tls.Certificate, error) {
	st := stampFiles(r.certFile, r.keyFile)
	r.mu.Lock()
	defer r.mu.Unlock()
	if st != r.stamp {
		r.stamp = st
		certPEM, err := ReadFile(r.certFile)
		keyPEM := certPEM
		if err == nil && r.keyFile != r.certFile {
			keyPEM, err = ReadFile(r.keyFile)
		}
		if err == nil {
			if cert, err := tls.X509KeyPair(certPEM, keyPEM); err == nil {
				r.cert = &cert
			}
		}
	}
	if cri != nil && cri.SupportsCertificate(r.cert) != nil {
		return new(tls.Certificate), nil
	}
	return r.cert, nil
}

// encryptedKey reports whether keyPEM holds an encrypted private key
// (PKCS#8 "ENCRYPTED PRIVATE KEY", or a legacy PEM block with
// Proc-Type 4,ENCRYPTED).
func encryptedKey(keyPEM []byte) bool {
	for rest := keyPEM; ; {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			return false
		}
		if b.Type == "ENCRYPTED PRIVATE KEY" || strings.Contains(b.Headers["Proc-Type"], "ENCRYPTED") {
			return true
		}
	}
}

// Decode reads the value v of a tls key at path p: a bool (enabled) or a
// map; a map's keys are reported to d one by one (unknown keys included).
// withHandshakeFirst allows the handshake-first key. The error it returns
// is for the tls key itself (neither a bool nor a map).
func (t *TLS) Decode(d *props.Decoder, p string, v any, withHandshakeFirst bool) error {
	t.Set = true
	keys := "enabled, ca-file, cert-file, key-file, server-name, insecure-skip-verify"
	if withHandshakeFirst {
		keys += ", handshake-first"
	}
	m, err := props.Map(v)
	if err != nil {
		b, err := props.Bool(v)
		if err != nil {
			return fmt.Errorf("want a map (%s) or a bool", keys)
		}
		t.Enabled = &b
		return nil
	}
	d.Each(p, m, func(k, kp string, v any) (err error) {
		switch k {
		case "enabled":
			var b bool
			b, err = props.Bool(v)
			t.Enabled = &b
		case "cafile":
			t.CAFile, err = String(v)
			t.CAPath = kp
		case "certfile":
			t.CertFile, err = String(v)
			t.CertPath = kp
		case "keyfile":
			t.KeyFile, err = String(v)
			t.KeyPath = kp
		case "servername":
			t.ServerName, err = String(v)
		case "insecureskipverify", "skipverify":
			t.SkipVerify, err = props.Bool(v)
		case "handshakefirst":
			if !withHandshakeFirst {
				return props.UnknownKey("known: " + keys)
			}
			t.HandshakeFirst, err = props.Bool(v)
		default:
			err = props.UnknownKey("known: " + keys)
		}
		return err
	})
	return nil
}

// Build returns the TLS configuration (nil: no TLS): TLS 1.2 at least,
// ServerName and InsecureSkipVerify as given, the CA file's certificates as
// the roots, the client certificate from cert-file and key-file. A
// cert-file without key-file (or the reverse) is reported to d under path
// + ".tls"; a file that cannot be read, a CA file without a PEM
// certificate and a client certificate that does not load are reported
// as [FileProblem]s at the key that names the file (CAPath, CertPath,
// KeyPath; by default path + ".tls.ca-file" and so on), every one of them;
// a ca-file with insecure-skip-verify true, which would not be used, is
// reported at ca-file.
func (t *TLS) Build(d *props.Decoder, path string) *tls.Config {
	if !t.Set || (t.Enabled != nil && !*t.Enabled) {
		return nil
	}
	at := func(p, key string) string {
		if p != "" {
			return p
		}
		return path + ".tls." + key
	}
	c := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: t.ServerName, InsecureSkipVerify: t.SkipVerify} //nolint:gosec // skip-verify is an explicit opt-in
	if t.SkipVerify && t.CAFile != "" {
		// Go's TLS ignores the roots then: the CA file would look like
		// protection that is not there.
		d.Addf(at(t.CAPath, "ca-file"), "is not used with insecure-skip-verify true, which verifies no certificate: drop one of them")
	}
	if t.CAFile != "" && !t.SkipFiles {
		pem, err := ReadFile(t.CAFile)
		if err != nil {
			d.Add(at(t.CAPath, "ca-file"), err)
		} else {
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				d.Add(at(t.CAPath, "ca-file"), FileProblem(t.CAFile, "no PEM certificate in it"))
			}
			c.RootCAs = pool
		}
	}
	switch {
	case t.CertFile != "" && t.KeyFile != "" && t.SkipFiles:
		// Not read (SkipFiles).
	case t.CertFile != "" && t.KeyFile != "":
		stamp := stampFiles(t.CertFile, t.KeyFile) // before reading: a change meanwhile is read again
		certPEM, err := ReadFile(t.CertFile)
		if err != nil {
			d.Add(at(t.CertPath, "cert-file"), err)
		}
		keyPEM := certPEM
		if t.KeyFile != t.CertFile {
			var kerr error
			if keyPEM, kerr = ReadFile(t.KeyFile); kerr != nil {
				d.Add(at(t.KeyPath, "key-file"), kerr)
				err = kerr
			}
		}
		if err != nil {
			break
		}
		cert, err := tls.X509KeyPair(certPEM, keyPEM)
		switch {
		case err != nil && encryptedKey(keyPEM):
			d.Add(at(t.KeyPath, "key-file"), FileProblem(t.KeyFile, "holds an encrypted (passphrase-protected) private key: Go's TLS reads unencrypted keys only (decrypt it with openssl pkey -in <file> -out <new file>)"))
		case err != nil && t.KeyFile != t.CertFile && (strings.Contains(err.Error(), "private key") || strings.Contains(err.Error(), "in key input")):
			// The key's fault (none, unparsable, not the certificate's).
			d.Add(at(t.KeyPath, "key-file"), FileProblem(t.KeyFile, "loading the client certificate's key (cert-file %s): %v", ShownName(t.CertFile), err))
		case err != nil:
			with := ""
			if t.KeyFile != t.CertFile {
				with = " (key-file " + ShownName(t.KeyFile) + ")"
			}
			d.Add(at(t.CertPath, "cert-file"), FileProblem(t.CertFile, "loading the client certificate%s: %v", with, err))
		default:
			c.Certificates = []tls.Certificate{cert}
			r := &certReloader{certFile: t.CertFile, keyFile: t.KeyFile, cert: &cert, stamp: stamp}
			c.GetClientCertificate = r.get
		}
	case t.CertFile != "" || t.KeyFile != "":
		d.Addf(path+".tls", "cert-file and key-file go together")
	}
	return c
}
