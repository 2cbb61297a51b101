// Package batchprefix is the binders' side of stream.BatchSettler: it
// tracks which leading messages of one BatchHandler call were settled
// early, hands each new part of that prefix, with its messages' outcomes,
// to the binder's settle once, keeps a Nak'ed message (and what follows)
// out of it, and refuses calls after the handler returned.
package batchprefix

import (
	"context"
	"errors"
	"sync"

	"github.com/streambind/streambind/stream"
)

// ErrTooLate is what the settler returns when it is called after its
// handler call ended (a core that broke the contract): nothing is settled.
var ErrTooLate = errors.New("batch settler called after its handler returned")

// Prefix is the early-settled prefix of one BatchHandler call of size
// messages.
type Prefix struct {
	mu     sync.Mutex
	n      int  // messages settled early
	done   bool // the handler call ended
	size   int
	settle func(from, to int, outcome error) error
}

// New returns ctx carrying a stream.BatchSettler for a BatchHandler call
// of size messages, and its Prefix. settle settles messages [from, to) of
// the batch (from is where the previous call stopped), each by its own
// outcome, stream.BatchMessageErr(outcome, i-from) (outcome is indexed from
// ms[from]; nil: all handled): the handled ones acknowledged, the failed
// ones dead-lettered or dropped, through the path the binder settles the
// batch's messages by when the handler returns (a held dead letter
// included). It never gets a Nak'ed message (wrapping stream.ErrNak): the
// prefix stops before the first one, which the handler's outcome settles.
// It is called serially, only for a prefix that grew, and those messages
// count as settled whatever it returns.
func New(ctx context.Context, size int, settle func(from, to int, outcome error) error) (context.Context, *Prefix) {
	p := &Prefix{size: size, settle: settle}
	return stream.WithBatchSettler(ctx, p.settleTo), p
}

func (p *Prefix) settleTo(n int, outcome error) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done {
		return ErrTooLate
	}
	n = min(n, p.size)
	from := p.n
	var errs []error // of ms[from:n], when one failed
	for i := from; i < n; i++ {
		err := stream.BatchMessageErr(outcome, i)
		if err != nil && errors.Is(err, stream.ErrNak) {
			n = i // left for the handler's outcome, with what follows
			break
		}
		if err != nil && errs == nil {
			errs = make([]error, n-from)
		}
		if errs != nil {
			errs[i-from] = err
		}
	}
	if n <= from {
		return nil
	}
	var part error
	if errs != nil {
		part = stream.NewBatchOutcome(errs[:n-from])
	}
	p.n = n
	return p.settle(from, n, part)
}

// Done ends the handler call (call it once the BatchHandler returned) and
// returns how many leading messages were settled early: the binder settles
// the others, ms[n:], by stream.BatchTail(err, n). Rest does both.
func (p *Prefix) Done() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done = true
	return p.n
}

// Rest ends the handler call (Done) whose BatchHandler returned err and
// says what the binder settles: the messages from k on, ms[k:], by their
// outcome tail (stream.BatchTail(err, k), indexed from ms[k]; nil when
// none is left). On a nil Prefix (no settler passed: not batch mode) it
// is 0, err.
func (p *Prefix) Rest(err error) (k int, tail error) {
	if p == nil {
		return 0, err
	}
	k = p.Done()
	if k >= p.size && k > 0 {
		return k, nil
	}
	return k, stream.BatchTail(err, k)
}
