package dlclaim

import (
	"context"
	"io"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/streambind/streambind/stream"
)

// shared are dead letters two cursors read, with leases that know which
// were removed (a claim of one is Gone), taken in batches.
type shared struct {
	mu      sync.Mutex
	owner   map[string]string
	removed map[string]bool
	batches int // ClaimBatch calls
}

type sharedPlain struct {
	plain
	s *shared
}

func (p *sharedPlain) Remove(_ context.Context, d stream.DeadLetter) error {
	p.s.mu.Lock()
	defer p.s.mu.Unlock()
	p.s.removed[d.ID] = true
	return nil
}

func (s *shared) Claim(_ context.Context, d stream.DeadLetter, token string, _ time.Duration) (Result, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if o, ok := s.owner[d.ID]; ok && o != token {
		return Held, nil
	}
	if s.removed[d.ID] {
		return Gone, nil
	}
	s.owner[d.ID] = token
	return Claimed, nil
}

func (s *shared) ClaimBatch(ctx context.Context, ds []stream.DeadLetter, token string, ttl time.Duration) ([]Result, error) {
	s.mu.Lock()
	s.batches++
	s.mu.Unlock()
	rs := make([]Result, len(ds))
	for i, d := range ds {
		rs[i], _ = s.Claim(ctx, d, token, ttl)
	}
	return rs, nil
}

func (s *shared) Renew(context.Context, []string, string, time.Duration) ([]string, error) {
	return nil, nil
}

func (s *shared) Release(_ context.Context, ids []string, token string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range ids {
		if s.owner[id] == token {
			delete(s.owner, id)
		}
	}
	return nil
}

func ids(ds []stream.DeadLetter) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.ID
	}
	return out
}

// NextBatch claims a batch at once (one ClaimBatch), returns what the
// filter rejects unclaimed in its place, leaves what another cursor
// holds to the end, and there returns it once given back, skips it once
// removed, and leaves it to its holder after the wait. RemoveBatch gives
// up the claims of what it removed.
func TestNextBatch(t *testing.T) {
	ctx := context.Background()
	s := &shared{owner: map[string]string{}, removed: map[string]bool{}}
	var ds []stream.DeadLetter
	for i := 1; i <= 8; i++ {
		ds = append(ds, stream.DeadLetter{ID: string(rune('0' + i))})
	}
	ttl := 300 * time.Millisecond
	a := New(ctx, &sharedPlain{plain{ds: ds}, s}, s, ttl, nil, nil, "dlq")
	defer a.Close(ctx)
	got, err := a.NextBatch(ctx, 3)
	if err != nil || !slices.Equal(ids(got), []string{"1", "2", "3"}) {
		t.Fatalf("A: %v %v, want 1 2 3", ids(got), err)
	}
	b := New(ctx, &sharedPlain{plain{ds: ds}, s}, s, ttl, func(d stream.DeadLetter) bool { return d.ID != "5" }, nil, "dlq")
	defer b.Close(ctx)
	got, err = b.NextBatch(ctx, 10)
	if err != nil || !slices.Equal(ids(got), []string{"4", "5", "6", "7", "8"}) {
		t.Fatalf("B: %v %v, want 4 to 8 (5 unclaimed)", ids(got), err)
	}
	if s.owner["5"] != "" {
		t.Errorf("5, which B's filter rejects, was claimed")
	}
	if n := s.batches; n != 2 {
		t.Errorf("%d ClaimBatch calls; want 2 (one a batch)", n)
	}
	// A removes 1, gives 2 back and keeps 3: B gets 2, skips 1, and
	// leaves 3 to A after a lease and a third.
	if errs := a.RemoveBatch(ctx, got[:0:0]); errs != nil {
		t.Errorf("RemoveBatch of none: %v", errs)
	}
	if errs := a.RemoveBatch(ctx, ds[:1]); errs != nil {
		t.Fatal(errs)
	}
	if s.owner["1"] != "" {
		t.Errorf("the claim of 1 stayed after RemoveBatch")
	}
	if err := a.Release(ctx, ds[1]); err != nil {
		t.Fatal(err)
	}
	got, err = b.NextBatch(ctx, 10)
	if err != nil || !slices.Equal(ids(got), []string{"2"}) {
		t.Fatalf("B at the end: %v %v, want 2", ids(got), err)
	}
	start := time.Now()
	if got, err = b.NextBatch(ctx, 10); err != io.EOF {
		t.Fatalf("B after the wait: %v %v, want EOF", ids(got), err)
	}
	if d := time.Since(start); d > 5*ttl {
		t.Errorf("waited %s for 3", d)
	}
	if n := b.HeldElsewhere(); n != 1 {
		t.Errorf("HeldElsewhere %d, want 1 (3)", n)
	}
	if errs := b.RemoveBatch(ctx, []stream.DeadLetter{ds[1], ds[3]}); errs != nil {
		t.Fatal(errs)
	}
	for _, id := range []string{"2", "4"} {
		if s.owner[id] != "" {
			t.Errorf("the claim of %s stayed after RemoveBatch", id)
		}
	}
}
