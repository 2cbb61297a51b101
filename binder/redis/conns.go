package redis

import (
	"context"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// connSet tracks the binder's open connections (those of its client and of
// its consumers' readers): when each last wrote and last received
// anything, so that the health probe can close those a dead path left
// open.
//
// Why: a path that drops packets without closing the sockets (a NAT or
// firewall that lost its state, a black-holed route) leaves every pooled
// connection open and dead. go-redis finds each one only by a command's
// read timeout when it next hands it out, one after another: after such a
// path came back (new connections working), a consumer handled nothing for
// 15–20 s while readiness was already up again (the reader's blocking read,
// then the pooled connections of the next commands, each waiting out its
// timeout). Closed, a pooled connection is found dead when go-redis takes
// it (its check of the socket) or fails at its first write, at once.
type connSet struct {
	mu    sync.Mutex
	conns map[*trackedConn]struct{}
}

func newConnSet() *connSet { return &connSet{conns: map[*trackedConn]struct{}{}} }

// dialer wraps a go-redis dialer so that the connections it makes are
// tracked until closed.
func (s *connSet) dialer(next func(context.Context, string, string) (net.Conn, error)) func(context.Context, string, string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := next(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		tc := &trackedConn{Conn: c, set: s}
		now := time.Now().UnixNano()
		tc.lastRead.Store(now)
		tc.lastWrite.Store(now)
		s.mu.Lock()
		s.conns[tc] = struct{}{}
		s.mu.Unlock()
		if _, ok := c.(syscall.Conn); ok {
			// go-redis checks an idle connection's socket before handing
			// it out (a peek that finds it closed) only through
			// syscall.Conn: kept for plain TCP. A TLS connection has none,
			// and must not claim one (a failing SyscallConn would make
			// every pooled connection look dead).
			return &trackedSysConn{tc}, nil
		}
		return tc, nil
	}
}

// sweep closes the connections a dead path left open, when there is
// evidence of one: force (a PING went unanswered), or a connection that
// has waited longer than stuck for an answer since it last wrote (a
// healthy server answers within health-timeout, a blocking read within
// its block time). Then it closes every connection waiting that long and
// every idle one (nothing written since its last answer; go-redis dials
// another when it needs one), and returns how many. A connection whose
// command is still within stuck keeps it: it may be healthy.
func (s *connSet) sweep(now time.Time, stuck time.Duration, force bool) int {
	cut := now.Add(-stuck).UnixNano()
	waitedLong := func(c *trackedConn) bool {
		w := c.lastWrite.Load()
		return w > c.lastRead.Load() && w < cut
	}
	var out []*trackedConn
	s.mu.Lock()
	evidence := force
	for c := range s.conns {
		if evidence {
			break
		}
		evidence = waitedLong(c)
	}
	if evidence {
		for c := range s.conns {
			if c.lastWrite.Load() <= c.lastRead.Load() || waitedLong(c) {
				out = append(out, c)
			}
		}
	}
	s.mu.Unlock()
	for _, c := range out {
		_ = c.Close()
	}
	return len(out)
}

// trackedConn is a connection of a connSet.
type trackedConn struct {
	net.Conn
	set *connSet
	// lastRead is when a Read last returned bytes, lastWrite when a
	// Write last began (Unix ns); both the dial's time before the first.
	lastRead, lastWrite atomic.Int64
}

// Write notes the time and writes (once per command or pipeline).
func (c *trackedConn) Write(p []byte) (int, error) {
	c.lastWrite.Store(time.Now().UnixNano())
	return c.Conn.Write(p)
}

// Read reads and notes the time when bytes came (once per buffer fill of
// go-redis's reader, not per reply).
func (c *trackedConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.lastRead.Store(time.Now().UnixNano())
	}
	return n, err
}

// Close closes the connection and stops tracking it; calls after the
// first return the connection's error for a closed connection.
func (c *trackedConn) Close() error {
	c.set.mu.Lock()
	delete(c.set.conns, c)
	c.set.mu.Unlock()
	return c.Conn.Close()
}

// trackedSysConn is a trackedConn over a connection with a socket
// (syscall.Conn), which go-redis's pool checks before handing it out.
type trackedSysConn struct{ *trackedConn }

// SyscallConn returns the underlying socket's.
func (c *trackedSysConn) SyscallConn() (syscall.RawConn, error) {
	return c.Conn.(syscall.Conn).SyscallConn()
}
