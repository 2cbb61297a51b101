package rabbit

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/streambind/streambind/stream"
)

// TestTLSFilesConfig: New reports every TLS file that cannot be read at
// the key that names it, as a problem with the file ("file <name>: ...",
// which streambind lint tells apart); cert-file without key-file is a
// problem that is not about a file. Without TLS the files are not read.
func TestTLSFilesConfig(t *testing.T) {
	dir := t.TempDir()
	ca, cert, key := filepath.Join(dir, "ca.pem"), filepath.Join(dir, "c.pem"), filepath.Join(dir, "k.pem")
	newErr := func(bs stream.BinderSettings) stream.ConfigErrors {
		t.Helper()
		bs.Name, bs.Type = "r", Type
		b, err := New(context.Background(), bs)
		if err == nil {
			_ = b.Close(context.Background())
			return nil
		}
		var ces stream.ConfigErrors
		var ce *stream.ConfigError
		switch {
		case errors.As(err, &ces):
			return ces
		case errors.As(err, &ce):
			return stream.ConfigErrors{ce}
		}
		t.Fatalf("not a configuration error: %v", err)
		return nil
	}
	missing := func(f string) string { return "file " + f + ": cannot be read: no such file or directory" }

	got := newErr(stream.BinderSettings{Environment: map[string]any{"addresses": "amqps://h",
		"tls": map[string]any{"ca-file": ca, "cert-file": cert, "key-file": key}}})
	want := map[string]string{
		"stream.binders.r.environment.tls.ca-file":   missing(ca),
		"stream.binders.r.environment.tls.cert-file": missing(cert),
		"stream.binders.r.environment.tls.key-file":  missing(key),
	}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for _, e := range got {
		if want[e.Path] != e.Msg {
			t.Errorf("%s: %q, want %q", e.Path, e.Msg, want[e.Path])
		}
	}

	got = newErr(stream.BinderSettings{Binder: map[string]any{"uri": "amqps://u:p@h/?cacertfile=" + ca}})
	if len(got) != 1 || got[0].Path != "stream.rabbit.binder.uri" || got[0].Msg != missing(ca) || strings.Contains(got[0].Error(), ":p@") {
		t.Errorf("uri: %v", got)
	}

	got = newErr(stream.BinderSettings{Binder: map[string]any{"addresses": "amqps://h", "tls": map[string]any{"cert-file": cert}}})
	if len(got) != 1 || got[0].Path != "stream.rabbit.binder.tls" || got[0].Msg != "cert-file and key-file go together" {
		t.Errorf("cert-file alone: %v", got)
	}

	// No endpoint over TLS: the files are not read.
	if got := newErr(stream.BinderSettings{Binder: map[string]any{"addresses": "h", "tls": map[string]any{"enabled": false, "ca-file": ca}}}); got != nil {
		t.Errorf("TLS off: %v", got)
	}
}
