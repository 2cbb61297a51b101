package stream_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/streambind/streambind/stream"
)

// batchApp runs a batch consumer "batch" of destination "in" (group g,
// dlq) that starts once the three messages sent are queued, so they are
// handled as one batch.
func batchApp(t *testing.T, fn func(context.Context, []Order) error, payloads ...any) (*running, chan stream.FailedMessage) {
	t.Helper()
	failed := make(chan stream.FailedMessage, 10)
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "batch", fn)
	cfg := &stream.Config{
		Function:       stream.FunctionConfig{Definition: "batch"},
		OutputBindings: "raw",
		Bindings: map[string]stream.BindingConfig{
			"raw": {Destination: "in", Producer: stream.ProducerConfig{RequiredGroups: []string{"g"}}},
			"batch-in-0": {Destination: "in", Group: "g", Consumer: stream.ConsumerConfig{
				BatchMode: true, DLQ: true, MaxAttempts: 1, AutoStartup: ptr(false)}},
		},
	}
	r := start(t, cfg, fns, stream.WithErrorHandler("batch-in-0", func(_ context.Context, fm stream.FailedMessage) { failed <- fm }))
	for _, p := range payloads {
		if err := r.app.Bridge().Send(context.Background(), "raw", p); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.app.Binding("batch-in-0").Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	return r, failed
}

// A batch's counters count its messages, as the metrics say ("input
// messages handled", "input messages handed to the dead-letter queue"), not
// handler calls: a failed batch of three is three dead letters.
func TestBatchCountsMessages(t *testing.T) {
	orders := []any{Order{OrderID: "a"}, Order{OrderID: "b"}, Order{OrderID: "c"}}
	got := make(chan []Order, 10)
	r, _ := batchApp(t, func(_ context.Context, os []Order) error { got <- os; return nil }, orders...)
	if os := recv(t, got); len(os) != 3 {
		t.Fatalf("want one batch of 3, got %d", len(os))
	}
	waitStats(t, r, "batch-in-0", func(st stream.BindingStats) bool { return st.Processed == 3 })

	r, failed := batchApp(t, func(context.Context, []Order) error { return stream.Permanent(errors.New("no")) }, orders...)
	// The ErrorHandler is called for each message that failed for good.
	var seen []string
	for range orders {
		fm := recv(t, failed)
		seen = append(seen, string(fm.Envelope.Payload))
	}
	if !strings.Contains(seen[1], `"b"`) || !strings.Contains(seen[2], `"c"`) {
		t.Fatalf("the error handler saw %q", seen)
	}
	waitStats(t, r, "batch-in-0", func(st stream.BindingStats) bool { return st.Failed == 3 && st.DeadLettered == 3 })
}

// A message of a batch that cannot be decoded fails alone, for good (the
// others are handled); the error (its x-exception-message) says which one
// it was.
func TestBatchDecodeErrorNamesTheMessage(t *testing.T) {
	got := make(chan string, 10)
	r, failed := batchApp(t, func(_ context.Context, os []Order) error { got <- ids(os); return nil },
		Order{OrderID: "a"}, stream.Message[[]byte]{Payload: []byte("not json"), Headers: stream.Headers{"contentType": "application/json"}}, Order{OrderID: "c"})
	if a, c := recv(t, got), recv(t, got); a != "a" || c != "c" {
		t.Fatalf("handler calls %q, %q; want a, then c", a, c)
	}
	fm := recv(t, failed)
	if string(fm.Envelope.Payload) != "not json" {
		t.Fatalf("the error handler got %q, want the undecodable message alone", fm.Envelope.Payload)
	}
	if !strings.HasPrefix(fm.Err.Error(), "batch message 2 of 3: ") {
		t.Fatalf("the error does not say which message failed: %v", fm.Err)
	}
	if !stream.IsPermanent(fm.Err) {
		t.Fatalf("a decode error must stay permanent: %v", fm.Err)
	}
	waitStats(t, r, "batch-in-0", func(st stream.BindingStats) bool { return st.Failed == 1 && st.Processed == 2 })
}

// waitStats waits until the binding's stats satisfy ok: a binding
// counts a message after it acknowledged it, and what the handler or the
// dead-letter consumer passed on may be seen by the test first.
func waitStats(t *testing.T, r *running, binding string, ok func(stream.BindingStats) bool) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for {
		st := r.app.Binding(binding).Stats()
		if ok(st) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("stats %+v", st)
		}
		time.Sleep(time.Millisecond) // polling a counter, bounded by the deadline
	}
}

// Under header-mode none the batch handler gets its messages without
// headers, but the ErrorHandler of a failed batch gets them as received,
// as it gets a single message (review: it got them stripped).
func TestBatchErrorHandlerSeesHeadersUnderHeaderModeNone(t *testing.T) {
	failed := make(chan stream.FailedMessage, 10)
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "batch", func(_ context.Context, os []stream.Message[Order]) error {
		for _, m := range os {
			if len(m.Headers) > 0 {
				return stream.Permanent(errors.New("headers reached the handler under header-mode none"))
			}
		}
		return stream.Permanent(errors.New("no"))
	})
	cfg := &stream.Config{
		Function:       stream.FunctionConfig{Definition: "batch"},
		OutputBindings: "raw",
		Bindings: map[string]stream.BindingConfig{
			"raw": {Destination: "in", Producer: stream.ProducerConfig{RequiredGroups: []string{"g"}}},
			"batch-in-0": {Destination: "in", Group: "g", Consumer: stream.ConsumerConfig{
				BatchMode: true, DLQ: true, MaxAttempts: 1, HeaderMode: stream.HeaderModeNone, AutoStartup: ptr(false)}},
		},
	}
	r := start(t, cfg, fns, stream.WithErrorHandler("batch-in-0", func(_ context.Context, fm stream.FailedMessage) { failed <- fm }))
	for _, id := range []string{"a", "b"} {
		if err := r.app.Bridge().Send(context.Background(), "raw", stream.Message[Order]{Payload: Order{OrderID: id}, Headers: stream.Headers{"x-order": id}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.app.Binding("batch-in-0").Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		fm := recv(t, failed)
		if strings.Contains(fm.Err.Error(), "reached the handler") {
			t.Fatal(fm.Err)
		}
		if fm.Envelope.Headers["x-order"] == "" {
			t.Errorf("the error handler got %q without its headers: %v", fm.Envelope.Payload, fm.Envelope.Headers)
		}
	}
}
