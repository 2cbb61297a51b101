package config

import (
	"strings"
	"testing"
)

// TestStreambindBinderKeyAmongCommonOnes: a property of streambind's own
// Kafka binder (ordering, which SCSt has not) written among a binding's
// common consumer properties is what the guide says of a binder's own
// property there (docs/coming-from-spring-cloud-stream.md, "Unknown keys
// are errors"): ignored, with a warning at its line naming the full key
// where it takes effect. It was refused as an unknown key listing the
// common keys, with no word of where it goes.
func TestStreambindBinderKeyAmongCommonOnes(t *testing.T) {
	y := `stream:
  default:
    producer:
      compression: zstd
  bindings:
    audit-in-0:
      group: g
      consumer:
        concurrency: 4
        ordering: key
`
	l := mustLoad(t, Options{Data: []byte(y), Logger: discard, Env: []string{}})
	want := map[string]string{
		"stream.bindings.audit-in-0.consumer.ordering": "application.yaml:10: ignored: ordering is a binder consumer property (of binder type kafka), not a common one; to apply it, set stream.kafka.bindings.audit-in-0.consumer.ordering (or stream.kafka.default.consumer.ordering for every binding of the type)",
		"stream.default.producer.compression":          "application.yaml:4: ignored: compression is a binder producer property (of binder type kafka), not a common one; to apply it, set stream.kafka.default.producer.compression",
	}
	wantWarnings(t, l, want)
	if c := l.Stream.Bindings["audit-in-0"].Consumer.Concurrency; c != 4 {
		t.Errorf("concurrency %d, want 4 kept", c)
	}
	for _, w := range l.Warnings {
		if strings.Contains(w.Msg, "unknown key") {
			t.Errorf("unknown-key warning: %s", w.Msg)
		}
	}
}
