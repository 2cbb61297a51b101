package testproxy_test

import (
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"

	"github.com/streambind/streambind/internal/testproxy"
)

// echo starts a loopback server that writes back what it reads.
func echo(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { _, _ = io.Copy(c, c); c.Close() }() // till the proxy closes its side
		}
	}()
	return ln.Addr().String()
}

func dial(t *testing.T, p *testproxy.Proxy) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// roundTrip writes s and reads it back within d; it reports what it read
// and the read's error.
func roundTrip(t *testing.T, c net.Conn, s string, d time.Duration) (string, error) {
	t.Helper()
	if _, err := c.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(d))
	buf := make([]byte, len(s))
	n, err := io.ReadFull(c, buf)
	return string(buf[:n]), err
}

func TestFreezeHoldsThenThawForwards(t *testing.T) {
	p := testproxy.Start(t, echo(t))
	c := dial(t, p)
	if got, err := roundTrip(t, c, "a", 5*time.Second); got != "a" || err != nil {
		t.Fatalf("before Freeze: %q, %v", got, err)
	}
	p.Freeze(testproxy.Down)
	if got, err := roundTrip(t, c, "b", 200*time.Millisecond); got != "" || err == nil {
		t.Fatalf("frozen: read %q, %v; want nothing", got, err)
	}
	p.Thaw()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 1)
	if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "b" {
		t.Fatalf("after Thaw: %q, %v; want the held b", buf, err)
	}
	// Counted just after the write: what the client read may be ahead.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		l := p.Links()
		if len(l) != 1 {
			t.Fatalf("%d links, want 1", len(l))
		}
		if l[0].Up() == 2 && l[0].Down() == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("link counts up %d, down %d; want 2 each", l[0].Up(), l[0].Down())
		}
	}
}

func TestDropAndCut(t *testing.T) {
	p := testproxy.Start(t, echo(t))
	c := dial(t, p)
	p.Drop(true)
	if got, err := roundTrip(t, c, "a", 200*time.Millisecond); got != "" || err == nil {
		t.Fatalf("dropping: read %q, %v; want nothing", got, err)
	}
	p.Drop(false)
	p.Cut()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Fatal("read from a cut connection: no error")
	}
	if p.Links()[0].ClientClosed() {
		t.Error("a cut connection counted as closed by its client")
	}
	c2 := dial(t, p)
	if got, err := roundTrip(t, c2, "b", 5*time.Second); got != "b" || err != nil {
		t.Fatalf("a new connection after the cut: %q, %v", got, err)
	}
}

func TestStrandKeepsNewConnections(t *testing.T) {
	p := testproxy.Start(t, echo(t))
	c := dial(t, p)
	if _, err := roundTrip(t, c, "a", 5*time.Second); err != nil {
		t.Fatal(err)
	}
	p.Strand()
	if got, err := roundTrip(t, c, "b", 200*time.Millisecond); got != "" || err == nil {
		t.Fatalf("stranded: read %q, %v; want nothing", got, err)
	}
	c2 := dial(t, p)
	if got, err := roundTrip(t, c2, "c", 5*time.Second); got != "c" || err != nil {
		t.Fatalf("a new connection after Strand: %q, %v", got, err)
	}
}

func TestCutAfterEndsNewConnections(t *testing.T) {
	p := testproxy.Start(t, echo(t))
	old := dial(t, p)
	if _, err := roundTrip(t, old, "a", 5*time.Second); err != nil {
		t.Fatal(err)
	}
	p.CutAfter(100 * time.Millisecond)
	c := dial(t, p)
	if got, err := roundTrip(t, c, "b", 5*time.Second); got != "b" || err != nil {
		t.Fatalf("a new connection before its end: %q, %v", got, err)
	}
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read from a connection past its life: %v; want it closed", err)
	}
	if p.Links()[1].ClientClosed() {
		t.Error("a connection cut by CutAfter counted as closed by its client")
	}
	if got, err := roundTrip(t, old, "c", 5*time.Second); got != "c" || err != nil {
		t.Fatalf("a connection accepted before CutAfter: %q, %v", got, err)
	}
	p.CutAfter(0)
	c2 := dial(t, p)
	if got, err := roundTrip(t, c2, "d", 5*time.Second); got != "d" || err != nil {
		t.Fatalf("a new connection after CutAfter(0): %q, %v", got, err)
	}
	_ = c2.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if _, err := c2.Read(make([]byte, 1)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read from a connection after CutAfter(0): %v; want it open (a timeout)", err)
	}
}

// TestFreezeDownOnMarker: the trigger fires on the bytes that complete
// its marker, also when the marker is split across two writes: their
// reply is held until Thaw, what came before went through, and the
// trigger fires once.
func TestFreezeDownOnMarker(t *testing.T) {
	p := testproxy.Start(t, echo(t))
	c := dial(t, p)
	p.FreezeDownOn([]byte("MARK"))
	if got, err := roundTrip(t, c, "xxMA", 5*time.Second); got != "xxMA" || err != nil {
		t.Fatalf("before the marker is complete: %q, %v", got, err)
	}
	if got, err := roundTrip(t, c, "RKyy", 200*time.Millisecond); got != "" || err == nil {
		t.Fatalf("after the marker: read %q, %v; want nothing (held)", got, err)
	}
	p.Thaw()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 4)
	if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "RKyy" {
		t.Fatalf("after Thaw: %q, %v; want the held RKyy", buf, err)
	}
	if got, err := roundTrip(t, c, "MARK", 5*time.Second); got != "MARK" || err != nil {
		t.Fatalf("the trigger fired again: %q, %v", got, err)
	}
}
