package bindertest

import (
	"cmp"
	"context"
	"slices"
	"testing"
	"time"

	"github.com/streambind/streambind/stream"
)

// WaitLag polls the Lag of c, which must be a [stream.LagReporter] (a
// consumer binding, or a [stream.Binding]), until
// it reports want (in any order: every partition, none other), failing
// the test with the last report (or error) when ctx ends first. A
// binder's lag is a broker-side count read on demand, so polling with a
// deadline is how a test sees it settle.
func WaitLag(ctx context.Context, t testing.TB, c any, want ...stream.PartitionLag) {
	t.Helper()
	lr, ok := c.(stream.LagReporter)
	if !ok {
		t.Fatalf("%T does not report its lag (stream.LagReporter)", c)
	}
	want = sortedLag(want)
	var got []stream.PartitionLag
	var err error
	for {
		got, err = lr.Lag(ctx)
		if err == nil && slices.Equal(sortedLag(got), want) {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("lag %+v (error %v), want %+v", got, err, want)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func sortedLag(l []stream.PartitionLag) []stream.PartitionLag {
	l = slices.Clone(l)
	slices.SortFunc(l, func(a, b stream.PartitionLag) int {
		return cmp.Or(cmp.Compare(a.Topic, b.Topic), cmp.Compare(a.Partition, b.Partition))
	})
	return l
}
