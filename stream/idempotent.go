package stream

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// IdempotencyConfig is stream.bindings.<name>.consumer.idempotency: the
// binding skips (acknowledges without calling its function) a message whose
// key was already processed within the retention period. The core only
// reads and validates these keys; package idempotency does the work
// ([App.UseIdempotency]), and an app that sets them without installing it
// fails at start-up rather than silently handling duplicates.
// See docs/idempotency.md.
type IdempotencyConfig struct {
	// Store keeps the processed marks: "postgres" (the mark commits in the
	// handler's own transaction), "redis" (set after the handler
	// succeeded) or "memory" (this process only, for tests). Default
	// none: off.
	Store string `mapstructure:"store"`
	// KeyExpression computes a message's idempotency key: an expression of
	// the SpEL subset over payload and headers (docs/conventions.md,
	// "Expressions"). Default "headers['x-streambind-replayed-id'] ?:
	// headers['id']": the message id every binder carries
	// (docs/conventions.md, "Wire conventions"), but on a copy that
	// `streambind dlq replay` sent, the id of the message first
	// dead-lettered, so that two copies of one dead letter are one
	// message (a copy has an id of its own). A message whose key is null
	// or empty fails for good (DLQ): it cannot be told from another.
	KeyExpression string `mapstructure:"key-expression"`
	// Retention is how long a processed mark is kept: a duplicate that
	// arrives later than this after the first delivery's success may run
	// the function again. Default 24h; at least 1s.
	Retention time.Duration `mapstructure:"retention"`
}

// Idempotency stores (consumer.idempotency.store).
const (
	IdempotencyStoreMemory   = "memory"
	IdempotencyStorePostgres = "postgres"
	IdempotencyStoreRedis    = "redis"
)

// Defaults of [IdempotencyConfig].
const (
	// DefaultIdempotencyKeyExpression is the id of the message, or of
	// the original on a replayed copy ([HeaderReplayedID]): the original
	// failed, so no mark holds its id until one of its copies succeeds.
	DefaultIdempotencyKeyExpression = "headers['" + HeaderReplayedID + "'] ?: headers['id']"
	DefaultIdempotencyRetention     = 24 * time.Hour
)

// Enabled reports whether a store is set.
func (c IdempotencyConfig) Enabled() bool { return c.Store != "" }

// WithDefaults returns c with its unset fields defaulted.
func (c IdempotencyConfig) WithDefaults() IdempotencyConfig {
	if c.KeyExpression == "" {
		c.KeyExpression = DefaultIdempotencyKeyExpression
	}
	if c.Retention == 0 {
		c.Retention = DefaultIdempotencyRetention
	}
	return c
}

// merged returns c with unset fields taken from d (stream.default).
func (c IdempotencyConfig) merged(d IdempotencyConfig) IdempotencyConfig {
	if c.Store == "" {
		c.Store = d.Store
	}
	if c.KeyExpression == "" {
		c.KeyExpression = d.KeyExpression
	}
	if c.Retention == 0 {
		c.Retention = d.Retention
	}
	return c
}

// validate reports the problems of c; path is the consumer's key path.
func (c IdempotencyConfig) validate(path string, batch bool) []*ConfigError {
	if !c.Enabled() {
		return nil
	}
	var es []*ConfigError
	bad := func(key, msg string, args ...any) {
		es = append(es, &ConfigError{Path: path + ".idempotency." + key, Msg: fmt.Sprintf(msg, args...)})
	}
	switch c.Store {
	case IdempotencyStoreMemory, IdempotencyStorePostgres, IdempotencyStoreRedis:
	default:
		bad("store", "must be postgres, redis or memory, got %q", c.Store)
	}
	c = c.WithDefaults()
	if _, err := CompileExpression(c.KeyExpression, "", "payload", "headers"); err != nil {
		bad("key-expression", "%v", err)
	}
	if c.Retention < time.Second {
		bad("retention", "must be at least 1s, got %s", c.Retention)
	}
	if batch {
		bad("store", "is not supported with consumer.batch-mode (a batch is acknowledged as a whole; its messages cannot be skipped one by one)")
	}
	return es
}

// IdempotencyKey computes the idempotency key of messages.
type IdempotencyKey struct{ e *Expression }

// CompileIdempotencyKey compiles c's key expression (default
// [DefaultIdempotencyKeyExpression]).
func CompileIdempotencyKey(c IdempotencyConfig) (*IdempotencyKey, error) {
	e, err := CompileExpression(c.WithDefaults().KeyExpression, "", "payload", "headers")
	if err != nil {
		return nil, err
	}
	return &IdempotencyKey{e}, nil
}

// String is the expression.
func (k *IdempotencyKey) String() string { return k.e.String() }

// Of returns the key of env. A null or empty key is a permanent error:
// the message cannot be told from another one.
func (k *IdempotencyKey) Of(env Envelope) (string, error) {
	vars := map[string]any{"headers": k.e.inputHeaders(env)}
	if k.e.usesPayload {
		vars["payload"] = ExpressionPayload(env.Payload)
	}
	v, err := k.e.Eval(vars)
	if err != nil {
		return "", Permanent(fmt.Errorf("idempotency key: %w", err))
	}
	if v == nil {
		return "", Permanent(fmt.Errorf("idempotency key: expression %q yielded null (no such header or field)", k.e))
	}
	s := spelString(v)
	if strings.TrimSpace(s) == "" {
		return "", Permanent(fmt.Errorf("idempotency key: expression %q yielded an empty key", k.e))
	}
	return s, nil
}

// UseIdempotency installs mw around each attempt of input binding's
// handling — inside the retries, so that every attempt (and every
// redelivery) passes through it; mw's handler acknowledges the message
// when it returns nil without calling next. Package idempotency calls it
// for each binding with consumer.idempotency set; it fails once the app
// runs, for a binding that is not an input of a bound function, for one in
// batch mode, and for a second call on the same binding.
func (a *App) UseIdempotency(binding string, mw func(next Handler) Handler) error {
	if mw == nil {
		return errors.New("stream: UseIdempotency: nil middleware")
	}
	if a.running.Load() {
		return fmt.Errorf("stream: UseIdempotency %s: the app already runs", binding)
	}
	for _, rt := range a.funcs {
		if rt.in == nil || !strings.EqualFold(rt.in.name, binding) {
			continue
		}
		if rt.in.cfg.Consumer.BatchMode {
			return fmt.Errorf("stream: UseIdempotency %s: the binding is in batch mode", binding)
		}
		if rt.idem != nil {
			return fmt.Errorf("stream: UseIdempotency %s: already installed", binding)
		}
		rt.idem = mw(rt.h.handle)
		return nil
	}
	return fmt.Errorf("stream: UseIdempotency %s: no input binding of that name", binding)
}

// checkIdempotency fails start-up when a binding sets consumer.idempotency
// but nothing was installed for it.
func (a *App) checkIdempotency() error {
	var errs []error
	for _, rt := range a.funcs {
		if rt.in != nil && rt.in.cfg.Consumer.Idempotency.Enabled() && rt.idem == nil {
			errs = append(errs, fmt.Errorf("stream.bindings.%s.consumer.idempotency: is set, but no idempotent consumer is installed: call idempotency.New(app, ...) before Run", rt.in.name))
		}
	}
	return errors.Join(errs...)
}

// attempt is one attempt of the runtime's handling of env.
func (rt *runtimeBinding) attempt(ctx context.Context, env Envelope) error {
	if rt.idem != nil {
		return rt.idem(ctx, env)
	}
	return rt.h.handle(ctx, env)
}
