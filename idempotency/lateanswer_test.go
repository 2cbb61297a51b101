package idempotency_test

import (
	"context"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/streambind/streambind/idempotency"
	"github.com/streambind/streambind/internal/syncbuf"
	"github.com/streambind/streambind/stream"
)

// TestAnswerAsStoreTimeoutRunsOut: a BEGIN answered just as the store
// timeout ran out (the hook holds the round trip until the timeout has
// ended the attempt's context) leaves the message for redelivery, which
// runs it once; it is not reported as a store outage. (The attempt went
// on with the ended context: its next round trip failed with "context
// canceled", logged as "store unavailable" and readiness down.)
func TestAnswerAsStoreTimeoutRunsOut(t *testing.T) {
	onDrivers(t, func(t *testing.T, st *stores) {
		st.storeTimeout = 200 * time.Millisecond
		var logs syncbuf.Buffer
		st.logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
		var held atomic.Bool
		defer idempotency.SetRoundTripHook(func(actx context.Context, step string) {
			if step == "begin" && held.CompareAndSwap(false, true) {
				<-actx.Done() // the timeout ran out after BEGIN's answer
			}
		})()
		calls := make(chan call, 10)
		ta := startApp(t, newBroker(t, "memory"), st, appSpec{store: "postgres", handler: func(ctx context.Context, m stream.Message[order]) error {
			if err := txEffect(ctx, st, m.Payload.N); err != nil {
				return err
			}
			calls <- call{m.Headers.Get(stream.HeaderID), m.Payload.N}
			return nil
		}})
		ta.send(t, uniqueID(t, "1"), 1)
		receive(t, calls, 30*time.Second)
		waitStats(t, ta, 0, 1)
		if !held.Load() {
			t.Fatal("the hook did not hold a BEGIN")
		}
		if h := storeHealth(t, ta, st); !h.Up {
			t.Errorf("store down: %s", h.Error)
		}
		ta.stop()
		if n := st.count(t, "effects"); n != 1 {
			t.Errorf("%d effects, want 1", n)
		}
		if s := ta.app.Binding("handle-in-0").Stats(); s.Failed != 0 {
			t.Errorf("binding stats %+v: want no failed attempt", s)
		}
		if l := logs.String(); strings.Contains(l, "store unavailable") || strings.Contains(l, "context canceled") {
			t.Errorf("an answer as the timeout ran out was logged as a store outage:\n%s", l)
		}
	})
}
