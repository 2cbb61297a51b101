package redis_test

import (
	"context"
	"errors"
	"testing"
	"time"

	redisbinder "github.com/streambind/streambind/binder/redis"
	"github.com/streambind/streambind/binder/redis/redistest"
	"github.com/streambind/streambind/stream"
)

// TestTrimAcked: once every group has acknowledged the entries of a
// stream, the trimmer removes them (the stream stays bounded, not 3000
// entries long); a group that has not read them yet keeps them.
func TestTrimAcked(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	admin := redistest.Client(t, redistest.Addr(), "", "")
	ctx := context.Background()
	b := e.binder(t, map[string]any{"trim-interval": "100ms"})
	key := redisbinder.StreamKey(e.prefix, "trim", -1)
	p := bindProducer(t, b, stream.ProducerSpec{Destination: "trim", Producer: stream.ProducerConfig{RequiredGroups: []string{"late"}}})
	tr := newTracker()
	bindConsumer(t, b, stream.ConsumerSpec{Destination: "trim", Group: "early",
		Handler: func(_ context.Context, m stream.Envelope) error { tr.receive(m.Headers[idHeader]); return nil }})
	sent := ids("m", 3000)
	send(t, p, sent)
	tr.wait(t, sent, 20*time.Second)

	// Group "late" has read nothing: nothing may go.
	time.Sleep(500 * time.Millisecond) // several trim intervals
	if n := admin.XLen(ctx, key).Val(); n != int64(len(sent)) {
		t.Fatalf("stream holds %d entries while group late has read none, want all %d", n, len(sent))
	}
	late := newTracker()
	bindConsumer(t, b, stream.ConsumerSpec{Destination: "trim", Group: "late",
		Handler: func(_ context.Context, m stream.Envelope) error { late.receive(m.Headers[idHeader]); return nil }})
	late.wait(t, sent, 20*time.Second)
	waitFor(t, 10*time.Second, "the acknowledged entries to be trimmed", func() bool {
		return admin.XLen(ctx, key).Val() <= 200
	})
	t.Logf("after both groups acknowledged %d entries the stream holds %d", len(sent), admin.XLen(ctx, key).Val())
}

// TestTrimOff: with trim-acked off (and no max-age), acknowledged entries
// stay — the control of TestTrimAcked.
func TestTrimOff(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	admin := redistest.Client(t, redistest.Addr(), "", "")
	b := e.binder(t, map[string]any{"trim-interval": "100ms", "trim-acked": false})
	tr := newTracker()
	bindConsumer(t, b, stream.ConsumerSpec{Destination: "keep", Group: "g",
		Handler: func(_ context.Context, m stream.Envelope) error { tr.receive(m.Headers[idHeader]); return nil }})
	sent := ids("m", 500)
	send(t, bindProducer(t, b, stream.ProducerSpec{Destination: "keep"}), sent)
	tr.wait(t, sent, 20*time.Second)
	time.Sleep(500 * time.Millisecond)
	if n := admin.XLen(context.Background(), redisbinder.StreamKey(e.prefix, "keep", -1)).Val(); n != 500 {
		t.Errorf("stream holds %d entries, want 500 (nothing trimmed)", n)
	}
}

// TestMaxLength: every XADD caps the stream at about max-length entries,
// read or not (here: no group at all).
func TestMaxLength(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	admin := redistest.Client(t, redistest.Addr(), "", "")
	b := e.binder(t, map[string]any{"max-length": 500})
	p := bindProducer(t, b, stream.ProducerSpec{Destination: "cap", Producer: stream.ProducerConfig{PartitionCount: 2, PartitionKeyExpression: "key"}})
	ctx := context.Background()
	for i := range 3000 {
		m := msg(itoa(i))
		m.Headers[stream.HeaderPartition] = itoa(i % 2)
		if err := p.Send(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	for part := range 2 {
		n := admin.XLen(ctx, redisbinder.StreamKey(e.prefix, "cap", part)).Val()
		t.Logf("partition %d: 1500 sent, %d kept", part, n)
		if n < 500 || n > 700 {
			t.Errorf("partition %d holds %d entries, want about max-length (500)", part, n)
		}
	}
}

// TestMaxAge: entries older than max-age are trimmed whether or not they
// were read.
func TestMaxAge(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	admin := redistest.Client(t, redistest.Addr(), "", "")
	b := e.binder(t, map[string]any{"max-age": "300ms", "trim-interval": "100ms", "trim-acked": false})
	send(t, bindProducer(t, b, stream.ProducerSpec{Destination: "old"}), ids("m", 250))
	key := redisbinder.StreamKey(e.prefix, "old", -1)
	waitFor(t, 10*time.Second, "entries older than max-age to go", func() bool {
		return admin.XLen(context.Background(), key).Val() == 0
	})
}

// TestTrimKeepsDeadLettersAReaderAcked: trim-acked does not trim a
// dead-letter stream, whether the binder knows it as a consumer's dlq or
// only as what a dead-letters-of reader reads (a reader in a process of
// its own): the reader's group acknowledging every dead letter leaves
// them for streambind dlq, as the conventions promise. A control stream
// trimmed after the reader's acks shows the trimmer ran meanwhile.
func TestTrimKeepsDeadLettersAReaderAcked(t *testing.T) {
	t.Parallel()
	for _, alone := range []bool{false, true} {
		name := "reader beside the dlq"
		if alone {
			name = "reader alone"
		}
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			admin := redistest.Client(t, redistest.Addr(), "", "")
			ctx := context.Background()
			settings := map[string]any{"trim-interval": "100ms"}
			a := e.binder(t, settings)
			failing := bindConsumer(t, a, stream.ConsumerSpec{Binding: "pay-in-0", Destination: "orders", Group: "g",
				Consumer: stream.ConsumerConfig{DLQ: true},
				Handler:  func(context.Context, stream.Envelope) error { return stream.Permanent(errors.New("card declined")) }})
			dlqKey := redisbinder.StreamKey(e.prefix, stream.DLQName("orders", "g"), -1)
			dead := ids("d", 300)
			send(t, bindProducer(t, a, stream.ProducerSpec{Destination: "orders"}), dead)
			waitFor(t, 20*time.Second, "the dead letters", func() bool { return admin.XLen(ctx, dlqKey).Val() == int64(len(dead)) })
			b := a
			if alone {
				// The reader's process knows nothing of the dlq binding.
				if err := failing.Stop(ctx); err != nil {
					t.Fatal(err)
				}
				if err := a.Close(ctx); err != nil {
					t.Fatal(err)
				}
				b = e.binder(t, settings)
			}
			reader := newTracker()
			bindConsumer(t, b, stream.ConsumerSpec{Binding: "audit-in-0", Destination: stream.DLQName("orders", "g"), Group: "audit",
				Consumer: stream.ConsumerConfig{DeadLettersOf: "pay-in-0"},
				Handler:  func(_ context.Context, m stream.Envelope) error { reader.receive(m.Headers[idHeader]); return nil }})
			reader.wait(t, dead, 20*time.Second)
			waitFor(t, 10*time.Second, "the reader's acks", func() bool {
				return admin.XPending(ctx, dlqKey, "audit").Val().Count == 0
			})

			control := newTracker()
			bindConsumer(t, b, stream.ConsumerSpec{Destination: "control", Group: "c",
				Handler: func(_ context.Context, m stream.Envelope) error { control.receive(m.Headers[idHeader]); return nil }})
			sent := ids("c", 3000)
			send(t, bindProducer(t, b, stream.ProducerSpec{Destination: "control"}), sent)
			control.wait(t, sent, 20*time.Second)
			waitFor(t, 10*time.Second, "the control stream's acknowledged entries to be trimmed", func() bool {
				return admin.XLen(ctx, redisbinder.StreamKey(e.prefix, "control", -1)).Val() <= 200
			})
			if n := admin.XLen(ctx, dlqKey).Val(); n != int64(len(dead)) {
				t.Errorf("the dead-letter stream holds %d entries after its reader acknowledged them, want all %d", n, len(dead))
			}
		})
	}
}
