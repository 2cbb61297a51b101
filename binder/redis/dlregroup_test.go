package redis_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/redis/redistest"
	"github.com/streambind/streambind/stream"
)

// logLines is a slog handler that keeps every line's message (INFO and
// above) and signals each new one.
type logLines struct {
	mu      *sync.Mutex
	msgs    *[]string
	changed chan struct{}
}

func newLogLines() logLines {
	return logLines{mu: new(sync.Mutex), msgs: new([]string), changed: make(chan struct{}, 1)}
}

func (h logLines) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelInfo }
func (h logLines) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	*h.msgs = append(*h.msgs, r.Message)
	h.mu.Unlock()
	select {
	case h.changed <- struct{}{}:
	default:
	}
	return nil
}
func (h logLines) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h logLines) WithGroup(string) slog.Handler      { return h }

// has reports whether a line's message contains s.
func (h logLines) has(s string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, m := range *h.msgs {
		if strings.Contains(m, s) {
			return true
		}
	}
	return false
}

// TestDeadLetterAfterGroupRecreated: the consumer group is deleted
// (XGROUP DESTROY) while a handler holds an entry, and the member creates
// it again (after the last entry received, so the entry is pending with
// nobody) before the handler fails: the dead letter is still written, as
// where the group is gone. Before, deadLetterScript took "pending with
// nobody" for an earlier attempt's acknowledgement: the failed message
// was neither dead-lettered nor counted dropped, with an INFO line that
// its dead letter was written already. Also for a dead letter too large
// for the script (thousands of headers).
func TestDeadLetterAfterGroupRecreated(t *testing.T) {
	for _, tc := range []struct {
		name    string
		headers int
	}{{"script", 0}, {"many-headers", 4000}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			admin := redistest.Client(t, redistest.Addr(), "", "")
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			logs := newLogLines()
			in, release := make(chan struct{}), make(chan struct{})
			// Concurrency 2: the reader goes on reading while the
			// handler holds the entry, and meets the deleted group.
			c := bindConsumer(t, e.binder(t, nil), stream.ConsumerSpec{Destination: "regroup", Group: "g",
				Consumer: stream.ConsumerConfig{DLQ: true, Concurrency: 2}, Logger: slog.New(logs),
				Handler: func(context.Context, stream.Envelope) error {
					close(in)
					<-release
					return errors.New("poison")
				}})
			p := bindProducer(t, e.binder(t, nil), stream.ProducerSpec{Destination: "regroup"})
			m := msg("regroup")
			for i := range tc.headers {
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
			src, dlq := e.prefix+"regroup", e.prefix+"error.regroup.g"
			if err := admin.XGroupDestroy(ctx, src, "g").Err(); err != nil {
				t.Fatal(err)
			}
			waitFor(t, 20*time.Second, "the member creating the group again", func() bool {
				if !logs.has("creating it again") {
					return false
				}
				gs, err := admin.XInfoGroups(ctx, src).Result()
				return err == nil && len(gs) == 1
			})
			close(release)
			xlen := func() int64 {
				n, _ := admin.XLen(ctx, dlq).Result()
				return n
			}
			for xlen() == 0 {
				if logs.has("its dead letter is not written again") {
					t.Fatalf("the failed entry's dead letter was not written (taken for written already); dead-letter stats %+v", c.(stream.DeadLetterReporter).DeadLetterStats())
				}
				select {
				case <-logs.changed:
				case <-time.After(50 * time.Millisecond):
				case <-ctx.Done():
					t.Fatal("no dead letter")
				}
			}
			if n := xlen(); n != 1 {
				t.Errorf("%d dead letters; want 1", n)
			}
		})
	}
}
