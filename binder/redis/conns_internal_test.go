package redis

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"
)

// trackedPair dials a loopback listener through s's dialer and returns the
// tracked connection and the server's end.
func trackedPair(t *testing.T, s *connSet, reader bool) (*trackedConn, net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			close(accepted)
			return
		}
		accepted <- c
	}()
	var d net.Dialer
	c, err := s.dialer(d.DialContext, reader)(context.Background(), "tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	srv, ok := <-accepted
	if !ok {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { _ = c.Close(); _ = srv.Close() })
	return c.(*trackedConn), srv
}

// checkErr is go-redis's check of an idle connection (a peek at its
// socket through SyscallConn) as the tracked connection answers it.
func checkErr(t *testing.T, c *trackedConn) error {
	t.Helper()
	raw, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	return raw.Read(func(uintptr) bool { return true })
}

func (c *trackedConn) isClosed() bool { return c.closed.Load() }

// TestSweepClosesOnlyOverdueReaders: with the server answering PINGs, the
// sweep closes a reader's connection that has waited overdue for an
// answer with nothing received, and no other: not a reader's connection
// mid-reply (bytes received after its request), nor one writing, nor a
// connection of the client waiting as long (it may carry an XADD). It
// marks every connection that received nothing since that evidence came
// stale, which go-redis's check of an idle connection then fails, until
// it receives a byte.
func TestSweepClosesOnlyOverdueReaders(t *testing.T) {
	s := newConnSet(time.Second)
	const overdue = 2200 * time.Millisecond
	now := time.Now()
	ns := func(d time.Duration) int64 { return mono(now.Add(-d)) }

	waiting, _ := trackedPair(t, s, true)
	waiting.lastRead.Store(ns(4 * time.Second))
	waiting.lastWrite.Store(ns(3 * time.Second))

	midReply, _ := trackedPair(t, s, true)
	midReply.lastWrite.Store(ns(5 * time.Second))
	midReply.lastRead.Store(ns(3 * time.Second)) // then quiet, mid-reply

	writing, _ := trackedPair(t, s, true)
	writing.lastRead.Store(ns(4 * time.Second))
	writing.lastWrite.Store(ns(3 * time.Second))
	writing.writing.Add(1) // a slow Write in progress

	client, srv := trackedPair(t, s, false)
	client.lastRead.Store(ns(4 * time.Second))
	client.lastWrite.Store(ns(3 * time.Second))

	fresh, _ := trackedPair(t, s, false)
	fresh.lastRead.Store(mono(now))
	fresh.lastWrite.Store(ns(time.Millisecond))

	alive := now.Add(-time.Second) // a PING went out after their requests and was answered
	if n := s.sweep(now, alive, overdue, 12*time.Second); n != 1 {
		t.Errorf("sweep closed %d connections, want 1", n)
	}
	if !waiting.isClosed() {
		t.Error("the overdue reader's connection is open")
	}
	for name, c := range map[string]*trackedConn{"mid-reply": midReply, "writing": writing, "client": client, "fresh": fresh} {
		if c.isClosed() {
			t.Errorf("the %s connection was closed", name)
		}
	}
	// Closing the overdue reader was evidence: the client's connection,
	// quiet since, is stale for go-redis's check.
	if err := checkErr(t, client); !errors.Is(err, errStale) {
		t.Errorf("check of the quiet client connection: %v, want errStale", err)
	}
	// Every connection quiet since the evidence came is marked, whatever
	// it received after the overdue request: an idle connection's last
	// byte does not tell when its path died. The one mid-reply too: go-
	// redis checks it only once idle again, its reply's bytes having
	// cleared the mark. One that received a byte since is not marked.
	if err := checkErr(t, midReply); !errors.Is(err, errStale) {
		t.Errorf("check of the connection quiet since the evidence (mid-reply): %v, want errStale", err)
	}
	if err := checkErr(t, fresh); err != nil {
		t.Errorf("check of the connection that received a byte as the evidence came: %v", err)
	}
	// A byte received clears the mark.
	if _, err := srv.Write([]byte("+")); err != nil {
		t.Fatal(err)
	}
	if _, err := client.Read(make([]byte, 1)); err != nil {
		t.Fatal(err)
	}
	if err := checkErr(t, client); err != nil {
		t.Errorf("check after a byte came: %v", err)
	}
}

// TestSweepWithoutEvidenceClosesNothing: a reader's connection overdue,
// but no PING sent after its request was answered or went unanswered:
// nothing is closed or marked.
func TestSweepWithoutEvidenceClosesNothing(t *testing.T) {
	s := newConnSet(time.Second)
	now := time.Now()
	rd, _ := trackedPair(t, s, true)
	rd.lastRead.Store(mono(now.Add(-4 * time.Second)))
	rd.lastWrite.Store(mono(now.Add(-3 * time.Second)))
	cl, _ := trackedPair(t, s, false)
	cl.lastRead.Store(mono(now.Add(-4 * time.Second)))
	for _, alive := range []time.Time{{}, now.Add(-5 * time.Second)} { // no PING answered yet; one before the request
		if n := s.sweep(now, alive, 2200*time.Millisecond, 12*time.Second); n != 0 || rd.isClosed() {
			t.Errorf("sweep closed %d connections without evidence (alive %v)", n, alive)
		}
	}
	if err := checkErr(t, cl); err != nil {
		t.Errorf("check without evidence: %v", err)
	}
}

// TestWriteDuringSweepCloseWritesNothing: a Write that starts while the
// sweep is closing the connection writes nothing (a cut mid-way could
// leave a whole command with the server and its reply lost).
func TestWriteDuringSweepCloseWritesNothing(t *testing.T) {
	s := newConnSet(time.Second)
	c, srv := trackedPair(t, s, true)
	c.closing.Store(true)
	if n, err := c.Write([]byte("*1\r\n$4\r\nPING\r\n")); n != 0 || !errors.Is(err, errCut) {
		t.Errorf("Write while closing: %d, %v; want 0, errCut", n, err)
	}
	c.closing.Store(false)
	_ = c.Close()
	_ = srv.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := srv.Read(make([]byte, 64)); n != 0 {
		t.Errorf("the server received %d bytes (err %v)", n, err)
	}
}

// TestSweepKeepsReaderWithUnreadReply: a reader's connection that looks
// overdue (its goroutine has not read for a while: a starved process) but
// whose reply waits unread in its socket is not closed: its path is live.
func TestSweepKeepsReaderWithUnreadReply(t *testing.T) {
	s := newConnSet(time.Second)
	now := time.Now()
	rd, srv := trackedPair(t, s, true)
	rd.lastRead.Store(mono(now.Add(-4 * time.Second)))
	rd.lastWrite.Store(mono(now.Add(-3 * time.Second)))
	if _, err := srv.Write([]byte("*-1\r\n")); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, rd.received)
	if n := s.sweep(now, now.Add(-time.Second), 2200*time.Millisecond, 12*time.Second); n != 0 || rd.isClosed() {
		t.Errorf("sweep closed %d connections, one with its reply waiting unread", n)
	}
}

// waitUntil waits (up to 5s) for cond.
func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
		time.Sleep(time.Millisecond)
	}
}

// TestShortDeadlineIsNoEvidence: a read that reached a deadline a caller's
// short ctx set (20ms, health-timeout 1s) is no evidence of a dead path —
// taken as one, it had every idle connection of the pool marked stale and
// redialed; a read that waited health-timeout without a byte is.
func TestShortDeadlineIsNoEvidence(t *testing.T) {
	t.Parallel()
	s := newConnSet(time.Second)
	c, _ := trackedPair(t, s, false)
	idle, _ := trackedPair(t, s, false)
	idle.lastRead.Store(mono(time.Now().Add(-time.Minute)))
	read := func(d time.Duration) {
		t.Helper()
		c.lastWrite.Store(mono(time.Now())) // a request went out
		_ = c.SetReadDeadline(time.Now().Add(d))
		if _, err := c.Read(make([]byte, 1)); err == nil {
			t.Fatal("read got a byte")
		}
	}
	read(20 * time.Millisecond)
	now := time.Now()
	s.sweep(now, time.Time{}, 2200*time.Millisecond, 12*time.Second)
	if err := checkErr(t, idle); err != nil {
		t.Errorf("idle connection after a 20ms deadline: %v, want no mark", err)
	}
	read(1100 * time.Millisecond)
	s.sweep(time.Now(), time.Time{}, 2200*time.Millisecond, 12*time.Second)
	if err := checkErr(t, idle); !errors.Is(err, errStale) {
		t.Errorf("idle connection after a read waited health-timeout: %v, want errStale", err)
	}
}
