package outbox

import (
	"context"
	"net/url"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/streambind/streambind/outbox/outboxtest"
)

// TestConnectBoundedBySendTimeout: the relay's connections to a database
// that accepts and never answers give up when the DSN sets no
// connect_timeout — after send-timeout, at least minConnectTimeout (a
// handshake may take longer than a short send-timeout) — both the pool's
// and the listener's, which connect with the same settings; a DSN's own
// connect_timeout is kept. (pgx waited for ever: a relay's pool connected
// in the background long after the batch that asked had given up, and
// its listener hung in its connect.) The black hole is tried with the
// DSN's connect_timeout=1, which sets the same field as the default, so
// that the test does not wait out minConnectTimeout twice.
func TestConnectBoundedBySendTimeout(t *testing.T) {
	t.Parallel()
	px := outboxtest.BlackHole(t)
	for _, tc := range []struct{ send, want time.Duration }{
		{500 * time.Millisecond, minConnectTimeout},
		{45 * time.Second, 45 * time.Second},
	} {
		pc, err := poolConfig(Config{DSN: px.DSN(t, "obx_connect_timeout"), SendTimeout: tc.send}.withDefaults())
		if err != nil {
			t.Fatal(err)
		}
		if got := pc.ConnConfig.ConnectTimeout; got != tc.want {
			t.Errorf("connect timeout %s with send-timeout %s; want %s", got, tc.send, tc.want)
		}
	}
	const sendTimeout = time.Second
	cfg := Config{DSN: px.DSN(t, "obx_connect_timeout"), SendTimeout: sendTimeout}.withDefaults()
	u, err := url.Parse(cfg.DSN)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("connect_timeout", "1")
	u.RawQuery = q.Encode()
	pc, err := poolConfig(Config{DSN: u.String(), SendTimeout: sendTimeout}.withDefaults())
	if err != nil {
		t.Fatal(err)
	}
	px.Freeze()

	pool, err := pgxpool.NewWithConfig(context.Background(), pc)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	tries := map[string]func() error{
		"pool": func() error {
			c, err := pool.Acquire(context.Background()) // as the pool's background connect: no deadline of its own
			if err == nil {
				c.Release()
			}
			return err
		},
		"listener": func() error {
			c, err := pgx.ConnectConfig(context.Background(), pc.ConnConfig.Copy())
			if err == nil {
				c.Close(context.Background())
			}
			return err
		},
	}
	for name, try := range tries {
		start := time.Now()
		done := make(chan error, 1)
		go func() { done <- try() }()
		select {
		case err := <-done:
			took := time.Since(start)
			t.Logf("%s: connect to the black hole failed after %s: %v", name, took.Round(time.Millisecond), err)
			if err == nil {
				t.Errorf("%s: connected to a black hole", name)
			}
			if took < sendTimeout/2 {
				t.Errorf("%s: gave up after %s; want about send-timeout (%s)", name, took, sendTimeout)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("%s: connect to the black hole still waiting after 10s; want it to give up after send-timeout (%s)", name, sendTimeout)
			px.Thaw() // the connect goes on and ends
			<-done
			px.Freeze()
		}
	}

	// A DSN's own connect_timeout is kept.
	q.Set("connect_timeout", "7")
	u.RawQuery = q.Encode()
	cfg.DSN = u.String()
	if pc, err = poolConfig(cfg); err != nil {
		t.Fatal(err)
	}
	if got := pc.ConnConfig.ConnectTimeout; got != 7*time.Second {
		t.Errorf("connect timeout %s with connect_timeout=7 in the DSN; want 7s", got)
	}
}
