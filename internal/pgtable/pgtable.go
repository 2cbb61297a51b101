// Package pgtable parses and renders the PostgreSQL table names that the
// outbox and idempotency stores take from configuration ("name" or
// "schema.name"). Names are validated as plain lower-case identifiers;
// SQL takes them quoted ([Table.Quoted], [Table.QuotedIdent]), so that a
// name that is an SQL keyword ("user", "order") works too.
package pgtable

import (
	"context"
	"database/sql"
	"fmt"
	"regexp"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

var identRe = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)

// Table is a parsed, validated table name; Schema is empty for the
// connection's search_path.
type Table struct{ Schema, Name string }

// MaxNameLen bounds the table name so that the names of the objects derived
// from it (indexes, triggers: name + suffix) stay within PostgreSQL's 63
// bytes.
const MaxNameLen = 50

// Parse validates s: "name" or "schema.name", each part a lower-case
// identifier of letters, digits and _ starting with a letter or _, the
// schema at most 63 characters (PostgreSQL's limit), the name at most
// MaxNameLen.
func Parse(s string) (Table, error) {
	parts := strings.Split(s, ".")
	if len(parts) > 2 {
		return Table{}, fmt.Errorf("%q: want name or schema.name", s)
	}
	for i, p := range parts {
		what, limit := "schema", 63
		if i == len(parts)-1 {
			what, limit = "table name", MaxNameLen
		}
		if !identRe.MatchString(p) {
			return Table{}, fmt.Errorf("%q: the %s %q is not a lower-case identifier of letters, digits and _ starting with a letter or _", s, what, p)
		}
		if len(p) > limit {
			return Table{}, fmt.Errorf("%q: the %s is %d characters long; at most %d", s, what, len(p), limit)
		}
	}
	t := Table{Name: parts[len(parts)-1]}
	if len(parts) == 2 {
		t.Schema = parts[0]
	}
	return t, nil
}

// Ident returns the (schema-qualified) name of an object of the table's
// schema, unquoted: for messages, logs and lock keys. SQL takes
// [Table.QuotedIdent].
func (t Table) Ident(name string) string {
	if t.Schema == "" {
		return name
	}
	return t.Schema + "." + name
}

// Qualified is the table's (schema-qualified) name, unquoted: for
// messages, logs and lock keys. SQL takes [Table.Quoted].
func (t Table) Qualified() string { return t.Ident(t.Name) }

// QuotedIdent is [Table.Ident] quoted for SQL ("schema"."name"): a part
// that is a keyword (user, order, select) is then a name.
func (t Table) QuotedIdent(name string) string {
	if t.Schema == "" {
		return pgx.Identifier{name}.Sanitize()
	}
	return pgx.Identifier{t.Schema, name}.Sanitize()
}

// Quoted is the table's name quoted for SQL ([Table.QuotedIdent]).
func (t Table) Quoted() string { return t.QuotedIdent(t.Name) }

// QuotedSchema is the schema quoted for SQL, "" when unqualified.
func (t Table) QuotedSchema() string {
	if t.Schema == "" {
		return ""
	}
	return pgx.Identifier{t.Schema}.Sanitize()
}

// CreateSchema is a statement (a DO block) that creates t's schema unless
// it exists, "" when t names none. The outbox's and the idempotency
// store's migrations both run it, each under an advisory lock of its own
// table, which does not serialise them with a migration of another table
// of the same schema; and CREATE SCHEMA IF NOT EXISTS is not safe against
// a concurrent CREATE of the same name (the second fails, 23505 on
// pg_namespace_nspname_index, once the first commits). So a missing
// schema is created under a transaction-scoped advisory lock of its name,
// looked up again once the lock is held; an existing one takes no lock.
func (t Table) CreateSchema() string {
	if t.Schema == "" {
		return ""
	}
	return fmt.Sprintf(`DO $mig$ BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = '%s') THEN
		PERFORM pg_advisory_xact_lock(hashtextextended('streambind.schema:%s', 0));
		IF NOT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = '%s') THEN
			CREATE SCHEMA IF NOT EXISTS %s;
		END IF;
	END IF;
END $mig$`, t.Schema, t.Schema, t.Schema, t.QuotedSchema())
}

// SQLExecer is the database/sql side of a transaction, connection or pool
// (*sql.Tx, *sql.Conn, *sql.DB).
type SQLExecer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// SQL adapts a database/sql transaction, connection or pool to pgx's Exec
// shape, which the outbox's and the idempotency store's Execer take. The
// command tag is empty: callers of the adapter do not read it.
func SQL(x SQLExecer) SQLAdapter { return SQLAdapter{x} }

// SQLAdapter is what [SQL] returns.
type SQLAdapter struct{ x SQLExecer }

// Exec runs q through ExecContext.
func (s SQLAdapter) Exec(ctx context.Context, q string, args ...any) (pgconn.CommandTag, error) {
	_, err := s.x.ExecContext(ctx, q, args...)
	return pgconn.CommandTag{}, err
}
