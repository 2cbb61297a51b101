package redis

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"

	"github.com/streambind/streambind/binder/internal/binding"
	"github.com/streambind/streambind/binder/internal/conf"
	"github.com/streambind/streambind/binder/internal/lifecycle"
	"github.com/streambind/streambind/binder/internal/secrets"
	"github.com/streambind/streambind/stream"
)

// Binder is the Redis Streams binder: a [stream.Binder] on a Redis server
// (5.0 or later; 6.2 or later for everything, see the package doc), built
// on github.com/redis/go-redis/v9. Create it with [New].
type Binder struct {
	name string
	st   settings
	log  *slog.Logger

	mu       sync.Mutex
	bindings binding.Registry[*consumer, *producer] // guarded by mu
	// closedCons are the consumers the first Close stopped: a later Close
	// waits for their last runs, as a repeated Stop does.
	closedCons []*consumer               // guarded by mu
	client     *goredis.Client           // made by the first bind
	streams    map[string]*trackedStream // keys the trimmer looks after

	bg       context.Context // the health probe's and the trimmer's
	bgCancel context.CancelFunc
	bgWG     sync.WaitGroup
	bgOnce   sync.Once

	// health is the last probe's outcome: nil, or why the server does not
	// answer.
	health atomic.Pointer[error]
	// conns are the open connections of the client and of the consumers'
	// readers (see connSet).
	conns *connSet
	// dlqBytes is the byte budget of the dead-letter cursors' pages and
	// batches: dlbudget.Bytes when 0 (tests set less).
	dlqBytes int
}

var (
	_ stream.Binder        = (*Binder)(nil)
	_ stream.SpecValidator = (*Binder)(nil)
	_ stream.HealthChecker = (*Binder)(nil)
	_ stream.BinderFactory = New
)

// New is the [stream.BinderFactory] of binder type "redis". It decodes the
// settings strictly (see the package doc) and does no network I/O: the
// first binding connects.
func New(_ context.Context, s stream.BinderSettings) (stream.Binder, error) {
	st, err := parseSettings(s)
	if err != nil {
		return nil, err
	}
	log := s.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	for _, ig := range st.ignored {
		log.Warn("redis: setting ignored: another one overrides it", "ignored", ig[0], "used", ig[1])
	}
	bg, cancel := context.WithCancel(context.Background())
	return &Binder{
		name:     s.Name,
		st:       st,
		log:      log,
		streams:  make(map[string]*trackedStream),
		bg:       bg,
		bgCancel: cancel,
		conns:    newConnSet(st.healthTimeout),
	}, nil
}

// wrap adds context to err and removes the binder's secrets from its text.
func (bd *Binder) wrap(err error, format string, args ...any) error {
	return secrets.Wrapf(bd.st.secrets, err, format, args...)
}

// logErr is err's text with secrets removed, for log lines, cut to
// logtext.Max bytes (a handler's error can carry a whole payload).
func (bd *Binder) logErr(err error) string {
	return secrets.LogText(err, bd.st.secrets)
}

func (bd *Binder) checkOpen() error {
	bd.mu.Lock()
	defer bd.mu.Unlock()
	return bd.bindings.CheckOpen()
}

// key returns the stream key of destination dest (partition p, or -1).
func (bd *Binder) key(dest string, p int) string { return StreamKey(bd.st.keyPrefix, dest, p) }

// StreamKey is the key of the stream of destination dest (unpartitioned)
// on this binder: key-prefix + dest, what redis-cli names it by.
func (bd *Binder) StreamKey(dest string) string { return bd.key(dest, -1) }

// options returns the go-redis options of the binder's connections:
// go-redis retries nothing by itself (the binder retries what is safe to
// retry, with back-off), dials once per attempt, and bounds every command
// by its context's deadline.
func (bd *Binder) options(poolSize int) *goredis.Options {
	st := bd.st
	o := &goredis.Options{
		Addr:                     st.addr,
		Username:                 st.username,
		Password:                 st.password,
		DB:                       st.db,
		ClientName:               st.clientName,
		DialTimeout:              st.dialTimeout,
		ReadTimeout:              st.commandTimeout,
		WriteTimeout:             st.commandTimeout,
		ContextTimeoutEnabled:    true,
		MaxRetries:               -1,
		DialerRetries:            1,
		PoolSize:                 poolSize,
		PoolTimeout:              st.commandTimeout,
		DisableIdentity:          true,
		MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled},
	}
	if st.tls != nil {
		o.TLSConfig = st.tls.Clone()
	}
	o.Dialer = bd.conns.dialer(goredis.NewDialer(o), false)
	return o
}

// connect returns the binder's client, made on first use, after a PING
// (bounded by dial-timeout and ctx) proved the server answers. An
// unreachable server is an error wrapped with [stream.Unavailable]; a
// refused login, an ACL refusal or a TLS failure is not (retrying does not
// help).
func (bd *Binder) connect(ctx context.Context) (*goredis.Client, error) {
	bd.mu.Lock()
	if bd.bindings.Closed() {
		bd.mu.Unlock()
		return nil, fmt.Errorf("binder %w", stream.ErrClosed)
	}
	if bd.client == nil {
		bd.client = goredis.NewClient(bd.options(bd.st.poolSize))
	}
	c := bd.client
	bd.mu.Unlock()
	// go-redis ends a command at its context's deadline only, not when the
	// context is canceled: ctx ending without a deadline (a caller giving
	// up, streambind dlq's --connect-timeout) would leave the PING to a
	// server that accepts the connection and never answers waiting out
	// dial-timeout. The PING itself still ends by then.
	pctx, cancel := context.WithTimeout(ctx, bd.st.dialTimeout)
	pinged := make(chan error, 1)
	go func() {
		defer cancel()
		pinged <- c.Ping(pctx).Err()
	}()
	var err error
	select {
	case err = <-pinged:
	case <-ctx.Done():
		err = ctx.Err()
	}
	if err != nil {
		if tlsMismatchLike(err, bd.st.tls != nil) && ctx.Err() == nil {
			if cause := bd.diagnoseTLS(ctx); cause != nil {
				err = bd.wrap(err, "redis: %s: %v", bd.st.addr, cause)
				bd.setHealth(err)
				bd.log.Debug("redis: connection attempt of a bind failed", "error", err)
				return nil, err
			}
		}
		err = bd.classify(err, "redis: %s", bd.st.addr)
		bd.setHealth(err)
		// Every failed attempt, as the rabbit binder logs its own: a
		// caller that retries (an app's start, streambind's
		// --connect-timeout) says once that it does, and --verbose
		// shows each attempt.
		bd.log.Debug("redis: connection attempt of a bind failed", "error", err)
		return nil, err
	}
	bd.setHealth(nil)
	bd.bgOnce.Do(func() {
		bd.mu.Lock()
		defer bd.mu.Unlock()
		if bd.bindings.Closed() {
			return
		}
		bd.bgWG.Add(2)
		go bd.probe(c)
		go bd.trimmer(c)
		bd.log.Info("redis: connected", "address", bd.st.addr, "tls", bd.st.tls != nil, "client-name", bd.st.clientName)
	})
	return c, nil
}

// classify wraps a failed command of a bind: a refused login, an ACL
// refusal and TLS problems as they are (with a hint), an unreachable
// server with [stream.Unavailable], anything else as it is.
func (bd *Binder) classify(err error, format string, args ...any) error {
	switch {
	case isAuthError(err):
		return bd.wrap(err, format+": authentication failed (check username and password)", args...)
	case isPermission(err):
		return bd.wrap(err, format+": permission denied (see the package doc for the ACL rules the binder needs)", args...)
	case isTLSError(err):
		return bd.wrap(err, format+": TLS", args...)
	case isUnreachable(err):
		return stream.Unavailable(bd.wrap(err, format+": cannot reach the server", args...))
	}
	return bd.wrap(err, format, args...)
}

func (bd *Binder) setHealth(err error) {
	if err == nil {
		bd.health.Store(nil)
		return
	}
	bd.health.Store(&err)
}

// probe PINGs the server every health-interval, each bounded by
// health-timeout, and records the outcome for Health.
func (bd *Binder) probe(c *goredis.Client) {
	defer bd.bgWG.Done()
	t := time.NewTicker(bd.st.healthInterval)
	defer t.Stop()
	down := false
	var alive time.Time // when the last PING answered went out
	for {
		select {
		case <-t.C:
		case <-bd.bg.Done():
			return
		}
		sent := time.Now()
		ctx, cancel := context.WithTimeout(bd.bg, bd.st.healthTimeout)
		err := c.Ping(ctx).Err()
		cancel()
		if bd.bg.Err() != nil {
			return
		}
		now := time.Now()
		if err == nil {
			alive = sent
		} else if isTimeout(err) {
			// Evidence of a dead path: a live connection would have
			// received something since the PING went out.
			bd.conns.evidence(now, sent)
		}
		if n := bd.conns.sweep(now, alive, blockFor+bd.st.healthTimeout, blockFor+bd.st.commandTimeout); n > 0 {
			bd.log.Debug("redis: closed readers' connections left without an answer", "connections", n)
		}
		if err != nil {
			if isTimeout(err) {
				err = bd.wrap(err, "redis: %s does not answer PING within health-timeout (%s)", bd.st.addr, bd.st.healthTimeout)
			} else {
				// Refused, reset, a TLS or login failure: the cause itself,
				// not a timeout that did not happen.
				err = bd.wrap(err, "redis: %s: PING failed", bd.st.addr)
			}
			if !down {
				bd.log.Warn("redis: server down", "error", bd.logErr(err))
			}
			down = true
			bd.setHealth(err)
			continue
		}
		if down {
			bd.log.Info("redis: server up again")
		}
		down = false
		bd.setHealth(nil)
	}
}

// Health reports the last health probe (a PING every health-interval,
// bounded by health-timeout): nil while the server answers, or before the
// first bind. It does no I/O. It implements [stream.HealthChecker].
func (bd *Binder) Health(context.Context) error {
	if err := bd.checkOpen(); err != nil {
		return fmt.Errorf("redis: %w", err)
	}
	if e := bd.health.Load(); e != nil {
		return *e
	}
	return nil
}

// ValidateProducer checks the Redis properties of a producer binding
// (stream.redis.bindings.<binding>.producer).
func (bd *Binder) ValidateProducer(spec stream.ProducerSpec) error {
	_, err := parseProducer(spec.Binding, spec.Extension)
	return err
}

// ValidateConsumer checks the Redis properties of a consumer binding
// (stream.redis.bindings.<binding>.consumer).
func (bd *Binder) ValidateConsumer(spec stream.ConsumerSpec) error {
	if _, err := parseConsumer(spec.Binding, spec.Extension); err != nil {
		return err
	}
	return conf.AnonymousDLQ(Type, spec)
}

// trackedStream is a stream the trimmer looks after: for the binder's
// life once a consumer reads it or it holds dead letters, else while a
// producer writes it. A producer's stream is let go when its last
// producer closes: the send bridge binds a producer for each dynamic
// destination and closes it when its cache evicts it, and an app sending
// to ever new destinations had the trimmer look after every stream it
// ever wrote, its work every trim-interval growing without end.
type trackedStream struct {
	deadLetters bool // trimmed by max-length and max-age only
	consumed    bool // a consumer reads it
	producers   int  // open producers writing it
}

// track hands the stream keys of a consumer to the trimmer.
func (bd *Binder) track(keys ...string) {
	bd.mu.Lock()
	for _, k := range keys {
		bd.tracked(k).consumed = true
	}
	bd.mu.Unlock()
}

// tracked returns key's entry, made when there is none; bd.mu is held.
func (bd *Binder) tracked(key string) *trackedStream {
	ts := bd.streams[key]
	if ts == nil {
		ts = &trackedStream{}
		bd.streams[key] = ts
	}
	return ts
}

// trackProducer hands the stream keys of a producer to the trimmer until
// untrackProducer; bd.mu is held.
func (bd *Binder) trackProducer(keys []string) {
	for _, k := range keys {
		bd.tracked(k).producers++
	}
}

// untrackProducer lets go of a closed producer's streams that no other
// binding of the binder uses; bd.mu is held.
func (bd *Binder) untrackProducer(keys []string) {
	for _, k := range keys {
		ts := bd.streams[k]
		if ts == nil {
			continue
		}
		if ts.producers--; ts.producers <= 0 && !ts.consumed && !ts.deadLetters {
			delete(bd.streams, k)
		}
	}
}

// trackDeadLetters hands a dead-letter stream to the trimmer, which trims
// it by max-length and max-age only: what a dead-letter reader's group
// acknowledged stays for streambind dlq.
func (bd *Binder) trackDeadLetters(key string) {
	bd.mu.Lock()
	ts := bd.tracked(key)
	ts.deadLetters = true
	bd.mu.Unlock()
}

// ensureGroup creates group on the stream key (and the stream) starting
// at start; an existing group is fine.
func ensureGroup(ctx context.Context, c *goredis.Client, key, group, start string) error {
	err := c.XGroupCreateMkStream(ctx, key, group, start).Err()
	if err != nil && !hasPrefix(err, "BUSYGROUP") {
		return fmt.Errorf("create consumer group %s on stream %s: %w", group, key, err)
	}
	return nil
}

// registerPartitions records that dest has (at least) n partitions.
func (bd *Binder) registerPartitions(ctx context.Context, c *goredis.Client, dest string, n int) error {
	err := c.ZAddArgs(ctx, bd.st.keyPrefix+PartitionsKey, goredis.ZAddArgs{GT: true, Members: []goredis.Z{{Score: float64(n), Member: dest}}}).Err()
	if err != nil {
		return fmt.Errorf("record the partition count of %s in %s: %w", dest, bd.st.keyPrefix+PartitionsKey, err)
	}
	return nil
}

// partitions returns the partition count producers recorded for dest (0:
// none).
func (bd *Binder) partitions(ctx context.Context, c *goredis.Client, dest string) (int, error) {
	n, err := c.ZScore(ctx, bd.st.keyPrefix+PartitionsKey, dest).Result()
	if errors.Is(err, goredis.Nil) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read the partition count of %s from %s: %w", dest, bd.st.keyPrefix+PartitionsKey, err)
	}
	return int(n), nil
}

// BindProducer records the partition count of a partitioned destination,
// creates the consumer groups of required-groups on its streams, and
// returns a producer binding.
func (bd *Binder) BindProducer(ctx context.Context, spec stream.ProducerSpec) (stream.Producer, error) {
	fail := func(err error) (stream.Producer, error) {
		return nil, binding.Error(err, bd.wrap(err, "redis: bind producer %s", spec.Binding))
	}
	ps, err := parseProducer(spec.Binding, spec.Extension)
	if err != nil {
		return fail(err)
	}
	if err := checkDestination(spec.Destination); err != nil {
		return fail(err)
	}
	c, err := bd.connect(ctx)
	if err != nil {
		return fail(err)
	}
	keys := []string{bd.key(spec.Destination, -1)}
	if spec.Producer.IsPartitioned() {
		n := max(spec.Producer.PartitionCount, 1)
		if err := bd.registerPartitions(ctx, c, spec.Destination, n); err != nil {
			return fail(bd.classify(err, "redis"))
		}
		for p := range n {
			keys = append(keys, bd.key(spec.Destination, p))
		}
	}
	for _, g := range spec.Producer.RequiredGroups {
		if g = strings.TrimSpace(g); g == "" {
			continue
		}
		for _, k := range keys {
			if err := ensureGroup(ctx, c, k, g, "0"); err != nil {
				return fail(bd.classify(fmt.Errorf("required group %s: %w", g, err), "redis"))
			}
		}
	}
	p := bd.newProducer(spec, ps, c)
	p.keys = keys
	bd.mu.Lock()
	defer bd.mu.Unlock()
	if err := bd.bindings.AddProducer(p); err != nil {
		p.stop()
		return fail(err)
	}
	bd.trackProducer(keys)
	return p, nil
}

// BindConsumer creates the group's consumer group on the destination's
// streams (a named group) and returns a stopped consumer binding.
func (bd *Binder) BindConsumer(ctx context.Context, spec stream.ConsumerSpec) (stream.Consumer, error) {
	fail := func(err error) (stream.Consumer, error) {
		return nil, binding.Error(err, bd.wrap(err, "redis: bind consumer %s", spec.Binding))
	}
	cs, err := parseConsumer(spec.Binding, spec.Extension)
	if err != nil {
		return fail(err)
	}
	dests, err := binding.Destinations(spec.Destination, checkDestination)
	if err != nil {
		return fail(err)
	}
	if err := binding.CheckConsumer(spec, dests); err != nil {
		return fail(err)
	}
	if err := conf.AnonymousDLQ(Type, spec); err != nil {
		return fail(err)
	}
	if spec.Group != "" && strings.ContainsAny(spec.Group, " \t\r\n") {
		return fail(fmt.Errorf("group %q holds white space", spec.Group))
	}
	c, err := bd.connect(ctx)
	if err != nil {
		return fail(err)
	}
	var cons consumers
	for _, d := range dests {
		co, err := bd.newConsumer(ctx, c, spec, cs, d)
		if err != nil {
			return fail(bd.classify(err, "redis"))
		}
		cons = append(cons, co)
	}
	bd.mu.Lock()
	err = bd.bindings.AddConsumers(cons...)
	bd.mu.Unlock()
	if err != nil {
		return fail(err)
	}
	return cons.One(), nil
}

// Close stops the binder's consumers (settling what they hold and giving
// back to their group what they did not handle), closes its producers
// (waiting for their sends) and the connections, bounded by ctx. It is
// idempotent: a Close after one that ran out of time waits (bounded by
// ctx) for what that one left running — the consumers' runs, the health
// probe and the trimmer — so that a Close that returns nil means nothing
// of the binder runs any more.
func (bd *Binder) Close(ctx context.Context) error {
	bd.mu.Lock()
	cs, ps, first := bd.bindings.Close()
	if !first {
		cs = bd.closedCons
		bd.mu.Unlock()
		errs := binding.CloseAll(ctx, cs, (*consumer).close, []*producer(nil), (*producer).Close)
		if err := bd.waitBackground(ctx); err != nil {
			errs = append(errs, err)
		}
		if len(errs) > 0 {
			return bd.wrap(errors.Join(errs...), "redis: close binder %q", bd.name)
		}
		return nil
	}
	bd.closedCons = cs
	client := bd.client
	bd.mu.Unlock()

	errs := binding.CloseAll(ctx, cs, (*consumer).close, ps, (*producer).Close)
	bd.bgCancel()
	// The client is closed before the wait: that ends a health PING or a
	// trim waiting for a server that does not answer (go-redis does not
	// end a read when its ctx is cancelled), which held Close for up to
	// health-timeout more.
	if client != nil {
		if err := client.Close(); err != nil && !errors.Is(err, goredis.ErrClosed) {
			errs = append(errs, err)
		}
	}
	if err := bd.waitBackground(ctx); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return bd.wrap(errors.Join(errs...), "redis: close binder %q", bd.name)
	}
	return nil
}

// waitBackground waits, bounded by ctx, for the health probe and the
// trimmer (cancelled by Close) to end.
func (bd *Binder) waitBackground(ctx context.Context) error {
	done := make(chan struct{})
	go func() { bd.bgWG.Wait(); close(done) }()
	if err := lifecycle.Wait(ctx, done); err != nil {
		return fmt.Errorf("health probe and trimmer still running: %w", err)
	}
	return nil
}

func (bd *Binder) forgetProducer(p *producer) {
	bd.mu.Lock()
	bd.bindings.RemoveProducer(p)
	bd.untrackProducer(p.keys)
	bd.mu.Unlock()
}
