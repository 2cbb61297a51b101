package redact

import (
	"strings"
	"testing"
)

// The value of a key naming a file is shown (it is a path), unless it is
// not shaped like a file name: the contents of a credentials file or a key
// set where its name goes are hidden.
func TestFileKeyContentsHidden(t *testing.T) {
	const creds = "-----BEGIN NATS USER JWT-----\neyJhbGciOi.SECRETJWT\n------END NATS USER JWT------\n-----BEGIN USER NKEY SEED-----\nSUAMSECRETSEEDXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX\n------END USER NKEY SEED------\n"
	in := map[string]any{
		"credentials-file":        creds,
		"credentialsfile":         "SUAMSECRETSEEDXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",
		"tls":                     map[string]any{"key-file": "-----BEGIN EC PRIVATE KEY-----\nMHcC\n-----END EC PRIVATE KEY-----\n", "ca-file": "/etc/ca.pem"},
		"ssl.truststore.location": strings.Repeat("x", 600),
		"creds-path":              "/etc/nats/app.creds",
	}
	out := Tree(in).(map[string]any)
	for k, want := range map[string]any{"credentials-file": Redacted, "credentialsfile": Redacted, "ssl.truststore.location": Redacted, "creds-path": "/etc/nats/app.creds"} {
		if out[k] != want {
			t.Errorf("%s = %q, want %q", k, out[k], want)
		}
	}
	tls := out["tls"].(map[string]any)
	if tls["key-file"] != Redacted || tls["ca-file"] != "/etc/ca.pem" {
		t.Errorf("tls = %v", tls)
	}
	for _, s := range []string{"/etc/nats/app.creds", "file:/etc/ca.pem", `C:\certs\ca.pem`, "/var/run/SEED/x.creds"} {
		if !IsFileName(s) {
			t.Errorf("IsFileName(%q) = false", s)
		}
	}
}
