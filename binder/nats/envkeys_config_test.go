package nats

import (
	"strings"
	"testing"

	"github.com/streambind/streambind/binder/bindertest"
	"github.com/streambind/streambind/stream"
)

const envBase = `spring:
  cloud:
    stream:
      default-binder: nats
      bindings:
        orders-in-0: { destination: orders, group: shipping }
`

// envSettings loads yaml with the environment variables env, as an app
// does, and decodes the nats binder's settings. A problem's origin is
// added as the app adds it (lint shows it): the variable that set its key.
func envSettings(t *testing.T, yaml string, env ...string) (settings, error) {
	t.Helper()
	cfg := bindertest.LoadConfig(t, yaml, env...)
	st, err := parseSettings(stream.BinderSettingsOf(cfg, Type))
	return st, bindertest.WithOrigins(cfg, err)
}

// TestEnvNestedKeys: the binder's stream and tls sections set by
// environment variables, with no file declaring them, and a variable over
// the file's nested value; a wrong key is reported at the key the variable
// gives, with the key meant and the section's keys. Before, stream-replicas,
// tls-handshake-first ... were each an "unknown key" listing the binder's
// keys.
func TestEnvNestedKeys(t *testing.T) {
	st, err := envSettings(t, envBase+`      nats:
        binder:
          stream:
            max-age: 1h
            replicas: 1
`, "SPRING_CLOUD_STREAM_NATS_BINDER_STREAM_REPLICAS=3", "SPRING_CLOUD_STREAM_NATS_BINDER_STREAM_STORAGE=memory",
		"STREAM_NATS_BINDER_STREAM_MAXMSGS=1000", "SPRING_CLOUD_STREAM_NATS_BINDER_TLS_ENABLED=true",
		"SPRING_CLOUD_STREAM_NATS_BINDER_TLS_HANDSHAKEFIRST=true")
	if err != nil {
		t.Fatal(err)
	}
	if ss := st.stream; ss.replicas != 3 || ss.maxMsgs != 1000 || ss.maxAge.Hours() != 1 || ss.storage.String() != "Memory" {
		t.Errorf("stream: %+v", ss)
	}
	if st.tls == nil || !st.tlsFirst {
		t.Errorf("tls %v, handshake first %v", st.tls, st.tlsFirst)
	}

	_, err = envSettings(t, envBase, "SPRING_CLOUD_STREAM_NATS_BINDER_STREAM_REPLICS=3")
	for _, want := range []string{
		"stream.nats.binder.stream-replics (env SPRING_CLOUD_STREAM_NATS_BINDER_STREAM_REPLICS): unknown key; did you mean replicas?",
		"known: retention, storage, replicas",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error does not say %q: %v", want, err)
		}
	}
}
