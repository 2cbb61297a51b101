package idempotency

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"database/sql/driver"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"strings"
	"unicode/utf8"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/streambind/streambind/internal/pgerr"
)

// A message's key is any byte string (a Kafka header is raw bytes: a
// 16-byte binary UUID is common). The stores keep it as it is when it is
// short, valid UTF-8 without NUL — what a PostgreSQL text column and its
// index take — and otherwise as HashedKeyPrefix followed by the hex
// SHA-256 of its bytes. A key that itself starts with HashedKeyPrefix is
// hashed too, so that a stored key names one message key only.
const (
	// MaxPlainKey is the length in bytes of the longest key stored as it
	// is; a longer one is stored hashed (72 bytes).
	MaxPlainKey = 256
	// HashedKeyPrefix starts a stored key that is the SHA-256 of the
	// message's key.
	HashedKeyPrefix = "#sha256:"
)

// storedKey is the form of message key k that the stores keep and the
// logs show.
func storedKey(k string) string {
	if len(k) <= MaxPlainKey && utf8.ValidString(k) && !strings.ContainsRune(k, 0) && !strings.HasPrefix(k, HashedKeyPrefix) {
		return k
	}
	sum := sha256.Sum256([]byte(k))
	return HashedKeyPrefix + hex.EncodeToString(sum[:])
}

// sqlState is the SQLSTATE of a server's error answer (pgx's
// *pgconn.PgError, lib/pq's *pq.Error), "" for any other error.
func sqlState(err error) string {
	return pgerr.State(err)
}

// connLost reports whether err says that the connection to PostgreSQL
// failed or was lost (the server shut down or restarted, the backend was
// terminated, a failover, the network): the store's fault, never the
// message's — a transaction on that connection is gone, and what it would
// have committed is rolled back by the server unless the commit itself
// was lost in flight (a redelivery then finds the mark and skips).
func connLost(err error) bool {
	if err == nil {
		return false
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) && (pe.Severity == "FATAL" || pe.Severity == "PANIC") {
		return true
	}
	if code := sqlState(err); code != "" {
		// Class 08: connection exception; 57P01..57P03: admin shutdown,
		// crash shutdown, cannot connect now.
		return strings.HasPrefix(code, "08") || code == "57P01" || code == "57P02" || code == "57P03"
	}
	var ne net.Error
	var ce *pgconn.ConnectError
	return pgconn.SafeToRetry(err) || pgconn.Timeout(err) ||
		errors.As(err, &ne) || errors.As(err, &ce) ||
		errors.Is(err, driver.ErrBadConn) || errors.Is(err, sql.ErrConnDone) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, context.DeadlineExceeded)
}

// messageFault reports whether err, the server's answer to the mark's
// INSERT, is about the values inserted — a character the database's
// encoding cannot hold (22021, 22P05) or class 23 (integrity constraint:
// a constraint added to the table; the expected unique violation is
// absorbed by ON CONFLICT DO NOTHING) — rather than about the store:
// retrying the message cannot fix it. A NOT NULL violation (23502) or any
// other data exception of class 22 (a value too long for a varchar
// column, not of a column's type) says that the table's columns are not
// Migrate's — the store's fault, which would otherwise fail every message
// of a binding for good (tableFault).
func messageFault(err error) bool {
	code := sqlState(err)
	return code == "22021" || code == "22P05" || (strings.HasPrefix(code, "23") && code != "23502")
}

// tableFault reports whether err, the server's answer to the mark's
// INSERT, says that the marks table has other columns than Migrate's
// (see messageFault).
func tableFault(err error) bool {
	code := sqlState(err)
	return !messageFault(err) && (strings.HasPrefix(code, "22") || code == "23502")
}

// retryable reports whether err is a transient refusal of the transaction
// (class 40: serialization failure, deadlock), which the message's retry
// may not meet again.
func retryable(err error) bool { return strings.HasPrefix(sqlState(err), "40") }
