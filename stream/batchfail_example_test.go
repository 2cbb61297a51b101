package stream_test

import (
	"context"
	"errors"

	"github.com/streambind/streambind/stream"
)

// A batch consumer (consumer.batch-mode: true) that tells which message of
// its batch failed: the orders before it were charged and are
// acknowledged; the retries call it again with orders[i:], and only
// orders[i] is dead-lettered once they are spent.
func ExampleBatchFailedAt() {
	charge := func(ctx context.Context, id string) error {
		if id == "" {
			return stream.Permanent(errors.New("order without an id")) // not retried
		}
		return nil
	}
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "charge", func(ctx context.Context, ids []string) error {
		for i, id := range ids {
			if err := charge(ctx, id); err != nil {
				return stream.BatchFailedAt(i, err)
			}
		}
		return nil
	})
	_ = fns // bound with consumer.batch-mode: true (and dlq: true, a group)
}
