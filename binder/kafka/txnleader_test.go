package kafka_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/streambind/streambind/binder/kafka"
	"github.com/streambind/streambind/binder/kafka/kafkatest"
	"github.com/streambind/streambind/stream"
)

// TestReadCommittedLeaderMoveNoReconnectStorm: when a read_committed
// partition's leader moves, its fetch (fetchtxn.go's readProto, over the
// shared transport) is answered NOT_LEADER until the transport's
// metadata cache (refreshed every MetadataTTL, 2s) names the new leader;
// reconnecting does not hasten that. readProto waits with back-off for
// it instead: it went back to fetch for every such answer, which dialled
// the partition anew (a metadata request, two connections, two
// ListOffsets) every 50ms — 10 to 30 times per move and partition.
// Nothing is lost on the way.
func TestReadCommittedLeaderMoveNoReconnectStorm(t *testing.T) {
	t.Parallel()
	c := kafkatest.Start(t, kfake.NumBrokers(3))
	rec := &logRecorder{}
	b, err := kafka.New(context.Background(), stream.BinderSettings{Name: "kafka", Type: kafka.Type, Logger: rec.logger(),
		Environment: map[string]any{"brokers": c.Brokers()}})
	if err != nil {
		t.Fatal(err)
	}
	closeBinder(t, b)
	dest := uniqueTopic(t)
	if err := c.Kfake.CreateTopic(dest, 1, nil); err != nil {
		t.Fatal(err)
	}
	tr := newTracker()
	p := bindProducer(t, b, dest, 1)
	spec := consumerSpec(dest, "g", tr.handler())
	spec.Extension = map[string]any{"configuration": map[string]any{"isolation.level": "read_committed"}}
	startConsumer(t, b, spec)
	produce(context.Background(), t, p, tr, "before", 5, 1, 0)
	tr.waitReceived(t, 5, faultTimeout)
	start := time.Now()
	for i, node := range []int32{1, 2} {
		if err := c.Kfake.MoveTopicPartition(dest, 0, node); err != nil {
			t.Fatal(err)
		}
		produce(context.Background(), t, p, tr, "moved"+string(rune('a'+i)), 5, 1, 0)
		tr.waitAll(t, faultTimeout)
	}
	reconnects := 0
	for _, l := range rec.since(slog.LevelDebug, start) {
		if strings.HasPrefix(l.msg, "kafka: fetch failed; reconnecting") {
			reconnects++
		}
	}
	// The Conn path reconnects once per move.
	if reconnects > 4 {
		t.Errorf("the fetch reconnected %d times for 2 leader moves; want at most 2 each", reconnects)
	}
}
