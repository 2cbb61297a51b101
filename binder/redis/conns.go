package redis

import (
	"context"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// connSet tracks the binder's open connections (those of its client and of
// its consumers' readers) so that, on evidence of a dead path, the ones
// that path left open are dropped before they are used again.
//
// Why: a path that drops packets without closing the sockets (a NAT or
// firewall that lost its state, a black-holed route) leaves every pooled
// connection open and dead. go-redis finds each one only by a command's
// read timeout when it next hands it out, one after another: with the old
// connections dead and new ones working, a consumer handled nothing for
// 15–20 s while readiness was already up again.
//
// The health probe sweeps (see sweep) after each PING:
//
//   - a reader's connection (consumers' blocking reads: XREADGROUP, and
//     XACK pipelined before it, nothing else) that wrote a request and has
//     received nothing since for longer than blockFor + health-timeout (a
//     live server answers a blocking read at its block time), while a
//     PING sent after that request was answered (the server is up: this
//     connection's path is dead) or went unanswered (evidence below), is
//     closed. Closing such a connection cannot store anything twice: XACK
//     is idempotent, and what an unanswered XREADGROUP delivered stays
//     pending and is reclaimed, as when the read times out. A connection
//     receiving a reply (bytes after its request), with bytes waiting
//     unread in its socket (a starved reading goroutine), or writing is
//     never closed.
//   - after evidence of a dead path (see evidence: a health PING
//     unanswered within health-timeout, a read on a tracked connection
//     that reached its own deadline, or a reader's connection closed as
//     above), for blockFor + command-timeout (the longest a read of the
//     binder waits on its own), every connection that has received no
//     byte since the evidence came is marked stale (not only those silent
//     since its ref: an idle connection's last byte does not tell when
//     its path died):
//     go-redis's check of an idle connection before it hands it out
//     (SyscallConn, see trackedConn) fails for it, so go-redis closes it
//     and dials another. That check runs only on an idle connection, never
//     on one with a command in flight, so a mark cuts nothing: a command
//     waiting on a slow but live path keeps its connection, and a byte
//     received clears the mark (lastRead after it). The cost: evidence
//     on a live server (a PING slower than health-timeout, 2s by default)
//     has the pool redialed as its connections are next taken, busy ones
//     too — a review measured about 120 dials for a pool of 12 under 15
//     such evidences in 3s (health-interval 200ms), none with a mark
//     from the ref; a dead pooled connection costs command-timeout.
//
// No connection of the client is ever closed by the binder while it may
// carry a command: an XADD whose connection is cut after the server
// stored the entry fails, and the producer's retries store it again (a
// review of an earlier sweep saw 5 copies of one 600 KB send over a slow
// link). Such a command waits for its own deadline, as before.
type connSet struct {
	mu    sync.Mutex
	conns map[*trackedConn]struct{}
	// The last evidence of a dead path: when it came, and the time after
	// which a live connection would have received something.
	evAt, evRef time.Time
	// minSilence: a read that reached its deadline is evidence only after
	// this long without a byte since the connection's last request or
	// reply (health-timeout). A deadline a caller's short ctx set (a Send
	// given 20ms) says nothing of the path; taken as evidence, it had the
	// whole idle pool redialed (review of the sweep, finding 2).
	minSilence time.Duration
}

func newConnSet(minSilence time.Duration) *connSet {
	return &connSet{conns: map[*trackedConn]struct{}{}, minSilence: minSilence}
}

// monoBase anchors the connections' times (lastRead, lastWrite, staleAt:
// nanoseconds since it) on the monotonic clock, so that a step of the wall
// clock (NTP, a resumed VM) cannot make a live connection look overdue
// (review of the sweep: it used UnixNano). A year before the process
// started, so that every time dealt in is above 0 and a zero staleAt
// stays "never marked". Set once, never written.
var monoBase = time.Now().Add(-365 * 24 * time.Hour)

// mono is t in nanoseconds since monoBase, on the monotonic clock when t
// has a monotonic reading (time.Now's do).
func mono(t time.Time) int64 { return int64(t.Sub(monoBase)) }

// fromMono is the time mono returned n for.
func fromMono(n int64) time.Time { return monoBase.Add(time.Duration(n)) }

type dialFunc = func(context.Context, string, string) (net.Conn, error)

// dialer wraps a go-redis dialer so that the connections it makes are
// tracked until closed; reader: those of a consumer's reader (see
// connSet).
func (s *connSet) dialer(next dialFunc, reader bool) dialFunc {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := next(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		tc := &trackedConn{Conn: c, set: s, reader: reader}
		now := mono(time.Now())
		tc.lastRead.Store(now)
		tc.lastWrite.Store(now)
		if sc, ok := c.(syscall.Conn); ok {
			tc.sys = sc
		}
		s.mu.Lock()
		s.conns[tc] = struct{}{}
		s.mu.Unlock()
		return tc, nil
	}
}

// evidence records evidence of a dead path: a live connection would have
// received something after ref.
func (s *connSet) evidence(now, ref time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.evAt = now
	if ref.After(s.evRef) {
		s.evRef = ref
	}
}

// sweep closes the readers' connections that have waited for an answer
// for overdue or longer, received nothing since their request, and since
// then either the server answered a PING (alive: when the last answered
// PING went out; the server is up, the connection's path is dead) or a
// PING went unanswered (evidence no older than window). Each closed is
// evidence in turn. Then, while the last evidence is no older than window,
// it marks the connections that received nothing since it came stale (see
// connSet). It returns how many it closed.
func (s *connSet) sweep(now, alive time.Time, overdue, window time.Duration) int {
	s.mu.Lock()
	var out []*trackedConn
	for c := range s.conns {
		if !c.reader || !c.overdue(now, overdue) {
			continue
		}
		w := c.lastWrite.Load()
		if (!alive.IsZero() && mono(alive) > w) || (s.recent(now, window) && mono(s.evRef) > w) {
			out = append(out, c)
		}
	}
	s.mu.Unlock()
	n := 0
	for _, c := range out {
		if c.closeIfOverdue(now, overdue) {
			n++
			s.evidence(now, fromMono(c.lastWrite.Load()))
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.recent(now, window) {
		return n
	}
	// Marked: what received nothing since the evidence came, not since
	// its ref. A connection idle in the pool receives nothing, so its last
	// byte says nothing of when its path died: one whose reply came just
	// after a reader's request (the XACK of the entry that read returned)
	// and before the path died looked alive beside that request's time,
	// and a history read taking it waited out command-timeout.
	ref := mono(s.evAt)
	for c := range s.conns {
		if c.lastRead.Load() < ref {
			c.staleAt.Store(ref)
		}
	}
	return n
}

// recent reports evidence no older than window. s.mu held.
func (s *connSet) recent(now time.Time, window time.Duration) bool {
	return !s.evAt.IsZero() && now.Sub(s.evAt) <= window
}

// errCut is what a Write on a connection the sweep is closing returns: it
// wrote nothing.
var errCut = errors.New("redis: connection closed by the binder: its path is dead")

// trackedConn is a connection of a connSet.
type trackedConn struct {
	net.Conn
	set    *connSet
	reader bool
	sys    syscall.Conn // Conn's, when it has one (plain TCP)

	// lastRead is when a Read last returned bytes, lastWrite when a
	// Write last began or ended (see mono); both the dial's time before
	// the first.
	lastRead, lastWrite atomic.Int64
	// writing counts the Writes in progress; closing is set while the
	// sweep closes the connection. A Write increments writing and then
	// checks closing, the sweep sets closing and then checks writing
	// (sequentially consistent atomics): either the sweep sees the Write
	// and leaves the connection open, or the Write sees closing and
	// writes nothing.
	writing atomic.Int32
	closing atomic.Bool
	// staleAt, when above lastRead, marks the connection stale: it
	// received nothing since that evidence came (see mono).
	staleAt atomic.Int64
	closed  atomic.Bool
}

// Write notes the time and writes, unless the sweep is closing the
// connection: then it writes nothing.
func (c *trackedConn) Write(p []byte) (int, error) {
	c.writing.Add(1)
	defer c.writing.Add(-1)
	if c.closing.Load() {
		return 0, errCut
	}
	c.lastWrite.Store(mono(time.Now()))
	n, err := c.Conn.Write(p)
	c.lastWrite.Store(mono(time.Now()))
	return n, err
}

// Read reads and notes the time when bytes came (once per buffer fill of
// go-redis's reader, not per reply). A read that reached its deadline
// with nothing for minSilence or longer is evidence of a dead path:
// nothing came since the request.
func (c *trackedConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.lastRead.Store(mono(time.Now()))
	} else if err != nil && !c.closed.Load() {
		var ne net.Error
		last := max(c.lastWrite.Load(), c.lastRead.Load())
		if errors.As(err, &ne) && ne.Timeout() && mono(time.Now())-last >= int64(c.set.minSilence) {
			c.set.evidence(time.Now(), fromMono(last))
		}
	}
	return n, err
}

// overdue reports a connection that wrote a request overdue ago or more,
// has received nothing since, and writes nothing now.
func (c *trackedConn) overdue(now time.Time, overdue time.Duration) bool {
	w, r := c.lastWrite.Load(), c.lastRead.Load()
	return c.writing.Load() == 0 && w > r && mono(now)-w >= int64(overdue)
}

// closeIfOverdue closes the connection if it is still overdue and nothing
// waits in its socket unread (see received), and never during a Write
// (see closing).
func (c *trackedConn) closeIfOverdue(now time.Time, overdue time.Duration) bool {
	c.closing.Store(true)
	if !c.overdue(now, overdue) || c.received() {
		c.closing.Store(false)
		return false
	}
	_ = c.Close()
	return true
}

// Close closes the connection and stops tracking it.
func (c *trackedConn) Close() error {
	c.closed.Store(true)
	c.set.mu.Lock()
	delete(c.set.conns, c)
	c.set.mu.Unlock()
	return c.Conn.Close()
}

// stale reports a connection marked stale that received nothing since.
func (c *trackedConn) stale() bool { return c.lastRead.Load() < c.staleAt.Load() }

// SyscallConn serves go-redis's check of an idle connection before it
// hands it out (a peek at the socket, through syscall.Conn): a stale
// connection fails it, and go-redis closes it and takes or dials another.
// A connection without a socket of its own (TLS) is not peeked at, as
// go-redis does not peek at one (its buffered records would look like
// unexpected data).
func (c *trackedConn) SyscallConn() (syscall.RawConn, error) {
	rc := checkConn{c: c}
	if c.sys != nil {
		raw, err := c.sys.SyscallConn()
		if err != nil {
			return nil, err
		}
		rc.raw = raw
	}
	return rc, nil
}

// errStale fails go-redis's check of a stale connection.
var errStale = errors.New("redis: connection received nothing since its path was found dead")

// checkConn is the syscall.RawConn of a trackedConn: go-redis uses its
// Read only, to peek at an idle connection's socket.
type checkConn struct {
	c   *trackedConn
	raw syscall.RawConn // nil without a socket of its own
}

func (rc checkConn) Read(f func(fd uintptr) bool) error {
	if rc.c.stale() {
		return errStale
	}
	if rc.raw == nil {
		return nil
	}
	return rc.raw.Read(f)
}

func (rc checkConn) Write(f func(fd uintptr) bool) error {
	if rc.raw == nil {
		return errors.ErrUnsupported
	}
	return rc.raw.Write(f)
}

func (rc checkConn) Control(f func(fd uintptr)) error {
	if rc.raw == nil {
		return errors.ErrUnsupported
	}
	return rc.raw.Control(f)
}
