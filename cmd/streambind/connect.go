package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/streambind/streambind/binder/kafka"
	"github.com/streambind/streambind/binder/nats"
	"github.com/streambind/streambind/binder/props"
	"github.com/streambind/streambind/binder/rabbit"
	"github.com/streambind/streambind/binder/redis"
	"github.com/streambind/streambind/redact"
	"github.com/streambind/streambind/stream"
)

// defaultConnectTimeout is --connect-timeout's default: long enough for a
// broker that is slow to answer, short enough that a mistyped address or
// a broker that is down reads as an error at a terminal, not a hang (an
// app waits its startup-timeout, 60s by default).
const defaultConnectTimeout = 10 * time.Second

// connectHelp is the paragraph of send's, tail's and dlq's help on an
// unreachable broker.
const connectHelp = `When the broker cannot be reached (connection refused, unknown host, or
a host that accepts the connection and never answers), the command gives
up after --connect-timeout (default 10s) with exit status 1 and one error
naming the binder and its address; meanwhile it says once that it
retries (--verbose logs every attempt). A startup-timeout of the binder
shorter than that is the bound; --connect-timeout 0 waits the
startup-timeout, as an app does (default 60s).`

const connectTimeoutHelp = "give up when the broker cannot be reached within this long (refused, unknown host, no answer); 0 waits the binder's startup-timeout, as an app does"

// connectFlag is --connect-timeout of send, tail and the dlq subcommands.
type connectFlag struct{ timeout time.Duration }

func (c *connectFlag) add(cmd *cobra.Command) {
	cmd.Flags().DurationVar(&c.timeout, "connect-timeout", defaultConnectTimeout, connectTimeoutHelp)
}

func (c *connectFlag) check() error {
	if c.timeout < 0 {
		return usage("--connect-timeout must not be negative (0: wait as the app does)")
	}
	return nil
}

// connectBound is how long a command waits for one binder's broker, and
// what to call that bound in its error.
type connectBound struct {
	binder  string // the binder's name
	typ     string
	address string // where it connects, credentials redacted
	timeout time.Duration
	// what names the bound: "--connect-timeout (10s)", or "its
	// startup-timeout (5s)" when that is shorter or the flag is 0.
	what string
}

// boundOf is the bound on reaching binder name's broker: --connect-timeout,
// or the binder's startup-timeout when that is shorter or the flag is 0.
func (c *connectFlag) boundOf(cfg *stream.Config, name string) connectBound {
	if name == "" {
		name, _ = stream.DefaultBinderOf(cfg, knownBinderTypes())
	}
	settings := stream.BinderSettingsOf(cfg, name)
	b := connectBound{binder: settings.Name, typ: settings.Type, address: binderAddress(settings)}
	configured := cfg.Binders[settings.Name].StartupTimeout
	if configured == 0 {
		configured = stream.DefaultStartupTimeout
	}
	switch {
	case c.timeout == 0 || (configured > 0 && configured <= c.timeout):
		b.timeout = configured
		b.what = fmt.Sprintf("its startup-timeout (%s)", configured)
		if configured < 0 {
			b.what = "its startup-timeout (none)"
		}
	default:
		b.timeout = c.timeout
		b.what = fmt.Sprintf("--connect-timeout (%s)", c.timeout)
	}
	return b
}

// bindConnectTimeout makes the app of send or tail give up on binder
// name's broker after the bound (boundOf): it sets the binder's
// startup-timeout, the app's own bound on an unreachable broker, which
// send and tail would otherwise wait (60s by default), declaring the
// binder when the configuration names it only by its type. cfg's map of
// binders is replaced, not changed (it is the loaded configuration's).
func (c *connectFlag) bindConnectTimeout(cfg *stream.Config, name string) connectBound {
	b := c.boundOf(cfg, name)
	binders := make(map[string]stream.BinderConfig, len(cfg.Binders)+1)
	for k, v := range cfg.Binders {
		binders[k] = v
	}
	bc, declared := binders[b.binder]
	if !declared {
		// Named by its type only: declared so, with nothing else, it is
		// the same binder (same settings, inherited as before); not a
		// default candidate, so that it changes no binding's choice.
		no := false
		bc = stream.BinderConfig{Type: b.typ, DefaultCandidate: &no}
	}
	bc.StartupTimeout = b.timeout
	binders[b.binder] = bc
	cfg.Binders = binders
	return b
}

// describe is the binder as errors name it: "binder rabbit at
// 127.0.0.1:5672".
func (b connectBound) describe() string {
	if b.address == "" {
		return "binder " + b.binder
	}
	return "binder " + b.binder + " at " + b.address
}

// unreachableError is a broker that could not be reached within the
// bound: one line that names the binder, its address and the bound, then
// the binder's last error.
type unreachableError struct {
	b     connectBound
	cause string
	err   error
}

func (e *unreachableError) Error() string {
	return fmt.Sprintf("%s: cannot reach the broker within %s: %s", e.b.describe(), e.b.what, e.cause)
}

func (e *unreachableError) Unwrap() error { return e.err }

// startFailure rewrites err, an app of send or tail that did not start,
// when its binder's broker could not be reached within the bound: the
// app's [stream.StartupTimeoutError] names a setting the user did not set.
// Other errors are returned as they are.
func (b connectBound) startFailure(err error) error {
	var se *startError
	var te *stream.StartupTimeoutError
	if err == nil || !errors.As(err, &se) || !errors.As(err, &te) || te.Binder != b.binder {
		return err
	}
	return &unreachableError{b: b, cause: te.Err.Error(), err: err}
}

// open runs open, a dlq subcommand's first call to the broker, within the
// bound: it is retried while the broker is unavailable (refused,
// unresolvable: [unavailable]), with the back-off of an app (n, when not
// nil, says so once), and its context ends when the bound is over (a
// broker that accepts the connection and never answers). The context stays alive once open returned in time: what
// open returns may keep it. Its errors name the binder and its address.
func (b connectBound) open(ctx context.Context, n *retryNotice, open func(context.Context) error) error {
	var cctx context.Context = ctx
	stop := func() bool { return true }
	if b.timeout > 0 {
		c := newExpiring(ctx, b.timeout)
		cctx, stop = c, c.keep
	}
	expired := func() bool { return ctx.Err() == nil && cctx.Err() == context.DeadlineExceeded }
	wait := 100 * time.Millisecond
	for {
		err := open(cctx)
		if err == nil && !stop() {
			// In time, just, but what it keeps of the context has ended.
			err = context.DeadlineExceeded
		}
		switch {
		case expired():
			return &unreachableError{b: b, cause: err.Error(), err: err}
		case err == nil:
			return nil
		case !unavailable(err) || ctx.Err() != nil:
			stop()
			if errors.Is(err, stream.ErrNoDeadLetters) || ctx.Err() != nil {
				return err // the caller says what these mean
			}
			return fmt.Errorf("%s: %w", b.describe(), err)
		}
		if n != nil {
			n.note(b)
			if n.log != nil {
				n.log.Debug("binder unavailable; retrying", "binder", b.binder, "error", err, "retry-in", wait)
			}
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-cctx.Done():
			t.Stop()
			if expired() {
				return &unreachableError{b: b, cause: err.Error(), err: err}
			}
			return err
		}
		wait = min(2*wait, 5*time.Second)
	}
}

// unavailable reports whether err is about reaching the broker: the
// binders mark such errors [stream.ErrUnavailable] (a failed dial, and a
// connection the broker accepted then closed or reset).
func unavailable(err error) bool {
	return errors.Is(err, stream.ErrUnavailable)
}

// expiringContext is a context that ends when its parent does or, unless
// keep was called first, once d passed, with Err
// context.DeadlineExceeded, as a deadline's: the binders' errors then
// read "deadline exceeded". Unlike a deadline's, it has no Deadline and
// does not end once kept, so that what a call keeps of it (a cursor's
// connection) works on.
type expiringContext struct {
	context.Context
	done  chan struct{}
	timer *time.Timer

	mu   sync.Mutex
	err  error // set when done is closed
	kept bool
}

func newExpiring(parent context.Context, d time.Duration) *expiringContext {
	c := &expiringContext{Context: parent, done: make(chan struct{})}
	// Registered with parent for as long as it lives: the context may be
	// kept.
	context.AfterFunc(parent, func() { c.end(parent.Err(), false) })
	c.timer = time.AfterFunc(d, func() { c.end(context.DeadlineExceeded, true) })
	return c
}

func (c *expiringContext) end(err error, expiry bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil || (expiry && c.kept) {
		return
	}
	c.err = err
	close(c.done)
}

// keep stops the clock; false when it had run out.
func (c *expiringContext) keep() bool {
	c.timer.Stop()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.kept = true
	return c.err != context.DeadlineExceeded
}

func (c *expiringContext) Done() <-chan struct{} { return c.done }

func (c *expiringContext) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// retryNotice is what the user sees of an app retrying binds to a broker
// that is unavailable: one line per binder, "retrying", instead of the
// app's WARN line at every attempt (those stay, at DEBUG, for --verbose).
type retryNotice struct {
	out    io.Writer
	bounds map[string]connectBound // by binder name
	// log, when set, gets a DEBUG line for every attempt that a dlq
	// subcommand's open retries (--verbose), as an app's retried binds
	// give for send and tail.
	log *slog.Logger

	mu   sync.Mutex
	seen map[string]bool
}

func newRetryNotice(out io.Writer, bounds ...connectBound) *retryNotice {
	n := &retryNotice{out: out, bounds: map[string]connectBound{}, seen: map[string]bool{}}
	for _, b := range bounds {
		n.bounds[b.binder] = b
	}
	return n
}

// note prints the line for binder b once.
func (n *retryNotice) note(b connectBound) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.seen[b.binder] {
		return
	}
	n.seen[b.binder] = true
	until := "for up to " + b.what
	if b.timeout < 0 {
		until = "until interrupted (" + b.what + ")"
	}
	// The cause is in the error that ends the run, or in --verbose's
	// log lines.
	fmt.Fprintf(n.out, "streambind: %s is unavailable; retrying %s\n", b.describe(), until)
}

// appRetryMessage is the message of the app's WARN line for a bind it
// retries (stream.App.bindRetrying).
const appRetryMessage = "binder unavailable; retrying the bind"

// retryQuieting is a slog.Handler that turns the app's retry warnings
// into one line of n per binder, passing them on at DEBUG.
type retryQuieting struct {
	slog.Handler
	n *retryNotice
}

func (h retryQuieting) Handle(ctx context.Context, r slog.Record) error {
	if r.Level != slog.LevelWarn || r.Message != appRetryMessage {
		return h.Handler.Handle(ctx, r)
	}
	var name string
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "binder" {
			name = a.Value.String()
		}
		return true
	})
	if b, ok := h.n.bounds[name]; ok {
		h.n.note(b)
		r = r.Clone()
		r.Level = slog.LevelDebug
		if !h.Handler.Enabled(ctx, r.Level) {
			return nil
		}
	}
	return h.Handler.Handle(ctx, r)
}

func (h retryQuieting) WithAttrs(as []slog.Attr) slog.Handler {
	return retryQuieting{h.Handler.WithAttrs(as), h.n}
}

func (h retryQuieting) WithGroup(name string) slog.Handler {
	return retryQuieting{h.Handler.WithGroup(name), h.n}
}

// quietRetries returns log, whose retry warnings for the binders of
// bounds are one line on out each.
func quietRetries(log *slog.Logger, out io.Writer, bounds ...connectBound) *slog.Logger {
	return slog.New(retryQuieting{log.Handler(), newRetryNotice(out, bounds...)})
}

// binderAddress is where a binder with settings s connects, as its
// configuration says (credentials redacted), for error messages; "" when
// that cannot be told. The keys are the binders' own (their parseSettings),
// the last one set winning as there.
func binderAddress(s stream.BinderSettings) string {
	if s.Type == kafka.Type {
		if bs, err := kafka.Brokers(s); err == nil && len(bs) > 0 {
			return strings.Join(bs, ",")
		}
	}
	if s.Type == rabbit.Type {
		eps, err := rabbit.Endpoints(s)
		if err != nil || len(eps) == 0 {
			return ""
		}
		addrs := make([]string, len(eps))
		for i, ep := range eps {
			addrs[i] = ep.Address
		}
		return strings.Join(addrs, ",")
	}
	var keys map[string]bool
	var addr string
	switch s.Type {
	case kafka.Type:
		keys, addr = map[string]bool{"brokers": true, "bootstrapservers": true}, kafka.DefaultBrokers
	case nats.Type:
		keys, addr = map[string]bool{"servers": true, "server": true, "url": true, "urls": true}, nats.DefaultServers
	case redis.Type:
		keys, addr = map[string]bool{"address": true, "addr": true, "host": true, "server": true, "url": true, "uri": true}, redis.DefaultAddress
	default:
		return ""
	}
	var d props.Decoder
	for _, src := range props.BinderSources(s, s.Type) {
		d.Each(src.Path, src.Map, func(k, _ string, v any) error {
			if !keys[k] {
				return nil
			}
			if l, err := props.List(v); err == nil && len(l) > 0 {
				for i := range l {
					l[i] = shownAddress(l[i])
				}
				addr = strings.Join(l, ",")
			}
			return nil
		})
	}
	return addr
}

// shownAddress is a broker address as errors show it: a URL without its
// user info — which may be a password, or alone a token
// (nats://TOKEN@host, the form NATS documents), which redact.Value, made
// for user:password, would show — and the rest redacted.
func shownAddress(a string) string {
	if u, err := url.Parse(strings.TrimSpace(a)); err == nil && u.Scheme != "" && u.Host != "" && u.User != nil {
		u.User = nil
		a = u.String()
	}
	return redact.Value(a)
}
