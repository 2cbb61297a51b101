package config

import (
	"errors"
	"strings"
	"testing"

	"github.com/streambind/streambind/stream"
)

// TestProducerPartitioned: SCSt's producer.partitioned (in its RabbitMQ
// partitioning example, beside partition-key-expression) is accepted. SCSt
// 3+ derives it from the key settings, as streambind does, so a value that
// agrees is dropped without a word; true with no key expression or
// extractor (the binding's own or stream.default's), and false with one,
// have no effect and are warned about at their file:line. Before, the key
// was refused as unknown.
func TestProducerPartitioned(t *testing.T) {
	y := `spring:
  cloud:
    stream:
      default:
        producer:
          partitionKeyExtractorName: byId
      bindings:
        a-out-0:
          producer:
            partitioned: true
            partition-key-expression: headers['partitionKey']
            partition-count: 2
        b-out-0:
          producer:
            partitioned: true
        c-out-0:
          producer:
            partitioned: false
            partition-key-expression: payload.id
`
	// b-out-0 is partitioned by stream.default's extractor: no warning.
	l := mustLoad(t, Options{Data: []byte(y), Logger: discard, Env: []string{}})
	if len(l.Warnings) != 1 {
		t.Fatalf("warnings = %v, want c-out-0's alone", l.Warnings)
	}
	w := l.Warnings[0]
	if w.Path != "stream.bindings.c-out-0.producer.partitioned" || w.Origin != "application.yaml:18" ||
		!strings.Contains(w.Msg, "partitioned: false does not turn partitioning off") {
		t.Errorf("warning %s (%s): %s", w.Path, w.Origin, w.Msg)
	}
	if !l.Stream.Bindings["a-out-0"].Producer.IsPartitioned() || !l.Stream.Bindings["c-out-0"].Producer.IsPartitioned() {
		t.Errorf("a-out-0 and c-out-0 are not partitioned")
	}

	y = `stream:
  bindings:
    b-out-0:
      producer:
        partitioned: true
        partition-count: 3
`
	l = mustLoad(t, Options{Data: []byte(y), Logger: discard, Env: []string{}})
	if len(l.Warnings) != 1 || l.Warnings[0].Path != "stream.bindings.b-out-0.producer.partitioned" || l.Warnings[0].Origin != "application.yaml:5" ||
		!strings.Contains(l.Warnings[0].Msg, "partitioned: true has no effect without partition-key-expression or partition-key-extractor-name") {
		t.Fatalf("warnings = %v, want one at b-out-0's partitioned", l.Warnings)
	}
	if l.Stream.Bindings["b-out-0"].Producer.IsPartitioned() {
		t.Errorf("b-out-0 is partitioned")
	}

	_, err := Load(Options{Data: []byte("stream:\n  default:\n    producer:\n      partitioned: maybe\n"), Logger: discard, Env: []string{}})
	var ces stream.ConfigErrors
	if !errors.As(err, &ces) || len(ces) != 1 || ces[0].Path != "stream.default.producer.partitioned" {
		t.Errorf("err = %v, want one problem at stream.default.producer.partitioned", err)
	}
}
