package rabbit

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"os"
	"sync"
	"testing"
	"time"
)

// boundedPipe is a writeBounded over one end of a net.Pipe (which buffers
// nothing: a write makes progress only as the other end reads), armed as
// after the handshake, with the no-progress window d, and the connMgr
// whose blocked state it follows; the other end is returned to read.
func boundedPipe(t *testing.T, d time.Duration) (*writeBounded, net.Conn, *connMgr) {
	t.Helper()
	client, server := net.Pipe()
	t.Cleanup(func() { client.Close(); server.Close() })
	m := newConnMgr(context.Background(), settings{}, "publisher", slog.New(slog.DiscardHandler))
	wb := &writeBounded{Conn: client, d: d, blocked: &m.blockedFlag}
	wb.armed.Store(true)
	m.wconn.Store(wb)
	return wb, server, m
}

type writeResult struct {
	n   int
	err error
	at  time.Time
}

func writeAsync(wb *writeBounded, b []byte) <-chan writeResult {
	ch := make(chan writeResult, 1)
	go func() {
		n, err := wb.Write(b)
		ch <- writeResult{n, err, time.Now()}
	}()
	return ch
}

// TestWriteBoundSlowLinkNotCut: one write of a large frame over a link
// that takes ~100 KB/s, far longer than the no-progress window, goes
// through. Before, the deadline (twice the heartbeat) was set once per
// write: amqp091-go writes a body frame (up to frame_max, 128 KB by
// default) in one write, which a slow but healthy link could not take in
// time, and every reconnection tried the same message again.
func TestWriteBoundSlowLinkNotCut(t *testing.T) {
	t.Parallel()
	const d, size = 200 * time.Millisecond, 128 << 10
	wb, server, _ := boundedPipe(t, d)
	read := make(chan int, 1)
	go func() {
		buf := make([]byte, 1<<10) // 1 KB every 10ms: ~100 KB/s
		tk := time.NewTicker(10 * time.Millisecond)
		defer tk.Stop()
		total := 0
		for total < size {
			<-tk.C
			n, err := server.Read(buf)
			total += n
			if err != nil {
				break
			}
		}
		read <- total
	}()
	start := time.Now()
	n, err := wb.Write(make([]byte, size))
	took := time.Since(start)
	if err != nil {
		t.Fatalf("a write of %d bytes over a ~100 KB/s link failed after %s (%d bytes taken, no-progress window %s): %v", size, took, n, d, err)
	}
	if got := <-read; got != size {
		t.Fatalf("the reader got %d bytes, want %d", got, size)
	}
	t.Logf("%d bytes in %s with a no-progress window of %s", size, took.Round(time.Millisecond), d)
}

// TestWriteBoundStalledWriteFails: a write the other end stops taking
// fails between d and 2d after it last took bytes, with the bytes it took.
func TestWriteBoundStalledWriteFails(t *testing.T) {
	t.Parallel()
	const d, size, taken = 200 * time.Millisecond, 128 << 10, 16 << 10
	wb, server, _ := boundedPipe(t, d)
	// The pipe last took bytes during the last Read: after the time taken
	// before that call, before the time taken after it (this goroutine may
	// run late in between).
	lastRead := make(chan [2]time.Time, 1)
	go func() {
		buf := make([]byte, 1<<10)
		total := 0
		var began, ended time.Time
		for total < taken {
			began = time.Now()
			n, err := server.Read(buf)
			ended = time.Now()
			total += n
			if err != nil {
				break
			}
		}
		lastRead <- [2]time.Time{began, ended} // and reads no more
	}()
	res := <-writeAsync(wb, make([]byte, size))
	if !errors.Is(res.err, os.ErrDeadlineExceeded) {
		t.Fatalf("a stalled write returned %d, %v; want a deadline error", res.n, res.err)
	}
	if res.n != taken {
		t.Errorf("the stalled write reports %d bytes written, want %d", res.n, taken)
	}
	last := <-lastRead
	since := res.at.Sub(last[1])
	t.Logf("failed %s after the last read (d %s)", since.Round(time.Millisecond), d)
	if atLeast := res.at.Sub(last[0]); atLeast < d-10*time.Millisecond || since > 2*d+300*time.Millisecond {
		t.Errorf("a stalled write failed %s (%s from the start of the last read) after the last read; want between %s and %s", since, atLeast, d, 2*d)
	}
}

// TestWriteBoundBlockedWhileArming: the broker blocks the connection (a
// resource alarm) just after a write found it unblocked and before it set
// its deadline: the write is not bounded (the broker reads again when the
// alarm clears). Before, unbound ran before the deadline was set and the
// write failed after d though the alarm was on.
func TestWriteBoundBlockedWhileArming(t *testing.T) {
	t.Parallel()
	const d, size = 100 * time.Millisecond, 64 << 10
	wb, server, m := boundedPipe(t, d)
	var once sync.Once
	wb.beforeArm = func() { once.Do(func() { m.setBlocked(true, "test alarm") }) }
	alarm := 5 * d
	done := make(chan error, 1)
	go func() {
		// Nothing read while the alarm lasts, then everything.
		time.Sleep(alarm)
		buf := make([]byte, 8<<10)
		total := 0
		for total < size {
			n, err := server.Read(buf)
			total += n
			if err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	res := <-writeAsync(wb, make([]byte, size))
	if res.err != nil {
		t.Fatalf("a write during an alarm (which began as the write armed its deadline) failed: %d bytes, %v", res.n, res.err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestWriteBoundAgainWhenUnblocked: a write in progress while the broker
// blocks the connection is not bounded, and is bounded again when the
// block ends: on a path that stalls meanwhile it fails within 2d of the
// end of the block rather than waiting for the path to come back.
func TestWriteBoundAgainWhenUnblocked(t *testing.T) {
	t.Parallel()
	const d, size = 100 * time.Millisecond, 64 << 10
	wb, server, m := boundedPipe(t, d)
	m.setBlocked(true, "test alarm")
	firstRead := make(chan struct{})
	go func() {
		buf := make([]byte, 1<<10)
		if _, err := server.Read(buf); err == nil {
			close(firstRead) // and reads no more
		}
	}()
	res := writeAsync(wb, make([]byte, size))
	<-firstRead
	select {
	case r := <-res:
		t.Fatalf("a write during an alarm returned: %d bytes, %v", r.n, r.err)
	case <-time.After(4 * d):
	}
	m.setBlocked(false, "")
	unblocked := time.Now()
	select {
	case r := <-res:
		if !errors.Is(r.err, os.ErrDeadlineExceeded) {
			t.Fatalf("the stalled write returned %d, %v; want a deadline error", r.n, r.err)
		}
		since := r.at.Sub(unblocked)
		t.Logf("failed %s after the block ended (d %s)", since.Round(time.Millisecond), d)
		if since > 2*d+300*time.Millisecond {
			t.Errorf("the stalled write failed %s after the block ended; want at most %s", since, 2*d)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a stalled write was not bounded again 5s after the block ended")
	}
}
