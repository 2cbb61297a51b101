// Package outboxtest gives tests a PostgreSQL schema of their own on the
// test database, for the outbox package and the applications that use it.
package outboxtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// DSN is the test database: $OUTBOX_TEST_DSN, default
// postgres://postgres@127.0.0.1:5432/test?sslmode=disable (trust auth).
// Do not log it.
func DSN() string {
	if d := os.Getenv("OUTBOX_TEST_DSN"); d != "" {
		return d
	}
	return "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
}

// Require skips the test when PostgreSQL does not listen at DSN's
// address, unless CI=true, where a missing database fails it.
func Require(t testing.TB) {
	t.Helper()
	addr := "127.0.0.1:5432"
	if c, err := pgx.ParseConfig(DSN()); err == nil {
		addr = net.JoinHostPort(c.Host, strconv.Itoa(int(c.Port)))
	}
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err == nil {
		c.Close()
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("PostgreSQL is required in CI but not reachable at %s: %v (scripts/deps.sh starts it)", addr, err)
	}
	t.Skipf("!!! SKIPPED: PostgreSQL not reachable at %s (%v); start it with scripts/deps.sh !!!", addr, err)
}

// Schema creates a schema of the test's own ("obx_<random>") and a pool on
// the test database; the schema (with all it holds) is dropped and the
// pool closed when the test ends.
func Schema(t testing.TB) (*pgxpool.Pool, string) {
	t.Helper()
	Require(t)
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "obx_" + hex.EncodeToString(b[:])
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pool, err := pgxpool.New(ctx, DSN())
	if err != nil {
		t.Fatalf("outboxtest: pool: %v", err)
	}
	if _, err := pool.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		pool.Close()
		t.Fatalf("outboxtest: create schema: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := pool.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("outboxtest: drop schema %s: %v", schema, err)
		}
		pool.Close()
	})
	return pool, schema
}

// DSNWithOptions is DSN with PostgreSQL's options parameter set (server
// settings for the session, e.g. "-c lock_timeout=50ms"), in the DSN's own
// form (URL or key/value).
func DSNWithOptions(options string) string {
	u, err := url.Parse(DSN())
	if err != nil || u.Scheme == "" {
		return DSN() + " options='" + options + "'"
	}
	q := u.Query()
	q.Set("options", options)
	u.RawQuery = strings.ReplaceAll(q.Encode(), "+", "%20") // pgx reads + as itself
	return u.String()
}

// DSNWithSchema is DSN with search_path set to schema, for an application
// whose outbox table is unqualified.
func DSNWithSchema(schema string) string {
	u, err := url.Parse(DSN())
	if err != nil || u.Scheme == "" {
		return DSN() + " search_path=" + schema
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
