package redis

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"syscall"
	"time"
)

// tlsMismatchLike reports whether err, of a first connection, is what a
// TLS mismatch looks like: with TLS on, a timeout (a plain-text server
// never answers the handshake); with TLS off, the server closing the
// connection (a TLS server drops a plain-text command). Only then is
// diagnoseTLS worth its round trips: a refused connection is not.
func tlsMismatchLike(err error, tlsOn bool) bool {
	if !isUnreachable(err) {
		return false
	}
	if tlsOn {
		return isTimeout(err)
	}
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET)
}

// maxProbe bounds a TLS diagnosis (each of its dial and exchange).
const maxProbe = 2 * time.Second

// diagnoseTLS looks, after a connection failed as unreachable, for the
// likely cause that a plain "cannot reach the server" hides: with TLS
// on, a server that answers a plain-text PING (the TLS handshake waits
// for an answer a plain-text server never sends: the connection failed
// only at dial-timeout, with "context deadline exceeded"); with TLS off,
// a server that completes a TLS handshake (it drops a plain-text
// command). It returns that cause, or nil. It
// sends no credentials: a PING, or a handshake without a client
// certificate. The cause is a setting to fix, not a server to wait for:
// the caller does not mark it [stream.Unavailable].
func (bd *Binder) diagnoseTLS(ctx context.Context) error {
	limit := min(bd.st.dialTimeout, maxProbe)
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", bd.st.addr)
	if err != nil {
		return nil
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	if bd.st.tls != nil {
		if _, err := conn.Write([]byte("PING\r\n")); err != nil {
			return nil
		}
		b, err := bufio.NewReader(conn).ReadByte()
		if err == nil && (b == '+' || b == '-') { // a RESP reply: +PONG, -NOAUTH …
			return errors.New("TLS is on (tls, or a rediss:// url) but the server answers in plain text: it does not speak TLS at this address; turn tls off (a redis:// url) or use the server's TLS port")
		}
		return nil
	}
	//nolint:gosec // only to see whether the server speaks TLS at all; nothing is sent over it
	tc := tls.Client(conn, &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12})
	if tc.HandshakeContext(ctx) == nil {
		return errors.New("TLS is off but the server speaks TLS at this address (it drops plain-text commands): set tls.enabled: true or use a rediss:// url")
	}
	return nil
}

// isTimeout reports a deadline that passed: the context's, or a
// connection's.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}
