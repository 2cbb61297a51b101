package idempotency

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/streambind/streambind/internal/pgerr"
	"github.com/streambind/streambind/internal/pgtable"
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
// transaction). It needs the right to create what is missing (the table;
// the schema, when it is named and missing). Each object is looked up
// before it is created: on a complete table Migrate takes no lock on the
// table (it does not wait for the handlers' open transactions, nor hold
// up their marks).
//
// The table:
//
//	binding    text        not null  -- the input binding
//	key        text        not null  -- the message's idempotency key, or its hash (see MaxPlainKey)
//	expires_at timestamptz not null  -- the transaction's start (now(), before the function ran) + retention
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
	// Each object is looked up before it is created: a Migrate of a
	// complete table — every start of every instance — then takes no lock
	// on the table. CREATE INDEX IF NOT EXISTS takes a SHARE lock on the
	// table even when the index exists: it waited for every handler's
	// open transaction (each holds the mark it inserted), and every other
	// delivery's mark INSERT queued behind it meanwhile. (And CREATE
	// SCHEMA / TABLE IF NOT EXISTS need the right to create, the index
	// to own the table, even when they exist.)
	if t.Schema != "" {
		stmts = append(stmts, t.CreateSchema())
	}
	// SQL takes the quoted names: a keyword (user, order) is then a name;
	// lit is the quoted name as a regclass literal (the names are
	// validated identifiers: no quote in them).
	qq := t.Quoted()
	lit := "'" + qq + "'"
	stmts = append(stmts,
		fmt.Sprintf(`DO $mig$ BEGIN
	IF to_regclass(%s) IS NULL THEN
		CREATE TABLE IF NOT EXISTS %s (
			binding    text        NOT NULL,
			key        text        NOT NULL,
			expires_at timestamptz NOT NULL,
			PRIMARY KEY (binding, key)
		);
	END IF;
END $mig$`, lit, qq),
		fmt.Sprintf(`DO $mig$ BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid WHERE x.indrelid = %s::regclass AND i.relname = '%s') THEN
		CREATE INDEX IF NOT EXISTS %s ON %s (expires_at);
	END IF;
END $mig$`, lit, t.Name+"_expires_idx", pgx.Identifier{t.Name + "_expires_idx"}.Sanitize(), qq),
	)
	// Without arguments pgx sends this as one simple query, which
	// PostgreSQL runs as one transaction.
	if _, err := db.Exec(ctx, strings.Join(stmts, ";\n")); err != nil {
		return fmt.Errorf("idempotency: migrate %s: %s", q, redacted(err))
	}
	return nil
}

// missingTableHint is what to do about err when it says that the marks
// table, or its schema, does not exist (undefined_table 42P01,
// invalid_schema_name 3F000): ": the table is missing: run
// idempotency.Migrate ..."; else "".
func missingTableHint(err error) string {
	if pgerr.MissingTable(sqlState(err)) {
		return ": the table is missing: run idempotency.Migrate (or the SQL in docs/idempotency.md, \"The postgres table\")"
	}
	return ""
}

type txKey struct{}

// Tx returns the transaction of the message being handled by a binding
// with the postgres store on a pgx pool, nil elsewhere (and nil when the
// store runs on database/sql: see [SQLTx]). The handler's writes made
// through it commit together with the message's processed mark, when the
// handler returned nil; an error (or panic) rolls both back and the
// message is retried. The handler must not commit or roll it back itself.
func Tx(ctx context.Context) pgx.Tx {
	tx, _ := ctx.Value(txKey{}).(pgx.Tx)
	return tx
}

// SQLTx is [Tx] for a postgres store on database/sql ([Options.DB]): the
// message's transaction as a *sql.Tx, nil elsewhere (and nil when the
// store runs on a pgx pool). The same rules hold: writes through it commit
// with the mark; the handler must not commit or roll it back.
func SQLTx(ctx context.Context) *sql.Tx {
	tx, _ := ctx.Value(txKey{}).(*sql.Tx)
	return tx
}

// SQL adapts a database/sql pool, connection or transaction to [Execer],
// for [Migrate]. The driver must be a PostgreSQL one (pgx's stdlib,
// lib/pq).
func SQL(x interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}) Execer {
	return pgtable.SQL(x)
}

// pgDB is the postgres store's database: a pgx pool or a database/sql
// pool.
type pgDB interface {
	// begin starts the transaction of one attempt.
	begin(ctx context.Context) (pgTx, error)
	// exec runs q outside a transaction, returning the rows affected.
	// The pool's connection is taken with ctx; the statement is bounded
	// by timeout (0: ctx only). A busy pool is not a database that does
	// not answer.
	exec(ctx context.Context, timeout time.Duration, q string) (int64, error)
	// ping checks that the server answers. pgx: on a connection of its
	// own, outside the pool (whose connections may all be in use, rightly:
	// a pool sized to the bindings' concurrency, each waiting insert
	// holding one); an answer of the server, even an error (too many
	// connections), is an answer. database/sql, which lends no connection
	// outside its pool: errPoolBusy when every connection of the pool is
	// in use (before or after the ping), as that ping cannot tell.
	ping(ctx context.Context) error
	close()
}

// pgTx is one attempt's transaction.
type pgTx interface {
	// exec returns the rows affected.
	exec(ctx context.Context, q string, args ...any) (int64, error)
	commit(ctx context.Context) error
	rollback(ctx context.Context) error
	// handle is what [Tx] or [SQLTx] returns to the handler.
	handle() any
	// lost reports whether the handler's error err came with the loss of
	// the transaction's connection.
	lost(ctx context.Context, err error) bool
	// closed reports whether the transaction's connection is known to be
	// closed already (before the commit); false when that cannot be told
	// without a round trip (database/sql).
	closed() bool
}

type pgxDB struct{ pool *pgxpool.Pool }

func (d pgxDB) begin(ctx context.Context) (pgTx, error) {
	tx, err := d.pool.Begin(ctx)
	return pgxTx{tx}, err
}

func (d pgxDB) exec(ctx context.Context, timeout time.Duration, q string) (int64, error) {
	conn, err := d.pool.Acquire(ctx)
	if err != nil {
		return 0, fmt.Errorf("acquire a connection from the pool: %w", err)
	}
	defer conn.Release()
	sctx, cancel := withTimeout(ctx, timeout)
	defer cancel()
	tag, err := conn.Exec(sctx, q)
	return tag.RowsAffected(), err
}

func (d pgxDB) ping(ctx context.Context) error {
	conn, err := pgx.ConnectConfig(ctx, d.pool.Config().ConnConfig.Copy())
	if err != nil {
		var pe *pgconn.PgError
		if errors.As(err, &pe) {
			return nil // the server answered (too many connections, ...)
		}
		return err
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		defer cancel()
		_ = conn.Close(cctx)
	}()
	return conn.Ping(ctx)
}

func (d pgxDB) close() { d.pool.Close() }

type pgxTx struct{ tx pgx.Tx }

func (t pgxTx) exec(ctx context.Context, q string, args ...any) (int64, error) {
	tag, err := t.tx.Exec(ctx, q, args...)
	return tag.RowsAffected(), err
}
func (t pgxTx) commit(ctx context.Context) error   { return t.tx.Commit(ctx) }
func (t pgxTx) rollback(ctx context.Context) error { return t.tx.Rollback(ctx) }
func (t pgxTx) handle() any                        { return t.tx }

// lost: pgx closes a connection on a network error or a FATAL answer, so
// the check costs no round trip.
func (t pgxTx) lost(_ context.Context, _ error) bool { return t.tx.Conn().IsClosed() }
func (t pgxTx) closed() bool                         { return t.tx.Conn().IsClosed() }

type sqlDB struct{ db *sql.DB }

func (d sqlDB) begin(ctx context.Context) (pgTx, error) {
	// database/sql rolls a transaction back when the context given to
	// BeginTx ends; the attempt's context is the right one for that.
	tx, err := d.db.BeginTx(ctx, nil)
	return sqlTx{tx}, err
}

func (d sqlDB) exec(ctx context.Context, timeout time.Duration, q string) (int64, error) {
	conn, err := d.db.Conn(ctx)
	if err != nil {
		return 0, fmt.Errorf("acquire a connection from the pool: %w", err)
	}
	defer conn.Close()
	sctx, cancel := withTimeout(ctx, timeout)
	defer cancel()
	res, err := conn.ExecContext(sctx, q)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (d sqlDB) ping(ctx context.Context) error {
	if d.full() {
		return errPoolBusy
	}
	err := d.db.PingContext(ctx)
	if err != nil && ctx.Err() != nil && d.full() {
		return errPoolBusy
	}
	return err
}

// full reports whether every connection the pool may open is in use.
func (d sqlDB) full() bool {
	st := d.db.Stats()
	return st.MaxOpenConnections > 0 && st.InUse >= st.MaxOpenConnections
}

// errPoolBusy is a ping that could not tell whether the database answers:
// every connection of a database/sql pool was in use.
var errPoolBusy = errors.New("every connection of the pool in use: cannot tell")

func withTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	if d <= 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, d)
}

func (d sqlDB) close() { _ = d.db.Close() }

type sqlTx struct{ tx *sql.Tx }

func (t sqlTx) exec(ctx context.Context, q string, args ...any) (int64, error) {
	res, err := t.tx.ExecContext(ctx, q, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
func (t sqlTx) commit(context.Context) error   { return t.tx.Commit() }
func (t sqlTx) rollback(context.Context) error { return t.tx.Rollback() }
func (t sqlTx) handle() any                    { return t.tx }
func (t sqlTx) closed() bool                   { return false }

// lost asks the connection (a round trip, only when err looks like a lost
// connection): an answer of the server, even an error (the transaction
// aborted by the handler's failed statement), means it is alive.
func (t sqlTx) lost(ctx context.Context, err error) bool {
	if !connLost(err) {
		return false
	}
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	_, perr := t.tx.ExecContext(pctx, "SELECT 1")
	return perr != nil && !errors.Is(perr, sql.ErrTxDone) && (sqlState(perr) == "" || connLost(perr))
}

// pgStore is the postgres store: a mark per (binding, key), inserted in
// the transaction the handler runs in.
type pgStore struct {
	db     pgDB
	own    bool
	t      table
	insert string
	state  *storeState
	// timeout bounds each of the store's own round trips (see bound).
	timeout time.Duration
}

func newPGStore(db pgDB, own bool, t table, timeout time.Duration, log *slog.Logger) *pgStore {
	// The retention travels as a bigint count of milliseconds: the cast
	// makes its type explicit for every driver (database/sql ones too).
	return &pgStore{db: db, own: own, t: t, timeout: timeout, state: newStoreState("postgres table "+t.qualified(), log),
		insert: "INSERT INTO " + t.Quoted() + " (binding, key, expires_at) VALUES ($1, $2, now() + $3::bigint * interval '1 millisecond') ON CONFLICT DO NOTHING"}
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
//     ([Tx], [SQLTx]); its success commits mark and writes together, its
//     failure rolls both back.
func (s *pgStore) wrap(c *Consumer, binding string, key *stream.IdempotencyKey, retention time.Duration, next stream.Handler) stream.Handler {
	ms := retention.Milliseconds()
	return func(ctx context.Context, env stream.Envelope) (err error) {
		k, err := key.Of(env)
		// unkeyed: nothing to deduplicate by (stream.ErrNoIdempotencyKey):
		// the handler runs in a transaction as any other, for Tx(ctx), but
		// without a mark.
		unkeyed := errors.Is(err, stream.ErrNoIdempotencyKey)
		if unkeyed {
			c.unkeyed(ctx, binding, err)
			err = nil
		}
		if err != nil {
			return err
		}
		// The store's own round trips run on actx, which a round trip
		// that outlives s.timeout ends (bound): the transaction (a
		// database/sql one is bound to the context it began with) and its
		// connection end with it. actx ends after the transaction did.
		actx, abort := context.WithCancel(ctx)
		defer abort()
		var tx pgTx
		timedOut := s.bound(actx, "begin", abort, func() { tx, err = s.db.begin(actx) })
		if err == nil && timedOut {
			// BEGIN's answer came as the timeout ran out, which ended actx
			// (and with it a database/sql transaction): the next round
			// trip would fail with "context canceled".
			_ = tx.rollback(context.WithoutCancel(ctx))
			return s.lateAnswer(binding, "begin")
		}
		if err != nil {
			if timedOut && ctx.Err() == nil {
				return s.state.storeDown(ctx, binding, "begin", s.noAnswer("no connection from the pool, or no answer from the database, within %s (a pool smaller than the bindings' concurrency also waits: size it to at least that)", err))
			}
			return s.state.storeDown(ctx, binding, "begin", err)
		}
		defer func() {
			if err != nil {
				// Rollback after a cancelled ctx still has to reach the
				// server (or close the connection).
				_ = tx.rollback(context.WithoutCancel(ctx))
			}
		}()
		sk := storedKey(k)
		if !unkeyed {
			var n int64
			timedOut = s.boundWait(ctx, abort, func() { n, err = tx.exec(actx, s.insert, binding, sk, ms) })
			if err == nil && timedOut {
				err = s.lateAnswer(binding, "insert mark into "+s.t.qualified()) // rolled back (deferred)
				return err
			}
			if err != nil && timedOut && ctx.Err() == nil {
				return s.state.storeDown(ctx, binding, "insert mark into "+s.t.qualified(), s.noAnswer("no answer from the database within %s, nor to a ping on another connection", err))
			}
			if err != nil {
				switch {
				case connLost(err):
				case sqlState(err) == "55P03":
					// The session's lock_timeout (set on the role or the DSN)
					// ended the insert's wait for the mark's row lock: another
					// delivery of the key runs its handler. The server
					// answered; the message is not at fault either.
					s.state.ok()
					return fmt.Errorf("%w: idempotency: %s: insert mark %q into %s: another delivery of this key holds its mark's row, or a lock is held on the table (the session's lock_timeout ended the wait); the message will run again, or be skipped once that delivery committed: %s", stream.ErrNak, binding, sk, s.t.qualified(), redacted(err))
				case messageFault(err):
					// The server refused the mark's values: retrying cannot
					// help, and the store is fine for other messages.
					return stream.Permanent(fmt.Errorf("idempotency: %s: insert mark %q into %s: %s", binding, sk, s.t.qualified(), redacted(err)))
				case retryable(err):
					return fmt.Errorf("idempotency: %s: insert mark %q into %s: %s", binding, sk, s.t.qualified(), redacted(err))
				}
				if sqlState(err) == "22001" {
					// A varchar column of a table made by hand shorter than the
					// binding's name or than a stored key (up to MaxPlainKey).
					// The table's fault, not the message's: the key is within
					// what the store promises to keep, and dead-lettering (or,
					// without dlq, dropping) valid messages for a column's size
					// loses them, where a Nak keeps them until it is widened.
					return s.state.storeDown(ctx, binding, fmt.Sprintf("insert mark into %s: the table's columns are not those idempotency.Migrate makes: a value longer than its varchar column: the binding column must take the bindings' names, the key column stored keys of up to %d characters (idempotency.MaxPlainKey; longer keys are stored hashed, %d): ALTER TABLE %s ALTER COLUMN key TYPE text, ALTER COLUMN binding TYPE text; until then each message whose key does not fit is left for redelivery, again and again (on Kafka it holds its partition)", s.t.qualified(), MaxPlainKey, len(HashedKeyPrefix)+64, s.t.qualified()), err)
				}
				if tableFault(err) {
					return s.state.storeDown(ctx, binding, "insert mark into "+s.t.qualified()+": the table's columns are not those idempotency.Migrate makes (binding text, key text, expires_at timestamptz; primary key (binding, key)): fix or recreate it", err)
				}
				// A lost connection, also a missing table (42P01) or a
				// missing right: the store is not usable, the message is not
				// at fault.
				return s.state.storeDown(ctx, binding, "insert mark into "+s.t.qualified()+missingTableHint(err), err)
			}
			s.state.ok()
			if n == 0 {
				_ = tx.rollback(ctx)
				c.duplicate(ctx, binding, sk)
				return nil
			}
		}
		if err = callNext(context.WithValue(ctx, txKey{}, tx.handle()), env, next); err != nil {
			if tx.lost(ctx, err) && !s.handlersOwnLoss(ctx, tx, ownContextEnded(ctx, err)) {
				// The handler failed because the transaction's connection
				// went away under it: not an attempt of the message.
				return s.state.storeDown(ctx, binding, "the handler's transaction lost its connection (the handler's writes and the mark are rolled back; the message will run again)", err)
			}
			return err
		}
		if tx.closed() {
			// The handler returned nil, but a statement of its own had
			// already failed with the connection: its own context ended
			// (pgx closes a connection whose statement's context ends), or
			// the server went away.
			err = errors.New("the transaction's connection was closed before the commit")
			if s.handlersOwnLoss(ctx, tx, ctx.Err() == nil) {
				return fmt.Errorf("idempotency: %s: the handler returned nil, but its transaction's connection had been closed under it, the server being up: a statement of the handler through Tx(ctx) failed, most likely because a context of its own ended, and its error was not returned (the handler's writes and the mark are rolled back; the message will run again)", binding)
			}
			return s.state.storeDown(ctx, binding, "commit (the handler's writes and the mark are rolled back; the message will run again)", err)
		}
		// A commit that succeeded as the timeout ran out is a commit: the
		// ended actx is not used again.
		timedOut = s.bound(actx, "commit", abort, func() { err = tx.commit(actx) })
		if err != nil && timedOut && ctx.Err() == nil {
			return s.state.storeDown(ctx, binding, "commit (the handler's writes and the mark are rolled back, unless the commit reached the database: then a redelivery finds the mark and skips)", s.noAnswer("no answer from the database within %s", err))
		}
		if err != nil {
			if errors.Is(err, pgx.ErrTxCommitRollback) {
				// COMMIT answered ROLLBACK: a statement of the handler
				// failed and aborted the transaction, and the handler
				// returned nil anyway. The server answered: the message's
				// failure, not the store's.
				return fmt.Errorf("idempotency: %s: commit: the transaction was aborted by a failed statement of the handler whose error the handler did not return (the handler's writes and the mark are rolled back; the message will run again): %s", binding, redacted(err))
			}
			if !connLost(err) && sqlState(err) != "" {
				// The server refused what the handler wrote (a deferred
				// constraint, a serialization failure): the message's to
				// retry and dead-letter.
				return fmt.Errorf("idempotency: %s: commit (the handler's writes and the mark are rolled back; the message will run again): %s", binding, redacted(err))
			}
			return s.state.storeDown(ctx, binding, "commit (the handler's writes and the mark are rolled back; the message will run again)", err)
		}
		if !unkeyed {
			c.processed(binding)
		}
		return nil
	}
}

// DefaultStoreTimeout is the default of [Options.StoreTimeout].
const DefaultStoreTimeout = 30 * time.Second

// bound runs f, a round trip of the store on the attempt's context, and
// ends that context (abort) if f has not returned within s.timeout: a
// database that stops answering without closing the connection (a hung
// server, a network that drops packets) would otherwise hold the message,
// and its binding's slot, for as long as the socket lives. It reports
// whether the time ran out (f's error then says the context ended).
//
// A timeout that runs out just after f succeeded still ended the context:
// the caller must not use it again (see lateAnswer).
func (s *pgStore) bound(actx context.Context, step string, abort context.CancelFunc, f func()) (timedOut bool) {
	t := time.AfterFunc(s.timeout, abort)
	f()
	if h := roundTripHook.Load(); h != nil {
		(*h)(actx, step)
	}
	return !t.Stop()
}

// roundTripHook, set by tests only, runs after each bounded round trip
// (bound), before its timer is stopped.
var roundTripHook atomic.Pointer[func(actx context.Context, step string)]

// lateAnswer is the error of an attempt whose round trip step succeeded
// just as the store timeout ran out: the timeout had ended the attempt's
// context, so the transaction is rolled back and the message left for
// redelivery (Nak, not an attempt). The database answered: not a store
// outage.
func (s *pgStore) lateAnswer(binding, step string) error {
	return fmt.Errorf("%w: idempotency: %s: %s: the database answered only as the store timeout (%s) ran out, which had ended the attempt's transaction; rolled back, the message will run again", stream.ErrNak, binding, step, s.timeout)
}

// boundWait is bound for the mark's insert, which rightly waits for as
// long as another delivery of the key runs its handler (its transaction
// holds the mark's row lock): each time s.timeout passes while f runs,
// the database is pinged (on a connection of its own: see pgDB.ping),
// and only a ping that gets no answer within storeProbeTimeout ends f; a
// ping that cannot tell (errPoolBusy) lets f wait on. (Ending a
// waiting insert would also leave its backend waiting on the server, the
// closed connection unnoticed until the lock is released: one more
// backend for every redelivery meanwhile.)
func (s *pgStore) boundWait(ctx context.Context, abort context.CancelFunc, f func()) (timedOut bool) {
	done := make(chan struct{})
	watched := make(chan struct{})
	var out atomic.Bool
	go func() {
		defer close(watched)
		t := time.NewTimer(s.timeout)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
			}
			pctx, cancel := context.WithTimeout(ctx, storeProbeTimeout)
			err := s.db.ping(pctx)
			cancel()
			if err != nil && !errors.Is(err, errPoolBusy) && ctx.Err() == nil {
				select {
				case <-done:
				default:
					out.Store(true)
					abort()
				}
				return
			}
			t.Reset(s.timeout)
		}
	}()
	f()
	close(done)
	<-watched
	return out.Load()
}

// errNoAnswer marks a store round trip that ran out of the store timeout.
var errNoAnswer = errors.New("the database did not answer in time")

// noAnswer is the error of a round trip that ran out of the store timeout:
// format takes the timeout.
func (s *pgStore) noAnswer(format string, err error) error {
	return fmt.Errorf("%w: "+format+": %w", errNoAnswer, s.timeout, err)
}

// storeProbeTimeout bounds the ping that tells a handler's own loss of its
// transaction's connection from the store's (handlersOwnLoss).
const storeProbeTimeout = 5 * time.Second

// ownContextEnded reports whether the handler's error err says that a
// context ended while the attempt's own context ctx did not: a context the
// handler derived (a deadline on a statement) ended.
func ownContextEnded(ctx context.Context, err error) bool {
	return ctx.Err() == nil && (errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled))
}

// handlersOwnLoss reports whether the loss of the attempt's transaction's
// connection is the handler's doing rather than the store's: own says
// that a context of the handler's own ended (pgx closes a connection whose
// statement's context ends, even when the server is fine), and the server
// answers a ping now. A server that does not answer within
// storeProbeTimeout (or a pool with no connection free meanwhile) is a
// store outage. The transaction is rolled back first, so that the ping
// does not wait for the connection this attempt holds.
func (s *pgStore) handlersOwnLoss(ctx context.Context, tx pgTx, own bool) bool {
	if !own {
		return false
	}
	_ = tx.rollback(context.WithoutCancel(ctx))
	pctx, cancel := context.WithTimeout(ctx, storeProbeTimeout)
	defer cancel()
	return s.db.ping(pctx) == nil
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

// purger deletes expired marks every purge interval; a
// stream.ComponentCloser: Stop ends the purge, Close closes a pool New
// opened, once the bindings' handlers no longer use it.
type purger struct {
	s        *pgStore
	interval time.Duration
	log      *slog.Logger

	mu     sync.Mutex
	stop   context.CancelFunc
	done   chan struct{}
	last   error
	closed chan struct{} // closed once the own pool is; nil before Close
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
	q, qq := p.s.t.qualified(), p.s.t.Quoted()
	del := fmt.Sprintf("DELETE FROM %s WHERE ctid IN (SELECT ctid FROM %s WHERE expires_at < now() LIMIT %d)", qq, qq, purgeBatch)
	var total int64
	for {
		// The statement is bounded: a database that does not answer must
		// not hold the purge (and its readiness) for as long as the
		// socket lives. The wait for a connection is not: a pool whose
		// connections the bindings' handlers use is busy, not down.
		n, err := p.s.db.exec(ctx, p.s.timeout, del)
		if err != nil {
			return total, fmt.Errorf("purge %s%s: %w", q, missingTableHint(err), err)
		}
		total += n
		if n < purgeBatch {
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
		return fmt.Errorf("idempotency purge did not end: %w", ctx.Err())
	}
	return nil
}

// Close closes the pool New opened. It is called once the bindings have
// stopped: closing it in Stop, before them, waited for the connections of
// the handlers still running — which end only with the bindings'
// shutdown, after Stop. A handler still holding a connection when ctx ends
// (the shutdown deadline) does not hold Close: the pool is closed all the
// same, that connection when it is released.
func (p *purger) Close(ctx context.Context) error {
	if !p.s.own {
		return nil
	}
	p.mu.Lock()
	closed := p.closed
	if closed == nil {
		closed = make(chan struct{})
		p.closed = closed
		go func() {
			defer close(closed)
			p.s.db.close()
		}()
	}
	p.mu.Unlock()
	select {
	case <-closed:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("idempotency store %s: closing its pool: a handler still holds a connection (it is closed when released), or the pool still ends connections a database that does not answer left interrupted: %w", p.s.t.qualified(), ctx.Err())
	}
}

// Health reports the last failure of a message's call to the store or,
// else, the last purge's error: readiness is down while the marks' table
// cannot be used.
func (p *purger) Health(ctx context.Context) error {
	if err := p.s.state.health(); err != nil {
		return err
	}
	p.mu.Lock()
	last := p.last
	p.mu.Unlock()
	if last == nil {
		return nil
	}
	// The last purge failed: look again rather than stay down until the
	// next purge (the table may have been created since).
	// Like every store round trip it is bounded by the store timeout (and
	// storeProbeTimeout): a database that stopped answering must not hold
	// a readiness probe longer than it holds a message.
	q := p.s.t.qualified()
	bound := min(storeProbeTimeout, p.s.timeout)
	pctx, cancel := context.WithTimeout(ctx, bound)
	defer cancel()
	if _, err := p.s.db.exec(pctx, 0, "SELECT FROM "+p.s.t.Quoted()+" LIMIT 0"); err != nil {
		if ctx.Err() == nil && pctx.Err() != nil {
			err = fmt.Errorf("%w: no connection from the pool, or no answer from the database, within %s: %w", errNoAnswer, bound, err)
		}
		return fmt.Errorf("idempotency store %s%s: %s", q, missingTableHint(err), redacted(err))
	}
	p.mu.Lock()
	if p.last == last {
		p.last = nil
	}
	p.mu.Unlock()
	return nil
}
