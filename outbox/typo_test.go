package outbox_test

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

// TestSendRefusesLikelyTypo: a name close to a configured binding or
// destination but not configured itself is refused by Send (a stored row
// the relay cannot send would block its key); configured names and names
// far from every configured one are taken.
func TestSendRefusesLikelyTypo(t *testing.T) {
	pool, table := migrate(t)
	a := startApp(t, newBroker(t, "memory"), appSpec{table: table})
	ctx := context.Background()
	inTx(t, pool, false, func(tx pgx.Tx) {
		err := a.ob.Send(ctx, tx, "evnets", event{Key: "k"})
		if err == nil || !strings.Contains(err.Error(), "did you mean events?") {
			t.Fatalf("Send(evnets) = %v, want a refusal suggesting events", err)
		}
		if err := a.ob.Send(ctx, tx, "events", event{Key: "k"}); err != nil {
			t.Fatalf("Send(events): %v", err)
		}
		if err := a.ob.Send(ctx, tx, "evt", event{Key: "k"}); err != nil {
			t.Fatalf("Send(evt), the binding's destination: %v", err)
		}
		if err := a.ob.Send(ctx, tx, "audit-trail", event{Key: "k"}); err != nil {
			t.Fatalf("Send(audit-trail), a dynamic destination close to nothing: %v", err)
		}
	})
}
