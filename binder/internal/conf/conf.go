// Package conf holds the settings decoding that the nats and redis binders
// of this module do alike, on top of package props:
//
//   - [String] and [Secret] read a string value; a secret is never echoed
//     in an error (not even its type);
//   - [TLS] decodes a binder's tls section (a bool, or a map of enabled,
//     ca-file, cert-file, key-file, server-name, insecure-skip-verify and,
//     where the binder has it, handshake-first) and builds the
//     [tls.Config] it describes, reporting every problem to the decoder.
//
// It is internal to the binders of this module.
package conf

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/streambind/streambind/binder/props"
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
	d.Each(p, m, func(k, _ string, v any) (err error) {
		switch k {
		case "enabled":
			var b bool
			b, err = props.Bool(v)
			t.Enabled = &b
		case "cafile":
			t.CAFile, err = String(v)
		case "certfile":
			t.CertFile, err = String(v)
		case "keyfile":
			t.KeyFile, err = String(v)
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
// the roots, the client certificate from cert-file and key-file. A file
// that cannot be read, a CA file without a PEM certificate, and a
// cert-file without key-file (or the reverse) are reported to d under
// path + ".tls...".
func (t *TLS) Build(d *props.Decoder, path string) *tls.Config {
	if !t.Set || (t.Enabled != nil && !*t.Enabled) {
		return nil
	}
	c := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: t.ServerName, InsecureSkipVerify: t.SkipVerify} //nolint:gosec // skip-verify is an explicit opt-in
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			d.Addf(path+".tls.ca-file", "%v", err)
		} else {
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				d.Addf(path+".tls.ca-file", "no PEM certificate in %s", t.CAFile)
			}
			c.RootCAs = pool
		}
	}
	switch {
	case t.CertFile != "" && t.KeyFile != "":
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			d.Addf(path+".tls.cert-file", "loading the client certificate: %v", err)
		} else {
			c.Certificates = []tls.Certificate{cert}
		}
	case t.CertFile != "" || t.KeyFile != "":
		d.Addf(path+".tls", "cert-file and key-file go together")
	}
	return c
}
