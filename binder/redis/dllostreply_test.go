package redis_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	redisbinder "github.com/streambind/streambind/binder/redis"
	"github.com/streambind/streambind/binder/redis/redistest"
	"github.com/streambind/streambind/internal/testproxy"
	"github.com/streambind/streambind/stream"
)

// heldWritten is a slog handler that closes done at the INFO line saying
// that held dead letters went (the retry after the lost reply ended).
type heldWritten struct{ done chan struct{} }

func (h heldWritten) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelInfo }
func (h heldWritten) Handle(_ context.Context, r slog.Record) error {
	if strings.Contains(r.Message, "dead letters written after they were held") {
		select {
		case <-h.done:
		default:
			close(h.done)
		}
	}
	return nil
}
func (h heldWritten) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h heldWritten) WithGroup(string) slog.Handler      { return h }

// TestDeadLetterLostReplyStoredOnce: Redis stores a failed entry's dead
// letter and its reply is lost (a proxy holds the replies from the moment
// the dead letter's write went up, the test waits until the dead-letter
// stream has it, then cuts every connection): the consumer retries the
// write, as for any failure for now, and the dead-letter stream still
// holds it once, the entry acknowledged. Before, the retry was a second
// XADD: two copies. Also for a dead letter too large for the script
// (thousands of headers: written by MULTI/EXEC after the script's check).
func TestDeadLetterLostReplyStoredOnce(t *testing.T) {
	for _, tc := range []struct {
		name    string
		headers int
	}{{"script", 0}, {"many-headers", 4000}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			px := testproxy.Start(t, redistest.Addr())
			b := newBinder(t, map[string]any{"address": px.Addr(), "key-prefix": e.prefix, "client-name": e.name, "command-timeout": "2s"})
			admin := redistest.Client(t, redistest.Addr(), "", "")
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			sig := heldWritten{done: make(chan struct{})}
			bindConsumer(t, b, stream.ConsumerSpec{Destination: "lostreply", Group: "g",
				Consumer: stream.ConsumerConfig{DLQ: true},
				Logger:   slog.New(sig),
				Handler:  func(context.Context, stream.Envelope) error { return errors.New("poison") }})
			// Sent around the proxy, so that only the consumer's commands
			// go through it.
			p := bindProducer(t, e.binder(t, nil), stream.ProducerSpec{Destination: "lostreply"})
			src, dlq := e.prefix+"lostreply", e.prefix+"error.lostreply.g"
			xlen := func() int64 {
				n, err := admin.XLen(ctx, dlq).Result()
				if err != nil && !errors.Is(err, goredis.Nil) {
					t.Fatalf("XLEN %s: %v", dlq, err)
				}
				return n
			}
			pending := func() int64 {
				s, err := admin.XPending(ctx, src, "g").Result()
				if err != nil {
					t.Fatalf("XPENDING %s: %v", src, err)
				}
				return s.Count
			}
			// A first dead letter goes through untouched (and loads the
			// script into the server: a NOSCRIPT reply held would hold the
			// write below).
			send(t, p, []string{"first"})
			waitFor(t, 20*time.Second, "the first dead letter", func() bool { return xlen() == 1 && pending() == 0 })

			marker := "lost-reply-" + e.name
			m := msg(marker)
			for i := range tc.headers {
				m.Headers[fmt.Sprintf("x-h-%d", i)] = "v"
			}
			px.FreezeDownOn([]byte(marker)) // in the dead letter's payload and headers
			sctx, scancel := context.WithTimeout(ctx, 10*time.Second)
			err := p.Send(sctx, m)
			scancel()
			if err != nil {
				t.Fatal(err)
			}
			waitFor(t, 20*time.Second, "Redis storing the dead letter whose reply is held", func() bool { return xlen() == 2 })
			px.Cut() // the reply is lost; Redis had the write
			px.Thaw()
			select {
			case <-sig.done:
			case <-ctx.Done():
				t.Fatal("no INFO line that the held dead letter went")
			}
			if n := xlen(); n != 2 {
				t.Errorf("the dead-letter stream holds %d entries after a retry whose first write's reply was lost; want 2 (the first, and the lost reply's once)", n)
			}
			if n := pending(); n != 0 {
				t.Errorf("%d entries pending after their dead letters went; want 0", n)
			}
			ms, err := admin.XRange(ctx, dlq, "-", "+").Result()
			if err != nil {
				t.Fatal(err)
			}
			copies := 0
			for _, m := range ms {
				if m.Values[redisbinder.HeaderFieldPrefix+idHeader] == marker {
					copies++
				}
			}
			if copies != 1 {
				t.Errorf("%d dead letters of the entry whose reply was lost; want 1", copies)
			}
		})
	}
}
