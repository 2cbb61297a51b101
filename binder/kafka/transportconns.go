package kafka

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/streambind/streambind/stream"
)

// transportCloseWait bounds how long Close waits for the transport's
// connections to be closed by kafka-go once interrupted (they close at
// once: this only bounds a Close whose ctx has no deadline).
const transportCloseWait = 5 * time.Second

// transportCutGrace is how long Close waits past its ended context for
// connections it cut to be closed by kafka-go (they close within
// milliseconds once their i/o fails).
const transportCutGrace = 250 * time.Millisecond

// transportConns dials the connections of the binder's shared kafka-go
// Transport (its Dial) and keeps track of them, so that Close can end
// them. kafka-go runs each transport connection in a goroutine
// ((*conn).run) that takes a request and waits for the broker's answer
// without watching the request's context, only the connection's
// deadline: a long-polling fetch (fetchPartition, read_committed
// consumers and the dead-letter cursor) in flight when the binder closed
// kept that goroutine, and the connection, until the broker answered
// (max-wait) or the read timed out (max-wait + request timeout), after
// Close had returned; CloseIdleConnections closes only idle connections.
// Close calls stop: every connection's deadline is moved to the past (and
// stays there whatever kafka-go sets), which fails the read in flight, so
// that kafka-go's goroutine closes the connection and ends; a dial in
// flight is cancelled and later dials fail. wait then waits for kafka-go
// to have closed them all.
type transportConns struct {
	dialer net.Dialer
	// errClosed is the error of a dial or request once stopped: it names
	// the binder and wraps stream.ErrClosed.
	errClosed error
	// done is set once, by stop, before it moves the deadlines; read
	// without mu (binderTransport, trackedConn's deadlines).
	done atomic.Bool

	mu     sync.Mutex
	open   map[*trackedConn]struct{}
	closed chan struct{} // closed once stopped and no connection is open
	cancel context.CancelFunc
	ctx    context.Context // ends dials in flight at stop
}

func newTransportConns(binder string, dialTimeout time.Duration) *transportConns {
	ctx, cancel := context.WithCancel(context.Background())
	return &transportConns{dialer: net.Dialer{Timeout: dialTimeout}, open: map[*trackedConn]struct{}{},
		errClosed: fmt.Errorf("binder %q is closed (%w)", binder, stream.ErrClosed),
		closed:    make(chan struct{}), ctx: ctx, cancel: cancel}
}

// binderTransport is the binder's shared kafka-go Transport, whose
// Context is conns.ctx (ended at stop) and Dial conns.dial. Once stopped,
// its RoundTrip fails at once with conns.errClosed: kafka-go's RoundTrip
// makes a connection pool for the address when it has none (Close's
// CloseIdleConnections dropped them) and starts its metadata goroutine
// (connPool.discover), which ran until the next CloseIdleConnections,
// that is for ever, after a request made once the binder closed (a
// dead-letter cursor's fetch, OpenDeadLetters). The Context ends that
// goroutine for a request that raced with stop. A request that failed
// because stop cut it says that the binder closed, not "i/o timeout".
type binderTransport struct {
	*kafkago.Transport
	conns *transportConns
}

// RoundTrip implements kafkago.RoundTripper.
func (t *binderTransport) RoundTrip(ctx context.Context, addr net.Addr, req kafkago.Request) (kafkago.Response, error) {
	if t.conns.done.Load() {
		return nil, t.conns.errClosed
	}
	res, err := t.Transport.RoundTrip(ctx, addr, req)
	if err != nil && t.conns.done.Load() && !errors.Is(err, stream.ErrClosed) {
		err = fmt.Errorf("%w: %w", t.conns.errClosed, err)
	}
	return res, err
}

// dial is the Transport's Dial.
func (tc *transportConns) dial(ctx context.Context, network, address string) (net.Conn, error) {
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	unhook := context.AfterFunc(tc.ctx, stop)
	defer unhook()
	c, err := tc.dialer.DialContext(ctx, network, address)
	if err != nil {
		if tc.ctx.Err() != nil {
			return nil, tc.errClosed
		}
		return nil, err
	}
	tc.mu.Lock()
	defer tc.mu.Unlock()
	if tc.done.Load() {
		_ = c.Close()
		return nil, tc.errClosed
	}
	t := &trackedConn{Conn: c, tc: tc}
	tc.open[t] = struct{}{}
	return t, nil
}

// stop interrupts every connection's i/o and refuses new dials.
func (tc *transportConns) stop() {
	tc.mu.Lock()
	if tc.done.Load() {
		tc.mu.Unlock()
		return
	}
	// done before the deadlines move: a trackedConn setting its own
	// deadline concurrently either sees done and moves it to the past
	// itself, or set it before done was stored, and so before the
	// deadline below (see setDeadline).
	tc.done.Store(true)
	for c := range tc.open {
		_ = c.Conn.SetDeadline(pastDeadline)
	}
	if len(tc.open) == 0 {
		close(tc.closed)
	}
	tc.mu.Unlock()
	tc.cancel()
}

// wait waits until kafka-go closed every connection, at most until ctx
// ends or transportCloseWait passed.
func (tc *transportConns) wait(ctx context.Context) error {
	t := time.NewTimer(transportCloseWait)
	defer t.Stop()
	why := fmt.Sprintf("within %s", transportCloseWait)
	select {
	case <-tc.closed:
		return nil
	case <-ctx.Done():
		// The consumers' close can use Close's whole context, so that it
		// has ended (or ends) just as stop cut the connections: kafka-go's
		// goroutines need a moment to see their i/o fail and close them.
		// Without this grace such a Close failed although nothing was
		// left but connections already cut.
		grace := time.NewTimer(transportCutGrace)
		defer grace.Stop()
		select {
		case <-tc.closed:
			return nil
		case <-grace.C:
		}
		why = fmt.Sprintf("before Close's context ended (and %s after)", transportCutGrace)
	case <-t.C:
	}
	tc.mu.Lock()
	n := len(tc.open)
	tc.mu.Unlock()
	if n == 0 {
		return nil
	}
	err := fmt.Errorf("kafka: %d broker connection(s) of the binder's transport not closed by kafka-go %s", n, why)
	if ctx.Err() != nil {
		err = fmt.Errorf("%w: %w", err, ctx.Err())
	}
	return err
}

func (tc *transportConns) forget(c *trackedConn) {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	if _, ok := tc.open[c]; !ok {
		return
	}
	delete(tc.open, c)
	if tc.done.Load() && len(tc.open) == 0 {
		close(tc.closed)
	}
}

// pastDeadline is a deadline already passed: i/o under it fails at once.
var pastDeadline = time.Unix(1, 0)

// trackedConn is a transport connection; once its transportConns is
// stopped its deadlines stay in the past.
type trackedConn struct {
	net.Conn
	tc   *transportConns
	once sync.Once
}

func (c *trackedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.tc.forget(c) })
	return err
}

// setDeadline calls set with d, then with pastDeadline if stopped. It
// takes no lock (kafka-go sets deadlines twice per request): stop stores
// done before it moves each open connection's deadline to the past, so a
// set(d) that raced with stop either came before done was stored, and
// stop's deadline (which the net package orders after it) replaces it,
// or is followed here by done.Load() seeing true and set(pastDeadline).
func (c *trackedConn) setDeadline(set func(time.Time) error, d time.Time) error {
	err := set(d)
	if c.tc.done.Load() {
		return set(pastDeadline)
	}
	return err
}

func (c *trackedConn) SetDeadline(d time.Time) error {
	return c.setDeadline(c.Conn.SetDeadline, d)
}

func (c *trackedConn) SetReadDeadline(d time.Time) error {
	return c.setDeadline(c.Conn.SetReadDeadline, d)
}

func (c *trackedConn) SetWriteDeadline(d time.Time) error {
	return c.setDeadline(c.Conn.SetWriteDeadline, d)
}
