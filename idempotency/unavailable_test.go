package idempotency_test

import (
	"context"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/streambind/streambind/idempotency"
	"github.com/streambind/streambind/stream"
)

// TestDefaultKeyWithoutCallerID: on the memory binder, a message sent
// through the bridge without an id header gets one (as on every binder),
// so the default key headers['id'] works: each message runs the handler
// once, none is dead-lettered.
func TestDefaultKeyWithoutCallerID(t *testing.T) {
	st := newStores(t, "memory")
	calls := make(chan stream.Headers, 10)
	ta := startApp(t, newBroker(t, "memory"), st, appSpec{store: "memory", consumer: "dlq: true, ", handler: func(_ context.Context, m stream.Message[order]) error {
		calls <- m.Headers
		return nil
	}})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for n := range 2 {
		if err := ta.app.Bridge().Send(ctx, "events", order{N: n}); err != nil {
			t.Fatal(err)
		}
	}
	a, b := <-calls, <-calls
	if a.Get(stream.HeaderID) == "" || a.Get(stream.HeaderID) == b.Get(stream.HeaderID) {
		t.Fatalf("ids %q and %q: want two distinct ids", a.Get(stream.HeaderID), b.Get(stream.HeaderID))
	}
	if ct := a.Get(stream.HeaderContentType); ct != stream.DefaultContentType {
		t.Errorf("contentType header %q, want %q", ct, stream.DefaultContentType)
	}
	waitStats(t, ta, 0, 2)
	if s := ta.app.Binding("handle-in-0").Stats(); s.Failed != 0 {
		t.Fatalf("binding stats %+v: want no failure", s)
	}
}

// TestStoreUnavailableLeavesMessage: a store that cannot be used (the
// marks table missing; Redis refusing connections) is not the message's
// fault: the message is left for redelivery — neither dead-lettered nor
// dropped, however many max-attempts allow — and readiness names the
// store. Once the store works (the table is created) the message runs
// once.
func TestStoreUnavailableLeavesMessage(t *testing.T) {
	t.Parallel()
	t.Run("postgres", func(t *testing.T) {
		st := newStores(t, "postgres")
		calls := make(chan call, 10)
		table := st.schema + ".late_marks"
		st.table = table
		ta := startApp(t, newBroker(t, "memory"), st, appSpec{store: "postgres", consumer: "dlq: true, ", handler: func(_ context.Context, m stream.Message[order]) error {
			calls <- call{m.Headers.Get(stream.HeaderID), m.Payload.N}
			return nil
		}})
		id := uniqueID(t, "a")
		ta.send(t, id, 1)
		waitHealthDown(t, ta.app, "idempotency:"+table, "does not exist")
		assertNotFailed(t, ta)
		select {
		case c := <-calls:
			t.Fatalf("handler ran without its mark: %+v", c)
		default:
		}
		if err := idempotency.Migrate(context.Background(), st.pool, table); err != nil {
			t.Fatal(err)
		}
		if c := receive(t, calls, 30*time.Second); c != (call{id, 1}) {
			t.Fatalf("call %+v, want %s 1", c, id)
		}
		waitStats(t, ta, 0, 1)
		waitFor(t, 10*time.Second, "readiness up again", func() bool { return componentError(ta.app, "idempotency:"+table) == "" })
		assertNotFailed(t, ta)
	})
	t.Run("redis", func(t *testing.T) {
		// Nothing listens on port 1: connection refused.
		cl := goredis.NewClient(&goredis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: time.Second})
		t.Cleanup(func() { _ = cl.Close() })
		var downs atomic.Int64
		st := &stores{redis: cl, prefix: "sbtest:idemfix:", memory: idempotency.NewMemoryStore(),
			logger: slog.New(downLog{testLogger().Handler(), &downs})}
		calls := make(chan call, 10)
		ta := startApp(t, newBroker(t, "memory"), st, appSpec{store: "redis", consumer: "dlq: true, ", handler: func(_ context.Context, m stream.Message[order]) error {
			calls <- call{m.Headers.Get(stream.HeaderID), m.Payload.N}
			return nil
		}})
		ta.send(t, uniqueID(t, "a"), 1)
		waitHealthDown(t, ta.app, "idempotency:redis", "refused")
		// More deliveries than max-attempts (3) allows a failing message.
		waitFor(t, 20*time.Second, "5 deliveries refused by the store", func() bool { return downs.Load() >= 5 })
		assertNotFailed(t, ta)
		select {
		case c := <-calls:
			t.Fatalf("handler ran without its lease: %+v", c)
		default:
		}
	})
}

// downLog counts the idempotent consumer's "store unavailable" records:
// one per delivery the store could not take.
type downLog struct {
	slog.Handler
	n *atomic.Int64
}

func (h downLog) Enabled(context.Context, slog.Level) bool { return true }

func (h downLog) Handle(ctx context.Context, r slog.Record) error {
	if strings.Contains(r.Message, "store unavailable") {
		h.n.Add(1)
	}
	return h.Handler.Handle(ctx, r)
}

func (h downLog) WithAttrs(as []slog.Attr) slog.Handler {
	return downLog{h.Handler.WithAttrs(as), h.n}
}

func (h downLog) WithGroup(g string) slog.Handler { return downLog{h.Handler.WithGroup(g), h.n} }

func assertNotFailed(t *testing.T, ta *testApp) {
	t.Helper()
	if s := ta.app.Binding("handle-in-0").Stats(); s.Failed != 0 || s.DeadLettered != 0 || s.Dropped != 0 {
		t.Fatalf("binding stats %+v: the message was counted as failed", s)
	}
}

// componentError is the health error of component name, "" when up or
// absent.
func componentError(app *stream.App, name string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, h := range app.Health(ctx) {
		if h.Name == name && !h.Up {
			return h.Error
		}
	}
	return ""
}

func waitHealthDown(t *testing.T, app *stream.App, name, want string) {
	t.Helper()
	waitFor(t, 20*time.Second, name+" down in readiness", func() bool {
		return strings.Contains(componentError(app, name), want)
	})
}
