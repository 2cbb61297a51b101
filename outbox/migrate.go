package outbox

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Execer runs a statement. pgx.Tx, *pgx.Conn, *pgxpool.Pool and
// *pgxpool.Conn satisfy it; [SQL] adapts a database/sql transaction,
// connection or pool.
type Execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// Migrate creates the outbox table tableName — "name" or "schema.name",
// usually [Config].Table (outbox.table) — and its schema, index and notify
// trigger, if they do not exist. It is idempotent and safe to run
// from several instances at once (a transaction-scoped advisory lock
// serialises them; the statements run as one multi-statement query, thus
// in one transaction, so db must not be inside a failed transaction). It needs PostgreSQL 14 or later and the
// right to create what is missing (the schema, when it is named and
// missing; the table). Each object is looked up before it is created: on
// a complete table Migrate takes no lock on the table (it does not wait
// for the transactions that wrote to it, nor hold up Send) and needs no
// right on it, so every instance may run it at start whatever its role.
//
// The table:
//
//	id         bigint identity primary key   -- the send order
//	name       text    not null              -- binding or destination
//	key        bytea   not null default ''   -- Envelope.Key: the order key
//	payload    bytea   not null
//	headers    jsonb   not null default '{}'
//	created_at timestamptz not null default now()
//	attempts   int     not null default 0    -- failed sends so far
//	last_error text                          -- the last send error
//	dead_at    timestamptz                   -- set aside: not decodable
//
// with an index on (name, key, id), and a statement trigger that notifies
// the relays (channel "outbox_<table>") when rows are inserted.
func Migrate(ctx context.Context, db Execer, tableName string) error {
	if isNil(db) {
		return errors.New("outbox: migrate: db is nil; want a pgx pool, connection or transaction, or outbox.SQL(db)")
	}
	t, err := parseTable(tableName)
	if err != nil {
		return fmt.Errorf("outbox: migrate: table %w", err)
	}
	// Without arguments, pgx (and database/sql over pgx or lib/pq) sends
	// this as one simple query, which PostgreSQL runs as one transaction.
	if _, err := db.Exec(ctx, strings.Join(migration(t), ";\n")); err != nil {
		return fmt.Errorf("outbox: migrate %s: %s", t.qualified(), redacted(err))
	}
	return nil
}

// migration is the DDL of table t. Identifiers are validated (parseTable)
// and quoted (a keyword is a name); the lock key, the channel and the
// names looked up in the catalogs, string literals, take the validated
// names as they are.
//
// Every object is looked up first and created (or replaced) only when it
// is missing (or differs): a Migrate of a complete table — every start
// of every instance — then takes no lock on the table and needs no right
// but reading the catalogs. CREATE INDEX IF NOT EXISTS and CREATE OR
// REPLACE TRIGGER lock the table (SHARE, SHARE ROW EXCLUSIVE) even when
// there is nothing to do: they waited for every open transaction that had
// written to the outbox (a Send, a relay's deletes), and every Send queued
// behind them meanwhile; and they need to own the table, as CREATE
// SCHEMA IF NOT EXISTS needs the right to create schemas in the database
// and CREATE TABLE IF NOT EXISTS the right to create in the schema, even
// when they exist.
func migration(t table) []string {
	q := t.quoted()
	lit := "'" + q + "'" // a regclass or regprocedure literal of the quoted name
	fn := t.quotedIdent(t.Name + "_notify")
	body := fmt.Sprintf(`
BEGIN
	PERFORM pg_notify('%s', '');
	RETURN NULL;
END
`, t.channel())
	stmts := []string{
		// Serialise concurrent migrations: CREATE ... IF NOT EXISTS is not
		// safe against a concurrent CREATE of the same name.
		fmt.Sprintf(`SELECT pg_advisory_xact_lock(hashtextextended('streambind.outbox:%s', 0))`, t.qualified()),
	}
	if t.Schema != "" {
		stmts = append(stmts, t.CreateSchema())
	}
	return append(stmts,
		fmt.Sprintf(`DO $mig$ BEGIN
	IF to_regclass(%s) IS NULL THEN
		CREATE TABLE IF NOT EXISTS %s (
			id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
			name       text        NOT NULL,
			key        bytea       NOT NULL DEFAULT '',
			payload    bytea       NOT NULL,
			headers    jsonb       NOT NULL DEFAULT '{}',
			created_at timestamptz NOT NULL DEFAULT now(),
			attempts   integer     NOT NULL DEFAULT 0,
			last_error text,
			dead_at    timestamptz
		);
	END IF;
END $mig$`, lit, q),
		// dead_at came later: add it to a table made before.
		fmt.Sprintf(`DO $mig$ BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = %s::regclass AND attname = 'dead_at' AND NOT attisdropped) THEN
		ALTER TABLE %s ADD COLUMN dead_at timestamptz;
	END IF;
END $mig$`, lit, q),
		fmt.Sprintf(`DO $mig$ BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid WHERE x.indrelid = %s::regclass AND i.relname = '%s') THEN
		CREATE INDEX IF NOT EXISTS %s ON %s (name, key, id);
	END IF;
END $mig$`, lit, t.Name+"_order_idx", pgx.Identifier{t.Name + "_order_idx"}.Sanitize(), q),
		fmt.Sprintf(`DO $mig$ BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_proc WHERE oid = to_regprocedure('%s()') AND prosrc = $fn$%s$fn$) THEN
		CREATE OR REPLACE FUNCTION %s() RETURNS trigger LANGUAGE plpgsql AS $fn$%s$fn$;
	END IF;
END $mig$`, fn, body, fn, body),
		// tgtype 4: AFTER INSERT FOR EACH STATEMENT.
		fmt.Sprintf(`DO $mig$ BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = %s::regclass AND tgname = '%s' AND tgfoid = to_regprocedure('%s()') AND tgtype = 4) THEN
		CREATE OR REPLACE TRIGGER %s AFTER INSERT ON %s FOR EACH STATEMENT EXECUTE FUNCTION %s();
	END IF;
END $mig$`, lit, t.Name+"_notify", fn, pgx.Identifier{t.Name + "_notify"}.Sanitize(), q, fn),
	)
}
