package idempotency_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/streambind/streambind/idempotency"
	"github.com/streambind/streambind/stream"
	"github.com/streambind/streambind/stream/streamtest"
)

// The copies of one dead letter that a replay sends more than once (a
// replay killed after a copy's send, before the dead letter's removal,
// sends it again) and the copies of a copy's own dead letter are one
// message to the idempotent consumer: its default key is the original's
// id (x-streambind-replayed-id) on a replayed copy, which has an id of
// its own. The original failed, so no mark holds its id until a copy
// succeeds. Before, the key was the copy's id: every copy ran the
// handler and wrote its effect (3 effects below, not 1); and a copy's
// dead letter, replayed, named the copy's id, not the original's.
//
// On the postgres store and the in-process binder, through
// streamtest.StartWith.
func TestReplayedCopiesAreOneMessage(t *testing.T) {
	st := newStores(t, "postgres")
	var broken atomic.Bool
	broken.Store(true)
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "apply", func(ctx context.Context, o order) error {
		if _, err := idempotency.Tx(ctx).Exec(ctx, "INSERT INTO "+st.schema+".effects (n) VALUES ($1)", o.N); err != nil {
			return err
		}
		if broken.Load() {
			return stream.Permanent(errors.New("broken"))
		}
		return nil
	})
	cfg := &stream.Config{
		Function: stream.FunctionConfig{Definition: "apply"},
		Bindings: map[string]stream.BindingConfig{"apply-in-0": {Destination: "orders", Group: "ledger", Consumer: stream.ConsumerConfig{
			DLQ: true, Idempotency: stream.IdempotencyConfig{Store: stream.IdempotencyStorePostgres},
		}}},
	}
	var idem *idempotency.Consumer
	env := streamtest.StartWith(t, cfg, fns, func(app *stream.App) (err error) {
		idem, err = idempotency.New(app, st.config(), st.options())
		return err
	})
	// replay sends the copy of dead letter d as `streambind dlq replay`
	// does: ReplayHeaders, and an id of its own (the harness gives one,
	// as the producer would).
	replay := func(d stream.Envelope) {
		t.Helper()
		if err := env.SendEnvelope("apply-in-0", stream.Envelope{Payload: d.Payload, Headers: stream.ReplayHeaders(d.Headers)}); err != nil {
			t.Fatal(err)
		}
	}
	env.Send(t, "apply-in-0", order{N: 1}, stream.HeaderID, "m-1")
	d1, err := env.DeadLetter("apply-in-0")
	if err != nil {
		t.Fatal(err)
	}
	// The first copy fails too: its own dead letter d2 names the
	// original in x-streambind-replayed-id.
	replay(d1)
	d2, err := env.DeadLetter("apply-in-0")
	if err != nil {
		t.Fatal(err)
	}
	if c := stream.ReplayHeaders(d2.Headers); c[stream.HeaderReplayedID] != "m-1" || c[stream.HeaderReplayCount] != "2" {
		t.Fatalf("the copy of a copy's dead letter: %s %q (want m-1), %s %q (want 2)",
			stream.HeaderReplayedID, c[stream.HeaderReplayedID], stream.HeaderReplayCount, c[stream.HeaderReplayCount])
	}
	broken.Store(false)
	replay(d1) // d1 once more: the replay was killed before removing it
	replay(d2)
	replay(d1)
	env.Drain(t)
	env.ExpectNoDeadLetter(t, "apply-in-0")
	if n := st.count(t, "effects"); n != 1 {
		t.Fatalf("%d effects of one message replayed, want 1 (stats %+v)", n, idem.Stats("apply-in-0"))
	}
	if s := idem.Stats("apply-in-0"); s.Processed != 1 || s.Skipped != 2 {
		t.Fatalf("stats %+v, want 1 processed, 2 skipped", s)
	}
}
