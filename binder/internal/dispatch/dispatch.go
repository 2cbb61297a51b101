// Package dispatch holds what the broker binders of this module do alike
// when they hand received messages to a consumer binding's handler and when
// they wait between attempts:
//
//   - [Pool] runs up to N handler calls at once, never two of one route (a
//     partition or a key) at once, and in arrival order per route, with
//     Pause, Resume and Stop as [stream.Consumer] defines them;
//   - [Backoff] is jittered exponential back-off, and [Sleep] a wait that
//     ends with its context;
//   - [Pacer] paces the WARN lines of a streak of failures on a Backoff.
//
// It is internal to the binders of this module.
package dispatch

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// Pool hands items (received messages) to a fixed set of workers. Items
// of one route (a partition, a key) wait in that route's FIFO and are
// handled one at a time and in the order they were submitted, each after
// the previous one's handle call returned — which is where the binder
// settles (acknowledges) it; any free worker takes the next item of a
// route that no worker is handling. Items of the empty route have no
// order: any free worker takes the next. So a worker busy with a slow call
// or holding its items (Hold: a Nak's redelivery delay, a dead letter to
// retry) holds back only its route. (With a FIFO per worker, chosen by
// hashing the route or round robin, it held back every route and keyless
// item that went to its worker, and once that FIFO had taken up the
// binding's prefetch, the binding read nothing more: one message Nak'ed
// for ever stopped it.)
//
// The zero value is not usable; create a Pool with [New].
type Pool[T any] struct {
	handle  func(ctx context.Context, items []T)
	release func(T)
	workers int
	batch   int

	// The queued items (not Inline), guarded by qmu: each route's FIFO
	// (lanes; a lane is there while it has items or a worker handles it),
	// the routes whose next item may be taken (ready: not busy, not
	// empty; each once), and the empty route's items (free). queued counts
	// the items of lanes and free, at most capacity; Submit waits for
	// room (space), workers for work (work).
	qmu      sync.Mutex
	lanes    map[string]*lane[T]
	spare    []*lane[T]
	ready    fifo[string]
	free     fifo[T]
	queued   int
	capacity int
	// blocked counts the queued items that wait behind an earlier item of
	// their route (in a handler, or queued before them): no idle worker
	// can start them. Written under qmu; read without it (Blocked).
	blocked atomic.Int64
	turn    bool // alternates between ready routes and free items
	work    chan struct{}
	space   chan struct{}

	// inCall: the worker of a one-worker pool is in a Handle call
	// (set under qmu when it takes items): what is queued waits behind
	// it, and Stop's early drain leaves it (see drain).
	inCall atomic.Bool

	// Inline mode (Options.Inline): Submit runs Handle itself, one call at
	// a time; inlineDone is the Done channel of the running Submit's ctx,
	// for enter and Hold. Both are guarded by inlineMu.
	inline     bool
	inlineMu   sync.Mutex
	inlineDone <-chan struct{}
	one        []T

	ctx    context.Context // the handlers' context
	cancel context.CancelFunc
	stopC  chan struct{} // closed by Stop: take nothing new
	done   chan struct{} // closed when every worker has returned
	wg     sync.WaitGroup

	stopOnce sync.Once
	// onDrained, set by tests only, is called by Stop after its drain.
	onDrained func()

	mu      sync.Mutex
	paused  bool
	resumed chan struct{} // closed while not paused
	active  int
	idle    chan struct{} // made by a Pause that waits; closed when active drops to 0
}

// Options configure a [Pool].
type Options[T any] struct {
	// Workers is the number of handler calls that may run at once
	// (consumer.concurrency); at least 1.
	Workers int
	// QueueLen × Workers bounds the items queued (in all routes'
	// FIFOs); Submit blocks while the pool holds that many. At least 1.
	QueueLen int
	// Batch is the most items one Handle call gets (batch mode): a worker
	// takes up to Batch queued items at once, those of each route it takes
	// in their order (the routes it takes are busy until Handle returned:
	// a batch held holds back its routes). 0 or 1: one item per call. With
	// one worker every item is of one FIFO, in submission order.
	Batch int
	// Handle processes items and settles them (ack, nak, dead-letter). ctx
	// is cancelled when Stop runs out of time.
	Handle func(ctx context.Context, items []T)
	// Release is called for every submitted item that is never handed to
	// Handle because the pool stopped first (the binder gives it back to
	// the broker). It is called from Stop, in each route's order: a
	// worker hands nothing it took back (see next). The items queued
	// behind a call in flight in their route (with one worker: all) are
	// released only once that call returned, after what it settled, so
	// that a route's items are given back in order also when the call
	// gives its own back.
	Release func(T)
	// Inline makes Submit call Handle in the submitting goroutine, one
	// call at a time across submitters, instead of handing the item to a
	// worker: for one worker without batches (Workers and Batch are then
	// ignored), it saves a goroutine hand-off per item, and the submitter
	// reads no further ahead than what it handles. Pause, Resume, Hold and
	// Stop behave as with a worker; Submit's ctx ending also ends a wait
	// while paused or in Hold. Nothing is ever queued, so Stop may run
	// while a Submit is in progress.
	Inline bool
}

// New starts a pool's workers.
func New[T any](o Options[T]) *Pool[T] {
	p := &Pool[T]{
		handle:  o.Handle,
		release: o.Release,
		workers: max(o.Workers, 1),
		batch:   max(o.Batch, 1),
		stopC:   make(chan struct{}),
		done:    make(chan struct{}),
		resumed: make(chan struct{}),
		inline:  o.Inline,
	}
	if p.release == nil {
		p.release = func(T) {}
	}
	close(p.resumed)
	p.ctx, p.cancel = context.WithCancel(context.Background())
	if p.inline {
		p.one = make([]T, 1)
		go func() {
			<-p.stopC
			// A Submit after Stop returns without calling Handle: done once
			// the call in progress (if any) has returned.
			p.inlineMu.Lock()
			//lint:ignore SA2001 an empty critical section: it waits for the call in progress
			p.inlineMu.Unlock()
			close(p.done)
		}()
		return p
	}
	// As many items queued as the FIFOs of one per worker held.
	p.capacity = max(o.QueueLen, 1) * p.workers
	p.lanes = make(map[string]*lane[T])
	p.work = make(chan struct{}, 1)
	p.space = make(chan struct{}, 1)
	p.wg.Add(p.workers)
	for range p.workers {
		go p.worker()
	}
	go func() {
		p.wg.Wait()
		p.drain(false)
		close(p.done)
	}()
	return p
}

// Context is the handlers' context: cancelled when Stop ran out of time.
// An error a handler returns after that counts as a Nak.
func (p *Pool[T]) Context() context.Context { return p.ctx }

// Stopping reports whether Stop was called.
func (p *Pool[T]) Stopping() bool {
	select {
	case <-p.stopC:
		return true
	default:
		return false
	}
}

// lane is a route's FIFO; busy while a worker handles its items.
type lane[T any] struct {
	items fifo[T]
	busy  bool
}

// behind is how many of the lane's items wait behind an earlier item of
// the route: all of them while a worker handles the route, else all but
// the first.
func (l *lane[T]) behind() int64 {
	n := int64(l.items.len())
	if !l.busy && n > 0 {
		n--
	}
	return n
}

// Blocked is how many queued items wait behind an earlier item of their
// route (one in a handler or queued before them), which an idle worker
// cannot start: a binder that bounds what it reads ahead by what its
// workers start soon leaves them out, so that one slow key does not keep
// it from reading the other keys' messages. 0 in Inline mode and with one
// worker (one FIFO: nothing is behind a route).
func (p *Pool[T]) Blocked() int { return int(p.blocked.Load()) }

// fifo is a queue on a slice that it reuses once emptied.
type fifo[T any] struct {
	buf  []T
	head int
}

func (f *fifo[T]) len() int { return len(f.buf) - f.head }

func (f *fifo[T]) push(x T) {
	if f.head > 0 && f.head >= len(f.buf)/2 { // move the live part down
		n := copy(f.buf, f.buf[f.head:])
		clear(f.buf[n:])
		f.buf, f.head = f.buf[:n], 0
	}
	f.buf = append(f.buf, x)
}

// take appends up to n items to into.
func (f *fifo[T]) take(into []T, n int) []T {
	end := min(f.head+n, len(f.buf))
	into = append(into, f.buf[f.head:end]...)
	clear(f.buf[f.head:end])
	f.head = end
	if f.head == len(f.buf) {
		f.buf, f.head = f.buf[:0], 0
	}
	return into
}

func (f *fifo[T]) pop() T {
	x := f.buf[f.head]
	var zero T
	f.buf[f.head] = zero
	f.head++
	if f.head == len(f.buf) {
		f.buf, f.head = f.buf[:0], 0
	}
	return x
}

func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// Submit queues it on route (a partition, a key; "" for none), waiting
// while the pool holds as many queued items as it may. It returns false,
// and the caller keeps it, when the pool stopped or ctx ended first. An
// item it took, even concurrently with Stop, is handled or released.
func (p *Pool[T]) Submit(ctx context.Context, route string, it T) bool {
	if p.inline {
		return p.submitInline(ctx, it)
	}
	for {
		p.qmu.Lock()
		// Under qmu: Stop closes stopC before it drains (under qmu), so an
		// item queued here is drained if no worker takes it; checked
		// before the lock only, it could be queued after the last drain
		// and be neither handled nor released.
		if p.Stopping() {
			p.qmu.Unlock()
			return false
		}
		if p.queued < p.capacity {
			p.queued++
			if route == "" || p.workers == 1 {
				// One worker: every item in submission order, one route.
				p.free.push(it)
			} else {
				l := p.lanes[route]
				if l == nil {
					if n := len(p.spare); n > 0 {
						l, p.spare = p.spare[n-1], p.spare[:n-1]
					} else {
						l = new(lane[T])
					}
					p.lanes[route] = l
				}
				b := l.behind()
				l.items.push(it)
				p.blocked.Add(l.behind() - b)
				if !l.busy && l.items.len() == 1 {
					p.ready.push(route)
				}
			}
			room := p.queued < p.capacity
			p.qmu.Unlock()
			signal(p.work)
			if room {
				signal(p.space) // another Submit may wait
			}
			return true
		}
		p.qmu.Unlock()
		select {
		case <-p.space:
		case <-p.stopC:
			return false
		case <-ctx.Done():
			return false
		}
	}
}

// submitInline runs Handle on it in the caller's goroutine (Inline).
func (p *Pool[T]) submitInline(ctx context.Context, it T) bool {
	p.inlineMu.Lock()
	defer p.inlineMu.Unlock()
	if p.Stopping() || ctx.Err() != nil {
		return false
	}
	p.inlineDone = ctx.Done()
	defer func() { p.inlineDone = nil }()
	if !p.enter(ctx.Done()) {
		return false
	}
	p.one[0] = it
	p.handle(p.ctx, p.one)
	var zero T
	p.one[0] = zero
	p.exit()
	return true
}

// next takes the next items to handle into items: those of a ready route
// (marked busy; its name appended to routes) or free items, and, in batch
// mode, more of them until the batch is full or nothing is ready: the
// items of several routes, each in its order (a batch of one route only
// would hold one item with many keys and concurrency above 1). False when
// the pool stops first. The call is counted in flight (see enter) before
// anything is taken, under qmu, and next waits while the pool is paused
// with nothing taken: an item a worker took is always handled, never
// released by the worker. (A worker that took an item and then waited
// for Resume released it when Stop came, concurrently with Stop's drain
// of the same route's later items, which were often released first: the
// NATS binder gave a key's messages back out of order when stopped while
// paused, TestStopWhilePausedGivesBackInOrder in binder/nats.)
func (p *Pool[T]) next(items []T, routes []string) ([]T, []string, bool) {
	for {
		if p.Stopping() {
			return items, routes, false
		}
		p.qmu.Lock()
		if p.ready.len() > 0 || p.free.len() > 0 {
			p.mu.Lock()
			if p.paused {
				ch := p.resumed
				p.mu.Unlock()
				p.qmu.Unlock()
				select {
				case <-ch:
				case <-p.stopC:
					return items, routes, false
				}
				continue
			}
			if p.Stopping() {
				// Stop closes stopC before it drains under qmu: what is
				// queued now is its to release.
				p.mu.Unlock()
				p.qmu.Unlock()
				return items, routes, false
			}
			p.active++
			p.mu.Unlock()
			for len(items) < p.batch && (p.ready.len() > 0 || p.free.len() > 0) {
				fromReady := p.ready.len() > 0 && (p.free.len() == 0 || p.turn)
				p.turn = !p.turn
				n := len(items)
				if fromReady {
					route := p.ready.pop()
					l := p.lanes[route]
					b := l.behind()
					l.busy = true
					items = l.items.take(items, p.batch-n)
					p.blocked.Add(l.behind() - b)
					routes = append(routes, route)
				} else {
					items = p.free.take(items, p.batch-n)
				}
				p.queued -= len(items) - n
			}
			more := p.ready.len() > 0 || p.free.len() > 0
			if p.workers == 1 {
				p.inCall.Store(true)
			}
			p.qmu.Unlock()
			signal(p.space)
			if more {
				signal(p.work) // another worker may take it
			}
			return items, routes, true
		}
		p.qmu.Unlock()
		select {
		case <-p.work:
		case <-p.stopC:
			return items, routes, false
		}
	}
}

// settle marks route (not "") no longer busy: ready again if it has items,
// else gone.
func (p *Pool[T]) settle(route string) {
	if route == "" {
		return
	}
	p.qmu.Lock()
	l := p.lanes[route]
	b := l.behind()
	l.busy = false
	p.blocked.Add(l.behind() - b)
	ready := l.items.len() > 0
	if ready {
		p.ready.push(route)
	} else {
		delete(p.lanes, route)
		// Kept for the next new route: as many lanes as can be at once
		// (one per queued item and per worker), so that many routes in
		// flight (keys of high cardinality) cost no allocation per item;
		// a FIFO grown large by a hot route is dropped.
		if len(p.spare) < p.capacity+p.workers {
			if cap(l.items.buf) > 16 {
				l.items = fifo[T]{}
			}
			p.spare = append(p.spare, l)
		}
	}
	p.qmu.Unlock()
	if ready {
		signal(p.work)
	}
}

func (p *Pool[T]) worker() {
	defer p.wg.Done()
	items := make([]T, 0, p.batch)
	var routes []string
	for {
		var ok bool
		items, routes, ok = p.next(items[:0], routes[:0]) // entered: see next
		if !ok {
			return
		}
		p.handle(p.ctx, items)
		p.inCall.Store(false)
		clear(items)
		p.exit()
		for _, r := range routes {
			p.settle(r)
		}
	}
}

// enter waits while paused and counts a handler call in flight; false when
// the pool stops (or done, when not nil, is closed) first.
func (p *Pool[T]) enter(done <-chan struct{}) bool {
	p.mu.Lock()
	for p.paused {
		ch := p.resumed
		p.mu.Unlock()
		select {
		case <-ch:
		case <-p.stopC:
			return false
		case <-done:
			return false
		}
		p.mu.Lock()
	}
	if p.Stopping() {
		p.mu.Unlock()
		return false
	}
	p.active++
	p.mu.Unlock()
	return true
}

// Hold is for a Handle call that keeps its items and handles them again
// after a while (a Nak's redelivery delay, a dead letter to retry): it
// stops counting the call as in flight — so Pause does not wait for the
// hold — waits d, then waits while the pool is paused, and counts the call
// again. It returns true when the caller may go on handling its items, and
// false when Stop began first, or (Inline) the ctx of the Submit running
// the call ended (the caller gives its items back instead). It must only
// be called from within Handle, by the worker (Inline: the Submit) running
// it.
func (p *Pool[T]) Hold(d time.Duration) bool {
	p.exit()
	ok := true
	done := p.inlineDone // nil for a worker; set by the Submit running this Handle
	if d > 0 {
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-p.stopC:
			ok = false
		case <-done:
			ok = false
		}
		t.Stop()
	}
	p.mu.Lock()
	for ok && p.paused {
		ch := p.resumed
		p.mu.Unlock()
		select {
		case <-ch:
		case <-p.stopC:
			ok = false
		case <-done:
			ok = false
		}
		p.mu.Lock()
	}
	// Counted again in every case: the worker's exit after Handle returns
	// balances it.
	p.active++
	p.mu.Unlock()
	return ok && !p.Stopping()
}

func (p *Pool[T]) exit() {
	p.mu.Lock()
	p.active--
	if p.active == 0 && p.idle != nil {
		close(p.idle)
		p.idle = nil
	}
	p.mu.Unlock()
}

// Pause stops handing items to Handle and waits, bounded by ctx, until no
// call is in flight. Items keep queueing (up to the FIFOs' bounds).
func (p *Pool[T]) Pause(ctx context.Context) error {
	p.mu.Lock()
	if !p.paused {
		p.paused = true
		p.resumed = make(chan struct{})
	}
	if p.active == 0 {
		p.mu.Unlock()
		return nil
	}
	if p.idle == nil {
		p.idle = make(chan struct{})
	}
	idle := p.idle
	p.mu.Unlock()
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return errors.Join(errors.New("handler calls still running"), ctx.Err())
	}
}

// Resume undoes Pause.
func (p *Pool[T]) Resume() {
	p.mu.Lock()
	if p.paused {
		p.paused = false
		close(p.resumed)
	}
	p.mu.Unlock()
}

// Stop takes nothing new, releases every queued item (see
// Options.Release) and waits, bounded by ctx, for the calls in flight to
// return. When ctx ends first it cancels the handlers' context and returns
// an error; the workers still finish (and settle) their calls afterwards.
// Stop is idempotent.
func (p *Pool[T]) Stop(ctx context.Context) error {
	p.stopOnce.Do(func() {
		close(p.stopC)
		p.Resume()
	})
	// Release what is queued; workers take nothing after stopC closed,
	// and what one took before it handles (see next). What waits behind
	// a call in flight in its route is released once that call returned
	// (the drain after the workers ended): its items may be given back
	// in the call (a Nak), and a route's items are given back in order.
	p.drain(true)
	if p.onDrained != nil {
		p.onDrained() // a test's
	}
	select {
	case <-p.done:
		p.cancel()
		return nil
	case <-ctx.Done():
		p.cancel()
		p.mu.Lock()
		n := p.active
		p.mu.Unlock()
		if n == 0 {
			// No call in flight, and none starts after stopC closed: the
			// workers are only returning (ctx had ended before Stop, say).
			return nil
		}
		return errors.Join(fmt.Errorf("%d handler call%s still running; their messages will be redelivered", n, plural(n)), ctx.Err())
	}
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// drain releases every queued item; early (Stop's, while workers may be
// in calls), not those behind a call in flight in their route: the lanes
// a worker handles, and with one worker (one FIFO) every item while a
// call is in flight.
func (p *Pool[T]) drain(early bool) {
	if p.inline {
		return
	}
	var items []T
	p.qmu.Lock()
	if !early || p.workers > 1 || !p.inCall.Load() {
		items = p.free.take(items, p.free.len())
	}
	for p.ready.len() > 0 {
		p.ready.pop()
	}
	left := 0
	for route, l := range p.lanes {
		if early && l.busy {
			left += l.items.len()
			continue
		}
		items = l.items.take(items, l.items.len())
		if !l.busy {
			delete(p.lanes, route)
		}
	}
	p.queued = left + p.free.len()
	p.blocked.Store(int64(left))
	p.qmu.Unlock()
	for _, it := range items {
		p.release(it)
	}
}

// Done is closed when every worker has returned after Stop.
func (p *Pool[T]) Done() <-chan struct{} { return p.done }

// Backoff is jittered exponential back-off: attempt 1 waits about Initial,
// each further attempt Multiplier times longer (2 when zero), never more
// than Max. Jitter spreads each wait by up to ±20% so that many clients
// that failed together do not retry together.
type Backoff struct {
	Initial    time.Duration
	Max        time.Duration
	Multiplier float64
}

// Delay returns the wait before attempt (1 = the first retry).
func (b Backoff) Delay(attempt int) time.Duration {
	m := b.Multiplier
	if m <= 1 {
		m = 2
	}
	d := float64(b.Initial)
	for i := 1; i < attempt && d < float64(b.Max); i++ {
		d *= m
	}
	if b.Max > 0 && d > float64(b.Max) {
		d = float64(b.Max)
	}
	d *= 0.8 + 0.4*rand.Float64()
	return time.Duration(d)
}

// Sleep waits d; false if ctx ended first.
func Sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
