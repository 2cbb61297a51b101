package kafka

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/streambind/streambind/stream"
)

// NextBatch implements [stream.DeadLetterBatcher]: the dead letters that
// max calls of Next would return, read from what one fetch brings (up to
// 16 MiB of a partition) and fetched on as Next fetches. A claiming
// cursor turns to the next generation only before the first (the others
// are read while it holds those before them), and ends the batch early
// when its generation is ending (a rebalance waits for what it holds) or
// its member was dropped (passSkipped's commit refused): the next call
// turns. An error after the first ends the batch; the next call meets it
// again.
func (c *kafkaDeadLetters) NextBatch(ctx context.Context, max int) ([]stream.DeadLetter, error) {
	d, err := c.next(ctx, true)
	if err != nil {
		return nil, err
	}
	out := []stream.DeadLetter{d}
	var room map[*dlPartition]int
	if c.m != nil {
		room = map[*dlPartition]int{}
		c.charge(room)
	}
	for len(out) < max && !c.turning() {
		if room != nil && c.cur < len(c.parts) {
			if p := c.parts[c.cur]; c.roomOf(room, p) < removedCost(p) {
				break
			}
		}
		d, err := c.next(ctx, false)
		if err != nil {
			break // io.EOF, or an error the next call meets again
		}
		out = append(out, d)
		if room != nil {
			c.charge(room)
		}
	}
	return out, nil
}

// charge takes from room (what is left of the commit metadata's limit per
// partition in this batch) the most that removing the dead letter just
// returned can add to its partition's list: a claiming cursor returns no
// more of a partition than the list can take if every one of them is
// removed behind one kept (a filtered replay), so that a replay near the
// limit sends no batch of copies whose dead letters it then cannot
// remove (their copies sent again by the next replay): at most the first
// of a batch, as one at a time.
func (c *kafkaDeadLetters) charge(room map[*dlPartition]int) {
	if c.cur < len(c.parts) {
		p := c.parts[c.cur]
		room[p] = c.roomOf(room, p) - removedCost(p)
	}
}

// roomOf is what is left of p's list in room, from what the list holds
// before the batch.
func (c *kafkaDeadLetters) roomOf(room map[*dlPartition]int, p *dlPartition) int {
	if r, ok := room[p]; ok {
		return r
	}
	meta := formatRemoved(&p.removed, max(p.committed, p.first))
	r := maxRemovedMetadata - len(meta)
	if meta == "" {
		r -= len(removedPrefix)
	}
	room[p] = r
	return r
}

// removedCost bounds what removing one dead letter of p adds to p's
// commit metadata: a range of its own (",offset"), or a range it ends
// ("-offset").
func removedCost(p *dlPartition) int {
	return 1 + len(strconv.FormatInt(max(p.end, 0), 10))
}

// turning reports whether a claiming cursor's generation is ending, or
// its member was dropped from it.
func (c *kafkaDeadLetters) turning() bool {
	if c.m == nil {
		return false
	}
	if c.m.lost {
		return true
	}
	select {
	case <-c.m.ending:
		return true
	default:
		return false
	}
}

// RemoveBatch implements [stream.DeadLetterBatcher]: one commit per
// partition for the dead letters of ds in it (as the member of the
// cursor's generation, fenced as Remove's), which moves the committed
// offset over those at its front and lists the others in the metadata.
// When the list of the whole batch would not fit the metadata's limit,
// the dead letters are taken one by one in the order of ds, as Remove
// would take them: those whose removal would overflow it fail with
// Remove's error, the others are removed. With ctx already done it
// commits nothing and fails them all: a commit sent is not taken back,
// and one whose answer the done ctx cut off may have removed what the
// caller is told stays.
func (c *kafkaDeadLetters) RemoveBatch(ctx context.Context, ds []stream.DeadLetter) []error {
	var errs []error
	fail := func(i int, err error) {
		if errs == nil {
			errs = make([]error, len(ds))
		}
		errs[i] = err
	}
	if err := ctx.Err(); err != nil {
		for i, d := range ds {
			fail(i, fmt.Errorf("kafka: remove dead letter %s: %w", d.ID, err))
		}
		return errs
	}
	type rm struct {
		i   int
		off int64
	}
	var order []*dlPartition
	byPart := map[*dlPartition][]rm{}
	for i, d := range ds {
		p, off, err := c.partitionOf(d)
		if err != nil {
			c.unholdLost(d, err)
			fail(i, err)
			continue
		}
		if _, ok := byPart[p]; !ok {
			order = append(order, p)
		}
		byPart[p] = append(byPart[p], rm{i, off})
	}
	var down error // a commit that found the broker out of reach
	for _, p := range order {
		rms := byPart[p]
		base := max(p.committed, p.first)
		// The whole batch at once: the list of all may fit where one of
		// the way there would not (a removal that bridges two ranges
		// shortens it).
		removed := p.removed.clone()
		for _, r := range rms {
			removed.bridge(&p.skipped, removed.add(r.off, r.off)-1, r.off)
		}
		committed := p.frontierFrom(base, &removed)
		removed.trimBelow(committed)
		meta := formatRemoved(&removed, committed)
		taken := rms
		if len(meta) > maxRemovedMetadata {
			// One by one, as Remove: those that overflow stay.
			taken = nil
			removed, committed = p.removed.clone(), base
			for _, r := range rms {
				rr, cc, mm := p.removalFrom(&removed, committed, r.off)
				if len(mm) > maxRemovedMetadata {
					fail(r.i, fmt.Errorf("kafka: %s[%d]: too many dead letters removed behind kept ones to record; replay or purge the ones before offset %d first", c.topic, p.id, cc))
					continue
				}
				removed, committed, meta = rr, cc, mm
				taken = append(taken, r)
			}
			if len(taken) == 0 {
				continue
			}
		}
		err := down
		if err == nil {
			err = c.commit(ctx, p, committed, meta)
		}
		if err != nil {
			if errors.Is(err, stream.ErrUnavailable) {
				// Retried already: the other partitions' commits are
				// not tried (each would retry as long).
				down = err
			}
			for _, r := range taken {
				if errors.Is(err, stream.ErrClaimLost) {
					c.unhold(p, r.off)
				}
				fail(r.i, fmt.Errorf("kafka: remove dead letter %s: %w", ds[r.i].ID, err))
			}
			continue
		}
		p.skipped.trimBelow(committed)
		p.committed, p.removed = committed, removed
		for _, r := range taken {
			p.dropCoveredSkipped(r.off)
			c.unhold(p, r.off)
		}
	}
	c.letGo()
	return errs
}
