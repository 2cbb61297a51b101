package idempotency

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/streambind/streambind/stream"
)

// claim is the answer of a leaseStore to a delivery that wants a key.
type claim int

const (
	claimed claim = iota // the key is this delivery's until its lease ends
	done                 // the key was processed: a duplicate
	busy                 // another delivery holds the key's lease
)

// leaseStore is a store whose mark is written after the handler: the
// redis and memory stores. A key is absent, leased (a token: a delivery
// runs its handler) or done (processed).
type leaseStore interface {
	// acquire leases key to token for lease unless it is leased or done.
	acquire(ctx context.Context, key, token string, lease time.Duration) (claim, error)
	// renew extends token's lease; false when token no longer holds it.
	renew(ctx context.Context, key, token string, lease time.Duration) (bool, error)
	// markDone marks key processed for retention, whoever holds it.
	markDone(ctx context.Context, key string, retention time.Duration) error
	// release drops token's lease (the handler failed).
	release(ctx context.Context, key, token string) error
}

// doneValue is the value of a processed key; leases are "lease:<hex>".
const doneValue = "done"

func newToken() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return "lease:" + hex.EncodeToString(b[:])
}

// leaseWrap is the idempotent consumer of one binding on a lease store:
//  1. acquire the key's lease; a done key is a duplicate (acknowledged
//     without running the handler); a leased key is being handled by
//     another delivery: wait (polling, bounded by ctx) until it is done
//     (skip) or free again (its handler failed, or its holder died and
//     the lease ran out);
//  2. run the handler, renewing the lease every lease/3;
//  3. on success mark the key done with the retention as TTL; on failure
//     release the lease, so that the retry or redelivery runs.
//
// A store that cannot be reached in step 1 leaves the message for
// redelivery (state.storeDown): the message is not at fault.
func leaseWrap(c *Consumer, s leaseStore, state *storeState, binding, prefix string, key *stream.IdempotencyKey, retention, lease time.Duration, next stream.Handler) stream.Handler {
	return func(ctx context.Context, env stream.Envelope) error {
		mk, err := key.Of(env)
		if errors.Is(err, stream.ErrNoIdempotencyKey) {
			// Nothing to deduplicate by: handled as without idempotency.
			c.unkeyed(ctx, binding, err)
			return callNext(ctx, env, next)
		}
		if err != nil {
			return err
		}
		// k: the key as stored (binary and long keys hashed) and logged.
		k := storedKey(mk)
		sk := prefix + binding + ":" + k
		token := newToken()
		wait := 10 * time.Millisecond
		for {
			cl, err := s.acquire(ctx, sk, token, lease)
			if err != nil {
				return state.storeDown(ctx, binding, fmt.Sprintf("acquire %q", k), err)
			}
			state.ok()
			if cl == done {
				c.duplicate(ctx, binding, k)
				return nil
			}
			if cl == claimed {
				break
			}
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return fmt.Errorf("%w: idempotency: %s: key %q is being handled by another delivery: %w", stream.ErrNak, binding, k, ctx.Err())
			case <-t.C:
			}
			wait = min(2*wait, lease/4, time.Second)
		}
		stopRenew := renewLease(ctx, c, s, binding, k, sk, token, lease)
		err = callNext(ctx, env, next)
		stopRenew()
		// The mark must be written even when ctx ended with the handler's
		// success, and the lease released after a failure.
		bg, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if err != nil {
			if rerr := s.release(bg, sk, token); rerr != nil {
				c.log.Warn("idempotency: lease not released; a retry waits until it runs out", "binding", binding, "idempotency_key", k, "error", redacted(rerr))
			}
			return err
		}
		if merr := s.markDone(bg, sk, retention); merr != nil {
			// The handler ran: running it again now would be the
			// duplicate this is meant to prevent. The message is
			// acknowledged; a later duplicate runs once the lease ran out.
			c.markFailed(binding)
			c.log.Warn("idempotency: handler succeeded but its mark was not stored; a duplicate arriving after the lease may run again", "binding", binding, "idempotency_key", k, "error", redacted(merr))
			return nil
		}
		c.processed(binding)
		return nil
	}
}

// renewLease renews token's lease on key every lease/3 until the returned
// function is called (which waits for a renewal in progress). A timer
// rather than a goroutine per message: most handlers end long before the
// first renewal.
func renewLease(ctx context.Context, c *Consumer, s leaseStore, binding, k, key, token string, lease time.Duration) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	var (
		mu      sync.Mutex
		stopped bool
		t       *time.Timer
		running sync.WaitGroup
	)
	tick := func() {
		defer running.Done()
		ok, err := s.renew(ctx, key, token, lease)
		if err == nil && !ok {
			c.log.Warn("idempotency: lease lost while the handler runs (a duplicate may run at the same time)", "binding", binding, "idempotency_key", k)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if !stopped {
			running.Add(1)
			t.Reset(lease / 3)
		}
	}
	mu.Lock()
	running.Add(1)
	t = time.AfterFunc(lease/3, tick)
	mu.Unlock()
	return func() {
		mu.Lock()
		stopped = true
		if t.Stop() {
			running.Done() // the pending tick will not run
		}
		mu.Unlock()
		cancel()
		running.Wait()
	}
}

// Redis store. Scripts keep each step one atomic round trip.
var (
	redisAcquire = goredis.NewScript(`
local v = redis.call('GET', KEYS[1])
if not v then
	redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
	return 0
end
if v == 'done' then return 1 end
return 2`)
	redisRenew = goredis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
	return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0`)
	redisRelease = goredis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
	return redis.call('DEL', KEYS[1])
end
return 0`)
)

type redisStore struct {
	c   goredis.UniversalClient
	own bool
}

func (r *redisStore) acquire(ctx context.Context, key, token string, lease time.Duration) (claim, error) {
	n, err := redisAcquire.Run(ctx, r.c, []string{key}, token, lease.Milliseconds()).Int()
	if err != nil {
		return 0, err
	}
	return claim(n), nil
}

func (r *redisStore) renew(ctx context.Context, key, token string, lease time.Duration) (bool, error) {
	n, err := redisRenew.Run(ctx, r.c, []string{key}, token, lease.Milliseconds()).Int()
	return n == 1, err
}

func (r *redisStore) markDone(ctx context.Context, key string, retention time.Duration) error {
	return r.c.Set(ctx, key, doneValue, retention).Err()
}

func (r *redisStore) release(ctx context.Context, key, token string) error {
	return redisRelease.Run(ctx, r.c, []string{key}, token).Err()
}

// MemoryStore is the in-process store: marks of this process only, lost
// when it ends. For tests and single-instance tools; share one between
// apps of a test through [Options.Memory]. It is safe for concurrent use.
type MemoryStore struct {
	mu    sync.Mutex
	m     map[string]memEntry
	ops   int
	clock func() time.Time
}

type memEntry struct {
	val string
	exp time.Time
}

// NewMemoryStore returns an empty in-process store.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{m: map[string]memEntry{}, clock: time.Now}
}

// Len is the number of keys held (leased or done, not expired).
func (s *MemoryStore) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweep(s.clock())
	return len(s.m)
}

// sweep drops expired entries; s.mu is held.
func (s *MemoryStore) sweep(now time.Time) {
	for k, e := range s.m {
		if !now.Before(e.exp) {
			delete(s.m, k)
		}
	}
}

// get returns the live entry of key; s.mu is held.
func (s *MemoryStore) get(key string, now time.Time) (memEntry, bool) {
	e, ok := s.m[key]
	if ok && !now.Before(e.exp) {
		delete(s.m, key)
		return memEntry{}, false
	}
	return e, ok
}

func (s *MemoryStore) acquire(_ context.Context, key, token string, lease time.Duration) (claim, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock()
	// Expired marks go with an occasional full sweep, so that the map
	// holds about what the retention keeps.
	if s.ops++; s.ops%4096 == 0 {
		s.sweep(now)
	}
	e, ok := s.get(key, now)
	switch {
	case !ok:
		// A copy: a key taken from a message (its id, say) may share
		// memory with other messages' ids (binder/internal/msgid's
		// blocks), which a kept substring would keep alive.
		s.m[strings.Clone(key)] = memEntry{val: token, exp: now.Add(lease)}
		return claimed, nil
	case e.val == doneValue:
		return done, nil
	default:
		return busy, nil
	}
}

func (s *MemoryStore) renew(_ context.Context, key, token string, lease time.Duration) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock()
	if e, ok := s.get(key, now); ok && e.val == token {
		s.m[strings.Clone(key)] = memEntry{val: token, exp: now.Add(lease)} // a copy: see acquire (assigning replaces the stored key)
		return true, nil
	}
	return false, nil
}

func (s *MemoryStore) markDone(_ context.Context, key string, retention time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[strings.Clone(key)] = memEntry{val: doneValue, exp: s.clock().Add(retention)} // a copy: see acquire
	return nil
}

func (s *MemoryStore) release(_ context.Context, key, token string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.get(key, s.clock()); ok && e.val == token {
		delete(s.m, key)
	}
	return nil
}
