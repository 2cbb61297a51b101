package binding

import (
	"context"
	"errors"

	"github.com/streambind/streambind/stream"
)

var _ stream.LagReporter = Group[Consumer](nil)

// Lag joins the lag of the members that report one ([stream.LagReporter]),
// and their errors: the partitions of every destination, or an error when
// a member's read failed.
func (g Group[C]) Lag(ctx context.Context) ([]stream.PartitionLag, error) {
	var out []stream.PartitionLag
	var errs []error
	for _, c := range g {
		lr, ok := any(c).(stream.LagReporter)
		if !ok {
			continue
		}
		l, err := lr.Lag(ctx)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, l...)
	}
	return out, errors.Join(errs...)
}
