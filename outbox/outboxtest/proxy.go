package outboxtest

import (
	"net"
	"net/url"
	"strconv"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/streambind/streambind/internal/testproxy"
)

// Proxy is a loopback TCP proxy to the test database that a test can turn
// into a black hole: while frozen it forwards nothing either way and
// answers no new connection, yet keeps every connection open — a database
// that hangs, or a network that drops packets, without a word to either
// side. Thawed, it forwards again (what it held included). It is a
// testproxy.Proxy.
type Proxy struct {
	p *testproxy.Proxy
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
	return &Proxy{p: testproxy.Start(t, net.JoinHostPort(c.Host, strconv.Itoa(int(c.Port))))}
}

// DSN is the test database's DSN through the proxy, with application_name
// set to app (empty: left out).
func (p *Proxy) DSN(t testing.TB, app string) string {
	t.Helper()
	u, err := url.Parse(DSN())
	if err != nil || u.Scheme == "" {
		t.Skip("the test DSN is not a URL")
	}
	u.Host = p.p.Addr()
	if app != "" {
		q := u.Query()
		q.Set("application_name", app)
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// Freeze stops forwarding; Thaw forwards again.
func (p *Proxy) Freeze() { p.p.Freeze(testproxy.Both) }

// FreezeReplies stops forwarding what the server sends, and only that:
// the client's statements still reach the server, which runs them, but
// their answers are lost on the way (until Thaw) — a commit whose outcome
// the client cannot know.
func (p *Proxy) FreezeReplies() { p.p.Freeze(testproxy.Down) }

// Thaw forwards again, what was held first (Freeze and FreezeReplies).
func (p *Proxy) Thaw() { p.p.Thaw() }
