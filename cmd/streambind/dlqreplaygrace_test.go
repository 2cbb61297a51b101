package main

import (
	"context"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/streambind/streambind/stream"
)

// slowCommitCursor is a batching cursor whose RemoveBatch is a commit
// that takes commit to be answered and, as Kafka's, fails when its ctx
// ends first.
type slowCommitCursor struct {
	ds      []stream.DeadLetter
	commit  time.Duration
	removed int
}

func (c *slowCommitCursor) Next(ctx context.Context) (stream.DeadLetter, error) {
	ds, err := c.NextBatch(ctx, 1)
	if err != nil {
		return stream.DeadLetter{}, err
	}
	return ds[0], nil
}

func (c *slowCommitCursor) NextBatch(ctx context.Context, max int) ([]stream.DeadLetter, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if len(c.ds) == 0 {
		return nil, io.EOF
	}
	n := min(max, len(c.ds))
	ds := c.ds[:n]
	c.ds = c.ds[n:]
	return ds, nil
}

func (c *slowCommitCursor) RemoveBatch(ctx context.Context, ds []stream.DeadLetter) []error {
	t := time.NewTimer(c.commit)
	defer t.Stop()
	select {
	case <-t.C:
		c.removed += len(ds)
		return nil
	case <-ctx.Done():
		errs := make([]error, len(ds))
		for i, d := range ds {
			errs[i] = fmt.Errorf("remove %s: %w", d.ID, ctx.Err())
		}
		return errs
	}
}

func (c *slowCommitCursor) Remove(ctx context.Context, d stream.DeadLetter) error {
	if errs := c.RemoveBatch(ctx, []stream.DeadLetter{d}); errs != nil {
		return errs[0]
	}
	return nil
}

func (c *slowCommitCursor) Release(context.Context, stream.DeadLetter) error { return nil }
func (c *slowCommitCursor) Hold(context.Context, stream.DeadLetter) error    { return nil }
func (c *slowCommitCursor) HeldElsewhere() int                               { return 0 }
func (c *slowCommitCursor) Close(context.Context) error                      { return nil }

// confirmProducer confirms every copy, and interrupts the replay (its
// ctx) as the first is sent.
type confirmProducer struct{ interrupt context.CancelFunc }

func (p confirmProducer) Send(context.Context, stream.Envelope) error {
	p.interrupt()
	return nil
}

func (p confirmProducer) Close(context.Context) error { return nil }

// TestDLQReplayInterruptedRemovesConfirmedBatch: a replay interrupted
// (SIGINT) whose batch's copies were all confirmed within the grace
// removes their dead letters even when the removal (a commit to a slow
// broker) is answered after the grace ran out. The batch was removed
// with the sends' ctx, which the grace's end cancels: the commit failed
// and the next replay sent the whole batch again (128 duplicates), where
// the end of run removes with a ctx of its own for that reason.
func TestDLQReplayInterruptedRemovesConfirmedBatch(t *testing.T) {
	t.Parallel()
	var ds []stream.DeadLetter
	for i := range 10 {
		ds = append(ds, stream.DeadLetter{ID: fmt.Sprint(i), Envelope: stream.Envelope{Payload: []byte("p")}})
	}
	cur := &slowCommitCursor{ds: ds, commit: interruptGrace + time.Second}
	ctx, interrupt := context.WithCancel(context.Background())
	defer interrupt()
	rp := &replayer{
		dest: "orders", maxReplays: 3, lease: time.Minute,
		match: func(stream.DeadLetter) (bool, bool) { return true, false },
		producer: func(context.Context, string) (stream.Producer, bool, error) {
			return confirmProducer{interrupt}, false, nil
		},
		note:     func(string, ...any) {},
		dry:      func(stream.DeadLetter) {},
		progress: func(int) {},
	}
	err := rp.run(ctx, cur)
	if cur.removed != len(ds) || rp.replayed != len(ds) {
		t.Fatalf("removed %d, replayed %d (run: %v); want %d: their copies were confirmed", cur.removed, rp.replayed, err, len(ds))
	}
}
