package nats_test

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	natsbinder "github.com/streambind/streambind/binder/nats"
	"github.com/streambind/streambind/binder/nats/natstest"
	"github.com/streambind/streambind/stream"
)

// gateHandler is a slog handler that holds the first record whose
// message is hold until release is closed (so that the goroutine that
// logs it, nats.go's callback goroutine, is busy), and reports the
// messages it handles on seen.
type gateHandler struct {
	hold    string
	once    *sync.Once
	held    chan struct{} // closed when the held record arrived
	release chan struct{}
	seen    chan string
}

func (h gateHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h gateHandler) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h gateHandler) WithGroup(string) slog.Handler            { return h }
func (h gateHandler) Handle(_ context.Context, r slog.Record) error {
	if r.Message == h.hold {
		first := false
		h.once.Do(func() { first = true })
		if first {
			close(h.held)
			<-h.release
		}
	}
	select {
	case h.seen <- r.Message:
	default:
	}
	return nil
}

// TestReconnectedCallbackTakesNoLock: the reconnected callback does not
// wait for the connection's lock, which a reconnect attempt holds for its
// dial and handshake. It did (ConnectedUrlRedacted, for its log line):
// when the connection was lost again before the callback ran and the
// next attempt hung in its handshake (a server that accepts and does not
// answer), the callback waited up to connect-timeout, and so did the
// disconnected callback queued behind it on nats.go's one callback
// goroutine: Health said connected all that time, and the reconnected
// line came late, with no server.
func TestReconnectedCallbackTakesNoLock(t *testing.T) {
	const connectTimeout = 3 * time.Second
	srv := natstest.Start(t, natstest.Options{})
	px := newHoleProxy(t, srv.Addr())
	h := gateHandler{hold: "nats: disconnected; reconnecting with back-off", once: new(sync.Once),
		held: make(chan struct{}), release: make(chan struct{}), seen: make(chan string, 100)}
	released := false
	defer func() {
		if !released {
			close(h.release)
		}
	}()
	nb, err := natsbinder.New(context.Background(), stream.BinderSettings{Name: "nats", Type: natsbinder.Type, Logger: slog.New(h),
		Environment: map[string]any{
			"servers":                    px.url(),
			"connect-timeout":            connectTimeout.String(),
			"reconnect-initial-interval": "20ms",
			"reconnect-max-interval":     "20ms",
		}})
	if err != nil {
		t.Fatal(err)
	}
	b := nb.(*natsbinder.Binder)
	closeBinder(t, b)
	ctx := context.Background()
	p := bindProducer(t, b, stream.ProducerSpec{Destination: unique(t, "reconnected")})

	// The connection drops; the callback goroutine is held by the
	// disconnected line, so the reconnected callback waits behind it.
	px.cut()
	select {
	case <-h.held:
	case <-time.After(10 * time.Second):
		t.Fatal("no disconnected callback")
	}
	// A send that succeeds: reconnected (nats.go queued the reconnected
	// callback before it sent anything).
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := p.Send(sctx, stream.Envelope{Payload: []byte("x")}); err != nil {
		t.Fatalf("send after the reconnect: %v", err)
	}
	// The connection is lost again, and every attempt is accepted and
	// never answered: each holds nats.go's lock for connect-timeout.
	px.blackhole(true)
	px.cut()
	waitFor(t, 10*time.Second, "an attempt to the silent server", func() bool { return px.accepted() > 0 })

	// The callbacks run now: the reconnected one, then the disconnected
	// one, within far less than connect-timeout.
	close(h.release)
	released = true
	start := time.Now()
	deadline := time.After(connectTimeout / 2)
	for got := false; !got; {
		select {
		case m := <-h.seen:
			got = m == "nats: reconnected"
		case <-deadline:
			t.Fatalf("the reconnected callback did not log within %s: it waits for the connection's lock", connectTimeout/2)
		}
	}
	waitFor(t, connectTimeout/2, "Health down while reconnecting", func() bool { return b.Health(ctx) != nil })
	t.Logf("reconnected logged and Health down after %s: %v", time.Since(start).Round(time.Millisecond), b.Health(ctx))
}
