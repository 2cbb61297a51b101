package config

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/streambind/streambind/redact"
)

// The secret of a DSN given by a secret placeholder is hidden wherever
// it lands, whatever the DSN's form: in the tree shown (config; the
// actuator's config endpoint), in Load's errors that quote the value, and
// in messages that carry the password alone (Secrets.String). Since only
// the DSN's password is registered (redact.ConnectionSecrets), an opaque
// key with base64 padding registered nothing and was shown.
func TestSecretPlaceholderDSNFormsStayHidden(t *testing.T) {
	const yaml = `idempotency.postgres.dsn: ${PG_DSN:%s}
myapp.copy: ${idempotency.postgres.dsn}
stream.bindings.process-in-0.consumer.max-attempts: ${PG_DSN:%s}
`
	for _, tc := range []struct{ dsn, secret string }{
		{"postgres://u:hun%40ter2pw@h:5432/db", "hun@ter2pw"},
		{"postgres://u:hun@ter:2pw@h:5432/db", "hun@ter:2pw"},
		{"postgres://u:hun/ter2pw@h:5432/db", "hun/ter2pw"},
		{"postgres://u@h:5432/db?sslmode=disable&password=hunter2pw", "hunter2pw"},
		{"host=h user=u password='hun ter2pw' dbname=db", "hun ter2pw"},
		{"jdbc:postgresql://h:5432/db?user=u&password=hunter2pw", "hunter2pw"},
		{"Server=h;Database=d;User Id=sa;Password=hunter2pw;", "hunter2pw"},
		{"redis://:hunter2pw@h:6379/0", "hunter2pw"},
		{"nats://TOKENhunter2@h:4222", "TOKENhunter2"},
		{"u:hunter2pw@tcp(h:3306)/db", "hunter2pw"},
		{"dGVzdHRva2VuMTIz==", "dGVzdHRva2VuMTIz=="},
	} {
		dir := writeFiles(t, map[string]string{"application.yaml": strings.ReplaceAll(yaml, "%s", tc.dsn)})
		l, err := Load(Options{Dir: dir})
		if l == nil {
			t.Fatalf("%s: Load: %v", tc.dsn, err)
		}
		shown, jerr := json.Marshal(l.Redacted())
		if jerr != nil {
			t.Fatal(jerr)
		}
		if strings.Contains(string(shown), tc.secret) {
			t.Errorf("%s: the tree shows the secret: %s", tc.dsn, shown)
		}
		// The actuator's config endpoint: Loaded.Raw through the secret
		// values, then package redact (no SecretPaths: myapp.copy's key
		// names no secret).
		if raw, _ := json.Marshal(redact.Tree(l.Secrets.Tree(l.Raw))); strings.Contains(string(raw), tc.secret) {
			t.Errorf("%s: the actuator's tree shows the secret: %s", tc.dsn, raw)
		}
		if err == nil || strings.Contains(err.Error(), tc.secret) {
			t.Errorf("%s: Load's error shows the secret, or there is none: %v", tc.dsn, err)
		}
		if got := l.Secrets.String("connect failed: " + tc.secret + " refused"); strings.Contains(got, tc.secret) {
			t.Errorf("%s: a message shows the secret: %s", tc.dsn, got)
		}
	}
}
