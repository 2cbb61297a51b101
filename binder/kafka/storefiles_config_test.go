package kafka_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/streambind/streambind/binder/kafka"
	"github.com/streambind/streambind/stream"
)

// TestStoreFilesConfig: every store file that cannot be read, or is not
// PEM, is reported at the Kafka property naming it, as a problem with the
// file ("file <name>: ...", which streambind lint tells apart); what is
// wrong without reading a file is not such a problem.
func TestStoreFilesConfig(t *testing.T) {
	dir := t.TempDir()
	trust, keys := filepath.Join(dir, "missing-ca.pem"), filepath.Join(dir, "missing-keystore.pem")
	problems := func(t *testing.T, conf map[string]any) map[string]string {
		t.Helper()
		_, err := kafka.New(context.Background(), stream.BinderSettings{Name: "k", Type: kafka.Type,
			Binder: map[string]any{"configuration": conf}})
		var ces stream.ConfigErrors
		if !errors.As(err, &ces) {
			t.Fatalf("got %v, want configuration problems", err)
		}
		out := map[string]string{}
		for _, e := range ces {
			if _, dup := out[e.Path]; dup {
				t.Errorf("%s reported twice: %v", e.Path, err)
			}
			out[e.Path] = e.Msg
		}
		return out
	}
	const at = "stream.kafka.binder.configuration."
	for _, typ := range []string{"", "PEM"} {
		conf := map[string]any{"security.protocol": "SSL", "ssl.truststore.location": trust, "ssl.keystore.location": keys}
		if typ != "" {
			conf["ssl.truststore.type"], conf["ssl.keystore.type"] = typ, typ
		}
		got := problems(t, conf)
		want := map[string]string{
			at + "ssl.truststore.location": "file " + trust + ": cannot be read: no such file or directory",
			at + "ssl.keystore.location":   "file " + keys + ": cannot be read: no such file or directory",
		}
		if len(got) != len(want) {
			t.Errorf("type %q: got %v, want %v", typ, got, want)
		}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("type %q: %s: got %q, want %q", typ, k, got[k], v)
			}
		}
	}
	notPEM := filepath.Join(dir, "store.jks")
	if err := os.WriteFile(notPEM, []byte{0xfe, 0xed, 0xfe, 0xed}, 0o600); err != nil {
		t.Fatal(err)
	}
	got := problems(t, map[string]any{"security.protocol": "SSL", "ssl.truststore.location": notPEM, "ssl.keystore.location": keys})
	if m := got[at+"ssl.truststore.location"]; !strings.HasPrefix(m, "file "+notPEM+": is not a PEM file") {
		t.Errorf("not PEM: %q", m)
	}
	if m := got[at+"ssl.keystore.location"]; !strings.HasPrefix(m, "file "+keys+": cannot be read") {
		t.Errorf("key store after a trust store that is not PEM: %q", m)
	}
	// Not about a file: TLS settings under a plaintext protocol, a store
	// type that is not supported.
	got = problems(t, map[string]any{"ssl.truststore.location": trust})
	if m := got[at+"ssl.truststore.location"]; !strings.Contains(m, "TLS is used only with security.protocol SSL") || strings.HasPrefix(m, "file ") {
		t.Errorf("plaintext: %v", got)
	}
	got = problems(t, map[string]any{"security.protocol": "SSL", "ssl.truststore.location": trust, "ssl.truststore.type": "JKS"})
	if m := got[at+"ssl.truststore.type"]; !strings.Contains(m, "JKS is not supported") || strings.HasPrefix(m, "file ") {
		t.Errorf("JKS: %v", got)
	}
}
