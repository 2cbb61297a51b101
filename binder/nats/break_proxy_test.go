package nats_test

import (
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
)

// holeProxy forwards loopback connections to a server. It can cut every
// connection (close both ends: the client sees the socket go) or
// black-hole the traffic: every connection stays open, and what either side
// writes is read and thrown away, as on a network that lost its route; new
// connections are accepted and black-holed too.
type holeProxy struct {
	l      net.Listener
	target string
	hole   atomic.Bool

	mu    sync.Mutex
	conns []net.Conn
	// gate is closed while the proxy forwards; a stall (stall) replaces
	// it with an open one: nothing is read either way, so that TCP's
	// windows fill and the writers block, as on a path that stalls.
	gate chan struct{}
}

func newHoleProxy(t testing.TB, target string) *holeProxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &holeProxy{l: l, target: target, gate: make(chan struct{})}
	close(p.gate)
	t.Cleanup(func() { l.Close(); p.cut() })
	go p.serve()
	return p
}

func (p *holeProxy) url() string { return "nats://" + p.l.Addr().String() }

func (p *holeProxy) serve() {
	for {
		c, err := p.l.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		p.conns = append(p.conns, c)
		p.mu.Unlock()
		if p.hole.Load() {
			go func() { _, _ = io.Copy(io.Discard, c) }()
			continue
		}
		s, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, s)
		p.mu.Unlock()
		go p.pipe(c, s)
		go p.pipe(s, c)
	}
}

// pipe copies src to dst until either ends; while black-holed, what src
// sends is dropped (and dst is left open).
func (p *holeProxy) pipe(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		<-p.open()
		n, err := src.Read(buf)
		<-p.open()
		if n > 0 && !p.hole.Load() {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				break
			}
		}
		if err != nil {
			break
		}
	}
	dst.Close()
	src.Close()
}

// blackhole starts (true) or ends (false) dropping the traffic. Ending it
// does not resynchronise a connection that lost bytes: cut it then.
func (p *holeProxy) blackhole(on bool) { p.hole.Store(on) }

// stall stops (true) or resumes (false) reading from either side of every
// connection: what they write waits in TCP's buffers, and their writes
// block once those are full.
func (p *holeProxy) stall(on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.gate:
		if on {
			p.gate = make(chan struct{})
		}
	default:
		if !on {
			close(p.gate)
		}
	}
}

func (p *holeProxy) open() <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.gate
}

// cut closes every proxied connection.
func (p *holeProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}
