package stream_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/streambind/streambind/binder/memory"
	"github.com/streambind/streambind/stream"
)

// settleRecorder wraps the memory binder: each BatchHandler call gets a
// BatchSettler that records the n and outcome of every call (and calls the
// memory binder's own, if it passes one).
type settleRecorder struct {
	mu       sync.Mutex
	calls    []int
	outcomes []error
	// stop, when set, is what the settler returns after the binder's own
	// (a binder that cannot let the function go on: stream.ErrBatchStop).
	stop func(n int) error
	// returned gets what each BatchHandler call returned, when set.
	returned chan error
}

func (rec *settleRecorder) outcome(i int) error {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return rec.outcomes[i]
}

func (rec *settleRecorder) settled() []int {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return slices.Clone(rec.calls)
}

func (rec *settleRecorder) factory(ctx context.Context, s stream.BinderSettings) (stream.Binder, error) {
	b, err := memory.New(ctx, s)
	if err != nil {
		return nil, err
	}
	return recordingBinder{Binder: b, rec: rec}, nil
}

type recordingBinder struct {
	stream.Binder
	rec *settleRecorder
}

func (b recordingBinder) BindConsumer(ctx context.Context, spec stream.ConsumerSpec) (stream.Consumer, error) {
	if h := spec.BatchHandler; h != nil {
		spec.BatchHandler = func(ctx context.Context, ms []stream.Envelope) error {
			inner := stream.BatchSettlerFrom(ctx)
			return h(stream.WithBatchSettler(ctx, func(n int, outcome error) error {
				b.rec.mu.Lock()
				b.rec.calls = append(b.rec.calls, n)
				b.rec.outcomes = append(b.rec.outcomes, outcome)
				stop := b.rec.stop
				b.rec.mu.Unlock()
				if inner != nil {
					if err := inner(n, outcome); err != nil {
						return err
					}
				}
				if stop != nil {
					return stop(n)
				}
				return nil
			}), ms)
		}
		if ret := b.rec.returned; ret != nil {
			inner := spec.BatchHandler
			spec.BatchHandler = func(ctx context.Context, ms []stream.Envelope) error {
				err := inner(ctx, ms)
				ret <- err
				return err
			}
		}
	}
	return b.Binder.BindConsumer(ctx, spec)
}

// The handled messages before the one a batch function says failed
// (BatchFailedAt) are handed to the binder's BatchSettler before that
// message's retries start; when a retry fails at a later message, the
// prefix grows to it; a message that failed for good is handed to it
// with its outcome (dead-lettered at once) before the function goes on
// with the ones after it, and the last one, which fails for good too, is
// settled when the batch ends.
func TestBatchFailedAtSettlesPrefixBeforeRetry(t *testing.T) {
	rec := &settleRecorder{}
	calls := make(chan string, 20)
	settledAt := make(chan []int, 20) // what was settled when each call began
	fn := func(_ context.Context, os []Order) error {
		settledAt <- rec.settled()
		calls <- ids(os)
		switch s := ids(os); {
		case s == "abcde": // c fails
			return stream.BatchFailedAt(2, errors.New("bad c"))
		case s == "cde": // c's retry passes, d fails
			return stream.BatchFailedAt(1, errors.New("bad d"))
		case s == "de": // d fails for good (max-attempts 2)
			return stream.BatchFailedAt(0, errors.New("bad d"))
		case s == "e": // e fails for good too: the batch ends with it
			return stream.BatchFailedAt(0, stream.Permanent(errors.New("bad e")))
		}
		return nil
	}
	dead := make(chan stream.Message[[]byte], 10)
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "batch", fn)
	stream.AddConsumer(fns, "dead", func(_ context.Context, m stream.Message[[]byte]) error { dead <- m; return nil })
	r := start(t, batchConfig(2, true), fns, stream.WithBinderType(memory.Type, rec.factory))
	for _, id := range []string{"a", "b", "c", "d", "e"} {
		if err := r.app.Bridge().Send(context.Background(), "raw", Order{OrderID: id}); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.app.Binding("batch-in-0").Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	var got []string
	var before [][]int
	for range 4 {
		before = append(before, recv(t, settledAt))
		got = append(got, recv(t, calls))
	}
	if want := []string{"abcde", "cde", "de", "e"}; !slices.Equal(got, want) {
		t.Fatalf("handler calls %q, want %q", got, want)
	}
	// c's retry ("cde") comes after a and b were settled; d's after c;
	// e's after d, dead-lettered.
	want := [][]int{nil, {2}, {2, 3}, {2, 3, 4}}
	for i := range want {
		if !slices.Equal(before[i], want[i]) {
			t.Fatalf("settled before call %d (%s): %v, want %v", i+1, got[i], before[i], want[i])
		}
	}
	for _, want := range []string{`"d"`, `"e"`} {
		if dl := recv(t, dead); !strings.Contains(string(dl.Payload), want) {
			t.Fatalf("dead letter %s, want %s", dl.Payload, want)
		}
	}
	waitStats(t, r, "batch-in-0", func(st stream.BindingStats) bool {
		return st.Processed == 3 && st.Failed == 2 && st.DeadLettered == 2
	})
	if s := rec.settled(); !slices.Equal(s, []int{2, 3, 4}) {
		t.Fatalf("settled early: %v, want [2 3 4]", s)
	}
	// The first two settle handled messages; the third d, failed for
	// good with its own cause, after the handled a, b and c.
	for i := range 2 {
		if o := rec.outcome(i); o != nil {
			t.Errorf("settle %d: outcome %v, want nil (all handled)", i+1, o)
		}
	}
	o := rec.outcome(2)
	for i := range 3 {
		if err := stream.BatchMessageErr(o, i); err != nil {
			t.Errorf("settle 3: message %d's outcome %v, want nil (handled)", i, err)
		}
	}
	if err := stream.BatchMessageErr(o, 3); err == nil || !strings.Contains(err.Error(), "bad d") || errors.Is(err, stream.ErrNak) {
		t.Errorf("settle 3: d's outcome %v, want its own cause \"bad d\", not a Nak", err)
	}
}

func TestBatchTail(t *testing.T) {
	bad := errors.New("bad")
	nak := stream.ErrNak
	o := stream.NewBatchOutcome([]error{nil, nil, bad, nil, nak})
	if err := stream.BatchTail(o, 0); err != o {
		t.Fatalf("BatchTail(o, 0) = %v, want o", err)
	}
	tail := stream.BatchTail(o, 2)
	var to *stream.BatchOutcome
	if !errors.As(tail, &to) || to.Len() != 3 || to.Err(0) != bad || to.Err(1) != nil || to.NakFrom() != 2 {
		t.Fatalf("BatchTail(o, 2) = %v", tail)
	}
	if err := stream.BatchTail(stream.NewBatchOutcome([]error{nil, bad, nil}), 2); err != nil {
		t.Fatalf("tail of handled messages = %v, want nil", err)
	}
	if err := stream.BatchTail(bad, 3); err != bad {
		t.Fatalf("BatchTail(plain) = %v, want it", err)
	}
	if err := stream.BatchTail(o, 9); err != nil {
		t.Fatalf("BatchTail past the end = %v, want nil", err)
	}
}

// The binder's BatchSettler is the core's: the batch function (and the
// ErrorHandler) get a ctx without it, so user code cannot acknowledge
// messages the core has not judged.
func TestBatchSettlerNotInUserCtx(t *testing.T) {
	rec := &settleRecorder{}
	seen := make(chan bool, 10) // whether the function's ctx had a settler
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "batch", func(ctx context.Context, os []Order) error {
		seen <- stream.BatchSettlerFrom(ctx) != nil
		if ids(os) == "ab" {
			return stream.BatchFailedAt(1, errors.New("bad b"))
		}
		return nil
	})
	r := startBatchOf(t, fns, rec, nil, "a", "b")
	for i := range 2 { // "ab", then b's retry "b"
		if recv(t, seen) {
			t.Fatalf("call %d: the function's ctx carries the binder's BatchSettler", i+1)
		}
	}
	waitStats(t, r, "batch-in-0", func(st stream.BindingStats) bool { return st.Processed == 2 })
	if s := rec.settled(); !slices.Equal(s, []int{1}) { // the core still settles a early
		t.Fatalf("settled early: %v, want [1]", s)
	}
}

// The messages the binder acknowledged at once (the prefix before a
// BatchFailedAt) no longer count in flight while the failed message is
// retried: the gauge shows what is unsettled (new-user trial: 5 in
// flight with 2 of them acknowledged).
func TestBatchSettledPrefixLeavesInFlight(t *testing.T) {
	rec := &settleRecorder{}
	var binding atomic.Pointer[stream.Binding]
	inFlight := make(chan int64, 4) // at each call's start
	fn := func(_ context.Context, os []Order) error {
		inFlight <- binding.Load().Stats().InFlight
		if ids(os) == "abcde" {
			return stream.BatchFailedAt(2, errors.New("bad c"))
		}
		return nil
	}
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "batch", fn)
	r := startBatchOf(t, fns, rec, func(b *stream.Binding) { binding.Store(b) }, "a", "b", "c", "d", "e")
	// The first call sees the batch's 5; the retry of c, d and e sees 3.
	if got := []int64{recv(t, inFlight), recv(t, inFlight)}; !slices.Equal(got, []int64{5, 3}) {
		t.Fatalf("in flight at the calls' start: %v, want [5 3]", got)
	}
	waitStats(t, r, "batch-in-0", func(st stream.BindingStats) bool { return st.Processed == 5 && st.InFlight == 0 })
}

// startBatchOf runs fns' "batch" consumer in batch mode (max-attempts 2)
// on group g of destination in, with rec recording the settler's calls:
// the orders ids are sent first, then the binding is started (after
// before, if given, is called with it), so that they come as one batch.
func startBatchOf(t *testing.T, fns *stream.Catalog, rec *settleRecorder, before func(*stream.Binding), ids ...string) *running {
	t.Helper()
	r := start(t, batchConfig(2, false), fns, stream.WithBinderType(memory.Type, rec.factory))
	for _, id := range ids {
		if err := r.app.Bridge().Send(context.Background(), "raw", Order{OrderID: id}); err != nil {
			t.Fatal(err)
		}
	}
	b := r.app.Binding("batch-in-0")
	if before != nil {
		before(b)
	}
	if err := b.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	return r
}

// A settler that returns stream.ErrBatchStop (the binder is stopping, or
// lost its channel, while a dead letter was held) ends the batch: the
// function is not called again on the messages after the failed one,
// which are left for redelivery (Nak'ed, wrapping ErrBatchStop) and come
// again; the failed one is dead-lettered once.
func TestBatchSettlerStopEndsBatch(t *testing.T) {
	var stopped atomic.Bool
	rec := &settleRecorder{returned: make(chan error, 10)}
	rec.stop = func(n int) error {
		// a is settled before b's retries; a and b (dead-lettered)
		// before the function would go on with c.
		if n == 2 && stopped.CompareAndSwap(false, true) {
			return fmt.Errorf("binder: stopping: %w", stream.ErrBatchStop)
		}
		return nil
	}
	calls := make(chan string, 20)
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "batch", func(_ context.Context, os []Order) error {
		calls <- ids(os)
		if ids(os) == "abcd" {
			return stream.BatchFailedAt(1, stream.Permanent(errors.New("bad b")))
		}
		return nil
	})
	dead := make(chan stream.Message[[]byte], 10)
	stream.AddConsumer(fns, "dead", func(_ context.Context, m stream.Message[[]byte]) error { dead <- m; return nil })
	r := start(t, batchConfig(2, true), fns, stream.WithBinderType(memory.Type, rec.factory))
	for _, id := range []string{"a", "b", "c", "d"} {
		if err := r.app.Bridge().Send(context.Background(), "raw", Order{OrderID: id}); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.app.Binding("batch-in-0").Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := recv(t, calls); got != "abcd" {
		t.Fatalf("first call %q, want abcd", got)
	}
	ret := recv(t, rec.returned)
	select {
	case got := <-calls:
		t.Fatalf("the function went on with %q in the call whose settler said stop", got)
	default:
	}
	for i, want := range []bool{false, false, true, true} { // a handled, b dead-lettered, c d left
		err := stream.BatchMessageErr(ret, i)
		if nak := err != nil && errors.Is(err, stream.ErrNak) && errors.Is(err, stream.ErrBatchStop); nak != want {
			t.Fatalf("message %d's outcome %v: left for redelivery %v, want %v", i, err, nak, want)
		}
	}
	if got := recv(t, calls); got != "cd" { // redelivered
		t.Fatalf("after the stop: call %q, want cd (redelivered)", got)
	}
	if dl := recv(t, dead); !strings.Contains(string(dl.Payload), `"b"`) {
		t.Fatalf("dead letter %s, want b", dl.Payload)
	}
	waitStats(t, r, "batch-in-0", func(st stream.BindingStats) bool {
		return st.Processed == 3 && st.Failed == 1 && st.DeadLettered == 1
	})
}
