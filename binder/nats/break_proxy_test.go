package nats_test

import (
	"sync"
	"testing"

	"github.com/streambind/streambind/internal/testproxy"
)

// holeProxy forwards loopback connections to a server. It can cut every
// connection (close both ends: the client sees the socket go) or
// black-hole the traffic: every connection stays open, and what either side
// writes is read and thrown away, as on a network that lost its route; new
// connections are accepted and black-holed too. It is a testproxy.Proxy
// under the names the tests use.
type holeProxy struct {
	p *testproxy.Proxy

	mu sync.Mutex
	// base is the number of connections accepted before the last cut.
	base int
}

func newHoleProxy(t testing.TB, target string) *holeProxy {
	t.Helper()
	return &holeProxy{p: testproxy.Start(t, target)}
}

func (p *holeProxy) url() string { return "nats://" + p.p.Addr() }

// blackhole starts (true) or ends (false) dropping the traffic. Ending it
// does not resynchronise a connection that lost bytes: cut it then.
func (p *holeProxy) blackhole(on bool) { p.p.Drop(on) }

// stall stops (true) or resumes (false) reading from either side of every
// connection: what they write waits in TCP's buffers, and their writes
// block once those are full.
func (p *holeProxy) stall(on bool) { p.p.Stall(on) }

// cut closes every proxied connection.
func (p *holeProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.base = len(p.p.Links())
	p.p.Cut()
}

// accepted is the number of client connections the proxy accepted since
// the last cut.
func (p *holeProxy) accepted() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.p.Links()) - p.base
}
