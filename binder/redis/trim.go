package redis

import (
	"context"
	"errors"
	"fmt"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// trimmer trims the streams the binder's bindings use, every
// trim-interval: with trim-acked, the entries every consumer group of the
// stream has acknowledged; with max-age, the entries older than that. (The
// max-length cap is applied by every XADD.)
func (bd *Binder) trimmer(c *goredis.Client) {
	defer bd.bgWG.Done()
	if !bd.st.trimAcked && bd.st.maxAge == 0 {
		return
	}
	t := time.NewTicker(bd.st.trimInterval)
	defer t.Stop()
	warned := map[string]time.Time{}
	first := time.NewTimer(minInterval) // soon after the first bind: what earlier runs left
	defer first.Stop()
	for {
		select {
		case <-first.C:
		case <-t.C:
		case <-bd.bg.Done():
			return
		}
		bd.mu.Lock()
		streams := make(map[string]bool, len(bd.streams)) // key → a dead-letter stream
		for k, ts := range bd.streams {
			streams[k] = ts.deadLetters
		}
		bd.mu.Unlock()
		for k, deadLetters := range streams {
			if bd.bg.Err() != nil {
				return
			}
			ctx, cancel := context.WithTimeout(bd.bg, bd.st.commandTimeout)
			n, err := bd.trim(ctx, c, k, deadLetters, warned)
			cancel()
			switch {
			case err != nil && bd.bg.Err() == nil:
				bd.log.Debug("redis: trimming failed", "stream", k, "error", bd.logErr(err))
			case n > 0:
				bd.log.Debug("redis: trimmed", "stream", k, "entries", n)
			}
		}
	}
}

// trimPoint returns the ID before which every group of stream key has
// acknowledged everything (its oldest pending entry, or its last delivered
// one when none is pending), or "" when the stream has no group.
func trimPoint(ctx context.Context, c *goredis.Client, key string, groups []goredis.XInfoGroup) (string, error) {
	point := ""
	for _, g := range groups {
		p := g.LastDeliveredID
		if g.Pending > 0 {
			s, err := c.XPending(ctx, key, g.Name).Result()
			if err != nil {
				return "", fmt.Errorf("XPENDING %s %s: %w", key, g.Name, err)
			}
			if s.Count > 0 && s.Lower != "" {
				p = s.Lower
			}
		}
		if point == "" || compareIDs(p, point) < 0 {
			point = p
		}
	}
	return point, nil
}

// trim trims stream key (approximately: whole nodes of the stream, which
// is cheap) and returns how many entries went. A dead-letter stream is
// trimmed by max-age only (and by max-length at each XADD): its entries
// wait for an operator (streambind dlq), whatever a dead-letter reader's
// group acknowledged.
func (bd *Binder) trim(ctx context.Context, c *goredis.Client, key string, deadLetters bool, warned map[string]time.Time) (int64, error) {
	point := ""
	if bd.st.trimAcked && !deadLetters {
		groups, err := c.XInfoGroups(ctx, key).Result()
		if err != nil {
			if hasPrefix(err, "ERR no such key") || errors.Is(err, goredis.Nil) {
				return 0, nil
			}
			return 0, fmt.Errorf("XINFO GROUPS %s: %w", key, err)
		}
		if point, err = trimPoint(ctx, c, key, groups); err != nil {
			return 0, err
		}
		if bd.st.maxLength > 0 {
			for _, g := range groups {
				behind := g.Lag + g.Pending
				if g.Lag >= 0 && behind > bd.st.maxLength*8/10 && time.Since(warned[key+"\x00"+g.Name]) > time.Minute {
					warned[key+"\x00"+g.Name] = time.Now()
					bd.log.Warn("redis: a consumer group is far behind; entries beyond max-length are trimmed unread", "stream", key, "group", g.Name, "behind", behind, "max-length", bd.st.maxLength)
				}
			}
		}
	}
	if bd.st.maxAge > 0 {
		age := fmt.Sprintf("%d-0", time.Now().Add(-bd.st.maxAge).UnixMilli())
		if point == "" || compareIDs(age, point) > 0 {
			point = age
		}
	}
	if point == "" || point == "0-0" {
		return 0, nil
	}
	return c.XTrimMinIDApprox(ctx, key, point, 0).Result()
}
