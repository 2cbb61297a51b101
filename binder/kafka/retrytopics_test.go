package kafka_test

import (
	"testing"

	"github.com/streambind/streambind/binder/bindertest"
	"github.com/streambind/streambind/binder/kafka"
	"github.com/streambind/streambind/binder/kafka/kafkatest"
)

// TestRetryDelays: non-blocking retries through per-delay retry topics
// whose partitions are held until each message is due, on an in-process
// kfake cluster (bindertest.RunRetryDelays).
func TestRetryDelays(t *testing.T) {
	c := kafkatest.Start(t)
	bindertest.RunRetryDelays(t, bindertest.RetryDelaysHarness{
		Type: kafka.Type, Factory: kafka.New, Destination: "orders",
		Environment: map[string]any{"brokers": c.Brokers()},
	})
}

// TestRetryDelaysBrokerRestart: the broker restarts (keeping its data)
// while the failed message waits in its retry topic; it is still handled
// on its third attempt and the poison message still reaches the DLQ.
func TestRetryDelaysBrokerRestart(t *testing.T) {
	c := kafkatest.StartRestartable(t)
	bindertest.RunRetryDelays(t, bindertest.RetryDelaysHarness{
		Type: kafka.Type, Factory: kafka.New, Destination: "orders",
		Environment: map[string]any{"brokers": c.Brokers()},
		Duplicates:  true, // offsets committed after the restart's cut are read again
		Interrupt: func(t *testing.T) {
			if err := c.Restart(); err != nil {
				t.Fatal(err)
			}
		},
	})
}
