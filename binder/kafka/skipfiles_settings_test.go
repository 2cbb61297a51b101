package kafka_test

import (
	"path/filepath"
	"testing"

	"github.com/streambind/streambind/binder/bindertest"
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
	var cases []bindertest.SkipFilesCase
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
		cases = append(cases, bindertest.SkipFilesCase{Name: tc.name, Settings: stream.BinderSettings{Name: "k", Type: kafka.Type, Binder: tc.binder}, Problem: tc.problem})
	}
	bindertest.CheckSkipFiles(t, kafka.New, gone, cases)
}
