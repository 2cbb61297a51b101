package rabbit

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/streambind/streambind/stream"
)

// NextBatch implements [stream.DeadLetterBatcher]: the next dead letter as
// Next reads it (waiting for it, up to dlqIdle), then those the broker
// already sent the cursor's consumer (its prefetch window, see window), up
// to max: one round trip of the broker's brings the consumer a window's
// worth. A batch ends where the consumer holds a full window unremoved
// (the next call lets the broker send more, as Next does), at the count
// the queue held at open, when no delivery comes within batchGap, and once
// its dead letters weigh the cursor's byte budget (dlqWindowBytes; the
// first one whatever it weighs; a dead letter that would take the batch
// past the budget begins the next one). A full window whose size no longer fits
// the dead letters (the first consumer's window of 1; one fill made
// smaller) is replaced by one that does (more) and the batch goes on.
func (c *rabbitDeadLetters) NextBatch(ctx context.Context, max int) ([]stream.DeadLetter, error) {
	d, err := c.Next(ctx)
	if err != nil {
		return nil, err
	}
	out := []stream.DeadLetter{d}
	size := c.tags[d.ID].size
	var gap *time.Timer
	for len(out) < max && c.read < c.total {
		if size >= c.budget {
			break
		}
		if len(c.pending) > 0 {
			if c.ch.IsClosed() {
				return out, nil // the next Next says so
			}
			p := c.pending[0]
			if size+deliverySize(&p.d) > c.budget {
				break // the next batch begins with it
			}
			c.pending = c.pending[1:]
			d := c.deliver(&p.d, p.gen)
			size += c.tags[d.ID].size
			out = append(out, d)
			continue
		}
		if c.held >= c.win {
			if c.window() == c.win {
				break
			}
			if err := c.more(); err != nil {
				return out, nil // the next Next meets it again
			}
			continue
		}
		if gap == nil {
			gap = time.NewTimer(batchGap)
			defer gap.Stop()
		} else {
			gap.Reset(batchGap)
		}
		select {
		case d, ok := <-c.ds:
			if !ok {
				// The channel closed: the next Next says so.
				return out, nil
			}
			c.took(&d)
			if size+deliverySize(&d) > c.budget {
				// The next batch begins with it (pending is empty here:
				// its order is kept).
				c.pending = append(c.pending, pendingDL{d: d, gen: c.gen})
				return out, nil
			}
			d2 := c.deliver(&d, c.gen)
			size += c.tags[d2.ID].size
			out = append(out, d2)
		case <-gap.C:
			return out, nil
		}
	}
	return out, nil
}

// batchGap is how long NextBatch waits for each delivery after the first:
// amqp091-go hands a consumer's deliveries over one at a time, from a
// goroutine of its own, so one that has arrived is not at once there to
// take; a delivery not there after batchGap is not yet in (the broker
// sends the window's rest as the cursor removes).
const batchGap = 2 * time.Millisecond

// RemoveBatch implements [stream.DeadLetterBatcher]: it acknowledges ds,
// those that leave no dead letter the cursor read before them unremoved
// (contiguous delivery tags from the oldest the cursor holds) with one
// multiple acknowledgement, the others one by one, then waits for the
// broker to confirm them (confirmAcks: an acknowledgement has no answer).
// A dead letter the cursor passed over (Release) stays held,
// unacknowledged, until Close: the dead letters after it are acknowledged
// one by one. With ctx already done it acknowledges nothing and fails
// them all.
func (c *rabbitDeadLetters) RemoveBatch(ctx context.Context, ds []stream.DeadLetter) []error {
	var errs []error
	fail := func(i int, err error) {
		if errs == nil {
			errs = make([]error, len(ds))
		}
		errs[i] = err
	}
	type rm struct {
		i, n int // index in ds, position in the cursor
		h    heldDL
	}
	if err := ctx.Err(); err != nil {
		// Nothing acknowledged: an ack once written cannot be taken
		// back, and confirmAcks would fail it while the broker removes
		// the dead letter (an interrupted purge said fewer purged than
		// it had removed).
		for i, d := range ds {
			fail(i, fmt.Errorf("rabbit: queue %s: remove dead letter %s: %w", c.queue, d.ID, err))
		}
		return errs
	}
	rms := make([]rm, 0, len(ds))
	for i, d := range ds {
		h, ok := c.tags[d.ID]
		n, err := strconv.Atoi(d.ID)
		if !ok || err != nil {
			fail(i, fmt.Errorf("rabbit: queue %s: no dead letter %s in this cursor", c.queue, d.ID))
			continue
		}
		delete(c.tags, d.ID)
		rms = append(rms, rm{i, n, h})
	}
	slices.SortFunc(rms, func(a, b rm) int { return a.n - b.n })
	// The cursor returns the dead letters in the order of their delivery
	// tags (a channel's tags grow; a cancelled consumer's deliveries come
	// before the next consumer's): the removed ones before the oldest it
	// still holds are every tag up to the last of them.
	c.advanceLow()
	k := 0
	for k < len(rms) && rms[k].n < c.low && (k == 0 || rms[k].h.tag > rms[k-1].h.tag) {
		k++
	}
	sent := 0 // acknowledgements written
	acked := func(r rm) {
		sent++
		if r.h.gen == c.gen {
			// The broker may send the current consumer one more.
			c.held--
			c.heldBytes -= r.h.size
		}
	}
	if k > 0 {
		last := rms[k-1]
		if err := c.ch.Ack(last.h.tag, k > 1); err != nil {
			for _, r := range rms[:k] {
				fail(r.i, fmt.Errorf("rabbit: queue %s: remove dead letter %d: %w", c.queue, r.n, err))
			}
		} else {
			for _, r := range rms[:k] {
				acked(r)
			}
		}
	}
	for _, r := range rms[k:] {
		if err := c.ch.Ack(r.h.tag, false); err != nil {
			fail(r.i, fmt.Errorf("rabbit: queue %s: remove dead letter %d: %w", c.queue, r.n, err))
			continue
		}
		acked(r)
	}
	if sent > 0 {
		if err := c.confirmAcks(ctx); err != nil {
			for _, r := range rms {
				if errs == nil || errs[r.i] == nil {
					fail(r.i, fmt.Errorf("rabbit: queue %s: remove dead letter %d: %w", c.queue, r.n, err))
				}
			}
		}
	}
	return errs
}

// confirmAcks waits for the broker to take the acknowledgements the cursor
// wrote: an acknowledgement has no answer, and amqp091-go writes it to a
// connection that may be dead without its knowing yet (a path that
// stalled, then broke): the broker gives back what it never read, and the
// removal that said nothing had removed nothing (a replay ended "replayed
// 300" with all 300 back in the queue). The answer to a basic.qos sent
// after them (the same prefetch: for the channel's next consumers only)
// says the broker read them: it handles a channel's methods in order. It
// waits until ctx ends, or at most dlqCloseTimeout from the last sign of
// life: the answer comes behind the deliveries the broker sent the
// consumer before it (up to a window of dead letters, which over a slow
// link or with large dead letters took longer than dlqCloseTimeout: a
// purge of 25 MB of 256 KiB dead letters failed with the connection
// alive), so each delivery arriving meanwhile restarts the wait. It takes
// them into pending, as NextBatch takes a delivery, for Next to return in
// their order; a closed consumer stops that (Next reports it).
func (c *rabbitDeadLetters) confirmAcks(ctx context.Context) error {
	done := make(chan error, 1)
	go func() { done <- c.ch.Qos(c.win, 0, false) }()
	t := time.NewTimer(dlqCloseTimeout)
	defer t.Stop()
	ds := c.ds
	for {
		select {
		case err := <-done:
			if err != nil {
				return fmt.Errorf("not confirmed by the broker, which may have given it back (%w)", err)
			}
			return nil
		case d, ok := <-ds:
			if !ok {
				ds = nil
				continue
			}
			c.took(&d)
			c.pending = append(c.pending, pendingDL{d: d, gen: c.gen})
			t.Reset(dlqCloseTimeout)
		case <-t.C:
			return fmt.Errorf("not confirmed by the broker within %s; it may have given it back", dlqCloseTimeout)
		case <-ctx.Done():
			return fmt.Errorf("not confirmed by the broker, which may have given it back: %w", ctx.Err())
		}
	}
}

// advanceLow moves low past the dead letters the cursor returned and
// removed: low is the position of the oldest it returned and still holds
// (read+1 when none).
func (c *rabbitDeadLetters) advanceLow() {
	if c.low < 1 {
		c.low = 1
	}
	for c.low <= c.read {
		if _, ok := c.tags[strconv.Itoa(c.low)]; ok {
			return
		}
		c.low++
	}
}
