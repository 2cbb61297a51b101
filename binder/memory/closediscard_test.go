package memory_test

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/streambind/streambind/binder/memory"
	"github.com/streambind/streambind/stream"
)

// discardRecords captures the WARN records of discarded messages.
type discardRecords struct {
	mu   sync.Mutex
	recs []map[string]string
}

func (h *discardRecords) Enabled(context.Context, slog.Level) bool { return true }
func (h *discardRecords) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *discardRecords) WithGroup(string) slog.Handler            { return h }
func (h *discardRecords) Handle(_ context.Context, r slog.Record) error {
	if r.Level != slog.LevelWarn || !strings.Contains(r.Message, "discarded") {
		return nil
	}
	m := map[string]string{"msg": r.Message}
	r.Attrs(func(a slog.Attr) bool {
		m[a.Key] = a.Value.String()
		return true
	})
	h.mu.Lock()
	h.recs = append(h.recs, m)
	h.mu.Unlock()
	return nil
}

func (h *discardRecords) records() []map[string]string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]map[string]string(nil), h.recs...)
}

// TestCloseWarnsOfDiscardedMessages: closing the binder (the app's
// shutdown, a SIGTERM) discards the messages its private broker still
// holds; one WARN per group says which and how many, and that nothing of
// the in-process broker survives the process. Before, they went without a
// word.
func TestCloseWarnsOfDiscardedMessages(t *testing.T) {
	ctx := ctxT(t)
	h := &discardRecords{}
	bd, err := memory.New(ctx, stream.BinderSettings{Name: "memory", Logger: slog.New(h)})
	must(t, err)
	// A named group nobody consumes yet: its queue keeps what is sent.
	_, err = bd.BindConsumer(ctx, stream.ConsumerSpec{Binding: "pay-in-0", Destination: "orders", Group: "payment",
		Handler: func(context.Context, stream.Envelope) error { return nil }})
	must(t, err)
	// An anonymous consumer, paused: what is sent waits in its queue.
	anon, err := bd.BindConsumer(ctx, stream.ConsumerSpec{Binding: "audit-in-0", Destination: "orders",
		Handler: func(context.Context, stream.Envelope) error { return nil }})
	must(t, err)
	must(t, anon.Start(ctx))
	must(t, anon.Pause(ctx))
	p, err := bd.BindProducer(ctx, stream.ProducerSpec{Binding: "place-out-0", Destination: "orders"})
	must(t, err)
	for range 3 {
		must(t, p.Send(ctx, stream.Envelope{Payload: []byte("o")}))
	}
	if got := h.records(); len(got) != 0 {
		t.Fatalf("WARN before Close: %v", got)
	}
	must(t, bd.Close(ctx))

	want := map[string]string{"payment": "3", "(anonymous)": "3"}
	got := h.records()
	if len(got) != len(want) {
		t.Fatalf("%d discard WARNs, want %d: %v", len(got), len(want), got)
	}
	for _, r := range got {
		if r["destination"] != "orders" || r["discarded"] != want[r["group"]] || !strings.Contains(r["msg"], "nothing survives the process") {
			t.Errorf("WARN %v, want destination orders, and discarded %v by group, saying nothing survives the process", r, want)
		}
	}
}
