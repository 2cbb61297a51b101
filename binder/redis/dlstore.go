package redis

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/streambind/streambind/binder/internal/dlbudget"
	"github.com/streambind/streambind/binder/internal/dlclaim"
	"github.com/streambind/streambind/stream"
)

// dlPage is the most entries a dead-letter cursor reads per XRANGE: it
// reads fewer when they are large (see dlbudget.Count; the budget,
// dlbudget.Bytes by default).
const dlPage = 256

// OpenDeadLetters implements [stream.DeadLetterStore] over the dead-letter
// stream of spec (dlq-name, default error.<destination>.<group>, under the
// key prefix). The cursor reads the entries up to the last one at open with
// XRANGE (reading changes nothing: no group, no pending entry); Remove
// deletes one with XDEL (RemoveBatch many with one XDEL). A dead letter's ID is its entry ID, its Time the
// entry ID's time (when it was dead-lettered).
//
// A claiming cursor (o.Claim) claims each entry with a key of its own,
// <stream>:dlq-claim:<entry ID>, set with NX and PX o.LeaseOf() to the
// cursor's random token by a script that first checks the entry is still
// there (a batch, NextBatch, by one script call); it renews the key while it holds the entry and deletes it when
// it removed the entry or gives it back. The keys of a cursor that died
// expire after the lease: nothing stays behind. (Not a consumer group on
// the dead-letter stream: what a group delivered and nobody acknowledged
// comes back only by XCLAIM, so a replay that skips a dead letter by its
// filters would hide it from the next replay for a lease, and a group
// would stay on the stream.)
//
// The cursor reads its first entry alone (XRANGE ... COUNT 1), then pages
// of as many entries as weigh 64 MB (dlbudget.Bytes; payload and header
// fields) when each weighs as much as the largest it has read, from 1 to
// dlPage; a batch (NextBatch) stops at 64 MB too, but holds at least one
// entry. An entry may weigh up to dead-letter-max-size (16 MiB by
// default): pages of 256 of 4-8 MB asked Redis for 575 MB in one reply
// (streambind dlq ls timed out after 5 s, and the server answered nobody
// meanwhile). XRANGE cannot stop at a size: entries larger than all
// before them can make the page they are in weigh more (at worst dlPage
// of them), once for each new largest: the next page is sized for it.
func (bd *Binder) OpenDeadLetters(ctx context.Context, spec stream.ConsumerSpec, o stream.DeadLetterOpen) (stream.DeadLetters, error) {
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
		if err == nil && n == 0 && !bd.groupBound(ctx, c, spec, cs.partitionCount) {
			return nil, fmt.Errorf("redis: stream %s: %w", key, stream.ErrNoDeadLetters)
		}
		return &redisDeadLetters{c: c, key: key, done: true}, nil
	}
	cur := &redisDeadLetters{c: c, key: key, next: "-", last: last[0].ID, budget: cmp.Or(bd.dlqBytes, dlbudget.Bytes)}
	if o.Claim {
		return dlclaim.New(ctx, cur, redisLeases{c: c, key: key}, o.LeaseOf(), o.Want, bd.log, key), nil
	}
	return cur, nil
}

// groupBound reports whether spec's group is on one of its destinations'
// streams: the unpartitioned one or any partition (those producers
// registered, partition-count, or instance-count: instance i of a
// partitioned binding makes its group on its partitions only, so with
// instance 0 not running the group is on none of the first two). A
// dead-letter stream is made by its first entry, unlike Kafka's topics,
// RabbitMQ's queues and NATS's streams, which the binding provisions:
// without it, a group that is there means the app runs here and has
// dead-lettered nothing yet (0 dead letters, as on the other binders),
// and a group that is not means nothing of it is here (a prefix or server
// other than the app's, which streambind dlq reports).
func (bd *Binder) groupBound(ctx context.Context, c *goredis.Client, spec stream.ConsumerSpec, partitionCount int) bool {
	if spec.Group == "" {
		return false
	}
	for _, dest := range strings.Split(spec.Destination, ",") {
		if dest = strings.TrimSpace(dest); dest == "" {
			continue
		}
		n, err := bd.partitions(ctx, c, dest)
		if err != nil {
			n = 0
		}
		n = max(n, partitionCount, spec.Consumer.InstanceCount)
		for p := -1; p < n; p++ {
			groups, err := c.XInfoGroups(ctx, bd.key(dest, p)).Result()
			if err != nil {
				continue // no such stream, or not a stream
			}
			for _, g := range groups {
				if g.Name == spec.Group {
					return true
				}
			}
		}
	}
	return false
}

// redisLeases are the claims of the entries of dead-letter stream key.
type redisLeases struct {
	c   *goredis.Client
	key string
}

func (l redisLeases) claimKey(id string) string { return l.key + ":dlq-claim:" + id }

// claimScript claims entry ARGV[1] of stream KEYS[1] for token ARGV[2]
// for ARGV[3] ms with key KEYS[2]: 0 claimed, 1 held by another, 2 gone.
// One script, so that no removal slips between the check and the claim.
var claimScript = goredis.NewScript(`
if #redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[1]) == 0 then return 2 end
if redis.call('SET', KEYS[2], ARGV[2], 'NX', 'PX', ARGV[3]) then return 0 end
return 1
`)

// claimBatchScript is claimScript for several entries: KEYS[1] the
// stream, KEYS[i] (i > 1) the claim key of entry ARGV[i+1]; ARGV[1] the
// token, ARGV[2] the ms; one result per entry, in order.
var claimBatchScript = goredis.NewScript(`
local r = {}
for i = 2, #KEYS do
  local id = ARGV[i + 1]
  if #redis.call('XRANGE', KEYS[1], id, id) == 0 then r[#r + 1] = 2
  elseif redis.call('SET', KEYS[i], ARGV[1], 'NX', 'PX', ARGV[2]) then r[#r + 1] = 0
  else r[#r + 1] = 1 end
end
return r
`)

// renewScript extends to ARGV[2] ms the keys (KEYS) that token ARGV[1]
// still holds; it returns the indexes (1-based) of those it does not.
var renewScript = goredis.NewScript(`
local lost = {}
for i, k in ipairs(KEYS) do
  if redis.call('GET', k) == ARGV[1] then redis.call('PEXPIRE', k, ARGV[2]) else lost[#lost + 1] = i end
end
return lost
`)

// releaseScript deletes the keys (KEYS) that token ARGV[1] holds.
var releaseScript = goredis.NewScript(`
for _, k in ipairs(KEYS) do
  if redis.call('GET', k) == ARGV[1] then redis.call('DEL', k) end
end
return 0
`)

// leaseBatch bounds the keys of one renew or release script call.
const leaseBatch = 500

func (l redisLeases) Claim(ctx context.Context, d stream.DeadLetter, token string, ttl time.Duration) (dlclaim.Result, error) {
	r, err := claimScript.Run(ctx, l.c, []string{l.key, l.claimKey(d.ID)}, d.ID, token, ttl.Milliseconds()).Int()
	if err != nil {
		return 0, fmt.Errorf("redis: %s: %w", l.key, err)
	}
	return dlclaim.Result(r), nil
}

// ClaimBatch claims ds with one script call per leaseBatch of them.
func (l redisLeases) ClaimBatch(ctx context.Context, ds []stream.DeadLetter, token string, ttl time.Duration) ([]dlclaim.Result, error) {
	rs := make([]dlclaim.Result, 0, len(ds))
	for len(rs) < len(ds) {
		batch := ds[len(rs):min(len(ds), len(rs)+leaseBatch)]
		keys := make([]string, 1, len(batch)+1)
		keys[0] = l.key
		args := make([]any, 2, len(batch)+2)
		args[0], args[1] = token, ttl.Milliseconds()
		for _, d := range batch {
			keys = append(keys, l.claimKey(d.ID))
			args = append(args, d.ID)
		}
		got, err := claimBatchScript.Run(ctx, l.c, keys, args...).Int64Slice()
		if err == nil && len(got) != len(batch) {
			err = fmt.Errorf("%d results for %d claims", len(got), len(batch))
		}
		if err != nil {
			// Those of the batches before are given back (else they run
			// out).
			var ids []string
			for i, r := range rs {
				if r == dlclaim.Claimed {
					ids = append(ids, ds[i].ID)
				}
			}
			_ = l.Release(ctx, ids, token)
			return nil, fmt.Errorf("redis: %s: claim: %w", l.key, err)
		}
		for _, r := range got {
			rs = append(rs, dlclaim.Result(r))
		}
	}
	return rs, nil
}

func (l redisLeases) Renew(ctx context.Context, ids []string, token string, ttl time.Duration) ([]string, error) {
	var lost []string
	for len(ids) > 0 {
		batch := ids[:min(len(ids), leaseBatch)]
		ids = ids[len(batch):]
		keys := make([]string, len(batch))
		for i, id := range batch {
			keys[i] = l.claimKey(id)
		}
		idx, err := renewScript.Run(ctx, l.c, keys, token, ttl.Milliseconds()).Int64Slice()
		if err != nil {
			return lost, fmt.Errorf("redis: %s: renew claims: %w", l.key, err)
		}
		for _, i := range idx {
			lost = append(lost, batch[i-1])
		}
	}
	return lost, nil
}

func (l redisLeases) Release(ctx context.Context, ids []string, token string) error {
	for len(ids) > 0 {
		batch := ids[:min(len(ids), leaseBatch)]
		ids = ids[len(batch):]
		keys := make([]string, len(batch))
		for i, id := range batch {
			keys[i] = l.claimKey(id)
		}
		if err := releaseScript.Run(ctx, l.c, keys, token).Err(); err != nil {
			return fmt.Errorf("redis: %s: release claims: %w", l.key, err)
		}
	}
	return nil
}

type redisDeadLetters struct {
	c          *goredis.Client
	key        string
	next, last string // next: the XRANGE start ("-", or "(" + an ID)
	page       []goredis.XMessage
	done       bool
	// budget bounds what a page and a batch weigh (dlbudget.Bytes unless
	// a test sets less); largest is the largest entry read so far
	// (entrySize); peakPage is what the heaviest page of more than one
	// entry weighed (tests).
	budget, largest, peakPage int
}

// entrySize is what entry m weighs: its fields' names and values (the
// payload, the key, the headers), as Redis sent them.
func entrySize(m goredis.XMessage) int {
	n := 0
	for f, v := range m.Values {
		n += len(f) + len(fieldString(v))
	}
	return max(1, n)
}

// fill reads the next page of entries, unless the last was read: as many
// as dlbudget.Count allows (the first alone).
func (r *redisDeadLetters) fill(ctx context.Context) error {
	if r.done {
		return nil
	}
	n := dlbudget.Count(r.budget, r.largest, dlPage)
	ms, err := r.c.XRangeN(ctx, r.key, r.next, r.last, int64(n)).Result()
	if err != nil {
		return fmt.Errorf("redis: read %s: %w", r.key, err)
	}
	if len(ms) < n {
		r.done = true
	}
	if len(ms) > 0 {
		r.next = "(" + ms[len(ms)-1].ID
	}
	weight := 0
	for _, m := range ms {
		s := entrySize(m)
		weight += s
		r.largest = max(r.largest, s)
	}
	if len(ms) > 1 {
		r.peakPage = max(r.peakPage, weight)
	}
	r.page = ms
	return nil
}

// entry is the next entry, reading a page where it needs one; false after
// the last.
func (r *redisDeadLetters) entry(ctx context.Context) (goredis.XMessage, bool, error) {
	for len(r.page) == 0 {
		if r.done {
			return goredis.XMessage{}, false, nil
		}
		if err := r.fill(ctx); err != nil {
			return goredis.XMessage{}, false, err
		}
	}
	return r.page[0], true, nil
}

func (r *redisDeadLetters) Next(ctx context.Context) (stream.DeadLetter, error) {
	m, ok, err := r.entry(ctx)
	if err != nil {
		return stream.DeadLetter{}, err
	}
	if !ok {
		return stream.DeadLetter{}, io.EOF
	}
	r.page = r.page[1:]
	return deadLetter(m), nil
}

// deadLetter is entry m as a dead letter.
func deadLetter(m goredis.XMessage) stream.DeadLetter {
	env := decode(m.Values)
	// A dead letter written before x-original-deliveries carried the count
	// as x-redis-deliveries: shown as the former, so that a replay does
	// not copy it into the entry.
	if n, ok := env.Headers[HeaderDeliveries]; ok {
		delete(env.Headers, HeaderDeliveries)
		if _, set := env.Headers[HeaderOriginalDeliveries]; !set {
			env.Headers[HeaderOriginalDeliveries] = n
		}
	}
	return stream.DeadLetter{ID: m.ID, Envelope: env, Time: idTime(m.ID)}
}

var _ stream.DeadLetterBatcher = (*redisDeadLetters)(nil)

// NextBatch returns up to n of the entries Next returns, reading a page
// (XRANGE) where it needs one, and no more than weigh the cursor's budget
// (entrySize), but at least one: an entry that would make the batch
// heavier stays for the next call, as does a read that fails after the
// first entry (the next call meets it again).
func (r *redisDeadLetters) NextBatch(ctx context.Context, n int) ([]stream.DeadLetter, error) {
	var ds []stream.DeadLetter
	weight := 0
	for len(ds) < max(n, 1) {
		m, ok, err := r.entry(ctx)
		if err != nil || !ok {
			if len(ds) > 0 {
				break
			}
			if err != nil {
				return nil, err
			}
			return nil, io.EOF
		}
		s := entrySize(m)
		if len(ds) > 0 && weight+s > r.budget {
			break
		}
		r.page = r.page[1:]
		weight += s
		ds = append(ds, deadLetter(m))
	}
	return ds, nil
}

// RemoveBatch deletes ds with one XDEL per leaseBatch of them.
func (r *redisDeadLetters) RemoveBatch(ctx context.Context, ds []stream.DeadLetter) []error {
	var errs []error
	for i := 0; i < len(ds); i += leaseBatch {
		batch := ds[i:min(len(ds), i+leaseBatch)]
		ids := make([]string, len(batch))
		for k, d := range batch {
			ids[k] = d.ID
		}
		if err := r.c.XDel(ctx, r.key, ids...).Err(); err != nil {
			if errs == nil {
				errs = make([]error, len(ds))
			}
			for k := range batch {
				errs[i+k] = fmt.Errorf("redis: remove dead letter %s from %s: %w", batch[k].ID, r.key, err)
			}
		}
	}
	return errs
}

func (r *redisDeadLetters) Remove(ctx context.Context, d stream.DeadLetter) error {
	if err := r.c.XDel(ctx, r.key, d.ID).Err(); err != nil {
		return fmt.Errorf("redis: remove dead letter %s from %s: %w", d.ID, r.key, err)
	}
	return nil
}

// Release, Hold and HeldElsewhere: a plain cursor claims nothing (a
// claiming one is dlclaim's, over this one).
func (r *redisDeadLetters) Release(context.Context, stream.DeadLetter) error { return nil }
func (r *redisDeadLetters) Hold(context.Context, stream.DeadLetter) error    { return nil }
func (r *redisDeadLetters) HeldElsewhere() int                               { return 0 }

func (r *redisDeadLetters) Close(context.Context) error { return nil }
