package memory

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/streambind/streambind/stream"
)

// OpenDeadLetters implements [stream.DeadLetterStore]. Dead letters are
// ordinary messages of destination error.<destination>.<group>, and every
// group of that destination holds its own copy: the cursor is over the
// queue(s) of group o.Group (default: the only named group). A dead
// letter's ID is its sequence number in the destination. Remove takes it
// out of the group's queue; one a consumer of the group took meanwhile is
// already gone, which Remove does not count as an error.
func (bd *Binder) OpenDeadLetters(_ context.Context, spec stream.ConsumerSpec, o stream.DeadLetterOpen) (stream.DeadLetters, error) {
	dest := stream.DLQName(spec.Destination, spec.Group)
	b := bd.broker
	b.mu.Lock()
	d := b.dests[dest]
	var names []string
	var g *group
	if d != nil {
		for n := range d.named {
			names = append(names, n)
		}
		if o.Group != "" {
			g = d.named[o.Group]
		} else if len(names) == 1 {
			g = d.named[names[0]]
		}
	}
	b.mu.Unlock()
	sort.Strings(names)
	switch {
	case len(names) == 0:
		return nil, fmt.Errorf("memory: %s: no group reads it, so its dead letters were dropped: %w", dest, stream.ErrNoDeadLetters)
	case g == nil && o.Group != "":
		return nil, fmt.Errorf("memory: %s has no group %q (groups: %s): %w", dest, o.Group, strings.Join(names, ", "), stream.ErrNoDeadLetters)
	case g == nil:
		return nil, fmt.Errorf("memory: %s is read by groups %s, each with its own copy: say which", dest, strings.Join(names, ", "))
	}
	g.mu.Lock()
	var snap []item
	for _, q := range g.queues {
		for i := 0; i < q.items.len(); i++ {
			snap = append(snap, *q.items.at(i))
		}
	}
	g.mu.Unlock()
	sort.SliceStable(snap, func(i, j int) bool { return snap[i].seq < snap[j].seq })
	return &deadLetters{g: g, items: snap}, nil
}

type deadLetters struct {
	g     *group
	items []item
	next  int
}

func (c *deadLetters) Next(ctx context.Context) (stream.DeadLetter, error) {
	if err := ctx.Err(); err != nil {
		return stream.DeadLetter{}, err
	}
	if c.next >= len(c.items) {
		return stream.DeadLetter{}, io.EOF
	}
	it := &c.items[c.next]
	c.next++
	return stream.DeadLetter{ID: strconv.FormatUint(it.seq, 10), Envelope: it.env.envelope(), Time: time.UnixMilli(it.ts)}, nil
}

func (c *deadLetters) Remove(_ context.Context, d stream.DeadLetter) error {
	seq, err := strconv.ParseUint(d.ID, 10, 64)
	if err != nil {
		return fmt.Errorf("memory: dead letter id %q: %w", d.ID, err)
	}
	c.g.mu.Lock()
	defer c.g.mu.Unlock()
	for _, q := range c.g.queues {
		for i := 0; i < q.items.len(); i++ {
			if q.items.at(i).seq == seq {
				q.items.removeAt(i)
				notify(q.notFull)
				return nil
			}
		}
	}
	return nil
}

// Release, Hold and HeldElsewhere: an in-process cursor claims nothing.
func (c *deadLetters) Release(context.Context, stream.DeadLetter) error { return nil }
func (c *deadLetters) Hold(context.Context, stream.DeadLetter) error    { return nil }
func (c *deadLetters) HeldElsewhere() int                               { return 0 }

func (c *deadLetters) Close(context.Context) error { c.items = nil; return nil }
