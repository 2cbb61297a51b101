package rabbittest

import (
	"encoding/binary"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Proxy is a loopback TCP proxy to the test broker, run by a test so that
// it can cut its own connections (and no one else's) and watch the frames
// its client sends.
type Proxy struct {
	ln       net.Listener
	accepted atomic.Int64
	onFrame  func(typ byte, channel uint16, payload []byte)

	mu         sync.Mutex
	conns      map[*pair]struct{}
	wg         sync.WaitGroup // the connections' goroutines
	acceptDone chan struct{}
	// stall, when not nil, holds the broker's frames until it is closed
	// (Stall, Unstall).
	stall chan struct{}
	// hold, when not nil, stops the reading of what the clients send
	// until it is closed (Hold, Release).
	hold chan struct{}
	// rate, when above 0, is how many bytes a second each connection
	// passes from the broker to its client (Throttle).
	rate atomic.Int64
}

// pair is a client connection and its connection to the broker. wmu
// serialises writes to the client (the broker's frames and injected ones).
type pair struct {
	c, up net.Conn
	wmu   sync.Mutex
}

func (pr *pair) close() {
	_ = pr.c.Close()
	_ = pr.up.Close()
}

// NewProxy starts a proxy on a free loopback port; it stops when the test
// ends. onFrame, if not nil, is called (from the connection's goroutine)
// with every frame a client sends, before it is forwarded.
func NewProxy(t testing.TB, onFrame func(typ byte, channel uint16, payload []byte)) *Proxy {
	t.Helper()
	return ListenProxy(t, "127.0.0.1:0", onFrame)
}

// ListenProxy is NewProxy on the address given.
func ListenProxy(t testing.TB, addr string, onFrame func(typ byte, channel uint16, payload []byte)) *Proxy {
	t.Helper()
	Require(t)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("rabbittest proxy: %v", err)
	}
	p := &Proxy{ln: ln, onFrame: onFrame, conns: map[*pair]struct{}{}, acceptDone: make(chan struct{})}
	go p.accept()
	t.Cleanup(p.Close)
	return p
}

// Addr is the proxy's host:port.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Accepted is the number of client connections accepted so far.
func (p *Proxy) Accepted() int { return int(p.accepted.Load()) }

// Cut closes every connection the proxy carries (both sides), as a network
// failure would, and returns how many client connections it cut.
func (p *Proxy) Cut() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := len(p.conns)
	for pr := range p.conns {
		pr.close()
		delete(p.conns, pr)
	}
	return n
}

// Close stops accepting, cuts every connection and waits for the
// proxy's goroutines.
func (p *Proxy) Close() {
	_ = p.ln.Close()
	<-p.acceptDone
	p.Unstall()
	p.Release()
	p.Cut()
	p.wg.Wait()
}

// Stall holds every frame the broker sends to the proxy's clients (from
// the next one on) until Unstall, as a stalled network or broker would;
// what the clients send still reaches the broker.
func (p *Proxy) Stall() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stall == nil {
		p.stall = make(chan struct{})
	}
}

// Throttle passes the broker's frames to each client at bytesPerSec (0:
// as fast as they come), from the next frame on, as a slow link would:
// a frame waits until its connection's bytes so far took their time.
func (p *Proxy) Throttle(bytesPerSec int64) { p.rate.Store(bytesPerSec) }

// Unstall forwards the frames Stall held, and the next ones.
func (p *Proxy) Unstall() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stall != nil {
		close(p.stall)
		p.stall = nil
	}
}

// Hold stops reading what the clients send (from the next read on) until
// Release: it waits in TCP's buffers, and a client's writes block once
// they are full, as on a path that stalls.
func (p *Proxy) Hold() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.hold == nil {
		p.hold = make(chan struct{})
	}
}

// Release reads what the clients send again.
func (p *Proxy) Release() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.hold != nil {
		close(p.hold)
		p.hold = nil
	}
}

// held waits while Hold is on.
func (p *Proxy) held() {
	p.mu.Lock()
	g := p.hold
	p.mu.Unlock()
	if g != nil {
		<-g
	}
}

// stalled is the gate a broker frame waits on (nil: none).
func (p *Proxy) stalled() chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stall
}

func (p *Proxy) done(pr *pair) {
	pr.close()
	p.mu.Lock()
	delete(p.conns, pr)
	p.mu.Unlock()
}

func (p *Proxy) accept() {
	defer close(p.acceptDone)
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.accepted.Add(1)
		up, err := net.Dial("tcp", Address())
		if err != nil {
			_ = c.Close()
			continue
		}
		pr := &pair{c: c, up: up}
		p.mu.Lock()
		p.conns[pr] = struct{}{}
		p.mu.Unlock()
		p.wg.Add(2)
		go func() {
			defer p.wg.Done()
			p.clientToBroker(c, up)
			p.done(pr)
		}()
		go func() {
			defer p.wg.Done()
			p.brokerToClient(pr)
			p.done(pr)
		}()
	}
}

// clientToBroker forwards the protocol header, then frame by frame.
func (p *Proxy) clientToBroker(c, up net.Conn) {
	if p.onFrame == nil {
		buf := make([]byte, 32<<10)
		for {
			p.held()
			n, err := c.Read(buf)
			if n > 0 {
				p.held()
				if _, werr := up.Write(buf[:n]); werr != nil {
					return
				}
			}
			if err != nil {
				return
			}
		}
	}
	hdr := make([]byte, 8) // "AMQP" 0 0 9 1
	if _, err := io.ReadFull(c, hdr); err != nil {
		return
	}
	if _, err := up.Write(hdr); err != nil {
		return
	}
	var fh [7]byte
	for {
		p.held()
		if _, err := io.ReadFull(c, fh[:]); err != nil {
			return
		}
		size := binary.BigEndian.Uint32(fh[3:7])
		buf := make([]byte, 7+int(size)+1)
		copy(buf, fh[:])
		if _, err := io.ReadFull(c, buf[7:]); err != nil {
			return
		}
		p.onFrame(fh[0], binary.BigEndian.Uint16(fh[1:3]), buf[7:7+size])
		if _, err := up.Write(buf); err != nil {
			return
		}
	}
}

// brokerToClient forwards the broker's frames to the client one by one,
// so that frames the test injects (Block, Unblock) go between them. A
// broker that answers with a protocol header (a version mismatch) is
// forwarded as is.
func (p *Proxy) brokerToClient(pr *pair) {
	var fh [7]byte
	var next time.Time // when the link is free again (Throttle)
	for {
		if _, err := io.ReadFull(pr.up, fh[:]); err != nil {
			return
		}
		if string(fh[:4]) == "AMQP" {
			pr.wmu.Lock()
			_, err := pr.c.Write(fh[:])
			pr.wmu.Unlock()
			if err == nil {
				_, _ = io.Copy(pr.c, pr.up)
			}
			return
		}
		size := binary.BigEndian.Uint32(fh[3:7])
		buf := make([]byte, 7+int(size)+1)
		copy(buf, fh[:])
		if _, err := io.ReadFull(pr.up, buf[7:]); err != nil {
			return
		}
		if g := p.stalled(); g != nil {
			<-g
		}
		if r := p.rate.Load(); r > 0 {
			// The frame leaves once the link sent those before it.
			now := time.Now()
			if next.Before(now) {
				next = now
			}
			next = next.Add(time.Duration(int64(len(buf)) * int64(time.Second) / r))
			time.Sleep(time.Until(next))
		}
		pr.wmu.Lock()
		_, err := pr.c.Write(buf)
		pr.wmu.Unlock()
		if err != nil {
			return
		}
	}
}

// Block sends every client connection of the proxy a connection.blocked
// frame with reason, as the broker does under a resource alarm (without
// raising one: the broker knows nothing of it), and returns how many it
// sent it to.
func (p *Proxy) Block(reason string) int {
	if len(reason) > 255 {
		reason = reason[:255]
	}
	payload := append([]byte{0, 10, 0, 60, byte(len(reason))}, reason...)
	return p.sendToClients(payload)
}

// Unblock sends every client connection of the proxy a
// connection.unblocked frame.
func (p *Proxy) Unblock() int {
	return p.sendToClients([]byte{0, 10, 0, 61})
}

// CloseChannel sends every client connection of the proxy a channel.close
// frame on channel with code and reason, as the broker sends when it closes
// a channel (a consumer_timeout, say), and returns how many it sent it to.
// The broker knows nothing of it: RabbitMQ 3.10 answers the client's
// close-ok by closing the connection (503 COMMAND_INVALID).
func (p *Proxy) CloseChannel(channel, code uint16, reason string) int {
	if len(reason) > 255 {
		reason = reason[:255]
	}
	payload := []byte{0, 20, 0, 40, byte(code >> 8), byte(code), byte(len(reason))}
	payload = append(append(payload, reason...), 0, 0, 0, 0) // class-id, method-id
	return p.sendToClientsOn(channel, payload)
}

// sendToClients writes a method frame on channel 0 with payload to every
// client connection.
func (p *Proxy) sendToClients(payload []byte) int {
	return p.sendToClientsOn(0, payload)
}

// sendToClientsOn writes a method frame on channel with payload to every
// client connection.
func (p *Proxy) sendToClientsOn(channel uint16, payload []byte) int {
	frame := make([]byte, 7, 8+len(payload))
	frame[0] = 1 // method frame
	binary.BigEndian.PutUint16(frame[1:3], channel)
	binary.BigEndian.PutUint32(frame[3:7], uint32(len(payload)))
	frame = append(append(frame, payload...), 0xCE)
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for pr := range p.conns {
		pr.wmu.Lock()
		_, err := pr.c.Write(frame)
		pr.wmu.Unlock()
		if err == nil {
			n++
		}
	}
	return n
}
