package redis_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	redisbinder "github.com/streambind/streambind/binder/redis"
	"github.com/streambind/streambind/binder/redis/redistest"
	"github.com/streambind/streambind/stream"
)

// TestBreakRawEntriesPanicDeadLettered: entries another program wrote with
// odd fields — binary field names and values without a payload, only a
// key, an empty and a binary header name, a payload over
// dead-letter-max-size, a content type alone — reach a handler that panics
// on every one: each is dead-lettered (x-exception-* headers naming the
// panic, x-original-id), nothing stays pending, and the binding goes on
// with the next message.
func TestBreakRawEntriesPanicDeadLettered(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	admin := redistest.Client(t, redistest.Addr(), "", "")
	ctx := context.Background()
	b := e.binder(t, map[string]any{"dead-letter-max-size": 1 << 20})
	dest := "raw"
	key := redisbinder.StreamKey(e.prefix, dest, -1)
	dlqKey := redisbinder.StreamKey(e.prefix, stream.DLQName(dest, "g"), -1)
	var panics atomic.Int64
	tr := newTracker()
	bindConsumer(t, b, stream.ConsumerSpec{Destination: dest, Group: "g", Consumer: stream.ConsumerConfig{DLQ: true, Concurrency: 2},
		Handler: func(_ context.Context, m stream.Envelope) error {
			if id := m.Headers[idHeader]; id != "" {
				tr.receive(id)
				return nil
			}
			panics.Add(1)
			panic("cannot read this")
		}})
	raw := [][]any{
		{"\xff\xfe", "\x00\x01", "sku", "42"},
		{"key", "k1"},
		{"payload", "p", "h:\xffbin", "v", "h:", "empty"},
		{"payload", strings.Repeat("x", 2<<20)},
		{"h:contentType", "text/plain"},
	}
	var rawIDs []string
	for _, vals := range raw {
		id, err := admin.XAdd(ctx, &goredis.XAddArgs{Stream: key, Values: vals}).Result()
		if err != nil {
			t.Fatal(err)
		}
		rawIDs = append(rawIDs, id)
	}
	send(t, bindProducer(t, b, stream.ProducerSpec{Destination: dest}), []string{"after"})
	tr.wait(t, []string{"after"}, 10*time.Second)
	var dls []goredis.XMessage
	waitFor(t, 10*time.Second, "every raw entry dead-lettered", func() bool {
		var err error
		dls, err = admin.XRange(ctx, dlqKey, "-", "+").Result()
		return err == nil && len(dls) == len(raw)
	})
	got := map[string]bool{}
	for _, d := range dls {
		v := d.Values
		oid, _ := v["h:"+redisbinder.HeaderOriginalID].(string)
		got[oid] = true
		msg, _ := v["h:"+stream.HeaderExceptionMessage].(string)
		if !strings.Contains(msg, "panic") || !strings.Contains(msg, "cannot read this") {
			t.Errorf("dead letter of %s: exception message %q", oid, msg)
		}
		if p, _ := v["payload"].(string); len(p) > 1<<20 {
			t.Errorf("dead letter of %s kept a %d-byte payload over dead-letter-max-size", oid, len(p))
		}
	}
	for _, id := range rawIDs {
		if !got[id] {
			t.Errorf("entry %s not dead-lettered (dead letters of %v)", id, got)
		}
	}
	waitFor(t, 10*time.Second, "nothing pending", func() bool {
		s, err := admin.XPending(ctx, key, "g").Result()
		return err == nil && s.Count == 0
	})
	if n := panics.Load(); n != int64(len(raw)) {
		t.Errorf("%d panics, want one per raw entry (%d)", n, len(raw))
	}
}
