// Package dlclaim makes a plain dead-letter cursor a claiming one
// ([stream.DeadLetterOpen.Claim]) over a broker's lease per dead letter
// (Redis: a key set with NX and PX; NATS: a key-value entry of a bucket
// whose max age is the lease). The binder supplies the leases; this
// package holds, renews, waits for and gives back.
package dlclaim

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/streambind/streambind/stream"
)

// Result is what a claim found.
type Result int

const (
	// Claimed: the lease is the cursor's now.
	Claimed Result = iota
	// Held: another cursor holds the dead letter.
	Held
	// Gone: the dead letter was removed (by the cursor that held it).
	Gone
)

// Leases are a broker's leases on the dead letters of one cursor, each
// taken by a token (the cursor's).
type Leases interface {
	// Claim takes the lease of d for token, for ttl, if no one holds it
	// and d is still there. It must see a removal made before the
	// holder's release (a claim that succeeds checks that d is there
	// after taking the lease, or both at once).
	Claim(ctx context.Context, d stream.DeadLetter, token string, ttl time.Duration) (Result, error)
	// Renew makes the leases token holds on ids last ttl from now. It
	// returns the ids whose lease token no longer holds.
	Renew(ctx context.Context, ids []string, token string, ttl time.Duration) (lost []string, err error)
	// Release gives up token's leases on ids (not one another holds now).
	Release(ctx context.Context, ids []string, token string) error
}

// BatchLeases is implemented by Leases that take several claims per
// round trip (a script of many, requests in parallel).
type BatchLeases interface {
	// ClaimBatch is Claim of each of ds, one Result each. On an error it
	// holds none of them (it gives back those it took, or they run out).
	ClaimBatch(ctx context.Context, ds []stream.DeadLetter, token string, ttl time.Duration) ([]Result, error)
}

// Parallel calls f(0) to f(n-1), at most limit at once (limit < 1: all
// at once), and returns once all returned: for binders whose requests
// are round trips that a connection pipelines (NATS).
func Parallel(n, limit int, f func(i int)) {
	if n == 1 {
		f(0)
		return
	}
	if limit < 1 || limit > n {
		limit = n
	}
	var wg sync.WaitGroup
	next := make(chan int)
	for range limit {
		wg.Go(func() {
			for i := range next {
				f(i)
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
}

// Cursor is a claiming cursor over a plain one.
type Cursor struct {
	cur   stream.DeadLetters
	l     Leases
	token string
	ttl   time.Duration
	want  func(stream.DeadLetter) bool
	log   *slog.Logger
	where string

	mu   sync.Mutex
	held map[string]bool

	eof      bool
	others   []stream.DeadLetter // held by another cursor when read
	deadline time.Time           // of the wait for others
	left     int                 // others still held at the deadline

	stop    chan struct{}
	stopped chan struct{}
	once    sync.Once
}

// New returns a claiming cursor over cur, whose dead letters are in
// where (for log lines). Its leases last ttl and are renewed every ttl/3
// until Close, or until ctx (the one OpenDeadLetters got) ends: a cursor
// whose ctx ended is taken as dead, and its leases run out.
//
// want is [stream.DeadLetterOpen.Want]: a dead letter it rejects is
// returned unclaimed (nil: every one is claimed).
func New(ctx context.Context, cur stream.DeadLetters, l Leases, ttl time.Duration, want func(stream.DeadLetter) bool, log *slog.Logger, where string) *Cursor {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &Cursor{cur: cur, l: l, token: Token(), ttl: ttl, want: want, log: log, where: where, held: map[string]bool{},
		stop: make(chan struct{}), stopped: make(chan struct{})}
	go c.renew(ctx)
	return c
}

// Token is a random lease owner.
func Token() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return hex.EncodeToString(b)
}

func (c *Cursor) renew(ctx context.Context) {
	defer close(c.stopped)
	t := time.NewTicker(c.ttl / 3)
	defer t.Stop()
	warned := false
	for {
		select {
		case <-c.stop:
			return
		case <-ctx.Done():
			return
		case <-t.C:
		}
		c.mu.Lock()
		ids := make([]string, 0, len(c.held))
		for id := range c.held {
			ids = append(ids, id)
		}
		c.mu.Unlock()
		if len(ids) == 0 {
			continue
		}
		rctx, cancel := context.WithTimeout(ctx, c.ttl/3)
		lost, err := c.l.Renew(rctx, ids, c.token, c.ttl)
		cancel()
		if err != nil && !warned {
			// The next tick tries again; the lease outlasts two misses.
			warned = true
			c.log.Warn("dead letters: renewing this cursor's claims failed", "where", c.where, "claims", len(ids), "error", err)
		}
		// Only what the cursor still holds was lost: a dead letter removed
		// or given back while the renewal was on its way has no lease
		// because the cursor released it.
		c.mu.Lock()
		n := 0
		for _, id := range lost {
			if c.held[id] {
				delete(c.held, id)
				n++
			}
		}
		c.mu.Unlock()
		if n > 0 {
			c.log.Warn("dead letters: claims ran out before they were renewed (the broker was out of reach for longer than the lease); another replay or purge may take them too",
				"where", c.where, "lost", n, "lease", c.ttl)
		}
	}
}

// poll is how often the cursor looks again at a dead letter another holds.
func (c *Cursor) poll() time.Duration {
	return min(max(c.ttl/20, 50*time.Millisecond), time.Second)
}

// Next returns the next dead letter of the plain cursor that this cursor
// claims. One held by another cursor is looked at again after the last:
// it is returned once its holder gives it back (or dies and its lease
// runs out), and skipped once its holder removes it. The wait ends one
// lease and a renewal period after it began, enough for a dead holder's
// lease to run out; what is still held then is left to its holders.
func (c *Cursor) Next(ctx context.Context) (stream.DeadLetter, error) {
	for !c.eof {
		d, err := c.cur.Next(ctx)
		if err == io.EOF {
			c.eof = true
			break
		}
		if err != nil {
			return stream.DeadLetter{}, err
		}
		if c.want != nil && !c.want(d) {
			return d, nil // unclaimed: the caller passes over it
		}
		r, err := c.claim(ctx, d)
		if err != nil {
			return stream.DeadLetter{}, err
		}
		switch r {
		case Claimed:
			return d, nil
		case Held:
			c.others = append(c.others, d)
		}
	}
	ds, err := c.othersBatch(ctx, 1)
	if err != nil {
		return stream.DeadLetter{}, err
	}
	return ds[0], nil
}

var _ stream.DeadLetterBatcher = (*Cursor)(nil)

// NextBatch is [stream.DeadLetterBatcher.NextBatch]: it reads up to max
// dead letters of the plain cursor at once (by its NextBatch where it has
// one) and claims those it wants at once (by the leases' ClaimBatch where
// they have one). Those another cursor holds are looked at again after
// the last, as by Next.
func (c *Cursor) NextBatch(ctx context.Context, n int) ([]stream.DeadLetter, error) {
	n = cmp.Or(max(n, 0), 1)
	for !c.eof {
		ds, err := c.read(ctx, n)
		if err != nil {
			return nil, err
		}
		var want []int // indexes of ds to claim
		for i, d := range ds {
			if c.want == nil || c.want(d) {
				want = append(want, i)
			}
		}
		rs, err := c.claimBatch(ctx, ds, want)
		if err != nil {
			return nil, err
		}
		out := ds[:0:0]
		k := 0
		for i, d := range ds {
			if k < len(want) && want[k] == i {
				r := rs[k]
				k++
				switch r {
				case Held:
					c.others = append(c.others, d)
					continue
				case Gone:
					continue
				}
			}
			out = append(out, d)
		}
		if len(out) > 0 {
			return out, nil
		}
	}
	return c.othersBatch(ctx, n)
}

// othersBatch is the wait of Next (n 1) and NextBatch for the dead
// letters others held, n at a time: each look claims up to n of them at
// once, in their order, and drops those their holders removed; io.EOF
// once none is left, or at the deadline.
func (c *Cursor) othersBatch(ctx context.Context, n int) ([]stream.DeadLetter, error) {
	for len(c.others) > 0 {
		if c.deadline.IsZero() {
			c.deadline = time.Now().Add(c.ttl + c.ttl/3)
		}
		var left []stream.DeadLetter
		for i := 0; i < len(c.others); i += n {
			batch := c.others[i:min(len(c.others), i+n)]
			want := make([]int, len(batch))
			for k := range want {
				want[k] = k
			}
			rs, err := c.claimBatch(ctx, batch, want)
			if err != nil {
				return nil, err
			}
			var out []stream.DeadLetter
			for k, r := range rs {
				switch r {
				case Claimed:
					out = append(out, batch[k])
				case Held:
					left = append(left, batch[k])
				}
			}
			if len(out) > 0 {
				c.others = append(left, c.others[i+len(batch):]...)
				return out, nil
			}
		}
		c.others = left
		if len(c.others) == 0 {
			break
		}
		if time.Now().After(c.deadline) {
			c.log.Warn("dead letters: left to the replay or purge that holds them", "where", c.where, "held_elsewhere", len(c.others))
			c.left = len(c.others)
			c.others = nil
			break
		}
		t := time.NewTimer(c.poll())
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		}
	}
	return nil, io.EOF
}

// read reads up to n dead letters of the plain cursor; none, with c.eof
// set, after its last.
func (c *Cursor) read(ctx context.Context, n int) ([]stream.DeadLetter, error) {
	if b, ok := c.cur.(stream.DeadLetterBatcher); ok {
		ds, err := b.NextBatch(ctx, n)
		if err == io.EOF {
			c.eof = true
			return nil, nil
		}
		return ds, err
	}
	var ds []stream.DeadLetter
	for len(ds) < n {
		d, err := c.cur.Next(ctx)
		if err == io.EOF {
			c.eof = true
			break
		}
		if err != nil {
			return nil, err
		}
		ds = append(ds, d)
	}
	return ds, nil
}

// claimBatch claims ds[i] of each i of want, one Result each.
func (c *Cursor) claimBatch(ctx context.Context, ds []stream.DeadLetter, want []int) ([]Result, error) {
	if len(want) == 0 {
		return nil, nil
	}
	bl, ok := c.l.(BatchLeases)
	if !ok || len(want) == 1 {
		rs := make([]Result, len(want))
		for k, i := range want {
			r, err := c.claim(ctx, ds[i])
			if err != nil {
				// Those claimed before it are held: Close gives them back.
				return nil, err
			}
			rs[k] = r
		}
		return rs, nil
	}
	claim := make([]stream.DeadLetter, len(want))
	for k, i := range want {
		claim[k] = ds[i]
	}
	rs, err := bl.ClaimBatch(ctx, claim, c.token, c.ttl)
	if err != nil {
		return nil, fmt.Errorf("claim %d dead letters of %s from %s on: %w", len(claim), c.where, claim[0].ID, err)
	}
	c.mu.Lock()
	for k, r := range rs {
		if r == Claimed {
			c.held[claim[k].ID] = true
		}
	}
	c.mu.Unlock()
	return rs, nil
}

// RemoveBatch is [stream.DeadLetterBatcher.RemoveBatch]: it removes ds
// (by the plain cursor's RemoveBatch where it has one), then gives up the
// leases of those removed in one go (a lease left behind runs out).
func (c *Cursor) RemoveBatch(ctx context.Context, ds []stream.DeadLetter) []error {
	if len(ds) == 0 {
		return nil
	}
	var errs []error
	if b, ok := c.cur.(stream.DeadLetterBatcher); ok {
		errs = b.RemoveBatch(ctx, ds)
	} else {
		for i, d := range ds {
			if err := c.cur.Remove(ctx, d); err != nil {
				if errs == nil {
					errs = make([]error, len(ds))
				}
				errs[i] = err
			}
		}
	}
	ids := make([]string, 0, len(ds))
	c.mu.Lock()
	for i, d := range ds {
		if errs == nil || errs[i] == nil {
			delete(c.held, d.ID)
			ids = append(ids, d.ID)
		}
	}
	c.mu.Unlock()
	if len(ids) > 0 {
		rctx, cancel := releaseCtx(ctx)
		defer cancel()
		if err := c.l.Release(rctx, ids, c.token); err != nil {
			c.log.Debug("dead letters: releasing removed dead letters' claims failed; they run out", "where", c.where, "claims", len(ids), "error", err)
		}
	}
	return errs
}

// releaseTimeout bounds the release of a removed dead letter's claim.
const releaseTimeout = 5 * time.Second

// releaseCtx is the context of the release of the claims of dead letters
// just removed: ctx's values without its end, for at most releaseTimeout.
// An interrupt (ctx ended) that came while the removal was on its way
// would otherwise fail the release, and, the dead letter no longer held,
// Close would not give it back: the claim stayed until its lease ran out,
// holding up the next replay or purge of the binding for that long.
func releaseCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), releaseTimeout)
}

func (c *Cursor) claim(ctx context.Context, d stream.DeadLetter) (Result, error) {
	r, err := c.l.Claim(ctx, d, c.token, c.ttl)
	if err != nil {
		return 0, fmt.Errorf("claim dead letter %s of %s: %w", d.ID, c.where, err)
	}
	if r == Claimed {
		c.mu.Lock()
		c.held[d.ID] = true
		c.mu.Unlock()
	}
	return r, nil
}

// Remove removes d, then gives up its lease (a lease left behind runs out:
// only a release that fails is not an error).
func (c *Cursor) Remove(ctx context.Context, d stream.DeadLetter) error {
	if err := c.cur.Remove(ctx, d); err != nil {
		return err
	}
	c.mu.Lock()
	delete(c.held, d.ID)
	c.mu.Unlock()
	rctx, cancel := releaseCtx(ctx)
	defer cancel()
	if err := c.l.Release(rctx, []string{d.ID}, c.token); err != nil {
		c.log.Debug("dead letters: releasing a removed dead letter's claim failed; it runs out", "where", c.where, "id", d.ID, "error", err)
	}
	return nil
}

// Release gives up the claim on d, which the caller passes over, at once
// (the plain cursor has nothing to give back). A release that fails is an
// error; the lease runs out anyway.
func (c *Cursor) Release(ctx context.Context, d stream.DeadLetter) error {
	c.mu.Lock()
	had := c.held[d.ID]
	delete(c.held, d.ID)
	c.mu.Unlock()
	if !had {
		return nil
	}
	if err := c.l.Release(ctx, []string{d.ID}, c.token); err != nil {
		return fmt.Errorf("give back dead letter %s of %s (its claim runs out within %s): %w", d.ID, c.where, c.ttl, err)
	}
	return nil
}

// Hold renews the lease of d now and fails with [stream.ErrClaimLost]
// when the cursor no longer holds it (it ran out: the renewals did not
// reach the broker for a lease).
func (c *Cursor) Hold(ctx context.Context, d stream.DeadLetter) error {
	c.mu.Lock()
	had := c.held[d.ID]
	c.mu.Unlock()
	if !had {
		return fmt.Errorf("dead letter %s of %s: %w", d.ID, c.where, stream.ErrClaimLost)
	}
	lost, err := c.l.Renew(ctx, []string{d.ID}, c.token, c.ttl)
	if err != nil {
		return fmt.Errorf("confirm the claim on dead letter %s of %s: %w", d.ID, c.where, err)
	}
	if len(lost) > 0 {
		c.mu.Lock()
		delete(c.held, d.ID)
		c.mu.Unlock()
		return fmt.Errorf("dead letter %s of %s: its lease of %s ran out: %w", d.ID, c.where, c.ttl, stream.ErrClaimLost)
	}
	return nil
}

// HeldElsewhere is how many dead letters Next left to the cursors that
// held them.
func (c *Cursor) HeldElsewhere() int { return c.left }

// Close stops renewing, gives back the dead letters the cursor holds and
// closes the plain cursor.
func (c *Cursor) Close(ctx context.Context) error {
	c.once.Do(func() { close(c.stop) })
	<-c.stopped
	c.mu.Lock()
	ids := make([]string, 0, len(c.held))
	for id := range c.held {
		ids = append(ids, id)
	}
	c.held = map[string]bool{}
	c.mu.Unlock()
	var err error
	if len(ids) > 0 {
		if err = c.l.Release(ctx, ids, c.token); err != nil {
			err = fmt.Errorf("give back %d claimed dead letters of %s (their claims run out within %s): %w", len(ids), c.where, c.ttl, err)
		}
	}
	if cerr := c.cur.Close(ctx); cerr != nil && err == nil {
		err = cerr
	}
	return err
}
