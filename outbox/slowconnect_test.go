package outbox_test

import (
	"context"
	"io"
	"net"
	"net/url"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/streambind/streambind/outbox"
	"github.com/streambind/streambind/outbox/outboxtest"
)

// slowConnectProxy forwards to the test database, holding the server's
// first bytes on each connection for delay (a slow handshake: LDAP/GSS
// auth, a loaded server's fork, a far TLS endpoint); afterwards it is a
// plain pipe.
func slowConnectProxy(t *testing.T, delay time.Duration) string {
	c, err := pgx.ParseConfig(outboxtest.DSN())
	if err != nil {
		t.Fatal(err)
	}
	target := net.JoinHostPort(c.Host, "5432")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			cl, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", target)
			if err != nil {
				cl.Close()
				continue
			}
			go func() { _, _ = io.Copy(up, cl); up.Close() }()
			go func() {
				buf := make([]byte, 32<<10)
				first := true
				for {
					n, err := up.Read(buf)
					if n > 0 {
						if first {
							time.Sleep(delay)
							first = false
						}
						if _, werr := cl.Write(buf[:n]); werr != nil {
							break
						}
					}
					if err != nil {
						break
					}
				}
				cl.Close()
			}()
		}
	}()
	u, _ := url.Parse(outboxtest.DSN())
	u.Host = ln.Addr().String()
	return u.String()
}

// TestSlowConnectStillRelays: a handshake slower than send-timeout (1.5 s
// against 1 s) still gives the relay its connections: the default
// connect timeout is at least 10 s (with send-timeout as the bound, every
// attempt was cut and the relay never sent).
func TestSlowConnectStillRelays(t *testing.T) {
	t.Parallel()
	pool, table := migrate(t)
	dsn := slowConnectProxy(t, 1500*time.Millisecond)
	cfg := outbox.Config{Table: table, DSN: dsn, PollInterval: 200 * time.Millisecond, SendTimeout: time.Second}
	_, ob, got, _ := breakApp(t, newBroker(t, "memory"), true, cfg)
	ctx := context.Background()
	inTx(t, pool, true, func(tx pgx.Tx) {
		if err := ob.Send(ctx, tx, "events", event{Key: "k", Seq: 0}, outbox.Key("k")); err != nil {
			t.Fatal(err)
		}
	})
	receive(t, got, 15*time.Second)
}
