//go:build !(linux || darwin || dragonfly || freebsd || netbsd || openbsd || solaris || illumos)

package redis

// received cannot peek at a socket here: it reports false.
func (c *trackedConn) received() bool { return false }
