// Package lagread reads a consumer binding's lag from its broker on
// demand, for the binders of this module whose broker keeps the backlog
// itself (RabbitMQ's queue, a JetStream consumer, a Redis consumer
// group): a [Reader] implements [stream.LagReporter] over a binder's
// read function, so that a scrape of /metrics costs the broker at most
// one read a binding every [MaxAge], never more than one at a time, and
// never waits on the broker longer than its context allows.
//
//   - Lag serves the last read as it was (its error too), at once, so
//     that two scrapers (or a scrape and /actuator) share a read, a
//     broker that fails is not asked again at every call, and one slow
//     broker does not hold up a scrape of the other bindings.
//   - When the last read is older than MaxAge, Lag also starts a new
//     one, bounded by [Timeout], in a goroutine of its own; it lands for
//     the next call. A read in progress is not repeated.
//   - Only the first call, before any read ended, waits for the read,
//     until its context ends; then it returns the context's error (the
//     metric is left out) and the read lands for the next call.
//   - The reads end with the context given to [New] (the binder's
//     lifetime): none is started after, and one in progress is cancelled
//     without a WARN.
//   - A failed read is logged at WARN at most once every [LogEvery] for
//     the binding (a broker that is down fails every read; readiness and
//     streambind_binder_up say so already), and Lag returns its error, so
//     that the binding's lag is left out rather than shown stale.
//
// Nothing of the consumer's message path is involved: the reads use
// requests of their own (a channel of their own on RabbitMQ).
//
// It is internal to the binders of this module.
package lagread

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/streambind/streambind/stream"
)

const (
	// MaxAge is how long a read serves Lag: the Kafka binder's default
	// lag-interval, between its end-offset reads.
	MaxAge = 2 * time.Second
	// Timeout bounds one read.
	Timeout = 5 * time.Second
	// LogEvery is the least time between two WARNs of failed reads of
	// one binding.
	LogEvery = time.Minute
)

// ReadFunc reads the lag of a consumer binding from its broker, bounded
// by ctx. It returns nil (and no error) when there is nothing to report,
// and an error wrapping [ErrUnsupported] when its broker cannot tell.
type ReadFunc func(ctx context.Context) ([]stream.PartitionLag, error)

// ErrUnsupported is the error of a read whose broker cannot tell the lag
// (a Redis server before 7.0): the Reader logs it once, at INFO, and
// reads no more; Lag returns nothing from then on.
var ErrUnsupported = errors.New("the broker does not report a consumer's lag")

// Reader serves the lag of one consumer binding from reads of read. Make
// it with [New]; its methods may be called from any goroutine.
type Reader struct {
	base   context.Context // the binder's lifetime: reads end with it
	read   ReadFunc
	log    *slog.Logger
	what   string // the log line's message
	maxAge time.Duration
	// timeout bounds a read; logEvery spaces its WARNs (tests shorten
	// them).
	timeout, logEvery time.Duration

	mu      sync.Mutex
	at      time.Time // when the last read ended; zero: none did
	lags    []stream.PartitionLag
	err     error
	reading chan struct{} // closed when the read in progress ends; nil: none is
	warned  time.Time     // the last WARN's time
	// unsupported: a read failed with ErrUnsupported; none is made again.
	unsupported bool
}

// New returns the Reader of a binding: its reads end with life (the
// binder's lifetime: cancel it in the binder's Close), read reads its
// lag, log is the binding's logger, what the WARN's message for a read
// that failed ("rabbit: reading the consumer lag failed", say).
func New(life context.Context, read ReadFunc, log *slog.Logger, what string) *Reader {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if life == nil {
		life = context.Background()
	}
	return &Reader{base: life, read: read, log: log, what: what, maxAge: MaxAge, timeout: Timeout, logEvery: LogEvery}
}

// Lag returns the last read's lag at once, and starts a new read in the
// background when that one is older than MaxAge. Before any read ended,
// it waits for the first until ctx ends. After the binder's lifetime
// (New's context) it returns nothing. It implements [stream.LagReporter].
func (r *Reader) Lag(ctx context.Context) ([]stream.PartitionLag, error) {
	r.mu.Lock()
	if r.unsupported || r.base.Err() != nil {
		r.mu.Unlock()
		return nil, nil
	}
	if r.reading == nil && (r.at.IsZero() || time.Since(r.at) >= r.maxAge) {
		r.reading = make(chan struct{})
		go r.refresh(r.reading)
	}
	if r.at.IsZero() {
		wait := r.reading
		r.mu.Unlock()
		select {
		case <-wait:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		r.mu.Lock()
	}
	defer r.mu.Unlock()
	return slices.Clone(r.lags), r.err
}

// refresh reads the lag, bounded by the timeout, and keeps it for Lag;
// it closes done when it has.
func (r *Reader) refresh(done chan struct{}) {
	ctx, cancel := context.WithTimeout(r.base, r.timeout)
	lags, err := r.read(ctx)
	cancel()
	now := time.Now()
	closed := r.base.Err() != nil // the binder closed: no log line after it
	unsupported := errors.Is(err, ErrUnsupported)
	uerr := err
	if unsupported {
		lags, err = nil, nil
	}
	r.mu.Lock()
	r.at, r.lags, r.err, r.reading, r.unsupported = now, lags, err, nil, unsupported
	warn := err != nil && !closed && (r.warned.IsZero() || now.Sub(r.warned) >= r.logEvery)
	if warn {
		r.warned = now
	}
	r.mu.Unlock()
	if unsupported && !closed {
		r.log.Info(r.what+"; the binding has no streambind_consumer_lag", "error", uerr)
	}
	if warn {
		r.log.Warn(r.what+"; the binding's streambind_consumer_lag is left out until a read succeeds (logged at most once a minute)", "error", err)
	}
	close(done) // after the log line: a caller that waited sees it logged
}

// Note logs msg at WARN at most once every LogEvery, sharing the pace of
// the failed reads' WARNs: for a read that left a partition out (its
// broker could not tell its lag).
func (r *Reader) Note(msg string, args ...any) {
	now := time.Now()
	r.mu.Lock()
	warn := r.warned.IsZero() || now.Sub(r.warned) >= r.logEvery
	if warn {
		r.warned = now
	}
	r.mu.Unlock()
	if warn {
		r.log.Warn(msg, args...)
	}
}

// Lazy is a consumer's Reader, made by its first Lag: a field of the
// consumer, so that a binding nobody asks has none, and the Reader goes
// with its consumer. The zero value is ready to use.
type Lazy struct {
	once sync.Once
	r    *Reader
}

// Lag returns the Lag of the Reader that New(life, read, log, what)
// makes on the first call (later calls' arguments are not used).
func (l *Lazy) Lag(ctx, life context.Context, read ReadFunc, log *slog.Logger, what string) ([]stream.PartitionLag, error) {
	l.once.Do(func() { l.r = New(life, read, log, what) })
	return l.r.Lag(ctx)
}

// Note is the Reader's [Reader.Note]; for the read function, which runs
// only after the first Lag made the Reader.
func (l *Lazy) Note(msg string, args ...any) {
	if l.r != nil {
		l.r.Note(msg, args...)
	}
}
