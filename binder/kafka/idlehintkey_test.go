package kafka_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/kafka/kafkatest"
	"github.com/streambind/streambind/stream"
)

// TestIdleConcurrencyWarnNamesFullKey: the WARN of a consumer whose
// concurrency is above its partitions, ordered per partition, says to set
// ordering: key under the key where it takes effect, the binding's Kafka
// section (or stream.kafka.default): written as "consumer.ordering" under
// stream.bindings.<b>.consumer it is refused as an unknown key.
func TestIdleConcurrencyWarnNamesFullKey(t *testing.T) {
	t.Parallel()
	c := kafkatest.Start(t)
	topic := uniqueTopic(t)
	createTopic(t, c, topic, 1, nil)
	logs := &logRecorder{}
	b := newKeyOrderBinder(t, c, logs.logger())
	spec := consumerSpec(topic, "g", func(context.Context, stream.Envelope) error { return nil })
	spec.Binding = "audit-in-0"
	spec.Consumer.Concurrency = 4
	startConsumer(t, b, spec)
	deadline := time.Now().Add(keyOrderTimeout)
	for {
		var ws []logLine
		for _, l := range logs.since(slog.LevelWarn, time.Time{}) {
			if strings.Contains(l.msg, "extra handler slots stay idle") {
				ws = append(ws, l)
			}
		}
		if len(ws) > 0 {
			if msg := ws[0].msg; !strings.Contains(msg, "set stream.kafka.bindings.audit-in-0.consumer.ordering: key") ||
				!strings.Contains(msg, "stream.kafka.default.consumer.ordering: key") {
				t.Errorf("WARN does not name the full key: %s", msg)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no idle-concurrency WARN; logged %v", logs.since(slog.LevelWarn, time.Time{}))
		}
		time.Sleep(5 * time.Millisecond) // polling the recorded lines; the condition decides
	}
}
