package idempotency_test

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestShortKeyColumnSaysWhatToDo: a marks table made by hand whose key
// column is a varchar shorter than the stored keys (up to
// idempotency.MaxPlainKey characters) is a store fault for the messages
// whose key does not fit — left for redelivery, not dead-lettered — and
// readiness says which sizes the columns must take and how to widen them,
// and that such a message is redelivered again and again (on Kafka it
// holds its partition). Once the column is widened the message runs once.
func TestShortKeyColumnSaysWhatToDo(t *testing.T) {
	t.Parallel()
	st := newStores(t, "postgres")
	ctx := context.Background()
	ta, calls, id, e := startOnHandMadeTable(t, st, "short_keys", "binding text NOT NULL, key varchar(20) NOT NULL, expires_at timestamptz NOT NULL, PRIMARY KEY (binding, key)", "a-key-longer-than-twenty-characters")
	for _, want := range []string{"longer than its varchar column", "idempotency.MaxPlainKey", "ALTER COLUMN key TYPE text", "holds its partition"} {
		if !strings.Contains(e, want) {
			t.Errorf("readiness: %s; want it to say %q", e, want)
		}
	}
	b := ta.app.Binding("handle-in-0")
	if s := b.Stats(); s.DeadLettered != 0 || s.Failed != 0 {
		t.Fatalf("binding stats %+v: the message failed for the table's fault", s)
	}
	if _, err := st.pool.Exec(ctx, "ALTER TABLE "+st.table+" ALTER COLUMN key TYPE text"); err != nil {
		t.Fatal(err)
	}
	if c := receive(t, calls, 30*time.Second); c != (call{id, 1}) {
		t.Fatalf("call %+v, want %s 1", c, id)
	}
	waitStats(t, ta, 0, 1)
}
