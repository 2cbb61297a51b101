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
            instance-index-list: 0,1 # taken now (TestInstanceIndexListDecoded)
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
		"stream.bindings.a-in-0.consumer.retry-template-name":      "application.yaml:9: it names a Spring bean, and there are none here: set max-attempts",
		"stream.bindings.a-out-0.producer.partition-selector-name": "application.yaml:12: it names a Spring bean, and there are none here: use partition-selector-expression",
		"stream.bindings.a-out-0.producer.error-channel-enabled":   "application.yaml:13: true is not supported: there is no error channel",
		"stream.kafka.streams": "application.yaml:15: Kafka Streams (SCSt's kafka-streams binder) is not supported",
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

// TestMisplacedBinderKeysIgnoredWithWarning: a Kafka or RabbitMQ binder
// property among a binding's common consumer or producer properties —
// found in real SCSt files (start-offset, autoCommitOffset, dlq-name) —
// is ignored, as SCSt (Spring Boot binds no unknown field) ignores it,
// with a warning at its line naming where it takes effect; it was an
// "unknown key" error, so such a file did not run. A streambind common
// key of the same name (enable-dlq) keeps its meaning.
func TestMisplacedBinderKeysIgnoredWithWarning(t *testing.T) {
	y := `spring:
  cloud:
    stream:
      default:
        consumer:
          ackMode: MANUAL
      bindings:
        news-in-0:
          group: g
          consumer:
            startOffset: earliest
            enable-dlq: true
            max-attempts: 2
        news-out-0:
          producer:
            routing-key-expression: headers.k
            header-patterns: "*"
`
	l := mustLoad(t, Options{Data: []byte(y), Logger: discard, Env: []string{}})
	want := map[string]string{
		"stream.default.consumer.ack-mode":                           "application.yaml:6: ignored: ack-mode is a binder consumer property (of binder type kafka), which SCSt ignores here too; to apply it, set spring.cloud.stream.kafka.default.consumer.ack-mode",
		"stream.bindings.news-in-0.consumer.start-offset":            "application.yaml:11: ignored: start-offset is a binder consumer property (of binder type kafka, nats, redis), which SCSt ignores here too; to apply it, set spring.cloud.stream.<kafka|nats|redis>.bindings.news-in-0.consumer.start-offset",
		"stream.bindings.news-out-0.producer.routing-key-expression": "application.yaml:16: ignored: routing-key-expression is a binder producer property (of binder type rabbit), which SCSt ignores here too; to apply it, set spring.cloud.stream.rabbit.bindings.news-out-0.producer.routing-key-expression",
		"stream.bindings.news-out-0.producer.header-patterns":        "application.yaml:17: ignored: header-patterns is a binder producer property (of binder type kafka, rabbit), which SCSt ignores here too; to apply it, set spring.cloud.stream.<kafka|rabbit>.bindings.news-out-0.producer.header-patterns",
	}
	wantWarnings(t, l, want)
	b := l.Stream.Bindings["news-in-0"]
	if !b.Consumer.DLQ || b.Consumer.MaxAttempts != 2 {
		t.Errorf("news-in-0 consumer: dlq %v, max-attempts %d; want enable-dlq and max-attempts kept", b.Consumer.DLQ, b.Consumer.MaxAttempts)
	}
}
