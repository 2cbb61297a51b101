package kafka_test

// The WARN of fc3cd34 about a partition whose fetches keep failing at one
// offset (found reviewing it): it came for any three failures in a row,
// and said that a record batch there could not be decoded. Three fetches
// answered NOT_LEADER_OR_FOLLOWER — a leader change, over in 150ms — were
// reported so on kafka-go's connection path, and so were connections
// dropped during fetches.

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/streambind/streambind/binder/kafka"
	"github.com/streambind/streambind/binder/kafka/kafkatest"
	"github.com/streambind/streambind/stream"
)

// TestFetchWarnNotForTransientFailures: the first four fetches of a
// partition are answered NOT_LEADER_OR_FOLLOWER (a leader change), or
// have their connection dropped; then a record is written and handled.
// A leader change is not a failure at the offset: no WARN. Dropped
// connections at one offset are (the partition does not advance): a WARN,
// which does not say that a record batch cannot be decoded. Both fetch
// paths.
func TestFetchWarnNotForTransientFailures(t *testing.T) {
	t.Parallel()
	for _, fault := range []string{"not-leader", "dropped"} {
		for _, isolation := range []string{"read_uncommitted", "read_committed"} {
			t.Run(fault+"/"+isolation, func(t *testing.T) {
				t.Parallel()
				c := kafkatest.Start(t)
				topic := uniqueTopic(t)
				createTopic(t, c, topic, 1, nil)
				var mu sync.Mutex
				faults := 0
				kf := c.Kfake
				kf.ControlKey(int16(kmsg.Fetch), func(kr kmsg.Request) (kmsg.Response, error, bool) {
					kf.KeepControl()
					req := kr.(*kmsg.FetchRequest)
					mu.Lock()
					defer mu.Unlock()
					if faults >= 4 || len(req.Topics) != 1 || req.Topics[0].Topic != topic {
						return nil, nil, false
					}
					faults++
					if fault == "dropped" {
						return nil, errors.New("connection dropped"), true
					}
					resp := req.ResponseKind().(*kmsg.FetchResponse)
					rt := kmsg.NewFetchResponseTopic()
					rt.Topic = topic
					rp := kmsg.NewFetchResponseTopicPartition()
					rp.ErrorCode = kerr.NotLeaderForPartition.Code
					rp.HighWatermark, rp.LastStableOffset, rp.LogStartOffset = -1, -1, -1
					rt.Partitions = append(rt.Partitions, rp)
					resp.Topics = append(resp.Topics, rt)
					return resp, nil, true
				})
				logs := &logRecorder{}
				b, err := kafka.New(context.Background(), stream.BinderSettings{Name: "kafka", Type: kafka.Type, Logger: logs.logger(),
					Environment: map[string]any{"brokers": c.Brokers()}})
				if err != nil {
					t.Fatal(err)
				}
				closeBinder(t, b)
				got := make(chan struct{}, 1)
				spec := consumerSpec(topic, "g", func(_ context.Context, m stream.Envelope) error {
					select {
					case got <- struct{}{}:
					default:
					}
					return nil
				})
				spec.Extension = map[string]any{"configuration": map[string]any{"isolation.level": isolation}}
				start := time.Now()
				startConsumer(t, b, spec)
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				defer cancel()
				waitFor(t, 10*time.Second, "the faults", func() bool {
					mu.Lock()
					defer mu.Unlock()
					return faults >= 4
				})
				w := &kafkago.Writer{Addr: kafkago.TCP(c.Addrs()...), Topic: topic, RequiredAcks: kafkago.RequireAll, Transport: &kafkago.Transport{}}
				defer w.Close()
				if err := w.WriteMessages(ctx, kafkago.Message{Value: []byte("x")}); err != nil {
					t.Fatal(err)
				}
				select {
				case <-got:
				case <-ctx.Done():
					t.Fatal("the record was not handled")
				}
				const warning = "kafka: fetching the partition keeps failing at this offset"
				if fault == "dropped" && logs.count(slog.LevelWarn, warning, start) == 0 {
					t.Errorf("four fetches in a row dropped at one offset: no WARN")
				}
				for _, l := range logs.since(slog.LevelWarn, start) {
					if !strings.HasPrefix(l.msg, warning) {
						continue
					}
					if fault == "not-leader" {
						t.Errorf("a leader change reported as a failure at the offset: %s", l)
					} else if strings.Contains(l.msg, "decoded") {
						t.Errorf("dropped connections reported as a batch that cannot be decoded: %s", l)
					}
				}
			})
		}
	}
}
