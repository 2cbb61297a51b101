// Package pgerr reads PostgreSQL errors by their SQLSTATE, whichever
// driver returned them (pgx's *pgconn.PgError, lib/pq's *pq.Error: both
// have a SQLState method), for the outbox and idempotency stores, which
// tell a missing table from other failures to say what to do about it.
package pgerr

import "errors"

// State is the SQLSTATE of the first error in err's chain that has one
// (a SQLState method); "" when none has.
func State(err error) string {
	var s interface{ SQLState() string }
	if errors.As(err, &s) {
		return s.SQLState()
	}
	return ""
}

// MissingTable reports whether SQLSTATE code says that a table, or its
// schema, does not exist: undefined_table (42P01) or invalid_schema_name
// (3F000). The stores answer it with "run Migrate".
func MissingTable(code string) bool {
	return code == "42P01" || code == "3F000"
}
