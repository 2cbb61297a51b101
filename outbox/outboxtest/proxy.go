package outboxtest

import (
	"net"
	"net/url"
	"strconv"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
)

// Proxy is a loopback TCP proxy to the test database that a test can turn
// into a black hole: while frozen it forwards nothing either way and
// answers no new connection, yet keeps every connection open — a database
// that hangs, or a network that drops packets, without a word to either
// side. Thawed, it forwards again (what it held included).
type Proxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	gate   chan struct{} // closed while forwarding
	reply  chan struct{} // closed while forwarding the server's replies
	conns  []net.Conn
	wg     sync.WaitGroup
}

// BlackHole starts a Proxy to the test database (forwarding); it is closed,
// with its connections, when the test ends.
func BlackHole(t testing.TB) *Proxy {
	t.Helper()
	Require(t)
	c, err := pgx.ParseConfig(DSN())
	if err != nil {
		t.Fatalf("outboxtest: parse DSN: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &Proxy{ln: ln, target: net.JoinHostPort(c.Host, strconv.Itoa(int(c.Port))), gate: make(chan struct{}), reply: make(chan struct{})}
	close(p.gate)
	close(p.reply)
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.close)
	return p
}

// DSN is the test database's DSN through the proxy, with application_name
// set to app (empty: left out).
func (p *Proxy) DSN(t testing.TB, app string) string {
	t.Helper()
	u, err := url.Parse(DSN())
	if err != nil || u.Scheme == "" {
		t.Skip("the test DSN is not a URL")
	}
	u.Host = p.ln.Addr().String()
	if app != "" {
		q := u.Query()
		q.Set("application_name", app)
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// Freeze stops forwarding; Thaw forwards again.
func (p *Proxy) Freeze() {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.gate:
		p.gate = make(chan struct{})
	default:
	}
}

// FreezeReplies stops forwarding what the server sends, and only that:
// the client's statements still reach the server, which runs them, but
// their answers are lost on the way (until Thaw) — a commit whose outcome
// the client cannot know.
func (p *Proxy) FreezeReplies() {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.reply:
		p.reply = make(chan struct{})
	default:
	}
}

// Thaw forwards again, what was held first (Freeze and FreezeReplies).
func (p *Proxy) Thaw() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, g := range []chan struct{}{p.gate, p.reply} {
		select {
		case <-g:
		default:
			close(g)
		}
	}
}

func (p *Proxy) open() <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.gate
}

// replyOpen waits until the server's replies may be forwarded.
func (p *Proxy) replyOpen() {
	for {
		p.mu.Lock()
		gate, reply := p.gate, p.reply
		p.mu.Unlock()
		<-gate
		<-reply
		p.mu.Lock()
		open := isClosed(p.gate) && isClosed(p.reply)
		p.mu.Unlock()
		if open {
			return
		}
	}
}

func isClosed(c chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

func (p *Proxy) track(c net.Conn) {
	p.mu.Lock()
	p.conns = append(p.conns, c)
	p.mu.Unlock()
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.track(c)
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			<-p.open() // accepted, not answered while frozen
			up, err := net.Dial("tcp", p.target)
			if err != nil {
				_ = c.Close()
				return
			}
			p.track(up)
			p.wg.Add(1)
			go func() { defer p.wg.Done(); p.pipe(up, c, func() { <-p.open() }) }()
			p.pipe(c, up, p.replyOpen)
		}()
	}
}

// pipe copies src to dst until either closes, holding what it read while
// wait blocks (frozen).
func (p *Proxy) pipe(dst, src net.Conn, wait func()) {
	defer dst.Close()
	defer src.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			wait()
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// close ends the proxy: its listener and connections (thawed, so that
// nothing waits on the gate).
func (p *Proxy) close() {
	_ = p.ln.Close()
	p.Thaw()
	p.mu.Lock()
	for _, c := range p.conns {
		_ = c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}
