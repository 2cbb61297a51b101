package idempotency

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/streambind/streambind/stream"
)

// storeState is whether a store answered its last call. A store that
// cannot be reached is not the message's fault: the message is left for
// redelivery (see storeDown) and readiness is down until the store answers
// again. The up path is one atomic load, so that it costs nothing per
// message.
type storeState struct {
	name string // for logs and health: "redis", "postgres table x"
	log  *slog.Logger

	down atomic.Bool
	mu   sync.Mutex
	err  error // the last failure while down
}

func newStoreState(name string, log *slog.Logger) *storeState {
	return &storeState{name: name, log: log}
}

// ok records an answer of the store.
func (s *storeState) ok() {
	if !s.down.Load() {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down.Swap(false) {
		s.err = nil
		s.log.Info("idempotency: store reachable again", "store", s.name)
	}
}

// failed records a failure to reach the store; the first of a series is logged at warn, the others at debug.
func (s *storeState) failed(ctx context.Context, binding string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.err = err
	lvl := slog.LevelDebug
	if !s.down.Swap(true) {
		lvl = slog.LevelWarn
	}
	s.log.Log(ctx, lvl, "idempotency: store unavailable; messages are left for redelivery (not counted as attempts, not dead-lettered) until it answers", "store", s.name, "binding", binding, "error", err)
}

// health is the last failure while the store is down, nil when up.
func (s *storeState) health() error {
	if !s.down.Load() {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err == nil {
		return nil
	}
	return fmt.Errorf("idempotency store %s unavailable: %w", s.name, s.err)
}

// storeDown records err (a failure of the store, not of the handler) and
// returns the handler's result for it: a Nak, which the core passes to the
// binder at once — not retried in process, not counted as an attempt, not
// dead-lettered — and the binder redelivers after its redelivery delay,
// as it does a message whose output could not be sent.
// what says which step failed.
func (s *storeState) storeDown(ctx context.Context, binding, what string, err error) error {
	e := fmt.Errorf("%s: %s", what, redacted(err))
	if ctx.Err() != nil {
		// Shutdown or the grace period ended: not the store's fault.
		return fmt.Errorf("%w: idempotency: %s: %w", stream.ErrNak, binding, e)
	}
	s.failed(ctx, binding, e)
	return fmt.Errorf("%w: idempotency: %s: %s store unavailable: %w", stream.ErrNak, binding, s.name, e)
}

// redisComponent reports the redis store in readiness (a PING, and the
// last failure of a message's call), and closes the client New opened once
// the bindings' handlers no longer use it (a stream.ComponentCloser).
type redisComponent struct {
	s     *redisStore
	state *storeState
}

func (r redisComponent) Name() string                { return "idempotency:redis" }
func (r redisComponent) Start(context.Context) error { return nil }
func (r redisComponent) Stop(context.Context) error  { return nil }

// Close closes the client New opened, after the bindings stopped (in Stop,
// the handlers still draining would find it closed).
func (r redisComponent) Close(context.Context) error {
	if r.s.own {
		return r.s.c.Close()
	}
	return nil
}

// redisPingTimeout bounds a readiness probe's PING when the probe's
// context has no deadline of its own.
const redisPingTimeout = 2 * time.Second

// Health is down while the store does not answer a PING.
func (r redisComponent) Health(ctx context.Context) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, redisPingTimeout)
		defer cancel()
	}
	if err := r.s.c.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("idempotency store redis: ping: %s", redacted(err))
	}
	r.state.ok()
	return nil
}
