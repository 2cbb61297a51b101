package outbox

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/streambind/streambind/internal/pgerr"
	"github.com/streambind/streambind/internal/pgtable"
	"github.com/streambind/streambind/stream"
)

// Outbox stores messages in a PostgreSQL table inside the caller's
// transactions ([Outbox.Send]) and, with its [Relay], sends them once
// committed. Create it with [New]; it is safe for concurrent use.
type Outbox struct {
	app   *stream.App
	cfg   Config
	table table
	relay *Relay // nil when cfg.Relay is false
}

// Options are the parts of an [Outbox] that are not configuration.
type Options struct {
	// Pool is the relay's connection pool. Nil: the relay opens one from
	// Config.DSN when it starts and closes it when it stops. A given pool
	// is not closed. The relay holds one connection per batch in flight plus
	// one for LISTEN (opened from the pool's connection settings).
	Pool *pgxpool.Pool
	// Logger for the relay. Default: slog.Default().
	Logger *slog.Logger
}

// New returns the outbox of app, configured by cfg (see [FromConfig]).
// Unless cfg.Relay is false it joins a [Relay] to app's lifecycle
// ([stream.App.AddComponent]), so New must be called before app runs.
// The relay opens its pool when the app starts it, without connecting: a
// database that is down shows as the relay's readiness, not as an error. New does
// not create the table: call [Migrate].
func New(app *stream.App, cfg Config, opts Options) (*Outbox, error) {
	if app == nil {
		return nil, errors.New("outbox: New: app is nil")
	}
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	t, _ := parseTable(cfg.Table) // validated
	o := &Outbox{app: app, cfg: cfg, table: t}
	if !cfg.RelayEnabled() {
		return o, nil
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	var pc *pgxpool.Config
	if opts.Pool == nil {
		if cfg.DSN == "" {
			return nil, fmt.Errorf("%s.dsn: is required when the relay runs (or give Options.Pool, or set %s.relay: false)", Section, Section)
		}
		var err error
		if pc, err = poolConfig(cfg); err != nil {
			return nil, err
		}
	}
	o.relay = newRelay(app, cfg, t, opts.Pool, pc, log.With("component", "outbox", "table", t.qualified()))
	if err := app.AddComponent(o.relay); err != nil {
		return nil, fmt.Errorf("outbox: %w", err)
	}
	return o, nil
}

// poolConfig is the configuration of the pool the relay opens from
// cfg.DSN (cfg with its defaults).
func poolConfig(cfg Config) (*pgxpool.Config, error) {
	pc, err := pgxpool.ParseConfig(cfg.DSN)
	if err != nil {
		// pgx's parse errors quote the DSN: never pass them on.
		return nil, fmt.Errorf("%s.dsn: cannot be parsed as a PostgreSQL connection string (URL or key=value)", Section)
	}
	// The server notices a relay host that is gone (crashed, cut off)
	// within about 2 minutes rather than the system's 2 hours, and
	// ends its transaction, releasing its rows' locks. A frozen but
	// reachable relay still answers keepalives: lockBound covers it.
	for k, v := range keepalives() {
		if _, set := pc.ConnConfig.RuntimeParams[k]; !set {
			pc.ConnConfig.RuntimeParams[k] = v
		}
	}
	// Without connect_timeout pgx waits for a connection as long as the
	// network does: for ever for a server that accepts and never answers,
	// minutes (the system's SYN retries) for packets dropped. A batch gives
	// up on its connection after send-timeout, but the pool goes on
	// connecting in the background, holding one of its few slots, and the
	// listener waits in its connect. Bound it by send-timeout, but by no
	// less than minConnectTimeout: a handshake slower than a short
	// send-timeout (LDAP or GSS authentication, a loaded server, a distant
	// TLS endpoint) would otherwise never succeed, where without a bound the
	// pool's background connect would finish and serve the next batch.
	// Unless the DSN (or PGCONNECT_TIMEOUT) sets connect_timeout above 0.
	if pc.ConnConfig.ConnectTimeout == 0 {
		pc.ConnConfig.ConnectTimeout = max(cfg.SendTimeout, minConnectTimeout)
	}
	return pc, nil
}

// minConnectTimeout is the least bound on a connection attempt of a pool
// the relay opens from its DSN when the DSN sets no connect_timeout.
const minConnectTimeout = 10 * time.Second

// keepalives are the server's TCP keepalive settings of the sessions of a
// pool the relay opens (unless the DSN sets them): probe after 60s idle,
// every 10s, give up after 6 unanswered probes.
func keepalives() map[string]string {
	return map[string]string{"tcp_keepalives_idle": "60", "tcp_keepalives_interval": "10", "tcp_keepalives_count": "6"}
}

// Relay returns the outbox's relay, nil when Config.Relay is false (its
// methods are safe on nil: counters 0, health nil). It is
// a [prometheus.Collector] of the backlog metrics: register it with the
// registry management serves.
func (o *Outbox) Relay() *Relay {
	if o == nil {
		return nil
	}
	return o.relay
}

// Table is the outbox table's (qualified) name, unquoted; in SQL quote it
// (pgx.Identifier), as the outbox does, for a name that is a keyword.
func (o *Outbox) Table() string {
	if o == nil {
		return ""
	}
	return o.table.qualified()
}

// SendOption adjusts one [Outbox.Send].
type SendOption func(*sendOptions)

type sendOptions struct {
	key     []byte
	headers stream.Headers
}

// Key sets the message key (Envelope.Key: the Kafka record key, the key
// header on RabbitMQ) and so the order key: the relay sends the messages of
// one (name, key) in the order they were stored. On a partitioned binding
// it is the message key only, as a stream.Message's Key: the
// partition-key-expression or extractor still selects the partition (and
// its key is not sent as the message key, as in SCSt). It is an error
// beside a value that has a key of its own (a stream.Message's or
// stream.Envelope's Key, or a Message's kafka_messageKey header, which is
// the key then).
func Key(k string) SendOption { return func(o *sendOptions) { o.key = []byte(k) } }

// Header sets a header of the message, over the value's own headers (a
// [stream.Message]'s). Partition key expressions see only the value's own
// headers: send a stream.Message for a header the partition key comes from.
// A kafka_messageKey header ([stream.HeaderMessageKey], Spring Kafka's
// KafkaHeaders.KEY) is the message key, as the [Key] option (and as on a
// Message output): it is not sent on as a header, and beside Key or a
// value with a key of its own it is an error.
func Header(k, v string) SendOption {
	return func(o *sendOptions) { o.headers = o.headers.With(k, v) }
}

// Send stores value for name — an output binding or a destination, as
// [stream.Bridge.Send] takes them — in the outbox table within tx, the
// caller's transaction: the message is sent once tx commits, and never if
// it rolls back. value is encoded now, exactly as the bridge would encode
// it for name ([stream.Bridge.Encode]: content type, converter, headers of
// a stream.Message, key and partition); a value that cannot be
// encoded is an error here and nothing is stored. Each message gets an
// "id" header (a UUID) unless it has one, so that a consumer can tell a
// message sent again after a relay crash.
//
// tx is a pgx.Tx (or anything with pgx's Exec); for database/sql pass
// SQL(tx). Send needs only that the table exists ([Migrate]); it works
// whether or not this instance runs a relay, and before the app runs.
func (o *Outbox) Send(ctx context.Context, tx Execer, name string, value any, opts ...SendOption) error {
	switch {
	case o == nil:
		return errors.New("outbox: Send on a nil *Outbox (create it with outbox.New)")
	case isNil(tx):
		return fmt.Errorf("outbox: send to %s: tx is nil; want the caller's transaction (a pgx.Tx, or outbox.SQL(tx) for database/sql)", name)
	case name == "":
		return errors.New("outbox: send: name is empty; want an output binding or a destination")
	}
	// A stored row whose name the relay cannot send blocks its key until
	// someone deletes it: refuse a likely typo here, in the caller's
	// transaction, rather than at the relay's first send.
	if s := o.app.Bridge().CloseName(name); s != "" {
		return fmt.Errorf("outbox: send to %s: no binding, destination or stream.dynamic-destinations entry has this name; did you mean %s? (list %s in stream.dynamic-destinations to send to it)", name, s, name)
	}
	var so sendOptions
	for _, opt := range opts {
		if opt != nil {
			opt(&so)
		}
	}
	keyOption := "Key option"
	if v, ok := so.headers[stream.HeaderMessageKey]; ok {
		// Spring Kafka's KafkaHeaders.KEY: the key, as on a Message
		// output, and not sent on as a header.
		if so.key != nil {
			return fmt.Errorf("outbox: send to %s: Key option beside a %s header: give the key once", name, stream.HeaderMessageKey)
		}
		so.key, keyOption = []byte(v), stream.HeaderMessageKey+" header"
		so.headers = so.headers.Clone()
		delete(so.headers, stream.HeaderMessageKey)
	}
	env, err := o.app.Bridge().Encode(name, value)
	if err != nil {
		return fmt.Errorf("outbox: send to %s: %w", name, err)
	}
	if so.key != nil {
		if len(env.Key) > 0 {
			// Encode gave it a key: the value's (its Key, a Message's
			// kafka_messageKey header); a partition key is never the key.
			return fmt.Errorf("outbox: send to %s: %s beside the key of the value (its Key or %s header, %q): give the key once", name, keyOption, stream.HeaderMessageKey, env.Key)
		}
		// The message key only: on a partitioned binding Encode has
		// selected the partition already, as for a Message's Key.
		env.Key = so.key
	}
	for k, v := range so.headers {
		env.Headers = env.Headers.With(k, v)
	}
	if env.Headers.Get(stream.HeaderID) == "" {
		env.Headers = env.Headers.With(stream.HeaderID, uuid.NewString())
	}
	hdr, err := encodeHeaders(env.Headers)
	if err != nil {
		return fmt.Errorf("outbox: send to %s: headers: %w", name, err)
	}
	key := env.Key
	if key == nil {
		key = []byte{} // NOT NULL: pgx writes a nil []byte as NULL
	}
	payload := env.Payload
	if payload == nil {
		payload = []byte{}
	}
	q := "INSERT INTO " + o.table.quoted() + " (name, key, payload, headers) VALUES ($1, $2, $3, $4::jsonb)"
	if _, err := tx.Exec(ctx, q, name, key, payload, string(hdr)); err != nil {
		return fmt.Errorf("outbox: send to %s: insert into %s%s: %w", name, o.table.qualified(), missingTableHint(err), err)
	}
	return nil
}

// isNil reports whether x is nil or a nil pointer (a nil *pgxpool.Pool in
// an Execer is not == nil, and its Exec would panic).
func isNil(x any) bool {
	if x == nil {
		return true
	}
	v := reflect.ValueOf(x)
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface, reflect.Map, reflect.Func, reflect.Slice, reflect.Chan:
		return v.IsNil()
	}
	return false
}

// SQL adapts a database/sql transaction (or connection, or pool) to
// [Execer], for [Outbox.Send] and [Migrate]. The driver must be a
// PostgreSQL one (pgx's stdlib, lib/pq).
func SQL(x interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}) Execer {
	return pgtable.SQL(x)
}

// missingTableHint is what to do about err when it says that the outbox
// table, or its schema, does not exist (undefined_table 42P01,
// invalid_schema_name 3F000); else "".
func missingTableHint(err error) string {
	if pgerr.MissingTable(pgerr.State(err)) {
		return ": the table is missing: run outbox.Migrate (or create it as docs/outbox.md, \"Table and migration\", describes)"
	}
	return ""
}
