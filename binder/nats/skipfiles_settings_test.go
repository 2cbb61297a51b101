package nats_test

import (
	"path/filepath"
	"testing"

	"github.com/streambind/streambind/binder/bindertest"
	"github.com/streambind/streambind/binder/nats"
	"github.com/streambind/streambind/stream"
)

// TestSkipFilesSettings: with stream.BinderSettings.SkipFiles (streambind
// lint's second try of settings that failed only because of their files)
// the binder reads none of the files its settings name (credentials file,
// tls files) and is built with the rest of its settings; everything that
// is not about a file is still reported. Without it the files are read.
func TestSkipFilesSettings(t *testing.T) {
	gone := filepath.Join(t.TempDir(), "not-here")
	ca, cert, key, creds := gone+"/ca.pem", gone+"/cert.pem", gone+"/key.pem", gone+"/app.creds"
	var cases []bindertest.SkipFilesCase
	for _, tc := range []struct {
		name    string
		env     map[string]any
		problem string // with SkipFiles; "" none
	}{
		{"credentials file", map[string]any{"servers": "nats://n:4222", "credentials-file": creds}, ""},
		{"tls files", map[string]any{"servers": "nats://n:4222", "tls": map[string]any{"ca-file": ca, "cert-file": cert, "key-file": key}}, ""},
		{"two auth methods", map[string]any{"servers": "nats://n:4222", "credentials-file": creds, "token": "t0ken"},
			"set only one of username/password, token and credentials-file"},
		{"cert-file without key-file", map[string]any{"servers": "nats://n:4222", "tls": map[string]any{"ca-file": ca, "cert-file": cert}},
			"tls: cert-file and key-file go together"},
	} {
		cases = append(cases, bindertest.SkipFilesCase{Name: tc.name, Settings: stream.BinderSettings{Name: "n", Type: nats.Type, Environment: tc.env}, Problem: tc.problem})
	}
	bindertest.CheckSkipFiles(t, nats.New, gone, cases)
}
