package bindertest

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Dones records the done callbacks of n [stream.AsyncProducer.SendAsync]
// calls, numbered 0..n-1, for a binder's tests and the conformance suite:
// how many times each done was called and the error of its first call.
// Pass Done(i) as the done of message i; a done may be called on any
// goroutine, also before SendAsync returned.
//
//	d := bindertest.NewDones(n)
//	for i := range n {
//		ap.SendAsync(ctx, m[i], d.Done(i))
//	}
//	d.Wait(t, 30*time.Second) // every done called
//	d.CheckNil(t)             // ... with nil
//	d.CheckOnce(t)            // ... once
//
// Name, when set before the first Done, begins every failure message.
type Dones struct {
	Name string

	calls []atomic.Int32
	mu    sync.Mutex
	errs  []error // each message's first call's error
	left  atomic.Int64
	all   chan struct{}
}

// NewDones returns a Dones for the SendAsyncs numbered 0..n-1.
func NewDones(n int) *Dones {
	d := &Dones{calls: make([]atomic.Int32, n), errs: make([]error, n), all: make(chan struct{})}
	d.left.Store(int64(n))
	if n == 0 {
		close(d.all)
	}
	return d
}

// Done returns the done of message i.
func (d *Dones) Done(i int) func(error) {
	return func(err error) { d.Call(i, err) }
}

// Call records a call of message i's done with err and returns how many
// times it was called so far, this one included (1 for the first): for
// a done that does more than record the call.
func (d *Dones) Call(i int, err error) int {
	c := d.calls[i].Add(1)
	if c == 1 {
		d.mu.Lock()
		d.errs[i] = err
		d.mu.Unlock()
		if d.left.Add(-1) == 0 {
			close(d.all)
		}
	}
	return int(c)
}

// Calls is how many times message i's done was called so far.
func (d *Dones) Calls(i int) int { return int(d.calls[i].Load()) }

// Left is the number of messages whose done was not called yet.
func (d *Dones) Left() int { return int(d.left.Load()) }

// Answered is the number of messages whose done was called at least once.
func (d *Dones) Answered() int { return len(d.calls) - d.Left() }

// Wait waits up to timeout for every message's done, failing the test
// (t.Fatalf) with how many are left after that.
func (d *Dones) Wait(t testing.TB, timeout time.Duration) {
	t.Helper()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case <-d.all:
	case <-timer.C:
		t.Fatalf("%safter %s, %d of %d SendAsyncs not answered (done not called)", d.prefix(), timeout, d.Left(), len(d.calls))
	}
}

// Err is the error message i's done was first called with (nil before
// its first call).
func (d *Dones) Err(i int) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.errs[i]
}

// Failed returns the messages whose done was first called with an error,
// and their errors.
func (d *Dones) Failed() map[int]error {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := map[int]error{}
	for i, err := range d.errs {
		if err != nil {
			out[i] = err
		}
	}
	return out
}

// maxReported bounds the failures CheckOnce and CheckNil report one by
// one; the rest are counted.
const maxReported = 5

// CheckOnce fails the test (t.Errorf) for every message whose done was
// called other than once: more than once, or not yet.
func (d *Dones) CheckOnce(t testing.TB) {
	t.Helper()
	bad := 0
	for i := range d.calls {
		if c := d.calls[i].Load(); c != 1 {
			if bad++; bad <= maxReported {
				t.Errorf("%smessage %d: done called %d times, want once", d.prefix(), i, c)
			}
		}
	}
	if bad > maxReported {
		t.Errorf("%s%d dones in all called other than once", d.prefix(), bad)
	}
}

// CheckNil fails the test (t.Errorf) for every message whose done was
// first called with an error.
func (d *Dones) CheckNil(t testing.TB) {
	t.Helper()
	bad := 0
	for i := range d.calls {
		if err := d.Err(i); err != nil {
			if bad++; bad <= maxReported {
				t.Errorf("%smessage %d: done(%v), want done(nil)", d.prefix(), i, err)
			}
		}
	}
	if bad > maxReported {
		t.Errorf("%s%d dones in all called with an error", d.prefix(), bad)
	}
}

func (d *Dones) prefix() string {
	if d.Name == "" {
		return ""
	}
	return fmt.Sprintf("%s: ", d.Name)
}
