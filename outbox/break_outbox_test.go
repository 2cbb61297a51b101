package outbox_test

// Attacks on the outbox by a breaking review; each test is the regression
// test of a defect it found.

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/streambind/streambind/outbox"
)

// TestLongNonASCIIErrorsAreRecorded: a row's last_error is cut to 1000
// bytes. Cut inside a multi-byte UTF-8 character it was not valid text,
// and PostgreSQL refused the UPDATE (SQLSTATE 22021), and with it the
// batch's deletes and commit: a row set aside for undecodable headers
// whose reason named a long non-ASCII header key was never set aside,
// failing every batch that claimed it (the rows after it in the table
// were never sent: each batch claims the oldest rows), and a failed send
// whose error named a long non-ASCII destination never had its attempt
// counted.
func TestLongNonASCIIErrorsAreRecorded(t *testing.T) {
	pool, table := migrate(t)
	ctx := context.Background()
	br := newBroker(t, "memory")
	a := startApp(t, br, appSpec{consume: true, table: table})
	long := strings.Repeat("é", 600) // 1200 bytes
	inTx(t, pool, true, func(tx pgx.Tx) {
		// Headers whose value is not base64: set aside, the reason naming
		// the key. Two rows, the key one byte apart, so that one of the
		// two reasons is cut inside a character.
		for i, k := range []string{long, "x" + long} {
			hdr, _ := json.Marshal([]string{base64.StdEncoding.EncodeToString([]byte(k)), "!"})
			if _, err := tx.Exec(ctx, "INSERT INTO "+table+" (name, key, payload, headers) VALUES ('events', $1, '{}', $2::jsonb)", []byte{byte('a' + i)}, string(hdr)); err != nil {
				t.Fatal(err)
			}
		}
		// Rows for destinations the relay's app does not allow: their
		// sends fail with an error that names them.
		for i, n := range []string{long, "x" + long} {
			if _, err := tx.Exec(ctx, "INSERT INTO "+table+" (name, key, payload) VALUES ($1, $2, '{}')", n, []byte{byte('c' + i)}); err != nil {
				t.Fatal(err)
			}
		}
		if err := a.ob.Send(ctx, tx, "events", event{Key: "k", Seq: 0}, outbox.Key("k")); err != nil {
			t.Fatal(err)
		}
	})
	relay := startApp(t, br, appSpec{relay: true, table: table, poll: 50 * time.Millisecond, topYAML: "  dynamic-destinations: [evt]\n"})
	receive(t, a.got, 30*time.Second)
	deadline := time.Now().Add(30 * time.Second)
	for {
		var live, aside, failed int
		if err := pool.QueryRow(ctx, "SELECT count(*) FILTER (WHERE dead_at IS NULL AND attempts = 0), count(*) FILTER (WHERE dead_at IS NOT NULL), count(*) FILTER (WHERE attempts > 0 AND last_error IS NOT NULL) FROM "+table).Scan(&live, &aside, &failed); err != nil {
			t.Fatal(err)
		}
		if live == 0 && aside == 2 && failed == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d rows untouched, %d set aside, %d with a failed attempt counted; want 0, 2, 2 (relay health: %v)", live, aside, failed, relay.ob.Relay().Health(ctx))
		}
		time.Sleep(20 * time.Millisecond) // polling the table's state
	}
	if err := relay.ob.Relay().Health(ctx); err != nil {
		t.Errorf("relay unhealthy: %v", err)
	}
}
