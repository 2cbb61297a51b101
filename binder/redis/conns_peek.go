//go:build linux || darwin || dragonfly || freebsd || netbsd || openbsd || solaris || illumos

package redis

import (
	"net"
	"syscall"
)

// received reports whether bytes (or the peer's close) wait in the
// connection's socket, read by nobody yet: its path is not dead, whatever
// lastRead says (the goroutine reading it may just not have run). It peeks
// without the poller's read lock (Control, not Read), so it does not wait
// for a Read in progress. A connection without a socket of its own
// reports false.
func (c *trackedConn) received() bool {
	sc := c.sys
	if sc == nil {
		if u, ok := c.Conn.(interface{ NetConn() net.Conn }); ok { // TLS
			sc, _ = u.NetConn().(syscall.Conn)
		}
	}
	if sc == nil {
		return false
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	var got bool
	_ = raw.Control(func(fd uintptr) {
		var b [1]byte
		n, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		got = n > 0 || (n == 0 && err == nil)
	})
	return got
}
