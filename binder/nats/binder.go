package nats

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/streambind/streambind/binder/internal/binding"
	"github.com/streambind/streambind/binder/internal/conf"
	"github.com/streambind/streambind/binder/internal/dispatch"
	"github.com/streambind/streambind/binder/internal/secrets"
	"github.com/streambind/streambind/stream"
)

// Binder is the NATS JetStream binder: a [stream.Binder] on a NATS
// server (or cluster) with JetStream, built on github.com/nats-io/nats.go
// and its jetstream package. Create it with [New].
type Binder struct {
	name string
	st   settings
	log  *slog.Logger

	dialMu sync.Mutex // serialises dialling
	conn   atomic.Pointer[connection]
	// dialErr is why the last dial failed while there is no connection
	// yet: Health reports it (the binder is down until it connected).
	dialErr atomic.Pointer[error]

	// Reconnect back-off state (see reconnectDelay).
	connectedAt atomic.Int64 // unix nanoseconds of the last (re)connect
	streak      atomic.Int64 // reconnects in a row that did not stay up

	provMu  sync.Mutex // serialises provisioning
	streams map[string]*streamRef
	// streamCacheSize bounds streams (maxCachedStreams; tests lower it).
	streamCacheSize int

	mu       sync.Mutex
	bindings binding.Registry[*consumer, *producer] // guarded by mu

	// lagCtx ends the lag reads; Close cancels it.
	lagCtx    context.Context
	lagCancel context.CancelFunc
}

// connection is the binder's one NATS connection and its JetStream
// context, made by the first bind.
type connection struct {
	nc *natsgo.Conn
	js jetstream.JetStream
	// state is nc's state as nats.go's callbacks reported it; Health
	// reads it (see connState).
	state *connState
}

// connState is a connection's state for Health, kept from nats.go's
// callbacks (and the connect that made it), so that Health does not ask
// the connection: nats.go's Status, IsConnected and LastError take the
// connection's lock, which a reconnect holds for each attempt's dial and
// handshake (up to connect-timeout on a server that accepts TCP and does
// not answer) and a publish holds while a stalled socket takes its bytes
// (up to the flusher timeout). Its methods may be called from any
// goroutine; nats.go calls the callbacks in order, on one goroutine.
type connState struct {
	v atomic.Pointer[connStatus]
}

// connStatus is one state of a connection: its status and, when it is not
// connected, why.
type connStatus struct {
	status natsgo.Status
	cause  error // the disconnection's error (or, closed, the connection's last)
	last   error // while reconnecting: the last failed attempt's error
}

// load returns the connection's state; a connection whose connect has not
// returned yet (no callback has come either) is connecting.
func (s *connState) load() connStatus {
	if p := s.v.Load(); p != nil {
		return *p
	}
	return connStatus{status: natsgo.CONNECTING}
}

func (s *connState) store(st connStatus) { s.v.Store(&st) }

// connected records the connect's success, unless a callback already
// reported the connection lost (it comes after).
func (s *connState) connected() {
	s.v.CompareAndSwap(nil, &connStatus{status: natsgo.CONNECTED})
}

// attemptFailed records a failed reconnect attempt while reconnecting.
func (s *connState) attemptFailed(err error) {
	for {
		cur := s.v.Load()
		// (The disconnection's own error can be the first one read.)
		if cur == nil || cur.status != natsgo.RECONNECTING || (cur.cause != nil && cur.cause.Error() == err.Error()) {
			return
		}
		st := *cur
		st.last = err
		if s.v.CompareAndSwap(cur, &st) {
			return
		}
	}
}

// watchHandshakes records the error of each reconnect attempt whose
// handshake failed (a server that accepts the connection and does not
// answer, or refuses it), for which nats.go calls no callback, until
// done is closed (the connection closed). It reads nc's last error after
// each attempt: nats.go reports one as a RECONNECTING status change, and
// LastError, which waits for the connection's lock, has it from the
// attempt's end to the next one's start.
func (s *connState) watchHandshakes(nc *natsgo.Conn, done <-chan struct{}) {
	ch := nc.StatusChanged(natsgo.RECONNECTING)
	for {
		select {
		case <-done:
			return
		case <-ch:
			if err := nc.LastError(); err != nil {
				s.attemptFailed(err)
			}
		}
	}
}

var (
	_ stream.Binder        = (*Binder)(nil)
	_ stream.SpecValidator = (*Binder)(nil)
	_ stream.HealthChecker = (*Binder)(nil)
	_ stream.BinderFactory = New
)

// New is the [stream.BinderFactory] of binder type "nats". It decodes the
// settings strictly (see the package doc) and does no network I/O: the
// first binding connects.
func New(_ context.Context, s stream.BinderSettings) (stream.Binder, error) {
	st, err := parseSettings(s)
	if err != nil {
		return nil, err
	}
	log := s.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	lagCtx, lagCancel := context.WithCancel(context.Background())
	return &Binder{
		name:      s.Name,
		st:        st,
		log:       log,
		streams:   make(map[string]*streamRef),
		lagCtx:    lagCtx,
		lagCancel: lagCancel,

		streamCacheSize: maxCachedStreams,
	}, nil
}

// maxCachedStreams bounds the binder's cache of destinations' streams.
// Each binding keeps the stream it bound to, so the cache only saves a
// JetStream lookup (and its log lines) at the next bind of a destination;
// unbounded, an app sending through the send bridge to ever new dynamic
// destinations (one per tenant, say) grew it by one entry per destination
// for as long as it ran, its evicted producers long closed.
const maxCachedStreams = 1024

// minFlusherTimeout is the least time a write to the server may take
// before the connection is made again (see options).
const minFlusherTimeout = 5 * time.Second

// wrap adds context to err and removes the binder's secrets from its text.
func (bd *Binder) wrap(err error, format string, args ...any) error {
	return secrets.Wrapf(bd.st.secrets, err, format, args...)
}

// logErr is err's text with secrets removed, for log lines, cut to
// logtext.Max bytes (a handler's error can carry a whole payload).
func (bd *Binder) logErr(err error) string {
	return secrets.LogText(err, bd.st.secrets)
}

func (bd *Binder) checkOpen() error {
	bd.mu.Lock()
	defer bd.mu.Unlock()
	return bd.bindings.CheckOpen()
}

// servers returns the server list for messages, without secrets, each
// server as redactedURL shows it.
func (bd *Binder) servers() string {
	l := make([]string, len(bd.st.servers))
	for i, s := range bd.st.servers {
		l[i] = bd.redactedURL(s)
	}
	return strings.Join(l, ",")
}

// redactedURL is a server URL for messages: its password shown as
// secrets.Placeholder and its user kept, as package redact shows a URL
// (and nats.go's ConnectedUrlRedacted, with its own placeholder), a token
// (user info without a password) and every other secret of the binder's
// hidden. The connected and reconnected lines name a server alike: the
// reconnected one read nats://******@host (the configured URL with its
// whole user info taken for a secret) where the connected one read
// nats://user:******@host.
func (bd *Binder) redactedURL(s string) string {
	if u, err := url.Parse(s); err == nil && u.User != nil {
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), secrets.Placeholder)
			s = u.String()
		}
	}
	return secrets.RedactText(s, bd.st.secrets)
}

// jetStream returns a JetStream context on nc for sends whose send
// timeout is at most sendTimeout. A PubAck that never comes (a publish
// lost in a failover, a subject a plain subscriber took) leaves its future
// in the context's table of pending acknowledgements, which nats.go
// clears only on a reconnect; at WithPublishAsyncMaxPending of them every
// publish stalls and fails. So a future is given up (ErrAsyncPublishTimeout)
// after twice the send timeout, by when its send has ended.
func (bd *Binder) jetStream(nc *natsgo.Conn, sendTimeout time.Duration) (jetstream.JetStream, error) {
	opts := []jetstream.JetStreamOpt{
		jetstream.WithPublishAsyncMaxPending(asyncWindow),
		jetstream.WithDefaultTimeout(bd.st.apiTimeout),
		jetstream.WithPublishAsyncTimeout(2 * sendTimeout),
	}
	if bd.st.domain != "" {
		return jetstream.NewWithDomain(nc, bd.st.domain, opts...)
	}
	return jetstream.New(nc, opts...)
}

// connect returns the binder's connection, dialling it on first use. An
// unreachable server is an error wrapped with [stream.Unavailable]; a
// refused authentication, a TLS failure or a server without JetStream is
// not (retrying does not help).
func (bd *Binder) connect(ctx context.Context) (*connection, error) {
	if c := bd.conn.Load(); c != nil {
		return c, nil
	}
	bd.dialMu.Lock()
	defer bd.dialMu.Unlock()
	if c := bd.conn.Load(); c != nil {
		return c, nil
	}
	if err := bd.checkOpen(); err != nil {
		return nil, err
	}
	type result struct {
		c   *connection
		err error
	}
	done := make(chan result, 1)
	go func() {
		c, err := bd.dial(ctx)
		done <- result{c, err}
	}()
	var r result
	select {
	case r = <-done:
	case <-ctx.Done():
		go func() { // close what the dial still makes
			if r := <-done; r.c != nil {
				r.c.nc.Close()
			}
		}()
		err := stream.Unavailable(fmt.Errorf("connecting to %s: %w", bd.servers(), ctx.Err()))
		bd.dialErr.Store(&err)
		return nil, err
	}
	if r.err != nil {
		bd.dialErr.Store(&r.err)
		return nil, r.err
	}
	bd.dialErr.Store(nil)
	bd.mu.Lock()
	closed := bd.bindings.Closed()
	if !closed {
		bd.conn.Store(r.c)
	}
	bd.mu.Unlock()
	if closed {
		r.c.nc.Close()
		return nil, fmt.Errorf("binder %w", stream.ErrClosed)
	}
	return r.c, nil
}

func (bd *Binder) dial(ctx context.Context) (*connection, error) {
	o := natsgo.GetDefaultOptions()
	o.Servers = bd.st.servers
	o.Name = bd.st.name
	o.User, o.Password, o.Token = bd.st.username, bd.st.password, bd.st.token
	o.Timeout = bd.st.connectTimeout
	o.AllowReconnect = true
	o.MaxReconnect = -1
	o.CustomReconnectDelayCB = bd.reconnectDelay
	o.IgnoreAuthErrorAbort = true
	o.RetryOnFailedConnect = false
	o.PingInterval = bd.st.pingInterval
	o.MaxPingsOut = bd.st.maxPingsOut
	// nats.go holds the connection's lock while it writes to the socket,
	// so that on a path that stalls (the socket takes no more bytes)
	// every publish, whatever its ctx, and the pings wait for the write,
	// by default for a minute, while the connection looks up. A write
	// that takes as long as the pings would take to find the connection
	// stale fails and the connection is made again. The bound is on a
	// whole write (nats.go's, of what it buffered: a large message at
	// least), not on a lack of progress, so it is at least
	// minFlusherTimeout (a slow but working link must not be cut at every
	// large message when the pings are short) and at most nats.go's
	// default.
	o.FlusherTimeout = min(max(bd.st.pingInterval*time.Duration(bd.st.maxPingsOut), minFlusherTimeout), natsgo.DefaultFlusherTimeout)
	o.ReconnectOnFlusherError = true
	if bd.st.tls != nil {
		o.Secure = true
		o.TLSConfig = bd.st.tls.Clone()
		o.TLSHandshakeFirst = bd.st.tlsFirst
	}
	if bd.st.credentials != "" {
		// As the settings checked it: "file:" dropped (a classpath:
		// resource was refused there).
		name, err := conf.FileName(bd.st.credentials)
		if err != nil {
			return nil, bd.wrap(err, "nats: credentials-file")
		}
		if err := natsgo.UserCredentials(name)(&o); err != nil {
			return nil, bd.wrap(err, "nats: credentials-file")
		}
	}
	// The callbacks keep state first, and call none of the connection's
	// accessors that take its lock (ConnectedUrlRedacted, Status, ...;
	// ClosedCB's LastError once closed, when nothing holds it): nats.go
	// calls them one after another on one goroutine, and a reconnect
	// attempt holds that lock for its dial and handshake (up to
	// connect-timeout), so a callback that waited for it held up the next
	// ones, the next disconnection's among them (Health said connected).
	state := &connState{}
	closed := make(chan struct{}) // ends watchHandshakes
	var closeOnce sync.Once
	o.ConnectedCB = func(*natsgo.Conn) { bd.connectedAt.Store(time.Now().UnixNano()) }
	o.DisconnectedErrCB = func(_ *natsgo.Conn, err error) {
		state.store(connStatus{status: natsgo.RECONNECTING, cause: err}) // Close: ClosedCB follows
		if bd.checkOpen() != nil {
			return // Close
		}
		bd.log.Warn("nats: disconnected; reconnecting with back-off", "error", bd.logErr(err))
	}
	o.ReconnectedCB = func(*natsgo.Conn) {
		state.store(connStatus{status: natsgo.CONNECTED})
		bd.connectedAt.Store(time.Now().UnixNano())
		// The configured servers (redacted already): which one it is
		// takes the lock (ConnectedUrlRedacted).
		bd.log.Info("nats: reconnected", "servers", bd.servers())
	}
	o.ReconnectErrCB = func(_ *natsgo.Conn, err error) {
		state.attemptFailed(err)
		bd.log.Debug("nats: reconnect attempt failed", "error", bd.logErr(err))
	}
	o.ClosedCB = func(nc *natsgo.Conn) {
		st := state.load()
		st.status, st.last = natsgo.CLOSED, nil
		if err := nc.LastError(); err != nil { // closed: nothing holds the lock for long
			st.cause = err
		}
		state.store(st)
		closeOnce.Do(func() { close(closed) })
	}
	o.AsyncErrorCB = func(_ *natsgo.Conn, sub *natsgo.Subscription, err error) {
		subj := ""
		if sub != nil {
			subj = sub.Subject
		}
		bd.log.Warn("nats: asynchronous error", "subscription", subj, "error", bd.logErr(err))
	}
	nc, err := o.Connect()
	if err != nil {
		return nil, bd.classifyDial(err)
	}
	state.connected()
	go state.watchHandshakes(nc, closed)
	bd.connectedAt.Store(time.Now().UnixNano())
	// Dead letters are sent with DefaultSendTimeout (publishDeadLetter).
	js, err := bd.jetStream(nc, DefaultSendTimeout)
	if err != nil {
		nc.Close()
		return nil, bd.wrap(err, "nats: jetstream")
	}
	// Ask JetStream once, so that a server without it fails the bind with
	// a clear error rather than every send later.
	actx, cancel := context.WithTimeout(ctx, bd.st.apiTimeout)
	_, err = js.AccountInfo(actx)
	cancel()
	if err != nil {
		nc.Close()
		if errors.Is(err, jetstream.ErrJetStreamNotEnabled) || errors.Is(err, jetstream.ErrJetStreamNotEnabledForAccount) {
			return nil, bd.wrap(err, "nats: %s: JetStream is not enabled (start nats-server with -js, or enable it for the account)", bd.servers())
		}
		return nil, stream.Unavailable(bd.wrap(err, "nats: %s: JetStream does not answer", bd.servers()))
	}
	bd.log.Info("nats: connected", "server", bd.redactedURL(nc.ConnectedUrl()), "version", nc.ConnectedServerVersion(), "max-payload", nc.MaxPayload())
	return &connection{nc: nc, js: js, state: state}, nil
}

// classifyDial turns a failed first connect into the bind error: refused
// credentials and TLS problems as they are (with a hint), everything else
// — refused or timed-out connections, DNS failures — as unavailable.
func (bd *Binder) classifyDial(err error) error {
	switch {
	case isAuthError(err):
		return bd.wrap(err, "nats: %s: authentication failed (check username/password, token or credentials-file)", bd.servers())
	case isTLSError(err):
		return bd.wrap(err, "nats: %s: TLS", bd.servers())
	}
	return stream.Unavailable(bd.wrap(err, "nats: %s: cannot connect", bd.servers()))
}

func isAuthError(err error) bool {
	if errors.Is(err, natsgo.ErrAuthorization) || errors.Is(err, natsgo.ErrAuthExpired) ||
		errors.Is(err, natsgo.ErrAuthRevoked) || errors.Is(err, natsgo.ErrAccountAuthExpired) {
		return true
	}
	s := strings.ToLower(err.Error())
	return strings.Contains(s, "authorization violation") || strings.Contains(s, "authentication")
}

func isTLSError(err error) bool {
	var ue x509.UnknownAuthorityError
	var he x509.HostnameError
	var ci x509.CertificateInvalidError
	if errors.As(err, &ue) || errors.As(err, &he) || errors.As(err, &ci) ||
		errors.Is(err, natsgo.ErrSecureConnRequired) || errors.Is(err, natsgo.ErrSecureConnWanted) {
		return true
	}
	return strings.Contains(strings.ToLower(err.Error()), "tls")
}

// reconnectDelay is nats.go's CustomReconnectDelayCB: jittered exponential
// back-off from reconnect-initial-interval to reconnect-max-interval.
// attempts restarts at 1 with every disconnection, so the binder carries a
// streak across disconnections too: a connection that did not stay up for
// reconnect-stable-interval continues the back-off where the last one
// ended instead of starting over, and a server that drops every connection
// at once is retried no more than once per reconnect-max-interval.
func (bd *Binder) reconnectDelay(attempts int) time.Duration {
	if attempts == 1 {
		up := time.Since(time.Unix(0, bd.connectedAt.Load()))
		if up < bd.st.reconnectStable {
			bd.streak.Add(1)
		} else {
			bd.streak.Store(0)
		}
	}
	b := dispatch.Backoff{Initial: bd.st.reconnectInit, Max: bd.st.reconnectMax}
	return b.Delay(attempts + int(bd.streak.Load()))
}

// Health reports the state of the binder's connection: nil while
// connected (or before the first bind), the error of the last attempt
// while no bind has connected yet, else the connection status and its
// last error. It does no I/O and does not wait for the connection (see
// connState). It implements [stream.HealthChecker].
func (bd *Binder) Health(context.Context) error {
	if err := bd.checkOpen(); err != nil {
		return fmt.Errorf("nats: %w", err)
	}
	c := bd.conn.Load()
	if c == nil {
		if e := bd.dialErr.Load(); e != nil {
			return *e // already redacted, and names the servers
		}
		return nil
	}
	st := c.state.load()
	if st.status == natsgo.CONNECTED {
		return nil
	}
	err := fmt.Errorf("nats: not connected to %s (%s)", bd.servers(), strings.ToLower(st.status.String()))
	if st.cause != nil {
		err = fmt.Errorf("%w: %w", err, st.cause)
	}
	if st.last != nil {
		err = fmt.Errorf("%w; last attempt: %w", err, st.last)
	}
	return secrets.Redact(err, bd.st.secrets)
}

// ValidateProducer checks the NATS properties of a producer binding
// (stream.nats.bindings.<binding>.producer).
func (bd *Binder) ValidateProducer(spec stream.ProducerSpec) error {
	if _, err := parseProducer(spec.Binding, spec.Extension); err != nil {
		return err
	}
	return destinationProblem(spec.Binding, spec.Destination)
}

// destinationProblem is why dest cannot be a destination of binding (not
// a literal NATS subject), at the binding's destination key, so that the
// app and streambind lint report it rather than every bind failing.
func destinationProblem(binding, dest string) error {
	if err := checkSubject(dest); err != nil {
		return &stream.ConfigError{Path: "stream.bindings." + binding + ".destination", Msg: err.Error() + " (a NATS destination is a subject: tokens of printable characters other than * and >, separated by '.')"}
	}
	return nil
}

// ValidateConsumer checks the NATS properties of a consumer binding
// (stream.nats.bindings.<binding>.consumer).
func (bd *Binder) ValidateConsumer(spec stream.ConsumerSpec) error {
	cs, err := parseConsumer(spec.Binding, spec.Extension)
	if err != nil {
		return err
	}
	if err := destinationProblem(spec.Binding, spec.Destination); err != nil {
		return err
	}
	if err := conf.AnonymousDLQ(Type, spec); err != nil {
		return err
	}
	if spec.Consumer.DLQ && spec.Group != "" && cs.dlqName == "" {
		// The dead letters' subject holds the group.
		if err := checkSubject(stream.DLQName(spec.Destination, spec.Group)); err != nil {
			return &stream.ConfigError{Path: "stream.bindings." + spec.Binding + ".group", Msg: fmt.Sprintf("the dead-letter subject of group %q: %v (set dlq-name, or a group without white space, * or >)", spec.Group, err)}
		}
	}
	return nil
}

// streamRef is a destination's stream as provisioning found or made it.
type streamRef struct {
	name string
	// own: the stream is the binder's, named StreamName(destination), with
	// subjects <destination> and <destination>.>; otherwise a stream of
	// another name (made by an operator) that captures the destination.
	own        bool
	subjects   []string
	maxMsgSize int32
	maxBytes   int64         // the stream's max-bytes; <= 0: unlimited
	memory     bool          // memory storage (see storedSize)
	created    time.Time     // tells a stream deleted and made again from the one bound
	duplicates time.Duration // the stream's duplicate window (de-duplication by Nats-Msg-Id)
}

// captures reports whether the stream's subjects capture subject.
func (r *streamRef) captures(subject string) bool {
	for _, s := range r.subjects {
		if subjectMatches(s, subject) {
			return true
		}
	}
	return false
}

// subjectMatches reports whether the literal subject matches pattern
// (which may hold * and > wildcards).
func subjectMatches(pattern, subject string) bool {
	pt := strings.Split(pattern, ".")
	st := strings.Split(subject, ".")
	for i, p := range pt {
		if p == ">" {
			return len(st) > i
		}
		if i >= len(st) || (p != "*" && p != st[i]) {
			return false
		}
	}
	return len(pt) == len(st)
}

// ensureStream returns the stream of dest: StreamName(dest) when it exists
// (it must capture dest), else a stream of another name that captures dest,
// else StreamName(dest) created with subjects dest and dest.> and the
// binder's stream settings. Results are cached (at most
// maxCachedStreams); forget drops one.
func (bd *Binder) ensureStream(ctx context.Context, c *connection, dest string) (*streamRef, error) {
	return bd.ensureStreamOf(ctx, c, dest, false)
}

// ensureDeadLetterStream is ensureStream for a dead-letter subject (that
// of a binding's dlq, or the destination of a dead-letters-of reader): a
// stream made for it has the settings deadLetterSettings gives, and one
// that exists with a retention that removes messages is warned of
// (warnDeadLetterRetention).
func (bd *Binder) ensureDeadLetterStream(ctx context.Context, c *connection, subject string) (*streamRef, error) {
	return bd.ensureStreamOf(ctx, c, subject, true)
}

func (bd *Binder) ensureStreamOf(ctx context.Context, c *connection, dest string, deadLetter bool) (*streamRef, error) {
	bd.provMu.Lock()
	defer bd.provMu.Unlock()
	if r := bd.streams[dest]; r != nil {
		return r, nil
	}
	r, err := bd.findOrCreateStream(ctx, c, dest, deadLetter)
	if err != nil {
		return nil, err
	}
	for k := range bd.streams { // full: drop any entry (see maxCachedStreams)
		if len(bd.streams) < bd.streamCacheSize {
			break
		}
		delete(bd.streams, k)
	}
	bd.streams[dest] = r
	return r, nil
}

func (bd *Binder) forgetStream(dest string) {
	bd.provMu.Lock()
	delete(bd.streams, dest)
	bd.provMu.Unlock()
}

// streamGoneWait is how long a binding that finds its destination's
// stream gone at run time waits before it creates the stream again. A
// NATS server deleting a stream stops answering for it and tells its
// consumers they were deleted (409) before it has removed the stream's
// files; a stream of the same name made in that moment gets the same
// directory and loses its files to that removal. Publishes to it then fail
// for good (503, err_code 10077 "error opening msg block file") or, worse,
// are acknowledged and cannot be read, and making a consumer on it can
// fail (err_code 10012). With NATS 2.9.10 a stream made again within
// milliseconds of the 409 was broken about every other time; the deleting
// client's own reply comes after the removal, within milliseconds for a
// small stream. A stream whose removal takes longer (many message blocks)
// can still be caught; an operator who deletes a busy destination's
// stream should stop its bindings first.
const streamGoneWait = time.Second

// provisionAgain provisions dest's stream again for a binding that found
// it gone at run time: at once when a stream of that name is there again
// (made by another binding or an operator), else after streamGoneWait
// (see there), bounded by ctx.
func (bd *Binder) provisionAgain(ctx context.Context, c *connection, dest string) (*streamRef, error) {
	bd.forgetStream(dest)
	if _, err := c.js.Stream(ctx, StreamName(dest)); errors.Is(err, jetstream.ErrStreamNotFound) {
		if !dispatch.Sleep(ctx, streamGoneWait) {
			return nil, fmt.Errorf("waiting for the deleted stream %s to be removed: %w", StreamName(dest), ctx.Err())
		}
	}
	return bd.ensureStream(ctx, c, dest)
}

func refOf(info *jetstream.StreamInfo, own bool) *streamRef {
	return &streamRef{name: info.Config.Name, own: own, subjects: info.Config.Subjects, maxMsgSize: info.Config.MaxMsgSize, maxBytes: info.Config.MaxBytes, memory: info.Config.Storage == jetstream.MemoryStorage, created: info.Created, duplicates: info.Config.Duplicates}
}

// streamSettings are the settings of a stream the binder makes: its
// stream settings, or for a dead-letter stream (deadLetter)
// deadLetterSettings.
func (bd *Binder) streamSettings(deadLetter bool) streamSettings {
	if deadLetter {
		return bd.deadLetterSettings()
	}
	return bd.st.stream.windowWithinMaxAge()
}

// windowWithinMaxAge returns ss with a duplicate window no longer than
// its max-age: JetStream refuses a longer one (err_code 10052), and
// nats-server gives a stream made with none the shorter of 2m and its
// max-age. A window written longer than stream.max-age is a
// configuration error (parseSettings); this shortens the default, and a
// dead-letter stream's window to dlq-stream.max-age.
func (ss streamSettings) windowWithinMaxAge() streamSettings {
	if ss.maxAge > 0 && ss.duplicateWindow > ss.maxAge {
		ss.duplicateWindow = ss.maxAge
	}
	return ss
}

// deadLetterSettings are the settings of a dead-letter stream the binder
// makes: the stream settings, but retention limits whatever stream.retention
// says, and the limits of dlq-stream (max-age, max-msgs, max-bytes) rather
// than stream's. A dead letter must stay until an operator replays or
// purges it (streambind dlq): under interest retention a stream drops at
// once what no consumer reads — every dead letter, as nothing consumes most
// dead-letter streams — and under either interest or workqueue a
// dead-letters-of reader's group removed each dead letter it acknowledged;
// and a dead letter must not expire with its destination's messages (a
// destination's stream kept for an hour took its dead letters with it
// after an hour), as a Kafka dead-letter topic has its own retention.
func (bd *Binder) deadLetterSettings() streamSettings {
	ss := bd.st.stream
	ss.retention = jetstream.LimitsPolicy
	ss.maxAge, ss.maxMsgs, ss.maxBytes = bd.st.dlqStream.maxAge, bd.st.dlqStream.maxMsgs, bd.st.dlqStream.maxBytes
	// JetStream refuses a duplicate window longer than max-age (err_code
	// 10052): a dlq-stream.max-age below stream.duplicate-window (2m by
	// default) failed every bind with a dead-letter destination. The
	// window is then max-age, as nats-server gives a stream made with none;
	// a dead letter older than that is gone anyway.
	return ss.windowWithinMaxAge()
}

// warnDeadLetterRetention logs a WARN when the dead-letter stream that
// captures subject, which exists and is used as it is, has a retention
// other than limits: made by hand, or by a streambind of before
// 2026-12-07 under stream.retention workqueue. Its dead letters are then
// not kept for streambind dlq: a dead-letters-of reader's group removes
// each one it acknowledges, and under interest one no consumer is
// interested in is dropped at once. JetStream does not change a stream's
// retention in place, and the binder does not delete it.
func (bd *Binder) warnDeadLetterRetention(subject string, have jetstream.StreamConfig) {
	var consequence string
	switch have.Retention {
	case jetstream.LimitsPolicy:
		return
	case jetstream.WorkQueuePolicy:
		consequence = "a dead-letters-of reader's group removes each dead letter it acknowledges, so streambind dlq no longer lists, replays or purges it"
	default:
		consequence = "a dead letter is dropped once every consumer of the stream has acknowledged it, at once when none is interested (a dead-letters-of reader's group acknowledging it removes it), so streambind dlq no longer lists, replays or purges it"
	}
	bd.log.Warn("nats: the dead-letter stream exists with "+strings.ToLower(have.Retention.String())+" retention and is used as it is: "+consequence+
		"; the binder makes dead-letter streams with limits retention, which keeps each dead letter until it is replayed or purged (or reaches dlq-stream's limits). To have that, stop the readers, replay or move what it holds (streambind dlq replay), and delete the stream (nats stream rm): the next bind makes it again",
		"dlq", subject, "dlq_stream", have.Name, "retention", strings.ToLower(have.Retention.String()))
}

func (bd *Binder) findOrCreateStream(ctx context.Context, c *connection, dest string, deadLetter bool) (*streamRef, error) {
	name := StreamName(dest)
	s, err := c.js.Stream(ctx, name)
	if err == nil {
		r := refOf(s.CachedInfo(), true)
		if !r.captures(dest) {
			return nil, fmt.Errorf("stream %s exists but does not capture subject %s (its subjects: %s)", name, dest, strings.Join(r.subjects, ", "))
		}
		bd.warnStreamDiffers(dest, s.CachedInfo().Config, deadLetter)
		if deadLetter {
			bd.warnDeadLetterRetention(dest, s.CachedInfo().Config)
		}
		return r, nil
	}
	if !errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil, bd.apiErr(err, "stream %s", name)
	}
	if other, err := c.js.StreamNameBySubject(ctx, dest); err == nil && other != "" {
		s, err := c.js.Stream(ctx, other)
		if err != nil {
			return nil, bd.apiErr(err, "stream %s (it captures %s)", other, dest)
		}
		r := refOf(s.CachedInfo(), false)
		if d, ok := destinationOf(r.name, r.subjects); ok && d != dest {
			// Another destination's stream: its consumers read dest's
			// messages too, and its partitions' subjects are dest's.
			return nil, overlapError(dest, d, other)
		}
		r.own = len(r.subjects) == 2 && r.subjects[0] == dest && r.subjects[1] == dest+".>"
		bd.log.Info("nats: using an existing stream that captures the destination", "destination", dest, "stream", other)
		if deadLetter {
			bd.warnDeadLetterRetention(dest, s.CachedInfo().Config)
		}
		return r, nil
	} else if err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil, bd.apiErr(err, "looking up the stream of subject %s", dest)
	}
	ss := bd.streamSettings(deadLetter)
	desc := "streambind destination " + dest
	if deadLetter {
		desc = "streambind dead letters " + dest
	}
	cfg := jetstream.StreamConfig{
		Name:        name,
		Description: desc,
		Subjects:    []string{dest, dest + ".>"},
		Retention:   ss.retention,
		Storage:     ss.storage,
		Replicas:    ss.replicas,
		MaxAge:      ss.maxAge,
		MaxMsgs:     ss.maxMsgs,
		MaxBytes:    ss.maxBytes,
		MaxMsgSize:  ss.maxMsgSize,
		Duplicates:  ss.duplicateWindow,
		Discard:     ss.discard,
	}
	s, err = c.js.CreateStream(ctx, cfg)
	switch {
	case err == nil:
		bd.log.Info("nats: created stream", "destination", dest, "stream", name, "dead_letters", deadLetter, "retention", cfg.Retention.String(), "storage", ss.storage.String(), "replicas", ss.replicas, "max-age", ss.maxAge, "max-msgs", ss.maxMsgs, "max-bytes", ss.maxBytes)
		return refOf(s.CachedInfo(), true), nil
	case errors.Is(err, jetstream.ErrStreamNameAlreadyInUse):
		// Made meanwhile (by another binder), with other settings.
		if s, err2 := c.js.Stream(ctx, name); err2 == nil {
			return refOf(s.CachedInfo(), true), nil
		}
		return nil, bd.apiErr(err, "create stream %s", name)
	case apiCode(err) == 10065:
		if other, err2 := c.js.StreamNameBySubject(ctx, dest+".>"); err2 == nil && other != "" {
			if s, err2 := c.js.Stream(ctx, other); err2 == nil {
				if d, ok := destinationOf(other, s.CachedInfo().Config.Subjects); ok && d != dest {
					return nil, overlapError(dest, d, other)
				}
			}
			return nil, bd.wrap(err, "create stream %s for destination %s with subjects %s and %s.>: stream %s holds overlapping subjects (a destination's partitions are its subjects <destination>.<n>, so no destination may be another's prefix at a '.')", name, dest, dest, dest, other)
		}
		return nil, bd.apiErr(err, "create stream %s for destination %s with subjects %s and %s.>: another stream holds overlapping subjects — a destination's partitions are its subjects <destination>.<n>, so no destination may be another's prefix at a '.' (orders and orders.eu): rename one", name, dest, dest, dest)
	}
	return nil, bd.apiErr(err, "create stream %s", name)
}

// warnStreamDiffers logs a WARN when the stream of dest, which exists and
// is used as it is, has settings other than those it would have been
// created with (streamSettings: the binder's stream settings, or for a
// dead-letter stream deadLetterSettings): a redeployed service whose
// configuration changed them would otherwise run with the old ones and no
// word of it.
func (bd *Binder) warnStreamDiffers(dest string, have jetstream.StreamConfig, deadLetter bool) {
	ss := bd.streamSettings(deadLetter)
	var diffs []string
	add := func(key string, has, want any) {
		if has != want {
			diffs = append(diffs, fmt.Sprintf("%s %v (configured: %v)", key, has, want))
		}
	}
	if !deadLetter { // warnDeadLetterRetention's
		add("retention", have.Retention.String(), ss.retention.String())
	}
	add("storage", have.Storage.String(), ss.storage.String())
	add("replicas", have.Replicas, ss.replicas)
	add("max-age", have.MaxAge, ss.maxAge)
	add("max-msgs", have.MaxMsgs, ss.maxMsgs)
	add("max-bytes", have.MaxBytes, ss.maxBytes)
	add("max-msg-size", have.MaxMsgSize, ss.maxMsgSize)
	add("duplicate-window", have.Duplicates, ss.duplicateWindow)
	add("discard", have.Discard.String(), ss.discard.String())
	if len(diffs) == 0 {
		return
	}
	if deadLetter {
		bd.log.Warn("nats: the dead-letter stream exists with other settings than stream.nats.binder.stream and dlq-stream (its max-age, max-msgs and max-bytes; its retention is limits); it is used as it is (change it with nats stream edit, or move its dead letters and delete it to have it created again)",
			"dlq", dest, "dlq_stream", have.Name, "differs", strings.Join(diffs, "; "))
		return
	}
	bd.log.Warn("nats: the destination's stream exists with other settings than stream.nats.binder.stream; it is used as it is (change it with nats stream edit, or delete it to have it created again)",
		"destination", dest, "stream", have.Name, "differs", strings.Join(diffs, "; "))
}

// destinationOf returns D when the stream name with subjects is the one
// the binder makes for destination D: named StreamName(D), capturing D and
// D.> (a stream an operator named otherwise is used as it is).
func destinationOf(name string, subjects []string) (string, bool) {
	if len(subjects) == 2 && subjects[1] == subjects[0]+".>" && name == StreamName(subjects[0]) {
		return subjects[0], true
	}
	return "", false
}

// overlapError is the bind error of destination dest whose subjects
// overlap those of destination other (one is the other's prefix at a '.'),
// whose stream is streamName.
func overlapError(dest, other, streamName string) error {
	long, short := dest, other
	if len(other) > len(dest) {
		long, short = other, dest
	}
	return fmt.Errorf("destination %s overlaps destination %s (stream %s): %s's stream captures %s.>, so it would hold %s's messages and %s's consumers would read them — a destination's partitions are its subjects <destination>.<n>, so no destination may be another's prefix at a '.'; rename one (%s-%s, say)",
		dest, other, streamName, short, short, long, short, short, strings.TrimPrefix(long, short+"."))
}

// apiCode returns the JetStream error code of err, or 0.
func apiCode(err error) jetstream.ErrorCode {
	var je jetstream.JetStreamError
	if errors.As(err, &je) && je.APIError() != nil {
		return je.APIError().ErrorCode
	}
	return 0
}

// apiErr wraps the error of a JetStream API request; a request nobody
// answered (JetStream down, the connection lost) is unavailable.
func (bd *Binder) apiErr(err error, format string, args ...any) error {
	err = bd.wrap(err, format, args...)
	if isTransient(err) {
		return stream.Unavailable(err)
	}
	return err
}

// isTransient reports errors that a retry may fix: timeouts, lost
// connections, no responders.
func isTransient(err error) bool {
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, natsgo.ErrTimeout),
		errors.Is(err, natsgo.ErrNoResponders), errors.Is(err, jetstream.ErrNoStreamResponse),
		errors.Is(err, natsgo.ErrConnectionReconnecting), errors.Is(err, natsgo.ErrDisconnected),
		errors.Is(err, natsgo.ErrReconnectBufExceeded), errors.Is(err, jetstream.ErrTooManyStalledMsgs),
		errors.Is(err, io.EOF), errors.As(err, &ne):
		return true
	}
	if je := (jetstream.JetStreamError)(nil); errors.As(err, &je) && je.APIError() != nil {
		return je.APIError().Code == 503 || je.APIError().Code == 408
	}
	return false
}

// BindProducer provisions the destination's stream (and the durable
// consumers of required-groups) and returns a producer binding.
func (bd *Binder) BindProducer(ctx context.Context, spec stream.ProducerSpec) (stream.Producer, error) {
	fail := func(err error) (stream.Producer, error) {
		return nil, binding.Error(err, bd.wrap(err, "nats: bind producer %s", spec.Binding))
	}
	ps, err := parseProducer(spec.Binding, spec.Extension)
	if err != nil {
		return fail(err)
	}
	if err := checkSubject(spec.Destination); err != nil {
		return fail(err)
	}
	if err := bd.checkOpen(); err != nil {
		return fail(err)
	}
	shared, err := bd.connect(ctx)
	if err != nil {
		return fail(err)
	}
	// A JetStream context of the producer's own: its PubAck futures are
	// given up after its send-timeout (see jetStream).
	js, err := bd.jetStream(shared.nc, ps.sendTimeout)
	if err != nil {
		return fail(err)
	}
	c := &connection{nc: shared.nc, js: js, state: shared.state}
	ref, err := bd.ensureStream(ctx, c, spec.Destination)
	if err != nil {
		return fail(err)
	}
	if spec.Producer.IsPartitioned() && !ref.captures(spec.Destination+".0") {
		return fail(fmt.Errorf("stream %s does not capture the partition subjects %s.<n> (its subjects: %s)", ref.name, spec.Destination, strings.Join(ref.subjects, ", ")))
	}
	if spec.Producer.IsPartitioned() {
		bd.warnUnreadPartitions(ctx, c, ref, spec.Destination, spec.Producer.PartitionCount)
	}
	for _, g := range spec.Producer.RequiredGroups {
		if g = strings.TrimSpace(g); g == "" {
			continue
		}
		if err := bd.declareGroup(ctx, c, ref, spec, g); err != nil {
			return fail(fmt.Errorf("required group %s: %w", g, err))
		}
	}
	p := bd.newProducer(spec, ps, c, ref)
	bd.mu.Lock()
	defer bd.mu.Unlock()
	if err := bd.bindings.AddProducer(p); err != nil {
		return fail(err)
	}
	return p, nil
}

// durableConfig is the consumer configuration of a named group of dest on
// stream ref: durable DurableName(group, instance) (with the destination
// in front on a stream that is not the destination's own), explicit acks,
// and a filter for a partitioned consumer (parts) or a stream shared with
// other destinations.
func durableConfig(dest string, ref *streamRef, group string, instance int, parts []int, cs consumerSettings) (jetstream.ConsumerConfig, error) {
	name := durableName(dest, ref, group, instance)
	cfg := jetstream.ConsumerConfig{
		Durable:       name,
		Description:   fmt.Sprintf("streambind group %s of %s", group, dest),
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       cs.ackWait,
		MaxDeliver:    cs.maxDeliver,
		MaxAckPending: cs.maxAckPending,
		DeliverPolicy: jetstream.DeliverAllPolicy,
	}
	if cs.startOffset == "latest" {
		cfg.DeliverPolicy = jetstream.DeliverNewPolicy
	}
	setFilter(&cfg, dest, ref, parts)
	return cfg, nil
}

// durableName is the name of the durable consumer of group (instance -1:
// unpartitioned) of dest on stream ref.
func durableName(dest string, ref *streamRef, group string, instance int) string {
	name := DurableName(group, instance)
	if !ref.own {
		name = safeName(dest) + "__" + name
	}
	return name
}

// setFilter sets the subject filter of a consumer of dest: the partitions
// parts (a partitioned consumer), or dest and dest.> on a stream that holds
// other subjects too; none on the destination's own stream.
func setFilter(cfg *jetstream.ConsumerConfig, dest string, ref *streamRef, parts []int) {
	var f []string
	switch {
	case parts != nil:
		for _, p := range parts {
			f = append(f, fmt.Sprintf("%s.%d", dest, p))
		}
	case !ref.own:
		if ref.captures(dest) {
			f = append(f, dest)
		}
		if ref.captures(dest + ".0") {
			f = append(f, dest+".>")
		}
	}
	switch len(f) {
	case 0:
	case 1:
		cfg.FilterSubject = f[0]
	default:
		cfg.FilterSubjects = f
	}
}

// ensureConsumer creates or updates a durable consumer. The deliver
// policy of an existing one is kept (it cannot change). advice says what
// to do when cfg filters several subjects and the server cannot (NATS
// before 2.10); that fails before anything is made, and a consumer the
// server made all the same without the filters — one that would read the
// whole stream — is deleted again (or, when it existed, set back).
func (bd *Binder) ensureConsumer(ctx context.Context, c *connection, ref *streamRef, cfg jetstream.ConsumerConfig, advice string) (jetstream.Consumer, error) {
	var prev *jetstream.ConsumerConfig
	ackPending := 0           // the durable's delivered, unacknowledged messages
	want := cfg.DeliverPolicy // start-offset's
	if cur, err := c.js.Consumer(ctx, ref.name, cfg.Durable); err == nil {
		ci := cur.CachedInfo().Config
		prev = &ci
		ackPending = cur.CachedInfo().NumAckPending
		cfg.DeliverPolicy, cfg.OptStartSeq, cfg.OptStartTime = ci.DeliverPolicy, ci.OptStartSeq, ci.OptStartTime
	} else if !errors.Is(err, jetstream.ErrConsumerNotFound) {
		return nil, bd.apiErr(err, "consumer %s on stream %s", cfg.Durable, ref.name)
	}
	if len(cfg.FilterSubjects) > 1 && !multiFilter(c.nc) {
		return nil, filtersError(c.nc, ref, cfg, advice)
	}
	told := -1 // members told of a lowered ack-wait; -1: none was lowered
	if prev != nil && cfg.AckWait < prev.AckWait {
		told = bd.announceAckWait(ctx, c, ref.name, cfg.Durable, cfg.AckWait)
	}
	cons, err := c.js.CreateOrUpdateConsumer(ctx, ref.name, cfg)
	if err != nil {
		if errors.Is(err, jetstream.ErrConsumerMultipleFilterSubjectsNotSupported) {
			if prev == nil {
				bd.deleteUnfiltered(c, ref, cfg.Durable)
			} else if _, err := c.js.UpdateConsumer(context.WithoutCancel(ctx), ref.name, *prev); err != nil {
				bd.log.Error("nats: could not set back a consumer the server changed without its subject filters", "stream", ref.name, "consumer", cfg.Durable, "error", bd.logErr(err))
			}
			return nil, filtersError(c.nc, ref, cfg, advice)
		}
		if prev != nil && !isTransient(err) {
			return nil, bd.updateRefused(err, ref.name, *prev, cfg)
		}
		return nil, bd.apiErr(err, "create consumer %s on stream %s", cfg.Durable, ref.name)
	}
	if prev != nil {
		bd.warnConsumerChanged(ref.name, *prev, cfg, told, ackPending)
		bd.warnStartOffset(ref.name, cfg.Durable, *prev, want)
	}
	return cons, nil
}

// updateRefused is the bind error of an existing durable consumer whose
// update JetStream refused: it names the durable, the settings it was
// made with that JetStream cannot change and the binding's differ from
// (ack policy, push delivery), the others the update changed, and what to
// do.
func (bd *Binder) updateRefused(err error, streamName string, prev, cfg jetstream.ConsumerConfig) error {
	var fixed []string
	if prev.AckPolicy != cfg.AckPolicy {
		policy := func(p jetstream.AckPolicy) string { return strings.ToLower(strings.TrimPrefix(p.String(), "Ack")) }
		fixed = append(fixed, fmt.Sprintf("ack policy %s (the binder needs %s)", policy(prev.AckPolicy), policy(cfg.AckPolicy)))
	}
	if prev.DeliverSubject != "" {
		fixed = append(fixed, fmt.Sprintf("push delivery to %s (the binder needs a pull consumer)", prev.DeliverSubject))
	}
	what := "its settings"
	if len(fixed) > 0 {
		what = strings.Join(fixed, "; ")
	}
	changed := ""
	if d := consumerDiffs(prev, cfg); len(d) > 0 {
		changed = " (the update changed: " + strings.Join(d, "; ") + ")"
	}
	if len(fixed) == 0 && !strings.Contains(strings.ToLower(err.Error()), "can not be updated") {
		// Refused for another reason (a limit of the account or the
		// server, a value out of range): deleting the durable would not
		// help — making it again is refused alike — and loses its
		// position; the server's reason says what to change.
		return bd.wrap(err, "nats: JetStream refused to update the group's durable consumer %s on stream %s%s", cfg.Durable, streamName, changed)
	}
	return bd.wrap(err, "nats: JetStream refused to update the group's durable consumer %s on stream %s%s: it keeps what it was made with, %s; delete it (nats consumer rm %s %s: its position and unacknowledged messages go with it) or bind the group under another name",
		cfg.Durable, streamName, changed, what, streamName, cfg.Durable)
}

// startOffsetOf names the start-offset that makes deliver policy p, or "".
func startOffsetOf(p jetstream.DeliverPolicy) string {
	switch p {
	case jetstream.DeliverAllPolicy:
		return "earliest"
	case jetstream.DeliverNewPolicy:
		return "latest"
	}
	return ""
}

// warnStartOffset logs a WARN when the binding's start-offset would make
// a durable consumer start elsewhere than the group's existing one was made
// to: start-offset applies only when the group's durable is made (as on
// Kafka for a group with committed offsets), and a redeploy that changed
// it had no effect without a word. A durable the binder made again from a
// stream sequence (the server lost it) is not compared.
func (bd *Binder) warnStartOffset(streamName, durable string, prev jetstream.ConsumerConfig, want jetstream.DeliverPolicy) {
	was, now := startOffsetOf(prev.DeliverPolicy), startOffsetOf(want)
	if was == "" || now == "" || was == now {
		return
	}
	bd.log.Warn("nats: start-offset "+now+" has no effect: the group's durable consumer exists, made with start-offset "+was+", and keeps its position (start-offset applies only when the durable is made); to start the group anew, stop its members and delete the durable (nats consumer rm <stream> <consumer>: its position and unacknowledged messages go with it), or bind the group under another name",
		"stream", streamName, "consumer", durable, "start-offset", now, "durable-made-with", was)
}

// warnOtherShape logs a WARN, at the bind of a named group's consumer of
// dest, when durable consumers of the group's other shape exist on stream
// ref: the unpartitioned durable DurableName(group) for a partitioned
// binding, the partitioned ones DurableName(group, i) for an unpartitioned
// one. Either an earlier deployment left them (the group was made
// partitioned, or no longer is), or a producer's required-groups of the
// other shape made them (declareGroup: a partitioned producer makes one per
// partition), perhaps this app's own moments before: the WARN names both
// causes, and claims neither. No member reads them: what they had not
// delivered stays with them (and an interest or workqueue stream keeps it),
// while the binding's own durable, cur, started where start-offset says
// (with earliest, the stream's first message: what members of an earlier
// deployment handled through the old ones comes again) — or, when it has
// delivered messages before (the group was of this shape once and
// switched back), goes on where it stopped, its backlog with it: what was
// sent meanwhile, handled through the other shape's durables, comes
// again. Best effort: a look-up that fails is skipped.
func (bd *Binder) warnOtherShape(ctx context.Context, c *connection, ref *streamRef, dest, group string, partitioned bool, cur *jetstream.ConsumerInfo, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(ctx, warnTimeout)
	defer cancel()
	base := durableName(dest, ref, group, -1)
	s, err := c.js.Stream(ctx, ref.name)
	if err != nil {
		return
	}
	var old []string
	var pending, ackPending uint64
	if partitioned {
		cons, err := s.Consumer(ctx, base)
		if err != nil {
			return
		}
		ci := cons.CachedInfo()
		old = append(old, ci.Name)
		pending, ackPending = ci.NumPending, uint64(ci.NumAckPending)
	} else {
		l := s.ListConsumers(ctx)
		for ci := range l.Info() {
			if b, ok := partitionedBase(ci.Name); ok && b == base {
				old = append(old, ci.Name)
				pending += ci.NumPending
				ackPending += uint64(ci.NumAckPending)
			}
		}
		if l.Err() != nil || len(old) == 0 {
			return
		}
		sort.Strings(old)
	}
	was, now := "unpartitioned", "partitioned"
	// What a producer's required-groups of the other shape makes.
	made := "an unpartitioned producer's required-groups, which makes the durable " + base + ","
	if !partitioned {
		was, now = now, was
		made = "a partitioned producer's required-groups, which makes " + base + "_p<partition> for each partition,"
	}
	// This binding's durable: made now, at start-offset, or one of an
	// earlier deployment of this shape (it has delivered messages), which
	// goes on where it stopped.
	start := "the group's " + now + " durables started where start-offset says (earliest: at the stream's first message, so what an earlier deployment handled through the old ones comes again)"
	args := []any{"stream", ref.name, "old-consumers", strings.Join(old, ", "), "pending", pending, "ack-pending", ackPending}
	if cur != nil && cur.Delivered.Consumer > 0 {
		start = "this binding's durable " + cur.Name + " was made by an earlier " + now + " deployment and goes on where it stopped, with what is pending in it: what was sent while the group was " + was + ", handled through the old durables, comes again (delete it before switching back to start anew, or name the group anew)"
		args = append(args, "consumer", cur.Name, "consumer-pending", cur.NumPending)
	}
	log.Warn("nats: the group's "+was+" durable consumers exist, and no member reads them: the group is "+now+". "+
		"Either an earlier deployment of the group left them (it was "+was+"), or "+made+" perhaps this app's own: set that producer's required-groups without this group (its consumers make their durables when they bind), or the group's shape and the producer's alike. "+
		"Messages they had not delivered (pending) stay with them, and "+start+"; handle or move what is pending, then delete them (nats consumer rm <stream> <consumer>)",
		args...)
}

// Bounds of announceAckWait's wait for the members' replies: quiet after
// the last one, and in all.
const (
	announceQuiet = 250 * time.Millisecond
	announceWait  = 2 * time.Second
)

// announceAckWait tells the running members of the group whose durable
// consumer on stream streamName is durable, before this bind lowers its
// ack-wait to d, so that they acknowledge what they hold in progress and
// keep it at the lower one's pace before the server redelivers by it
// (JetStream applies a changed ack-wait to the messages already delivered,
// about 100ms after the update). It waits for their replies (announceQuiet
// after the last one, but at least flushWait + announceQuiet after the
// announcement when any member replied; announceWait in all) and returns
// how many replied.
// Best effort: a member that does not get it (an earlier version, no
// permission on the subject) reads the change from the server within
// configRefresh (watchConsumer).
func (bd *Binder) announceAckWait(ctx context.Context, c *connection, streamName, durable string, d time.Duration) int {
	inbox := c.nc.NewRespInbox()
	// Counted in the callback (an async subscription's pending limits are
	// large): a channel subscription dropped the replies of a large group
	// beyond its buffer, with a slow-consumer WARN.
	var n, noResponders atomic.Int64
	reply := make(chan struct{}, 1)
	sub, err := c.nc.Subscribe(inbox, func(m *natsgo.Msg) {
		if m.Header.Get("Status") == "503" {
			noResponders.Store(1)
		} else {
			n.Add(1)
		}
		select {
		case reply <- struct{}{}:
		default:
		}
	})
	if err != nil {
		bd.log.Debug("nats: cannot announce the lowered ack-wait", "consumer", durable, "error", bd.logErr(err))
		return 0
	}
	defer func() { _ = sub.Unsubscribe() }()
	subj := ackWaitSubject(streamName, durable)
	if err := c.nc.PublishRequest(subj, inbox, []byte(d.String())); err != nil {
		bd.log.Debug("nats: cannot announce the lowered ack-wait", "consumer", durable, "error", bd.logErr(err))
		return 0
	}
	// A publish the server refuses (no permission for the subject) gets
	// no answer at all, not even no-responders: its error comes before
	// the flush's PONG, and nothing is waited for then.
	if err := c.nc.FlushTimeout(announceWait); err == nil {
		if le := c.nc.LastError(); errors.Is(le, natsgo.ErrPermissionViolation) && strings.Contains(le.Error(), `"`+subj+`"`) {
			bd.log.Debug("nats: no permission to announce the lowered ack-wait; running members read it from the server", "consumer", durable, "error", bd.logErr(le))
			return 0
		}
	}
	all := time.NewTimer(announceWait)
	defer all.Stop()
	quiet := time.NewTimer(announceWait) // the first reply comes at once
	defer quiet.Stop()
	// A member replies once it took in what its client had fetched
	// (flushPull, up to flushWait): replies of a large group spread over
	// that, so the quiet after the last one counts only from then.
	settled := time.Now().Add(flushWait + announceQuiet)
	for {
		select {
		case <-reply:
			if noResponders.Load() != 0 {
				return 0 // no member listens
			}
			quiet.Reset(max(announceQuiet, time.Until(settled)))
		case <-quiet.C:
			return int(n.Load())
		case <-all.C:
			return int(n.Load())
		case <-ctx.Done():
			return int(n.Load())
		}
	}
}

// warnConsumerChanged logs a WARN when a bind changed what an existing
// durable consumer was made with (ack-wait, max-deliver, max-ack-pending,
// its filters): a service redeployed with another configuration. The
// durable is the group's, shared by every member: those still running
// (a rolling deployment) follow its ack-wait and max-deliver as the server
// has them — told of a lowered ack-wait before the update (told: how many
// replied; -1 when it was not lowered), else reading it within
// configRefresh —, while members of versions before that timed their
// in-progress acks by their own ack-wait, so a lowered ack-wait had their
// long-running messages redelivered to others meanwhile. When no member
// replied but the durable had messages delivered and unacknowledged
// (ackPending), some consumer holds them that was not told — of an
// earlier version, or without permission for the announcement — and the
// WARN says what follows and what avoids it.
func (bd *Binder) warnConsumerChanged(streamName string, prev, cfg jetstream.ConsumerConfig, told, ackPending int) {
	diffs := consumerDiffs(prev, cfg)
	if len(diffs) == 0 {
		return
	}
	args := []any{"stream", streamName, "consumer", cfg.Durable, "changed", strings.Join(diffs, "; ")}
	if told >= 0 {
		args = append(args, "members-told", told)
	}
	if told == 0 && ackPending > 0 {
		args = append(args, "ack-pending", ackPending,
			"untold", fmt.Sprintf("no running member replied to the announcement, yet %d messages are delivered and unacknowledged: the members that hold them were not told (a streambind version before this one, or no permission for %s) and will likely handle some of them again once the lower ack-wait applies (JetStream redelivers what they hold longer than %s); a member holds about prefetch × handling time, so keeping that below the new ack-wait (a smaller prefetch) avoids it",
				ackPending, ackWaitSubject(streamName, cfg.Durable), cfg.AckWait))
	}
	bd.log.Warn("nats: the group's durable consumer was made with other settings and is updated; running members of the group follow its ack-wait and max-deliver as the server has it (a lowered ack-wait is announced to them before the update; members of streambind versions before that keep their own ack-wait until restarted)",
		args...)
}

// consumerDiffs names the binding's settings of a durable consumer that
// cfg changes from prev: ack-wait, max-deliver, max-ack-pending, filters.
func consumerDiffs(prev, cfg jetstream.ConsumerConfig) []string {
	var diffs []string
	add := func(key string, was, now any) {
		if fmt.Sprint(was) != fmt.Sprint(now) {
			diffs = append(diffs, fmt.Sprintf("%s %v → %v", key, was, now))
		}
	}
	add("ack-wait", prev.AckWait, cfg.AckWait)
	add("max-deliver", prev.MaxDeliver, cfg.MaxDeliver)
	add("max-ack-pending", prev.MaxAckPending, cfg.MaxAckPending)
	filters := func(c jetstream.ConsumerConfig) []string {
		if c.FilterSubject != "" {
			return []string{c.FilterSubject}
		}
		return c.FilterSubjects
	}
	add("filter subjects", filters(prev), filters(cfg))
	return diffs
}

// BindConsumer provisions the destination's stream, the group's durable
// consumer and, with dlq on a named group, the dead-letter stream, and
// returns a stopped consumer binding.
func (bd *Binder) BindConsumer(ctx context.Context, spec stream.ConsumerSpec) (stream.Consumer, error) {
	fail := func(err error) (stream.Consumer, error) {
		return nil, binding.Error(err, bd.wrap(err, "nats: bind consumer %s", spec.Binding))
	}
	cs, err := parseConsumer(spec.Binding, spec.Extension)
	if err != nil {
		return fail(err)
	}
	dests, err := binding.Destinations(spec.Destination, checkSubject)
	if err != nil {
		return fail(err)
	}
	if err := binding.CheckConsumer(spec, dests); err != nil {
		return fail(err)
	}
	if err := conf.AnonymousDLQ(Type, spec); err != nil {
		return fail(err)
	}
	if err := bd.checkOpen(); err != nil {
		return fail(err)
	}
	conn, err := bd.connect(ctx)
	if err != nil {
		return fail(err)
	}
	var cons consumers
	for _, d := range dests {
		c, err := bd.newConsumer(ctx, conn, spec, cs, d)
		if err != nil {
			return fail(err)
		}
		cons = append(cons, c)
	}
	bd.mu.Lock()
	err = bd.bindings.AddConsumers(cons...)
	bd.mu.Unlock()
	if err != nil {
		return fail(err)
	}
	return cons.One(), nil
}

// Close stops the binder's consumers (settling what they hold), closes
// its producers (waiting for their sends) and the connection, bounded by
// ctx. It is idempotent.
func (bd *Binder) Close(ctx context.Context) error {
	bd.mu.Lock()
	cs, ps, first := bd.bindings.Close()
	bd.mu.Unlock()
	if !first {
		return nil
	}
	if bd.lagCancel != nil { // nil in a Binder a test made by hand
		bd.lagCancel()
	}

	errs := binding.CloseAll(ctx, cs, (*consumer).close, ps, (*producer).Close)
	bd.dialMu.Lock() // a dial in progress finishes (and sees closed) first
	c := bd.conn.Load()
	bd.dialMu.Unlock()
	if c != nil {
		// Acks are fire-and-forget: flush them before the socket goes.
		if c.nc.IsConnected() {
			fctx, cancel := context.WithTimeout(ctx, bd.st.apiTimeout)
			err := c.nc.FlushWithContext(fctx)
			cancel()
			if err != nil {
				bd.log.Debug("nats: flush before close", "error", bd.logErr(err))
			}
		}
		c.nc.Close()
	}
	if len(errs) > 0 {
		return bd.wrap(errors.Join(errs...), "nats: close binder %q", bd.name)
	}
	return nil
}

func (bd *Binder) forgetProducer(p *producer) {
	bd.mu.Lock()
	bd.bindings.RemoveProducer(p)
	bd.mu.Unlock()
}
