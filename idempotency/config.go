package idempotency

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/streambind/streambind/internal/pgtable"

	"github.com/streambind/streambind/config"
	"github.com/streambind/streambind/redact"
	"github.com/streambind/streambind/stream"
)

// Section is the configuration section [FromConfig] decodes.
const Section = "idempotency"

// Defaults of [Config].
const (
	DefaultTable         = "idempotency_marks"
	DefaultPurgeInterval = time.Minute
	DefaultKeyPrefix     = "streambind:idempotency:"
	DefaultLease         = 30 * time.Second
)

// Config holds the connections of the stores; which binding uses which
// store, its key and its retention are the binding's
// (stream.bindings.<name>.consumer.idempotency, [stream.IdempotencyConfig]).
// It is the "idempotency" section of application.yaml ([FromConfig]); a
// zero field means its default. Only the stores some binding uses are
// opened.
type Config struct {
	Postgres PostgresConfig `mapstructure:"postgres"`
	Redis    RedisConfig    `mapstructure:"redis"`
}

// PostgresConfig is idempotency.postgres.
type PostgresConfig struct {
	// DSN is the PostgreSQL connection string (URL or key=value form, as
	// pgx parses it). Required when a binding uses the postgres store and
	// [Options.Pool] is not given. It is a secret: it appears in no log,
	// error or endpoint. The handler's transaction is on this database, so
	// its own tables must be there too.
	DSN string `mapstructure:"dsn"`
	// Table holds the marks, "name" or "schema.name" (lower-case letters,
	// digits and _, starting with a letter or _; the name at most 50
	// characters). Default "idempotency_marks" (in the connection's
	// search_path). [Migrate] creates it.
	Table string `mapstructure:"table"`
	// PurgeInterval is how often expired marks are deleted (every
	// instance purges; the deletes are idempotent). A mark is kept at
	// least the binding's retention and at most retention +
	// purge-interval (+ the purge's own time). Default 1m; at least 1s.
	PurgeInterval time.Duration `mapstructure:"purge-interval"`
}

// RedisConfig is idempotency.redis.
type RedisConfig struct {
	// URL is the Redis server, redis://[user:password@]host:port[/db] or
	// rediss:// for TLS (go-redis ParseURL). Required when a binding uses
	// the redis store and [Options.Redis] is not given. A secret: never
	// logged.
	URL string `mapstructure:"url"`
	// KeyPrefix starts every key of the store: <key-prefix><binding>:<key>
	// (<key> hashed when long or binary, see [MaxPlainKey]).
	// Default "streambind:idempotency:".
	KeyPrefix string `mapstructure:"key-prefix"`
	// Lease is how long a delivery holds its key while its handler runs
	// (renewed every lease/3 while it runs), so that a duplicate delivered
	// meanwhile waits rather than running too. A holder that died leaves
	// the key to the next delivery once the lease ran out. Default 30s; at
	// least 100ms.
	Lease time.Duration `mapstructure:"lease"`
}

func (c Config) withDefaults() Config {
	if c.Postgres.Table == "" {
		c.Postgres.Table = DefaultTable
	}
	if c.Postgres.PurgeInterval == 0 {
		c.Postgres.PurgeInterval = DefaultPurgeInterval
	}
	if c.Redis.KeyPrefix == "" {
		c.Redis.KeyPrefix = DefaultKeyPrefix
	}
	if c.Redis.Lease == 0 {
		c.Redis.Lease = DefaultLease
	}
	return c
}

// String describes c without its secrets.
func (c Config) String() string {
	c = c.withDefaults()
	set := func(s string) string {
		if s == "" {
			return "unset"
		}
		return "set"
	}
	return fmt.Sprintf("idempotency{postgres{dsn=%s table=%s purge-interval=%s} redis{url=%s key-prefix=%q lease=%s}}",
		set(c.Postgres.DSN), c.Postgres.Table, c.Postgres.PurgeInterval, set(c.Redis.URL), c.Redis.KeyPrefix, c.Redis.Lease)
}

// LogValue describes c without its secrets (String) for slog: without it
// a JSON handler wrote the struct's fields, the DSN's and URL's passwords
// included.
func (c Config) LogValue() slog.Value { return slog.StringValue(c.String()) }

// GoString describes c without its secrets for %#v (String).
func (c Config) GoString() string { return c.String() }

// Validate reports every problem of c (defaults applied), naming the keys
// under the "idempotency" section.
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
	if _, err := parseTable(c.Postgres.Table); err != nil {
		bad("postgres.table", "%v", err)
	}
	if c.Postgres.PurgeInterval < time.Second {
		bad("postgres.purge-interval", "is %s; want at least 1s", c.Postgres.PurgeInterval)
	}
	if c.Redis.Lease < 100*time.Millisecond {
		bad("redis.lease", "is %s; want at least 100ms", c.Redis.Lease)
	}
	return errs
}

// FromConfig decodes the "idempotency" section of a loaded configuration,
// with the strictness of the stream section (unknown keys and bad values
// are errors naming file:line), over the defaults, and validates it; its
// error is a [stream.ConfigErrors] listing every problem, each with the
// key and where it was set. An absent section gives the defaults.
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
	zero := func(key string, def any) {
		errs = append(errs, l.Problem(Section+"."+key, fmt.Sprintf("is 0, which reads as \"not set\": omit the key for the default (%v), or give a value", def)))
	}
	if c.Postgres.PurgeInterval == 0 {
		zero("postgres.purge-interval", DefaultPurgeInterval)
	}
	if c.Redis.Lease == 0 {
		zero("redis.lease", DefaultLease)
	}
	// problems applies the defaults: a key set to 0 is not reported twice.
	for _, p := range c.problems() {
		errs = append(errs, l.Problem(Section+"."+p.key, p.msg)) // file:line, secrets hidden
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

// qualified is the table's name as SQL takes it; the parts are validated
// identifiers, so no quoting is needed.
func (t table) qualified() string { return t.Qualified() }

// redacted returns the text of err with secrets (a DSN's password) masked.
func redacted(err error) string { return redact.String(err.Error()) }
