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
// in one transaction, so db must not be inside a failed transaction). It needs PostgreSQL 14 or later and the right to
// create the table (and the schema, when it is named and missing).
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
// and quoted (a keyword is a name); the lock key and the channel, string
// literals, take the validated name as it is.
func migration(t table) []string {
	q := t.quoted()
	fn := t.quotedIdent(t.Name + "_notify")
	stmts := []string{
		// Serialise concurrent migrations: CREATE ... IF NOT EXISTS is not
		// safe against a concurrent CREATE of the same name.
		fmt.Sprintf(`SELECT pg_advisory_xact_lock(hashtextextended('streambind.outbox:%s', 0))`, t.qualified()),
	}
	if t.Schema != "" {
		stmts = append(stmts, fmt.Sprintf(`CREATE SCHEMA IF NOT EXISTS %s`, t.QuotedSchema()))
	}
	return append(stmts,
		fmt.Sprintf(`CREATE TABLE IF NOT EXISTS %s (
	id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	name       text        NOT NULL,
	key        bytea       NOT NULL DEFAULT '',
	payload    bytea       NOT NULL,
	headers    jsonb       NOT NULL DEFAULT '{}',
	created_at timestamptz NOT NULL DEFAULT now(),
	attempts   integer     NOT NULL DEFAULT 0,
	last_error text,
	dead_at    timestamptz
)`, q),
		// dead_at came later: add it to a table made before. (Looked up
		// first: ALTER TABLE takes the table's exclusive lock even when the
		// column exists, and would wait for the relays' batches.)
		fmt.Sprintf(`DO $$ BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = '%s'::regclass AND attname = 'dead_at' AND NOT attisdropped) THEN
		ALTER TABLE %s ADD COLUMN dead_at timestamptz;
	END IF;
END $$`, q, q),
		fmt.Sprintf(`CREATE INDEX IF NOT EXISTS %s ON %s (name, key, id)`, pgx.Identifier{t.Name + "_order_idx"}.Sanitize(), q),
		fmt.Sprintf(`CREATE OR REPLACE FUNCTION %s() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	PERFORM pg_notify('%s', '');
	RETURN NULL;
END
$$`, fn, t.channel()),
		fmt.Sprintf(`CREATE OR REPLACE TRIGGER %s AFTER INSERT ON %s FOR EACH STATEMENT EXECUTE FUNCTION %s()`, pgx.Identifier{t.Name + "_notify"}.Sanitize(), q, fn),
	)
}
