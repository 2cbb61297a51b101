package redis_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/redis/redistest"
	"github.com/streambind/streambind/stream"
)

// heldSignal is a slog handler that closes held at the WARN line saying
// that a dead letter could not be written and its entry is held, and
// records ERROR lines.
type heldSignal struct {
	held   chan struct{}
	errors chan string
}

func (h heldSignal) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelWarn }
func (h heldSignal) Handle(_ context.Context, r slog.Record) error {
	switch {
	case r.Level >= slog.LevelError:
		select {
		case h.errors <- r.Message:
		default:
		}
	case strings.Contains(r.Message, "dead-lettering failed; the failed entry is held"):
		select {
		case <-h.held:
		default:
			close(h.held)
		}
	}
	return nil
}
func (h heldSignal) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h heldSignal) WithGroup(string) slog.Handler      { return h }

// TestDeadLetterManyHeadersOOMHeld: a dead letter of more than 7,000
// fields (written by MULTI/EXEC after the script's check) meets a server
// out of memory (maxmemory, noeviction: its own server): Redis refuses the
// queued XADD (OOM) and so EXEC (EXECABORT). That is transient: the entry
// is held and its dead letter written once memory is freed. Before, the
// EXECABORT was judged not transient and the failed message was dropped
// (ERROR, counted dropped), as a plain XADD's OOM never was.
func TestDeadLetterManyHeadersOOMHeld(t *testing.T) {
	t.Parallel()
	s := redistest.StartServer(t, "--maxmemory", "20mb", "--maxmemory-policy", "noeviction")
	admin := redistest.Client(t, s.Addr(), "", "")
	b := newBinder(t, map[string]any{"address": s.Addr(), "key-prefix": "oom:", "command-timeout": "2s"})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	sig := heldSignal{held: make(chan struct{}), errors: make(chan string, 1)}
	in, release := make(chan struct{}), make(chan struct{})
	c := bindConsumer(t, b, stream.ConsumerSpec{Destination: "many", Group: "g",
		Consumer: stream.ConsumerConfig{DLQ: true}, Logger: slog.New(sig),
		Handler: func(context.Context, stream.Envelope) error {
			close(in)
			<-release
			return errors.New("poison")
		}})
	p := bindProducer(t, b, stream.ProducerSpec{Destination: "many"})
	m := msg("many-headers")
	for i := range 4000 {
		m.Headers[fmt.Sprintf("x-h-%d", i)] = "v"
	}
	if err := p.Send(ctx, m); err != nil {
		t.Fatal(err)
	}
	select {
	case <-in:
	case <-ctx.Done():
		t.Fatal("the handler was not called")
	}
	// Fill the server until it refuses writes.
	fill := strings.Repeat("x", 256<<10)
	var keys []string
	for i := 0; ; i++ {
		k := fmt.Sprint("oom:fill:", i)
		if err := admin.Set(ctx, k, fill, 0).Err(); err != nil {
			if !strings.HasPrefix(err.Error(), "OOM") {
				t.Fatalf("filling the server: %v", err)
			}
			break
		}
		keys = append(keys, k)
	}
	close(release)
	select {
	case <-sig.held:
	case msg := <-sig.errors:
		t.Fatalf("ERROR while the server is out of memory: %s", msg)
	case <-ctx.Done():
		t.Fatal("no WARN line that the dead letter is held")
	}
	if st := c.(stream.DeadLetterReporter).DeadLetterStats(); st.Dropped != 0 {
		t.Fatalf("dead-letter stats %+v while the server is out of memory: dropped, want held", st)
	}
	if err := admin.Del(ctx, keys...).Err(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "the held dead letter written after memory was freed", func() bool {
		n, _ := admin.XLen(ctx, "oom:error.many.g").Result()
		return n == 1
	})
	waitFor(t, 10*time.Second, "the entry acknowledged", func() bool {
		s, err := admin.XPending(ctx, "oom:many", "g").Result()
		return err == nil && s.Count == 0
	})
	if st := c.(stream.DeadLetterReporter).DeadLetterStats(); st.Dropped != 0 {
		t.Errorf("dead-letter stats %+v; want nothing dropped", st)
	}
}
