package kafka_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/kafka/kafkatest"
	"github.com/streambind/streambind/stream"
)

// keyBenchMsgs is the records each iteration of BenchmarkKafkaKeyOrder
// consumes: 64 keys over one partition.
const keyBenchMsgs, keyBenchKeys = 4000, 64

// BenchmarkKafkaKeyOrder: a 1-partition topic pre-filled with
// keyBenchMsgs records of 64 keys, consumed by a handler that takes 100µs
// (a sleep: waiting on I/O), timed from the first message handled until
// every offset is committed: ordering partition at concurrency 1 (all
// that one partition allows without ordering key) against ordering key
// at concurrency 8.
//
//	go test -run '^$' -bench KafkaKeyOrder -benchtime 3x ./binder/kafka/
func BenchmarkKafkaKeyOrder(b *testing.B) {
	c := kafkatest.Start(b)
	for _, tc := range []struct {
		name        string
		concurrency int
		ordering    string
	}{
		{"partition-c1", 1, "partition"},
		{"key-c8", 8, "key"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			var wall time.Duration
			msgs := 0
			for i := range b.N {
				topic := fmt.Sprintf("%s-%d", uniqueTopic(b), i)
				createTopic(b, c, topic, 1, nil)
				fillKeyed(b, c, topic, keyBenchMsgs, keyBenchKeys)
				bd := newKeyOrderBinder(b, c, testLogger(b)) // a new one: a binder's metadata may predate the topic
				hc := newHandlerCounter(keyBenchMsgs)
				spec := keyedSpec(topic, "g", tc.concurrency, func(context.Context, stream.Envelope) error {
					time.Sleep(100 * time.Microsecond)
					hc.handled()
					return nil
				})
				spec.Extension = map[string]any{"ordering": tc.ordering}
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				cons, err := bd.BindConsumer(ctx, spec)
				if err != nil {
					b.Fatal(err)
				}
				if err := cons.Start(ctx); err != nil {
					b.Fatal(err)
				}
				select {
				case <-hc.all:
				case <-ctx.Done():
					b.Fatalf("%d of %d handled in a minute", hc.count.Load(), keyBenchMsgs)
				}
				waitKeyCommitted(b, c, "g", topic, "every offset committed", func(int64) {}, func(o int64) bool { return o == keyBenchMsgs })
				wall += time.Since(time.Unix(0, hc.first.Load()))
				msgs += keyBenchMsgs
				_ = cons.Stop(ctx)
				cancel()
			}
			b.ReportMetric(float64(msgs)/wall.Seconds(), "msgs/s")
		})
	}
}
