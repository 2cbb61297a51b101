package conf

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/streambind/streambind/binder/props"
)

// A file a setting names is written as Spring writes locations: "file:" is
// dropped (as the Spring Boot keys drop it), "classpath:" is an error that
// is not a file problem (it does not start with "file ").
func TestFileNameSpringLocations(t *testing.T) {
	for _, tc := range []struct{ in, want, err string }{
		{"/etc/ca.pem", "/etc/ca.pem", ""},
		{" file:/etc/ca.pem ", "/etc/ca.pem", ""},
		{"file:certs/ca.pem", "certs/ca.pem", ""},
		{"classpath:certs/ca.pem", "", `"classpath:certs/ca.pem": a classpath: resource cannot be read by a Go service; give a file path`},
		{"classpath*:ca.pem", "", `"classpath*:ca.pem": a classpath: resource`},
	} {
		got, err := FileName(tc.in)
		switch {
		case tc.err == "" && (err != nil || got != tc.want):
			t.Errorf("FileName(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		case tc.err != "" && (err == nil || !strings.HasPrefix(err.Error(), tc.err)):
			t.Errorf("FileName(%q) error %v, want one starting %q", tc.in, err, tc.err)
		}
	}
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(ca, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if b, err := ReadFile("file:" + ca); err != nil || string(b) != "x" {
		t.Errorf("ReadFile(file:...) = %q, %v", b, err)
	}
	if _, err := ReadFile("classpath:ca.pem"); err == nil || strings.HasPrefix(err.Error(), "file ") {
		t.Errorf("ReadFile(classpath:...) error %v: want an error that is not a file problem", err)
	}
	// Build reports it at the key of the file.
	var d props.Decoder
	(&TLS{Set: true, CAFile: "classpath:ca.pem", CAPath: "x.tls.ca-file"}).Build(&d, "x")
	if err := d.Err(); err == nil || !strings.Contains(err.Error(), `x.tls.ca-file: "classpath:ca.pem": a classpath: resource`) {
		t.Errorf("Build: %v", err)
	}
}

// A file name that is not shaped like one (the contents of a credentials
// file or a key set where its name goes) is never shown in a file problem.
func TestFileProblemHidesContents(t *testing.T) {
	const seed = "SUAMSECRETSEEDXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"
	const jwt = "eyJ0eXAiOiJKV1QiLCJhbGciOiJlZDI1NTE5LW5rZXkifQ.eyJqdGkiOiJTRUNSRVQifQ.c2ln"
	for _, name := range []string{
		"-----BEGIN NATS USER JWT-----\n" + jwt + "\n------END NATS USER JWT------\n-----BEGIN USER NKEY SEED-----\n" + seed + "\n------END USER NKEY SEED------\n",
		seed,
		jwt,
		"-----BEGIN PRIVATE KEY----- MIIEvQIBADANBg",
		"a\nb",
		strings.Repeat("p/", 300),
	} {
		for _, err := range []error{FileProblem(name, "cannot be read"), func() error { _, err := ReadFile(name); return err }()} {
			msg := err.Error()
			if !strings.HasPrefix(msg, "file ******") || strings.Contains(msg, seed) || strings.Contains(msg, jwt) || strings.Contains(msg, "\n") || strings.Contains(msg, "p/p/") || strings.Contains(msg, "MIIE") {
				t.Errorf("name %.30q: %q", name, msg)
			}
		}
	}
	for _, name := range []string{"/etc/nats/app.creds", "certs/ca.pem", "C:\\certs\\ca.pem", "/var/run/secrets/SEED-store/x.creds"} {
		if got := FileProblem(name, "x").Error(); got != "file "+name+": x" {
			t.Errorf("FileProblem(%q) = %q", name, got)
		}
	}
}
