package kafka_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/kafka"
	"github.com/streambind/streambind/binder/kafka/kafkatest"
	"github.com/streambind/streambind/stream"
)

// TestJoinRetriesBackOff: while the broker is down, a group consumer
// retries joining with back-off (250 ms doubling to 5 s), one WARN line
// an attempt, each saying when it retries (retry_in). It retried (and logged a WARN)
// every 250 ms for as long as the outage lasted: 43 lines in 11 s for one
// binding in a newcomer's trial.
func TestJoinRetriesBackOff(t *testing.T) {
	t.Parallel()
	c := kafkatest.Start(t)
	logs := &logRecorder{}
	b, err := kafka.New(context.Background(), stream.BinderSettings{Name: "k", Type: kafka.Type, Logger: logs.logger(),
		Environment: map[string]any{"brokers": c.Brokers()}})
	if err != nil {
		t.Fatal(err)
	}
	closeBinder(t, b)
	dest := uniqueTopic(t)
	createTopic(t, c, dest, 1, nil)
	tr := newTracker()
	spec := consumerSpec(dest, "g", tr.handler())
	spec.Logger = logs.logger()
	startConsumer(t, b, spec)
	p := bindProducer(t, b, dest, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	produce(ctx, t, p, tr, "m", 1, 1, 0)
	tr.waitAll(t, 10*time.Second)

	down := time.Now()
	c.Close()
	const msg = "kafka: joining the consumer group failed"
	var fails []logLine
	for len(fails) < 5 {
		if ctx.Err() != nil {
			t.Fatalf("%d join failures logged within 30s of the broker going down, want 5", len(fails))
		}
		fails = fails[:0]
		for _, l := range logs.since(slog.LevelWarn, down) {
			if strings.HasPrefix(l.msg, msg) {
				fails = append(fails, l)
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Attempt n waits 250 ms × 2^(n-1), jittered by ±20 %: the fourth
	// line follows the third by at least 0.8 s, the fifth the fourth by
	// at least 1.6 s.
	for _, gap := range []struct {
		n   int
		min time.Duration
	}{{3, 800 * time.Millisecond}, {4, 1600 * time.Millisecond}} {
		if d := fails[gap.n].time.Sub(fails[gap.n-1].time); d < gap.min {
			t.Errorf("join failure %d logged %v after the one before, want at least %v (no back-off); lines: %v", gap.n+1, d, gap.min, fails)
		}
	}
	for i, l := range fails {
		if !strings.Contains(l.String(), "retry_in=") {
			t.Errorf("join failure %d does not say when it retries: %s", i+1, l)
		}
	}
}
