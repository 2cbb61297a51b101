package main

import (
	"fmt"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/streambind/streambind/binder/kafka/kafkatest"
)

// TestTailMakesTopicWithBindingPartitions: tail of a partitioned output
// binding whose topic does not exist yet makes it with the binding's
// partition-count, as the service's producer would. It made it with the
// consumer's one partition, and the service's next start failed: "topic
// has 1 partitions, the binding needs 3" (new-user trial).
func TestTailMakesTopicWithBindingPartitions(t *testing.T) {
	t.Parallel()
	c := kafkatest.Start(t)
	topic := fmt.Sprintf("cli-tailparts-%d", time.Now().UnixNano())
	svc := `stream:
  function:
    definition: emit
  default-binder: kafka
  binders:
    kafka:
      type: kafka
      environment:
        brokers: ${KAFKA_BROKERS}
  bindings:
    emit-out-0:
      destination: %s
      producer:
        partition-key-expression: payload.id
        partition-count: 3
`
	dir := writeFiles(t, map[string]string{"application.yaml": fmt.Sprintf(svc, topic)})
	env := []string{"KAFKA_BROKERS=" + c.Brokers()}
	tr := startTail(t, dir, env, "--binding", "emit-out-0", "--count", "1", "--timeout", "2s")
	code, _ := tr.wait(t)
	if code != exitFailure { // --timeout with nothing received
		t.Fatalf("tail: exit status %d, stderr %q", code, tr.errText())
	}
	conn, err := kafkago.Dial("tcp", c.Brokers())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	parts, err := conn.ReadPartitions(topic)
	if err != nil {
		t.Fatal(err)
	}
	if len(parts) != 3 {
		t.Fatalf("tail made topic %s with %d partitions, want the binding's 3", topic, len(parts))
	}
}
