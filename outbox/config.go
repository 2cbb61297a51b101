package outbox

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/streambind/streambind/internal/pgtable"

	"github.com/streambind/streambind/config"
	"github.com/streambind/streambind/redact"
	"github.com/streambind/streambind/stream"
)

// Defaults of [Config].
const (
	DefaultTable        = "outbox"
	DefaultPollInterval = time.Second
	DefaultBatchSize    = 100
	DefaultConcurrency  = 100
	DefaultSendTimeout  = 30 * time.Second
	// MinSendTimeout is the smallest send-timeout: it bounds each send,
	// the broker's confirm included, and each database round trip of a
	// batch; shorter, they time out under ordinary load (a 1µs one fails
	// every send), and the rows are retried for ever.
	MinSendTimeout = 100 * time.Millisecond
	// MaxSendTimeout is the largest send-timeout (198h50m27.882s): the
	// claim's idle_in_transaction_session_timeout, 3 x send-timeout in
	// milliseconds, must fit PostgreSQL's limit of 2^31-1 ms (about 24.8
	// days), or every claim fails.
	MaxSendTimeout = (1<<31 - 1) / 3 * time.Millisecond
	// Section is the configuration section [FromConfig] decodes.
	Section = "outbox"
)

// Config configures an [Outbox] and its relay. It is the "outbox" section
// of application.yaml ([FromConfig]); the zero value of a field means its
// default.
type Config struct {
	// Table is the outbox table, "name" or "schema.name" (lower-case
	// letters, digits and _, starting with a letter or _; the name at most
	// 50 characters, as the index and trigger are named after it; SQL
	// keywords are fine: names are quoted). Default
	// "outbox" (in the connection's search_path). [Migrate] creates it.
	Table string
	// DSN is the PostgreSQL connection string of the relay (URL or
	// key=value form, as pgx parses it), e.g.
	// ${OUTBOX_DSN:postgres://app@127.0.0.1:5432/app}. Required when the
	// relay runs and [Options.Pool] is not given. It is a secret: it
	// appears in no log, error or endpoint. Unless it sets connect_timeout
	// above 0, a connection attempt gives up after SendTimeout, at least
	// 10s.
	DSN string `mapstructure:"dsn"`
	// PollInterval is how long an idle relay waits before it looks for new
	// rows without having been notified (LISTEN/NOTIFY wakes it at once
	// when a transaction with outbox rows commits; polling is the fallback
	// for lost notifications and a listener that is reconnecting). It is
	// also the back-off after a database error. Default 1s; at least 10ms.
	PollInterval time.Duration
	// BatchSize is how many rows the relay claims in one transaction.
	// Default 100; 1 to 10000. A relay killed mid-batch sends at most this
	// many messages again.
	BatchSize int
	// Concurrency is how many keys of a batch the relay sends at once
	// (the messages of one key are sent one after the other, each after
	// the previous one was confirmed). Default 100 (every key of a default
	// batch at once: a broker that persists messages, such as RabbitMQ,
	// confirms many in flight for about the cost of few); 1 to 1024.
	Concurrency int
	// SendTimeout bounds one send, confirm included. A send that times out
	// counts as failed: the row stays and is sent again later. Default 30s;
	// at least [MinSendTimeout] (100ms).
	// It also bounds each database round trip of a batch (a database that
	// does not answer fails the batch: readiness down), and a batch: no send starts later than SendTimeout after
	// the claim, and the claim's transaction gets
	// idle_in_transaction_session_timeout = 3 x SendTimeout (at least 1s),
	// so that a frozen relay's locks are released (see [Relay]); hence at
	// most [MaxSendTimeout].
	SendTimeout time.Duration
	// Relay runs the relay in this instance (default true). Instances that
	// only write to the outbox may set it to false.
	Relay *bool
}

// String describes c without its DSN.
func (c Config) String() string {
	c = c.withDefaults()
	dsn := "unset"
	if c.DSN != "" {
		dsn = "set"
	}
	return fmt.Sprintf("outbox{table=%s dsn=%s poll-interval=%s batch-size=%d concurrency=%d send-timeout=%s relay=%t}",
		c.Table, dsn, c.PollInterval, c.BatchSize, c.Concurrency, c.SendTimeout, c.RelayEnabled())
}

// LogValue describes c without its DSN (String) for slog: without it a
// JSON handler wrote the struct's fields, the DSN's password included.
func (c Config) LogValue() slog.Value { return slog.StringValue(c.String()) }

// GoString describes c without its DSN for %#v (String).
func (c Config) GoString() string { return c.String() }

// RelayEnabled reports whether the relay runs (Relay unset or true).
func (c Config) RelayEnabled() bool { return c.Relay == nil || *c.Relay }

func (c Config) withDefaults() Config {
	if c.Table == "" {
		c.Table = DefaultTable
	}
	if c.PollInterval == 0 {
		c.PollInterval = DefaultPollInterval
	}
	if c.BatchSize == 0 {
		c.BatchSize = DefaultBatchSize
	}
	if c.Concurrency == 0 {
		c.Concurrency = DefaultConcurrency
	}
	if c.SendTimeout == 0 {
		c.SendTimeout = DefaultSendTimeout
	}
	return c
}

// Validate reports every problem of c (defaults applied), naming the keys
// under the "outbox" section.
func (c Config) Validate() error {
	var errs []error
	for _, p := range c.problems() {
		errs = append(errs, fmt.Errorf("%s.%s: %s", Section, p.key, p.msg))
	}
	return errors.Join(errs...)
}

// problem is one problem of a Config: its key under the section, and what
// is wrong.
type problem struct{ key, msg string }

// problems are the problems of c (defaults applied), for Validate and
// FromConfig.
func (c Config) problems() []problem {
	c = c.withDefaults()
	var errs []problem
	bad := func(key, format string, args ...any) {
		errs = append(errs, problem{key, fmt.Sprintf(format, args...)})
	}
	if _, err := parseTable(c.Table); err != nil {
		bad("table", "%v", err)
	}
	if c.PollInterval < 10*time.Millisecond {
		bad("poll-interval", "is %s; want at least 10ms", c.PollInterval)
	}
	if c.BatchSize < 1 || c.BatchSize > 10000 {
		bad("batch-size", "is %d; want 1 to 10000", c.BatchSize)
	}
	if c.Concurrency < 1 || c.Concurrency > 1024 {
		bad("concurrency", "is %d; want 1 to 1024", c.Concurrency)
	}
	switch {
	case c.SendTimeout < 0:
		bad("send-timeout", "is %s; want a positive duration, at least %s", c.SendTimeout, MinSendTimeout)
	case c.SendTimeout < MinSendTimeout:
		// Every send would time out, and its row be retried for ever.
		bad("send-timeout", "is %s; want at least %s (it bounds each send, the broker's confirm included, and each database round trip of a batch: shorter, they time out, and the rows are retried for ever; a bare number is milliseconds)", c.SendTimeout, MinSendTimeout)
	case c.SendTimeout > MaxSendTimeout:
		// PostgreSQL refuses the claim's idle_in_transaction_session_timeout
		// above 2^31-1 ms: every batch would fail.
		bad("send-timeout", "is %s; want at most %s (the claim sets idle_in_transaction_session_timeout to 3 x send-timeout, and PostgreSQL takes at most 2147483647ms)", c.SendTimeout, MaxSendTimeout)
	}
	return errs
}

// FromConfig decodes the "outbox" section of a loaded configuration, with
// the strictness of the stream section (unknown keys and bad values are
// errors naming file:line), over the defaults, and validates it; its error
// is a [stream.ConfigErrors] listing every problem, each with the key and
// where the files set it. An absent section gives the defaults.
//
// As for the stream section, an explicit 0 for a key whose default is not
// 0 is an error: decoded over the defaults, such a key is 0 only when set
// to 0, which would otherwise read as "not set".
func FromConfig(l *config.Loaded) (Config, error) {
	c := Config{}.withDefaults()
	if err := l.Decode(Section, &c); err != nil {
		return Config{}, err
	}
	var errs stream.ConfigErrors
	add := func(key, msg string) {
		errs = append(errs, l.Problem(Section+"."+key, msg)) // file:line, secrets hidden
	}
	zero := func(key string, def any) {
		add(key, fmt.Sprintf("is 0, which reads as \"not set\": omit the key for the default (%v), or give a value", def))
	}
	if c.PollInterval == 0 {
		zero("poll-interval", DefaultPollInterval)
	}
	if c.BatchSize == 0 {
		zero("batch-size", DefaultBatchSize)
	}
	if c.Concurrency == 0 {
		zero("concurrency", DefaultConcurrency)
	}
	if c.SendTimeout == 0 {
		zero("send-timeout", DefaultSendTimeout)
	}
	// problems applies the defaults: a key set to 0 is not reported twice.
	for _, p := range c.problems() {
		add(p.key, p.msg)
	}
	if err := errs.Err(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// table is a parsed, validated table name.
type table struct{ pgtable.Table }

func parseTable(s string) (table, error) {
	t, err := pgtable.Parse(s)
	return table{t}, err
}

// qualified is the table's name for messages and logs (unquoted); SQL
// takes quoted().
func (t table) qualified() string { return t.Qualified() }

// quoted is the table's name as SQL takes it: quoted, so that a name that
// is a keyword (user, order) works.
func (t table) quoted() string { return t.Quoted() }

// quotedIdent is the quoted (qualified) name of an object of the table's
// schema.
func (t table) quotedIdent(name string) string { return t.QuotedIdent(name) }

// channel is the LISTEN/NOTIFY channel of the table.
// (the qualified table name, or a hash of it when that would be longer
// than PostgreSQL's 63-byte identifiers).
func (t table) channel() string {
	c := "outbox_" + t.qualified()
	if len(c) > 63 {
		sum := sha256.Sum256([]byte(t.qualified()))
		c = "outbox_" + hex.EncodeToString(sum[:16])
	}
	return c
}

// redacted returns the text of err with secrets (a DSN's password) masked.
func redacted(err error) string { return redact.String(err.Error()) }
