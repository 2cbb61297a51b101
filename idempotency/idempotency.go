// Package idempotency is the idempotent consumer of streambind: a binding
// with stream.bindings.<name>.consumer.idempotency set skips — acknowledges
// without calling its function — a message whose key (by default its id
// header) it already processed within the retention period.
//
// Three stores keep the processed marks, with different guarantees
// (docs/idempotency.md states them exactly):
//
//   - postgres: each attempt runs in a transaction that first inserts the
//     mark (INSERT ... ON CONFLICT DO NOTHING) and hands the transaction
//     to the handler ([Tx]; [SQLTx] when the store runs on database/sql,
//     [Options.DB]). Writes the handler makes through it commit
//     together with the mark: database effects happen once, whatever the
//     redeliveries and however many instances receive the same message at
//     once (the second blocks on the mark's row until the first ends).
//   - redis: a short lease on the key while the handler runs (so that a
//     concurrent duplicate waits), then the mark with the retention as TTL
//     once the handler succeeded. A crash between the handler's success
//     and the mark runs the handler again on redelivery.
//   - memory: as redis, in this process only; for tests.
//
// Wire it after [stream.NewApp] and before [stream.App.Run]:
//
//	loaded, _ := config.Load(config.Options{})
//	app, _ := stream.NewApp(loaded.Stream, fns, opts...)
//	cfg, _ := idempotency.FromConfig(loaded)
//	idem, err := idempotency.New(app, cfg, idempotency.Options{})
//	registry.MustRegister(idem) // your prometheus.Registerer: streambind_idempotency_* metrics
//
// and create the postgres table once, e.g. at deployment, with [Migrate].
//
// The stores' connections are the "idempotency" section of
// application.yaml ([FromConfig], [Config]); which binding uses which store
// is stream.bindings.<name>.consumer.idempotency:
//
//	idempotency:
//	  postgres:
//	    dsn: postgres://app@127.0.0.1:5432/app   # required by the postgres store unless Options.Pool or DB is given; default none
//	    table: idempotency_marks   # [schema.]name, the name at most 50 characters; default idempotency_marks
//	    purge-interval: 1m         # how often expired marks are deleted; at least 1s; default 1m
//	  redis:
//	    url: redis://127.0.0.1:6379/0   # required by the redis store unless Options.Redis is given; default none
//	    key-prefix: "streambind:idempotency:"   # keys are <key-prefix><binding>:<key>; default streambind:idempotency:
//	    lease: 30s                 # a delivery's hold on its key while its handler runs; at least 100ms; default 30s
//
// A key is any byte string; the stores keep a long or binary one as its
// SHA-256 ([MaxPlainKey], [HashedKeyPrefix]). Under the default
// key-expression, a message without an id (a Java producer's: Spring never
// sends id) is keyed by its position in the broker
// ([stream.DeliveryIdentity]: Kafka topic, partition and offset; the
// JetStream sequence; the Redis entry ID); one without that either (a
// RabbitMQ message without message_id) is handled without deduplication,
// counted in streambind_idempotency_unkeyed_total and warned of.
//
// A store that cannot be used (unreachable, the connection lost during
// the handler or the commit, the table missing) leaves the message for
// redelivery rather than failing it: not an attempt, not dead-lettered;
// readiness reports the store down meanwhile; so does a marks table whose
// columns are not Migrate's. A mark the database refuses for its values
// (a character the encoding cannot hold, a constraint added to the table)
// fails the message for good instead. What the handler does to its own transaction counts against
// the message, as any handler error: a failed statement it ignored (the
// COMMIT answers ROLLBACK), a deadline of its own on a statement (pgx
// closes the connection then) while the server still answers a ping.
// docs/idempotency.md lists which errors count against which.
package idempotency

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	goredis "github.com/redis/go-redis/v9"

	"github.com/streambind/streambind/internal/pace"
	"github.com/streambind/streambind/stream"
)

// Options are the parts of a [Consumer] that are not configuration.
type Options struct {
	// Pool is the postgres store's pool. Nil: New opens one from
	// Config.Postgres.DSN (when a binding uses the store), closed when the
	// app stops, once its bindings have (a [stream.ComponentCloser]: the
	// handlers draining at shutdown still use it). A given pool is not
	// closed. Each message in flight holds one connection while its
	// handler runs.
	Pool *pgxpool.Pool
	// DB runs the postgres store on database/sql instead (any PostgreSQL
	// driver: pgx's stdlib, lib/pq): the handler finds the message's
	// transaction with [SQLTx] rather than [Tx]. It is not closed. Give
	// Pool or DB, not both.
	DB *sql.DB
	// Redis is the redis store's client. Nil: New opens one from
	// Config.Redis.URL (when a binding uses the store), closed when the
	// app stops, once its bindings have. A given client is not closed.
	Redis goredis.UniversalClient
	// Memory is the memory store. Nil: a new one, of this Consumer only.
	Memory *MemoryStore
	// Logger for skipped duplicates (debug) and store problems. Default:
	// slog.Default().
	Logger *slog.Logger
	// StoreTimeout bounds each of the postgres store's own round trips to
	// the database — the transaction's begin (with a connection from the
	// pool), the mark's insert, the commit, a purge's delete — so that a
	// database that stops answering without closing the connection fails
	// the message (left for redelivery, readiness down) rather than hold
	// it for as long as the socket lives. The handler's own statements
	// are its own to bound. Zero: [DefaultStoreTimeout] (30s); negative is
	// an error.
	StoreTimeout time.Duration
}

// Consumer is the idempotent consumer of an app's bindings. It is a
// prometheus.Collector of the streambind_idempotency_* metrics.
type Consumer struct {
	log      *slog.Logger
	bindings []string
	stats    map[string]*bindingStats // by binding name, fixed after New
	stores   map[string]string        // binding -> store
}

type bindingStats struct {
	skipped, processed, markFailures, unkeyed atomic.Int64
	// unkeyedWarn paces the warning about messages without a key.
	unkeyedWarn pace.Gate // one a minute (Min = Max)
}

// New installs the idempotent consumer on every input binding of app that
// sets consumer.idempotency ([stream.App.UseIdempotency]), opening only the
// stores they use, and joins the postgres purge (and the closing of what
// New opened) to the app's lifecycle. It must be called before app runs;
// an app whose bindings set consumer.idempotency fails to start without
// it; New fails once the app runs (or ran). New does no network I/O and
// does not create the table: see [Migrate].
func New(app *stream.App, cfg Config, opts Options) (*Consumer, error) {
	if app == nil {
		return nil, errors.New("idempotency: New: app is nil")
	}
	// Checked here, not only by UseIdempotency: an app none of whose
	// bindings sets consumer.idempotency never reaches it, and New
	// returned a consumer that installed nothing, without an error.
	if st := app.State(); st != "new" {
		return nil, fmt.Errorf("idempotency: New: the app already runs (state %s): call New after stream.NewApp and before Run (in a test: streamtest.StartWith's setup)", st)
	}
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if opts.StoreTimeout < 0 {
		return nil, fmt.Errorf("idempotency: Options.StoreTimeout is %s; want a positive duration, or 0 for the default (%s)", opts.StoreTimeout, DefaultStoreTimeout)
	}
	if opts.StoreTimeout == 0 {
		opts.StoreTimeout = DefaultStoreTimeout
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	c := &Consumer{log: log, stats: map[string]*bindingStats{}, stores: map[string]string{}}
	var (
		pg       *pgStore
		rs       *redisStore
		rsState  *storeState
		mem      = opts.Memory
		memState *storeState
		comps    []stream.Component
	)
	fail := func(err error) (*Consumer, error) {
		if pg != nil && pg.own {
			pg.db.close()
		}
		if rs != nil && rs.own {
			_ = rs.c.Close()
		}
		return nil, err
	}
	binders := app.Binders()
	for _, b := range app.Bindings() {
		ic := b.Config().Consumer.Idempotency
		if !b.IsInput() || !ic.Enabled() {
			continue
		}
		path := "stream.bindings." + b.Name() + ".consumer.idempotency"
		ic = ic.WithDefaults()
		key, err := stream.CompileIdempotencyKeyOn(ic, b.BinderType(), binders[b.Binder()])
		if err != nil {
			return fail(fmt.Errorf("%s.key-expression: %w", path, err))
		}
		if b.Config().Consumer.HeaderMode == stream.HeaderModeNone && key.ReadsHeaders() {
			// The core drops the headers before any attempt: the key
			// would be null for every message. The default key then
			// falls back to the delivery's identity (its position: Kafka
			// topic/partition/offset, JetStream sequence, Redis entry
			// ID) on a binder that gives one; elsewhere there is none.
			identified := stream.HasDeliveryIdentity(binders[b.Binder()])
			switch {
			case key.IsDefault() && identified && len(b.Config().Consumer.RetryDelays) > 0:
				// A retry copy is a new record at a new position, and the
				// header that ties it to its original is dropped with the
				// others: a redelivered original whose copy succeeded
				// would run again.
				return fail(fmt.Errorf("%s.key-expression: the default (%q) keys a message by its position under consumer.header-mode none, but with consumer.retry-delays a retry copy is a new message at a new position, with nothing left to tie it to its original (its headers are dropped too): an original redelivered after its copy succeeded would be handled again; set key-expression to a key of the payload (payload.orderId), or drop header-mode none", path, ic.KeyExpression))
			case key.IsDefault() && identified:
			case key.IsDefault():
				return fail(fmt.Errorf("%s.key-expression: the default (%q) reads headers, but consumer.header-mode is none (the headers are dropped before the key is computed), and the %s binder gives a delivery no identity to key it by instead (the Kafka, NATS and Redis binders key it by its position): set key-expression to a key of the payload (payload.orderId)", path, ic.KeyExpression, binderName(b.BinderType())))
			default:
				return fail(fmt.Errorf("%s.key-expression: %q reads headers, but consumer.header-mode is none (the headers are dropped before the key is computed): key on the payload", path, ic.KeyExpression))
			}
		}
		var mw func(stream.Handler) stream.Handler
		name := b.Name()
		switch ic.Store {
		case stream.IdempotencyStorePostgres:
			if pg == nil {
				if opts.Pool != nil && opts.DB != nil {
					return fail(errors.New("idempotency: Options.Pool and Options.DB are both set: give one (DB for handlers on database/sql, Pool for pgx)"))
				}
				var db pgDB
				pool, own := opts.Pool, false
				switch {
				case opts.DB != nil:
					db = sqlDB{opts.DB}
				case pool != nil:
					db = pgxDB{pool}
				default:
					if cfg.Postgres.DSN == "" {
						return fail(fmt.Errorf("%s.postgres.dsn: is required: binding %s uses the postgres store (or give Options.Pool or Options.DB)", Section, name))
					}
					pc, err := pgxpool.ParseConfig(cfg.Postgres.DSN)
					if err != nil {
						// pgx's parse errors quote the DSN: never pass them on.
						return fail(fmt.Errorf("%s.postgres.dsn: cannot be parsed as a PostgreSQL connection string (URL or key=value)", Section))
					}
					if pool, err = pgxpool.NewWithConfig(context.Background(), pc); err != nil {
						return fail(fmt.Errorf("%s.postgres.dsn: %s", Section, redacted(err)))
					}
					db, own = pgxDB{pool}, true
				}
				t, _ := parseTable(cfg.Postgres.Table) // validated
				pg = newPGStore(db, own, t, opts.StoreTimeout, log)
				comps = append(comps, &purger{s: pg, interval: cfg.Postgres.PurgeInterval, log: log.With("component", "idempotency", "table", t.qualified())})
			}
			mw = func(next stream.Handler) stream.Handler { return pg.wrap(c, name, key, ic.Retention, next) }
		case stream.IdempotencyStoreRedis:
			if rs == nil {
				cl, own := opts.Redis, false
				if cl == nil {
					if cfg.Redis.URL == "" {
						return fail(fmt.Errorf("%s.redis.url: is required: binding %s uses the redis store (or give Options.Redis)", Section, name))
					}
					o, err := goredis.ParseURL(cfg.Redis.URL)
					if err != nil {
						return fail(fmt.Errorf("%s.redis.url: cannot be parsed as a Redis URL (redis://[user:password@]host:port[/db])", Section))
					}
					cl, own = goredis.NewClient(o), true
				}
				rs = &redisStore{c: cl, own: own}
				rsState = newStoreState("redis", log)
				// Readiness (a PING) and the closing of an own client.
				comps = append(comps, redisComponent{s: rs, state: rsState})
			}
			mw = func(next stream.Handler) stream.Handler {
				return leaseWrap(c, rs, rsState, name, cfg.Redis.KeyPrefix, key, ic.Retention, cfg.Redis.Lease, next)
			}
		case stream.IdempotencyStoreMemory:
			if mem == nil {
				mem = NewMemoryStore()
			}
			if memState == nil {
				memState = newStoreState("memory", log)
			}
			mw = func(next stream.Handler) stream.Handler {
				return leaseWrap(c, mem, memState, name, "", key, ic.Retention, cfg.Redis.Lease, next)
			}
		default:
			return fail(fmt.Errorf("%s.store: unknown store %q", path, ic.Store))
		}
		if err := app.UseIdempotency(name, mw); err != nil {
			return fail(fmt.Errorf("idempotency: %w", err))
		}
		c.bindings = append(c.bindings, name)
		c.stats[name] = &bindingStats{unkeyedWarn: pace.Gate{Min: time.Minute, Max: time.Minute}}
		c.stores[name] = ic.Store
		log.Debug("idempotent consumer installed", "binding", name, "store", ic.Store, "key-expression", key.String(), "retention", ic.Retention)
	}
	sort.Strings(c.bindings)
	for _, comp := range comps {
		if err := app.AddComponent(comp); err != nil {
			return fail(fmt.Errorf("idempotency: %w", err))
		}
	}
	return c, nil
}

// Bindings lists the bindings the consumer was installed on, sorted.
func (c *Consumer) Bindings() []string { return append([]string(nil), c.bindings...) }

// Stats are the counts of one binding since New.
type Stats struct {
	// Skipped counts duplicates acknowledged without running the handler.
	Skipped int64
	// Processed counts messages whose handler succeeded and whose mark
	// was stored.
	Processed int64
	// MarkFailures counts handler successes whose mark could not be
	// stored (redis and memory stores only).
	MarkFailures int64
	// Unkeyed counts messages handled without deduplication: the default
	// key found neither x-streambind-replayed-id nor id, and the binder
	// gave the delivery no identity ([stream.ErrNoIdempotencyKey]; a
	// RabbitMQ message without message_id).
	Unkeyed int64
}

// Stats returns binding's counts (zero for an unknown binding).
func (c *Consumer) Stats(binding string) Stats {
	s := c.stat(binding)
	if s == nil {
		return Stats{}
	}
	return Stats{Skipped: s.skipped.Load(), Processed: s.processed.Load(), MarkFailures: s.markFailures.Load(), Unkeyed: s.unkeyed.Load()}
}

func (c *Consumer) stat(binding string) *bindingStats {
	if s, ok := c.stats[binding]; ok {
		return s
	}
	for k, s := range c.stats {
		if strings.EqualFold(k, binding) {
			return s
		}
	}
	return nil
}

func (c *Consumer) duplicate(ctx context.Context, binding, key string) {
	c.stats[binding].skipped.Add(1)
	c.log.DebugContext(ctx, "idempotency: duplicate skipped", "binding", binding, "idempotency_key", key)
}

// unkeyed counts a message handled without deduplication (err wraps
// stream.ErrNoIdempotencyKey and says why and what to do) and warns of
// it: at once, then at most once a minute for the binding, with the
// count held back meanwhile.
func (c *Consumer) unkeyed(ctx context.Context, binding string, err error) {
	s := c.stats[binding]
	s.unkeyed.Add(1)
	if ok, held := s.unkeyedWarn.Allow(time.Now()); ok {
		c.log.WarnContext(ctx, "idempotency: message handled without deduplication: "+err.Error(),
			"binding", binding, "unkeyed_total", s.unkeyed.Load(), "warnings_held_back", held)
	}
}

func (c *Consumer) processed(binding string)  { c.stats[binding].processed.Add(1) }
func (c *Consumer) markFailed(binding string) { c.stats[binding].markFailures.Add(1) }

// Metric descriptions; every metric has the labels binding and store.
var (
	descSkipped = prometheus.NewDesc("streambind_idempotency_duplicates_skipped_total",
		"Messages acknowledged without running the handler: their key was already processed.", []string{"binding", "store"}, nil)
	descProcessed = prometheus.NewDesc("streambind_idempotency_processed_total",
		"Messages whose handler succeeded and whose processed mark was stored.", []string{"binding", "store"}, nil)
	descMarkFailures = prometheus.NewDesc("streambind_idempotency_mark_failures_total",
		"Handler successes whose mark could not be stored (redis, memory): a later duplicate may run again.", []string{"binding", "store"}, nil)
	descUnkeyed = prometheus.NewDesc("streambind_idempotency_unkeyed_total",
		"Messages handled without deduplication: the default key found no x-streambind-replayed-id or id header and the binder no delivery identity (RabbitMQ without message_id).", []string{"binding", "store"}, nil)
)

// Describe implements prometheus.Collector.
func (c *Consumer) Describe(ch chan<- *prometheus.Desc) {
	ch <- descSkipped
	ch <- descProcessed
	ch <- descMarkFailures
	ch <- descUnkeyed
}

// Collect implements prometheus.Collector.
func (c *Consumer) Collect(ch chan<- prometheus.Metric) {
	for _, b := range c.bindings {
		s, st := c.stats[b], c.stores[b]
		ch <- prometheus.MustNewConstMetric(descSkipped, prometheus.CounterValue, float64(s.skipped.Load()), b, st)
		ch <- prometheus.MustNewConstMetric(descProcessed, prometheus.CounterValue, float64(s.processed.Load()), b, st)
		ch <- prometheus.MustNewConstMetric(descMarkFailures, prometheus.CounterValue, float64(s.markFailures.Load()), b, st)
		ch <- prometheus.MustNewConstMetric(descUnkeyed, prometheus.CounterValue, float64(s.unkeyed.Load()), b, st)
	}
}

// binderName names a binder type in an error ("" is a binder type not
// known to the binding).
func binderName(binderType string) string {
	if binderType == "" {
		return "binding's"
	}
	return binderType
}
