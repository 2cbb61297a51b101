package redis_test

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	redisbinder "github.com/streambind/streambind/binder/redis"
	"github.com/streambind/streambind/binder/redis/redistest"
	"github.com/streambind/streambind/stream"
)

// TestDeliveriesHeaderIsTheBinders: x-redis-deliveries, as a handler sees
// it, is Redis's delivery count, not a field of the entry (another
// program's h:x-redis-deliveries 7 reached the handler as 7); a dead letter
// carries the count as x-original-deliveries, not as x-redis-deliveries,
// so that its replay (stream.ReplayHeaders, as streambind dlq replay
// sends it) writes no h:x-redis-deliveries into the stream; and a dead
// letter written before that (with h:x-redis-deliveries) is replayed
// without it too.
func TestDeliveriesHeaderIsTheBinders(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	admin := redistest.Client(t, redistest.Addr(), "", "")
	const dest = "dh"
	key := redisbinder.StreamKey(e.prefix, dest, -1)
	dlqKey := redisbinder.StreamKey(e.prefix, stream.DLQName(dest, "g"), -1)
	b := e.binder(t, nil)
	bindProducer(t, b, stream.ProducerSpec{Destination: dest, Producer: stream.ProducerConfig{RequiredGroups: []string{"g"}}})

	// Written by another program, with the binder's header in it.
	if err := admin.XAdd(ctx, &goredis.XAddArgs{Stream: key, Values: []any{
		"h:" + redisbinder.HeaderDeliveries, "7", "h:" + idHeader, "forged", "payload", `{}`,
	}}).Err(); err != nil {
		t.Fatal(err)
	}
	seen := make(chan string, 10)
	bindConsumer(t, b, stream.ConsumerSpec{Destination: dest, Group: "g", Consumer: stream.ConsumerConfig{DLQ: true},
		Handler: func(_ context.Context, m stream.Envelope) error {
			if m.Headers[idHeader] != "forged" {
				return nil // the replayed copy, below
			}
			seen <- m.Headers[redisbinder.HeaderDeliveries]
			return stream.Permanent(errors.New("rejected"))
		}})
	select {
	case got := <-seen:
		if got != "1" {
			t.Errorf("handler saw %s = %q, want 1 (Redis's count, not the entry's 7)", redisbinder.HeaderDeliveries, got)
		}
	case <-ctx.Done():
		t.Fatal("the entry was not handled")
	}

	dlEntry := func() goredis.XMessage {
		t.Helper()
		var ms []goredis.XMessage
		waitFor(t, 10*time.Second, "the dead letter", func() bool {
			ms, _ = admin.XRange(ctx, dlqKey, "-", "+").Result()
			return len(ms) > 0
		})
		return ms[len(ms)-1]
	}
	dl := dlEntry()
	if v, ok := dl.Values["h:"+redisbinder.HeaderDeliveries]; ok {
		t.Errorf("dead letter has field h:%s = %v", redisbinder.HeaderDeliveries, v)
	}
	if v := dl.Values["h:"+redisbinder.HeaderOriginalDeliveries]; v != "1" {
		t.Errorf("dead letter field h:%s = %v, want 1", redisbinder.HeaderOriginalDeliveries, v)
	}

	// A dead letter of an earlier version, with the count as
	// x-redis-deliveries.
	if err := admin.XAdd(ctx, &goredis.XAddArgs{Stream: dlqKey, Values: []any{
		"h:" + redisbinder.HeaderDeliveries, "3", "h:" + idHeader, "old", "h:" + stream.HeaderExceptionMessage, "x", "payload", `{}`,
	}}).Err(); err != nil {
		t.Fatal(err)
	}

	// Replay both, as streambind dlq replay does.
	cur, err := b.OpenDeadLetters(ctx, stream.ConsumerSpec{Binding: "test-in-0", Destination: dest, Group: "g"}, stream.DeadLetterOpen{})
	if err != nil {
		t.Fatal(err)
	}
	defer cur.Close(ctx)
	out := bindProducer(t, b, stream.ProducerSpec{Binding: "replay-out-0", Destination: dest})
	n := 0
	for {
		d, err := cur.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		n++
		if _, ok := d.Headers[redisbinder.HeaderDeliveries]; ok {
			t.Errorf("dead letter %s lists %s", d.Headers[idHeader], redisbinder.HeaderDeliveries)
		}
		if got, want := d.Headers[redisbinder.HeaderOriginalDeliveries], map[string]string{"forged": "1", "old": "3"}[d.Headers[idHeader]]; got != want {
			t.Errorf("dead letter %s: %s = %q, want %q", d.Headers[idHeader], redisbinder.HeaderOriginalDeliveries, got, want)
		}
		if err := out.Send(ctx, stream.Envelope{Payload: d.Payload, Key: d.Key, Headers: stream.ReplayHeaders(d.Headers)}); err != nil {
			t.Fatal(err)
		}
	}
	if n != 2 {
		t.Fatalf("%d dead letters, want 2", n)
	}
	ms, err := admin.XRange(ctx, key, "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	replayed := 0
	for _, m := range ms[1:] { // after the forged entry
		replayed++
		for f, v := range m.Values {
			if f == "h:"+redisbinder.HeaderDeliveries || f == "h:"+redisbinder.HeaderOriginalDeliveries {
				t.Errorf("replayed entry %s (%v) has field %s = %v", m.ID, m.Values["h:"+idHeader], f, v)
			}
		}
	}
	if replayed != 2 {
		t.Errorf("%d replayed entries, want 2", replayed)
	}
}
