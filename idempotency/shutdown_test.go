package idempotency_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/streambind/streambind/stream"
)

// TestShutdownWithOwnPoolAndBusyHandler: the postgres store opened its
// own pool from idempotency.postgres.dsn (no Options.Pool) and a handler
// is running when the app is asked to stop; the handler ends when its
// context ends (a call that honours ctx). The app must stop within its
// shutdown-timeout (5s here), leaving the message for redelivery. The store's
// component closed its pool when components were stopped — before the
// bindings are drained — and pgxpool.Close waits for every acquired
// connection, i.e. for the running handler, whose context is ended only
// by the bindings' shutdown that comes after: a deadlock. (From an
// adversarial review.)
func TestShutdownWithOwnPoolAndBusyHandler(t *testing.T) {
	t.Parallel()
	st := newStores(t, "postgres")
	st.own = true
	st.table = st.schema + ".marks"
	running := make(chan struct{}, 1)
	ta := startApp(t, newBroker(t, "memory"), st, appSpec{store: "postgres", shutdown: "5s", handler: func(ctx context.Context, _ stream.Message[order]) error {
		running <- struct{}{}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(60 * time.Second): // so that a hung shutdown ends with the test
			return errors.New("handler's context not ended within 60s")
		}
	}})
	ta.stopped = func(err error) {
		// The handler's context ends a second before the shutdown-timeout
		// (dispatch.SettleReserve): it returns, its message is given back
		// in time, and Run returns nil. On a machine too loaded to settle
		// within that second, Run reports the message interrupted, with
		// what the deadline cut short; any other error is a failure.
		if err == nil {
			return
		}
		if !strings.Contains(err.Error(), "in-flight messages interrupted") {
			t.Errorf("app stopped with %v; want the in-flight message interrupted", err)
			return
		}
		for _, e := range strings.Split(err.Error(), "\n") {
			// The app names the binding whose handler was still running
			// when the deadline came (it may have returned since).
			if strings.HasPrefix(e, "handlers still running at the end of the shutdown timeout") {
				continue
			}
			if !strings.HasSuffix(e, context.DeadlineExceeded.Error()) {
				t.Errorf("app stopped with: %q", err)
				return
			}
		}
	}
	ta.send(t, uniqueID(t, "a"), 1)
	select {
	case <-running:
	case <-time.After(30 * time.Second):
		t.Fatal("handler not called")
	}
	stopped := make(chan struct{})
	start := time.Now()
	go func() { ta.stop(); close(stopped) }()
	select {
	case <-stopped:
		t.Logf("app stopped in %s", time.Since(start).Round(time.Millisecond))
	case <-time.After(30 * time.Second):
		t.Fatalf("app.Run did not return 30s after its context was cancelled (shutdown-timeout 5s): shutdown hangs on the store's pool while a handler holds a connection")
	}
}
