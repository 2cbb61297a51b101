package nats

import (
	"strings"
	"testing"
	"time"
)

// TestDLQStreamSettings: binder setting dlq-stream (max-age, max-msgs,
// max-bytes of the dead-letter streams) from a file and from environment
// variables no file declares it for, its defaults (168h, -1, -1) whatever
// stream's limits are, and its other keys refused naming the known ones.
func TestDLQStreamSettings(t *testing.T) {
	st, err := envSettings(t, envBase+`      nats:
        binder:
          stream:
            max-age: 1h
            max-msgs: 1000
`)
	if err != nil {
		t.Fatal(err)
	}
	if d := st.dlqStream; d.maxAge != DefaultMaxAge || d.maxMsgs != -1 || d.maxBytes != -1 {
		t.Errorf("default dlq-stream %+v, want 168h, -1, -1 (not stream's 1h, 1000)", d)
	}
	st, err = envSettings(t, envBase+`      nats:
        binder:
          dlq-stream:
            max-age: 0
            max-bytes: 10GB
`, "SPRING_CLOUD_STREAM_NATS_BINDER_DLQSTREAM_MAXMSGS=5000", "STREAM_NATS_BINDER_DLQ_STREAM_MAX_AGE=720h")
	if err != nil {
		t.Fatal(err)
	}
	if d := st.dlqStream; d.maxAge != 720*time.Hour || d.maxMsgs != 5000 || d.maxBytes != 10<<30 {
		t.Errorf("dlq-stream %+v, want 720h (the variable's), 5000, 10GB", d)
	}
	if ss := st.stream; ss.maxAge != DefaultMaxAge || ss.maxMsgs != -1 {
		t.Errorf("dlq-stream changed stream: %+v", ss)
	}
	for _, c := range []struct{ yaml, want string }{
		{"dlq-stream: { retention: workqueue }", "stream.nats.binder.dlq-stream.retention (application.yaml:9): unknown key"},
		{"dlq-stream: { retention: workqueue }", "known: max-age, max-msgs, max-bytes (a dead-letter stream's other settings are stream's, its retention always limits)"},
		{"dlq-stream: { max-msgs: 0 }", "stream.nats.binder.dlq-stream.max-msgs"},
		{"dlq-stream: 1h", "stream.nats.binder.dlq-stream"},
	} {
		_, err := envSettings(t, envBase+"      nats:\n        binder:\n          "+c.yaml+"\n")
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error does not say %q: %v", c.yaml, c.want, err)
		}
	}
}
