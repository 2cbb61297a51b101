package kafka_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/streambind/streambind/binder/kafka"
	"github.com/streambind/streambind/stream"
)

// TestSkipFilesSettings: with stream.BinderSettings.SkipFiles (streambind
// lint's second try of settings that failed only because of their files)
// the binder reads none of the files its settings name, in none of the
// ways it reads them (a PEM store, a store of Kafka's default type, the
// tls keys), and is built with the rest of its settings; everything that
// is not about a file is still reported. Without it the files are read.
func TestSkipFilesSettings(t *testing.T) {
	gone := filepath.Join(t.TempDir(), "not-here")
	ca, cert, key := gone+"/ca.pem", gone+"/cert.pem", gone+"/key.pem"
	for _, tc := range []struct {
		name    string
		binder  map[string]any
		problem string // with SkipFiles; "" none
	}{
		{"PEM stores", map[string]any{"configuration": map[string]any{"security.protocol": "SSL",
			"ssl.truststore.type": "PEM", "ssl.truststore.location": ca, "ssl.keystore.type": "PEM", "ssl.keystore.location": key}}, ""},
		{"stores of the default type", map[string]any{"configuration": map[string]any{"security.protocol": "SSL",
			"ssl.truststore.location": ca, "ssl.keystore.location": key}}, ""},
		{"tls keys", map[string]any{"tls": map[string]any{"ca-file": ca, "cert-file": cert, "key-file": key}}, ""},
		{"store password", map[string]any{"configuration": map[string]any{"security.protocol": "SSL",
			"ssl.truststore.type": "PEM", "ssl.truststore.location": ca, "ssl.truststore.password": "changeit"}},
			"ssl.truststore.password: not supported"},
		{"cert-file without key-file", map[string]any{"tls": map[string]any{"ca-file": ca, "cert-file": cert}},
			"tls: cert-file and key-file go together"},
		{"fetch.min.bytes", map[string]any{"tls": map[string]any{"ca-file": ca},
			"consumer-properties": map[string]any{"fetch.min.bytes": "many"}}, "fetch.min.bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := stream.BinderSettings{Name: "k", Type: kafka.Type, Binder: tc.binder}
			if _, err := kafka.New(context.Background(), s); err == nil || !strings.Contains(err.Error(), "file "+gone) {
				t.Errorf("files read: got %v, want a problem with a file in %s", err, gone)
			}
			s.SkipFiles = true
			b, err := kafka.New(context.Background(), s)
			if b != nil {
				defer b.Close(context.Background())
			}
			switch {
			case tc.problem == "" && err != nil:
				t.Errorf("SkipFiles: %v", err)
			case tc.problem != "" && (err == nil || !strings.Contains(err.Error(), tc.problem)):
				t.Errorf("SkipFiles: got %v, want %q", err, tc.problem)
			}
			var ces stream.ConfigErrors
			if err != nil && !errors.As(err, &ces) {
				t.Errorf("SkipFiles: %v is no stream.ConfigErrors", err)
			}
			for _, e := range ces {
				if strings.HasPrefix(e.Msg, "file ") {
					t.Errorf("SkipFiles: a file was read: %v", e)
				}
			}
		})
	}
}
