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

// TestJoinFailuresLoggedWithBackOff: while the broker is down, a group
// consumer's failed joins (kafka-go retries every 250 ms) are logged as
// WARNs at intervals that double from 250 ms to 5 s, each with the
// attempts so far; it logged a WARN every 250 ms for as long as the
// outage lasted (43 lines in 11 s for one binding in a newcomer's trial).
// Once the broker is back the consumer joins at once — the first version
// of the back-off waited before taking kafka-go's next attempt, and so
// held a successful join back by up to 5 s — and says so at INFO.
func TestJoinFailuresLoggedWithBackOff(t *testing.T) {
	t.Parallel()
	c := kafkatest.StartRestartable(t)
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
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	produce(ctx, t, p, tr, "m", 1, 1, 0)
	tr.waitAll(t, 10*time.Second)

	down := time.Now()
	c.Close()
	const msg = "kafka: joining the consumer group failed"
	var fails []logLine
	for len(fails) < 6 {
		if ctx.Err() != nil {
			t.Fatalf("%d join failures logged within 60s of the broker going down, want 6", len(fails))
		}
		fails = fails[:0]
		for _, l := range logs.since(slog.LevelWarn, down) {
			if strings.HasPrefix(l.msg, msg) {
				fails = append(fails, l)
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	// The n-th line comes at least 250 ms × 2^(n-2), jittered by ±20 %,
	// after the one before: the fourth follows the third by at least
	// 0.8 s, the fifth the fourth by at least 1.6 s. Measured by the
	// lines' failing_for, which the binder takes from the clock it paces
	// them by (the records' own times can be late by a preemption between
	// the two under load); rounded to the millisecond, hence the 2 ms.
	for _, gap := range []struct {
		n   int
		min time.Duration
	}{{3, 800 * time.Millisecond}, {4, 1600 * time.Millisecond}} {
		if d := failingFor(t, fails[gap.n]) - failingFor(t, fails[gap.n-1]); d < gap.min-2*time.Millisecond {
			t.Errorf("join failure line %d logged %v after the one before, want at least %v (no back-off); lines: %v", gap.n+1, d, gap.min, fails)
		}
	}
	for i, l := range fails {
		if !strings.Contains(l.String(), "attempts=") {
			t.Errorf("join failure line %d does not count the attempts: %s", i+1, l)
		}
	}

	// The log's interval is 4–6 s by now (5 s jittered by ±20 %): a join
	// held back by it (the first version) came at least 4 s after the
	// sixth line, however fast the broker came back. One logged before
	// that was not held back; 100 ms of that is kept as margin for the
	// time between the binder's clock read and the line's.
	if err := c.Restart(); err != nil {
		t.Fatal(err)
	}
	up := time.Now()
	heldUntil := fails[5].time.Add(4 * time.Second)
	const joined = "kafka: joined the consumer group again"
	var joinedAt time.Time
	for joinedAt.IsZero() {
		for _, l := range logs.since(slog.LevelInfo, up) {
			if strings.HasPrefix(l.msg, joined) {
				joinedAt = l.time
				break
			}
		}
		if time.Since(up) > 15*time.Second {
			t.Fatalf("not joined again 15s after the broker came back; warnings since: %v", logs.since(slog.LevelWarn, up))
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("the broker back %s after the sixth join failure line, joined again %s after that",
		up.Sub(fails[5].time).Round(time.Millisecond), joinedAt.Sub(up).Round(time.Millisecond))
	if joinedAt.After(heldUntil.Add(-100 * time.Millisecond)) {
		t.Errorf("joined again %s after the broker came back, %s after the sixth join failure line: held back by the log's back-off (4–6 s)?",
			joinedAt.Sub(up).Round(time.Millisecond), joinedAt.Sub(fails[5].time).Round(time.Millisecond))
	}
}

// failingFor returns a join failure line's failing_for.
func failingFor(t *testing.T, l logLine) time.Duration {
	t.Helper()
	for _, a := range l.attrs {
		if a.Key == "failing_for" && a.Value.Kind() == slog.KindDuration {
			return a.Value.Duration()
		}
	}
	t.Fatalf("join failure line without failing_for: %s", l)
	return 0
}
