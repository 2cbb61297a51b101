package redis

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	goredis "github.com/redis/go-redis/v9"

	"github.com/streambind/streambind/binder/internal/binding"
	"github.com/streambind/streambind/binder/internal/dispatch"
	"github.com/streambind/streambind/binder/internal/dlcount"
	"github.com/streambind/streambind/binder/internal/dlhold"
	"github.com/streambind/streambind/binder/internal/lagread"
	"github.com/streambind/streambind/binder/internal/lifecycle"
	"github.com/streambind/streambind/stream"
)

const (
	// blockFor is how long one XREADGROUP/XREAD waits for entries. Stop and
	// Pause end a wait at once with CLIENT UNBLOCK (where the ACL allows
	// it), so it only bounds how stale the partition list can get.
	blockFor = 2 * time.Second
	// partitionRefresh is how often a consumer looks for new partitions.
	partitionRefresh = 2 * time.Second
	// ReleasedConsumer is the consumer name under which a stopping consumer
	// parks the entries it did not handle, idle for claim-min-idle so that
	// the next reclaim of any member of the group takes them at once.
	ReleasedConsumer = "streambind-released"
	// consumerExpiry: a consumer of the group with no pending entries that
	// has not read for this long is deleted (a crashed instance's).
	consumerExpiry = time.Hour
	cleanupEvery   = 10 * time.Minute
	// ackBatch bounds the entries one XACK pipeline acknowledges.
	ackBatch = 512
	// ackLinger: an inline run (see run.inline) keeps the acknowledgements
	// of a reply's entries to send them in one XACK, pipelined with its
	// next read; the acker sends those still kept after ackLinger.
	ackLinger = time.Millisecond
	// intakeEntryCost: an inline run's intake handles the entries of a
	// reply itself while they cost less than this each (handler included),
	// rather than handing them to the handling goroutine. Intake may read
	// again only once half of its hold limit is settled (prefetch, with
	// entries this cheap; see holdShare), so handing off gains
	// only if handling the other half outlasts the two wake-ups it takes
	// (the handling goroutine's, then intake's, which waits queued behind
	// the handler on its processor): with cheap entries intake waited for
	// nearly the whole reply anyway, plus the wake-ups — 64 µs a reply of
	// 127 in BenchmarkRedisConsume (2026-12-05), 15% of its time.
	intakeEntryCost = time.Microsecond
	// entrySlab is how many entries accept allocates at once.
	entrySlab = 64
	// holdShare: a group member holds (reads ahead, reclaims) no more
	// unsettled entries than its workers start within
	// claim-min-idle/holdShare at the handler's measured cost (see
	// consumer.holdLimit), rather than up to prefetch whatever the
	// handler costs: with prefetch 128 and a 1s handler, one member read
	// a 24-entry burst all but one, its group's other member sat idle for
	// the 23 s it took, and a crash left all of them for claim-min-idle.
	// Why claim-min-idle: it is how long an entry may stay pending
	// without progress before another member takes it. The keeper
	// refreshes held entries every claim-min-idle/3; at a tenth, an entry
	// read is started (at about the measured cost) long before its first
	// refresh is due, so one waiting in memory is never near being
	// reclaimed (a refresh missed in a stall would make a duplicate), and
	// what a crash leaves for claim-min-idle is about what the member was
	// handling. Throughput keeps: intake reads again once half of the
	// limit is settled, so the workers still have claim-min-idle/20 of
	// work (1.5 s with the default 30 s) queued across a read's round
	// trip, and entries cheaper than claim-min-idle/holdShare/prefetch
	// (23 ms by default) are held up to prefetch as before.
	holdShare = 10
)

// unblockHook, set by tests only, runs at the start of each CLIENT
// UNBLOCK with its ctx.
var unblockHook func(context.Context)

// consumer is a consumer binding of one destination for one group (or an
// anonymous one).
type consumer struct {
	// lag is Lag's reader of the group's backlog (lag.go).
	lag    lagread.Lazy
	bd     *Binder
	client *goredis.Client
	spec   stream.ConsumerSpec
	cs     consumerSettings
	dest   string
	group  string // "" for anonymous
	name   string // the consumer's name in the group
	log    *slog.Logger
	conc   int

	// cost is the handler's cost an entry as measured (ns, a moving
	// average; 0 until the first measure), limit the unsettled entries a
	// run may hold at that cost (holdLimit). Kept across runs: a Start
	// again has the same handler.
	cost  atomic.Int64
	limit atomic.Int64

	dlq    bool
	dlqKey string

	// Health (readiness, [stream.BindingHealthChecker]): nil, or why the binding cannot consume (an ACL refusal, a
	// key that is not a stream, a group that cannot be made again).
	binding.State // Health (consumer.Health adds dlDown), SetHealth
	stats         dlcount.Counts
	// dlDown is why dead letters cannot be written (a held one failed
	// dlhold.DownAfter attempts), nil once one is: Health.
	dlDown dlhold.Down

	life *lifecycle.Lifecycle // Start, Stop, Pause, Resume, close

	// clean: nothing is pending for this member in the group — it is new
	// (its name has a random part), or its last run gave back every entry
	// it had (release) — so a Start need not read its pending entries
	// first (one round trip less a Start).
	clean atomic.Bool

	// groupKeys are the streams whose group the bind made (or found);
	// lookedAround is done once the first Start looked on them for
	// abandoned groups (warnAbandonedGroups).
	groupKeys    []string
	lookedAround sync.Once
	// cur is the last run started: Lag reads its streams while it runs
	// (refreshKeys adds partitions registered after the bind).
	cur atomic.Pointer[run]

	// The blocking-read client a stopped run leaves for the next (see
	// takeReader); closed with the consumer.
	readerMu sync.Mutex
	spare    *reader
	closed   bool
}

var (
	_ stream.Consumer             = (*consumer)(nil)
	_ stream.BindingHealthChecker = (*consumer)(nil)
	_ stream.DeadLetterReporter   = (*consumer)(nil)
)

// consumerName is a group member's name: the client name, host, process
// and a random part, so that two bindings never share one.
func consumerName(clientName string) string {
	host, _ := os.Hostname()
	if host == "" {
		host = "host"
	}
	return fmt.Sprintf("%s-%s-%d-%s", clientName, host, os.Getpid(), uuid.NewString()[:8])
}

func (bd *Binder) newConsumer(ctx context.Context, client *goredis.Client, spec stream.ConsumerSpec, cs consumerSettings, dest string) (*consumer, error) {
	lg := spec.Group
	if lg == "" {
		lg = "anonymous"
	}
	log := spec.Logger // the core's carries the binding's attributes
	if log == nil {
		log = bd.log.With("binding", spec.Binding, "destination", dest, "group", lg)
	}
	c := &consumer{
		bd:     bd,
		client: client,
		spec:   spec,
		cs:     cs,
		dest:   dest,
		group:  spec.Group,
		name:   consumerName(bd.st.clientName),
		log:    log,
		conc:   max(spec.Consumer.Concurrency, 1),
	}
	c.life = lifecycle.New(c.errorf, "the previous run is still settling its messages")
	c.clean.Store(true)
	c.limit.Store(int64(c.holdLimit(0)))
	if c.group == "" {
		return c, nil // dlq: BindConsumer refused it without a group
	}
	n, err := c.partitionCount(ctx)
	if err != nil {
		return nil, err
	}
	start := "0"
	if cs.startOffset == "latest" {
		start = "$"
	}
	keys, _ := c.keysFor(n)
	for _, k := range keys {
		if err := ensureGroup(ctx, client, k, c.group, start); err != nil {
			return nil, err
		}
	}
	c.groupKeys = keys
	if spec.Consumer.DeadLettersOf != "" {
		// A dead-letter reader: its acks must not trim the dead letters
		// away from streambind dlq.
		for _, k := range keys {
			bd.trackDeadLetters(k)
		}
	} else {
		bd.track(keys...)
	}
	if spec.Consumer.DLQ {
		c.dlq = true
		name := cs.dlqName
		if name == "" {
			name = stream.DLQName(dest, c.group)
		}
		c.dlqKey = bd.key(name, -1)
		bd.trackDeadLetters(c.dlqKey)
	}
	return c, nil
}

// holdLimit is how many unsettled entries (read and not settled: queued,
// in a handler, held after a Nak) a run may hold when the handler costs
// cost an entry (0: not measured yet): what the workers start within
// claim-min-idle/holdShare (see holdShare), at least one call's worth a
// worker (a batch-size batch in batch mode: a worker starts it at once),
// at most prefetch. Until a cost is measured a group member holds just
// that: two members started together share the first burst (with
// prefetch one read took nearly all of it), and the first reply handled
// sets the limit (a fast handler's is prefetch from its second read). An
// anonymous consumer shares nothing and nothing is reclaimed from it:
// prefetch.
func (c *consumer) holdLimit(cost time.Duration) int {
	pf := c.cs.prefetch
	if c.group == "" {
		return pf
	}
	per := 1
	if c.spec.Consumer.BatchMode {
		per = c.cs.batchSize
	}
	n := c.conc * per
	if cost > 0 {
		n = max(n, int(min(int64(c.conc)*int64(c.cs.claimMinIdle/holdShare)/int64(cost), int64(pf))))
	}
	return min(n, pf)
}

// noteCost records a measured cost an entry of the handler, averaged
// with the earlier ones (a quarter's weight for the new one, so that one
// stall of the process or one odd entry does not swing the limit), and
// sets the hold limit from it. A measure counts as claim-min-idle at most:
// from a tenth of that on the limit is its floor anyway, and one very
// long call (or a reply handled across a Pause) does not keep it there
// for many replies after.
func (c *consumer) noteCost(d time.Duration) {
	d = min(max(d, 1), c.cs.claimMinIdle)
	var n int64
	for {
		old := c.cost.Load()
		n = int64(d)
		if old > 0 {
			n = max(old+(int64(d)-old)/4, 1)
		}
		if c.cost.CompareAndSwap(old, n) {
			break
		}
	}
	c.limit.Store(int64(c.holdLimit(time.Duration(n))))
}

// warnAbandonedGroups logs a WARN for each other consumer group on keys
// that has entries pending or not yet read and no consumer (the one a
// stopping binding parks its entries under does not count; a stopping
// binding leaves the group) and that no other consumer binding of the
// binder reads (bound, maybe not started yet): most likely the group of an earlier
// deployment under another name (g1 renamed g2). Nothing reads its
// entries again, and the trimmer (trim-acked) keeps them for it, while
// the new group starts per start-offset; without a word, only the
// trimmer's "far behind" WARN hinted at it, if ever. A group with a
// consumer is left alone however long that consumer has been idle: a
// paused binding, or one whose handler slots are all busy, reads nothing
// for as long, and its keeper refreshes its idle time only every
// claim-min-idle/3 of its own, which this binding does not know. Best
// effort: a failed look-up is logged at DEBUG.
func (c *consumer) warnAbandonedGroups(ctx context.Context, keys []string) {
	type found struct {
		streams      []string
		pending, lag int64
		lagUnknown   bool
	}
	groups := map[string]*found{}
	var order []string
	bound := c.bd.boundGroups()
	for _, k := range keys {
		gs, err := c.client.XInfoGroups(ctx, k).Result()
		if err != nil {
			c.log.Debug("redis: looking for abandoned consumer groups failed", "stream", k, "error", c.bd.logErr(err))
			continue
		}
		var last string // the stream's last entry, read when a lag is unknown
		for _, g := range gs {
			if g.Name == c.group || bound[groupOn{k, g.Name}] {
				continue
			}
			behind := g.Pending > 0 || g.Lag > 0
			if g.Lag < 0 { // unknown (entries deleted): compare with the last entry
				if last == "" {
					m, err := c.client.XRevRangeN(ctx, k, "+", "-", 1).Result()
					if err != nil || len(m) == 0 {
						continue
					}
					last = m[0].ID
				}
				behind = behind || compareIDs(g.LastDeliveredID, last) < 0
			}
			if !behind {
				continue
			}
			switch {
			case g.Consumers > 1:
				continue // one at least is not the parking consumer
			case g.Consumers == 1:
				cs, err := c.client.XInfoConsumers(ctx, k, g.Name).Result()
				if err != nil {
					c.log.Debug("redis: looking for abandoned consumer groups failed", "stream", k, "group", g.Name, "error", c.bd.logErr(err))
					continue
				}
				if len(cs) != 1 || cs[0].Name != ReleasedConsumer {
					continue
				}
			}
			f := groups[g.Name]
			if f == nil {
				f = &found{}
				groups[g.Name] = f
				order = append(order, g.Name)
			}
			f.streams = append(f.streams, k)
			f.pending += g.Pending
			if g.Lag > 0 {
				f.lag += g.Lag
			}
			f.lagUnknown = f.lagUnknown || g.Lag < 0
		}
	}
	for _, name := range order {
		f := groups[name]
		attrs := []any{"other-group", name, "streams", strings.Join(f.streams, ","), "pending", f.pending, "lag", f.lag}
		if f.lagUnknown {
			attrs = append(attrs, "lag-unknown", true)
		}
		attrs = append(attrs, "readers", 0)
		attrs = append(attrs, "delete-with", "XGROUP DESTROY "+f.streams[0]+" "+name+" (on each stream)")
		c.log.Warn("redis: another consumer group of the destination has unread or pending entries and no consumer reading; "+
			"they stay unread (a renamed group's?): if no service reads it any more, delete the group", attrs...)
	}
}

// groupOn is a consumer group of a stream.
type groupOn struct{ key, group string }

// boundGroups returns the groups that the binder's consumer bindings made
// or found at their binds, on each stream.
func (bd *Binder) boundGroups() map[groupOn]bool {
	bd.mu.Lock()
	cons := bd.bindings.Consumers()
	bd.mu.Unlock()
	out := map[groupOn]bool{}
	for _, c := range cons {
		for _, k := range c.groupKeys {
			out[groupOn{k, c.group}] = true
		}
	}
	return out
}

// partitionCount is the partition-count property, else what producers
// recorded.
func (c *consumer) partitionCount(ctx context.Context) (int, error) {
	if c.cs.partitionCount > 0 {
		return c.cs.partitionCount, nil
	}
	return c.bd.partitions(ctx, c.client, c.dest)
}

// keysFor returns the streams the consumer reads when the destination has
// count partitions, and the partition of each (-1: the destination's own
// stream). An unpartitioned consumer reads the destination's stream and
// every partition; instance i of a partitioned one reads the partitions p
// with p % instance-count == i (of max(count, instance-count)), and
// instance 0 the destination's own stream as well, so that nothing sent
// without a partition is left unread. partitioned applies to a named group
// only: an anonymous consumer reads every stream, as SCSt's anonymous
// consumer gets every partition (the core logs a WARN at bind).
func (c *consumer) keysFor(count int) ([]string, []int) {
	cc := c.spec.Consumer
	partitioned := cc.Partitioned && c.group != ""
	var keys []string
	var parts []int
	if !partitioned || cc.InstanceIndex == 0 {
		keys, parts = append(keys, c.bd.key(c.dest, -1)), append(parts, -1)
	}
	if partitioned {
		ic := max(cc.InstanceCount, 1)
		for p := cc.InstanceIndex; p < max(count, ic); p += ic {
			keys, parts = append(keys, c.bd.key(c.dest, p)), append(parts, p)
		}
		return keys, parts
	}
	for p := range count {
		keys, parts = append(keys, c.bd.key(c.dest, p)), append(parts, p)
	}
	return keys, parts
}

// DeadLetterStats implements [stream.DeadLetterReporter].
func (c *consumer) DeadLetterStats() stream.DeadLetterStats {
	return c.stats.Stats()
}

func (c *consumer) errorf(op string, err error) error {
	return c.bd.wrap(err, "redis: %s consumer %s (destination %q, group %q)", op, c.spec.Binding, c.dest, c.group)
}

// Start begins delivery: a group member first takes back its own pending
// entries and reclaims those of members idle for claim-min-idle; an
// anonymous consumer starts after the last entry of each stream.
func (c *consumer) Start(ctx context.Context) error {
	return c.life.Start(ctx, func(ctx context.Context) (lifecycle.Run, error) {
		r, err := c.newRun(ctx)
		if err != nil {
			return nil, err
		}
		// At the first Start rather than at the bind: an app binds all its
		// bindings before it starts any, so the groups of its other
		// bindings on these streams are known by now (and not abandoned,
		// though none of them has read yet).
		if len(c.groupKeys) > 0 && c.spec.Consumer.DeadLettersOf == "" {
			c.lookedAround.Do(func() { c.warnAbandonedGroups(ctx, c.groupKeys) })
		}
		return r, nil
	})
}

// Stop ends intake, waits (bounded by ctx) for the handler calls in flight
// and their acknowledgements, and gives back to the group every entry the
// consumer holds unhandled (see the package doc).
func (c *consumer) Stop(ctx context.Context) error { return c.life.Stop(ctx) }

// Pause stops intake and reclaiming (what was read stays with the binding,
// kept from other members' reclaims) and waits, bounded by ctx, for the
// handler calls in flight.
func (c *consumer) Pause(ctx context.Context) error { return c.life.Pause(ctx) }

// Resume undoes Pause.
func (c *consumer) Resume(ctx context.Context) error { return c.life.Resume(ctx) }

func (c *consumer) close(ctx context.Context) error {
	err := c.life.Close(ctx)
	c.readerMu.Lock()
	c.closed = true
	rd := c.spare
	c.spare = nil
	c.readerMu.Unlock()
	if rd != nil {
		_ = rd.Close()
	}
	return err
}

// reader is a client for a run's blocking reads, which go over one
// connection held for them (a goredis.Conn), whose CLIENT ID Stop passes
// to CLIENT UNBLOCK to end a read at once. Held, not taken from the pool
// for each read: the pool may hand out another connection than the one
// whose id was learnt (go-redis dials more than PoolSize when it sees
// fit), and then the unblock missed and Stop waited out the block time.
type reader struct {
	client *goredis.Client
	conn   *goredis.Conn // intake's; nil before the first read and after a failed one
	id     atomic.Int64  // conn's CLIENT ID (0: none)
	// net is the network connection the reader's client dialed last: the
	// one under conn (the client has one connection at a time), for cut.
	net atomic.Pointer[trackedConn]
	rc  *respConn // intake's reads of new entries on conn (see respConn); intake only
}

// respConn returns the respConn of the reader's connection (conn's), nil
// if it has none. Intake only.
func (rd *reader) respConn() *respConn {
	tc := rd.net.Load()
	if tc == nil || rd.conn == nil {
		return nil
	}
	if rd.rc == nil {
		rd.rc = &respConn{}
	}
	if rd.rc.conn != net.Conn(tc) {
		rd.rc.reset()
		rd.rc.conn = tc
	}
	return rd.rc
}

// cut closes the reader's network connection if it is waiting for an
// answer and has received nothing since its request (nothing is lost
// half-read: what an unanswered XREADGROUP delivered stays pending, as
// when the read times out), so that the read in flight ends at once. Stop
// cuts it when its CLIENT UNBLOCK got no answer: the read would otherwise
// go on until the health probe's sweep or its read timeout (4-5s with
// the default settings) before Stop could flush the acknowledgements.
func (rd *reader) cut() {
	if tc := rd.net.Load(); tc != nil && !tc.closed.Load() && !tc.closing.Load() {
		tc.closeIfOverdue(time.Now(), 0)
	}
}

// use returns the reader's connection, taking one and learning its id
// first when it has none. Intake only.
func (rd *reader) use(ctx context.Context, timeout time.Duration) (*goredis.Conn, error) {
	if rd.conn != nil {
		return rd.conn, nil
	}
	cn := rd.client.Conn()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	id, err := cn.ClientID(ctx).Result()
	if err != nil {
		_ = cn.Close()
		return nil, err
	}
	rd.conn = cn
	rd.id.Store(id)
	return cn, nil
}

// drop lets go of the connection after a failed read (a held go-redis
// connection that failed stays unusable). Intake only. Its network
// connection is closed first: a read that failed on respConn's path
// (a timeout, a reply it could not parse) is one go-redis never saw, so
// go-redis would pool the connection again with the rest of the reply
// still on its way, and the next command on it (use's CLIENT ID) read
// that stale reply.
func (rd *reader) drop() {
	if rd.conn == nil {
		return
	}
	rd.id.Store(0)
	if tc := rd.net.Load(); tc != nil {
		_ = tc.Close()
	}
	_ = rd.conn.Close()
	rd.conn = nil
	if rd.rc != nil {
		rd.rc.reset()
	}
}

// Close closes the reader (its connection too).
func (rd *reader) Close() error {
	rd.drop()
	return rd.client.Close()
}

// takeReader returns the reader the last run left (see putReader), else
// a new one: a Start does not dial again.
func (c *consumer) takeReader() *reader {
	c.readerMu.Lock()
	rd := c.spare
	c.spare = nil
	c.readerMu.Unlock()
	if rd != nil {
		return rd
	}
	rd = &reader{}
	o := c.bd.options(1)
	o.MinIdleConns = 0
	// A pipeline (acknowledgements and the next XREADGROUP, see readNew)
	// reads with ReadTimeout, not with the command's block time.
	o.ReadTimeout = blockFor + c.bd.st.commandTimeout
	dial := c.bd.conns.dialer(goredis.NewDialer(o), true)
	o.Dialer = func(ctx context.Context, network, addr string) (net.Conn, error) {
		cn, err := dial(ctx, network, addr)
		if tc, ok := cn.(*trackedConn); ok && err == nil {
			rd.net.Store(tc)
		}
		return cn, err
	}
	rd.client = goredis.NewClient(o)
	return rd
}

// putReader keeps a finished run's reader (idle: its run's intake ended)
// for the next run, or closes it once the consumer is closed.
func (c *consumer) putReader(rd *reader) {
	c.readerMu.Lock()
	keep := !c.closed && c.spare == nil
	if keep {
		c.spare = rd
	}
	c.readerMu.Unlock()
	if !keep {
		_ = rd.Close()
	}
}

// entry is a received stream entry from its receipt until it is settled.
type entry struct {
	key     string // stream
	part    int    // partition, or -1
	id      string
	env     stream.Envelope
	vals    map[string]any // the fields, until decoded into env (see dispatch)
	resp    string         // or the entry's RESP bytes (see respConn), until decoded
	hdr     respHeaders    // env's lazy headers (decodeRESPLazy), until untracked
	n       int64          // deliveries as Redis counts them (0: unknown)
	touched atomic.Int64
	lost    atomic.Bool // another member claimed it while we held it
	settled atomic.Bool // its acknowledgement is on the way: no longer kept
	// regrouped: the consumer group was created again while the run held
	// it (readFailed), so it is pending with nobody; its dead letter is
	// written without deadLetterScript's check (see writeDeadLetter).
	regrouped atomic.Bool
}

// entryRef identifies an entry in the run's index.
type entryRef struct{ key, id string }

func (e *entry) ref() entryRef { return entryRef{e.key, e.id} }

// route is the ordering route of an entry: its partition, else its key,
// else none.
func route(e *entry) string {
	if e.part >= 0 {
		return "p" + strconv.Itoa(e.part)
	}
	if len(e.env.Key) > 0 {
		return "k" + string(e.env.Key)
	}
	return ""
}

// run is one Start..Stop of a consumer.
type run struct {
	c      *consumer
	pool   *dispatch.Pool[*entry]
	reader *reader // one connection for blocking reads

	ctx    context.Context // intake and reclaiming; cancelled by Stop
	cancel context.CancelFunc

	// inline (concurrency 1, no batch mode): intake hands each reply's
	// entries at once (replies) to the handling goroutine, which calls
	// the handler itself (dispatch's Inline; the reclaimer too) — one
	// hand-off per reply, not per entry, and the next read overlaps the
	// handling; or, while entries are cheap to handle, intake handles
	// them itself (see intakeEntryCost). The acknowledgements go out in
	// one XACK in the pipeline of the next read (readNew), or from the
	// acker when intake is not about to read: it waits in a read (inRead)
	// when a reply is done, a Nak waits, Pause (flushAcks), or they were
	// kept for ackLinger
	// (lingerT, armed by the first one; the keeper flushes at each tick as
	// well).
	inline      bool
	replies     chan []*entry // inline only; closed by intake when it ends
	handlerDone chan struct{}
	inRead      atomic.Bool
	// Inline: intake handles a reply itself (handleOnIntake) when the
	// handling goroutine has none left (handedOn, replies sent and not yet
	// handled) and the last reply's entries cost less than
	// intakeEntryCost each (entryCost, ns an entry in its cheapest chunk,
	// see costMeter, however long its handler waited too; 0 before the
	// first). intakeHandling: it is.
	handedOn       atomic.Int64
	entryCost      atomic.Int64
	intakeHandling atomic.Bool
	acksOwn        bool        // intake only: the next read takes no acknowledgements (see handOn)
	readNext       int         // intake only: the stream the next read with less room than streams starts at (see readNew)
	rawStreams     []rawStream // intake only: the streams of the last reply (see readNew)

	history bool // intake reads its pending entries first (see consumer.clean)

	intakeDone  chan struct{}
	reclaimDone chan struct{}
	keeperStop  chan struct{}
	keeperDone  chan struct{}
	// Acknowledgements (a group): ack adds settled entries to ackBuf
	// (ackSince: when the first went in, 0 while empty) and wakes the
	// acker (ackFlush: send them now), or, inline, arms lingerT with the
	// first one: it wakes the acker if they are still there after
	// ackLinger. A timer, not the acker waiting on one: intake takes them
	// within a read's time while busy, and waking the acker for each
	// reply only to find them gone cost ~8% of the throughput. ackStop
	// (closed by finish) asks it to send what is left and end. readSpare
	// is the reader's spare buffer (takeAcks).
	ackMu     sync.Mutex
	ackBuf    []*entry
	ackSince  atomic.Int64
	readSpare []*entry
	reply     []*entry // intake's buffer for accept and dispatch (intake only)
	slab      []entry  // intake's entries to come (see accept)
	// Intake only, see whileWaiting: the acknowledgements of the last
	// read, sent and answered, to let go of (ackedLater); slabs and
	// headers maps made ahead for the next reply's entries.
	ackedLater []*entry
	slabSpare  [][]entry
	hdrs       headerMaps
	ackFlush   chan struct{}
	lingerT    *time.Timer // inline runs only (armed for a group's)
	ackStop    chan struct{}
	ackDone    chan struct{}
	ackLeft    int         // entries the final flush gave up on (the server did not answer); set before ackDone
	ackFailed  atomic.Bool // the last acknowledgement failed (see acker)

	done       chan struct{}  // everything of the run finished
	unblocks   sync.WaitGroup // Pause's CLIENT UNBLOCKs (finish waits for them)
	finishOnce sync.Once
	wake       chan struct{} // capacity 1: room, pause or resume changed
	// reclaimWake is wake for the reclaimer (capacity 1: intake takes
	// wake's signals); startReclaim carries the Start's reclaim's result
	// from intakeGroup to the reclaimer (capacity 1, sent once).
	reclaimWake  chan struct{}
	startReclaim chan bool

	mu     sync.Mutex
	paused bool
	held   map[entryRef]*entry // read and not yet acknowledged (or given back)
	// unhandled are the entries given back that no handler call saw
	// (giveBackUnhandled): release parks them without the delivery the
	// next member's claim counts (see release).
	unhandled map[entryRef]struct{}
	unsettled atomic.Int64   // of those, the ones not settled yet (atomic: settled takes no lock)
	keys      []string       // streams read
	parts     map[string]int // partition of each
	lastIDs   map[string]string

	// calls: the handler calls running (not inline), for the cost the
	// hold limit is set from (see handle).
	calls atomic.Int64
}

func (c *consumer) newRun(ctx context.Context) (*run, error) {
	r := &run{
		c:            c,
		intakeDone:   make(chan struct{}),
		reclaimDone:  make(chan struct{}),
		keeperStop:   make(chan struct{}),
		keeperDone:   make(chan struct{}),
		ackFlush:     make(chan struct{}, 1),
		ackStop:      make(chan struct{}),
		ackDone:      make(chan struct{}),
		done:         make(chan struct{}),
		wake:         make(chan struct{}, 1),
		reclaimWake:  make(chan struct{}, 1),
		startReclaim: make(chan bool, 1),
		held:         make(map[entryRef]*entry),
		parts:        make(map[string]int),
		lastIDs:      make(map[string]string),
	}
	n, err := c.partitionCount(ctx)
	if err != nil {
		return nil, err
	}
	keys, parts := c.keysFor(n)
	if c.group != "" {
		for _, k := range keys { // the stream or group may have been deleted meanwhile
			if err := ensureGroup(ctx, c.client, k, c.group, "0"); err != nil {
				return nil, err
			}
		}
	} else {
		for _, k := range keys {
			id, err := lastID(ctx, c.client, k)
			if err != nil {
				return nil, err
			}
			r.lastIDs[k] = id
		}
	}
	for i, k := range keys {
		r.keys = append(r.keys, k)
		r.parts[k] = parts[i]
	}
	r.reader = c.takeReader()
	r.ctx, r.cancel = context.WithCancel(context.Background())
	batch := 1
	if c.spec.Consumer.BatchMode {
		batch = c.cs.batchSize
	}
	r.inline = c.conc == 1 && batch == 1
	r.handlerDone = make(chan struct{})
	if r.inline {
		r.replies = make(chan []*entry, 1)
		r.lingerT = time.AfterFunc(time.Hour, r.lingerFired)
		r.lingerT.Stop() // armed by ack
		go r.handler()
	} else {
		close(r.handlerDone)
	}
	r.pool = dispatch.New(dispatch.Options[*entry]{
		Workers:  c.conc,
		QueueLen: c.cs.prefetch + 1,
		Batch:    batch,
		Inline:   r.inline,
		Handle:   r.handle,
		Release:  r.giveBackUnhandled,
	})
	if c.group != "" {
		r.history = !c.clean.Swap(false)
		go r.intakeGroup() // first: on two cores the others would delay its first read
		go r.acker()
		go r.keeper()
		go r.reclaimer()
	} else {
		close(r.ackDone)
		close(r.keeperDone)
		close(r.reclaimDone)
		go r.intakeAnonymous()
	}
	c.cur.Store(r)
	return r, nil
}

// lastID returns the ID of the last entry of stream key, or "0-0".
func lastID(ctx context.Context, c *goredis.Client, key string) (string, error) {
	ms, err := c.XRevRangeN(ctx, key, "+", "-", 1).Result()
	if err != nil && !errors.Is(err, goredis.Nil) {
		return "", fmt.Errorf("read the last entry of %s: %w", key, err)
	}
	if len(ms) == 0 {
		return "0-0", nil
	}
	return ms[0].ID, nil
}

func (r *run) signal() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
	select {
	case r.reclaimWake <- struct{}{}:
	default:
	}
}

// limit is how many unsettled entries the run may hold
// (consumer.holdLimit: prefetch at most).
func (r *run) limit() int { return int(r.c.limit.Load()) }

// counted is how many unsettled entries count against the hold limit:
// not those queued behind an earlier entry of their key or partition (in
// a handler or queued before them, dispatch.Pool.Blocked), which no idle
// worker can start, up to the limit's worth of them. Counted, with
// concurrency above 1 a slow key's backlog took up the limit and kept the
// member from reading the other keys' entries until it drained
// (TestSlowKeyDoesNotHoldBackOtherKeys); not counted at all, a member
// whose entries are all of one key read up to prefetch of them, all
// waiting for claim-min-idle if it crashed (TestHoldLimitOneRoute): it
// holds twice the limit at most then.
func (r *run) counted() int64 {
	u := r.unsettled.Load()
	return max(u-min(int64(r.pool.Blocked()), int64(r.limit())), 0)
}

// room is how many more unsettled entries the run may take: the hold
// limit bounds those that count (counted), prefetch all of them (entries
// whose acknowledgement is on the way do not count).
func (r *run) room() int {
	u := r.unsettled.Load()
	return int(min(int64(r.limit())-r.counted(), int64(r.c.cs.prefetch)-u))
}

// mayRead says whether intake (or the reclaimer) may read: at most half of
// the hold limit held (so that reads are not many small ones) and room
// under prefetch.
func (r *run) mayRead() bool {
	return r.counted() <= int64(r.limit()/2) && r.unsettled.Load() < int64(r.c.cs.prefetch)
}

func (r *run) isPaused() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.paused
}

// waitRoom waits until intake may read: not paused and at most half of
// the hold limit held (so that reads are not many small ones). False when
// the run stops.
func (r *run) waitRoom() bool {
	for {
		r.mu.Lock()
		ok := !r.paused && r.mayRead()
		r.mu.Unlock()
		if ok {
			return r.ctx.Err() == nil
		}
		select {
		case <-r.wake:
		case <-r.ctx.Done():
			return false
		}
	}
}

func (r *run) snapshotKeys() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.keys...)
}

// snapshotParts returns the run's streams and the partition of each (-1:
// the destination's own stream), as keysFor does.
func (r *run) snapshotParts() ([]string, []int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	keys := append([]string(nil), r.keys...)
	parts := make([]int, len(keys))
	for i, k := range keys {
		parts[i] = r.parts[k]
	}
	return keys, parts
}

// refreshKeys adds the partitions producers registered since the run
// began; a group member creates its group on them (from their start).
func (r *run) refreshKeys() error {
	c := r.c
	ctx, cancel := context.WithTimeout(r.ctx, c.bd.st.commandTimeout)
	defer cancel()
	n, err := c.partitionCount(ctx)
	if err != nil {
		return err
	}
	keys, parts := c.keysFor(n)
	r.mu.Lock()
	var added []int
	for i, k := range keys {
		if _, ok := r.parts[k]; !ok {
			added = append(added, i)
		}
	}
	r.mu.Unlock()
	if len(added) == 0 {
		return nil
	}
	for _, i := range added {
		if c.group != "" {
			if err := ensureGroup(ctx, c.client, keys[i], c.group, "0"); err != nil {
				return err
			}
		}
	}
	r.mu.Lock()
	for _, i := range added {
		r.keys = append(r.keys, keys[i])
		r.parts[keys[i]] = parts[i]
		if c.group == "" {
			r.lastIDs[keys[i]] = "0-0"
		}
	}
	r.mu.Unlock()
	if c.group != "" {
		for _, i := range added {
			c.bd.track(keys[i])
		}
	}
	c.log.Info("redis: reading new partitions", "partitions", n)
	return nil
}

// intakeGroup reads new entries with XREADGROUP ... > and hands them to
// the pool until Stop. After a failed read (a lost connection may have
// lost a reply whose entries Redis already delivered to this consumer)
// and at the start (unless nothing can be pending: consumer.clean), it
// first reads its own pending entries again.
func (r *run) intakeGroup() {
	defer r.intakeEnded()
	c := r.c
	back := dispatch.Backoff{Initial: 50 * time.Millisecond, Max: 5 * time.Second}
	fails := 0
	history := r.history
	refreshed := time.Now() // newRun read the partitions
	// The Start's reclaim comes before the first read of new entries: the
	// entries a stopped member gave back (a rolling restart) are older
	// than any new one, and read after them they would be handled
	// interleaved with or after later entries of their partition or key.
	more := false
	if !r.isPaused() {
		more = r.reclaim(true)
	}
	r.startReclaim <- more
	for r.waitRoom() {
		var err error
		if time.Since(refreshed) >= partitionRefresh {
			refreshed = time.Now()
			err = r.refreshKeys()
		}
		if err == nil && history {
			var complete bool
			complete, err = r.readHistory()
			history = !complete
		}
		if err == nil {
			err = r.readNew()
		}
		if err == nil {
			fails = 0
			c.SetHealth(nil)
			continue
		}
		if r.ctx.Err() != nil {
			return
		}
		fails++
		history = true
		r.readFailed(err, fails)
		if !dispatch.Sleep(r.ctx, back.Delay(fails)) {
			return
		}
	}
}

// readNew reads new entries (XREADGROUP ... >), waiting up to blockFor.
func (r *run) readNew() error {
	c := r.c
	keys := r.snapshotKeys()
	room := max(r.room(), 1)
	// COUNT applies to each stream.
	args := &goredis.XReadGroupArgs{Group: c.group, Consumer: c.name, Streams: readStreams(keys), Count: int64(max(room/len(keys), 1)), Block: blockFor}
	// The reads to make in turn while each finds nothing, the last one
	// waiting (args). With less room than streams (a slow handler's hold
	// limit, partition streams), a read of all of them took one entry of
	// each: up to 9 where the limit was 1, with 8 partitions. So first
	// room streams at a time without waiting, starting with the next ones
	// each time (each stream has its turn), and a wait on all of them
	// only once each was empty (what it gets then is what came meanwhile,
	// mostly one stream's).
	var reads []*goredis.XReadGroupArgs
	if room < len(keys) {
		for i := 0; i < len(keys); i += room {
			sub := make([]string, 0, room)
			for j := i; j < min(i+room, len(keys)); j++ {
				sub = append(sub, keys[(r.readNext+j)%len(keys)])
			}
			reads = append(reads, &goredis.XReadGroupArgs{Group: c.group, Consumer: c.name, Streams: readStreams(sub), Count: 1, Block: -1})
		}
		r.readNext = (r.readNext + room) % len(keys)
	}
	if _, err := r.reader.use(r.ctx, c.bd.st.commandTimeout); err != nil {
		return err
	}
	rc := r.reader.respConn()
	if rc == nil {
		r.reader.drop()
		return errors.New("redis: the reader's connection is not known")
	}
	r.inRead.Store(true) // before takeAcks: see handler
	defer r.inRead.Store(false)
	var acks []*entry
	if !r.acksOwn {
		acks = r.takeAcks()
	}
	r.acksOwn = false
	if len(acks) > 0 && len(reads) == 0 {
		// The previous reply's acknowledgements go in the same round trip,
		// with a read that does not block: the XACK's reply, received after
		// the request went out, would make a blocking read's connection
		// look alive to the stale-connection sweep (see connSet) for as
		// long as it blocks, so that a path dying meanwhile went unnoticed
		// until the read's timeout (block time + command-timeout).
		nb := *args
		nb.Block = -1
		reads = append(reads, &nb)
	}
	reads = append(reads, args)
	err := errNilReply
	for i, a := range reads {
		if i > 0 && (r.ctx.Err() != nil || r.isPaused()) {
			break // err is errNilReply: nothing read
		}
		var with []*entry
		if i == 0 {
			with = acks
		}
		if err = r.readRESP(rc, with, a, keys); !errors.Is(err, errNilReply) {
			break // entries, or an error
		}
	}
	if errors.Is(err, errNilReply) {
		return nil
	}
	if err != nil {
		r.reader.drop()
		return err
	}
	r.inRead.Store(false)
	now := time.Now().UnixNano()
	n := 0
	for _, s := range r.rawStreams {
		n += len(s.ents)
	}
	es := r.replyBufN(n)
	for i := range r.rawStreams {
		s := &r.rawStreams[i]
		if len(s.ents) > 0 {
			r.mu.Lock()
			r.advance(s.key, s.ents[len(s.ents)-1].id)
			r.mu.Unlock()
		}
		es = r.acceptRESP(es, &r.slab, s.key, s.ents, 1, now)
		clear(s.ents) // the entries hold their strings now
	}
	r.handOn(es)
	return nil
}

// readRESP sends the XACKs of acks (if any) and the XREADGROUP a in one
// round trip over rc and reads their replies, the streams read into
// r.rawStreams; errNilReply when the read found nothing. The
// acknowledgements are settled (acked) once their replies are read, or
// handed to the acker when the round trip failed. Deadlines as go-redis
// set them: the reader's ReadTimeout (blockFor + command-timeout) for a
// pipeline or a read that does not block, a blocking read's block time
// and 10s for one alone.
func (r *run) readRESP(rc *respConn, acks []*entry, a *goredis.XReadGroupArgs, keys []string) error {
	c := r.c
	cmds := 0
	if len(acks) > 0 {
		rc.out, cmds = appendXAcks(rc.out, c.group, acks)
	}
	rc.out = appendXReadGroup(rc.out, a.Group, a.Consumer, a.Count, a.Block, a.Streams)
	rt := blockFor + c.bd.st.commandTimeout
	if cmds == 0 && a.Block > 0 {
		rt = a.Block + 10*time.Second
	}
	if err := rc.send(c.bd.st.commandTimeout, rt); err != nil {
		if len(acks) > 0 {
			r.acked(acks, true)
		}
		return err
	}
	r.whileWaiting(int(a.Count) * (len(a.Streams) / 2))
	failed := false
	for range cmds {
		if err := rc.readInt(); err != nil {
			var re replyError
			if !errors.As(err, &re) {
				r.acked(acks, true)
				return err
			}
			failed = true
		}
	}
	if len(acks) > 0 {
		if failed {
			r.acked(acks, true)
		} else {
			r.ackFailed.Store(false)
			r.ackedLater = acks // let go of while the next read is on its way
		}
	}
	var err error
	r.rawStreams, err = rc.readStreams(r.rawStreams[:0], keys)
	if err != nil && !errors.Is(err, errNilReply) {
		return err
	}
	if derr := rc.done(); derr != nil {
		return derr
	}
	return err
}

// whileWaiting does, while intake waits for the server to answer a read
// of up to n entries, what would otherwise come between two reads: it
// lets go of the entries the previous read acknowledged (acked, the
// held-entry index's deletions), and makes the entries' slabs and
// headers maps that decoding the reply would make. Its time is the
// server's, not the round trip's (BenchmarkRedisConsume: ~0.3 µs a
// message less between two reads). At most prefetch of each.
func (r *run) whileWaiting(n int) {
	r.settleAckedLater()
	n = min(n, r.c.cs.prefetch)
	for have := len(r.slab) + entrySlab*len(r.slabSpare); have < n; have += entrySlab {
		r.slabSpare = append(r.slabSpare, make([]entry, entrySlab))
	}
	r.hdrs.fill(n)
}

// settleAckedLater lets go of the entries whose acknowledgements the
// last read sent and the server took (see readRESP). Intake only.
func (r *run) settleAckedLater() {
	if es := r.ackedLater; es != nil {
		r.ackedLater = nil
		r.untrackAll(es)
		clear(es)
		r.readSpare = es[:0]
	}
}

// readStreams is XREADGROUP's STREAMS arguments for new entries of keys.
func readStreams(keys []string) []string {
	streams := make([]string, 0, 2*len(keys))
	streams = append(streams, keys...)
	for range keys {
		streams = append(streams, ">")
	}
	return streams
}

// historyPage is how many of its own pending entries readHistory looks
// at per XPENDING.
const historyPage = 256

// readHistory takes the consumer's own pending entries that it does not
// hold (Redis delivered them with a reply the connection lost, or an
// earlier run did not give them back) and returns complete false when it
// ran out of room first. Not with XREADGROUP ... 0: that counts a delivery
// of every pending entry of the consumer, those it holds (handling them,
// or holding them after a Nak) too, so that each lost connection spent a
// delivery (max-deliveries) of every entry held meanwhile. It lists them
// (XPENDING ... consumer, which counts nothing), resets the idle time of
// those it does not hold and still owns (touchScript: XCLAIM ... JUSTID,
// which counts nothing either, so no other member reclaims them while
// they wait here), and reads them with XRANGE; each keeps the delivery
// count Redis has for it.
func (r *run) readHistory() (complete bool, err error) {
	c := r.c
	for _, k := range r.snapshotKeys() {
		start := "-"
		for {
			room := r.room()
			if room <= 0 {
				return false, nil
			}
			if r.ctx.Err() != nil {
				return false, r.ctx.Err()
			}
			ctx, cancel := context.WithTimeout(r.ctx, c.bd.st.commandTimeout)
			pend, err := c.client.XPendingExt(ctx, &goredis.XPendingExtArgs{
				Stream: k, Group: c.group, Start: start, End: "+", Count: historyPage, Consumer: c.name,
			}).Result()
			if err != nil || len(pend) == 0 {
				cancel()
				if errors.Is(err, goredis.Nil) {
					err = nil
				}
				if err != nil {
					return false, err
				}
				break
			}
			start = "(" + pend[len(pend)-1].ID
			counts := make(map[string]int64)
			args := []any{c.group, c.name}
			r.mu.Lock()
			for _, p := range pend {
				if len(counts) == room {
					start = p.ID // from this one on, once there is room
					break
				}
				if _, held := r.held[entryRef{k, p.ID}]; !held {
					counts[p.ID] = p.RetryCount
					args = append(args, p.ID)
				}
			}
			r.mu.Unlock()
			if len(counts) == 0 {
				cancel()
				if len(pend) < historyPage {
					break
				}
				continue
			}
			owned, _, err := touch(ctx, c.client, k, args)
			if err != nil {
				cancel()
				return false, err
			}
			pipe := c.client.Pipeline()
			reads := make([]*goredis.XMessageSliceCmd, len(owned))
			for i, id := range owned {
				reads[i] = pipe.XRange(ctx, k, id, id)
			}
			if len(owned) > 0 {
				if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, goredis.Nil) {
					cancel()
					return false, err
				}
			}
			cancel()
			now := time.Now().UnixNano()
			es := r.reply[:0]
			if r.replies != nil {
				es = make([]*entry, 0, len(owned))
			}
			for i, id := range owned {
				ms, _ := reads[i].Result()
				if len(ms) == 0 || ms[0].ID != id {
					ms = []goredis.XMessage{{ID: id}} // deleted: accept acknowledges it (gone)
				}
				r.advanceTo(k, ms)
				es = r.accept(es, &r.slab, k, ms, counts[id], now)
			}
			r.handOn(es)
		}
	}
	return true, nil
}

// readFailed reacts to a failed read: a group that is gone is created
// again (after the last entry received); an error no retry fixes marks
// the binding down.
func (r *run) readFailed(err error, fails int) {
	c := r.c
	switch {
	case isNoGroup(err):
		c.log.Warn("redis: the consumer group (or its stream) is gone; creating it again", "error", c.bd.logErr(err))
		// Before the group exists again: the entries held now are in no
		// pending list, and a dead letter's check must not take that for
		// an acknowledgement (its dead letter would be lost).
		r.mu.Lock()
		for _, e := range r.held {
			e.regrouped.Store(true)
		}
		r.mu.Unlock()
		ctx, cancel := context.WithTimeout(r.ctx, c.bd.st.commandTimeout)
		defer cancel()
		for _, k := range r.snapshotKeys() {
			r.mu.Lock()
			start := r.lastIDs[k]
			r.mu.Unlock()
			if start == "" {
				start = "0"
			}
			if gerr := ensureGroup(ctx, c.client, k, c.group, start); gerr != nil {
				gerr = c.bd.wrap(gerr, "redis: consumer %s cannot consume", c.spec.Binding)
				c.SetHealth(gerr)
				c.log.Warn("redis: cannot create the consumer group again", "error", c.bd.logErr(gerr))
				return
			}
		}
		c.SetHealth(nil)
	case isTransient(err):
		lvl := slog.LevelDebug
		if fails > 1 {
			lvl = slog.LevelWarn
		}
		c.log.Log(context.Background(), lvl, "redis: reading failed; retrying", "attempt", fails, "error", c.bd.logErr(err))
	default:
		err = c.bd.wrap(err, "redis: consumer %s cannot read %s", c.spec.Binding, strings.Join(r.snapshotKeys(), ", "))
		c.SetHealth(err)
		c.log.Warn("redis: reading refused; retrying with back-off", "attempt", fails, "error", c.bd.logErr(err))
	}
}

// intakeAnonymous reads with XREAD after the last entry it saw of each
// stream (at Start: the streams' last entries) until Stop.
func (r *run) intakeAnonymous() {
	defer r.intakeEnded()
	c := r.c
	back := dispatch.Backoff{Initial: 50 * time.Millisecond, Max: 5 * time.Second}
	fails := 0
	var refreshed time.Time
	for r.waitRoom() {
		var err error
		if time.Since(refreshed) >= partitionRefresh {
			refreshed = time.Now()
			err = r.refreshKeys()
		}
		if err == nil {
			err = r.readAnonymous()
		}
		if err == nil {
			fails = 0
			c.SetHealth(nil)
			continue
		}
		if r.ctx.Err() != nil {
			return
		}
		fails++
		if isTransient(err) {
			c.log.Debug("redis: reading failed; retrying", "attempt", fails, "error", c.bd.logErr(err))
		} else {
			err = c.bd.wrap(err, "redis: consumer %s cannot read", c.spec.Binding)
			c.SetHealth(err)
			c.log.Warn("redis: reading refused; retrying with back-off", "attempt", fails, "error", c.bd.logErr(err))
		}
		if !dispatch.Sleep(r.ctx, back.Delay(fails)) {
			return
		}
	}
}

func (r *run) readAnonymous() error {
	r.mu.Lock()
	streams := make([]string, 0, 2*len(r.keys))
	streams = append(streams, r.keys...)
	for _, k := range r.keys {
		streams = append(streams, r.lastIDs[k])
	}
	r.mu.Unlock()
	cn, err := r.reader.use(r.ctx, r.c.bd.st.commandTimeout)
	if err != nil {
		return err
	}
	res, err := cn.XRead(context.Background(), &goredis.XReadArgs{
		Streams: streams, Count: int64(max(r.room(), 1)), Block: blockFor,
	}).Result()
	if errors.Is(err, goredis.Nil) {
		return nil
	}
	if err != nil {
		r.reader.drop()
		return err
	}
	now := time.Now().UnixNano()
	es := r.replyBuf(res)
	for _, s := range res {
		r.advanceTo(s.Stream, s.Messages)
		es = r.accept(es, &r.slab, s.Stream, s.Messages, 0, now)
	}
	r.handOn(es)
	return nil
}

// accept tracks the received entries ms of stream key (those the run
// does not hold already) and appends them to es, for dispatch: every entry
// of a reply is held (kept from other members' reclaims) before the first
// is handled. n is their delivery count (0: unknown), now when they were
// read. The entries are taken from *slab (the caller's; refilled here),
// one allocation for many entries; the run's lock is taken once for all
// of them.
func (r *run) accept(es []*entry, slab *[]entry, key string, ms []goredis.XMessage, n, now int64) []*entry {
	first := len(es)
	for _, m := range ms {
		if m.Values == nil {
			r.gone(key, m.ID)
			continue
		}
		e := newEntry(slab, key, m.ID, n, now)
		// Inline, the handling goroutine decodes (dispatch), off intake's
		// round trips; else decoded here, before taking the lock (workers
		// settle other entries meanwhile).
		if r.replies == nil {
			e.env = decode(m.Values)
			setDeliveries(&e.env, n)
		} else {
			e.vals = m.Values
		}
		es = append(es, e)
	}
	return r.holdAccepted(es, first, key)
}

// acceptRESP is accept of entries respConn read.
func (r *run) acceptRESP(es []*entry, slab *[]entry, key string, ms []rawEntry, n, now int64) []*entry {
	first := len(es)
	for _, m := range ms {
		if m.resp == "" {
			r.gone(key, m.id)
			continue
		}
		if len(*slab) == 0 && slab == &r.slab {
			r.nextSlab()
		}
		e := newEntry(slab, key, m.id, n, now)
		if r.replies == nil { // as accept
			if r.c.spec.LazyHeaders {
				e.env = decodeRESPLazy(m.resp, &e.hdr, n)
			} else {
				e.env = decodeRESPWith(m.resp, &r.hdrs)
				setDeliveries(&e.env, n)
			}
		} else {
			e.resp = m.resp
		}
		es = append(es, e)
	}
	return r.holdAccepted(es, first, key)
}

// nextSlab makes the next of intake's slabs one made ahead, if there is
// one (see whileWaiting).
func (r *run) nextSlab() {
	if k := len(r.slabSpare); k > 0 {
		r.slab = r.slabSpare[k-1]
		r.slabSpare[k-1] = nil
		r.slabSpare = r.slabSpare[:k-1]
	}
}

// newEntry takes an entry from *slab (refilled here) for entry id of
// stream key, delivered n times, read at now.
func newEntry(slab *[]entry, key, id string, n, now int64) *entry {
	if len(*slab) == 0 {
		*slab = make([]entry, entrySlab)
	}
	e := &(*slab)[0]
	*slab = (*slab)[1:]
	e.key, e.id, e.n = key, id, n
	e.touched.Store(now)
	return e
}

// holdAccepted records the entries es[first:] of stream key as held,
// leaving out those the run holds already, and returns es with those
// kept.
func (r *run) holdAccepted(es []*entry, first int, key string) []*entry {
	if len(es) == first {
		return es
	}
	kept := es[:first]
	r.mu.Lock()
	part, ok := r.parts[key]
	if !ok {
		part = -1
	}
	for _, e := range es[first:] {
		ref := e.ref()
		if _, dup := r.held[ref]; dup {
			e.env, e.vals, e.resp, e.hdr = stream.Envelope{}, nil, "", respHeaders{} // its slab may live on
			continue
		}
		e.part = part
		r.held[ref] = e
		kept = append(kept, e)
	}
	r.mu.Unlock()
	r.unsettled.Add(int64(len(kept) - first))
	clear(es[len(kept):])
	return kept
}

// gone acknowledges a pending entry whose stream entry is gone (trimmed by
// max-length or max-age, or deleted) before it was handled.
func (r *run) gone(key, id string) {
	c := r.c
	r.mu.Lock()
	r.advance(key, id)
	r.mu.Unlock()
	c.log.Error("redis: a pending entry was deleted from its stream before it was handled (trimmed by max-length or max-age?); acknowledging it", "stream", key, "id", id)
	if c.group != "" {
		ctx, cancel := context.WithTimeout(r.ctx, c.bd.st.commandTimeout)
		_ = c.client.XAck(ctx, key, c.group, id).Err()
		cancel()
	}
}

// replyBuf returns an empty slice for the entries of res: intake's own,
// or (inline, where the slice is handed on) a new one.
func (r *run) replyBuf(res []goredis.XStream) []*entry {
	n := 0
	for _, s := range res {
		n += len(s.Messages)
	}
	return r.replyBufN(n)
}

// replyBufN is replyBuf for n entries.
func (r *run) replyBufN(n int) []*entry {
	if r.replies == nil {
		return r.reply[:0]
	}
	return make([]*entry, 0, n)
}

// handOn passes the accepted entries of a reply on: inline to the handling
// goroutine (given back if the run stops first), else to the pool.
func (r *run) handOn(es []*entry) {
	if r.replies == nil {
		r.reply = r.dispatch(es)
		return
	}
	if len(es) == 0 {
		return
	}
	if r.handedOn.Load() == 0 && r.entryCost.Load() < int64(intakeEntryCost) {
		// Cheap entries, and the handling goroutine has handled all it was
		// given (their order): handled here, see intakeEntryCost.
		n := len(es)
		if es = r.handleOnIntake(es); len(es) == 0 {
			if n <= r.limit()/2 {
				// As when the handling goroutine handles a reply that
				// leaves intake room to read at once: its
				// acknowledgements go out on their own (acker), not in
				// the next blocking read's pipeline, whose XACK reply
				// would make the reader's connection look alive to the
				// sweep if its path died meanwhile (see connSet).
				r.acksOwn = true
				r.flushAcks()
			}
			return
		}
	}
	r.handedOn.Add(1)
	select {
	case r.replies <- es:
	case <-r.ctx.Done():
		r.handedOn.Add(-1)
		for _, e := range es {
			r.giveBackUnhandled(e)
		}
	}
}

// handleOnIntake handles the entries of es on intake and returns those
// left for the handling goroutine: once intake could read again (half of
// the hold limit settled), the rest if the last two chunks of costChunk entries
// cost intakeEntryCost or more each (checked after every chunk from then
// on, so that a handler turning slow for good delays the read that intake
// could make by 2*costChunk of its calls at most; before, intake could not
// read anyway; a handler slow only now and then — one chunk in two — is
// handled here to the reply's end, at most prefetch entries, while its
// acknowledgements still go out on ackLinger). Two chunks, not the entries so far: one stall of the process
// (preempted on a loaded machine, a GC assist) made the whole reply look
// costly: 13-18% of BenchmarkRedisConsume's replies were handed on so
// on the loaded 2-core machine (2-6% since; 2026-12-05).
func (r *run) handleOnIntake(es []*entry) []*entry {
	r.intakeHandling.Store(true)
	defer r.intakeHandling.Store(false)
	var cm costMeter
	cm.start()
	for i := range es {
		r.dispatchWith(es[i:i+1], &r.hdrs)
		n := i + 1
		if n%costChunk != 0 {
			continue
		}
		last := cm.chunk()
		// Until half of the hold limit is settled intake could not read anyway.
		if n < len(es) && last >= intakeEntryCost && cm.prev >= intakeEntryCost && r.unsettled.Load() <= int64(r.limit()/2) {
			r.measured(min(last, cm.prev))
			return es[n:]
		}
		cm.prev = last
	}
	r.measured(cm.cost(len(es)))
	return nil
}

// measured records what the entries of a reply just handled cost each
// (inline runs): for handOn's choice (entryCost) and for the hold limit
// (consumer.noteCost).
func (r *run) measured(d time.Duration) {
	r.entryCost.Store(int64(d))
	r.c.noteCost(d)
}

// costChunk is how many entries costMeter times at a time.
const costChunk = 16

// costMeter times the handling of a reply's entries in chunks of
// costChunk. The reply's cost an entry (entryCost) is its cheapest
// chunk's: a handler that is slow is slow in every chunk, while a stall
// of the process shows in one.
type costMeter struct {
	from       time.Time
	n          int           // entries in the chunks timed
	best, prev time.Duration // cheapest chunk so far, an entry; the previous chunk's (handleOnIntake)
}

func (m *costMeter) start() { m.from, m.best = time.Now(), -1 }

// chunk ends a chunk of costChunk entries and returns its cost an entry.
func (m *costMeter) chunk() time.Duration {
	now := time.Now()
	c := now.Sub(m.from) / costChunk
	m.from = now
	m.n += costChunk
	if m.best < 0 || c < m.best {
		m.best = c
	}
	return c
}

// cost is the cost an entry of the n entries handled: the cheapest
// chunk's, or with no whole chunk the entries' own.
func (m *costMeter) cost(n int) time.Duration {
	if m.best >= 0 {
		return m.best
	}
	return time.Since(m.from) / time.Duration(max(n-m.n, 1))
}

// intakeEnded closes replies (inline) and intakeDone.
func (r *run) intakeEnded() {
	r.settleAckedLater()
	if r.replies != nil {
		close(r.replies)
	}
	close(r.intakeDone)
}

// handler is the handling goroutine of an inline run (see run.inline).
func (r *run) handler() {
	defer close(r.handlerDone)
	for es := range r.replies {
		var cm costMeter
		cm.start()
		for len(es) > costChunk {
			r.dispatch(es[:costChunk])
			es = es[costChunk:]
			cm.chunk()
		}
		r.dispatch(es)
		r.measured(cm.cost(cm.n + len(es)))
		r.handedOn.Add(-1)
		// Intake waiting in a read would send these only with its next
		// one; set before it takes them, inRead tells (see readNew).
		if len(r.replies) == 0 && r.inRead.Load() {
			r.flushAcks()
		}
	}
}

// dispatch hands the accepted entries es to the pool (inline: handles
// them), in order, and returns es emptied, for reuse.
func (r *run) dispatch(es []*entry) []*entry { return r.dispatchWith(es, nil) }

// dispatchWith is dispatch taking headers maps from hdrs (intake's, see
// whileWaiting; nil: made as needed).
func (r *run) dispatchWith(es []*entry, hdrs *headerMaps) []*entry {
	for _, e := range es {
		if e.vals != nil {
			e.env, e.vals = decode(e.vals), nil
			setDeliveries(&e.env, e.n)
		} else if e.resp != "" && r.c.spec.LazyHeaders {
			e.env, e.resp = decodeRESPLazy(e.resp, &e.hdr, e.n), ""
		} else if e.resp != "" {
			e.env, e.resp = decodeRESPWith(e.resp, hdrs), ""
			setDeliveries(&e.env, e.n)
		}
		rt := ""
		if !r.inline { // one worker: no route to pick
			rt = route(e)
		}
		if !r.pool.Submit(r.ctx, rt, e) {
			r.giveBackUnhandled(e)
		}
	}
	clear(es)
	return es[:0]
}

// advanceTo records the entries ms of stream key (in ID order, as every
// reply has them) as read.
func (r *run) advanceTo(key string, ms []goredis.XMessage) {
	if len(ms) == 0 {
		return
	}
	r.mu.Lock()
	r.advance(key, ms[len(ms)-1].ID)
	r.mu.Unlock()
}

// advance records id as read from stream key if it is past the last one
// recorded. The caller holds r.mu.
func (r *run) advance(key, id string) {
	if cur := r.lastIDs[key]; cur == "" || compareIDs(id, cur) > 0 {
		r.lastIDs[key] = id
	}
}

// settled marks e settled (its acknowledgement is on the way, or it is
// given back): it no longer counts against the hold limit.
func (r *run) settled(e *entry) {
	if !e.settled.CompareAndSwap(false, true) {
		return
	}
	if r.unsettled.Add(-1); r.mayRead() {
		// Intake waits (waitRoom) until at most half of the limit is
		// unsettled: waking it for each entry settled above that would
		// only cost a hand-off per entry.
		r.signal()
	}
}

// untrack lets go of e for good.
func (r *run) untrack(e *entry) {
	r.settled(e)
	r.mu.Lock()
	delete(r.held, e.ref())
	r.mu.Unlock()
	e.env, e.vals, e.resp, e.hdr = stream.Envelope{}, nil, "", respHeaders{} // its slab (see accept) may live on: not the payload
}

// untrackAll lets go for good of acknowledged (settled) entries.
func (r *run) untrackAll(es []*entry) {
	r.mu.Lock()
	for _, e := range es {
		delete(r.held, e.ref())
	}
	r.mu.Unlock()
	for _, e := range es {
		e.env, e.hdr = stream.Envelope{}, respHeaders{} // as untrack
	}
}

// giveBack lets go of an entry that was not settled: it stays pending
// (with this consumer until Stop parks it for the group).
func (r *run) giveBack(e *entry) { r.untrack(e) }

// giveBackUnhandled gives back an entry no handler call saw (read ahead,
// then Stop): release parks it so that the claim that takes it again does
// not count a delivery (see release).
func (r *run) giveBackUnhandled(e *entry) {
	r.mu.Lock()
	if r.unhandled == nil {
		r.unhandled = map[entryRef]struct{}{}
	}
	r.unhandled[e.ref()] = struct{}{}
	r.mu.Unlock()
	r.giveBack(e)
}

// reclaimer takes over, every claim-interval (at Start intakeGroup does),
// entries of the group that were delivered to some member and left
// unacknowledged for claim-min-idle: a crashed or stopped member's.
func (r *run) reclaimer() {
	defer close(r.reclaimDone)
	t := time.NewTicker(r.c.cs.claimInterval)
	defer t.Stop()
	lastCleanup := time.Now()
	var more bool
	select { // intakeGroup made the Start's reclaim
	case more = <-r.startReclaim:
	case <-r.ctx.Done():
		return
	}
	for {
		if time.Since(lastCleanup) >= cleanupEvery {
			lastCleanup = time.Now()
			r.cleanup()
		}
		var ok bool
		if more, ok = r.reclaimRound(more, t.C); !ok {
			return
		}
	}
}

// reclaimRound waits for the next reclaim and makes it unless the run is
// paused. It returns whether more idle entries may wait, and false as ok
// when the run stops. A paused round keeps more: the entries still wait,
// and after Resume they are taken as soon as there is room, not a
// claim-interval later.
func (r *run) reclaimRound(more bool, tick <-chan time.Time) (next, ok bool) {
	if more {
		// More entries wait than there was room for (members that died
		// together, a crash loop): take the next ones as soon as half of
		// the hold limit is free, not a claim-interval later.
		if !r.waitReclaimRoom(tick) {
			return false, false
		}
	} else {
		select {
		case <-tick:
		case <-r.ctx.Done():
			return false, false
		}
	}
	if r.isPaused() {
		return more, true
	}
	return r.reclaim(false), true
}

// waitReclaimRoom waits, as waitRoom does for intake, until the run is not
// paused and holds at most half of its hold limit, or for the next tick
// (so a busy member looks at least every claim-interval, as before).
// False when the run stops.
func (r *run) waitReclaimRoom(tick <-chan time.Time) bool {
	for {
		r.mu.Lock()
		ok := !r.paused && r.mayRead()
		r.mu.Unlock()
		if ok {
			return r.ctx.Err() == nil
		}
		select {
		case <-r.reclaimWake:
		case <-tick:
			return r.ctx.Err() == nil
		case <-r.ctx.Done():
			return false
		}
	}
}

// reclaim claims, on each of the run's streams and up to the run's room,
// the group's pending entries idle for claim-min-idle (members that died
// or stopped; XPENDING IDLE, then XCLAIM) and hands them to the handler.
// It reports whether more idle entries may wait: a stream's page was full
// and claimed (whatever of it was still there and idle), or there was no
// room to look. The caller then looks again once room frees rather than a
// claim-interval later (claimed entries take room, so each look after the
// first waits for their settling: no busy loop). The Start's reclaim
// (start) takes what prefetch has room for, not only what the hold limit
// allows: the entries a stopped member gave back are to be handled before
// newer ones of their partition or key (see intakeGroup), and a new
// member has no measured cost yet.
func (r *run) reclaim(start bool) (more bool) {
	c := r.c
	for _, k := range r.snapshotKeys() {
		room := r.room()
		if start {
			room = c.cs.prefetch - int(r.unsettled.Load())
		}
		if r.ctx.Err() != nil {
			return false
		}
		if room <= 0 {
			return true
		}
		ctx, cancel := context.WithTimeout(r.ctx, c.bd.st.commandTimeout)
		pend, err := c.client.XPendingExt(ctx, &goredis.XPendingExtArgs{
			Stream: k, Group: c.group, Idle: c.cs.claimMinIdle, Start: "-", End: "+", Count: int64(room),
		}).Result()
		if err != nil {
			cancel()
			if r.ctx.Err() == nil && !isNoGroup(err) {
				c.log.Debug("redis: looking for idle pending entries failed", "stream", k, "error", c.bd.logErr(err))
			}
			continue
		}
		counts := make(map[string]int64, len(pend))
		from := map[string]int{}
		ids := make([]string, 0, len(pend))
		r.mu.Lock()
		for _, p := range pend {
			if _, held := r.held[entryRef{k, p.ID}]; held {
				continue
			}
			ids = append(ids, p.ID)
			counts[p.ID] = p.RetryCount
			from[p.Consumer]++
		}
		r.mu.Unlock()
		if len(ids) == 0 {
			cancel()
			continue
		}
		msgs, err := c.client.XClaim(ctx, &goredis.XClaimArgs{
			Stream: k, Group: c.group, Consumer: c.name, MinIdle: c.cs.claimMinIdle, Messages: ids,
		}).Result()
		cancel()
		if err != nil {
			if r.ctx.Err() == nil {
				c.log.Debug("redis: claiming idle pending entries failed", "stream", k, "error", c.bd.logErr(err))
			}
			continue
		}
		// A full page may have more behind it, also when XCLAIM took none
		// of it: Redis 7 drops entries deleted from the stream (trimmed)
		// from the pending list without returning them, and another
		// member may have claimed them first. Either way they are no
		// longer idle pending entries, so the next look sees others: no
		// busy loop.
		if len(pend) >= room {
			more = true
		}
		if len(msgs) > 0 {
			c.log.Info("redis: reclaimed entries left pending by other members", "stream", k, "entries", len(msgs), "from", from, "claim-min-idle", c.cs.claimMinIdle)
		}
		now := time.Now().UnixNano()
		var es []*entry
		var slab []entry
		r.advanceTo(k, msgs)
		for i, m := range msgs { // each with its own delivery count
			es = r.accept(es, &slab, k, msgs[i:i+1], counts[m.ID]+1, now)
		}
		r.dispatch(es)
		r.flushAcks()
	}
	return more
}

// cleanup deletes the group's consumers that have no pending entries and
// have not read for consumerExpiry (those of crashed instances, once
// their entries were reclaimed).
func (r *run) cleanup() {
	c := r.c
	for _, k := range r.snapshotKeys() {
		ctx, cancel := context.WithTimeout(r.ctx, c.bd.st.commandTimeout)
		cs, err := c.client.XInfoConsumers(ctx, k, c.group).Result()
		if err == nil {
			for _, x := range cs {
				if x.Name != c.name && x.Pending == 0 && x.Idle >= consumerExpiry {
					if n, err := dropConsumerScript.Run(ctx, c.client, []string{k}, c.group, x.Name).Int(); err == nil && n == 1 {
						c.log.Info("redis: deleted a consumer of the group that has not read for a long time", "stream", k, "consumer", x.Name, "idle", x.Idle)
					}
				}
			}
		}
		cancel()
	}
}

// keeper resets the idle time of held entries every claim-min-idle / 3,
// so that no other member reclaims an entry that waits for its turn or
// whose handler runs long.
func (r *run) keeper() {
	defer close(r.keeperDone)
	c := r.c
	every := max(c.cs.claimMinIdle/3, 10*time.Millisecond)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-r.keeperStop:
			return
		}
		r.flushAcks() // see run.inline
		now := time.Now().UnixNano()
		due := map[string][]*entry{}
		r.mu.Lock()
		for _, e := range r.held {
			if now-e.touched.Load() >= int64(every) && !e.lost.Load() && !e.settled.Load() {
				due[e.key] = append(due[e.key], e)
			}
		}
		r.mu.Unlock()
		for k, es := range due {
			for i := 0; i < len(es); i += 256 {
				chunk := es[i:min(i+256, len(es))]
				args := make([]any, 0, len(chunk)+2)
				args = append(args, c.group, c.name)
				for _, e := range chunk {
					args = append(args, e.id)
				}
				ctx, cancel := context.WithTimeout(context.Background(), c.bd.st.commandTimeout)
				owned, taken, err := touch(ctx, c.client, k, args)
				cancel()
				if err != nil {
					c.log.Debug("redis: keeping held entries from reclaim failed", "stream", k, "error", c.bd.logErr(err))
					continue
				}
				mine := make(map[string]bool, len(owned))
				for _, id := range owned {
					mine[id] = true
				}
				// Only entries another consumer owns now are lost to it; one
				// pending with no one (trimmed from the stream while held) is
				// handled still: its fields are here.
				theirs := make(map[string]bool, len(taken))
				for _, id := range taken {
					theirs[id] = true
				}
				lost, first := 0, ""
				for _, e := range chunk {
					if mine[e.id] {
						e.touched.Store(now)
					} else if theirs[e.id] && !e.settled.Load() && e.lost.CompareAndSwap(false, true) {
						if lost == 0 {
							first = e.id
						}
						lost++
					}
				}
				if lost > 0 {
					// One line for all: after a pause every held entry is gone.
					c.log.Warn("redis: another member reclaimed entries this consumer held (a handler ran past claim-min-idle, or the process or its connection was stopped that long); those not handled yet are left to it, one in a handler now may be handled twice", "stream", k, "entries", lost, "first", first, "claim-min-idle", c.cs.claimMinIdle)
				}
			}
		}
	}
}

// acker acknowledges settled entries (XACK), many per pipeline, retrying
// transient failures with back-off, and lets go of them once Redis has
// the acknowledgement.
func (r *run) acker() {
	defer close(r.ackDone)
	var spare []*entry
	for {
		select {
		case <-r.ackFlush:
		case <-r.ackStop:
			// Nothing acknowledges any more (finish): send what is left,
			// giving up after command-timeout.
			r.ackLeft = r.ackAll(r.takeAcksInto(nil), true)
			return
		}
		if r.ctx.Err() != nil && r.ackFailed.Load() {
			// Stopping, and the server did not take the last ones: left
			// for the final flush (ackStop), which is bounded; an attempt
			// here would wait command-timeout first. While it answers,
			// they go on being sent as they come (a handler that Stop
			// waits for long does not hold the others' acknowledgements
			// until they are reclaimed).
			continue
		}
		es := r.takeAcksInto(spare)
		r.ackAll(es, false)
		clear(es)
		spare = es[:0]
	}
}

// lingerFired runs when lingerT fires: it wakes the acker if the oldest
// kept acknowledgement is ackLinger old, else arms lingerT for when it
// will be (intake took the ones that armed it, and newer ones came).
func (r *run) lingerFired() {
	since := r.ackSince.Load()
	if since == 0 {
		return // taken by intake
	}
	if wait := ackLinger - time.Duration(time.Now().UnixNano()-since); wait > 0 {
		r.lingerT.Reset(wait)
		return
	}
	r.flushAcks()
}

// takeAcksInto takes the gathered acknowledgements, leaving spare (emptied)
// as the buffer.
func (r *run) takeAcksInto(spare []*entry) []*entry {
	r.ackMu.Lock()
	es := r.ackBuf
	r.ackBuf = spare[:0]
	r.ackSince.Store(0)
	r.ackMu.Unlock()
	return es
}

// takeAcks takes the gathered acknowledgements for the reader to send
// (inline runs only; nil otherwise). The reader gives the slice back with
// acked.
func (r *run) takeAcks() []*entry {
	if !r.inline || r.ackSince.Load() == 0 {
		return nil
	}
	es := r.takeAcksInto(r.readSpare)
	r.readSpare = nil
	return es
}

// queueAcks queues on pipe the XACKs of es (entries of one group): one
// per stream (and ackBatch entries).
func queueAcks(pipe goredis.Pipeliner, group string, es []*entry) []*goredis.Cmd {
	keys := []string{es[0].key}
	for _, e := range es {
		if !slices.Contains(keys, e.key) {
			keys = append(keys, e.key)
		}
	}
	cmds := make([]*goredis.Cmd, 0, len(keys))
	var args []any // XACK key group id...: built here, not from a []string copy
	for _, k := range keys {
		for _, e := range es {
			if e.key != k {
				continue
			}
			if len(args) == 0 {
				args = make([]any, 0, 3+min(len(es), ackBatch))
				args = append(args, "XACK", k, group)
			}
			// &e.id, not e.id: a string in an interface is boxed, an
			// allocation per message; go-redis writes a *string as the
			// string, and the entry outlives the command.
			args = append(args, &e.id)
			if len(args) == 3+ackBatch {
				cmds = append(cmds, pipe.Do(context.Background(), args...))
				args = nil
			}
		}
		if len(args) > 0 {
			cmds = append(cmds, pipe.Do(context.Background(), args...))
			args = nil
		}
	}
	return cmds
}

// acked settles the reader's pipelined acknowledgements of es: let go of
// once Redis has them; when a XACK failed, handed to the acker, which
// retries.
func (r *run) acked(es []*entry, failed bool) {
	r.ackFailed.Store(failed)
	if failed {
		r.ackMu.Lock()
		if len(r.ackBuf) == 0 {
			r.ackSince.Store(time.Now().UnixNano())
		}
		r.ackBuf = append(r.ackBuf, es...)
		r.ackMu.Unlock()
		select {
		case r.ackFlush <- struct{}{}:
		default:
		}
		es = nil
	}
	if es != nil {
		r.untrackAll(es)
	}
	clear(es)
	r.readSpare = es[:0]
}

// ackAll acknowledges es, ackBatch entries per XACK (pipeline), and lets go
// of them, retrying transient failures with back-off. Once the run is
// stopping it retries no more: what failed goes back to ackBuf for the
// final flush (final), which retries each batch for command-timeout at most and then
// gives up on what is left: a server that does not answer must not hold
// Stop, and Close, for their whole ctx (it held them so: the retries went
// on until the binder's Close cancelled bg, after its ctx had run out).
// Entries given up on stay pending and are delivered again (to another
// member, after release or claim-min-idle): duplicates, never losses.
// ackAll returns how many entries it gave up on after transient failures
// (the server did not answer in time).
func (r *run) ackAll(es []*entry, final bool) int {
	for len(es) > 0 {
		batch := es[:min(len(es), ackBatch)]
		if n, ended := r.ackOneBatch(es, batch, final); ended {
			return n
		}
		r.untrackAll(batch)
		es = es[len(batch):]
	}
	return 0
}

// ackOneBatch acknowledges batch, the first of es, as ackAll describes; ended
// says that ackAll returns n (es given up, or handed to the final flush).
// A final flush gives each batch command-timeout from its first attempt: a
// long flush over a slow path that answers is not given up while it
// progresses; a server that does not answer fails the first batch, and the
// rest with it.
func (r *run) ackOneBatch(es, batch []*entry, final bool) (n int, ended bool) {
	c := r.c
	back := dispatch.Backoff{Initial: 50 * time.Millisecond, Max: 2 * time.Second}
	ctx := c.bd.bg
	if final {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.bd.st.commandTimeout)
		defer cancel()
	}
	for attempt := 1; ; attempt++ {
		err := r.xack(ctx, batch)
		r.ackFailed.Store(err != nil)
		if err == nil {
			return 0, false
		}
		if !isTransient(err) {
			c.log.Warn("redis: acknowledging failed; the entries will be delivered again", "entries", len(batch), "error", c.bd.logErr(err))
			return 0, false
		}
		retry := false
		if final {
			retry = ctx.Err() == nil && dispatch.Sleep(ctx, back.Delay(attempt))
		} else if ctx.Err() == nil {
			// r.ctx: Stop ends the back-off.
			retry = dispatch.Sleep(r.ctx, back.Delay(attempt))
			if !retry && r.ctx.Err() != nil {
				// Stopping: the final flush sends these, bounded.
				r.ackMu.Lock()
				r.ackBuf = append(r.ackBuf, es...)
				r.ackMu.Unlock()
				return 0, true
			}
		}
		if !retry {
			if final && c.bd.bg.Err() == nil {
				c.log.Warn("redis: acknowledging got no answer within command-timeout while stopping; the entries may be delivered again", "entries", len(es), "error", c.bd.logErr(err))
			} else {
				c.log.Warn("redis: acknowledging failed; the entries will be delivered again", "entries", len(es), "error", c.bd.logErr(err))
			}
			r.untrackAll(es)
			return len(es), true
		}
		c.log.Debug("redis: acknowledging failed; retrying", "attempt", attempt, "error", c.bd.logErr(err))
	}
}

// flushAcks asks the acker to send the acknowledgements gathered so far
// now (inline: the reader is not about to read).
func (r *run) flushAcks() {
	if r.inline && r.c.group != "" && r.ackSince.Load() != 0 {
		select {
		case r.ackFlush <- struct{}{}:
		default:
		}
	}
}

// hold is pool.Hold, the acknowledgements gathered so far sent first.
func (r *run) hold(d time.Duration) bool {
	r.flushAcks()
	return r.pool.Hold(d)
}

// xack acknowledges es (entries of the group) in one round trip, bounded
// by ctx and command-timeout: an XACK
// per stream, built as intake builds those it pipelines (queueAcks).
func (r *run) xack(ctx context.Context, es []*entry) error {
	c := r.c
	ctx, cancel := context.WithTimeout(ctx, c.bd.st.commandTimeout)
	defer cancel()
	pipe := c.client.Pipeline()
	cmds := queueAcks(pipe, c.group, es)
	_, _ = pipe.Exec(ctx)
	for _, cmd := range cmds {
		if err := cmd.Err(); err != nil {
			return err
		}
	}
	return nil
}

// ack settles entries as done: acknowledged (a group) or let go
// (anonymous). Only after the handler succeeded, or the entry was dead-
// lettered or dropped.
func (r *run) ack(es ...*entry) {
	if r.c.group == "" {
		for _, e := range es {
			r.untrack(e)
		}
		return
	}
	for _, e := range es {
		r.settled(e)
	}
	r.ackMu.Lock()
	first := len(r.ackBuf) == 0
	if first {
		r.ackSince.Store(time.Now().UnixNano())
	}
	r.ackBuf = append(r.ackBuf, es...)
	r.ackMu.Unlock()
	if r.inline {
		// Usually sent with the next read (see run.inline).
		if first {
			r.lingerT.Reset(ackLinger)
		}
		return
	}
	select {
	case r.ackFlush <- struct{}{}:
	default:
	}
}

// Done is closed when everything of the run has finished (see finish);
// the next Start waits for it.
func (r *run) Done() <-chan struct{} { return r.done }

func (r *run) Pause(ctx context.Context) error {
	r.mu.Lock()
	r.paused = true
	r.mu.Unlock()
	r.signal()
	// The read in flight ends beside Pause, which does not wait for the
	// server's answer: a server that does not answer held Pause for its
	// whole ctx (then nil). What that read brings is held until Resume
	// (the pool is paused below). The goroutine is the run's: Stop cancels
	// it (it sends its own) and finish waits for it, so that Stop and
	// Close (bounded by their ctx) do not return while it still uses the
	// client.
	uctx, ucancel := context.WithCancel(context.WithoutCancel(ctx))
	stopped := context.AfterFunc(r.ctx, ucancel)
	r.unblocks.Go(func() {
		defer ucancel()
		defer stopped()
		_ = r.unblock(uctx)
	})
	err := r.pool.Pause(ctx)
	r.flushAcks() // intake reads no more: they would wait for Resume
	return err
}

func (r *run) Resume() {
	r.mu.Lock()
	r.paused = false
	r.mu.Unlock()
	r.pool.Resume()
	r.signal()
}

// unblock ends the reader's blocking read at once (CLIENT UNBLOCK); where
// the ACL refuses it, the read ends within blockFor. Bounded by ctx (the
// caller's Pause or Stop) as well as command-timeout: a server that does
// not answer must not hold Stop past its ctx. It returns the failure.
func (r *run) unblock(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, r.c.bd.st.commandTimeout)
	defer cancel()
	if unblockHook != nil {
		unblockHook(ctx)
	}
	id := r.reader.id.Load()
	if id == 0 {
		return nil
	}
	err := r.c.client.ClientUnblock(ctx, id).Err()
	if err != nil {
		r.c.log.Debug("redis: CLIENT UNBLOCK failed; the read ends within its block time", "error", r.c.bd.logErr(err))
	}
	return err
}

// Stop ends intake and reclaiming, waits (bounded by ctx) for the handler
// calls in flight and the acknowledgements, then gives the consumer's
// pending entries back to the group. What ctx does not leave time for
// goes on in the background.
func (r *run) Stop(ctx context.Context) error {
	r.cancel()
	r.signal()
	var errs []error
	go r.finishOnce.Do(r.finish)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	// A CLIENT UNBLOCK that got no answer (not one the server refused: then
	// the read ends within blockFor) cuts the reader's connection.
	unblock := func() {
		if err := r.unblock(ctx); err != nil && redisError(err) == nil {
			r.reader.cut()
		}
	}
	unblock()
wait:
	for !r.intakeHandling.Load() { // handling: the pool's Stop waits for it
		select {
		case <-r.intakeDone:
			break wait
		case <-tick.C:
			select {
			case <-r.intakeDone:
				break wait
			default:
			}
			unblock()
		case <-ctx.Done():
			errs = append(errs, fmt.Errorf("intake still reading: %w", ctx.Err()))
			break wait
		}
	}
	if err := r.pool.Stop(ctx); err != nil {
		errs = append(errs, err)
	}
	select {
	case <-r.done:
		if r.ackLeft > 0 {
			errs = append(errs, fmt.Errorf("acknowledging %d handled entries got no answer within command-timeout (%s): they may be delivered again", r.ackLeft, r.c.bd.st.commandTimeout))
		}
	case <-ctx.Done():
		if len(errs) == 0 {
			errs = append(errs, fmt.Errorf("still acknowledging and giving back entries: %w", ctx.Err()))
		}
	}
	return errors.Join(errs...)
}

// finish runs after Stop began: it waits for intake, the reclaimer and the
// handlers, flushes the acknowledgements, parks what the consumer still
// has pending, and leaves the reader for the next run.
func (r *run) finish() {
	defer close(r.done)
	<-r.intakeDone
	r.unblocks.Wait() // Pause's, cancelled by Stop
	<-r.handlerDone
	<-r.reclaimDone
	r.pool.Stop(context.Background()) //nolint:errcheck // waits for the workers; cannot fail
	<-r.pool.Done()
	close(r.ackStop)
	<-r.ackDone
	if r.lingerT != nil {
		r.lingerT.Stop()
	}
	close(r.keeperStop)
	<-r.keeperDone
	if r.c.group != "" {
		if r.ackLeft > 0 {
			// The server did not answer the acknowledgements for
			// command-timeout: giving back would wait as long again.
			r.c.clean.Store(false)
			r.c.log.Warn("redis: not giving back pending entries: Redis did not answer; other members reclaim them after claim-min-idle")
		} else {
			r.release()
		}
	}
	r.c.putReader(r.reader)
}

// release parks the consumer's pending entries under ReleasedConsumer,
// idle for claim-min-idle (XCLAIM ... IDLE ... JUSTID, which does not
// count a delivery), so that the next reclaim of any member takes them at
// once, and deletes the consumer from the group. An entry no handler call
// saw (read ahead of handling: unhandled) is parked with its delivery
// count one lower (RETRYCOUNT), since the claim that takes it again counts
// one: a member that stops and starts again with a backlog read ahead
// spends none of the entries' max-deliveries (each Stop spent one, and
// after ten the entries were dropped, never handled, or dead-lettered).
func (r *run) release() {
	c := r.c
	ctx, cancel := context.WithTimeout(context.Background(), 2*c.bd.st.commandTimeout)
	defer cancel()
	idle := c.cs.claimMinIdle.Milliseconds()
	total := 0
	clean := true // every stream's pending entries given back (or its group gone)
	for _, k := range r.snapshotKeys() {
		start := "-"
		for {
			pend, err := c.client.XPendingExt(ctx, &goredis.XPendingExtArgs{
				Stream: k, Group: c.group, Start: start, End: "+", Count: 500, Consumer: c.name,
			}).Result()
			if err != nil {
				if !isNoGroup(err) {
					clean = false
					c.log.Warn("redis: giving back pending entries failed; other members reclaim them after claim-min-idle", "stream", k, "error", c.bd.logErr(err))
				}
				if isTimeout(err) {
					// The other streams would wait as long.
					c.clean.Store(false)
					return
				}
				break
			}
			if len(pend) == 0 {
				break
			}
			if err := r.park(ctx, k, pend, idle); err != nil {
				clean = false
				c.log.Warn("redis: giving back pending entries failed; other members reclaim them after claim-min-idle", "stream", k, "error", c.bd.logErr(err))
				if isTimeout(err) {
					c.clean.Store(false)
					return
				}
				break
			}
			total += len(pend)
			start = "(" + pend[len(pend)-1].ID
		}
		if _, err := dropConsumerScript.Run(ctx, c.client, []string{k}, c.group, c.name).Result(); err != nil && !isNoGroup(err) {
			c.log.Debug("redis: removing the consumer from the group failed", "stream", k, "error", c.bd.logErr(err))
		}
	}
	if total > 0 {
		c.log.Info("redis: gave back unhandled entries to the group", "entries", total)
	}
	c.clean.Store(clean)
}

// park claims the pending entries pend of stream key for
// ReleasedConsumer, idle for idle ms (see release): those no handler call
// saw with their delivery count one lower, the others as they are.
func (r *run) park(ctx context.Context, key string, pend []goredis.XPendingExt, idle int64) error {
	c := r.c
	r.mu.Lock()
	byCount := map[int64][]string{} // RETRYCOUNT → ids; -1: the count kept
	for _, p := range pend {
		n := int64(-1)
		if _, ok := r.unhandled[entryRef{key, p.ID}]; ok && p.RetryCount > 0 {
			n = p.RetryCount - 1
		}
		byCount[n] = append(byCount[n], p.ID)
	}
	r.mu.Unlock()
	for _, n := range slices.Sorted(maps.Keys(byCount)) {
		ids := byCount[n]
		args := make([]any, 0, len(ids)+10)
		args = append(args, "XCLAIM", key, c.group, ReleasedConsumer, 0)
		for _, id := range ids {
			args = append(args, id)
		}
		args = append(args, "IDLE", idle)
		if n >= 0 {
			args = append(args, "RETRYCOUNT", n)
		}
		args = append(args, "JUSTID")
		if err := c.client.Do(ctx, args...).Err(); err != nil {
			return err
		}
	}
	return nil
}

// consumers is a binding of several destinations.
type consumers = binding.Group[*consumer]
