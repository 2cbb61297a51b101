package rabbit

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/streambind/streambind/stream"
)

// connMgr owns one AMQP connection and keeps it up. Until the first
// connection is made, binds connect (getForBind: one attempt each, paced)
// and nothing runs in the background: the app's bind retry owns start-up.
// The first connection starts the reconnect loop, which watches it and,
// when it is lost, dials again with jittered exponential back-off until the
// binder is closed. Users ask for the current connection with get (waiting,
// bounded by their ctx) and learn about its loss from the channels they
// open on it.
type connMgr struct {
	s    settings
	role string // "publisher" or "consumer": the connection name suffix
	log  *slog.Logger
	ctx  context.Context // the binder's lifetime
	dial func(ctx context.Context, addr int) (*amqp.Connection, error)

	mu sync.Mutex
	// looping: the reconnect loop runs (started by the first connection,
	// or by get when nothing connected yet).
	looping bool
	// dialing: a bind's connection attempt is in progress (no loop yet).
	dialing bool
	conn    *amqp.Connection
	gen     uint64        // incremented on every new connection
	ready   chan struct{} // closed while conn != nil
	lastErr error
	// attempts counts the connection attempts that ended; attemptDone is
	// closed (and replaced) when one ends. Binds wait for a fresh attempt.
	attempts    uint64
	attemptDone chan struct{}
	// lastAttempt is when the last attempt began; binds start (or bring
	// forward) an attempt at most once per bindAttemptInterval.
	lastAttempt time.Time
	nextAddr    int // the address a bind's attempt tries first
	// kick brings the loop's next attempt forward: a bind is waiting.
	kick          chan struct{}
	blocked       bool
	blockedReason string
	// blockedFlag mirrors blocked for the lock-free check of every Send.
	blockedFlag atomic.Bool
	unblocked   chan struct{} // closed when the connection is not blocked
	done        chan struct{} // closed when the loop ended
	// wconn is the last connection dialled (see writeBounded).
	wconn atomic.Pointer[writeBounded]
	// acks counts the writes of held acks that Pause or a timed-out Stop
	// left to a goroutine: the binder's end waits for them (bounded by
	// flightsWait) before it closes the connection.
	acks flights
}

// flightsWait bounds how long the binder's end waits, before it closes
// the connection, for the writes of held acks that Pause or a timed-out
// Stop left to a goroutine: as long as the broker is given to answer the
// close (CloseDeadline). Such a write is done in microseconds unless the
// socket takes no bytes; then it fails after one to two heartbeats
// (writeBounded), and the connection is closed without waiting that long.
const flightsWait = 2 * time.Second

// flights counts goroutines doing a write that must go out before the
// connection is closed; wait waits, bounded, until none is left.
type flights struct {
	mu   sync.Mutex
	n    int
	zero chan struct{} // closed when n drops to 0
	// waiting, set by tests only, is called when wait begins to wait.
	waiting func()
}

// add counts a flight; its done must follow.
func (f *flights) add() {
	f.mu.Lock()
	if f.n == 0 {
		f.zero = make(chan struct{})
	}
	f.n++
	f.mu.Unlock()
}

func (f *flights) done() {
	f.mu.Lock()
	if f.n--; f.n == 0 {
		close(f.zero)
	}
	f.mu.Unlock()
}

// wait waits until no flight is left, or d passed.
func (f *flights) wait(d time.Duration) {
	f.mu.Lock()
	if f.n == 0 {
		f.mu.Unlock()
		return
	}
	zero, waiting := f.zero, f.waiting
	f.mu.Unlock()
	if waiting != nil {
		waiting()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-zero:
	case <-t.C:
	}
}

// writeBounded bounds each write to the broker by its progress once the
// handshake is done (amqp091-go clears the handshake's deadline): a write
// fails when the socket took no byte of it for a whole heartbeat interval
// (d), so between one and two heartbeats after the socket last took bytes
// — twice the heartbeat is the broker's own tolerance of a silent client.
// A slow link that moves is never cut, however long the write (amqp091-go
// writes a body frame, up to frame_max, in one Write). No bound while the
// broker blocks the connection (a resource alarm: it stops reading, and
// the write waits for the alarm to clear; the bound starts again when it
// clears). amqp091-go sets no write deadline and holds the connection's
// writer while it writes: on a path that stalls (the socket takes no more
// bytes) a publish of a large message waited until the path came back —
// after its heartbeats had found the connection dead and the binder had
// dialled a new one — and every Send behind it with it, whatever its ctx.
type writeBounded struct {
	net.Conn
	d       time.Duration
	blocked *atomic.Bool
	armed   atomic.Bool
	// mu orders the deadline changes of unbound and rebound (the
	// connection.blocked notifications) with those of a write that found
	// the connection blocked or saw it become so (see Write).
	mu sync.Mutex
	// beforeArm, when set (tests), runs in Write between its check that
	// the connection is not blocked and the arming of the deadline.
	beforeArm func()
}

func (c *writeBounded) SetDeadline(t time.Time) error {
	if t.IsZero() {
		c.armed.Store(true)
	}
	return c.Conn.SetDeadline(t)
}

func (c *writeBounded) Write(b []byte) (int, error) {
	if !c.armed.Load() {
		return c.Conn.Write(b)
	}
	n := 0
	for {
		if err := c.arm(); err != nil {
			return n, err
		}
		m, err := c.Conn.Write(b[n:])
		n += m
		if err == nil || !errors.Is(err, os.ErrDeadlineExceeded) {
			return n, err
		}
		// The deadline passed: the write goes on for another d if the
		// socket took bytes meanwhile, or if the broker blocked the
		// connection just as it passed (unbound came too late).
		if m == 0 && !c.blocked.Load() {
			return n, err
		}
	}
}

// arm sets the deadline of the next d for a write about to start or go on;
// none while the broker blocks the connection.
func (c *writeBounded) arm() error {
	if c.blocked.Load() {
		c.unbound()
		return nil
	}
	if c.beforeArm != nil {
		c.beforeArm()
	}
	if err := c.Conn.SetWriteDeadline(time.Now().Add(c.d)); err != nil {
		return err
	}
	// The broker may have blocked the connection since the check above,
	// and unbound may have run before the deadline was set: clear it.
	if c.blocked.Load() {
		c.unbound()
	}
	return nil
}

// unbound clears the deadline of a write in progress when the broker
// blocks the connection.
func (c *writeBounded) unbound() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.blocked.Load() {
		_ = c.Conn.SetWriteDeadline(time.Time{})
	}
}

// rebound bounds again a write in progress (one that began or went on
// while the broker blocked the connection) when the block ends. Without a
// write in progress the deadline does nothing: the next write sets its own.
func (c *writeBounded) rebound() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.armed.Load() && !c.blocked.Load() {
		_ = c.Conn.SetWriteDeadline(time.Now().Add(c.d))
	}
}

// bindAttemptInterval is the least time between two connection attempts
// that binds cause (a bind's own attempt before the first connection, or a
// bind bringing the reconnect loop's next attempt forward), so that an app
// binding again and again while the broker is down (a bridge to dynamic
// destinations, say) makes at most one attempt a second per connection.
const bindAttemptInterval = time.Second

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
	props.SetClientConnectionName(m.s.connectionNameFor(m.role))
	var stop func() bool   // ends the handshake's tie to ctx
	var alerts *alertConn  // the TLS connection, to learn whether the peer refused us after the handshake
	var guard *headerGuard // what amqp091-go reads (headerguard.go)
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
			raw := c // c is wrapped below: the closure must not read the variable
			stop = context.AfterFunc(ctx, func() { raw.Close() })
			if m.s.heartbeat > 0 {
				wb := &writeBounded{Conn: c, d: m.s.heartbeat, blocked: &m.blockedFlag}
				m.wconn.Store(wb)
				c = wb
			}
			if tlsCfg == nil {
				guard = newHeaderGuard(c)
				return guard, nil
			}
			tc := tls.Client(c, tlsCfg)
			if err := tc.Handshake(); err != nil {
				c.Close()
				return nil, &tlsError{err: err}
			}
			alerts = &alertConn{Conn: tc}
			guard = newHeaderGuard(alerts)
			return guard, nil
		},
	}
	c, err := amqp.DialConfig("amqp://"+ep.hostPort+"/", cfg)
	if err == nil && guard != nil {
		guard.setFrameMax(frameMax(c))
	}
	if stop != nil && !stop() && err == nil {
		c.Close() // ctx ended just as the handshake completed
		err = ctx.Err()
	}
	if err != nil && alerts != nil {
		// With TLS 1.3 the server checks the client's certificate after
		// the client's side of the handshake is done: its refusal (an
		// alert) arrives with the first read, which amqp091-go reports
		// as a 501 frame error holding only the alert's text.
		if a := alerts.alert.Load(); a != nil {
			err = &tlsError{err: *a}
		}
	}
	if err != nil && silentHandshake(err) {
		// amqp091-go reports a server that accepted the connection and
		// never answered the protocol header as a 501 frame error about
		// the read (the deadline, or ctx closing the socket): say what it
		// means.
		within := fmt.Sprintf("within connection-timeout (%s)", m.s.connTimeout)
		if ctx.Err() != nil {
			within = "before the wait for it ended"
		}
		err = fmt.Errorf("the server accepted the connection but did not answer the AMQP handshake %s: is this a RabbitMQ broker's AMQP port? (%w)", within, err)
	}
	if err != nil {
		return nil, newDialError(fmt.Sprintf("dial %s: %s", m.s.redacted(i), redactErr(err, ep)), err)
	}
	return c, nil
}

// silentHandshake reports whether err, amqp091-go's dial error, is a read
// that timed out or was cut before the server sent anything of the
// handshake (a 501 frame error about the socket, not a protocol reply).
func silentHandshake(err error) bool {
	var ae *amqp.Error
	if !errors.As(err, &ae) || ae.Code != amqp.FrameError || ae.Server {
		return false
	}
	return strings.Contains(ae.Reason, "i/o timeout") || strings.Contains(ae.Reason, "use of closed network connection")
}

// get returns the current connection and its generation, dialling or
// waiting for a reconnection as long as ctx allows. Used after start-up
// (consumers' channels, publishing lanes, dead letters): when nothing has
// connected yet it starts the reconnect loop.
func (m *connMgr) get(ctx context.Context) (*amqp.Connection, uint64, error) {
	m.mu.Lock()
	for {
		if m.conn != nil && !m.conn.IsClosed() {
			c, g := m.conn, m.gen
			m.mu.Unlock()
			return c, g, nil
		}
		if !m.looping && !m.dialing {
			m.looping = true
			go m.loop(nil, m.nextAddr)
		}
		ready, done := m.ready, m.attemptDone
		m.mu.Unlock()
		select {
		case <-ready:
		case <-done: // a bind's attempt failed: the loop takes over
		case <-ctx.Done():
			return nil, 0, m.waitErr(ctx.Err())
		case <-m.ctx.Done():
			return nil, 0, errClosedBinder
		}
		m.mu.Lock()
	}
}

// errClosedBinder is the error of a wait for the connection that the
// binder's Close ended: stream.ErrClosed, as a Send after Close, so that a
// send in flight when the app stops reads as its stopping.
var errClosedBinder = fmt.Errorf("binder %w", stream.ErrClosed)

// getForBind is get for BindProducer and BindConsumer: it does not wait
// for the broker beyond one connection attempt, and returns that attempt's
// error: wrapped with stream.Unavailable (the core retries the bind until
// the binder's startup-timeout) unless the broker refused the client
// (credentials, virtual host, TLS), which ends start-up.
//
// Before the first connection the attempt is the bind's own (each address
// in turn), and a failed one leaves nothing running: the next bind tries
// again. Once a connection was made, the reconnect loop owns reconnection
// and a bind brings its next attempt forward. Either way, binds cause at
// most one attempt per bindAttemptInterval.
func (m *connMgr) getForBind(ctx context.Context) (*amqp.Connection, error) {
	m.mu.Lock()
	target := m.attempts + 1 // the attempt in progress, or the next one
	for {
		if m.conn != nil && !m.conn.IsClosed() {
			c := m.conn
			m.mu.Unlock()
			return c, nil
		}
		if m.attempts >= target && m.lastErr != nil {
			err, next := m.lastErr, m.lastAttempt.Add(bindAttemptInterval)
			m.mu.Unlock()
			return nil, forBind(fmt.Errorf("no %s connection: %w", m.role, err), next)
		}
		if !m.looping && !m.dialing {
			if wait := time.Until(m.lastAttempt.Add(bindAttemptInterval)); wait > 0 {
				m.mu.Unlock()
				if !sleepCtx(ctx, wait) {
					return nil, stream.Unavailable(m.waitErr(ctx.Err()))
				}
				m.mu.Lock()
				continue
			}
			return m.bindAttempt(ctx) // unlocks
		}
		ready, done := m.ready, m.attemptDone
		m.mu.Unlock()
		if m.looping {
			select {
			case m.kick <- struct{}{}:
			default:
			}
		}
		select {
		case <-ready:
		case <-done:
		case <-ctx.Done():
			return nil, stream.Unavailable(m.waitErr(ctx.Err()))
		case <-m.ctx.Done():
			return nil, errClosedBinder
		}
		m.mu.Lock()
	}
}

// bindAttempt is a bind's connection attempt before the first connection:
// each address in turn, until one connects or refuses the client. A
// connection made starts the reconnect loop. Call with m.mu held; it
// returns with it released.
func (m *connMgr) bindAttempt(ctx context.Context) (*amqp.Connection, error) {
	m.dialing = true
	m.lastAttempt = time.Now()
	first := m.nextAddr
	m.mu.Unlock()
	dctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(m.ctx, cancel) // Close ends the attempt
	var (
		c    *amqp.Connection
		err  error
		addr int
	)
	for i := range len(m.s.endpoints) {
		addr = first + i
		if c, err = m.dial(dctx, addr); err == nil || refusedAtConnect(err) || dctx.Err() != nil {
			break
		}
	}
	stop()
	cancel()
	m.mu.Lock()
	m.dialing = false
	m.attempts++
	close(m.attemptDone)
	m.attemptDone = make(chan struct{})
	if m.ctx.Err() != nil { // the binder was closed meanwhile
		if err == nil {
			_ = c.Close()
		}
		err = errClosedBinder
	}
	if err != nil {
		m.lastErr = err
		m.nextAddr = addr + 1
		next := m.lastAttempt.Add(bindAttemptInterval)
		m.mu.Unlock()
		m.log.Debug("rabbit: connection attempt of a bind failed", "error", err)
		if errors.Is(err, errClosedBinder) {
			return nil, errClosedBinder
		}
		return nil, forBind(fmt.Errorf("no %s connection: %w", m.role, err), next)
	}
	m.nextAddr = addr
	w := m.installLocked(c, addr)
	m.looping = true
	m.mu.Unlock()
	go m.loop(w, addr)
	return c, nil
}

// watched is a connection the loop watches.
type watched struct {
	c       *amqp.Connection
	gen     uint64
	closed  chan *amqp.Error
	blocked chan amqp.Blocking
}

// installLocked makes c the current connection. Call with m.mu held.
func (m *connMgr) installLocked(c *amqp.Connection, addr int) *watched {
	w := &watched{c: c, closed: c.NotifyClose(make(chan *amqp.Error, 1)), blocked: c.NotifyBlocked(make(chan amqp.Blocking, 4))}
	m.conn = c
	m.gen++
	w.gen = m.gen
	m.lastErr = nil
	close(m.ready)
	m.log.Info("rabbit: connected", "address", m.s.redacted(addr), "generation", w.gen, "frame_max", frameMax(c))
	return w
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
			return nil, stream.Unavailable(fmt.Errorf("the %s connection closed while opening a channel: %w", m.role, err))
		}
		return nil, fmt.Errorf("open channel: %w", err)
	}
	return ch, nil
}

// declare declares t on a fresh channel of m's connection (waiting for
// the connection, bounded by ctx), for as long as ctx lasts
// (untilAnswered).
func (m *connMgr) declare(ctx context.Context, t topology) error {
	return untilAnswered(ctx, "declare the topology on the "+m.role+" connection", func() error {
		ch, _, err := m.channel(ctx)
		if err != nil {
			return err
		}
		defer ch.Close()
		return t.declare(ch)
	})
}

// untilAnswered runs call, a series of amqp091-go channel calls (which
// take no context), and returns its error, or an error wrapped with
// stream.Unavailable and ctx's error when ctx ends first: a broker or path
// that stalls must not hold a bind or Start for the connection's heartbeat
// (a 1s bind over a stalled path took 14s). call then finishes on its own
// goroutine when the broker answers or the connection ends (its heartbeat,
// or the binder's Close); it must clean up after itself (close its
// channel).
func untilAnswered(ctx context.Context, what string, call func() error) error {
	_, err := untilAnsweredValue(ctx, what, func() (struct{}, error) { return struct{}{}, call() }, nil)
	return err
}

// untilAnsweredValue is untilAnswered for a call with a result: a result
// that comes after ctx ended is given to discard (when not nil), which
// releases it (closes its channel).
func untilAnsweredValue[T any](ctx context.Context, what string, call func() (T, error), discard func(T)) (T, error) {
	type result struct {
		v   T
		err error
	}
	var (
		mu        sync.Mutex
		abandoned bool
	)
	done := make(chan result, 1)
	go func() {
		v, err := call()
		mu.Lock()
		defer mu.Unlock()
		if !abandoned {
			done <- result{v, err}
		} else if err == nil && discard != nil {
			discard(v)
		}
	}()
	select {
	case r := <-done:
		return r.v, r.err
	case <-ctx.Done():
	}
	mu.Lock()
	defer mu.Unlock()
	select {
	case r := <-done: // answered as ctx ended
		return r.v, r.err
	default:
	}
	abandoned = true
	var zero T
	return zero, stream.Unavailable(fmt.Errorf("%s: no answer from the broker: %w", what, ctx.Err()))
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
		return fmt.Errorf("no %s connection (last error: %v): %w", m.role, last, err)
	}
	return fmt.Errorf("waiting for the %s connection: %w", m.role, err)
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
			return nil, 0, fmt.Errorf("open channel: %w", err)
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
		return fmt.Errorf("%s connection blocked by the broker (a resource alarm): %w", m.role, ctx.Err())
	case <-m.ctx.Done():
		return errClosedBinder
	}
}

func (m *connMgr) setBlocked(b bool, reason string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.blockedReason = reason
	if b == m.blocked {
		return
	}
	m.blocked = b
	m.blockedFlag.Store(b)
	if wb := m.wconn.Load(); wb != nil {
		if b {
			wb.unbound()
		} else {
			wb.rebound()
		}
	}
	if b {
		m.unblocked = make(chan struct{})
	} else {
		close(m.unblocked)
	}
}

// loop watches the connection w (nil: none yet) and re-dials it until the
// binder ends. The back-off doubles with every failed attempt and every
// connection that was lost within reconnect-max-interval of being made; it
// starts again from reconnect-initial-interval only after a connection
// stayed up that long, so a broker that accepts connections and then
// closes them at once (for instance for a frame it refuses) sees a few
// reconnects a second at most.
func (m *connMgr) loop(w *watched, addr int) {
	defer close(m.done)
	backoff := m.s.reconnectInit
	for m.ctx.Err() == nil {
		if w == nil {
			m.mu.Lock()
			m.lastAttempt = time.Now()
			m.mu.Unlock()
			c, err := m.dial(m.ctx, addr)
			m.mu.Lock()
			m.attempts++
			close(m.attemptDone)
			m.attemptDone = make(chan struct{})
			if err != nil {
				m.lastErr = err
				m.mu.Unlock()
				if m.ctx.Err() != nil {
					return
				}
				if refusedAtConnect(err) {
					m.log.Error("rabbit: the broker refused the connection; retrying", "address", m.s.redacted(addr), "retry_in", backoff, "error", err)
				} else {
					m.log.Warn("rabbit: connect failed; retrying", "address", m.s.redacted(addr), "retry_in", backoff, "error", err)
				}
				addr++
				if !m.sleep(jitter(backoff)) {
					return
				}
				backoff = min(backoff*2, m.s.reconnectMax)
				continue
			}
			w = m.installLocked(c, addr)
			m.mu.Unlock()
			select { // a kick of a bind that this connection served
			case <-m.kick:
			default:
			}
		}
		up := time.Now()
		lostErr := m.watch(w.c, w.closed, w.blocked)
		m.lost(w.c)
		m.setBlocked(false, "")
		if m.ctx.Err() != nil {
			return
		}
		if time.Since(up) >= m.s.reconnectMax {
			backoff = m.s.reconnectInit
		}
		m.mu.Lock()
		m.lastErr = lostErr
		m.mu.Unlock()
		m.log.Warn("rabbit: connection lost; reconnecting", "generation", w.gen, "retry_in", backoff, "error", lostErr)
		w = nil
		if !m.sleep(jitter(backoff)) {
			return
		}
		backoff = min(backoff*2, m.s.reconnectMax)
	}
}

// sleep waits d; a bind's kick brings the end forward, but not to less
// than bindAttemptInterval after the last attempt began. False when the
// binder ends.
func (m *connMgr) sleep(d time.Duration) bool {
	end := time.Now().Add(d)
	t := time.NewTimer(d)
	defer t.Stop()
	kick := m.kick
	for {
		select {
		case <-t.C:
			return true
		case <-kick:
			kick = nil // one kick is enough
			m.mu.Lock()
			earliest := m.lastAttempt.Add(bindAttemptInterval)
			m.mu.Unlock()
			if earliest.Before(end) {
				t.Reset(time.Until(earliest))
			}
		case <-m.ctx.Done():
			return false
		}
	}
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
				m.setBlocked(b.Active, b.Reason)
			} else {
				blocked = nil
			}
		case <-m.ctx.Done():
			// The held acks that a Pause or a Stop which ran out of time
			// left to a goroutine go before the close, not after it
			// (which would redeliver those handled messages).
			m.acks.wait(flightsWait)
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
		return nil, 0, fmt.Errorf("no %s connection", m.role)
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
	looping := m.looping
	m.mu.Unlock()
	if !looping {
		return nil
	}
	select {
	case <-m.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("closing the %s connection: %w", m.role, ctx.Err())
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

// health is nil while the connection is up and not blocked by the broker,
// or was never needed; otherwise it says why it is not. It reports known
// state and does no I/O.
func (m *connMgr) health() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	up := m.conn != nil && !m.conn.IsClosed()
	switch {
	case up && m.blocked:
		return fmt.Errorf("%s connection blocked by the broker: %s", m.role, m.blockedReason)
	case up || !m.looping && !m.dialing && m.attempts == 0:
		return nil
	case m.lastErr != nil:
		return fmt.Errorf("%s connection down: %v", m.role, m.lastErr)
	case m.dialing:
		// A bind's first attempt, which can last connection-timeout (a
		// port that accepts TCP but never answers the AMQP handshake):
		// the connection is needed and not up.
		return fmt.Errorf("%s connection down: connecting to %s", m.role, m.s.redacted(m.nextAddr))
	}
	return fmt.Errorf("%s connection down", m.role)
}
