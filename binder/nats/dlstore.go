package nats

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/streambind/streambind/binder/internal/dlclaim"
	"github.com/streambind/streambind/stream"
)

// OpenDeadLetters implements [stream.DeadLetterStore] over the dead-letter
// subject of spec (dlq-name, default error.<destination>.<group>) in the
// stream that captures it. The cursor gets the messages of that subject
// one by one (NextBatch: many, by requests in parallel), from the
// stream's first sequence to its last at open (reading changes nothing:
// no consumer is made); Remove deletes one from the stream (RemoveBatch:
// many, in parallel). A dead letter's ID is its stream sequence, its Time the
// time the stream stored it.
//
// A claiming cursor (o.Claim) claims each message with an entry of the
// key-value bucket of binder setting dlq-claim-bucket (default
// [ClaimBucket]; created on first use; with a lease other than
// [stream.DefaultDeadLetterLease], a bucket of that lease, named with its
// milliseconds after a dash): key <stream>.<sequence>, created only if absent
// (JetStream's compare-and-set), then the message checked to be still
// there; the entry is rewritten while the cursor holds the message and
// deleted when it removed it or gives it back. The bucket's max age is
// the lease, so the entries of a cursor that died expire: the bucket
// holds only live claims. A batch (NextBatch) is claimed in parallel.
// (Not a pull consumer with the lease as its ack
// wait: a shared consumer redelivers what a replay skips by its filters
// to the other replays, round and round, and every cursor would have to
// agree on one ack wait; per-message TTLs need NATS 2.11.)
func (bd *Binder) OpenDeadLetters(ctx context.Context, spec stream.ConsumerSpec, o stream.DeadLetterOpen) (stream.DeadLetters, error) {
	cs, err := parseConsumer(spec.Binding, spec.Extension)
	if err != nil {
		return nil, err
	}
	subject := stream.ErrorDestinationSource(spec, cs.dlqName).Destination
	c, err := bd.connect(ctx)
	if err != nil {
		return nil, err
	}
	s, err := c.js.Stream(ctx, StreamName(subject))
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		name, nerr := c.js.StreamNameBySubject(ctx, subject)
		if nerr != nil || name == "" {
			return nil, fmt.Errorf("nats: no stream captures %s: %w", subject, stream.ErrNoDeadLetters)
		}
		s, err = c.js.Stream(ctx, name)
	}
	if err != nil {
		return nil, bd.apiErr(err, "stream of %s", subject)
	}
	info, err := s.Info(ctx)
	if err != nil {
		return nil, bd.apiErr(err, "stream of %s", subject)
	}
	cur := &natsDeadLetters{s: s, subject: subject, next: info.State.FirstSeq, last: info.State.LastSeq, probe: dlProbe}
	if !o.Claim {
		return cur, nil
	}
	lease := o.LeaseOf()
	kv, err := claimBucket(ctx, c.js, bd.st.claimBucket, lease)
	if err != nil {
		return nil, bd.apiErr(err, "claim bucket of %s", subject)
	}
	l := &natsLeases{kv: kv, s: s, prefix: claimKeyPart(info.Config.Name) + ".", revs: map[string]uint64{}}
	return dlclaim.New(ctx, cur, l, lease, o.Want, bd.log, subject), nil
}

// ClaimBucket is the key-value bucket that holds the claims of claiming
// dead-letter cursors ([stream.DeadLetterOpen.Claim]) of the default
// lease when binder setting dlq-claim-bucket is not set.
const ClaimBucket = DefaultDLQClaimBucket

// ClaimBucketOf returns the name of the key-value bucket that holds the
// claims of lease for dlq-claim-bucket setting bucket: bucket itself for
// [stream.DefaultDeadLetterLease], else bucket-<ms>ms (each bucket's max
// age is its lease).
func ClaimBucketOf(bucket string, lease time.Duration) string {
	if lease == stream.DefaultDeadLetterLease {
		return bucket
	}
	return bucket + "-" + strconv.FormatInt(lease.Milliseconds(), 10) + "ms"
}

// claimBucket returns the claim bucket of lease (see ClaimBucketOf),
// creating it if need be.
func claimBucket(ctx context.Context, js jetstream.JetStream, bucket string, lease time.Duration) (jetstream.KeyValue, error) {
	name := ClaimBucketOf(bucket, lease)
	kv, err := js.KeyValue(ctx, name)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		kv, err = js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: name, History: 1, TTL: lease,
			Description: "streambind dlq: claims of dead letters by replay and purge; each expires after the lease"})
		if errors.Is(err, jetstream.ErrBucketExists) || errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			kv, err = js.KeyValue(ctx, name) // made meanwhile by another cursor
		}
	}
	if err != nil {
		return nil, fmt.Errorf("key-value bucket %s: %w", name, err)
	}
	return kv, nil
}

// ClaimKeys is the filter of the keys of a claim bucket ([ClaimBucket],
// or [ClaimBucketOf] the binder's dlq-claim-bucket) that hold claims on
// the dead letters of stream (its name, [StreamName]): for tools that list
// or count them (kv.ListKeysFiltered).
func ClaimKeys(stream string) string { return claimKeyPart(stream) + ".>" }

// claimKeyPart is s as a key-value key token: characters keys do not
// allow as =XX.
func claimKeyPart(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if ch == '-' || ch == '_' || ch == '/' || ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' {
			b.WriteByte(ch)
			continue
		}
		fmt.Fprintf(&b, "=%02X", ch)
	}
	return b.String()
}

// natsLeases are claims in a key-value bucket; revs are the revisions of
// the entries this cursor wrote, so that it rewrites or deletes only its
// own.
type natsLeases struct {
	kv     jetstream.KeyValue
	s      jetstream.Stream
	prefix string

	mu   sync.Mutex
	revs map[string]uint64
}

func (l *natsLeases) Claim(ctx context.Context, d stream.DeadLetter, token string, ttl time.Duration) (dlclaim.Result, error) {
	// One of a batch: a create whose reply was lost (ctx ended on its
	// way) is given back as ClaimBatch gives it back.
	rs, err := l.ClaimBatch(ctx, []stream.DeadLetter{d}, token, ttl)
	if err != nil {
		return 0, err
	}
	return rs[0], nil
}

// ClaimBatch claims ds in parallel: a create and a read of each, so two
// round trips for the lot.
func (l *natsLeases) ClaimBatch(ctx context.Context, ds []stream.DeadLetter, token string, _ time.Duration) ([]dlclaim.Result, error) {
	rs := make([]dlclaim.Result, len(ds))
	revs := make([]uint64, len(ds))
	errs := make([]error, len(ds))
	unsure := make([]bool, len(ds)) // the create failed, maybe after the server made it
	dlclaim.Parallel(len(ds), dlParallel, func(i int) {
		id := ds[i].ID
		rev, err := l.kv.Create(ctx, l.prefix+id, []byte(token))
		if errors.Is(err, jetstream.ErrKeyExists) {
			rs[i] = dlclaim.Held
			return
		}
		if err != nil {
			errs[i] = fmt.Errorf("nats: claim %s: %w", id, err)
			unsure[i] = true
			return
		}
		revs[i] = rev
		// Still there? Its holder removed it before it released it.
		seq, _ := strconv.ParseUint(id, 10, 64)
		if _, err := l.s.GetMsg(ctx, seq); errors.Is(err, jetstream.ErrMsgNotFound) {
			rs[i] = dlclaim.Gone
		} else if err != nil {
			errs[i] = fmt.Errorf("nats: claim: read %s: %w", id, err)
		}
	})
	err := errors.Join(errs...)
	// Given back at once: the claims of those gone, and on an error all.
	var back []int
	l.mu.Lock()
	for i, d := range ds {
		if unsure[i] {
			back = append(back, i)
			continue
		}
		if revs[i] == 0 {
			continue
		}
		if err != nil || rs[i] == dlclaim.Gone {
			back = append(back, i)
			continue
		}
		l.revs[d.ID] = revs[i]
	}
	l.mu.Unlock()
	if len(back) > 0 {
		// Even when ctx ended (an interrupted replay or purge): these
		// claims are not the cursor's, so its Close would not give them
		// back, and they would hold up the next replay or purge for a
		// lease. A create that failed (ctx ended while it was on its
		// way) may have made the entry: deleted if it holds the token.
		bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		dlclaim.Parallel(len(back), dlParallel, func(k int) {
			i := back[k]
			key, rev := l.prefix+ds[i].ID, revs[i]
			if unsure[i] {
				e, err := l.kv.Get(bctx, key)
				if err != nil || string(e.Value()) != token {
					return
				}
				rev = e.Revision()
			}
			_ = l.kv.Delete(bctx, key, jetstream.LastRevision(rev))
		})
	}
	if err != nil {
		return nil, err
	}
	return rs, nil
}

func (l *natsLeases) Renew(ctx context.Context, ids []string, token string, _ time.Duration) ([]string, error) {
	var lost []string
	for _, id := range ids {
		ok, err := l.renew(ctx, id, token)
		if err != nil {
			return lost, err
		}
		if !ok {
			lost = append(lost, id)
		}
	}
	return lost, nil
}

// renew rewrites id's entry (a new revision starts a new max age); false
// when it is no longer this cursor's. l.mu is held throughout, so that a
// release and a renewal of one claim do not cross.
func (l *natsLeases) renew(ctx context.Context, id, token string) (bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	rev, ok := l.revs[id]
	if !ok {
		return true, nil // released meanwhile
	}
	nrev, err := l.kv.Update(ctx, l.prefix+id, []byte(token), rev)
	if wrongRevision(err) {
		// An earlier renewal whose reply was lost (its context ended
		// on the way) may have been applied: the entry is still the
		// cursor's if it holds the token.
		if cur, ok := l.ours(ctx, l.prefix+id, token); ok {
			nrev, err = l.kv.Update(ctx, l.prefix+id, []byte(token), cur)
		}
	}
	if wrongRevision(err) {
		delete(l.revs, id) // expired, and maybe claimed by another
		return false, nil
	}
	if err != nil {
		return true, fmt.Errorf("nats: renew claim of %s: %w", id, err)
	}
	l.revs[id] = nrev
	return true, nil
}

func wrongRevision(err error) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence
}

// ours returns the revision of key's entry when it holds token. An
// update whose reply was lost (a renewal's context ended while it was on
// its way: an interrupted replay) may have been applied, leaving revs a
// revision behind; tokens are the cursors' own, so an entry holding this
// one is still this cursor's claim.
func (l *natsLeases) ours(ctx context.Context, key, token string) (uint64, bool) {
	e, err := l.kv.Get(ctx, key)
	if err != nil || string(e.Value()) != token {
		return 0, false
	}
	return e.Revision(), true
}

// Release deletes the entries of ids in parallel. Each is taken off revs
// under l.mu first, so that a renewal (which holds l.mu throughout) either
// rewrote it before (and the delete names its new revision) or finds it
// released.
func (l *natsLeases) Release(ctx context.Context, ids []string, token string) error {
	type entry struct {
		id  string
		rev uint64
	}
	var es []entry
	l.mu.Lock()
	for _, id := range ids {
		if rev, ok := l.revs[id]; ok {
			delete(l.revs, id)
			es = append(es, entry{id, rev})
		}
	}
	l.mu.Unlock()
	errs := make([]error, len(es))
	dlclaim.Parallel(len(es), dlParallel, func(i int) {
		key := l.prefix + es[i].id
		err := l.kv.Delete(ctx, key, jetstream.LastRevision(es[i].rev))
		if wrongRevision(err) {
			// Expired (no longer this cursor's), or renewed by an
			// update whose reply was lost: deleted if still ours.
			err = nil
			if cur, ok := l.ours(ctx, key, token); ok {
				err = l.kv.Delete(ctx, key, jetstream.LastRevision(cur))
				if wrongRevision(err) {
					err = nil // expired just now
				}
			}
		}
		if err != nil {
			errs[i] = fmt.Errorf("nats: release claim of %s: %w", es[i].id, err)
		}
	})
	return errors.Join(errs...)
}

type natsDeadLetters struct {
	s          jetstream.Stream
	subject    string
	next, last uint64
	// probe is how many sequences NextBatch reads at once, from
	// dlProbe: doubled while each is a dead letter, cut to twice those
	// found where removed ones (or other subjects) leave gaps.
	probe int
}

// dlProbe is a cursor's first probe (natsDeadLetters.probe); dlMaxProbe
// bounds it; dlParallel bounds the requests a batch has in flight at once.
const (
	dlProbe    = 16
	dlMaxProbe = 256
	dlParallel = 64
)

var _ stream.DeadLetterBatcher = (*natsDeadLetters)(nil)

// NextBatch reads up to n dead letters in parallel: one request per
// sequence from next on, each for the first message of the subject at or
// after it. Together they return every message of the subject in
// [next, next+k-1] and, where that range ends in a gap, the first after
// it: all of the subject's messages from next to the last one returned,
// none missed. JetStream 2.9 has no batch read but through a consumer,
// which a cursor does not make.
func (c *natsDeadLetters) NextBatch(ctx context.Context, n int) ([]stream.DeadLetter, error) {
	if c.last == 0 || c.next > c.last {
		return nil, io.EOF
	}
	k := min(n, c.probe, int(min(c.last-c.next+1, dlMaxProbe)))
	if k <= 1 {
		d, err := c.Next(ctx)
		if err != nil {
			return nil, err
		}
		return []stream.DeadLetter{d}, nil
	}
	msgs := make([]*jetstream.RawStreamMsg, k)
	errs := make([]error, k)
	from := c.next
	dlclaim.Parallel(k, dlParallel, func(i int) {
		msgs[i], errs[i] = c.s.GetMsg(ctx, from+uint64(i), jetstream.WithGetMsgSubject(c.subject))
	})
	// Only the answers before the first that failed cover a range.
	var got []*jetstream.RawStreamMsg
	end := false // no message of the subject at or after some sequence
	for i := range k {
		if errors.Is(errs[i], jetstream.ErrMsgNotFound) {
			end = true
			break
		}
		if errs[i] != nil {
			if i == 0 {
				return nil, fmt.Errorf("nats: read %s at %d: %w", c.subject, from, errs[i])
			}
			break
		}
		got = append(got, msgs[i])
	}
	slices.SortFunc(got, func(a, b *jetstream.RawStreamMsg) int { return cmp.Compare(a.Sequence, b.Sequence) })
	got = slices.CompactFunc(got, func(a, b *jetstream.RawStreamMsg) bool { return a.Sequence == b.Sequence })
	ds := make([]stream.DeadLetter, 0, len(got))
	for _, m := range got {
		if m.Sequence > c.last {
			end = true // arrived after the cursor was opened
			break
		}
		ds = append(ds, stream.DeadLetter{ID: strconv.FormatUint(m.Sequence, 10), Envelope: fromMsg(m.Header, m.Data), Time: m.Time})
	}
	switch {
	case end:
		c.next = c.last + 1
	case len(got) > 0:
		c.next = got[len(got)-1].Sequence + 1
	}
	if len(ds) == k {
		c.probe = min(2*k, dlMaxProbe)
	} else {
		c.probe = max(2*len(ds), 2)
	}
	if len(ds) == 0 {
		return nil, io.EOF
	}
	return ds, nil
}

// RemoveBatch deletes ds from the stream in parallel.
func (c *natsDeadLetters) RemoveBatch(ctx context.Context, ds []stream.DeadLetter) []error {
	errs := make([]error, len(ds))
	failed := false
	var mu sync.Mutex
	dlclaim.Parallel(len(ds), dlParallel, func(i int) {
		if err := c.Remove(ctx, ds[i]); err != nil {
			errs[i] = err
			mu.Lock()
			failed = true
			mu.Unlock()
		}
	})
	if !failed {
		return nil
	}
	return errs
}

func (c *natsDeadLetters) Next(ctx context.Context) (stream.DeadLetter, error) {
	if c.last == 0 || c.next > c.last {
		return stream.DeadLetter{}, io.EOF
	}
	// The first message of the subject at or after next.
	m, err := c.s.GetMsg(ctx, c.next, jetstream.WithGetMsgSubject(c.subject))
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		c.next = c.last + 1
		return stream.DeadLetter{}, io.EOF
	}
	if err != nil {
		return stream.DeadLetter{}, fmt.Errorf("nats: read %s at %d: %w", c.subject, c.next, err)
	}
	if m.Sequence > c.last {
		c.next = c.last + 1
		return stream.DeadLetter{}, io.EOF // arrived after the cursor was opened
	}
	c.next = m.Sequence + 1
	return stream.DeadLetter{ID: strconv.FormatUint(m.Sequence, 10), Envelope: fromMsg(m.Header, m.Data), Time: m.Time}, nil
}

func (c *natsDeadLetters) Remove(ctx context.Context, d stream.DeadLetter) error {
	seq, err := strconv.ParseUint(d.ID, 10, 64)
	if err != nil {
		return fmt.Errorf("nats: dead letter id %q: %w", d.ID, err)
	}
	if err := c.s.DeleteMsg(ctx, seq); err != nil && !errors.Is(err, jetstream.ErrMsgNotFound) {
		return fmt.Errorf("nats: remove dead letter %s from %s: %w", d.ID, c.subject, err)
	}
	return nil
}

// Release, Hold and HeldElsewhere: a plain cursor claims nothing (a
// claiming one is dlclaim's, over this one).
func (c *natsDeadLetters) Release(context.Context, stream.DeadLetter) error { return nil }
func (c *natsDeadLetters) Hold(context.Context, stream.DeadLetter) error    { return nil }
func (c *natsDeadLetters) HeldElsewhere() int                               { return 0 }

func (c *natsDeadLetters) Close(context.Context) error { return nil }
