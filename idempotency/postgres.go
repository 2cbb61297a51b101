package idempotency

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/streambind/streambind/stream"
)

// Execer runs a statement: pgx.Tx, *pgx.Conn, *pgxpool.Pool and
// *pgxpool.Conn satisfy it.
type Execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// Migrate creates the marks table tableName (and its schema and index) if
// they do not exist. It is idempotent and safe to run from several
// instances at once (a transaction-scoped advisory lock serialises them;
// the statements run as one multi-statement query, thus in one
// transaction). It needs the right to create the table (and the schema,
// when it is named and missing).
//
// The table:
//
//	binding    text        not null  -- the input binding
//	key        text        not null  -- the message's idempotency key
//	expires_at timestamptz not null  -- processed time + retention
//	primary key (binding, key)
//
// with an index on expires_at for the purge.
func Migrate(ctx context.Context, db Execer, tableName string) error {
	t, err := parseTable(tableName)
	if err != nil {
		return fmt.Errorf("idempotency: migrate: table %w", err)
	}
	q := t.qualified()
	stmts := []string{
		// CREATE ... IF NOT EXISTS is not safe against a concurrent CREATE
		// of the same name.
		fmt.Sprintf(`SELECT pg_advisory_xact_lock(hashtextextended('streambind.idempotency:%s', 0))`, q),
	}
	if t.Schema != "" {
		stmts = append(stmts, "CREATE SCHEMA IF NOT EXISTS "+t.Schema)
	}
	stmts = append(stmts,
		fmt.Sprintf(`CREATE TABLE IF NOT EXISTS %s (
	binding    text        NOT NULL,
	key        text        NOT NULL,
	expires_at timestamptz NOT NULL,
	PRIMARY KEY (binding, key)
)`, q),
		fmt.Sprintf(`CREATE INDEX IF NOT EXISTS %s_expires_idx ON %s (expires_at)`, t.Name, q),
	)
	// Without arguments pgx sends this as one simple query, which
	// PostgreSQL runs as one transaction.
	if _, err := db.Exec(ctx, strings.Join(stmts, ";\n")); err != nil {
		return fmt.Errorf("idempotency: migrate %s: %s", q, redacted(err))
	}
	return nil
}

type txKey struct{}

// Tx returns the transaction of the message being handled by a binding
// with the postgres store, nil elsewhere. The handler's writes made
// through it commit together with the message's processed mark, when the
// handler returned nil; an error (or panic) rolls both back and the
// message is retried. The handler must not commit or roll it back itself.
func Tx(ctx context.Context) pgx.Tx {
	tx, _ := ctx.Value(txKey{}).(pgx.Tx)
	return tx
}

// pgStore is the postgres store: a mark per (binding, key), inserted in
// the transaction the handler runs in.
type pgStore struct {
	pool   *pgxpool.Pool
	own    bool
	t      table
	insert string
}

func newPGStore(pool *pgxpool.Pool, own bool, t table) *pgStore {
	return &pgStore{pool: pool, own: own, t: t,
		insert: "INSERT INTO " + t.qualified() + " (binding, key, expires_at) VALUES ($1, $2, now() + $3 * interval '1 millisecond') ON CONFLICT DO NOTHING"}
}

// wrap is the idempotent consumer of one binding on PostgreSQL. Each
// attempt runs in a transaction of its own that first inserts the mark:
//   - the insert takes the (binding, key) row lock, so a concurrent
//     delivery of the same key (another instance, a redelivery) blocks on
//     it until this transaction ends: after a commit its insert does
//     nothing and it skips; after a rollback it inserts and runs;
//   - an insert that does nothing finds a committed mark: a duplicate,
//     acknowledged without running the handler;
//   - otherwise the handler runs with the transaction in its context
//     ([Tx]); its success commits mark and writes together, its failure
//     rolls both back.
func (s *pgStore) wrap(c *Consumer, binding string, key *stream.IdempotencyKey, retention time.Duration, next stream.Handler) stream.Handler {
	ms := retention.Milliseconds()
	return func(ctx context.Context, env stream.Envelope) (err error) {
		k, err := key.Of(env)
		if err != nil {
			return err
		}
		tx, err := s.pool.Begin(ctx)
		if err != nil {
			return fmt.Errorf("idempotency: %s: begin: %s", binding, redacted(err))
		}
		defer func() {
			if err != nil {
				// Rollback after a cancelled ctx still has to reach the
				// server (or close the connection).
				_ = tx.Rollback(context.WithoutCancel(ctx))
			}
		}()
		tag, err := tx.Exec(ctx, s.insert, binding, k, ms)
		if err != nil {
			return fmt.Errorf("idempotency: %s: insert mark into %s: %s", binding, s.t.qualified(), redacted(err))
		}
		if tag.RowsAffected() == 0 {
			_ = tx.Rollback(ctx)
			c.duplicate(ctx, binding, k)
			return nil
		}
		if err = callNext(context.WithValue(ctx, txKey{}, tx), env, next); err != nil {
			return err
		}
		if err = tx.Commit(ctx); err != nil {
			return fmt.Errorf("idempotency: %s: commit (the handler's writes and the mark are rolled back; the message will run again): %s", binding, redacted(err))
		}
		c.processed(binding)
		return nil
	}
}

// callNext calls next, turning a panic into an error so that the
// transaction is rolled back before the core's own recovery sees it.
func callNext(ctx context.Context, env stream.Envelope, next stream.Handler) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("handler panicked: %v", r)
		}
	}()
	return next(ctx, env)
}

// purger deletes expired marks every purge interval; a stream.Component.
type purger struct {
	s        *pgStore
	interval time.Duration
	log      *slog.Logger

	mu   sync.Mutex
	stop context.CancelFunc
	done chan struct{}
	last error
}

// purgeBatch bounds one DELETE, so that a large backlog is deleted in
// short transactions.
const purgeBatch = 10000

func (p *purger) Name() string { return "idempotency:" + p.s.t.qualified() }

func (p *purger) Start(context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done != nil {
		return errors.New("idempotency purge: already started")
	}
	ctx, cancel := context.WithCancel(context.Background())
	p.stop, p.done = cancel, make(chan struct{})
	go func() {
		defer close(p.done)
		t := time.NewTicker(p.interval)
		defer t.Stop()
		for {
			_, err := p.purge(ctx)
			p.mu.Lock()
			p.last = err
			p.mu.Unlock()
			if err != nil && ctx.Err() == nil {
				p.log.Warn("idempotency: purge of expired marks failed", "error", redacted(err))
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return nil
}

// purge deletes every expired mark, purgeBatch at a time.
func (p *purger) purge(ctx context.Context) (int64, error) {
	q := p.s.t.qualified()
	sql := fmt.Sprintf("DELETE FROM %s WHERE ctid IN (SELECT ctid FROM %s WHERE expires_at < now() LIMIT %d)", q, q, purgeBatch)
	var total int64
	for {
		tag, err := p.s.pool.Exec(ctx, sql)
		if err != nil {
			return total, fmt.Errorf("purge %s: %w", q, err)
		}
		total += tag.RowsAffected()
		if tag.RowsAffected() < purgeBatch {
			return total, nil
		}
	}
}

func (p *purger) Stop(ctx context.Context) error {
	p.mu.Lock()
	stop, done := p.stop, p.done
	p.mu.Unlock()
	if stop == nil {
		return nil
	}
	stop()
	select {
	case <-done:
	case <-ctx.Done():
		return ctx.Err()
	}
	if p.s.own {
		p.s.pool.Close()
	}
	return nil
}

// Health reports the last purge's error: readiness is down while the
// marks' database cannot be reached.
func (p *purger) Health(context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.last != nil {
		return fmt.Errorf("idempotency store %s: %s", p.s.t.qualified(), redacted(p.last))
	}
	return nil
}
