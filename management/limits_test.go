package management

import (
	"bufio"
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/memory"
	"github.com/streambind/streambind/stream"
)

// countingListener counts the connections open under the connection
// bound: its conns are closed before the bound releases their slot, so
// that the count it sees is exactly what the server holds.
type countingListener struct {
	net.Listener
	mu       sync.Mutex
	open     int
	maxOpen  int
	accepted int
	longest  time.Duration // longest a connection stayed open
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	l.open++
	l.accepted++
	l.maxOpen = max(l.maxOpen, l.open)
	l.mu.Unlock()
	return &countedConn{Conn: c, l: l, since: time.Now()}, nil
}

type countedConn struct {
	net.Conn
	l     *countingListener
	since time.Time
	once  sync.Once
}

func (c *countedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() {
		c.l.mu.Lock()
		c.l.open--
		c.l.longest = max(c.l.longest, time.Since(c.since))
		c.l.mu.Unlock()
	})
	return err
}

func newLimitedServer(t *testing.T, cfg Config) (*Server, *countingListener) {
	t.Helper()
	app, err := stream.NewApp(&stream.Config{}, stream.NewCatalog(), stream.WithBinderType(memory.Type, memory.New))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Address = "127.0.0.1:0"
	s := New(app, Options{Config: cfg})
	var cl *countingListener
	s.wrap = func(l net.Listener) net.Listener {
		cl = &countingListener{Listener: l}
		return cl
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Error(err)
		}
	})
	return s, cl
}

// Three times more connections than the bound, half of them silent (no
// request at all) and half idle after one keep-alive request: the server
// never holds more than the bound at once, closes every one of them within
// its timeout, and serves again afterwards.
func TestConnectionBoundAndIdleTimeout(t *testing.T) {
	const bound, conns = 4, 12
	const timeout = 300 * time.Millisecond
	s, cl := newLimitedServer(t, Config{ReadHeaderTimeout: timeout, ReadTimeout: timeout, IdleTimeout: timeout,
		WriteTimeout: 5 * time.Second, MaxConnections: bound})
	deadline := time.Now().Add(20 * time.Second) // far beyond conns/bound waves of timeout
	errs := make(chan error, conns)
	var wg sync.WaitGroup
	for i := range conns {
		c, err := net.Dial("tcp", s.Addr())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close() })
		if err := c.SetDeadline(deadline); err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func(keepAlive bool) {
			defer wg.Done()
			r := bufio.NewReader(c)
			if keepAlive {
				if _, err := c.Write([]byte("GET /health/liveness HTTP/1.1\r\nHost: x\r\n\r\n")); err != nil {
					errs <- err
					return
				}
				resp, err := http.ReadResponse(r, nil)
				if err != nil {
					errs <- err
					return
				}
				_ = resp.Body.Close()
				if resp.StatusCode != 200 || resp.Close {
					errs <- errors.New("liveness: " + resp.Status)
					return
				}
			}
			// Now idle (or silent from the start): the server must close.
			if _, err := r.ReadByte(); !errors.Is(err, os.ErrDeadlineExceeded) {
				errs <- nil // closed by the server (EOF or reset)
				return
			}
			errs <- errors.New("the server held an idle connection until the test's deadline")
		}(i%2 == 0)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	cl.mu.Lock()
	maxOpen, accepted, longest := cl.maxOpen, cl.accepted, cl.longest
	cl.mu.Unlock()
	t.Logf("accepted %d, at most %d at once, longest open %v", accepted, maxOpen, longest)
	if maxOpen > bound {
		t.Errorf("%d connections open at once, bound %d", maxOpen, bound)
	}
	if accepted < conns {
		t.Errorf("accepted %d of %d connections", accepted, conns)
	}
	// A silent connection lives ReadHeaderTimeout, an idle one a request
	// and IdleTimeout: allow for a loaded machine, not for the default.
	if longest > 10*timeout {
		t.Errorf("a connection stayed open %v; timeout %v", longest, timeout)
	}
	// Still serving.
	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get("http://" + s.Addr() + "/health/liveness")
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatal(resp.Status)
	}
}

func TestDefaults(t *testing.T) {
	c := Config{}.withDefaults()
	if c.ReadHeaderTimeout != DefaultReadHeaderTimeout || c.ReadTimeout != DefaultReadTimeout || c.WriteTimeout != DefaultWriteTimeout ||
		c.IdleTimeout != DefaultIdleTimeout || c.MaxConnections != DefaultMaxConnections || c.ShowValues != ShowNever {
		t.Fatalf("%+v", c)
	}
	for _, c := range []struct{ write, want time.Duration }{
		{DefaultWriteTimeout, StateChangeTimeout}, {10 * time.Second, 9 * time.Second}, {2 * time.Second, time.Second},
		{500 * time.Millisecond, 250 * time.Millisecond},
	} {
		s := &Server{opts: Options{Config: Config{WriteTimeout: c.write}}}
		if got := s.stateChangeTimeout(); got != c.want {
			t.Errorf("write timeout %v: state change timeout %v, want %v", c.write, got, c.want)
		}
	}
}
