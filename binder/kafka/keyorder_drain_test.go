package kafka_test

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/kafka/kafkatest"
	"github.com/streambind/streambind/stream"
)

// slowKeyHandler records what it handles in hl; message 0 (key k0) waits
// for release (or its context) and k0's later messages take 2ms each, so
// that k0's lane is behind the others when the test stops or pauses the
// consumer. calls counts every handler call.
func slowKeyHandler(hl *handledLog, release <-chan struct{}, calls *atomic.Int64) stream.Handler {
	return func(ctx context.Context, m stream.Envelope) error {
		calls.Add(1)
		i, _ := strconv.Atoi(string(m.Payload))
		switch {
		case i == 0:
			select {
			case <-release:
			case <-ctx.Done():
				return ctx.Err()
			}
		case string(m.Key) == "k0":
			time.Sleep(2 * time.Millisecond) // a slow key's work, not synchronisation
		}
		hl.add(string(m.Key), i)
		return nil
	}
}

// slowKey is a started ordering: key consumer (concurrency 4) of a
// 1-partition topic pre-filled with slowN records of slowKeys keys,
// handled by slowKeyHandler.
type slowKey struct {
	cluster  *kafkatest.Cluster
	topic    string
	consumer stream.Consumer
	hl       *handledLog
	release  chan struct{}
	calls    atomic.Int64
}

const slowN, slowKeys = 400, 8

func startSlowKey(ctx context.Context, t *testing.T) *slowKey {
	t.Helper()
	sk := &slowKey{cluster: kafkatest.Start(t), topic: uniqueTopic(t), hl: newHandledLog(), release: make(chan struct{})}
	createTopic(t, sk.cluster, sk.topic, 1, nil)
	fillKeyed(t, sk.cluster, sk.topic, slowN, slowKeys)
	b := newKeyOrderBinder(t, sk.cluster, testLogger(t))
	c, err := b.BindConsumer(ctx, keyedSpec(sk.topic, "g", 4, slowKeyHandler(sk.hl, sk.release, &sk.calls)))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	sk.consumer = c
	return sk
}

// TestKeyOrderGracefulStopCommitsHandled: with ordering key, a graceful
// Stop while one key's lane is behind (its queued messages are gaps
// before messages of other keys already handled) handles those gaps
// before it leaves, so the commit passes every message handled and the
// next owner gets none of them again. The rolling-deployment trial had
// 651 duplicates over 8 stops before: the commit stopped at the first
// message still queued in a lane.
func TestKeyOrderGracefulStopCommitsHandled(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), keyOrderTimeout)
	defer cancel()
	sk := startSlowKey(ctx, t)
	c, topic, c1, hl, release := sk.cluster, sk.topic, sk.consumer, sk.hl, sk.release
	// Every other key's messages are handled while k0 waits at 0.
	hl.waitCount(t, "the messages of the other keys", slowN-slowN/slowKeys)
	close(release)
	if err := c1.Stop(ctx); err != nil {
		t.Fatalf("graceful Stop: %v", err)
	}
	committed := committedOf(t, c, "g", topic)
	hl.mu.Lock()
	defer hl.mu.Unlock()
	maxHandled := -1
	for i, k := range hl.times {
		maxHandled = max(maxHandled, i)
		if k != 1 {
			t.Errorf("message %d handled %d times", i, k)
		}
	}
	if committed <= int64(maxHandled) {
		t.Fatalf("committed %d after a graceful Stop, but message %d was handled: the next owner gets the handled messages after %d again (%d of %d handled)",
			committed, maxHandled, committed, len(hl.times), slowN)
	}
	for i := range int(committed) {
		if hl.times[i] == 0 {
			t.Errorf("message %d below the committed offset %d was not handled", i, committed)
		}
	}
	for k, is := range hl.perKey {
		for j := 1; j < len(is); j++ {
			if is[j] < is[j-1] {
				t.Errorf("key %s handled out of order: %v", k, is)
				break
			}
		}
	}
}

// TestKeyOrderStopWhilePausedCallsNoHandler: Stop of a paused consumer
// with ordering key does not handle the gaps of its prefix: no handler
// call starts after Pause returned.
func TestKeyOrderStopWhilePausedCallsNoHandler(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), keyOrderTimeout)
	defer cancel()
	sk := startSlowKey(ctx, t)
	c1, hl, release, calls := sk.consumer, sk.hl, sk.release, &sk.calls
	hl.waitCount(t, "the messages of the other keys", slowN-slowN/slowKeys)
	pctx, pcancel := context.WithCancel(ctx)
	paused := make(chan error, 1)
	go func() { paused <- c1.Pause(pctx) }()
	close(release) // Pause waits for the call in flight (message 0)
	if err := <-paused; err != nil {
		t.Fatal(err)
	}
	pcancel()
	before := calls.Load()
	if err := c1.Stop(ctx); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if after := calls.Load(); after != before {
		t.Fatalf("%d handler calls after Pause returned (during Stop); want 0", after-before)
	}
}
