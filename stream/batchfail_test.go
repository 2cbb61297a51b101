package stream_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/streambind/streambind/stream"
)

// batchFailApp runs the batch consumer fn on destination "in" (group g,
// dlq, maxAttempts, fast back-off) once the payloads are queued, so that
// they are one batch, and a reader of its dead-letter destination whose
// messages come on the returned channel.
func batchFailApp(t *testing.T, maxAttempts int, fn func(context.Context, []Order) error, payloads ...any) (*running, chan stream.Message[[]byte], chan stream.FailedMessage) {
	t.Helper()
	dead := make(chan stream.Message[[]byte], 10)
	failed := make(chan stream.FailedMessage, 10)
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "batch", fn)
	stream.AddConsumer(fns, "dead", func(_ context.Context, m stream.Message[[]byte]) error { dead <- m; return nil })
	cfg := batchConfig(maxAttempts, true)
	r := start(t, cfg, fns, stream.WithErrorHandler("batch-in-0", func(_ context.Context, fm stream.FailedMessage) { failed <- fm }))
	for _, p := range payloads {
		if err := r.app.Bridge().Send(context.Background(), "raw", p); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.app.Binding("batch-in-0").Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	return r, dead, failed
}

func ids(os []Order) string {
	s := make([]string, len(os))
	for i, o := range os {
		s[i] = o.OrderID
	}
	return strings.Join(s, "")
}

// A batch function that says which message failed (BatchFailedAt) fails
// that message alone: the ones before it are acknowledged, its retries
// start at it, it alone is dead-lettered once they are spent (with its
// own cause), and the function goes on with the ones after it.
func TestBatchFailedAtDeadLettersOnlyThatMessage(t *testing.T) {
	calls := make(chan string, 20)
	fn := func(_ context.Context, os []Order) error {
		calls <- ids(os)
		if i := slices.IndexFunc(os, func(o Order) bool { return o.OrderID == "c" }); i >= 0 {
			return fmt.Errorf("checking: %w", stream.BatchFailedAt(i, errors.New("bad c")))
		}
		return nil
	}
	var orders []any
	for _, id := range []string{"a", "b", "c", "d", "e"} {
		orders = append(orders, Order{OrderID: id})
	}
	r, dead, failed := batchFailApp(t, 3, fn, orders...)
	var got []string
	for range 4 {
		got = append(got, recv(t, calls))
	}
	if want := []string{"abcde", "cde", "cde", "de"}; !slices.Equal(got, want) {
		t.Fatalf("handler calls %q, want %q", got, want)
	}
	dl := recv(t, dead)
	if !strings.Contains(string(dl.Payload), `"c"`) {
		t.Fatalf("dead letter %s, want only c's", dl.Payload)
	}
	if msg := dl.Headers[stream.HeaderExceptionMessage]; msg != "bad c" {
		t.Fatalf("x-exception-message %q, want the message's own cause", msg)
	}
	fm := recv(t, failed)
	if !strings.Contains(string(fm.Envelope.Payload), `"c"`) || fm.Attempts != 3 || fm.Err.Error() != "bad c" {
		t.Fatalf("error handler got %s after %d attempts: %v", fm.Envelope.Payload, fm.Attempts, fm.Err)
	}
	waitStats(t, r, "batch-in-0", func(st stream.BindingStats) bool {
		return st.Processed == 4 && st.Failed == 1 && st.DeadLettered == 1
	})
	waitStats(t, r, "dead-in-0", func(st stream.BindingStats) bool { return st.Processed == 1 })
	select {
	case m := <-dead:
		t.Fatalf("a second dead letter: %s", m.Payload)
	case fm := <-failed:
		t.Fatalf("the error handler was called for %s too", fm.Envelope.Payload)
	case c := <-calls:
		t.Fatalf("another handler call: %q", c)
	default:
	}
}

// A failure at a later index of a retry starts that message's own count of
// attempts; a permanent one is not retried; an index outside the batch
// fails the whole batch.
func TestBatchFailedAtCountsPerMessage(t *testing.T) {
	calls := make(chan string, 20)
	fn := func(_ context.Context, os []Order) error {
		calls <- ids(os)
		switch s := ids(os); {
		case strings.HasPrefix(s, "ab"): // b fails
			return stream.BatchFailedAt(1, errors.New("bad b"))
		case strings.HasPrefix(s, "b"): // b's retry passes; c fails for good at once
			return stream.BatchFailedAt(1, stream.Permanent(errors.New("bad c")))
		case s == "d":
			return stream.BatchFailedAt(5, errors.New("out of range"))
		}
		return nil
	}
	r, dead, _ := batchFailApp(t, 2, fn, Order{OrderID: "a"}, Order{OrderID: "b"}, Order{OrderID: "c"}, Order{OrderID: "d"})
	var got []string
	for range 4 {
		got = append(got, recv(t, calls))
	}
	// c's failure at a later index is not b's third attempt; d's
	// out-of-range index fails it (the whole rest) after max-attempts.
	if want := []string{"abcd", "bcd", "d", "d"}; !slices.Equal(got, want) {
		t.Fatalf("handler calls %q, want %q", got, want)
	}
	for _, want := range []string{`"c"`, `"d"`} {
		if dl := recv(t, dead); !strings.Contains(string(dl.Payload), want) {
			t.Fatalf("dead letter %s, want %s", dl.Payload, want)
		}
	}
	waitStats(t, r, "batch-in-0", func(st stream.BindingStats) bool {
		return st.Processed == 2 && st.Failed == 2 && st.DeadLettered == 2
	})
}

// BatchFailedAt with ErrNak leaves the message at the index and those
// after it for redelivery; the ones before it are acknowledged, not handled
// again.
func TestBatchFailedAtNakLeavesTheRest(t *testing.T) {
	calls := make(chan string, 20)
	var nakked bool
	fn := func(_ context.Context, os []Order) error {
		calls <- ids(os)
		if i := slices.IndexFunc(os, func(o Order) bool { return o.OrderID == "b" }); i >= 0 && !nakked {
			nakked = true
			return stream.BatchFailedAt(i, fmt.Errorf("not now: %w", stream.ErrNak))
		}
		return nil
	}
	r, _, _ := batchFailApp(t, 1, fn, Order{OrderID: "a"}, Order{OrderID: "b"}, Order{OrderID: "c"})
	if first, again := recv(t, calls), recv(t, calls); first != "abc" || again != "bc" {
		t.Fatalf("handler calls %q, %q; want abc, then bc", first, again)
	}
	waitStats(t, r, "batch-in-0", func(st stream.BindingStats) bool { return st.Processed == 3 && st.Failed == 0 })
	select {
	case c := <-calls:
		t.Fatalf("another handler call: %q", c)
	default:
	}
}

// The function gets the messages before one that cannot be decoded; an
// index it names beyond that shorter slice (but inside the batch) is a
// failure of what it got, not of a message it never saw: the undecodable
// message is not taken as handled.
func TestBatchFailedAtIndexBeyondTheSliceGot(t *testing.T) {
	calls := make(chan string, 20)
	fn := func(_ context.Context, os []Order) error {
		calls <- ids(os)
		if ids(os) == "ab" {
			return stream.BatchFailedAt(3, errors.New("index beyond my slice"))
		}
		return nil
	}
	bad := stream.Message[[]byte]{Payload: []byte("not json"), Headers: stream.Headers{"contentType": "application/json"}}
	r, dead, _ := batchFailApp(t, 1, fn, Order{OrderID: "a"}, Order{OrderID: "b"}, bad, Order{OrderID: "d"}, Order{OrderID: "e"})
	if c := recv(t, calls); c != "ab" {
		t.Fatalf("handler call %q, want ab", c)
	}
	// The whole rest (a, b, the undecodable one, d, e) failed with the
	// function's error, after its one attempt.
	for _, want := range []string{`"a"`, `"b"`, "not json", `"d"`, `"e"`} {
		if dl := recv(t, dead); !strings.Contains(string(dl.Payload), want) {
			t.Fatalf("dead letter %s, want %s", dl.Payload, want)
		}
	}
	waitStats(t, r, "batch-in-0", func(st stream.BindingStats) bool { return st.Failed == 5 && st.Processed == 0 })
}

// A panic of the batch function fails the whole batch, as a plain error
// does: it was taken for a failure of the last BatchFailedAt's message (or
// of the first), and the function was retried message by message (calls
// abc abc bc bc c c, each message's ErrorHandler call after its own
// attempts; the reviewer's probe).
func TestBatchPanicFailsWholeBatch(t *testing.T) {
	calls := make(chan string, 20)
	fn := func(_ context.Context, os []Order) error {
		calls <- ids(os)
		panic("boom")
	}
	r, dead, failed := batchFailApp(t, 2, fn, Order{OrderID: "a"}, Order{OrderID: "b"}, Order{OrderID: "c"})
	var got []string
	for range 2 {
		got = append(got, recv(t, calls))
	}
	if want := []string{"abc", "abc"}; !slices.Equal(got, want) {
		t.Fatalf("handler calls %q, want %q", got, want)
	}
	for range 3 {
		recv(t, dead)
	}
	// The ErrorHandler is called for each message of a failed batch.
	for range 3 {
		if fm := recv(t, failed); fm.Attempts != 2 {
			t.Fatalf("error handler called for %s after %d attempts, want 2", fm.Envelope.Payload, fm.Attempts)
		}
	}
	waitStats(t, r, "batch-in-0", func(st stream.BindingStats) bool {
		return st.Failed == 3 && st.DeadLettered == 3
	})
	waitStats(t, r, "dead-in-0", func(st stream.BindingStats) bool { return st.Processed == 3 })
	select {
	case c := <-calls:
		t.Fatalf("another handler call: %q", c)
	case fm := <-failed:
		t.Fatalf("the error handler was called again, for %s", fm.Envelope.Payload)
	default:
	}
}

// NewBatchOutcome keeps what NakFrom promises: every message after the
// first Nak'ed one is Nak'ed too, whatever the errors given say of it, so
// that binders that walk the outcome from NakFrom on and binders that
// settle each message by BatchMessageErr settle the batch alike.
func TestNewBatchOutcomeNakTail(t *testing.T) {
	bad := errors.New("bad")
	nak := fmt.Errorf("later: %w", stream.ErrNak)
	errs := []error{nil, bad, nak, nil, bad}
	o := stream.NewBatchOutcome(errs)
	if o.NakFrom() != 2 {
		t.Fatalf("NakFrom %d, want 2", o.NakFrom())
	}
	for i, want := range []error{nil, bad, nak, nak, nak} {
		if got := stream.BatchMessageErr(o, i); got != want {
			t.Errorf("message %d: %v, want %v", i, got, want)
		}
	}
	if errs[3] != nil || errs[4] != bad {
		t.Errorf("the errors given were changed: %v", errs)
	}
}

// batchConfig is the configuration of the batch tests: the catalog's
// "batch" consumer in batch mode on destination "in" (group g,
// maxAttempts, fast back-off, not started with the app), "raw" to send to
// it and, with dlq, its dead letters to the "dead" consumer.
func batchConfig(maxAttempts int, dlq bool) *stream.Config {
	cc := fastRetry(maxAttempts)
	cc.BatchMode, cc.DLQ, cc.AutoStartup = true, dlq, ptr(false)
	cfg := &stream.Config{
		Function:       stream.FunctionConfig{Definition: "batch"},
		OutputBindings: "raw",
		Bindings: map[string]stream.BindingConfig{
			"raw":        {Destination: "in", Producer: stream.ProducerConfig{RequiredGroups: []string{"g"}}},
			"batch-in-0": {Destination: "in", Group: "g", Consumer: cc},
		},
	}
	if dlq {
		cfg.Function.Definition = "batch;dead"
		cfg.Bindings["dead-in-0"] = stream.BindingConfig{Destination: stream.DLQName("in", "g"), Group: "reader"}
	}
	return cfg
}
