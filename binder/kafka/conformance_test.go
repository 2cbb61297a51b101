package kafka_test

import (
	"context"
	"testing"

	"github.com/streambind/streambind/binder/bindertest"
	"github.com/streambind/streambind/binder/kafka"
	"github.com/streambind/streambind/binder/kafka/kafkatest"
	"github.com/streambind/streambind/stream"
)

func TestConformance(t *testing.T) {
	t.Parallel()
	c := kafkatest.Start(t)
	bindertest.Run(t, bindertest.Harness{
		NewBinder: func(t *testing.T) stream.Binder {
			return newBinder(t, c, nil)
		},
		Persistent: true,
		Duplicates: true,
	})
}

// newBinder returns a kafka binder on cluster c with extra environment
// settings; the caller (or the suite) closes it.
func newBinder(t testing.TB, c *kafkatest.Cluster, env map[string]any) stream.Binder {
	t.Helper()
	e := map[string]any{"brokers": c.Brokers()}
	for k, v := range env {
		e[k] = v
	}
	b, err := kafka.New(context.Background(), stream.BinderSettings{Name: "kafka", Type: kafka.Type, Environment: e, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	return b
}
