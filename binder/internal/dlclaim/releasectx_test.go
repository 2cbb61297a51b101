package dlclaim

import (
	"context"
	"testing"
	"time"

	"github.com/streambind/streambind/stream"
)

// interruptingPlain removes a dead letter and then ends ctx, as an
// interrupt that arrives while the removal is on its way does.
type interruptingPlain struct {
	sharedPlain
	cancel context.CancelFunc
}

func (p *interruptingPlain) Remove(ctx context.Context, d stream.DeadLetter) error {
	err := p.sharedPlain.Remove(ctx, d)
	p.cancel()
	return err
}

// ctxLeases are shared leases whose Release fails once its ctx ended, as
// a broker request does.
type ctxLeases struct{ *shared }

func (l ctxLeases) Release(ctx context.Context, ids []string, token string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return l.shared.Release(ctx, ids, token)
}

// TestRemovedClaimReleasedAfterInterrupt: the claim of a dead letter
// removed just as the replay was interrupted (its ctx ended after the
// removal) is given back; it stayed until its lease ran out, since Close
// no longer held it (TestDLQReplayPipelinedInterruptedNATS: "1 claims
// left" in a CI run).
func TestRemovedClaimReleasedAfterInterrupt(t *testing.T) {
	for _, batch := range []bool{false, true} {
		s := &shared{owner: map[string]string{}, removed: map[string]bool{}}
		ds := []stream.DeadLetter{{ID: "1"}}
		ctx, cancel := context.WithCancel(context.Background())
		c := New(context.Background(), &interruptingPlain{sharedPlain{plain{ds: ds}, s}, cancel}, ctxLeases{s}, time.Minute, nil, nil, "dlq")
		d, err := c.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if batch {
			if errs := c.RemoveBatch(ctx, []stream.DeadLetter{d}); errs != nil && errs[0] != nil {
				t.Fatal(errs[0])
			}
		} else if err := c.Remove(ctx, d); err != nil {
			t.Fatal(err)
		}
		if err := c.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
		if o := s.owner["1"]; o != "" {
			t.Errorf("batch %v: the removed dead letter's claim is left after the interrupt", batch)
		}
	}
}
