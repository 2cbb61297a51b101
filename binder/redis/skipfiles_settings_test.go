package redis_test

import (
	"path/filepath"
	"testing"

	"github.com/streambind/streambind/binder/bindertest"
	redisbinder "github.com/streambind/streambind/binder/redis"
	"github.com/streambind/streambind/stream"
)

// TestSkipFilesSettings: with stream.BinderSettings.SkipFiles (streambind
// lint's second try of settings that failed only because of their files)
// the binder reads none of the tls files its settings name and is built
// with the rest of its settings; everything that is not about a file is
// still reported. Without it the files are read.
func TestSkipFilesSettings(t *testing.T) {
	gone := filepath.Join(t.TempDir(), "not-here")
	ca, cert, key := gone+"/ca.pem", gone+"/cert.pem", gone+"/key.pem"
	var cases []bindertest.SkipFilesCase
	for _, tc := range []struct {
		name    string
		env     map[string]any
		problem string // with SkipFiles; "" none
	}{
		{"tls files", map[string]any{"address": "r:6380", "tls": map[string]any{"ca-file": ca, "cert-file": cert, "key-file": key}}, ""},
		{"tls files of a rediss url", map[string]any{"url": "rediss://r:6380", "tls": map[string]any{"ca-file": ca}}, ""},
		{"username without password", map[string]any{"address": "r:6380", "username": "u", "tls": map[string]any{"ca-file": ca}},
			"username: given without a password"},
		{"cert-file without key-file", map[string]any{"address": "r:6380", "tls": map[string]any{"ca-file": ca, "cert-file": cert}},
			"tls: cert-file and key-file go together"},
	} {
		cases = append(cases, bindertest.SkipFilesCase{Name: tc.name, Settings: stream.BinderSettings{Name: "r", Type: redisbinder.Type, Environment: tc.env}, Problem: tc.problem})
	}
	bindertest.CheckSkipFiles(t, redisbinder.New, gone, cases)
}
