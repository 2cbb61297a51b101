package redis

import (
	"strings"
	"testing"

	"github.com/streambind/streambind/binder/bindertest"
	"github.com/streambind/streambind/stream"
)

const envBase = `spring:
  cloud:
    stream:
      default-binder: redis
      bindings:
        orders-in-0: { destination: orders, group: shipping }
`

// envSettings loads yaml with the environment variables env, as an app
// does, and decodes the redis binder's settings. A problem's origin is
// added as the app adds it (lint shows it): the variable that set its key.
func envSettings(t *testing.T, yaml string, env ...string) (settings, error) {
	t.Helper()
	cfg := bindertest.LoadConfig(t, yaml, env...)
	st, err := parseSettings(stream.BinderSettingsOf(cfg, Type))
	return st, bindertest.WithOrigins(cfg, err)
}

// TestEnvNestedTLSKeys: the binder's tls section set by environment
// variables, with no file declaring it or over the file's tls: true; a
// wrong key is reported at the key the variable gives, with the key meant
// and tls's keys. Before, tls-enabled, tls-server-name ... were each an
// "unknown key" listing the binder's keys.
func TestEnvNestedTLSKeys(t *testing.T) {
	for name, yaml := range map[string]string{
		"no file": envBase,
		"file tls: true": envBase + `      redis:
        binder:
          tls: true
`,
	} {
		st, err := envSettings(t, yaml, "SPRING_CLOUD_STREAM_REDIS_BINDER_TLS_ENABLED=true",
			"SPRING_CLOUD_STREAM_REDIS_BINDER_TLS_SERVERNAME=redis.example", "STREAM_REDIS_BINDER_TLS_INSECURE_SKIP_VERIFY=true")
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if st.tls == nil || st.tls.ServerName != "redis.example" || !st.tls.InsecureSkipVerify {
			t.Errorf("%s: tls %+v", name, st.tls)
		}
	}
	_, err := envSettings(t, envBase, "SPRING_CLOUD_STREAM_REDIS_BINDER_TLS_SERVERNAM=x")
	for _, want := range []string{"stream.redis.binder.tls-servernam (env SPRING_CLOUD_STREAM_REDIS_BINDER_TLS_SERVERNAM): unknown key; did you mean server-name?", "known: enabled, ca-file"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error does not say %q: %v", want, err)
		}
	}
}
