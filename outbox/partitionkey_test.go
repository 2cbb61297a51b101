package outbox_test

import (
	"context"
	"encoding/json"
	"strconv"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/streambind/streambind/outbox"
	"github.com/streambind/streambind/stream"
)

// On a partitioned binding the stored row's key is the message key the
// sender gave (outbox.Key, a kafka_messageKey header, a Message's Key), or
// none: the partition-key-expression selects the partition only, as in
// SCSt. The row used to take the partition key as its key, and outbox.Key
// and a kafka_messageKey header were refused there.
func TestPartitionedRowKeyIsTheGivenKey(t *testing.T) {
	pool, table := migrate(t)
	br := newBroker(t, "memory")
	extra := "    parts: { destination: partd, producer: { partition-key-expression: headers.customer, partition-count: 4 } }\n"
	a := startApp(t, br, appSpec{relay: false, table: table, extraYAML: extra, outputs: ";parts"})
	ctx := context.Background()
	want := strconv.Itoa(stream.SelectPartition(stream.PartitionHash("c-1"), 4))
	for i, tc := range []struct {
		name  string
		value any
		opts  []outbox.SendOption
		key   string
	}{
		{"no key", stream.NewMessage("x", "customer", "c-1"), nil, ""},
		{"Key option", stream.NewMessage("x", "customer", "c-1"), []outbox.SendOption{outbox.Key("k")}, "k"},
		{"kafka_messageKey header", stream.NewMessage("x", "customer", "c-1"), []outbox.SendOption{outbox.Header(stream.HeaderMessageKey, "h")}, "h"},
		{"Message Key", stream.Message[string]{Payload: "x", Headers: stream.Headers{"customer": "c-1"}, Key: []byte("m")}, nil, "m"},
	} {
		inTx(t, pool, true, func(tx pgx.Tx) {
			if err := a.ob.Send(ctx, tx, "parts", tc.value, tc.opts...); err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
		})
		var (
			key []byte
			hdr []byte
		)
		if err := pool.QueryRow(ctx, "SELECT key, headers FROM "+table+" ORDER BY id OFFSET $1 LIMIT 1", i).Scan(&key, &hdr); err != nil {
			t.Fatal(err)
		}
		var h map[string]any
		if err := json.Unmarshal(hdr, &h); err != nil {
			t.Fatalf("%s: headers %s: %v", tc.name, hdr, err)
		}
		if string(key) != tc.key || h[stream.HeaderPartition] != want {
			t.Errorf("%s: stored key %q, scst_partition %v; want key %q and partition %s (headers.customer's)", tc.name, key, h[stream.HeaderPartition], tc.key, want)
		}
		if _, ok := h[stream.HeaderMessageKey]; ok {
			t.Errorf("%s: kafka_messageKey stored as a header", tc.name)
		}
	}
}
