package kafka_test

import (
	"context"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/kafka"
	"github.com/streambind/streambind/binder/kafka/kafkatest"
	"github.com/streambind/streambind/stream"
)

// keyStallMsg starts the WARN a partition under ordering: key logs when
// its intake stalled behind one unhandled message.
const keyStallMsg = "kafka: ordering key: the partition stalled behind one message"

// stallWarns returns the stall WARN lines logged so far.
func stallWarns(logs *logRecorder) []logLine {
	var out []logLine
	for _, l := range logs.since(slog.LevelWarn, time.Time{}) {
		if strings.HasPrefix(l.msg, keyStallMsg) {
			out = append(out, l)
		}
	}
	return out
}

// waitStallWarns waits until n stall WARN lines were logged.
func waitStallWarns(t testing.TB, logs *logRecorder, n int) []logLine {
	t.Helper()
	deadline := time.Now().Add(keyOrderTimeout)
	for {
		ws := stallWarns(logs)
		if len(ws) >= n {
			return ws
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for stall warning %d; got %v", n, ws)
		}
		time.Sleep(5 * time.Millisecond) // polling the recorded lines; the condition decides
	}
}

// attrOf is the value of the line's attribute key ("" when absent).
func attrOf(l logLine, key string) string {
	for _, a := range l.attrs {
		if a.Key == key {
			return a.Value.String()
		}
	}
	return ""
}

// checkStallWarn fails the test unless w names the message at offset
// with key and the window's concurrency × queue-capacity.
func checkStallWarn(t testing.TB, w logLine, topic, offset, key string) {
	t.Helper()
	want := map[string]string{"topic": topic, "partition": "0", "offset": offset, "key": key,
		"concurrency": "2", "queue_capacity": "2"}
	for k, v := range want {
		if got := attrOf(w, k); got != v {
			t.Errorf("stall warning: %s=%q, want %q: %s", k, got, v, w)
		}
	}
	// The keys it names are written where they take effect.
	if !strings.Contains(w.msg, "raise stream.kafka.bindings.test-in-0.consumer.queue-capacity") ||
		!strings.Contains(w.msg, "stream.bindings.test-in-0.consumer.retry-delays") {
		t.Errorf("stall warning does not name the full keys: %s", w.msg)
	}
	for _, k := range []string{"naks", "state", "waited"} {
		if attrOf(w, k) == "" {
			t.Errorf("stall warning without %s: %s", k, w)
		}
	}
}

// TestKeyOrderStallWarns: under ordering: key with concurrency 2 and
// queue-capacity 2, a key Nak'ed for ever lets only 2 × 2 messages of the
// partition be handed out beyond it, and then the partition's other keys
// wait too: one WARN names the message that holds it back (offset, key)
// and the window — one per stall, not one per Nak or per wait, and one
// again when the window had room and stalls behind another message. Stop
// logs none. The finding: 604 Naks in 2s, the commit stuck, no WARN.
func TestKeyOrderStallWarns(t *testing.T) {
	t.Parallel()
	const n, keys = 40, 4 // offset i has key k<i%4>
	const stallAfter = 100 * time.Millisecond
	const redelivery = 5 * time.Millisecond
	c := kafkatest.Start(t)
	topic := uniqueTopic(t)
	createTopic(t, c, topic, 1, nil)
	fillKeyed(t, c, topic, n, keys)
	logs := &logRecorder{}
	b := newKeyOrderBinder(t, c, logs.logger())
	kafka.SetKeyStallWarnAfter(b, stallAfter)
	// Phase 1: every message of k3 (offset 3 first) is Nak'ed. Phase 2:
	// k3 is handled, and the messages of k2 from offset 10 on are Nak'ed.
	var phase atomic.Int32
	phase.Store(1)
	var nakCalls atomic.Int64
	spec := keyedSpec(topic, "g", 2, func(_ context.Context, env stream.Envelope) error {
		k, off := string(env.Key), env.Received.Offset
		if (phase.Load() == 1 && k == "k3") || (phase.Load() == 2 && k == "k2" && off >= 10) {
			nakCalls.Add(1)
			return stream.ErrNak
		}
		return nil
	})
	spec.Extension = map[string]any{"ordering": "key", "queue-capacity": 2, "redelivery-delay": redelivery.String()}
	cons := startConsumer(t, b, spec)

	// awaitNaks waits for m more Nak'ed calls: at least m × redelivery
	// passes, several times stallAfter, in which a warning per wait or
	// per Nak would have come again.
	awaitNaks := func(m int64) {
		t.Helper()
		from := nakCalls.Load()
		deadline := time.Now().Add(keyOrderTimeout)
		for nakCalls.Load() < from+m {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %d more Nak'ed calls", m)
			}
			time.Sleep(5 * time.Millisecond) // polling a counter; the condition decides
		}
	}
	const more = int64(4*stallAfter/redelivery) + 1

	ws := waitStallWarns(t, logs, 1)
	t.Logf("%s", ws[0])
	checkStallWarn(t, ws[0], topic, "3", `"k3"`)
	awaitNaks(more)
	if ws := stallWarns(logs); len(ws) != 1 {
		t.Fatalf("%d stall warnings while one message stayed Nak'ed; want 1: %v", len(ws), ws)
	}
	if o := committedOf(t, c, "g", topic); o > 3 {
		t.Fatalf("committed %d passes the Nak'ed offset 3", o)
	}

	phase.Store(2)
	ws = waitStallWarns(t, logs, 2)
	checkStallWarn(t, ws[1], topic, "10", `"k2"`)
	awaitNaks(more)
	if ws := stallWarns(logs); len(ws) != 2 {
		t.Fatalf("%d stall warnings for two stalls; want 2: %v", len(ws), ws)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := cons.Stop(ctx); err != nil {
		t.Fatalf("stop: %v", err)
	}
	if ws := stallWarns(logs); len(ws) != 2 {
		t.Fatalf("%d stall warnings after Stop; want 2: %v", len(ws), ws)
	}
	logs.checkHygiene(t)
}

// TestKeyOrderBriefStallQuiet: a window that fills only for a moment (a
// message blocked until the partition's other messages in the window are
// handled, then a backlog consumed by fast handlers, filling the window
// again and again) logs no stall warning.
func TestKeyOrderBriefStallQuiet(t *testing.T) {
	t.Parallel()
	const n, keys, block = 300, 8, 5
	c := kafkatest.Start(t)
	topic := uniqueTopic(t)
	createTopic(t, c, topic, 1, nil)
	fillKeyed(t, c, topic, n, keys)
	logs := &logRecorder{}
	b := newKeyOrderBinder(t, c, logs.logger())
	// Far above any wait of this run for room (also on a loaded CI
	// machine), while several waits added together may exceed it.
	kafka.SetKeyStallWarnAfter(b, 15*time.Second)
	hl := newHandledLog()
	release, blocked := make(chan struct{}), make(chan struct{})
	spec := keyedSpec(topic, "g", 2, blockedHandler(hl, block, release, blocked))
	spec.Extension = map[string]any{"ordering": "key", "queue-capacity": 2}
	startConsumer(t, b, spec)
	// 0..4 handled, 5 blocked, and of the 2 × 2 in the window from 5 on,
	// 6, 7 and 8 handled: the window is full.
	hl.waitCount(t, "the messages before and in the window", block+2*2-1)
	close(release)
	hl.waitCount(t, "every message", n)
	waitKeyCommitted(t, c, "g", topic, "the whole partition committed", func(int64) {}, func(o int64) bool { return o == n })
	if ws := stallWarns(logs); len(ws) != 0 {
		t.Fatalf("stall warnings in a run whose window filled only briefly: %v", ws)
	}
	logs.checkHygiene(t)
}
