package config

import (
	"strings"
	"testing"
)

// SCSt's common consumer and producer properties that streambind has no
// key for: accepted (errorChannelEnabled: false; multiplex, with a
// warning) where the value asks for nothing streambind lacks, otherwise
// refused at their key and line with the reason and what to do — not as
// an "unknown key" listing streambind's keys. Kafka Streams' section is
// refused by name, not as "stream.kafka: unknown key".
func TestSCStBindingKeysWithoutAStreambindKey(t *testing.T) {
	ok := `spring:
  cloud:
    stream:
      default:
        producer:
          error-channel-enabled: false
      bindings:
        a-in-0:
          destination: x,y
          group: g
          consumer:
            multiplex: true
        a-out-0:
          producer:
            errorChannelEnabled: "no"
`
	l := mustLoad(t, Options{Data: []byte(ok), Logger: discard, Env: []string{}})
	if len(l.Warnings) != 1 || l.Warnings[0].Path != "stream.bindings.a-in-0.consumer.multiplex" || l.Warnings[0].Origin != "application.yaml:12" {
		t.Errorf("warnings %v, want one for multiplex at application.yaml:12", l.Warnings)
	}

	bad := `spring:
  cloud:
    stream:
      bindings:
        a-in-0:
          group: g
          consumer:
            instance-index-list: 0,1
            retry-template-name: myRetry
        a-out-0:
          producer:
            partition-selector-name: mySelector
            error-channel-enabled: true
      kafka:
        streams:
          binder:
            application-id: x
`
	want := map[string]string{
		"stream.bindings.a-in-0.consumer.instance-index-list":      "application.yaml:8: not supported: an instance consumes the partitions its consumer.instance-index and instance-count select",
		"stream.bindings.a-in-0.consumer.retry-template-name":      "application.yaml:9: it names a Spring bean, and there are none here: set max-attempts",
		"stream.bindings.a-out-0.producer.partition-selector-name": "application.yaml:12: it names a Spring bean, and there are none here: use partition-selector-expression",
		"stream.bindings.a-out-0.producer.error-channel-enabled":   "application.yaml:13: true is not supported: there is no error channel",
		"stream.kafka.streams":                                     "application.yaml:15: Kafka Streams (SCSt's kafka-streams binder) is not supported",
	}
	es := configErrors(t, Options{Data: []byte(bad)})
	if len(es) != len(want) {
		t.Errorf("%d problems, want %d:\n%v", len(es), len(want), es)
	}
	for _, e := range es {
		w, found := want[e.Path]
		origin, msg, _ := strings.Cut(w, ": ")
		if !found || e.Origin != origin || !strings.HasPrefix(e.Msg, msg) {
			t.Errorf("%s (%s): %s\nwant (%s): %s", e.Path, e.Origin, e.Msg, origin, msg)
		}
	}
}
