// Package batchprefix is the binders' side of stream.BatchSettler: it
// tracks which leading messages of one BatchHandler call were settled
// early, hands each new part of that prefix to the binder's ack once, and
// refuses calls after the handler returned.
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
	mu   sync.Mutex
	n    int  // messages settled early
	done bool // the handler call ended
	size int
	ack  func(from, to int) error
}

// New returns ctx carrying a stream.BatchSettler for a BatchHandler call
// of size messages, and its Prefix. ack acknowledges messages [from, to)
// of the batch (from is where the previous call stopped); it is called
// serially, only for a prefix that grew, and those messages count as
// settled whatever it returns.
func New(ctx context.Context, size int, ack func(from, to int) error) (context.Context, *Prefix) {
	p := &Prefix{size: size, ack: ack}
	return stream.WithBatchSettler(ctx, p.settle), p
}

func (p *Prefix) settle(n int) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done {
		return ErrTooLate
	}
	n = min(n, p.size)
	if n <= p.n {
		return nil
	}
	from := p.n
	p.n = n
	return p.ack(from, n)
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
