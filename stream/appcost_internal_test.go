package stream

import (
	"testing"
	"time"
)

// HandlerCalls is the sum of the histogram's buckets, successes and
// failures, with the messages above its last bound counted too (no
// counter of its own a message); Processed is the successes' sum plus
// the processed counter (no add of its own for a timed success).
func TestHandlerCallsCountsEveryBucket(t *testing.T) {
	var s bindingStats
	s.observeOK(50 * time.Microsecond)
	s.observeFailed(100 * time.Microsecond)
	s.observeOK(3 * time.Second)
	s.observeFailed(11 * time.Second)
	s.processed.Add(2) // a batch's messages handled by a failed call
	st := s.snapshot()
	if st.HandlerCalls != 4 || st.HandlerTime != 14*time.Second+150*time.Microsecond {
		t.Errorf("HandlerCalls %d, HandlerTime %v; want 4, 14.00015s", st.HandlerCalls, st.HandlerTime)
	}
	if st.Processed != 4 {
		t.Errorf("Processed %d, want 4 (2 timed successes, 2 counted)", st.Processed)
	}
	want := []int64{2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3} // cumulative: ≤100µs, ≤5s, none ≤10s beyond
	if len(st.HandlerBuckets) != len(handlerBuckets) {
		t.Fatalf("%d buckets, want %d", len(st.HandlerBuckets), len(handlerBuckets))
	}
	for i := range want {
		if st.HandlerBuckets[i] != want[i] {
			t.Fatalf("buckets %v, want %v", st.HandlerBuckets, want)
		}
	}
}

// bucketOf's integer bounds put a duration in the bucket the float
// comparison of its Seconds() with handlerBuckets does, at each bound and
// a nanosecond either side.
func TestBucketOfMatchesSeconds(t *testing.T) {
	bySeconds := func(d time.Duration) int {
		for i, ub := range handlerBuckets {
			if d.Seconds() <= ub {
				return i
			}
		}
		return len(handlerBuckets)
	}
	for _, ub := range handlerBuckets {
		c := time.Duration(ub * 1e9)
		for d := c - 3; d <= c+3; d++ {
			if got, want := bucketOf(d), bySeconds(d); got != want {
				t.Errorf("bucketOf(%d ns) = %d, want %d", int64(d), got, want)
			}
		}
	}
	for _, d := range []time.Duration{0, -1, time.Nanosecond, 20 * time.Second} {
		if got, want := bucketOf(d), bySeconds(d); got != want {
			t.Errorf("bucketOf(%v) = %d, want %d", d, got, want)
		}
	}
}

// An input with only the id and contentType headers gives an output no
// headers (neither is inherited), one with more keeps the others.
func TestInheritHeadersUsualInput(t *testing.T) {
	for _, c := range []struct {
		in   Headers
		want int // headers inherited; -1: nil
	}{
		{nil, -1},
		{Headers{}, -1},
		{Headers{HeaderID: "1"}, -1},
		{Headers{HeaderContentType: "text/plain"}, -1},
		{Headers{HeaderID: "1", HeaderContentType: "text/plain"}, -1},
		{Headers{HeaderID: "1", "tenant": "a"}, 1},
		{Headers{"a": "1", "b": "2"}, 2},
		{Headers{"ID": "1", "Tenant": "a"}, 1},
	} {
		got := inheritHeaders(c.in)
		if (c.want < 0) != (got == nil) || c.want >= 0 && len(got) != c.want {
			t.Errorf("inheritHeaders(%v) = %v, want %d headers", c.in, got, c.want)
		}
	}
	h := Headers{HeaderID: "1", HeaderContentType: "x"}
	if n := testing.AllocsPerRun(100, func() { inheritHeaders(h) }); n != 0 {
		t.Errorf("inheritHeaders of %v: %v allocations, want 0", h, n)
	}
}

// A converter looked up once for the binding's content type serves the
// messages of that type; a message of another type still gets its own.
func TestConvCtxConverterCache(t *testing.T) {
	cs := NewConverters()
	cx := convCtx{binding: "b", converters: cs, contentType: "application/json"}.withConverter()
	if c, ok := cx.lookup("application/json"); !ok || c != (JSONConverter{}) {
		t.Errorf("application/json: %T %v", c, ok)
	}
	if c, ok := cx.lookup("text/plain; charset=utf-8"); !ok || c != (TextConverter{}) {
		t.Errorf("text/plain: %T %v", c, ok)
	}
	if _, ok := cx.lookup("application/x-none"); ok {
		t.Error("application/x-none found")
	}
	none := convCtx{binding: "b", converters: cs, contentType: "application/x-none"}.withConverter()
	if c, ok := none.lookup("application/x-none"); ok || none.conv != nil {
		t.Errorf("application/x-none: %T %v, cached %T", c, ok, none.conv)
	}
	d := codecFor[struct{ A int }]()
	v, err := d.decode(&cx, Envelope{Payload: []byte(`{"A":3}`)}, "application/json")
	if err != nil || v.A != 3 {
		t.Errorf("decode: %v %v", v, err)
	}
}
