package redact

import (
	"slices"
	"testing"
)

func TestIsConnectionKey(t *testing.T) {
	for key, want := range map[string]bool{
		"PG_DSN":                       true,
		"idempotency.postgres.dsn":     true,
		"sentry-dsn":                   true,
		"db.connection-string":         true,
		"ConnectionString":             true,
		"connstr":                      true,
		"DB_PASSWORD":                  false,
		"api-token":                    false,
		"idempotency.postgres.table":   false,
		"spring.datasource.url":        false,
		"basic.auth.user.info":         false,
		"stream.bindings.dsn-in-0.dlq": false,
	} {
		if got := IsConnectionKey(key); got != want {
			t.Errorf("IsConnectionKey(%q) = %t, want %t", key, got, want)
		}
	}
}

// The secrets of a connection string are its passwords and tokens, not
// its scheme, user, host or database: the whole text registered as a
// secret value hid every "postgres" of a message.
func TestConnectionSecrets(t *testing.T) {
	for s, want := range map[string][]string{
		"postgres://root@127.0.0.1:5432/test?sslmode=disable": nil,
		"host=h user=postgres dbname=test sslmode=disable":    nil,
		"root@tcp(127.0.0.1:3306)/db":                         nil,
		"amqp://guest@h":                                      nil,
		"postgresql://root:s3cr%40t@h/db":                     {"s3cr%40t", "s3cr@t"},
		"host=h user=postgres password=pw123456 dbname=test":  {"pw123456"},
		"host=h user=postgres password='a b c' dbname=test":   {"a b c"},
		"postgres://root@h/db?password=pw123456":              {"pw123456"},
		"root:pw123456@tcp(127.0.0.1:3306)/db":                {"pw123456"},
		"postgres://u:pw123456@h1:5432,h2:5432/db":            {"pw123456"},
		"redis://:pw123456@h:6379/0":                          {"pw123456"},
		"nats://TOKEN123@h:4222":                              {"TOKEN123"},
		"https://abcdef@o0.ingest.sentry.io/1":                {"abcdef"},
		"Server=h;Database=d;User Id=sa;Password=pw123456;":   {"pw123456"},
		"opaque-token-value":                                  {"opaque-token-value"},
		// '=' padding of base64 makes no name=value pair: the text is
		// opaque (it was returned as nothing, so never hidden).
		"dGVzdHRva2VuMTIz==": {"dGVzdHRva2VuMTIz=="},
		"a2V5LXZhbHVl=":      {"a2V5LXZhbHVl="},
		"":                   nil,
	} {
		if got := ConnectionSecrets(s); !slices.Equal(got, want) {
			t.Errorf("ConnectionSecrets(%q) = %q, want %q", s, got, want)
		}
	}
}
