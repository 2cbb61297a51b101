package memory

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/streambind/streambind/stream"
)

// Broker is an in-process message broker: destinations, consumer groups and
// their queues. It is safe for concurrent use and outlives the binders that
// use it; several apps in one process can share one. See the package doc for
// its semantics.
type Broker struct {
	cfg Config
	// ctx is the base of handler contexts; cancelled by Close.
	ctx    context.Context
	cancel context.CancelFunc
	// done is closed, and closed set, when Close has closed every binder.
	done     chan struct{}
	closed   atomic.Bool
	shutOnce sync.Once

	mu      sync.Mutex
	closing bool // no new binders or bindings
	dests   map[string]*destination
	binders map[*Binder]struct{}
	nextID  uint64
}

// NewBroker returns an empty broker configured by cfg (zero fields take
// their defaults; see [Config]).
func NewBroker(cfg Config) (*Broker, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Broker{
		cfg:     cfg.withDefaults(),
		ctx:     ctx,
		cancel:  cancel,
		done:    make(chan struct{}),
		dests:   make(map[string]*destination),
		binders: make(map[*Binder]struct{}),
	}, nil
}

// Close closes every binder of the broker (stopping their consumers, bounded
// by ctx), then drops every destination, group and message. Sends blocked on
// a full queue return [stream.ErrClosed], as does everything done with the
// broker afterwards. Close may be called again, also while another Close
// runs or after one whose ctx ended: it closes the binders again, waiting
// (bounded by its ctx) for the handlers an earlier Close left running, so
// that nil means nothing of the broker runs any more.
func (b *Broker) Close(ctx context.Context) error {
	b.mu.Lock()
	b.closing = true
	bds := make([]*Binder, 0, len(b.binders))
	for bd := range b.binders {
		bds = append(bds, bd)
	}
	b.mu.Unlock()

	// At once, as a binder closes its consumers (Binder.Close).
	errs := make([]error, len(bds))
	var wg sync.WaitGroup
	for i, bd := range bds {
		wg.Go(func() { errs[i] = bd.closeBindings(ctx) })
	}
	wg.Wait()
	b.shutOnce.Do(b.shut)
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("memory: close broker: %w", err)
	}
	return nil
}

// shut ends the broker once its binders are closed (or their Close ran
// out of time): blocked and later sends fail, handlers' contexts end, and
// every group is dropped.
func (b *Broker) shut() {
	b.closed.Store(true)
	close(b.done)
	b.cancel()

	// The WARNs are logged once the lock is released: a slow log handler
	// must not hold up the broker's other users.
	type discarded struct {
		dest, group string
		n           int
	}
	var lost []discarded
	b.mu.Lock()
	for _, d := range b.dests {
		for _, g := range *d.groups.Load() {
			if n := g.shut(); n > 0 {
				lost = append(lost, discarded{d.name, g.name, n})
			}
		}
	}
	b.dests = nil
	b.mu.Unlock()
	for _, l := range lost {
		warnDiscarded(b.cfg.Logger, "memory: broker closed with messages not yet consumed; they are discarded", l.dest, l.group, l.n)
	}
}

// warnDiscarded logs that n messages of group (of destination dest) were
// discarded: the in-process broker keeps nothing beyond its lifetime.
func warnDiscarded(log *slog.Logger, msg, dest, group string, n int) {
	if group == "" {
		group = "(anonymous)"
	}
	log.Warn(msg+" (the in-process broker keeps messages in memory only: nothing survives the process; use a broker binder for messages that must outlive it)",
		"destination", dest, "group", group, "discarded", n)
}

// Depth returns the number of messages a named group of a destination
// still owes its consumers, and whether that group exists: the messages
// waiting in its queues and those parked for a delayed retry
// (consumer.retry-delays, [stream.DelayedRetry]), which go back to the
// queue when their delay ends. Messages being handled are not counted,
// also not a Nak'ed one its worker holds back for the redelivery delay
// before putting it back at the front of the queue. It is meant for tests
// and diagnostics.
func (b *Broker) Depth(destination, groupName string) (int, bool) {
	b.mu.Lock()
	var g *group
	if d := b.dests[destination]; d != nil {
		g = d.named[groupName]
	}
	b.mu.Unlock()
	if g == nil {
		return 0, false
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	n := len(g.parked)
	for _, q := range g.queues {
		n += q.items.len()
	}
	return n, true
}

// errClosed is the error of an operation on a closed broker.
func errClosed(op string) error { return fmt.Errorf("memory: %s: broker %w", op, stream.ErrClosed) }

// addBinder registers bd so that Close closes it.
func (b *Broker) addBinder(bd *Binder) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closing {
		return errClosed("new binder")
	}
	b.binders[bd] = struct{}{}
	return nil
}

func (b *Broker) removeBinder(bd *Binder) {
	b.mu.Lock()
	delete(b.binders, bd)
	b.mu.Unlock()
}

// destinationLocked returns the named destination, creating it. Call with
// b.mu.
func (b *Broker) destinationLocked(name string) (*destination, error) {
	if b.closing {
		return nil, errClosed("bind " + name)
	}
	d := b.dests[name]
	if d == nil {
		d = &destination{name: name, broker: b, named: make(map[string]*group)}
		d.groups.Store(&[]*group{})
		b.dests[name] = d
	}
	return d, nil
}

// destination returns the named destination, creating it.
func (b *Broker) destination(name string) (*destination, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.destinationLocked(name)
}

// provision creates the named group of destination dest with n queues of
// the given capacity, unless it exists.
func (b *Broker) provision(dest, groupName string, n, capacity int) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	d, err := b.destinationLocked(dest)
	if err != nil {
		return err
	}
	if d.named[groupName] == nil {
		d.addLocked(b.newGroupLocked(d, groupName, n, capacity))
	}
	return nil
}

// join returns the named group of dest for a new consumer binding that
// wants n queues, creating it or re-laying it out when it has no live
// consumer bindings, and counts the binding as a member.
func (b *Broker) join(dest, groupName string, n, capacity int) (*group, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	d, err := b.destinationLocked(dest)
	if err != nil {
		return nil, err
	}
	g := d.named[groupName]
	if g == nil {
		g = b.newGroupLocked(d, groupName, n, capacity)
		d.addLocked(g)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.queues) != n {
		if g.members > 0 || g.hasRuns() {
			return nil, fmt.Errorf("memory: group %q of destination %q is consumed with %d queue(s) (instance-count); cannot add a consumer that needs %d: bind all its consumers with the same partitioned and instance-count settings", groupName, dest, len(g.queues), n)
		}
		g.relayout(n)
	}
	g.members++
	return g, nil
}

// leave undoes join.
func (g *group) leave() {
	g.mu.Lock()
	g.members--
	g.mu.Unlock()
}

// newAnonymous creates and registers the private group of an anonymous
// consumer: one queue, which gets every partition's messages (partitioned
// does not apply without a group, as in SCSt).
func (b *Broker) newAnonymous(dest string, capacity int) (*group, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	d, err := b.destinationLocked(dest)
	if err != nil {
		return nil, err
	}
	g := b.newGroupLocked(d, "", 1, capacity)
	d.addLocked(g)
	return g, nil
}

// remove unregisters g from its destination and drops its messages,
// returning how many it dropped.
func (b *Broker) remove(g *group) int {
	b.mu.Lock()
	g.dest.removeLocked(g)
	b.mu.Unlock()
	return g.shut()
}

// newGroupLocked makes a group with n queues. Call with b.mu.
func (b *Broker) newGroupLocked(d *destination, name string, n, capacity int) *group {
	b.nextID++
	g := &group{id: b.nextID, name: name, dest: d, capacity: capacity, changed: make(chan struct{})}
	g.queues = make([]*queue, n)
	for i := range g.queues {
		g.queues[i] = newQueue(capacity)
	}
	return g
}

// destination is a named destination: the groups subscribed to it.
type destination struct {
	name   string
	broker *Broker
	// groups is an immutable snapshot of the subscribed groups, sorted by
	// id, replaced (under broker.mu) when a group is added or removed.
	groups atomic.Pointer[[]*group]
	// named holds the named groups. Guarded by broker.mu.
	named map[string]*group
	// seq numbers the messages sent to the destination.
	seq atomic.Uint64
}

func (d *destination) addLocked(g *group) {
	old := *d.groups.Load()
	gs := make([]*group, len(old), len(old)+1)
	copy(gs, old)
	gs = append(gs, g) // ids increase, so gs stays sorted
	d.groups.Store(&gs)
	if g.name != "" {
		d.named[g.name] = g
	}
}

func (d *destination) removeLocked(g *group) {
	old := *d.groups.Load()
	gs := make([]*group, 0, len(old))
	for _, x := range old {
		if x != g {
			gs = append(gs, x)
		}
	}
	d.groups.Store(&gs)
	if g.name != "" && d.named[g.name] == g {
		delete(d.named, g.name)
	}
}

// send stores a copy of env, with the headers st a producer adds (see
// [stamp]), in the queue of every group of d, or in none: it waits, as
// long as ctx allows, until every queue it must store into has space. It
// does not allocate unless env goes to several groups and has headers.
func (d *destination) send(ctx context.Context, env stream.Envelope, st stamp) error {
	_, err := d.sendStored(ctx, env, st)
	return err
}

// sendStored is send that also reports whether a group stored the
// message: false (with a nil error) when no group took it at the moment
// of the store (the destination had none, or only ones that do not store
// it: an anonymous consumer's that had just ended, or an anonymous
// partitioned consumer's of another partition), so it went to nobody.
func (d *destination) sendStored(ctx context.Context, env stream.Envelope, st stamp) (stored bool, err error) {
	b := d.broker
	if b.closed.Load() {
		return false, fmt.Errorf("memory: send to %q: %w", d.name, stream.ErrClosed)
	}
	if err := ctx.Err(); err != nil {
		return false, fmt.Errorf("memory: send to %q: %w", d.name, err)
	}
	it := item{env: store(env), seq: d.seq.Add(1), ts: time.Now().UnixMilli(), part: -1}
	it.env.stamp = st
	if p, ok := parsePartition(env.Headers[stream.HeaderPartition]); ok {
		it.part, it.route, it.hasRoute = p, mix32(uint32(p)), true
	} else if len(env.Key) > 0 {
		it.route, it.hasRoute = fnv32a(env.Key), true
	}
	var woken *queue // the queue whose wake-up token this send took
	for {
		gs := *d.groups.Load()
		full, changed, group, n := tryPut(gs, &it)
		if woken != nil && full != nil && full != woken {
			// Woken for room in woken, this send now waits for another
			// group's queue: it passes the wake-up on to the next send
			// waiting for woken. Kept, it was lost when this send then
			// gave up (ctx), leaving those sends waiting for a queue with
			// room. (A send that stores into woken passes it on in put.)
			notify(woken.notFull)
		}
		woken = nil
		if full == nil {
			if b.closed.Load() && anyShut(gs) {
				// Broker.Close shut a group between this send's first
				// look and its store (a wake-up by the group's changed
				// channel races with b.done): the message went nowhere,
				// and a nil error would report it sent.
				return false, fmt.Errorf("memory: send to %q: %w", d.name, stream.ErrClosed)
			}
			return n > 0, nil
		}
		select {
		case <-full.notFull:
			woken = full
		case <-changed:
		case <-ctx.Done():
			notify(full.notFull) // pass on a wake-up this sender may have taken
			return false, fmt.Errorf("memory: send to %q: waiting for space in the queue of group %q: %w", d.name, group, ctx.Err())
		case <-b.done:
			return false, fmt.Errorf("memory: send to %q: %w", d.name, stream.ErrClosed)
		}
	}
}

// tryPut stores it in the target queue of every group of gs and returns
// how many queues took it, or, if one of those queues is full, stores it
// in none and returns that queue, its group's changed channel and name. It
// locks all the groups (in id order) to decide.
func tryPut(gs []*group, it *item) (full *queue, changed chan struct{}, name string, n int) {
	for _, g := range gs {
		g.mu.Lock()
	}
	for _, g := range gs {
		if q := g.target(it); q != nil && q.items.len() >= q.capacity {
			full, changed, name = q, g.changed, g.name
			break
		}
	}
	if full == nil {
		for _, g := range gs {
			q := g.target(it)
			if q == nil {
				continue
			}
			e := *it
			if n > 0 {
				e.env.Headers = e.env.Headers.Clone()
			}
			n++
			q.put(e)
		}
	}
	for _, g := range gs {
		g.mu.Unlock()
	}
	return full, changed, name, n
}

// anyShut reports whether one of gs has been shut (by Broker.Close or, for
// an anonymous group, by its consumer's end).
func anyShut(gs []*group) bool {
	for _, g := range gs {
		g.mu.Lock()
		closed := g.closed
		g.mu.Unlock()
		if closed {
			return true
		}
	}
	return false
}

// group is a consumer group of a destination (or the private group of an
// anonymous consumer) with its queues.
type group struct {
	id       uint64
	name     string // "" for an anonymous consumer
	dest     *destination
	capacity int

	mu sync.Mutex
	// queues has one queue per instance (one for a non-partitioned group
	// and for an anonymous consumer's).
	queues []*queue
	// changed is closed when the layout changes or the group is shut, to
	// wake senders waiting for space in one of the old queues.
	changed chan struct{}
	closed  bool
	// members counts the live consumer bindings of a named group.
	members int
	// parked holds the messages waiting for a delayed retry by their
	// timers (retryLater), stopped and dropped when the group is shut.
	parked map[*time.Timer]*item
}

// target returns the queue it goes to, or nil if the group is closed.
// Call with g.mu.
func (g *group) target(it *item) *queue {
	if g.closed {
		return nil
	}
	if len(g.queues) == 1 {
		return g.queues[0]
	}
	i := 0
	if it.part > 0 {
		i = int(it.part) % len(g.queues)
	}
	return g.queues[i]
}

// hasRuns reports whether a consumer run is attached to a queue. Call with
// g.mu.
func (g *group) hasRuns() bool {
	for _, q := range g.queues {
		if len(q.runs) > 0 {
			return true
		}
	}
	return false
}

// relayout replaces the queues by n queues and moves the messages over, in
// send order. Call with g.mu, when no consumer uses the group.
func (g *group) relayout(n int) {
	lists := make([][]item, 0, len(g.queues))
	for _, q := range g.queues {
		lists = append(lists, q.items.drain())
	}
	g.queues = make([]*queue, n)
	for i := range g.queues {
		g.queues[i] = newQueue(g.capacity)
	}
	pos := make([]int, len(lists))
	for {
		best := -1
		for i, l := range lists {
			if pos[i] < len(l) && (best < 0 || l[pos[i]].seq < lists[best][pos[best]].seq) {
				best = i
			}
		}
		if best < 0 {
			break
		}
		it := lists[best][pos[best]]
		pos[best]++
		g.target(&it).items.pushBack(it) // may exceed capacity: nothing is lost
	}
	close(g.changed)
	g.changed = make(chan struct{})
}

// shut closes the group and drops its messages: those queued and those
// parked for a delayed retry. It returns how many it dropped (0 when the
// group was shut already).
func (g *group) shut() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return 0
	}
	g.closed = true
	n := 0
	for _, q := range g.queues {
		n += q.items.len()
		q.items = deque{}
	}
	n += len(g.parked) // a timer that fired meanwhile finds its item gone
	for t := range g.parked {
		t.Stop()
	}
	g.parked = nil
	close(g.changed)
	return n
}

// queue is one FIFO of a group. Its fields are guarded by the group's mu.
type queue struct {
	items    deque
	capacity int
	// notFull holds a wake-up token for a sender waiting for space.
	notFull chan struct{}
	// runs are the started consumer runs taking from the queue; each is
	// woken when a message arrives.
	runs []*run
}

func newQueue(capacity int) *queue {
	return &queue{capacity: capacity, notFull: make(chan struct{}, 1)}
}

// put appends it and wakes the consumers. Call with the group's mu.
func (q *queue) put(it item) {
	q.items.pushBack(it)
	q.wakeRuns()
	if q.items.len() < q.capacity {
		notify(q.notFull) // let the next waiting sender in
	}
}

func (q *queue) wakeRuns() {
	for _, r := range q.runs {
		notify(r.wake)
	}
}

func (q *queue) attach(r *run) { q.runs = append(q.runs, r) }

func (q *queue) detach(r *run) {
	for i, x := range q.runs {
		if x == r {
			q.runs = append(q.runs[:i], q.runs[i+1:]...)
			return
		}
	}
}

// notify puts a wake-up token in c (capacity 1) unless one is there.
func notify(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// parsePartition parses a partition header: decimal digits, at most 9.
func parsePartition(s string) (int32, bool) {
	if len(s) == 0 || len(s) > 9 {
		return 0, false
	}
	var p int32
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		p = p*10 + int32(c-'0')
	}
	return p, true
}

// mix32 is MurmurHash3's finalizer: it spreads partitions p, p+N, p+2N...
// over a consumer's concurrency slots.
func mix32(h uint32) uint32 {
	h ^= h >> 16
	h *= 0x85ebca6b
	h ^= h >> 13
	h *= 0xc2b2ae35
	h ^= h >> 16
	return h
}

// fnv32a is the FNV-1a hash of b.
func fnv32a(b []byte) uint32 {
	h := uint32(2166136261)
	for _, c := range b {
		h ^= uint32(c)
		h *= 16777619
	}
	return h
}
