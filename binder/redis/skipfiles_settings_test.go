package redis_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

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
	for _, tc := range []struct {
		name    string
		env     map[string]any
		problem string // with SkipFiles; "" none
	}{
		{"tls files", map[string]any{"address": "r:6380", "tls": map[string]any{"ca-file": ca, "cert-file": cert, "key-file": key}}, ""},
		{"tls files of a rediss url", map[string]any{"url": "rediss://r:6380", "tls": map[string]any{"ca-file": ca}}, ""},
		{"username without password", map[string]any{"address": "r:6380", "username": "u", "tls": map[string]any{"ca-file": ca}},
			"password: required with username"},
		{"cert-file without key-file", map[string]any{"address": "r:6380", "tls": map[string]any{"ca-file": ca, "cert-file": cert}},
			"tls: cert-file and key-file go together"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := stream.BinderSettings{Name: "r", Type: redisbinder.Type, Environment: tc.env}
			if _, err := redisbinder.New(context.Background(), s); err == nil || !strings.Contains(err.Error(), "file "+gone) {
				t.Errorf("files read: got %v, want a problem with a file in %s", err, gone)
			}
			s.SkipFiles = true
			b, err := redisbinder.New(context.Background(), s)
			if b != nil {
				defer b.Close(context.Background())
			}
			switch {
			case tc.problem == "" && err != nil:
				t.Errorf("SkipFiles: %v", err)
			case tc.problem != "" && (err == nil || !strings.Contains(err.Error(), tc.problem)):
				t.Errorf("SkipFiles: got %v, want %q", err, tc.problem)
			}
			if err != nil && strings.Contains(err.Error(), "file "+gone) {
				t.Errorf("SkipFiles: a file was read: %v", err)
			}
		})
	}
}
