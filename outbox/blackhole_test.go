package outbox_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/streambind/streambind/outbox"
	"github.com/streambind/streambind/outbox/outboxtest"
)

// TestBlackHoledDatabaseFailsWithinSendTimeout: a database that stops
// answering without closing the connection (a hung server, a network that
// drops packets: here a proxy that forwards nothing and keeps its sockets)
// fails the relay's batch within send-timeout, and readiness says so; the
// relay recovers by itself once the database answers again. (The relay
// used to wait for the claim's answer for as long as the socket lived:
// readiness up, the rows unsent, for ever.)
func TestBlackHoledDatabaseFailsWithinSendTimeout(t *testing.T) {
	pool, table := migrate(t)
	px := outboxtest.BlackHole(t)
	cfg := outbox.Config{Table: table, DSN: px.DSN(t, "obx_blackhole"), PollInterval: 50 * time.Millisecond, SendTimeout: time.Second}
	_, ob, got, _ := breakApp(t, newBroker(t, "memory"), true, cfg)
	store := func(seq int) {
		inTx(t, pool, true, func(tx pgx.Tx) {
			if err := ob.Send(context.Background(), tx, "events", event{Key: "k", Seq: seq}, outbox.Key("k")); err != nil {
				t.Fatal(err)
			}
		})
	}
	store(0)
	receive(t, got, 15*time.Second)           // the relay's connections are established
	waitEmpty(t, pool, table, 15*time.Second) // and its batch committed

	px.Freeze()
	frozen := time.Now()
	store(1)
	var herr error
	waitForCond(t, 15*time.Second, "the relay to report the database down", func() bool {
		herr = ob.Relay().Health(context.Background())
		return herr != nil
	})
	took := time.Since(frozen)
	t.Logf("down after %s: %v", took.Round(time.Millisecond), herr)
	if !strings.Contains(herr.Error(), "did not answer within send-timeout") {
		t.Errorf("health: %v; want it to say the database did not answer within send-timeout", herr)
	}
	// A batch that started just before the freeze may take up to two
	// rounds (the claim, the commit) of send-timeout, plus a poll.
	if took > 5*time.Second {
		t.Errorf("down only after %s; want within about 2 x send-timeout (1s)", took)
	}

	px.Thaw()
	if m := receive(t, got, 30*time.Second); m.Payload.Seq != 1 {
		t.Errorf("after the thaw got seq %d, want 1", m.Payload.Seq)
	}
	waitEmpty(t, pool, table, 30*time.Second)
	waitForCond(t, 15*time.Second, "the relay to report up again", func() bool {
		return ob.Relay().Health(context.Background()) == nil
	})
}
