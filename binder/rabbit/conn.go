package rabbit

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/streambind/streambind/stream"
)

// connMgr owns one AMQP connection and keeps it up: it dials lazily on first
// use, watches it and, when it is lost, dials again with jittered
// exponential back-off until the binder is closed. Users ask for the current
// connection with get (waiting, bounded by their ctx) and learn about its
// loss from the channels they open on it.
type connMgr struct {
	s    settings
	role string // "publisher" or "consumer": the connection name suffix
	log  *slog.Logger
	ctx  context.Context // the binder's lifetime
	dial func(ctx context.Context, addr int) (*amqp.Connection, error)

	mu      sync.Mutex
	started bool
	conn    *amqp.Connection
	gen     uint64        // incremented on every new connection
	ready   chan struct{} // closed while conn != nil
	lastErr error
	// attempts counts the dial attempts that ended; attemptDone is closed
	// (and replaced) when one ends. Binds wait for a fresh attempt.
	attempts    uint64
	attemptDone chan struct{}
	// kick cuts the loop's back-off short: a bind is waiting.
	kick    chan struct{}
	blocked bool
	// blockedFlag mirrors blocked for the lock-free check of every Send.
	blockedFlag atomic.Bool
	unblocked   chan struct{} // closed when the connection is not blocked
	done        chan struct{} // closed when the loop ended
}

func newConnMgr(ctx context.Context, s settings, role string, log *slog.Logger) *connMgr {
	m := &connMgr{s: s, role: role, log: log.With("connection", role), ctx: ctx, ready: make(chan struct{}), unblocked: make(chan struct{}), done: make(chan struct{}),
		attemptDone: make(chan struct{}), kick: make(chan struct{}, 1)}
	close(m.unblocked)
	m.dial = m.dialAddr
	return m
}

// dialAddr connects to endpoint i. The credentials and virtual host go to
// amqp091-go as settings, not in a URL (which would have to be escaped and
// parsed, and quoted in a parse error), and TLS is done here, so that a
// failed handshake can be told from a network failure.
func (m *connMgr) dialAddr(ctx context.Context, i int) (*amqp.Connection, error) {
	ep := m.s.endpoint(i)
	var tlsCfg *tls.Config
	if ep.tls {
		var err error
		if tlsCfg, err = m.s.tlsConfig(); err != nil {
			return nil, err
		}
		if tlsCfg.ServerName == "" {
			host, _, _ := net.SplitHostPort(ep.hostPort)
			tlsCfg.ServerName = host
		}
	}
	props := amqp.NewConnectionProperties()
	props.SetClientConnectionName(m.s.connectionName + "-" + m.role)
	var stop func() bool // ends the handshake's tie to ctx
	cfg := amqp.Config{
		SASL:       []amqp.Authentication{&amqp.PlainAuth{Username: ep.username, Password: ep.password}},
		Vhost:      ep.vhost,
		Heartbeat:  m.s.heartbeat,
		Locale:     "en_US",
		Properties: props,
		Dial: func(network, addr string) (net.Conn, error) {
			d := net.Dialer{Timeout: m.s.connTimeout}
			c, err := d.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			// The handshakes are bounded too; amqp091-go clears the deadline.
			if err := c.SetDeadline(time.Now().Add(m.s.connTimeout)); err != nil {
				c.Close()
				return nil, err
			}
			// And they end with the binder (Close must not wait for them).
			stop = context.AfterFunc(ctx, func() { c.Close() })
			if tlsCfg == nil {
				return c, nil
			}
			tc := tls.Client(c, tlsCfg)
			if err := tc.Handshake(); err != nil {
				c.Close()
				return nil, &tlsError{err: err}
			}
			return tc, nil
		},
	}
	c, err := amqp.DialConfig("amqp://"+ep.hostPort+"/", cfg)
	if stop != nil && !stop() && err == nil {
		c.Close() // ctx ended just as the handshake completed
		err = ctx.Err()
	}
	if err != nil {
		return nil, newDialError(fmt.Sprintf("dial %s: %s", m.s.redacted(i), redactErr(err, ep)), err)
	}
	return c, nil
}

// get returns the current connection and its generation, dialling or
// waiting for a reconnection as long as ctx allows.
func (m *connMgr) get(ctx context.Context) (*amqp.Connection, uint64, error) {
	m.mu.Lock()
	m.startLocked()
	for {
		if m.conn != nil && !m.conn.IsClosed() {
			c, g := m.conn, m.gen
			m.mu.Unlock()
			return c, g, nil
		}
		ready := m.ready
		m.mu.Unlock()
		select {
		case <-ready:
		case <-ctx.Done():
			return nil, 0, m.waitErr(ctx.Err())
		case <-m.ctx.Done():
			return nil, 0, fmt.Errorf("rabbit: binder closed: %w", errClosedBinder)
		}
		m.mu.Lock()
	}
}

var errClosedBinder = errors.New("binder closed")

// startLocked starts the loop on first use. Call with m.mu held.
func (m *connMgr) startLocked() {
	if !m.started {
		m.started = true
		go m.loop()
	}
}

// getForBind is get for BindProducer and BindConsumer: it does not wait
// for the broker beyond one connection attempt. When the connection is not
// up it asks the loop for an attempt now (cutting its back-off short) and
// returns that attempt's error: wrapped with stream.Unavailable (the core
// retries the bind until the binder's startup-timeout) unless the broker
// refused the client (credentials, virtual host, TLS), which ends start-up.
// Once a connection is up, the loop keeps it up as before.
func (m *connMgr) getForBind(ctx context.Context) (*amqp.Connection, error) {
	m.mu.Lock()
	m.startLocked()
	target := m.attempts + 1 // the attempt in progress, or the next one
	for {
		if m.conn != nil && !m.conn.IsClosed() {
			c := m.conn
			m.mu.Unlock()
			return c, nil
		}
		if m.attempts >= target && m.lastErr != nil {
			err := m.lastErr
			m.mu.Unlock()
			return nil, forBind(fmt.Errorf("rabbit: no %s connection: %w", m.role, err))
		}
		ready, done := m.ready, m.attemptDone
		m.mu.Unlock()
		select {
		case m.kick <- struct{}{}:
		default:
		}
		select {
		case <-ready:
		case <-done:
		case <-ctx.Done():
			return nil, stream.Unavailable(m.waitErr(ctx.Err()))
		case <-m.ctx.Done():
			return nil, fmt.Errorf("rabbit: binder closed: %w", errClosedBinder)
		}
		m.mu.Lock()
	}
}

// bindChannel opens a channel for a bind (see getForBind).
func (m *connMgr) bindChannel(ctx context.Context) (*amqp.Channel, error) {
	c, err := m.getForBind(ctx)
	if err != nil {
		return nil, err
	}
	ch, err := c.Channel()
	if err != nil {
		if connDead(ctx, c, err) {
			m.lost(c)
			return nil, stream.Unavailable(fmt.Errorf("rabbit: the %s connection closed while opening a channel: %w", m.role, err))
		}
		return nil, fmt.Errorf("rabbit: open channel: %w", err)
	}
	return ch, nil
}

// connDead reports whether a failed operation on c (err) means that c is
// gone. A write error makes amqp091-go close the connection from another
// goroutine, so c may not look closed yet: for an error that is not the
// broker's reply, wait a moment for the closure.
func connDead(ctx context.Context, c *amqp.Connection, err error) bool {
	if c.IsClosed() {
		return true
	}
	var ae *amqp.Error
	if errors.As(err, &ae) && ae.Server {
		return false
	}
	closed := c.NotifyClose(make(chan *amqp.Error, 1))
	t := time.NewTimer(time.Second)
	defer t.Stop()
	select {
	case <-closed:
	case <-t.C:
	case <-ctx.Done():
	}
	return c.IsClosed()
}

// frameMax is the negotiated frame_max of connection c (0: no limit).
func frameMax(c *amqp.Connection) int {
	return max(c.Config.FrameSize, 0)
}

func (m *connMgr) waitErr(err error) error {
	m.mu.Lock()
	last := m.lastErr
	m.mu.Unlock()
	if last != nil {
		return fmt.Errorf("rabbit: no %s connection (last error: %v): %w", m.role, last, err)
	}
	return fmt.Errorf("rabbit: waiting for the %s connection: %w", m.role, err)
}

// channel opens a channel on the current connection.
func (m *connMgr) channel(ctx context.Context) (*amqp.Channel, uint64, error) {
	for {
		c, gen, err := m.get(ctx)
		if err != nil {
			return nil, 0, err
		}
		ch, err := c.Channel()
		if err == nil {
			return ch, gen, nil
		}
		if !connDead(ctx, c, err) {
			return nil, 0, fmt.Errorf("rabbit: open channel: %w", err)
		}
		// The connection died meanwhile: wait for the next one.
		m.lost(c)
	}
}

// lost marks c as gone, so that get waits for the next connection.
func (m *connMgr) lost(c *amqp.Connection) {
	m.mu.Lock()
	if m.conn == c {
		m.conn = nil
		m.ready = make(chan struct{})
	}
	m.mu.Unlock()
}

// waitUnblocked waits while the broker blocks the connection (a resource
// alarm), bounded by ctx.
func (m *connMgr) waitUnblocked(ctx context.Context) error {
	if !m.blockedFlag.Load() { // the common case, without the lock
		return nil
	}
	m.mu.Lock()
	ch := m.unblocked
	m.mu.Unlock()
	select {
	case <-ch:
		return nil
	default:
	}
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("rabbit: connection blocked by a broker resource alarm: %w", ctx.Err())
	case <-m.ctx.Done():
		return fmt.Errorf("rabbit: %w", errClosedBinder)
	}
}

func (m *connMgr) setBlocked(b bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if b == m.blocked {
		return
	}
	m.blocked = b
	m.blockedFlag.Store(b)
	if b {
		m.unblocked = make(chan struct{})
	} else {
		close(m.unblocked)
	}
}

// loop dials, watches and re-dials the connection until the binder ends.
// The back-off doubles with every failed attempt and every connection that
// was lost within reconnect-max-interval of being made; it starts again from
// reconnect-initial-interval only after a connection stayed up that long,
// so a broker that accepts connections and then closes them at once (for
// instance for a frame it refuses) sees a few reconnects a second at most.
func (m *connMgr) loop() {
	defer close(m.done)
	backoff := m.s.reconnectInit
	addr := 0
	for m.ctx.Err() == nil {
		c, err := m.dial(m.ctx, addr)
		m.mu.Lock()
		m.attempts++
		close(m.attemptDone)
		m.attemptDone = make(chan struct{})
		if err != nil {
			m.lastErr = err
			m.mu.Unlock()
			m.log.Warn("rabbit: connect failed; retrying", "address", m.s.redacted(addr), "backoff", backoff, "error", err)
			addr++
			if !m.sleep(jitter(backoff)) {
				return
			}
			backoff = min(backoff*2, m.s.reconnectMax)
			continue
		}
		select { // a kick of a bind that this connection served
		case <-m.kick:
		default:
		}
		closed := c.NotifyClose(make(chan *amqp.Error, 1))
		blocked := c.NotifyBlocked(make(chan amqp.Blocking, 4))
		m.conn = c
		m.gen++
		m.lastErr = nil
		close(m.ready)
		gen := m.gen
		m.mu.Unlock()
		up := time.Now()
		m.log.Info("rabbit: connected", "address", m.s.redacted(addr), "generation", gen, "frame_max", frameMax(c))
		lostErr := m.watch(c, closed, blocked)
		m.lost(c)
		m.setBlocked(false)
		if m.ctx.Err() != nil {
			return
		}
		if time.Since(up) >= m.s.reconnectMax {
			backoff = m.s.reconnectInit
		}
		m.mu.Lock()
		m.lastErr = lostErr
		m.mu.Unlock()
		m.log.Warn("rabbit: connection lost; reconnecting", "generation", gen, "backoff", backoff, "error", lostErr)
		if !m.sleep(jitter(backoff)) {
			return
		}
		backoff = min(backoff*2, m.s.reconnectMax)
	}
}

// sleep waits d, less when a bind kicks; false when the binder ends.
func (m *connMgr) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-m.kick:
	case <-m.ctx.Done():
		return false
	}
	return true
}

// generation is the number of connections made so far.
func (m *connMgr) generation() uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.gen
}

func (m *connMgr) watch(c *amqp.Connection, closed chan *amqp.Error, blocked chan amqp.Blocking) error {
	for {
		select {
		case e, ok := <-closed:
			if !ok || e == nil {
				return errors.New("connection closed")
			}
			return e
		case b, ok := <-blocked:
			if ok {
				if b.Active {
					m.log.Warn("rabbit: connection blocked by the broker", "reason", b.Reason)
				} else {
					m.log.Info("rabbit: connection unblocked")
				}
				m.setBlocked(b.Active)
			} else {
				blocked = nil
			}
		case <-m.ctx.Done():
			_ = c.CloseDeadline(time.Now().Add(2 * time.Second))
			return m.ctx.Err()
		}
	}
}

// current returns the current connection, without waiting; an error when
// there is none.
func (m *connMgr) current() (*amqp.Connection, uint64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.conn == nil {
		return nil, 0, fmt.Errorf("rabbit: no %s connection", m.role)
	}
	return m.conn, m.gen, nil
}

// forceClose closes the current connection (tests: simulate a lost
// connection without disturbing other clients of the broker).
func (m *connMgr) forceClose() {
	m.mu.Lock()
	c := m.conn
	m.mu.Unlock()
	if c != nil {
		_ = c.Close()
	}
}

// close waits for the loop to end (the binder's ctx was cancelled).
func (m *connMgr) close(ctx context.Context) error {
	m.mu.Lock()
	started := m.started
	m.mu.Unlock()
	if !started {
		return nil
	}
	select {
	case <-m.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("rabbit: closing the %s connection: %w", m.role, ctx.Err())
	}
}

func jitter(d time.Duration) time.Duration {
	return d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// health is nil while the connection is up, or was never needed; otherwise
// it says why it is down. It reports known state and does no I/O.
func (m *connMgr) health() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.started || (m.conn != nil && !m.conn.IsClosed()) {
		return nil
	}
	if m.lastErr != nil {
		return fmt.Errorf("rabbit: %s connection down: %v", m.role, m.lastErr)
	}
	return fmt.Errorf("rabbit: %s connection down", m.role)
}
