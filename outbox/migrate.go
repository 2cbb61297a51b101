package outbox

import (
	"context"
	"fmt"
	"strings"

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
//
// with an index on (name, key, id), and a statement trigger that notifies
// the relays (channel "outbox_<table>") when rows are inserted.
func Migrate(ctx context.Context, db Execer, tableName string) error {
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

// migration is the DDL of table t. Identifiers are validated (parseTable):
// they are spliced in as they are.
func migration(t table) []string {
	q := t.qualified()
	fn := t.ident(t.Name + "_notify")
	stmts := []string{
		// Serialise concurrent migrations: CREATE ... IF NOT EXISTS is not
		// safe against a concurrent CREATE of the same name.
		fmt.Sprintf(`SELECT pg_advisory_xact_lock(hashtextextended('streambind.outbox:%s', 0))`, q),
	}
	if t.Schema != "" {
		stmts = append(stmts, fmt.Sprintf(`CREATE SCHEMA IF NOT EXISTS %s`, t.Schema))
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
	last_error text
)`, q),
		fmt.Sprintf(`CREATE INDEX IF NOT EXISTS %s ON %s (name, key, id)`, t.Name+"_order_idx", q),
		fmt.Sprintf(`CREATE OR REPLACE FUNCTION %s() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	PERFORM pg_notify('%s', '');
	RETURN NULL;
END
$$`, fn, t.channel()),
		fmt.Sprintf(`CREATE OR REPLACE TRIGGER %s AFTER INSERT ON %s FOR EACH STATEMENT EXECUTE FUNCTION %s()`, t.Name+"_notify", q, fn),
	)
}
