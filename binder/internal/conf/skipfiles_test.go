package conf

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/streambind/streambind/binder/props"
)

// TestBuildSkipFiles: with SkipFiles, Build reads none of the files (a
// check's second try, stream.BinderSettings.SkipFiles): no problem for
// files that are not there, a configuration without roots and client
// certificate; what is not about a file is still reported. Without it the
// same files are problems.
func TestBuildSkipFiles(t *testing.T) {
	gone := filepath.Join(t.TempDir(), "not-here")
	all := TLS{Set: true, CAFile: gone + "/ca.pem", CertFile: gone + "/cert.pem", KeyFile: gone + "/key.pem", ServerName: "broker"}

	var d props.Decoder
	all.Build(&d, "p")
	if err := d.Err(); err == nil || !strings.Contains(err.Error(), "file "+gone+"/ca.pem: cannot be read") {
		t.Errorf("files read: %v", err)
	}

	skip := all
	skip.SkipFiles = true
	d = props.Decoder{}
	c := skip.Build(&d, "p")
	if err := d.Err(); err != nil {
		t.Errorf("SkipFiles: %v", err)
	}
	if c == nil || c.RootCAs != nil || len(c.Certificates) != 0 || c.ServerName != "broker" {
		t.Errorf("SkipFiles: config %+v", c)
	}

	half := skip
	half.KeyFile = ""
	d = props.Decoder{}
	half.Build(&d, "p")
	if err := d.Err(); err == nil || !strings.Contains(err.Error(), "p.tls: cert-file and key-file go together") || strings.Contains(err.Error(), "cannot be read") {
		t.Errorf("SkipFiles, cert-file without key-file: %v", err)
	}
}
