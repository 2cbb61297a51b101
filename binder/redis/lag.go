package redis

import (
	"context"
	"fmt"
	"slices"
	"strings"

	goredis "github.com/redis/go-redis/v9"

	"github.com/streambind/streambind/binder/internal/lagread"
	"github.com/streambind/streambind/stream"
)

var _ stream.LagReporter = (*consumer)(nil)

// Lag reports, for every stream of the group (each partition's, and the
// destination's own where the group reads it), the entries not yet
// delivered to the group: XINFO GROUPS' lag (Redis 7.0 or later). Entries
// delivered and not yet acknowledged (the group's pending entries) are in
// flight, not lag. Topic is the stream's key, Partition its partition (0
// for the destination's own stream). A stream whose lag the server
// cannot tell (nil: entries deleted with XDEL inside the group's unread
// range; the group missing) is left out, with a WARN at most once a
// minute; a server before 7.0 reports none (logged once). It is read
// whether or not the binding runs (the group stays and falls behind while
// it is stopped), with one pipelined XINFO GROUPS of the group's streams,
// at most once every lagread.MaxAge (see [lagread]). An anonymous
// consumer (XREAD, no group) reports nothing. It implements
// [stream.LagReporter].
func (c *consumer) Lag(ctx context.Context) ([]stream.PartitionLag, error) {
	if c.group == "" {
		return nil, nil
	}
	return c.lag.Lag(ctx, c.bd.bg, c.readLag, c.log, "redis: reading the consumer lag (XINFO GROUPS) failed")
}

// lagKeys returns the group's streams and the partition of each: those
// of the run while it runs (with the partitions registered since it
// began), else those of the partitions registered now; made tells the
// streams on which the bind or a run made the group (on another, the
// group is made by the next Start).
func (c *consumer) lagKeys(ctx context.Context) (keys []string, parts []int, made func(string) bool, err error) {
	r := c.cur.Load()
	var runKeys []string
	if r != nil {
		runKeys, parts = r.snapshotParts()
	}
	made = func(k string) bool { return slices.Contains(c.groupKeys, k) || slices.Contains(runKeys, k) }
	if r != nil && r.ctx.Err() == nil {
		return runKeys, parts, made, nil
	}
	n, err := c.partitionCount(ctx)
	if err != nil {
		return nil, nil, nil, err
	}
	keys, parts = c.keysFor(n)
	return keys, parts, made, nil
}

// readLag reads the group's lag on each of its streams.
func (c *consumer) readLag(ctx context.Context) ([]stream.PartitionLag, error) {
	if c.bd.checkOpen() != nil {
		return nil, nil
	}
	keys, parts, made, err := c.lagKeys(ctx)
	if err != nil {
		return nil, c.bd.wrap(err, "redis: the consumer's streams")
	}
	if len(keys) == 0 {
		return nil, nil
	}
	pipe := c.client.Pipeline()
	cmds := make([]*goredis.Cmd, len(keys))
	for i, k := range keys {
		cmds[i] = pipe.Do(ctx, "XINFO", "GROUPS", k)
	}
	_, _ = pipe.Exec(ctx) // each command's error is looked at below
	var out []stream.PartitionLag
	for i, k := range keys {
		v, err := cmds[i].Result()
		if err != nil && strings.Contains(err.Error(), "no such key") && !made(k) {
			continue // a partition registered while stopped: Start makes its stream's group
		}
		if err != nil && strings.Contains(err.Error(), "no such key") {
			c.lag.Note("redis: the consumer group's stream is missing: its lag is left out", "stream", k)
			continue
		}
		if err != nil {
			return nil, c.bd.wrap(err, "XINFO GROUPS %s", k)
		}
		lag, found, known, err := groupLag(v, c.group)
		switch {
		case err != nil:
			return nil, c.bd.wrap(err, "XINFO GROUPS %s", k)
		case !found && !made(k):
			continue // a partition registered while stopped: Start makes its group
		case !found:
			c.lag.Note("redis: the consumer group is missing on its stream: its lag is left out", "stream", k)
			continue
		case !known:
			c.lag.Note("redis: the server cannot tell the consumer group's lag on the stream (entries deleted inside its unread range): left out until it can", "stream", k)
			continue
		}
		out = append(out, stream.PartitionLag{Topic: k, Partition: max(parts[i], 0), Lag: lag})
	}
	return out, nil
}

// groupLag finds group in an XINFO GROUPS reply (RESP2: an array of
// field-value arrays; RESP3: an array of maps) and returns its lag:
// found is false when group is not there, known false when the server
// gave nil for it. A reply without lag fields (Redis before 7.0) is
// lagread.ErrUnsupported.
func groupLag(reply any, group string) (lag int64, found, known bool, err error) {
	groups, ok := reply.([]any)
	if !ok {
		return 0, false, false, fmt.Errorf("unexpected XINFO GROUPS reply %T", reply)
	}
	for _, g := range groups {
		fields := map[string]any{}
		switch g := g.(type) {
		case []any:
			for i := 0; i+1 < len(g); i += 2 {
				if k, ok := g[i].(string); ok {
					fields[k] = g[i+1]
				}
			}
		case map[any]any:
			for k, v := range g {
				if k, ok := k.(string); ok {
					fields[k] = v
				}
			}
		default:
			return 0, false, false, fmt.Errorf("unexpected XINFO GROUPS entry %T", g)
		}
		if fields["name"] != group {
			continue
		}
		v, ok := fields["lag"]
		if !ok {
			return 0, true, false, fmt.Errorf("XINFO GROUPS has no lag field (Redis before 7.0): %w", lagread.ErrUnsupported)
		}
		if v == nil {
			return 0, true, false, nil
		}
		n, ok := v.(int64)
		if !ok {
			return 0, true, false, fmt.Errorf("unexpected lag %T in XINFO GROUPS", v)
		}
		return n, true, true, nil
	}
	return 0, false, false, nil
}
