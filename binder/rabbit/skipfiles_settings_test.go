package rabbit_test

import (
	"path/filepath"
	"testing"

	"github.com/streambind/streambind/binder/bindertest"
	"github.com/streambind/streambind/binder/rabbit"
	"github.com/streambind/streambind/stream"
)

// TestSkipFilesSettings: with stream.BinderSettings.SkipFiles (streambind
// lint's second try of settings that failed only because of their files)
// the binder reads none of the files its settings name (tls keys, the
// uri's cacertfile, certfile and keyfile) and is built with the rest of
// its settings; everything that is not about a file is still reported.
// Without it the files are read.
func TestSkipFilesSettings(t *testing.T) {
	gone := filepath.Join(t.TempDir(), "not-here")
	ca, cert, key := gone+"/ca.pem", gone+"/cert.pem", gone+"/key.pem"
	var cases []bindertest.SkipFilesCase
	for _, tc := range []struct {
		name    string
		env     map[string]any
		problem string // with SkipFiles; "" none
	}{
		{"tls keys", map[string]any{"addresses": "amqps://mq:5671", "tls": map[string]any{"ca-file": ca, "cert-file": cert, "key-file": key}}, ""},
		{"uri", map[string]any{"uri": "amqps://mq:5671/?cacertfile=" + ca + "&certfile=" + cert + "&keyfile=" + key}, ""},
		{"cert-file without key-file", map[string]any{"addresses": "amqps://mq:5671", "tls": map[string]any{"ca-file": ca, "cert-file": cert}},
			"tls: cert-file and key-file go together"},
		{"reconnect intervals", map[string]any{"addresses": "amqps://mq:5671", "tls": map[string]any{"ca-file": ca},
			"reconnect-initial-interval": "10s", "reconnect-max-interval": "1s"}, "reconnect-max-interval: must not be below"},
	} {
		cases = append(cases, bindertest.SkipFilesCase{Name: tc.name, Settings: stream.BinderSettings{Name: "r", Type: rabbit.Type, Environment: tc.env}, Problem: tc.problem, NoFileRead: tc.problem != ""})
	}
	bindertest.CheckSkipFiles(t, rabbit.New, gone, cases)
}
