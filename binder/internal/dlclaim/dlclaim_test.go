package dlclaim

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/streambind/streambind/stream"
)

// plain is a plain cursor over fixed dead letters.
type plain struct {
	mu  sync.Mutex
	ds  []stream.DeadLetter
	pos int
}

func (p *plain) Next(context.Context) (stream.DeadLetter, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.pos == len(p.ds) {
		return stream.DeadLetter{}, io.EOF
	}
	p.pos++
	return p.ds[p.pos-1], nil
}
func (p *plain) Remove(context.Context, stream.DeadLetter) error  { return nil }
func (p *plain) Release(context.Context, stream.DeadLetter) error { return nil }
func (p *plain) Hold(context.Context, stream.DeadLetter) error    { return nil }
func (p *plain) HeldElsewhere() int                               { return 0 }
func (p *plain) Close(context.Context) error                      { return nil }

// gatedLeases are leases in memory whose Renew, once gated, waits for the
// test between taking its ids and looking at the leases: a removal and
// its release fall between the renewal's snapshot and its answer, as on
// a busy broker.
type gatedLeases struct {
	mu       sync.Mutex
	owner    map[string]string
	renewing chan []string // the ids of a renewal that waits
	proceed  chan struct{}
}

func (l *gatedLeases) Claim(_ context.Context, d stream.DeadLetter, token string, _ time.Duration) (Result, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if o, ok := l.owner[d.ID]; ok && o != token {
		return Held, nil
	}
	l.owner[d.ID] = token
	return Claimed, nil
}

func (l *gatedLeases) Renew(ctx context.Context, ids []string, token string, _ time.Duration) ([]string, error) {
	select {
	case l.renewing <- ids:
		<-l.proceed
	default: // not gated: a later tick
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	var lost []string
	for _, id := range ids {
		if l.owner[id] != token {
			lost = append(lost, id)
		}
	}
	return lost, nil
}

func (l *gatedLeases) Release(_ context.Context, ids []string, token string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, id := range ids {
		if l.owner[id] == token {
			delete(l.owner, id)
		}
	}
	return nil
}

// A dead letter removed (or given back) while a renewal of the cursor's
// claims is on its way is not a claim that ran out: the renewal finds no
// lease for it because the cursor released it. It was warned of as
// "claims ran out before they were renewed (the broker was out of reach
// ...)", and in 4 of 5 runs of a busy purge of 5,000 on Redis, with the
// broker in reach.
func TestRemovedDuringRenewalIsNotLost(t *testing.T) {
	var logs bytes.Buffer
	var logMu sync.Mutex
	log := slog.New(slog.NewTextHandler(lockedBuffer{&logMu, &logs}, nil))
	l := &gatedLeases{owner: map[string]string{}, renewing: make(chan []string), proceed: make(chan struct{})}
	ds := []stream.DeadLetter{{ID: "1"}, {ID: "2"}, {ID: "3"}}
	ctx := context.Background()
	c := New(ctx, &plain{ds: ds}, l, 30*time.Millisecond, nil, log, "dlq")
	for range ds {
		if _, err := c.Next(ctx); err != nil {
			t.Fatal(err)
		}
	}
	var ids []string
	select {
	case ids = <-l.renewing:
	case <-time.After(10 * time.Second):
		t.Fatal("no renewal within 10s")
	}
	if len(ids) != 3 {
		t.Fatalf("renewing %v, want the 3 claims", ids)
	}
	if err := c.Remove(ctx, ds[0]); err != nil {
		t.Fatal(err)
	}
	if err := c.Release(ctx, ds[1]); err != nil {
		t.Fatal(err)
	}
	close(l.proceed)
	// The next renewal (not gated) starts after this one ended.
	if err := c.Hold(ctx, ds[2]); err != nil {
		t.Fatalf("the claim still held: %v", err)
	}
	if err := c.Close(ctx); err != nil {
		t.Fatal(err)
	}
	logMu.Lock()
	defer logMu.Unlock()
	if strings.Contains(logs.String(), "ran out") {
		t.Errorf("claims released by the cursor warned of as run out:\n%s", logs.String())
	}
}

type lockedBuffer struct {
	mu *sync.Mutex
	b  *bytes.Buffer
}

func (w lockedBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

// A claim that ran out while the cursor held it is still warned of, and
// Hold says so.
func TestLostClaimWarned(t *testing.T) {
	var logs bytes.Buffer
	var logMu sync.Mutex
	log := slog.New(slog.NewTextHandler(lockedBuffer{&logMu, &logs}, nil))
	l := &gatedLeases{owner: map[string]string{}, renewing: make(chan []string), proceed: make(chan struct{})}
	ds := []stream.DeadLetter{{ID: "1"}}
	ctx := context.Background()
	c := New(ctx, &plain{ds: ds}, l, 30*time.Millisecond, nil, log, "dlq")
	if _, err := c.Next(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case <-l.renewing:
	case <-time.After(10 * time.Second):
		t.Fatal("no renewal within 10s")
	}
	l.mu.Lock()
	l.owner["1"] = "another cursor" // the lease ran out and was taken
	l.mu.Unlock()
	close(l.proceed)
	if err := c.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.Hold(ctx, ds[0]); !errors.Is(err, stream.ErrClaimLost) {
		t.Errorf("Hold after the claim was lost: %v, want ErrClaimLost", err)
	}
	logMu.Lock()
	defer logMu.Unlock()
	if !strings.Contains(logs.String(), "claims ran out") || !strings.Contains(logs.String(), "lost=1") {
		t.Errorf("a lost claim was not warned of:\n%s", logs.String())
	}
}
