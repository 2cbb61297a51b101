// Package testproxy is a loopback TCP proxy that tests put between a
// client and a server (a broker, a database) in order to break the path
// between them in the ways networks break, without touching the server,
// which other programs may share: hold the bytes of one direction or both
// (Freeze; FreezeDownOn: the replies from the moment a client sent a
// given request, so that the request takes effect and its reply is
// lost), stop reading altogether so that TCP's windows fill (Stall),
// drop what either side writes while the connections stay open (Drop),
// lose the state of the connections open now for good (Strand), slow the
// link down (Throttle), close every connection (Cut) or each new one soon
// after it is made (CutAfter). It also reports what it saw of each client
// connection (Links).
//
// It forwards bytes and knows nothing of any protocol; a proxy that reads
// frames (binder/rabbit/rabbittest) is another matter. It is for tests and
// test-support packages only: nothing in the library imports it.
package testproxy

import (
	"bytes"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Direction names one way or both ways of a proxied connection.
type Direction int

const (
	// Up is what the client sends to the server.
	Up Direction = 1 << iota
	// Down is what the server sends to the client.
	Down
	// Both is Up and Down.
	Both = Up | Down
)

// Proxy forwards each connection accepted on its loopback address to its
// target. The zero value is not usable: see Start.
type Proxy struct {
	ln     net.Listener
	target string
	done   chan struct{} // closed by close
	wg     sync.WaitGroup
	drop   atomic.Bool

	mu sync.Mutex
	// hold holds, per direction (Up, Down), what was read until it is
	// closed (Freeze, Thaw); stall stops the reading of both (Stall).
	hold  [2]chan struct{}
	stall chan struct{}
	conns []net.Conn
	links []*Link
	// epoch counts Strand calls: a connection established in an earlier
	// epoch forwards nothing any more.
	epoch int
	// rate, when not 0, is the link's bandwidth in bytes per second,
	// shared by every connection and both directions; next is when the
	// link is free again.
	rate int
	next time.Time
	// trigger, when not nil, is what a client's bytes must contain for
	// the proxy to freeze Down before it forwards them (FreezeDownOn).
	trigger []byte
	// life, when not 0, is how long a connection accepted now lives
	// (CutAfter).
	life time.Duration
}

// Link is what the proxy saw of one client connection.
type Link struct {
	up   atomic.Int64
	down atomic.Int64
	cut  atomic.Bool
	// clientEnded: see ClientClosed.
	clientEnded atomic.Bool
}

// Up is the number of bytes forwarded from the client to the server.
func (l *Link) Up() int64 { return l.up.Load() }

// Down is the number of bytes forwarded from the server to the client.
func (l *Link) Down() int64 { return l.down.Load() }

// ClientClosed reports whether the client's side of the connection ended
// otherwise than by Cut or the end of the test: the client closed it (or
// the proxy did, once the server's side had ended).
func (l *Link) ClientClosed() bool { return l.clientEnded.Load() }

// Start listens on a free loopback port and forwards every connection
// accepted there to target (host:port), dialled when the connection is
// accepted. The proxy and its connections are closed when the test ends.
func Start(t testing.TB, target string) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("testproxy: %v", err)
	}
	p := &Proxy{ln: ln, target: target, done: make(chan struct{}), stall: opened()}
	p.hold = [2]chan struct{}{opened(), opened()}
	p.wg.Go(p.accept)
	t.Cleanup(p.close)
	return p
}

func opened() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}

func isOpen(c chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// Addr is the proxy's address (host:port), for the client to dial.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Freeze holds the bytes of direction d: what the proxy reads from that
// side waits in it, unforwarded, and the connections stay open, as with
// a server that hangs or a network that drops packets (a side that
// closes its connection is still seen to close it). While Up is frozen,
// connections are accepted but not dialled: the client's handshake waits
// too. Thaw ends it.
func (p *Proxy) Freeze(d Direction) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, dir := range []Direction{Up, Down} {
		if d&dir != 0 && isOpen(p.hold[i]) {
			p.hold[i] = make(chan struct{})
		}
	}
}

// Thaw forwards again both ways, what was held first (Freeze).
func (p *Proxy) Thaw() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.hold {
		if !isOpen(c) {
			close(c)
		}
	}
}

// Stall stops (true) or resumes (false) the reading of either side of
// every connection: what they write waits in TCP's buffers, and their
// writes block once those are full, as on a path that stalls. Unlike
// Freeze, a side's close is not seen either, and new connections are
// dialled (and stalled).
func (p *Proxy) Stall(on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case on && isOpen(p.stall):
		p.stall = make(chan struct{})
	case !on && !isOpen(p.stall):
		close(p.stall)
	}
}

// FreezeDownOn arms a trigger: the first time a client sends bytes that
// contain marker (within what the proxy read of one connection, across
// its reads), the proxy freezes Down (see Freeze) before it forwards them
// to the server. The server gets the request and does what it asks; its
// reply, and anything else the server sends any connection, waits in the
// proxy until Thaw (or is lost with Cut): a reply lost after the request
// took effect, as when a connection breaks at the wrong moment. One
// trigger at a time; it fires once.
func (p *Proxy) FreezeDownOn(marker []byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.trigger = append([]byte(nil), marker...)
}

// fire freezes Down and disarms the trigger if seen (what a client sent
// so far on one connection, the end of it) contains the trigger.
func (p *Proxy) fire(seen []byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.trigger == nil || !bytes.Contains(seen, p.trigger) {
		return
	}
	p.trigger = nil
	if isOpen(p.hold[1]) {
		p.hold[1] = make(chan struct{})
	}
}

// triggerLen is the length of the armed trigger, 0 when none is.
func (p *Proxy) triggerLen() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.trigger)
}

// Drop starts (true) or ends (false) a black hole: what either side sends
// is read and thrown away while every connection stays open, as on a
// network that lost its route; a connection accepted meanwhile is never
// dialled, and what its client sends is thrown away too. Ending it does
// not resynchronise a connection that lost bytes: Cut it then.
func (p *Proxy) Drop(on bool) { p.drop.Store(on) }

// Strand black-holes the connections open now for good (a NAT or
// firewall that lost their state): they forward nothing more, and stay
// open until the test ends, while new connections are forwarded.
func (p *Proxy) Strand() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.epoch++
}

// Throttle makes the proxy a link of rate bytes per second, shared by all
// connections and both directions; 0 is no limit.
func (p *Proxy) Throttle(rate int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rate = rate
}

// Cut closes every connection open now, both ends: the client and the
// server see the socket go.
func (p *Proxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, l := range p.links {
		l.cut.Store(true)
	}
	for _, c := range p.conns {
		_ = c.Close()
	}
	p.conns = nil
}

// CutAfter makes the proxy close every connection it accepts from now on,
// both ends as with Cut, d after accepting it, as a server or a middlebox
// that kills each connection soon after it is made; 0 ends it. The
// connections accepted earlier are left alone.
func (p *Proxy) CutAfter(d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.life = d
}

// ends is one connection's sockets, the client's and, once dialled, the
// server's, for CutAfter to close when the connection's life is over.
type ends struct {
	mu     sync.Mutex
	conns  []net.Conn
	closed bool
}

// add adds c, or closes it at once when the life is over already.
func (e *ends) add(c net.Conn) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		_ = c.Close()
		return
	}
	e.conns = append(e.conns, c)
}

func (e *ends) close() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.closed = true
	for _, c := range e.conns {
		_ = c.Close()
	}
}

// Links returns the client connections accepted so far, in order.
func (p *Proxy) Links() []*Link {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]*Link(nil), p.links...)
}

func (p *Proxy) stranded(epoch int) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return epoch != p.epoch
}

// wait waits until the gates named are open, or the proxy is closed:
// the stall's (stall) and the holds of the directions in hold.
func (p *Proxy) wait(stall bool, hold Direction) {
	for {
		p.mu.Lock()
		var gates []chan struct{}
		if stall {
			gates = append(gates, p.stall)
		}
		for i, dir := range []Direction{Up, Down} {
			if hold&dir != 0 {
				gates = append(gates, p.hold[i])
			}
		}
		p.mu.Unlock()
		open := true
		for _, g := range gates {
			if !isOpen(g) {
				open = false
				select {
				case <-g:
				case <-p.done:
					return
				}
			}
		}
		if open {
			return
		}
	}
}

// take waits until the link has carried n more bytes (throttled).
func (p *Proxy) take(n int) {
	p.mu.Lock()
	if p.rate == 0 {
		p.mu.Unlock()
		return
	}
	now := time.Now()
	if p.next.Before(now) {
		p.next = now
	}
	p.next = p.next.Add(time.Duration(n) * time.Second / time.Duration(p.rate))
	wait := time.Until(p.next)
	p.mu.Unlock()
	select {
	case <-time.After(wait):
	case <-p.done:
	}
}

// track adds c to the connections to close (Cut, close); once the proxy
// is closed, it closes c at once.
func (p *Proxy) track(c net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if isOpen(p.done) {
		_ = c.Close()
		return
	}
	p.conns = append(p.conns, c)
}

func (p *Proxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		link := &Link{}
		p.mu.Lock()
		p.links = append(p.links, link)
		life := p.life
		p.mu.Unlock()
		p.track(c)
		mine := &ends{conns: []net.Conn{c}}
		if life > 0 {
			time.AfterFunc(life, func() {
				link.cut.Store(true)
				mine.close()
			})
		}
		if p.drop.Load() {
			p.wg.Go(func() { _, _ = io.Copy(io.Discard, c) })
			continue
		}
		p.wg.Go(func() {
			p.wait(false, Up) // accepted, not answered while frozen
			// Established once forwarding (a SYN resent after the hole).
			p.mu.Lock()
			epoch := p.epoch
			p.mu.Unlock()
			up, err := net.Dial("tcp", p.target)
			if err != nil {
				_ = c.Close()
				return
			}
			p.track(up)
			mine.add(up)
			p.wg.Go(func() {
				if p.pipe(up, c, Up, epoch, &link.up) && !link.cut.Load() {
					select {
					case <-p.done:
					default:
						link.clientEnded.Store(true)
					}
				}
			})
			p.pipe(c, up, Down, epoch, &link.down)
		})
	}
}

// pipe copies from src to dst (direction d) until either ends, reading
// nothing while stalled, holding what it read while d is frozen or
// stalled, dropping it while a black hole or once stranded, and counting
// what it forwarded in fwd. It reports whether src ended (rather than
// dst).
func (p *Proxy) pipe(dst, src net.Conn, d Direction, epoch int, fwd *atomic.Int64) (srcEnded bool) {
	defer src.Close()
	defer dst.Close()
	buf := make([]byte, 32<<10)
	var tail []byte // Up: the end of what came before (FreezeDownOn)
	for {
		p.wait(true, 0)
		n, err := src.Read(buf)
		if n > 0 {
			if k := p.triggerLen(); d == Up && k > 0 {
				tail = append(tail, buf[:n]...)
				p.fire(tail)
				tail = tail[max(0, len(tail)-(k-1)):]
			}
			if p.stranded(epoch) {
				<-p.done // dropped, the connection left open
				return false
			}
			p.wait(true, d)
			if p.stranded(epoch) { // stranded while frozen
				<-p.done
				return false
			}
			if !p.drop.Load() {
				p.take(n)
				if _, werr := dst.Write(buf[:n]); werr != nil {
					return false
				}
				fwd.Add(int64(n))
			}
		}
		if err != nil {
			return true
		}
	}
}

// close ends the proxy: its listener and connections, and whatever waits
// on a gate, the link or a stranded connection.
func (p *Proxy) close() {
	close(p.done)
	_ = p.ln.Close()
	p.mu.Lock()
	for _, c := range p.conns {
		_ = c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}
