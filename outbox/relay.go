package outbox

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/streambind/streambind/internal/pgerr"
	"github.com/streambind/streambind/stream"
)

// Relay sends the committed rows of an outbox table through the app's
// [stream.Bridge] and deletes each row once the binder confirmed its
// message. It is a [stream.Component] (started and stopped with the app), a
// [stream.HealthChecker] (readiness is down while it cannot reach its
// database) and a prometheus.Collector of the backlog metrics.
//
// How it claims rows, so that several relays (instances) share a table
// without losing or reordering messages of a key:
//
//  1. In a transaction it locks the oldest batch-size rows that no other
//     relay has locked (SELECT ... ORDER BY id FOR UPDATE SKIP LOCKED),
//     leaving out the keys whose send failed in the last poll-interval
//     or since the last claim (more failing keys than a batch holds are
//     retried in turn, a batch of them at a time: see blockedArrays).
//  2. For each (name, key) of the batch it drops the rows that have an
//     older row of the same (name, key) that is not in the batch — locked
//     by another relay, or committed after the scan. So a relay sends a
//     message only when every older message of its key is gone from the
//     table, i.e. was sent and confirmed, or is in its own batch ahead of
//     it. The relay holding the oldest row of a key always keeps it: the
//     table always makes progress.
//  3. It sends the rows: the keys of the batch concurrently (up to
//     concurrency, the keys with the most rows first), the rows of one key
//     one after the other, each once the previous one was confirmed; after
//     a failed send the key's later rows wait for the next batch.
//  4. It deletes the confirmed rows (counts the failed attempt on the
//     first failed row of a key) and commits, releasing the locks.
//
// Steps 1 and 2 are one query, sent with BEGIN; the deletes of step 4 are
// sent with COMMIT: two round trips a batch.
//
// When it looks: an idle relay listens (LISTEN/NOTIFY; every poll-interval
// as the fallback) and claims 5ms after a notification, so that the
// commits that follow join the batch. A relay whose batches keep finding
// rows is busy: it stops listening — a notification per inserting
// transaction would cost PostgreSQL and the relay as much as the relay's
// own work — and claims again at once after a full batch, 20ms after one
// that was not full, until a batch finds nothing: then it listens again
// (and looks once more, for what was committed meanwhile).
//
// A relay that dies mid-batch holds its locks only as long as its
// connection: PostgreSQL rolls its transaction back, and the rows it had
// claimed — sent or not — are claimed again by the next relay. So nothing is
// lost and at most one batch per dead relay is sent twice.
//
// A relay whose session ends mid-batch while it lives
// (pg_terminate_backend, an administrator's or the server's shutdown)
// loses its locks with it: another relay may claim the rows at once and
// send them, and the key's newer rows after them. So while a batch's rows
// are sent, the relay reads its connection (idle in the transaction: what
// arrives is PostgreSQL's FATAL goodbye or the connection's end, at no
// cost to the database) and starts no send once it learnt that the session
// ended; the batch fails and its rows are left to the next relay. What
// can still arrive after another relay's newer messages of a key is the
// one message of that key whose send had started before the relay learnt
// it (the goodbye's trip over the network): at most one per key, and at
// most concurrency in all. A session lost without a word reaching the
// relay is not seen; on the same server its locks outlive it until
// PostgreSQL notices (TCP keepalives, the idle timeout below), by which
// time the relay starts no send; a failover to another server that holds
// no locks lets the relay go on sending its batch for up to send-timeout
// after its claim.
//
// A relay that freezes mid-batch (SIGSTOP, a stalled VM, a partition)
// keeps its connection, and so its locks: as it keeps the oldest rows of
// its keys, the other relays hold back those keys' later rows. So the
// claim sets idle_in_transaction_session_timeout for its transaction to
// lockBound (3 x send-timeout): PostgreSQL ends a session that stays idle
// in the transaction longer, rolling it back. A healthy relay never
// stays that long: it starts no send after send-timeout from its claim
// (the rows not started wait for the next batch, without a failure), and
// each send ends within send-timeout, so its transaction is idle at most
// about 2 x send-timeout.
//
// A row whose headers cannot be decoded (written by hand, or by another
// program) is set aside: its dead_at is set, last_error says why, it is
// logged at WARN with its id and counted (SetAside); the claim skips such
// rows, so the key's later rows go on.
type Relay struct {
	app *stream.App
	cfg Config
	t   table
	pc  *pgxpool.Config // set when the relay opens (and closes) its own pool
	log *slog.Logger

	wake        chan struct{} // 1 slot: "look at the table"
	claim       string        // claimSQL of the table
	idleTimeout string        // lockBound of send-timeout, as PostgreSQL takes it

	// While the relay is busy (its batches keep finding rows) it does not
	// listen: it looks at the table every linger anyway, and each
	// notification would cost PostgreSQL a signal and a wake-up of the
	// listening backend, and the relay a wake-up, per inserting
	// transaction — as much CPU as the relay's own work. listening is what
	// run wants; listenWake (1 slot) tells the listener it changed to true;
	// waitCancel interrupts the listener's wait when it changed to false.
	listening  atomic.Bool
	listenWake chan struct{}
	waitMu     sync.Mutex
	waitCancel context.CancelFunc

	// blocked holds the keys whose send failed, until they may be tried
	// again (poll-interval later, and not before a claim has left them
	// out); their rows are not claimed meanwhile, so that a key that
	// keeps failing does not fill every batch and starve the others.
	// Only the run goroutine uses it.
	blocked map[string]blockedKey
	// progressed: the last batch got somewhere — sent or set aside a row,
	// or claimed fewer than batch-size rows (it saw every row it could
	// claim). Blocked keys whose time has come are released only then,
	// batch-size at a time (see blockedArrays). Only the run goroutine
	// uses it.
	progressed bool

	// rightsOK: the role's rights were checked (rightsSQL) since the
	// last failed batch. Only the run goroutine uses it.
	rightsOK bool

	// confirmed holds the rows this relay sent, and the broker confirmed,
	// whose batch could not delete them because the server refused the
	// deletion or the commit (a trigger, a constraint, a full disk: the
	// transaction rolled back, the rows stay): they are not sent again by
	// this relay, only deleted, rather than every poll-interval for as
	// long as the refusal lasts. Only the run goroutine writes it, between
	// batches (the senders read it). Entries go once deleted, or
	// confirmedKeep after the last batch that claimed them (another relay
	// may have sent and deleted the rows).
	//
	// A row is known by its id, its xmin and a hash of its content
	// (rowMark), not by its id alone: ids come again (TRUNCATE ... RESTART
	// IDENTITY, the table dropped and migrated again, ALTER SEQUENCE
	// RESTART, a failover to a replica that lags), and a new row under a
	// remembered id would be deleted without ever being sent. The rolled
	// back deletion leaves the row's xmin as it was; a row inserted again
	// has the xmin of its own transaction.
	confirmed map[rowMark]time.Time
	seed      maphash.Seed // of rowMark.sum

	// unsure holds the batches whose rows were sent and confirmed (or set
	// aside) but whose commit went unanswered (the connection lost, no
	// answer within send-timeout): the rows may be deleted (set aside), so
	// counted nowhere else, or not, and sent (and counted) again. Each is
	// counted in relayed (and setAside) once the server says its
	// transaction committed (settle). Only the run goroutine uses it.
	unsure []unsureCommit

	mu      sync.Mutex
	pool    *pgxpool.Pool // nil until Start when pc is set
	started bool
	stopped bool
	quit    context.CancelFunc // ends the loops between batches
	hard    context.CancelFunc // aborts the batch in flight
	done    chan struct{}      // closed when both loops returned
	lastErr error              // of the last database round, nil when it worked
	scrape  scrapeState        // what the metrics' scrapes remember (see Collect)

	relayed, failed, batches, setAside atomic.Int64

	sendFails  failReports // rate-limits the WARNs of failed sends
	batchFails failReports // the kinds of failed batches logged lately (run)
}

func newRelay(app *stream.App, cfg Config, t table, pool *pgxpool.Pool, pc *pgxpool.Config, log *slog.Logger) *Relay {
	r := &Relay{app: app, cfg: cfg, t: t, pool: pool, pc: pc, log: log, wake: make(chan struct{}, 1), claim: claimSQL(t.quoted()), idleTimeout: fmt.Sprintf("%dms", lockBound(cfg.SendTimeout).Milliseconds()), listenWake: make(chan struct{}, 1), blocked: map[string]blockedKey{}, progressed: true, confirmed: map[rowMark]time.Time{}, seed: maphash.MakeSeed()}
	r.listening.Store(true)
	return r
}

// Name is "outbox:<table>".
func (r *Relay) Name() string {
	if r == nil {
		return ""
	}
	return "outbox:" + r.t.qualified()
}

// lockBound is the idle_in_transaction_session_timeout of the relay's
// transactions: 3 x send-timeout, at least 1s. A healthy relay's
// transaction is idle at most about 2 x send-timeout (see [Relay]).
func lockBound(sendTimeout time.Duration) time.Duration {
	return max(3*sendTimeout, time.Second)
}

// Start starts the relay's loops; they send once the app is ready.
func (r *Relay) Start(context.Context) error {
	if r == nil {
		return errors.New("outbox relay: Start on a nil *Relay (the outbox's relay: false)")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.started {
		return errors.New("outbox relay: already started")
	}
	if r.pc != nil {
		pool, err := pgxpool.NewWithConfig(context.Background(), r.pc) // connects lazily
		if err != nil {
			return fmt.Errorf("outbox relay: %s.dsn: %s", Section, redacted(err))
		}
		r.pool = pool
	}
	r.started = true
	quitCtx, quit := context.WithCancel(context.Background())
	hardCtx, hard := context.WithCancel(context.Background())
	r.quit, r.hard, r.done = quit, hard, make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); r.listen(quitCtx) }()
	go func() { defer wg.Done(); r.run(quitCtx, hardCtx) }()
	go func() { wg.Wait(); close(r.done) }()
	r.log.Info("outbox relay started", "config", r.cfg.String())
	return nil
}

// Stop lets the batch in flight finish — its messages confirmed and its
// rows deleted — and stops. When ctx ends first the batch is aborted: its
// transaction rolls back and its rows, sent or not, are sent again by the
// next relay. A pool the relay opened is closed.
func (r *Relay) Stop(ctx context.Context) error {
	if r == nil {
		return nil
	}
	r.mu.Lock()
	if !r.started || r.stopped {
		r.mu.Unlock()
		return nil
	}
	r.stopped = true
	r.mu.Unlock()
	r.quit()
	var err error
	select {
	case <-r.done:
	case <-ctx.Done():
		r.hard()
		<-r.done // the aborted batch returns at once
		err = fmt.Errorf("outbox relay: batch aborted at shutdown (its rows will be sent again): %w", ctx.Err())
	}
	r.hard()
	if r.pc != nil {
		// Closing waits for the pool's connection attempts (bounded by
		// connect_timeout); not beyond ctx.
		closed := make(chan struct{})
		go func() { defer close(closed); r.pool.Close() }()
		select {
		case <-closed:
		case <-ctx.Done():
			err = errors.Join(err, fmt.Errorf("outbox relay: closing its pool: connection attempts still running (closed when they end): %w", ctx.Err()))
		}
	}
	r.log.Info("outbox relay stopped")
	return err
}

// Health reports the last database error of the relay (nil once a round
// worked again). It does not query the database.
func (r *Relay) Health(context.Context) error {
	if r == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.lastErr != nil {
		return fmt.Errorf("outbox relay %s: the last batch failed (%s): %s", r.t.qualified(), failure(r.lastErr), redacted(r.lastErr))
	}
	return nil
}

// failure says what a batch's error was, for Health: an answer of the
// server (a missing table, a refused statement or setting) is not an
// unreachable database, and an operator looks in a different place.
func failure(err error) string {
	if errors.Is(err, errPoolBusy) {
		return "no connection of the pool was free within send-timeout (every one in use: the database was not asked; a pool given in Options.Pool is shared with the app: give it room for the relay's one connection)"
	}
	if errors.Is(err, errNoRight) {
		return "the relay's role lacks a right on the table or its schema (it needs USAGE on the schema, and SELECT, UPDATE and DELETE on the table)"
	}
	if errors.Is(err, errNoAnswer) {
		return "the database did not answer within send-timeout"
	}
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) {
		return "cannot connect to the database"
	}
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return "database unreachable, or the connection failed"
	}
	switch {
	case pe.Severity == "FATAL" || pe.Severity == "PANIC" || strings.HasPrefix(pe.Code, "08") || strings.HasPrefix(pe.Code, "57P"):
		return "the database ended the session"
	case pgerr.MissingTable(pe.Code):
		return "the table is missing: run outbox.Migrate"
	case pe.Code == "42703" || pe.Code == "42883" || pe.Code == "42804":
		return "the table does not have the columns the relay reads, of their types (made by hand, or by an older version): run outbox.Migrate, or compare it with docs/outbox.md"
	case pe.Code == "42501":
		return "the relay's role lacks a right on the table or its schema (it needs USAGE on the schema, and SELECT, UPDATE and DELETE on the table)"
	case pe.Code == "55P03":
		return "a lock on the table was not granted within the session's lock_timeout (a migration, LOCK TABLE, a long transaction)"
	case pe.Code == "57014":
		return "a statement was cancelled: the session's statement_timeout, or an administrator's pg_cancel_backend"
	default:
		return "the database refused a statement, SQLSTATE " + pe.Code
	}
}

// Relayed is how many messages the relay sent and deleted (counted once
// their batch committed, or, when the commit went unanswered, once the
// server said at a later batch that it committed).
func (r *Relay) Relayed() int64 {
	if r == nil {
		return 0
	}
	return r.relayed.Load()
}

// Batches is how many batches the relay committed (empty ones included).
func (r *Relay) Batches() int64 {
	if r == nil {
		return 0
	}
	return r.batches.Load()
}

// SetAside is how many undecodable rows the relay set aside (see
// [Relay]).
func (r *Relay) SetAside() int64 {
	if r == nil {
		return 0
	}
	return r.setAside.Load()
}

// setErr records the last round's error and returns the one before.
func (r *Relay) setErr(err error) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	was := r.lastErr
	r.lastErr = err
	return was
}

func (r *Relay) poke() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// heldRetry is how soon a relay looks again at rows it left to another
// relay (see result.held).
const heldRetry = 20 * time.Millisecond

// linger is how long a notified relay waits for more commits before it
// claims a batch.
const linger = 5 * time.Millisecond

// busyLinger is how long a busy relay (see Relay.listening) waits after a
// batch that was not full before it claims the next: rows that arrive
// meanwhile make one batch (fewer round trips, transactions and broker
// requests per message) rather than several. A full batch is followed at
// once, so this bounds the latency a message sees under load, never the
// throughput.
const busyLinger = 20 * time.Millisecond

// run relays batches until quit ends.
func (r *Relay) run(quit, hard context.Context) {
	select {
	case <-r.app.Ready():
	case <-quit.Done():
		return
	}
	timer := time.NewTimer(r.cfg.PollInterval)
	defer timer.Stop()
	for {
		res, err := r.batch(hard)
		if err != nil {
			r.rightsOK = false // check again before the next claim
		}
		was := r.setErr(err)
		if err == nil {
			r.progressed = res.sent > 0 || res.aside > 0 || res.claimed < r.cfg.BatchSize
		}
		switch {
		case err != nil && hard.Err() == nil && (was == nil || failure(was) != failure(err)):
			// A new failure, or one of another kind than the last
			// batch's (the database back, but the table missing): WARN;
			// but a change back to a kind the batches turned to in the
			// last failForget only at DEBUG (a database that flaps
			// between two kinds would log one each poll-interval).
			if first, _, _ := r.batchFails.note(time.Now(), "", failure(err)); first || was == nil {
				r.log.Warn("outbox relay: batch failed; retrying every poll-interval", "error", redacted(err), "retry_in", r.cfg.PollInterval)
			} else {
				r.log.Debug("outbox relay: batch failed again", "error", redacted(err))
			}
		case err != nil && hard.Err() == nil:
			r.log.Debug("outbox relay: batch failed again", "error", redacted(err))
		case err == nil && was != nil:
			r.log.Info("outbox relay: database reachable again")
		}
		if quit.Err() != nil {
			return
		}
		// A full batch that made progress: there is probably more.
		if err == nil && res.claimed == r.cfg.BatchSize && res.sent > 0 {
			r.setListening(false)
			continue
		}
		// Busy — rows keep coming — from a batch of more than one row
		// until a batch finds none: meanwhile the relay looks every
		// busyLinger rather than listen (see Relay.listening). A lone row
		// (sparse traffic) does not stop the listening, and a batch with
		// a failed send waits as before (a broker that is down is not
		// helped by polling).
		busy := err == nil && res.failed == 0 && (res.claimed > 1 || (res.claimed == 1 && !r.listening.Load()))
		r.setListening(!busy)
		if busy {
			select {
			case <-time.After(busyLinger):
			case <-quit.Done():
				return
			}
			continue
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		timer.Reset(r.cfg.PollInterval)
		if err != nil {
			// Back off: a database that fails is not helped by retrying
			// at once (notifications are not waited for). A failed send
			// blocks only its key, for a poll-interval and the next
			// claim (r.blocked).
			select {
			case <-timer.C:
			case <-quit.Done():
				return
			}
			continue
		}
		if res.held > 0 {
			// Another relay holds older rows of some keys: look again
			// once it has probably sent them.
			timer.Reset(min(r.cfg.PollInterval, heldRetry))
		}
		select {
		case <-r.wake:
			// Woken by a commit: let the commits that follow it join the
			// batch, rather than spend a batch (queries, a commit, a send
			// round) on each.
			select {
			case <-time.After(linger):
			case <-quit.Done():
				return
			}
		case <-timer.C:
		case <-quit.Done():
			return
		}
	}
}

// setListening records whether the relay wants notifications (see
// Relay.listening) and tells the listener.
func (r *Relay) setListening(on bool) {
	if r.listening.Swap(on) == on {
		return
	}
	if on {
		select {
		case r.listenWake <- struct{}{}:
		default:
		}
		return
	}
	r.waitMu.Lock()
	if r.waitCancel != nil {
		r.waitCancel()
	}
	r.waitMu.Unlock()
}

// listen wakes the relay on notifications of the table's channel, and
// after every (re)connection, until quit ends.
func (r *Relay) listen(quit context.Context) {
	for quit.Err() == nil {
		err := r.listenOnce(quit)
		if quit.Err() != nil {
			return
		}
		r.log.Debug("outbox relay: listener lost; polling meanwhile", "error", redacted(err))
		select {
		case <-time.After(r.cfg.PollInterval):
		case <-quit.Done():
			return
		}
	}
}

// listenOnce listens on one connection while the relay wants it, and
// unlistens while it is busy, until the connection fails or quit ends.
func (r *Relay) listenOnce(quit context.Context) error {
	conn, err := pgx.ConnectConfig(quit, r.pool.Config().ConnConfig.Copy())
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	channel := pgx.Identifier{r.t.channel()}.Sanitize()
	listening := false
	for {
		if !r.listening.Load() {
			if listening {
				if _, err := conn.Exec(quit, "UNLISTEN "+channel); err != nil {
					return err
				}
				listening = false
			}
			select {
			case <-r.listenWake:
			case <-quit.Done():
				return quit.Err()
			}
			continue
		}
		if !listening {
			if _, err := conn.Exec(quit, "LISTEN "+channel); err != nil {
				return err
			}
			listening = true
			r.poke() // what was committed while not listening
		}
		wait, cancel := context.WithCancel(quit)
		r.waitMu.Lock()
		r.waitCancel = cancel
		r.waitMu.Unlock()
		if !r.listening.Load() {
			cancel() // turned busy before waitCancel was set
		}
		_, err := conn.WaitForNotification(wait)
		r.waitMu.Lock()
		r.waitCancel = nil
		r.waitMu.Unlock()
		interrupted := wait.Err() != nil
		cancel()
		switch {
		case quit.Err() != nil:
			return quit.Err()
		case err != nil && interrupted:
			// The relay turned busy. pgx's cancelled wait leaves the
			// connection usable (a read deadline, not a close).
			continue
		case err != nil:
			return err
		}
		r.poke()
	}
}

// row is a claimed outbox row.
type row struct {
	id      int64
	xmin    string
	name    string
	key     []byte
	payload []byte
	headers []byte
}

// rowMark tells a row from another that took its id later (see
// Relay.confirmed): its id, xmin (the inserting transaction; a rolled
// back DELETE or UPDATE leaves it, a row inserted again has its own), and
// a hash of its content (for an xid given again after a failover to a
// replica that lags).
type rowMark struct {
	id   int64
	xmin string
	sum  uint64
}

func (r *Relay) mark(x row) rowMark {
	var h maphash.Hash
	h.SetSeed(r.seed)
	for _, b := range [][]byte{[]byte(x.name), x.key, x.payload, x.headers} {
		var n [8]byte
		for i, l := 0, uint64(len(b)); i < 8; i++ {
			n[i] = byte(l >> (8 * i))
		}
		_, _ = h.Write(n[:])
		_, _ = h.Write(b)
	}
	return rowMark{id: x.id, xmin: x.xmin, sum: h.Sum64()}
}

// group is the claimed rows of one (name, key), oldest first.
type group struct {
	name string
	key  []byte
	rows []row
	// sent: the rows confirmed (or remembered as such); aside: the rows set aside (undecodable);
	// err: why the row at next failed (nil: the group ended without a
	// failure, all sent or out of time).
	sent  []row
	aside []asideRow
	next  int
	err   error
}

type asideRow struct {
	id     int64
	reason string
}

type result struct {
	claimed, sent, failed, aside int
	// held: rows of the batch left because an older row of their key is
	// with another relay.
	held int
}

type blockedKey struct {
	name  string
	key   []byte
	until time.Time
	// leftOut: a claim has left the key out since it failed.
	leftOut bool
}

// blockedArrays returns the keys the next claim leaves out: those blocked
// whose time has not come, and those no claim has left out yet since they
// failed (see leftOut). Time alone would not do: the next claim after a
// failure may come later than poll-interval (the poll timer starts after
// the batch's commit; the look after LISTEN begins waits for a
// connection), and when it did the failing key's rows filled that batch
// again, and every one after it — the other keys starved for good (a 10ms
// poll-interval: 0 of 20 rows sent in 10s).
//
// Nor would releasing every key whose time has come: with more failing
// keys at the head of the table than two batches hold, the claims took the
// first and the second batch's failing keys in turn, for ever, and no row
// behind them was sent (TestManyFailingKeysDoNotStarveOthers). So keys
// whose time has come are released only after a batch that progressed
// (Relay.progressed: after one full of failures the next claim looks
// further), at most batch-size of them, those blocked longest first: the
// failing keys are retried in turn, a batch of them at a time, and the
// others' rows go on meanwhile. At most maxBlocked keys stay blocked (a
// broker down for long, a backlog of many keys): beyond, those blocked
// longest are released.
func (r *Relay) blockedArrays() ([]string, [][]byte) {
	now := time.Now()
	over := len(r.blocked) - maxBlocked
	var due []string
	for k, b := range r.blocked {
		if b.leftOut && (now.After(b.until) || over > 0) {
			due = append(due, k)
		}
	}
	n := max(over, 0)
	if r.progressed {
		n = max(n, r.cfg.BatchSize)
	}
	if n < len(due) {
		slices.SortFunc(due, func(a, b string) int { return r.blocked[a].until.Compare(r.blocked[b].until) })
		due = due[:n]
	}
	for _, k := range due {
		delete(r.blocked, k)
	}
	names, keys := make([]string, 0, len(r.blocked)), make([][]byte, 0, len(r.blocked))
	for _, b := range r.blocked {
		names, keys = append(names, b.name), append(keys, b.key)
	}
	return names, keys
}

// maxBlocked bounds the keys a relay holds back after failed sends (see
// blockedArrays): each claim sends them to the server.
const maxBlocked = 10000

// leftOut records that a claim has left out every key blocked before it
// (blockedArrays): each may be claimed again once its time has come.
func (r *Relay) leftOut() {
	for k, b := range r.blocked {
		if !b.leftOut {
			b.leftOut = true
			r.blocked[k] = b
		}
	}
}

// rightsSQL tells whether the relay's role may do what a batch's end
// does: delete the sent rows, and update attempts, last_error and dead_at
// (a right on the table, or on those columns). It runs before the first
// claim and before the claim after a failed batch (Relay.rightsOK): a
// relay that may not delete its sent rows (or count a failed attempt)
// would otherwise send every batch again each poll-interval, for ever.
//
// (A DELETE and an UPDATE ... WHERE false in the claim itself checked the
// same on every claim, but fired the table's FOR EACH STATEMENT triggers
// — an audit's, say — every poll-interval, even with nothing to send.) A
// right revoked while the relay runs fails a batch's deletion after its
// sends; the relay remembers those rows (Relay.confirmed), so they are not
// sent again, and checks again before its next claim.
func rightsSQL(q string) string {
	lit := "'" + strings.ReplaceAll(q, "'", "''") + "'"
	return `SELECT has_table_privilege(` + lit + `, 'DELETE')
	AND has_column_privilege(` + lit + `, 'attempts', 'UPDATE')
	AND has_column_privilege(` + lit + `, 'last_error', 'UPDATE')
	AND has_column_privilege(` + lit + `, 'dead_at', 'UPDATE')`
}

// errNoRight is a batch not claimed because the relay's role lacks a right
// rightsSQL checks (see failure).
var errNoRight = errors.New("the relay's role may not delete the table's rows, or update their attempts, last_error and dead_at")

// claimSQL is the claim of a batch (see [Relay], steps 1 and 2): the
// oldest rows nobody locked, leaving out the blocked keys ($2, $3), each
// with the id of an older row of its (name, key) that is not in the batch
// (NULL when there is none: the row may be sent).
func claimSQL(q string) string {
	return `WITH c AS MATERIALIZED (
	SELECT id, xmin, name, key, payload, headers FROM ` + q + ` t
	WHERE t.dead_at IS NULL AND NOT EXISTS (SELECT 1 FROM unnest($2::text[], $3::bytea[]) AS b(name, key) WHERE b.name = t.name AND b.key = t.key)
	ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED
)
SELECT c.id, c.xmin::text, c.name, c.key, c.payload, c.headers::text,
	(SELECT min(o.id) FROM ` + q + ` o WHERE o.name = c.name AND o.key = c.key AND o.id < c.id AND o.dead_at IS NULL AND o.id NOT IN (SELECT id FROM c))
FROM c ORDER BY c.id`
}

// batch claims, sends and deletes one batch (see [Relay]) in two round
// trips to the database: BEGIN with the claim, and the deletes with
// COMMIT, each sent as one pipeline.
//
// Each round trip (the connection's acquisition and the claim; the deletes
// with the commit) must end within send-timeout (dbRound): a database that
// stops answering without closing the connection (a hung server, a network
// that drops packets) fails the batch, and readiness says so, rather than
// holding the relay in a read that may never return.
func (r *Relay) batch(ctx context.Context) (result, error) {
	// A pooled connection whose session ended while it sat idle
	// (pg_terminate_backend, a server restart, a pooler or firewall that
	// dropped it) is found out only when used: its first round trip fails,
	// before anything was claimed or sent. Failing the batch for it would
	// cost a poll-interval and put readiness down for a database that
	// works; the pool discards the closed connection on Release, so try
	// again on another one (a new one once the dead ones are gone), at most
	// once per connection the pool may hold.
	for tries := 0; ; tries++ {
		res, err := r.batchOnce(ctx)
		var dead *deadConnError
		if !errors.As(err, &dead) || tries >= int(r.pool.Stat().MaxConns()) {
			return res, err
		}
		r.log.Debug("outbox relay: a pooled connection's session had ended; claiming on another", "error", redacted(err))
	}
}

// deadConnError is the error of a batch's first round trip on a
// connection whose session had already ended: nothing was claimed, the
// batch may be tried again at once on another connection (see batch).
type deadConnError struct{ err error }

func (e *deadConnError) Error() string { return e.err.Error() }
func (e *deadConnError) Unwrap() error { return e.err }

// firstRoundErr wraps the error of a batch's first round trip on conn:
// a deadConnError when the connection is closed without the round having
// run out of time (a database that does not answer is not tried again).
func (r *Relay) firstRoundErr(ctx, claimCtx context.Context, conn *pgxpool.Conn, step string, err error) error {
	err = r.dbErr(ctx, step, err)
	if ctx.Err() == nil && claimCtx.Err() == nil && conn.Conn().IsClosed() {
		return &deadConnError{err}
	}
	return err
}

// batchOnce is one try of batch.
func (r *Relay) batchOnce(ctx context.Context) (result, error) {
	var res result
	claimCtx, cancel := r.dbRound(ctx)
	defer cancel()
	conn, err := r.pool.Acquire(claimCtx)
	if err != nil {
		if st := r.pool.Stat(); ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) && st.AcquiredConns() >= st.MaxConns() {
			// Waiting for a connection of a pool whose connections are
			// all in use (Options.Pool: the app's own) is not the
			// database not answering: it was not asked.
			return res, fmt.Errorf("acquire a connection: %w (%s, all %d in use): %w", errPoolBusy, r.cfg.SendTimeout, st.MaxConns(), err)
		}
		return res, r.dbErr(ctx, "acquire a connection", err)
	}
	// A connection left in a transaction (an error, ctx ended) is closed by
	// the pool on Release, which rolls the transaction back.
	defer conn.Release()
	q := r.t.quoted()
	if !r.rightsOK {
		var ok bool
		if err := conn.QueryRow(claimCtx, rightsSQL(q)).Scan(&ok); err != nil {
			return res, r.firstRoundErr(ctx, claimCtx, conn, "check the relay's rights on the table", err)
		}
		if !ok {
			return res, fmt.Errorf("check the relay's rights on the table: %w", errNoRight)
		}
		r.rightsOK = true
	}
	if len(r.unsure) > 0 {
		if err := r.settle(claimCtx, conn); err != nil {
			return res, r.firstRoundErr(ctx, claimCtx, conn, "learn whether an unanswered commit committed", err)
		}
	}
	bNames, bKeys := r.blockedArrays()
	claim := &pgx.Batch{}
	claim.Queue("BEGIN")
	// Bound how long this transaction may sit idle with its locks (see
	// Relay: a frozen relay); local: it ends with the transaction.
	claim.Queue("SELECT set_config('idle_in_transaction_session_timeout', $1, true)", r.idleTimeout)
	claim.Queue(r.claim, r.cfg.BatchSize, bNames, bKeys)
	// The transaction's id (assigned once the claim locked a row; NULL
	// when it locked none), to learn later whether a commit that went
	// unanswered committed (Relay.unsure).
	claim.Queue("SELECT pg_current_xact_id_if_assigned()::text")
	br := conn.SendBatch(claimCtx, claim)
	// The three statements go in one round trip: a claim that cannot be
	// prepared (a table of another shape) fails at the first.
	if _, err := br.Exec(); err != nil {
		br.Close()
		return res, r.firstRoundErr(ctx, claimCtx, conn, "begin and claim", err)
	}
	if _, err := br.Exec(); err != nil {
		br.Close()
		return res, r.dbErr(ctx, "begin and claim: set idle_in_transaction_session_timeout", err)
	}
	rows, err := br.Query()
	if err != nil {
		br.Close()
		return res, r.dbErr(ctx, "claim", err)
	}
	var groups []*group
	byKey := map[string]*group{}
	for rows.Next() {
		var x row
		var hdr string
		var foreign *int64
		if err := rows.Scan(&x.id, &x.xmin, &x.name, &x.key, &x.payload, &hdr, &foreign); err != nil {
			rows.Close()
			br.Close()
			return res, r.dbErr(ctx, "claim", err)
		}
		res.claimed++
		if foreign != nil {
			// An older row of the key is with another relay (or was
			// committed after the scan): this one waits (step 2).
			res.held++
			continue
		}
		x.headers = []byte(hdr)
		k := x.name + "\x00" + string(x.key)
		g := byKey[k]
		if g == nil {
			g = &group{name: x.name, key: x.key}
			byKey[k] = g
			groups = append(groups, g)
		}
		g.rows = append(g.rows, x)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		br.Close()
		return res, r.dbErr(ctx, "claim", err)
	}
	r.leftOut() // the keys this batch fails are blocked after this
	var xid *string
	if err := br.QueryRow().Scan(&xid); err != nil {
		br.Close()
		return res, r.dbErr(ctx, "claim: the transaction's id", err)
	}
	if err := br.Close(); err != nil {
		return res, r.dbErr(ctx, "claim", err)
	}
	cancel()
	if res.claimed == 0 {
		cctx, cancel := r.dbRound(ctx)
		defer cancel()
		if _, err := conn.Exec(cctx, "COMMIT"); err != nil {
			return res, r.dbErr(ctx, "commit", err)
		}
		r.batches.Add(1) // an empty batch counts too (see Batches)
		return res, nil
	}
	// The rows' locks live as long as the session: once it ended, another
	// relay may claim them, and what this one sends after that may arrive
	// after that relay's newer messages of the key. So the session is
	// watched while the rows are sent, and no send starts once it ended.
	w := watchSession(conn.Conn().PgConn())
	r.send(ctx, groups, time.Now().Add(r.cfg.SendTimeout), w.ended.Load)
	if err := w.stop(); err != nil {
		return res, fmt.Errorf("the batch's database session ended while its rows were sent (no send started after the relay learned it; another relay sends the rows, these ones sent included, again): %w", err)
	}
	// Delete what was confirmed; count the failure of the first unsent
	// row of a key. (No NOTIFY here: a transaction that notifies takes
	// PostgreSQL's global notify lock at commit, serialising it with every
	// inserting transaction. A relay that left rows to another one looks
	// again soon by itself: result.held.)
	var sent []int64
	var sentRows []row
	b := &pgx.Batch{}
	for _, g := range groups {
		sentRows = append(sentRows, g.sent...)
		for _, x := range g.sent {
			sent = append(sent, x.id)
		}
		for _, a := range g.aside {
			res.aside++
			b.Queue("UPDATE "+q+" SET dead_at = now(), last_error = $2 WHERE id = $1", a.id, truncate(a.reason, 1000))
		}
		if g.err != nil {
			res.failed++
			r.blocked[g.name+"\x00"+string(g.key)] = blockedKey{name: g.name, key: g.key, until: time.Now().Add(r.cfg.PollInterval)}
			b.Queue("UPDATE "+q+" SET attempts = attempts + 1, last_error = $2 WHERE id = $1", g.rows[g.next].id, truncate(redacted(g.err), 1000))
		}
	}
	res.sent = len(sent)
	if len(sent) > 0 {
		b.Queue("DELETE FROM "+q+" WHERE id = ANY($1)", sent)
	}
	b.Queue("COMMIT")
	cctx, cancel := r.dbRound(ctx)
	defer cancel()
	if err := conn.SendBatch(cctx, b).Close(); err != nil {
		if refused(err) {
			r.keepConfirmed(sentRows)
		} else if (len(sent) > 0 || res.aside > 0) && xid != nil {
			// The commit's outcome is unknown: if it committed, the sent
			// rows are gone and the set-aside ones have dead_at (claimed
			// no more): this was their only batch (see settle).
			r.unsure = append(r.unsure, unsureCommit{xid: *xid, sent: len(sent), aside: res.aside})
		}
		return res, r.dbErr(ctx, "delete sent rows and commit", err)
	}
	if len(r.confirmed) > 0 {
		for _, x := range sentRows {
			delete(r.confirmed, r.mark(x))
		}
	}
	r.relayed.Add(int64(res.sent))
	r.setAside.Add(int64(res.aside))
	r.batches.Add(1)
	return res, nil
}

// unsureCommit is a batch whose commit went unanswered after its sends
// (see Relay.unsure): its transaction's id, and how many rows it deleted
// and set aside if it committed.
type unsureCommit struct {
	xid         string
	sent, aside int
}

// settle asks the server what became of the transactions of r.unsure
// (pg_xact_status) and counts the rows of those that committed in
// relayed and setAside; those that rolled back are forgotten (their rows
// are sent, or set aside, and counted again), those still in progress are asked about again at the
// next batch. A server that cannot say (an id it does not know, after a
// failover or a restore) refuses the question: those batches are
// forgotten, uncounted, rather than fail every batch.
func (r *Relay) settle(ctx context.Context, conn *pgxpool.Conn) error {
	xids := make([]string, len(r.unsure))
	for i, u := range r.unsure {
		xids[i] = u.xid
	}
	var status []*string
	err := conn.QueryRow(ctx, "SELECT array_agg(pg_xact_status(x::xid8) ORDER BY i) FROM unnest($1::text[]) WITH ORDINALITY AS u(x, i)", xids).Scan(&status)
	if refused(err) {
		r.log.Warn("outbox relay: cannot learn whether unanswered commits committed; their sent rows are not counted in relayed", "batches", len(r.unsure), "error", redacted(err))
		r.unsure = nil
		return nil
	}
	if err != nil {
		return err
	}
	var still []unsureCommit
	for i, u := range r.unsure {
		switch {
		case i < len(status) && status[i] != nil && *status[i] == "committed":
			r.relayed.Add(int64(u.sent))
			r.setAside.Add(int64(u.aside))
		case i < len(status) && status[i] != nil && *status[i] == "in progress":
			still = append(still, u)
		}
	}
	r.unsure = still
	return nil
}

// confirmedKeep is how long a relay remembers rows it sent that it could
// not delete (see Relay.confirmed).
const confirmedKeep = time.Hour

// keepConfirmed records rows, sent and confirmed, whose deletion the
// server refused (see Relay.confirmed), and forgets the entries no batch
// claimed for confirmedKeep.
func (r *Relay) keepConfirmed(rows []row) {
	now := time.Now()
	for m, at := range r.confirmed {
		if now.Sub(at) > confirmedKeep {
			delete(r.confirmed, m)
		}
	}
	for _, x := range rows {
		r.confirmed[r.mark(x)] = now
	}
}

// refused reports whether err is the server's refusal of a statement
// (severity ERROR, the session alive), after which the transaction is
// rolled back for certain; a lost session or no answer leaves the commit's
// outcome unknown.
func refused(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Severity == "ERROR" && !strings.HasPrefix(pe.Code, "08") && !strings.HasPrefix(pe.Code, "57P")
}

// dbRound bounds one round trip of a batch to the database by
// send-timeout (see batch).
func (r *Relay) dbRound(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, r.cfg.SendTimeout)
}

// errNoAnswer marks a round trip that ran out of its dbRound: the database
// did not answer (see failure).
var errNoAnswer = errors.New("the database did not answer within send-timeout")

// errPoolBusy marks a batch that got no connection within send-timeout
// from a pool whose connections were all in use (see failure).
var errPoolBusy = errors.New("no connection of the pool free within send-timeout")

// dbErr wraps the error of a batch's step; a round trip that ran out of
// its dbRound while the relay's own ctx lives is errNoAnswer.
func (r *Relay) dbErr(ctx context.Context, step string, err error) error {
	if ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%s: %w (%s: a database that hangs or cannot be reached, or a lock held on the table meanwhile; the relay closed the connection): %w", step, errNoAnswer, r.cfg.SendTimeout, err)
	}
	return fmt.Errorf("%s: %w", step, err)
}

// send sends the groups' rows: groups concurrently, rows of a group in
// order, stopping a group at its first failure, and starting no send after
// startBy (see lockBound).
//
// The time a batch takes is what the broker's confirms take, one after the
// other for a key's rows: a batch lasts as long as its longest chain of
// sends. So the groups with the most rows start first (a worker that would
// take a long group last would end the batch late), and as many at once as
// concurrency allows: a broker that persists messages (RabbitMQ) writes and
// confirms the messages in flight together, so its cost and its latency
// grow far slower than the number in flight.
func (r *Relay) send(ctx context.Context, groups []*group, startBy time.Time, ended func() bool) {
	order := slices.Clone(groups)
	slices.SortStableFunc(order, func(a, b *group) int { return len(b.rows) - len(a.rows) })
	work := make(chan *group)
	workers := min(r.cfg.Concurrency, len(groups))
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for g := range work {
				r.sendGroup(ctx, g, startBy, ended)
			}
		}()
	}
	for _, g := range order {
		if len(g.rows) > 0 {
			work <- g
		}
	}
	close(work)
	wg.Wait()
}

func (r *Relay) sendGroup(ctx context.Context, g *group, startBy time.Time, ended func() bool) {
	for i, x := range g.rows {
		g.next = i
		if time.Now().After(startBy) {
			return // out of time: the rest waits for the next batch
		}
		if ended() {
			return // the session and its locks are gone (see batch)
		}
		if len(r.confirmed) > 0 {
			if _, ok := r.confirmed[r.mark(x)]; ok {
				// Sent and confirmed before; its deletion was refused.
				g.sent = append(g.sent, x)
				continue
			}
		}
		hdr, err := decodeHeaders(x.headers)
		if err != nil {
			reason := fmt.Sprintf("set aside: row %d cannot be sent: %v", x.id, err)
			r.log.Warn("outbox relay: row set aside (dead_at set): its headers cannot be decoded; the later rows of its key go on",
				"id", x.id, "name", x.name, "error", err)
			g.aside = append(g.aside, asideRow{id: x.id, reason: reason})
			continue
		}
		env := stream.Envelope{Payload: x.payload, Headers: hdr}
		if len(x.key) > 0 {
			env.Key = x.key
		}
		sctx, cancel := context.WithTimeout(ctx, r.cfg.SendTimeout)
		err = r.app.Bridge().SendEncoded(sctx, x.name, env)
		cancel()
		if err != nil {
			g.err = fmt.Errorf("row %d: %w", x.id, err)
			if ctx.Err() != nil {
				// The batch was aborted (Stop's time ran out): the send was
				// cut short, it did not fail; the batch rolls back and the
				// next relay sends the row again. Not a failure to count,
				// nor a WARN per key at every shutdown.
				return
			}
			// Counted now, not with the batch's commit: the send failed
			// whether or not the batch's end commits.
			r.failed.Add(1)
			// Rate-limited (see failReports): a row that can never be
			// sent fails at every retry, for ever.
			msg := redacted(err)
			switch first, repeats, since := r.sendFails.note(time.Now(), x.name, msg); {
			case first:
				r.log.Warn("outbox relay: send failed; the row and the later rows of its key wait for the next batch (repeats of this failure are logged at most once a minute)",
					"id", x.id, "name", x.name, "error", msg)
			case repeats > 0:
				r.log.Warn("outbox relay: send still failing; the rows wait and are retried",
					"id", x.id, "name", x.name, "error", msg, "failures", repeats, "since", since)
			default:
				r.log.Debug("outbox relay: send failed again", "id", x.id, "name", x.name, "error", msg)
			}
			return
		}
		g.sent = append(g.sent, x)
	}
}

// sessionWatch reads the batch's connection while the batch's rows are
// sent. The connection is idle in its transaction then, so whatever
// PostgreSQL sends is news: its goodbye (FATAL: pg_terminate_backend, an
// administrator's or the server's shutdown, the idle timeout) or the
// connection's end. A session lost without a word (the database host
// gone, a partition) is not seen here: its locks outlive it on the server
// for the idle timeout, longer than the batch sends (see [Relay]).
type sessionWatch struct {
	pc       *pgconn.PgConn
	ended    atomic.Bool // the session ended: start no more sends
	stopping atomic.Bool
	done     chan struct{}
	err      error // why it ended; read after done
}

func watchSession(pc *pgconn.PgConn) *sessionWatch {
	w := &sessionWatch{pc: pc, done: make(chan struct{})}
	go func() {
		defer close(w.done)
		for {
			// No context: stop interrupts the read with a deadline on the
			// socket, as pgx's own context handling does, which leaves the
			// connection usable (a context would go through the pool's
			// context watcher, which may send the server a cancel request).
			msg, err := pc.ReceiveMessage(context.Background())
			if err == nil {
				if e, ok := msg.(*pgproto3.ErrorResponse); ok {
					err = pgconn.ErrorResponseToPgError(e)
				}
			}
			if err == nil {
				continue // a notice or a parameter's new value: nothing to do
			}
			if w.stopping.Load() && !pc.IsClosed() {
				return // interrupted by stop
			}
			w.err = err
			w.ended.Store(true)
			return
		}
	}()
	return w
}

// stop ends the watch; its error is why the session ended, nil while it
// lives. The connection is again the caller's.
func (w *sessionWatch) stop() error {
	w.stopping.Store(true)
	nc := w.pc.Conn()
	_ = nc.SetReadDeadline(time.Now())
	<-w.done
	_ = nc.SetReadDeadline(time.Time{})
	if w.ended.Load() {
		return w.err
	}
	return nil
}

// truncate returns s as PostgreSQL's text takes it (last_error): valid
// UTF-8 without NUL, cut to at most n bytes at a character's boundary.
// A cut inside a multi-byte character, invalid UTF-8 or a NUL (an error's
// text may hold a destination's name, a header key, a broker's bytes)
// would make the server refuse the statement, and with it the batch's
// deletes and commit, at every batch claiming the row.
func truncate(s string, n int) string {
	s = strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", `\x00`)
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
