package redis

import (
	"context"
	"fmt"
	"io"

	goredis "github.com/redis/go-redis/v9"

	"github.com/streambind/streambind/stream"
)

// dlPage is how many entries a dead-letter cursor reads per XRANGE.
const dlPage = 256

// OpenDeadLetters implements [stream.DeadLetterStore] over the dead-letter
// stream of spec (dlq-name, default error.<destination>.<group>, under the
// key prefix). The cursor reads the entries up to the last one at open with
// XRANGE (reading changes nothing: no group, no pending entry); Remove
// deletes one with XDEL. A dead letter's ID is its entry ID, its Time the
// entry ID's time (when it was dead-lettered).
func (bd *Binder) OpenDeadLetters(ctx context.Context, spec stream.ConsumerSpec, _ stream.DeadLetterOpen) (stream.DeadLetters, error) {
	cs, err := parseConsumer(spec.Binding, spec.Extension)
	if err != nil {
		return nil, err
	}
	key := bd.key(stream.ErrorDestinationSource(spec, cs.dlqName).Destination, -1)
	c, err := bd.connect(ctx)
	if err != nil {
		return nil, err
	}
	last, err := c.XRevRangeN(ctx, key, "+", "-", 1).Result()
	if err != nil {
		return nil, fmt.Errorf("redis: stream %s: %w", key, err)
	}
	if len(last) == 0 {
		n, err := c.Exists(ctx, key).Result()
		if err == nil && n == 0 {
			return nil, fmt.Errorf("redis: stream %s: %w", key, stream.ErrNoDeadLetters)
		}
		return &redisDeadLetters{c: c, key: key, done: true}, nil
	}
	return &redisDeadLetters{c: c, key: key, next: "-", last: last[0].ID}, nil
}

type redisDeadLetters struct {
	c          *goredis.Client
	key        string
	next, last string // next: the XRANGE start ("-", or "(" + an ID)
	page       []goredis.XMessage
	done       bool
}

func (r *redisDeadLetters) Next(ctx context.Context) (stream.DeadLetter, error) {
	for len(r.page) == 0 {
		if r.done {
			return stream.DeadLetter{}, io.EOF
		}
		ms, err := r.c.XRangeN(ctx, r.key, r.next, r.last, dlPage).Result()
		if err != nil {
			return stream.DeadLetter{}, fmt.Errorf("redis: read %s: %w", r.key, err)
		}
		if len(ms) < dlPage {
			r.done = true
		}
		if len(ms) > 0 {
			r.next = "(" + ms[len(ms)-1].ID
		}
		r.page = ms
	}
	m := r.page[0]
	r.page = r.page[1:]
	return stream.DeadLetter{ID: m.ID, Envelope: decode(m.Values), Time: idTime(m.ID)}, nil
}

func (r *redisDeadLetters) Remove(ctx context.Context, d stream.DeadLetter) error {
	if err := r.c.XDel(ctx, r.key, d.ID).Err(); err != nil {
		return fmt.Errorf("redis: remove dead letter %s from %s: %w", d.ID, r.key, err)
	}
	return nil
}

func (r *redisDeadLetters) Close(context.Context) error { return nil }
