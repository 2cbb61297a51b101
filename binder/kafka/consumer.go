package kafka

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/google/uuid"
	kafkago "github.com/segmentio/kafka-go"

	"github.com/streambind/streambind/binder/internal/batchprefix"
	"github.com/streambind/streambind/binder/internal/dispatch"
	"github.com/streambind/streambind/binder/internal/dlcount"
	"github.com/streambind/streambind/binder/internal/dlhold"
	"github.com/streambind/streambind/binder/internal/lifecycle"
	"github.com/streambind/streambind/stream"
)

// consumer is a consumer binding of one or more topics for one group.
type consumer struct {
	bd     *Binder
	spec   stream.ConsumerSpec
	cs     consumerSettings
	topics []string
	log    *slog.Logger
	dlq    bool // dead-letter Term'ed messages
	// leftover holds the retry topics of delays no longer configured that
	// the consumer reads to drain them (retry topic → its topic).
	leftover map[string]string

	life      *lifecycle.Lifecycle // Start, Stop, Pause, Resume, close
	resetDone bool                 // reset-offsets was applied (under the lifecycle lock)

	dlqMu    sync.Mutex
	dlqW     *kafkago.Writer
	dlCounts dlcount.Counts
	// dlDown is why dead letters cannot be written (a held one failed
	// dlhold.DownAfter attempts), nil once one is: Health.
	dlDown dlhold.Down

	// workers are the partition workers of the running generation, for Lag.
	workers sync.Map // *partWorker → struct{}
}

var (
	_ stream.Consumer             = (*consumer)(nil)
	_ stream.LagReporter          = (*consumer)(nil)
	_ stream.BindingHealthChecker = (*consumer)(nil)
)

func (bd *Binder) newConsumer(spec stream.ConsumerSpec, cs consumerSettings, topics []string) *consumer {
	log := spec.Logger // the core's carries the binding's attributes
	if log == nil {
		group := spec.Group
		if group == "" {
			group = "anonymous"
		}
		log = bd.log.With("binding", spec.Binding, "destination", spec.Destination, "group", group)
	}
	c := &consumer{
		bd:     bd,
		spec:   spec,
		cs:     cs,
		topics: topics,
		log:    log,
		dlq:    spec.Consumer.DLQ && spec.Group != "", // BindConsumer refused it without a group
	}
	// What run.Done waits for, once Stop ended the run's loop (at once):
	// its handler calls, not its commits or its leaving the group.
	c.life = lifecycle.New(c.errorf, "the previous run is still ending (a handler call of it has not returned)")
	return c
}

// dlqTopic is the dead-letter topic of messages from topic.
func (c *consumer) dlqTopic(topic string) string {
	if main, ok := c.retryMain(topic); ok { // retrytopics.go
		topic = main
	}
	if c.cs.dlqName != "" {
		return c.cs.dlqName
	}
	return stream.DLQName(topic, c.spec.Group)
}

func (c *consumer) errorf(op string, err error) error {
	return c.bd.wrap(err, "kafka: %s consumer %s", op, c.spec.Binding)
}

// Start joins the group and begins delivery. A consumer whose previous
// Stop ran out of time first waits (bounded by ctx) for that run to end.
func (c *consumer) Start(ctx context.Context) error { return c.life.Start(ctx, c.startRun) }

func (c *consumer) startRun(ctx context.Context) (lifecycle.Run, error) {
	if err := c.bd.checkOpen(); err != nil {
		return nil, err
	}
	r, err := c.newRun()
	if err != nil {
		return nil, err
	}
	if r.startOffset() == kafkago.LastOffset {
		// Where "latest" is now, before the group's first assignment
		// (which a broker delays by group.initial.rebalance.delay.ms):
		// what is sent after Start returns is delivered (see startOffsets).
		r.startEnds, r.startCounts = c.bd.endOffsets(ctx, c.topics, c.log)
	}
	go r.loop()
	return r, nil
}

// Stop stops intake, waits (bounded by ctx) for in-flight handler calls,
// commits what was processed, and leaves the group.
func (c *consumer) Stop(ctx context.Context) error { return c.life.Stop(ctx) }

// Pause stops handing out messages (the group membership and assignment
// stay) and waits, bounded by ctx, for in-flight handler calls.
func (c *consumer) Pause(ctx context.Context) error { return c.life.Pause(ctx) }

// Resume undoes Pause.
func (c *consumer) Resume(ctx context.Context) error { return c.life.Resume(ctx) }

// close stops the consumer for good (its binder is closing).
func (c *consumer) close(ctx context.Context) error { return c.life.Close(ctx) }

// run is one Start..Stop of a consumer.
type run struct {
	c       *consumer
	groupID string
	cg      *kafkago.ConsumerGroup
	view    *assignView // partition counts of the leader's assignments
	reset   bool        // apply reset-offsets to the first generation
	// firstCounts are the partition counts of the run's first assignment
	// (see startOffsets); only the loop goroutine uses it.
	firstCounts map[string]int
	// startEnds are the partitions' end offsets when the run started, and
	// startCounts the topics' partition counts then, for start-offset
	// latest (see startOffsets); nil when not read.
	startEnds   map[topicPart]int64
	startCounts map[string]int
	// warnedIdle: the idle-concurrency warning was logged (keyorder.go).
	warnedIdle atomic.Bool
	// fixed: the run reads a fixed assignment (auto-rebalance-enabled:
	// false, fixed.go) and cg is nil; fixedRefused: a refused commit of it
	// was warned about, until one succeeds.
	fixed        bool
	fixedRefused atomic.Bool
	// carried is what the previous generation settled and could not
	// commit (see carriedOffset). The generations' goroutines use it one
	// after another: kafka-go starts a generation only once every
	// goroutine of the one before returned.
	carried map[topicPart]carriedOffset

	ctx    context.Context // ends the generation loop
	cancel context.CancelFunc
	// hctx is the handlers' context: cancelled when Stop runs out of
	// time. Every handler call gets it (through gh, the generation's), and
	// only handler calls, and the waits for a slot or turn to make one,
	// end with it: the run's own settling has sctx, so that cancelling
	// hctx ahead of Stop's deadline (lifecycle.HandlerCanceler, which
	// Kafka's run does not implement yet) ends no dead letter, retry copy
	// or pipelined result.
	hctx    context.Context
	hcancel context.CancelFunc
	// sctx is the context of the run's own settling of what the handlers
	// returned — dead-lettering, parking on a retry topic, collecting the
	// results of pipelined calls — cancelled when Stop runs out of time
	// (gs, the generation's, also when a rebalance's wind-down does), not
	// when hctx alone is: a dead letter being written or a pipelined
	// result confirmed after the handlers' context ended is still
	// committed, not left for the message to be handled (and its output
	// sent) again. (Committing has a context of its own.)
	sctx    context.Context
	scancel context.CancelFunc
	slots   chan struct{} // concurrency
	stopC   chan struct{} // closed by stop: wind down the generation
	done    chan struct{} // closed when loop returned
	endOnce sync.Once     // makes ended (see Done)
	ended   chan struct{}

	mu     sync.Mutex
	paused bool
	// pausedAtStop: Stop came while paused (Stop resumes, so that paused
	// workers see it, but no handler call starts after it).
	pausedAtStop bool
	stopping     bool          // stop began (as stopC, under mu)
	resumed      chan struct{} // closed on resume
	inflight     int
	idle         chan struct{} // made by a pause that waits; closed when inflight drops to 0
	genDone      chan struct{} // the running generation's wind-down finished; nil when none
}

func (c *consumer) newRun() (*run, error) {
	group := c.spec.Group
	start := c.cs.startOffset
	if group == "" {
		group = "anonymous." + uuid.NewString()
		if start == 0 {
			start = kafkago.LastOffset
		}
	} else if start == 0 {
		start = kafkago.FirstOffset
	}
	r := &run{
		c:       c,
		groupID: group,
		view:    &assignView{},
		fixed:   c.cs.fixed && c.spec.Group != "",
		reset:   c.cs.resetOffsets && !c.resetDone,
		slots:   make(chan struct{}, max(c.spec.Consumer.Concurrency, 1)),
		stopC:   make(chan struct{}),
		done:    make(chan struct{}),
	}
	// A fixed assignment joins no group: its partitions and commits are
	// its own (fixed.go).
	if !r.fixed {
		if err := r.newGroup(group, start); err != nil {
			return nil, err
		}
	}
	c.resetDone = c.resetDone || c.cs.resetOffsets
	r.ctx, r.cancel = context.WithCancel(context.Background())
	r.hctx, r.hcancel = context.WithCancel(context.Background())
	r.sctx, r.scancel = context.WithCancel(context.Background())
	return r, nil
}

// newGroup makes the run's kafka-go consumer group.
func (r *run) newGroup(group string, start int64) error {
	c := r.c
	st := c.bd.st
	cg, err := kafkago.NewConsumerGroup(kafkago.ConsumerGroupConfig{
		ID:                group,
		Brokers:           st.brokers,
		Dialer:            c.bd.dialer,
		Topics:            c.topics,
		HeartbeatInterval: c.cs.heartbeat,
		SessionTimeout:    c.cs.session,
		RebalanceTimeout:  c.cs.rebalance,
		JoinGroupBackoff:  joinRetry, // loop paces refused joins further
		// The binder watches for new partitions itself (see
		// watchPartitions), against the counts the leader's balancer
		// assigned from.
		GroupBalancers: groupBalancers(r.view, c.topics),
		StartOffset:    start,
		Timeout:        c.cs.groupTimeout,
		ErrorLogger: kafkago.LoggerFunc(func(f string, a ...any) {
			c.log.Debug("kafka-go: " + c.bd.logErr(fmt.Errorf(f, a...)))
		}),
	})
	if err != nil {
		return err
	}
	r.cg = cg
	return nil
}

// joinRetry is how soon kafka-go joins again after a failed join.
const joinRetry = 250 * time.Millisecond

// loop runs generation after generation until stopped.
//
// kafka-go joins again 250 ms after a failed join and hands each failure
// to Next, blocking until it is taken. A failure because no broker
// answered (the broker down, a coordinator not answering) is taken at
// once — waiting before taking the next one would pace its dials but also
// hold back the join that succeeds once the broker is back, by up to the
// whole wait. A failure the broker answered (a refused login after a
// password rotation, a refused group: every attempt a login the broker
// logs; 67 attempts in 17 s per consumer) is taken after a back-off of
// 250 ms doubling to 5 s, reset by a successful join, which paces
// kafka-go's attempts to the same intervals. Failures are logged at
// intervals that double from 250 ms to 5 s: one WARN a 250 ms attempt
// during an outage was a flood (43 lines in 11 s for one binding).
func (r *run) loop() {
	if r.fixed {
		r.fixedLoop() // fixed.go
		return
	}
	defer close(r.done)
	warns := dispatch.Pacer{Every: dispatch.Backoff{Initial: 250 * time.Millisecond, Max: 5 * time.Second}}
	joinBackoff := dispatch.Backoff{Initial: 250 * time.Millisecond, Max: 5 * time.Second} // after refused joins
	first := true
	fails, refusals := 0, 0
	var failingSince time.Time
	for {
		gen, err := r.cg.Next(r.ctx)
		if err != nil {
			if r.ctx.Err() != nil || errors.Is(err, kafkago.ErrGroupClosed) {
				return
			}
			if errors.Is(err, kafkago.RebalanceInProgress) {
				// Part of every rebalance: kafka-go joins again at once.
				r.c.log.Debug("kafka: the group is rebalancing; joining again", "error", r.c.bd.logErr(err))
				continue
			}
			fails++
			now := time.Now()
			if fails == 1 {
				failingSince = now
			}
			retryIn := joinRetry
			switch {
			case groupCoordination(err):
				// Routine: neither a refusal nor the end of a streak of them.
			case !r.c.bd.unreachable(err):
				refusals++
				retryIn = joinBackoff.Delay(refusals)
			default:
				refusals = 0
			}
			if warns.Warn(now) {
				r.c.log.Warn("kafka: joining the consumer group failed; retrying", "attempts", fails, "retry_in", retryIn.Round(time.Millisecond),
					"failing_for", now.Sub(failingSince).Round(time.Millisecond), "error", r.c.bd.logErr(err))
			} else {
				r.c.log.Debug("kafka: joining the consumer group failed; retrying", "attempts", fails, "retry_in", retryIn.Round(time.Millisecond), "error", r.c.bd.logErr(err))
			}
			if refusals > 0 && !dispatch.Sleep(r.ctx, retryIn) {
				return
			}
			continue
		}
		if fails > 0 {
			r.c.log.Info("kafka: joined the consumer group again", "attempts", fails, "failed_for", time.Since(failingSince).Round(time.Millisecond))
			fails, refusals = 0, 0
			warns.Reset()
		}
		reset := first && r.reset
		first = false
		r.generation(kafkaGen{Generation: gen, r: r, resend: new(atomic.Int32)}, reset)
	}
}

// groupCoordination reports whether err is a routine answer of the
// group's coordinator (a rebalance under way, a member or generation the
// coordinator no longer knows after a session timeout, a coordinator
// moving or loading): kafka-go joins again at once, and a back-off meant
// for refused joins (a failed login, a refused group) would only hold up
// the whole group's rebalance.
func groupCoordination(err error) bool {
	for _, e := range []kafkago.Error{kafkago.RebalanceInProgress, kafkago.UnknownMemberId, kafkago.IllegalGeneration,
		kafkago.MemberIDRequired, kafkago.GroupCoordinatorNotAvailable, kafkago.NotCoordinatorForGroup, kafkago.GroupLoadInProgress} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// groupGen is what generation needs of a generation: kafka-go's
// (kafkaGen), or a fixed assignment's partition set (fixedGen, fixed.go).
// Start runs a function in a goroutine of the generation, whose context
// ends with it; the generation ends when one of them returns.
type groupGen interface {
	genID() int32
	assignments() map[string][]kafkago.PartitionAssignment
	// member is the member ID in the group, "" for a fixed assignment.
	member() string
	Start(fn func(context.Context))
	CommitOffsets(offs map[string]map[int]int64) error
}

// kafkaGen is a consumer group generation of kafka-go.
type kafkaGen struct {
	*kafkago.Generation
	r *run
	// resend says whether the commits that fail on the generation's
	// connection are sent again on another: 0 until one failed, then
	// resendYes or resendNo (see CommitOffsets).
	resend *atomic.Int32
}

const (
	resendYes = 1
	resendNo  = 2
)

// CommitOffsets commits offs as the generation's member. kafka-go sends
// the commit on the generation's coordinator connection; when that
// connection broke (a broker restart, a connection cut) it fails every
// commit until the heartbeat ends the generation, up to
// heartbeat-interval later. Such a commit is sent again through the
// binder's client, on a connection of its own, as the same member and
// generation: the coordinator accepts it while the member is in the
// group (Kafka keeps a group's members across a coordinator restart until
// their sessions time out). Else a Stop in that window lost its final
// commit, and what was handled since the restart was handled again.
//
// It does so only when the first commit that failed on the connection
// found it closed by the broker (kafka-go closes it after any failure, so
// the later ones say only "use of closed network connection"), and no
// more in the generation once a commit sent again timed out: a
// coordinator that does not answer (a black hole) would otherwise hold
// every commit, and Stop, for the group timeout twice.
func (g kafkaGen) CommitOffsets(offs map[string]map[int]int64) error {
	err := g.Generation.CommitOffsets(offs)
	var kerr kafkago.Error
	if err == nil || errors.As(err, &kerr) { // the coordinator answered
		return err
	}
	if g.resend.Load() == 0 {
		v := int32(resendNo)
		if closedByPeer(err) {
			v = resendYes
		}
		g.resend.CompareAndSwap(0, v)
	}
	if g.resend.Load() != resendYes {
		return err
	}
	if err2 := g.r.clientCommit(g.ID, g.MemberID, offs); err2 != nil {
		if timedOut(err2) {
			g.resend.Store(resendNo)
		}
		return fmt.Errorf("%w (sent again on another connection: %w)", err, err2)
	}
	return nil
}

// closedByPeer reports whether err is a connection's that the other end
// closed or reset.
func closedByPeer(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNABORTED)
}

// timedOut reports whether err is a request's or connection's timeout.
func timedOut(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}

// clientCommit commits offs to the run's group through the binder's
// client, as member memberID of generation genID (-1 and "": as Kafka's
// simple consumers, which a group accepts only while it has no members).
// A connection of the client's pool that broke (a broker restart, an idle
// connection cut) fails the request sent on it, and each such connection
// fails one: the commit is sent again at once, on another, up to
// clientCommitTries attempts within the group timeout (a commit is
// idempotent). A partition's error is the error.
func (r *run) clientCommit(genID int32, memberID string, offs map[string]map[int]int64) error {
	c := r.c
	req := &kafkago.OffsetCommitRequest{GroupID: r.groupID, GenerationID: int(genID), MemberID: memberID, Topics: make(map[string][]kafkago.OffsetCommit, len(offs))}
	for t, ps := range offs {
		for p, o := range ps {
			req.Topics[t] = append(req.Topics[t], kafkago.OffsetCommit{Partition: p, Offset: o})
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.cs.groupTimeout)
	defer cancel()
	res, err := c.bd.admin.OffsetCommit(ctx, req)
	for try := 1; err != nil && retriable(err) && try < clientCommitTries && ctx.Err() == nil; try++ {
		res, err = c.bd.admin.OffsetCommit(ctx, req)
	}
	if err != nil {
		return err
	}
	for t, ps := range res.Topics {
		for _, p := range ps {
			if p.Error != nil {
				return fmt.Errorf("%s/%d: %w", t, p.Partition, p.Error)
			}
		}
	}
	return nil
}

// clientCommitTries bounds the attempts of one clientCommit on broken
// connections.
const clientCommitTries = 5

func (g kafkaGen) genID() int32 { return g.ID }

func (g kafkaGen) assignments() map[string][]kafkago.PartitionAssignment { return g.Assignments }

func (g kafkaGen) member() string { return g.MemberID }

// generation consumes the partitions assigned in gen until the generation
// ends (a rebalance) or the run stops, then commits what was processed.
func (r *run) generation(gen groupGen, reset bool) {
	finished := make(chan struct{})
	r.mu.Lock()
	r.genDone = finished
	r.mu.Unlock()
	assignedFrom := r.view.take()
	if r.firstCounts == nil {
		r.firstCounts = assignedFrom
		if r.firstCounts == nil && r.startOffset() == kafkago.LastOffset {
			// Not the leader: the counts now (see startOffsets).
			counts, err := r.c.bd.partitionCounts(r.ctx, r.c.topics)
			if err == nil {
				r.firstCounts = counts
			}
		}
	}
	firstCounts := r.firstCounts
	gen.Start(func(gctx context.Context) {
		r.watchPartitions(gctx, assignedFrom, r.c.log.With("generation", gen.genID()))
	})
	gen.Start(func(gctx context.Context) {
		closeFinished := sync.OnceFunc(func() { close(finished) })
		defer closeFinished()
		log := r.c.log.With("generation", gen.genID())
		// wctx ends intake: on a rebalance (gctx) or Stop.
		wctx, wcancel := context.WithCancel(context.Background())
		defer wcancel()
		// gh is the handlers' context in this generation: cancelled when
		// a rebalance wind-down takes too long, or with the run's (Stop
		// ran out of time). gs is the settling context in it (see
		// run.sctx): cancelled with gh on a rebalance, with the run's
		// when Stop ran out of time.
		gh, ghCancel := context.WithCancel(r.hctx)
		defer ghCancel()
		gs, gsCancel := context.WithCancel(r.sctx)
		defer gsCancel()
		stopping := false
		go func() {
			select {
			case <-gctx.Done():
				wcancel()
				t := time.NewTimer(r.c.cs.rebalance / 2)
				defer t.Stop()
				// Until the wind-down finished: not wctx, which was
				// just cancelled above (the handlers' ctx never ended
				// on a rebalance, and a handler that waits for it held
				// the generation, and the group, until it returned).
				select {
				case <-t.C:
					ghCancel()
					gsCancel()
				case <-finished:
				case <-r.sctx.Done():
				}
			case <-r.stopC:
				wcancel()
			case <-r.sctx.Done():
			}
		}()

		cm := newCommitter(gen, log, r.c.bd)
		offs, commitNow := r.startOffsets(wctx, gen.assignments(), reset, firstCounts, log)
		carried := r.carried
		r.carried = nil
		r.warnIdleConcurrency(gen.assignments(), log) // keyorder.go, before any message is handled
		var wg sync.WaitGroup
		var ws []*partWorker
		for topic, parts := range gen.assignments() {
			for _, pa := range parts {
				k := topicPart{topic, pa.ID}
				if co, ok := carried[k]; ok && !reset && co.applies(pa.Offset) {
					log.Info("kafka: going on from the offset processed but not committed in the previous generation", "topic", topic, "partition", pa.ID, "committed", pa.Offset, "offset", co.next)
					offs[k], commitNow[k] = co.next, true
				} else if ok {
					log.Debug("kafka: not going on from the offset processed in the previous generation: the committed offset moved", "topic", topic, "partition", pa.ID, "committed", pa.Offset, "known", co.known, "tried", co.tried, "offset", co.next, "reset", reset)
				}
				w := &partWorker{r: r, topic: topic, part: pa.ID, offset: offs[k], cm: cm, po: cm.partition(topic, pa.ID, pa.Offset), wctx: wctx, hctx: gh, sctx: gs, log: log.With("partition", pa.ID)}
				if commitNow[k] {
					cm.mark(w.po, offs[k])
				}
				w.initLag()
				ws = append(ws, w)
				wg.Go(w.run)
			}
		}
		log.Debug("kafka: generation started", "partitions", len(ws))
		// One INFO line when a group generation's partitions are
		// assigned and one when they are revoked (as Spring Kafka's
		// "partitions assigned: [...]" and "partitions revoked: [...]"),
		// so that an operator sees each rebalance in the log: which
		// partitions this member consumes, and from when to when. A
		// fixed assignment has no rebalance (fixedLoop logs its
		// partitions).
		member := gen.member()
		parts := assignmentText(gen.assignments())
		if parts == "" {
			parts = "none"
		}
		if member != "" {
			log.Info("kafka: partitions assigned", "member", member, "partitions", parts)
		}
		// The committer runs until the workers ended, not until intake
		// stopped: messages that finish during a wind-down (Stop, a
		// rebalance) are committed as they finish, even when another
		// handler does not return in time (it ignores its context) and the
		// final commit below never comes.
		cctx, ccancel := context.WithCancel(context.Background())
		defer ccancel()
		cmDone := make(chan struct{})
		go func() { defer close(cmDone); cm.loop(cctx) }()
		lagDone := make(chan struct{})
		go func() { defer close(lagDone); r.refreshLag(wctx, ws) }()
		workersDone := make(chan struct{})
		go r.watchStuck(wctx, gh, workersDone, log)
		if len(ws) == 0 {
			// A member with no partition (more members than partitions)
			// stays in the generation until the group ends it or Stop:
			// kafka-go ends a generation as soon as one of its functions
			// returns, and returning at once here rejoined the group in a
			// loop — thousands of generations a second, each one a
			// rebalance that revoked the other members' partitions too.
			select {
			case <-wctx.Done():
			case <-r.hctx.Done():
			}
		}
		wg.Wait()
		close(workersDone)
		wcancel()
		ccancel()
		<-cmDone
		<-lagDone
		cm.commit(true)
		r.carried = cm.uncommitted()
		closeFinished()
		select {
		case <-r.stopC:
			stopping = true
		default:
		}
		log.Debug("kafka: generation wound down", "stopping", stopping)
		if member != "" {
			// After the wind-down: what was handled is committed, and
			// the partitions are the group's to give to another member.
			// A rebalance is any end of the generation the group decided
			// (a member joined or left, partitions were added, this
			// member's session or coordinator was lost).
			reason := "rebalance"
			if stopping || r.ctx.Err() != nil {
				reason = "stop"
			}
			log.Info("kafka: partitions revoked", "member", member, "partitions", parts, "reason", reason)
		}
		if stopping {
			// Keep the generation until the group is closed, so that the
			// member does not rejoin before it leaves.
			<-gctx.Done()
		}
	})
}

// stuckAfter is how long after their context was cancelled the handlers
// of a winding-down generation may run before watchStuck warns.
const stuckAfter = 5 * time.Second

// watchStuck warns while a handler does not return although its context
// was cancelled (a rebalance wind-down that took too long, or Stop out of
// time): the member cannot wind the generation down, so it handles
// nothing more and cannot rejoin the group until the handler returns.
// The handler's message is not committed; the group's other members
// take its partitions after rebalance-timeout. It returns when the
// workers ended (done closed).
func (r *run) watchStuck(wctx, gh context.Context, done <-chan struct{}, log *slog.Logger) {
	select {
	case <-wctx.Done():
	case <-done:
		return
	}
	select {
	case <-gh.Done():
	case <-done:
		return
	}
	since := time.Now()
	wait := stuckAfter
	for {
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-done:
			t.Stop()
			return
		}
		log.Warn("kafka: a handler has not returned since its context was cancelled; this member handles nothing more and cannot rejoin the consumer group until it returns (make the handler return when its context ends)",
			"cancelled_for", time.Since(since).Round(time.Second))
		wait = min(2*wait, time.Minute)
	}
}

func (r *run) startOffset() int64 {
	if r.c.cs.startOffset != 0 {
		return r.c.cs.startOffset
	}
	if r.c.spec.Group == "" {
		return kafkago.LastOffset
	}
	return kafkago.FirstOffset
}

// Stop implements [lifecycle.Run]: stop, then the dead-letter writer is
// closed.
func (r *run) Stop(ctx context.Context) error {
	err := r.stop(ctx)
	r.c.closeDLQ(ctx)
	return err
}

// Done implements [lifecycle.Run]: closed once the run's loop returned
// and no handler call of it is in flight — a handler that ignores its
// cancelled context keeps the run from ending, so that the next Start
// does not hand out messages beside it.
func (r *run) Done() <-chan struct{} {
	r.endOnce.Do(func() {
		r.ended = make(chan struct{})
		go func() {
			<-r.done
			r.mu.Lock()
			for r.inflight > 0 { // nothing enters any more: Stop came
				if r.idle == nil {
					r.idle = make(chan struct{})
				}
				idle := r.idle
				r.mu.Unlock()
				<-idle
				r.mu.Lock()
			}
			r.mu.Unlock()
			close(r.ended)
		}()
	})
	return r.ended
}

// Pause implements [lifecycle.Run].
func (r *run) Pause(ctx context.Context) error { return r.pause(ctx) }

// Resume implements [lifecycle.Run].
func (r *run) Resume() { r.resume() }

// stop winds the run down: intake stops, in-flight handler calls finish
// (their context is cancelled when ctx ends: they Nak), processed offsets
// are committed, and the member leaves the group.
func (r *run) stop(ctx context.Context) error {
	r.mu.Lock()
	r.pausedAtStop = r.paused // no handler calls to close prefix gaps (enterDraining)
	r.stopping = true         // enter takes nothing new
	r.mu.Unlock()
	close(r.stopC)
	r.resume() // paused workers must see the stop
	r.mu.Lock()
	gd := r.genDone
	r.mu.Unlock()
	var err error
	if gd != nil {
		select {
		case <-gd:
		case <-ctx.Done():
			r.hcancel()
			r.scancel()
			err = fmt.Errorf("in-flight messages interrupted (they will be redelivered): %w", ctx.Err())
		}
	}
	r.hcancel()
	r.scancel()
	r.cancel()
	closed := make(chan struct{})
	go func() {
		defer close(closed)
		if r.cg != nil { // nil: a fixed assignment (no group to leave)
			_ = r.cg.Close()
		}
		<-r.done
	}()
	bound := time.NewTimer(r.c.bd.st.closeTimeout)
	defer bound.Stop()
	select {
	case <-closed:
	case <-ctx.Done():
		if err == nil {
			err = fmt.Errorf("leaving the group: %w", ctx.Err())
		}
	case <-bound.C:
		r.c.log.Warn("kafka: leaving the consumer group is taking long; continuing in the background")
	}
	return err
}

func (r *run) pause(ctx context.Context) error {
	r.mu.Lock()
	if !r.paused {
		r.paused = true
		r.resumed = make(chan struct{})
	}
	if r.inflight == 0 {
		r.mu.Unlock()
		return nil
	}
	if r.idle == nil {
		r.idle = make(chan struct{})
	}
	idle := r.idle
	r.mu.Unlock()
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (r *run) resume() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.paused {
		r.paused = false
		close(r.resumed)
	}
}

// enter waits while paused and counts a handler call in flight; it
// returns false when wctx ends first.
func (r *run) enter(wctx context.Context) bool {
	for {
		select {
		case <-r.stopC: // Stop began: take nothing new
			return false
		default:
		}
		r.mu.Lock()
		if r.stopping { // Stop came between the check above and the lock
			r.mu.Unlock()
			return false
		}
		if !r.paused {
			if wctx.Err() != nil {
				r.mu.Unlock()
				return false
			}
			r.inflight++
			r.mu.Unlock()
			return true
		}
		ch := r.resumed
		r.mu.Unlock()
		select {
		case <-ch:
		case <-wctx.Done():
			return false
		}
	}
}

// enterDraining counts a handler call in flight that closes a gap in a
// winding-down generation's processed prefix (ordering: key, see prefix):
// also after Stop began, since it finishes work already under way; never
// while paused; false when hctx (the handlers') ended.
func (r *run) enterDraining(hctx context.Context) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.paused || r.pausedAtStop || hctx.Err() != nil {
		return false
	}
	r.inflight++
	return true
}

// windingDown reports whether the worker's generation winds down (a
// rebalance, Stop).
func (w *partWorker) windingDown() bool {
	if w.wctx.Err() != nil {
		return true
	}
	select {
	case <-w.r.stopC:
		return true
	default:
		return false
	}
}

func (r *run) leave() {
	r.mu.Lock()
	r.inflight--
	if r.inflight == 0 && r.idle != nil {
		close(r.idle)
		r.idle = nil
	}
	r.mu.Unlock()
}

// committer commits the processed prefix of each partition of one
// generation: asynchronously and coalesced while running, synchronously at
// the end. Commit failures are logged, not fatal: what was not committed
// is redelivered.
type committer struct {
	gen interface {
		CommitOffsets(map[string]map[int]int64) error
	}
	log  *slog.Logger
	bd   *Binder
	wake chan struct{}

	mu    sync.Mutex
	parts []*partOffset
}

// partOffset is one partition's processed prefix (next offset to read)
// and what was committed of it; -1 while there is none.
type partOffset struct {
	topic     string
	part      int
	next      atomic.Int64
	committed int64 // guarded by the committer's commit calls (serial)
	// known is the group's committed offset as far as this member knows:
	// the generation's start (kafka-go's, a negative start offset when
	// none) or the last commit that succeeded. Guarded as committed.
	known int64
	// tried are the offsets of the first commits that failed since known
	// (at most maxTried): one of them may have been applied, its answer
	// lost (see carriedOffset.applies). Guarded as committed.
	tried []int64
	// reset is set by the fetcher when it reset the position of a log that
	// no longer holds it (a re-created topic, see partWorker.outOfRange):
	// committed, known and tried describe the old log, and the group's
	// offset went with it. The committer forgets them (stale) before it
	// compares the processed prefix with committed: else a new prefix equal
	// to the old log's last commit would never be committed.
	reset atomic.Bool
}

// stale forgets, after a reset of the partition's log, what the member
// knew of the group's offset. Called by the committer (serially).
func (po *partOffset) stale() {
	if po.reset.Load() && po.reset.Swap(false) { // Load first: no write per commit while none came
		po.committed, po.known, po.tried = -1, -1, nil
	}
}

// maxTried bounds partOffset.tried. The commit whose answer may be lost is
// the one in flight when the coordinator connection broke, the first to
// fail; those after it fail on the broken connection unsent. Beyond the
// bound a lost answer is taken for someone else's commit: handled again.
const maxTried = 8

// carriedOffset is a partition's processed prefix that its generation
// could not commit (the coordinator connection broke and the commit sent
// again on another failed too — the broker still down, say — while the
// fetchers reconnect and handling goes on until the heartbeat ends the
// generation: see kafkaGen.CommitOffsets), kept for the next generation
// of the run. If that generation assigns the partition to this
// member again and the group's committed offset is still what the member
// knew (or one of its own commits that failed, whose answer may have been
// lost: see applies), every message before next was settled by this member: the
// partition goes on from next and commits it, rather than handling again
// from the older committed offset all that was settled meanwhile. A
// committed offset that moved otherwise (another member went further, an
// offset reset) wins.
type carriedOffset struct {
	known, next int64
	tried       []int64 // partOffset.tried
}

// applies reports whether the next generation goes on from co.next, the
// group's committed offset being committed: only when that is the offset
// the member knew, or one of its own commits that failed short of next
// (the broker may have applied it, the answer lost). Any other offset was
// committed by someone else — another member went further, an admin's
// reset while the member was out of the group (Kafka allows one only
// then) — and wins. "None committed", as the member knew it, is also what
// a topic deleted and created again has (Kafka drops a deleted topic's
// commits), whose offsets below next are new records; it is carried over
// all the same: a new group whose first commit did not land before a
// cluster restart would otherwise handle its whole first generation
// again. On a re-created topic whose log does not reach next yet, the
// fetcher finds the position past the end and resets it to the start
// offset (fetch.go's outOfRange), as it does for a live generation; one
// whose log already grew past next cannot be told from the old log
// (kafka-go has no topic ids), and its records before next are not read,
// as for a live generation that fetched only after the log grew so far.
func (co carriedOffset) applies(committed int64) bool {
	return committed == co.known || (committed < co.next && slices.Contains(co.tried, committed))
}

func newCommitter(gen groupGen, log *slog.Logger, bd *Binder) *committer {
	return &committer{gen: gen, log: log, bd: bd, wake: make(chan struct{}, 1)}
}

// partition registers a partition of the generation; committed is the
// group's committed offset at the generation's start (kafka-go's
// assignment).
func (cm *committer) partition(topic string, part int, committed int64) *partOffset {
	po := &partOffset{topic: topic, part: part, committed: -1, known: committed}
	po.next.Store(-1)
	cm.mu.Lock()
	cm.parts = append(cm.parts, po)
	cm.mu.Unlock()
	return po
}

// mark records that everything before offset next of po was processed.
func (cm *committer) mark(po *partOffset, next int64) {
	po.next.Store(next)
	select {
	case cm.wake <- struct{}{}:
	default:
	}
}

// loop commits after every mark, coalesced, and retries a failed commit
// after a back-off (100 ms doubling to 5 s, reset by a commit that
// succeeds) until ctx ends. Without the retries a refused commit (a
// coordinator answering "rebalance in progress", a broken connection)
// stood until the partition's next message: on an idle partition for as
// long as it stayed idle, every message handled before it handed out
// again after a crash.
func (cm *committer) loop(ctx context.Context) {
	backoff := dispatch.Backoff{Initial: 100 * time.Millisecond, Max: 5 * time.Second}
	fails := 0
	var retry <-chan time.Time
	for {
		select {
		case <-cm.wake:
		case <-retry:
		case <-ctx.Done():
			return
		}
		retry = nil
		if cm.commit(false) {
			fails = 0
			continue
		}
		fails++
		retry = time.After(backoff.Delay(fails))
	}
}

// commit commits every partition whose processed prefix moved and
// reports whether nothing is left to commit (false: the commit failed).
// Calls are serial (the loop, then the final call after the loop ended).
func (cm *committer) commit(final bool) bool {
	cm.mu.Lock()
	parts := slices.Clone(cm.parts)
	cm.mu.Unlock()
	todo := map[string]map[int]int64{}
	var moved []*partOffset
	var offs []int64
	for _, po := range parts {
		po.stale()
		if n := po.next.Load(); n >= 0 && n != po.committed {
			if todo[po.topic] == nil {
				todo[po.topic] = map[int]int64{}
			}
			todo[po.topic][po.part] = n
			moved = append(moved, po)
			offs = append(offs, n)
		}
	}
	if len(moved) == 0 {
		return true
	}
	if err := cm.gen.CommitOffsets(todo); err != nil {
		level := slog.LevelDebug
		if final {
			level = slog.LevelInfo
		}
		cm.log.Log(context.Background(), level, "kafka: offset commit failed; uncommitted messages will be redelivered", "error", cm.bd.logErr(err), "final", final)
		for i, po := range moved {
			if len(po.tried) < maxTried && !slices.Contains(po.tried, offs[i]) {
				po.tried = append(po.tried, offs[i])
			}
		}
		return false
	}
	for i, po := range moved {
		po.committed, po.known, po.tried = offs[i], offs[i], nil
	}
	return true
}

// uncommitted returns the partitions whose processed prefix was not
// committed (nil when none), for the next generation. After the final
// commit.
func (cm *committer) uncommitted() map[topicPart]carriedOffset {
	cm.mu.Lock()
	defer cm.mu.Unlock()
	var out map[topicPart]carriedOffset
	for _, po := range cm.parts {
		po.stale()
		if n := po.next.Load(); n >= 0 && n != po.committed {
			if out == nil {
				out = map[topicPart]carriedOffset{}
			}
			out[topicPart{po.topic, po.part}] = carriedOffset{known: po.known, next: n, tried: po.tried}
		}
	}
	return out
}

// partWorker consumes one assigned partition: a fetcher goroutine reads
// ahead into a bounded queue (fetchQueue), the worker takes what is
// queued at once and handles the messages one at a time (or one batch at
// a time) in offset order.
type partWorker struct {
	r      *run
	topic  string
	part   int
	offset int64
	cm     *committer
	po     *partOffset
	wctx   context.Context
	hctx   context.Context // the handlers' (run.hctx)
	sctx   context.Context // settling's (run.sctx)
	log    *slog.Logger
	ls     lagState
	// pastEnd counts the connections in a row that found the position
	// past the end of the log (fetch.go's outOfRange); the fetcher's only.
	pastEnd int
	// failAt and fails count the fetches in a row that failed at one
	// offset (fetch.go's fetchFailed); the fetcher's only.
	failAt int64
	fails  int
	// proto: the partition is read through the protocol layer (readProto,
	// fetchtxn.go: transaction markers and aborted records dropped); the
	// fetcher's only.
	proto bool

	// Only the worker goroutine uses what follows.
	//
	// holding is whether the worker holds a concurrency slot across
	// messages (see keepSlot); heldSince and heldFor bound how long.
	holding   bool
	heldSince time.Time
	heldFor   int
	// retryTopic: the partition is of a retry topic (its messages may
	// wait until due, so the worker never keeps a slot while waiting).
	retryTopic bool
	// dest is the destination its messages report (stream.Received): the
	// topic (a retry topic's own name).
	dest string
	// oneEnv carries a single message's envelope without allocating a
	// slice per message.
	oneEnv [1]stream.Envelope
	// values interns header values (content types, ...) so that a
	// message's headers cost one map and no string per value.
	values map[string]string
	// types is the last spring_json_header_types header parsed: a
	// producer's records repeat it (see recordHeaders).
	types jsonTypes
}

const (
	// slotTurn bounds how many messages, and for how long, a worker
	// keeps a concurrency slot while its next message is already
	// fetched: handing a slot from one partition's worker to another's
	// for every message (concurrency below the partition count) costs a
	// goroutine wake-up each; keeping it for a turn costs the other
	// partitions no more than the turn.
	slotTurn     = 128
	slotTurnTime = 2 * time.Millisecond
	// internMax bounds the interned header values (count and length).
	internMax, internLen = 64, 128
)

func (w *partWorker) run() {
	c := w.r.c
	c.workers.Store(w, struct{}{})
	defer c.workers.Delete(w)
	w.dest = w.topic
	if _, ok := c.retryMain(w.topic); ok {
		// A retry topic's record reports the retry topic, as Spring
		// Kafka's retry topics do: with the main topic's name its
		// partition and offset (the retry topic's) would name another
		// record, and an idempotency key of (topic, partition, offset)
		// skipped it as that one's duplicate.
		w.retryTopic = true
	}
	q := newFetchQueue(max(c.cs.queueCapacity, 1))
	fetchDone := make(chan struct{})
	go func() {
		defer close(fetchDone)
		defer q.close()
		w.fetch(q) // fetch.go
	}()
	// The fetcher ends with wctx (every way out of the loop below is
	// wctx ending or Stop, which ends it).
	defer func() { <-fetchDone }()
	if w.keyed() {
		w.runKeyed(q) // keyorder.go
		return
	}
	if w.pipelined() {
		w.runPipelined(q) // pipeline.go
		return
	}
	defer w.releaseSlot() // first of the deferred calls
	batchMode := c.spec.Consumer.BatchMode
	// buf is what the worker took from q, handled from index i on; its
	// array goes back to q at the next take.
	buf := make([]kafkago.Message, 0, q.capacity)
	i := 0
	var batch []kafkago.Message
	for {
		if i == len(buf) {
			clear(buf)
			if w.holding && !w.keepSlot(q.queued()) {
				w.releaseSlot()
			}
			var ok bool
			if buf, ok = q.take(buf, w.wctx.Done()); !ok {
				return
			}
			i = 0
		} else if w.holding && !w.keepSlot(len(buf)-i) {
			w.releaseSlot()
		}
		if isSkip(&buf[i]) { // fetchtxn.go: skipped offsets
			w.skipped(&buf[i])
			buf[i] = kafkago.Message{}
			i++
			continue
		}
		if !batchMode {
			ok := w.deliver(buf[i : i+1])
			buf[i] = kafkago.Message{}
			i++
			if !ok {
				return
			}
			continue
		}
		n := 1 // up to batch-size messages, up to a skip mark
		for n < min(len(buf)-i, c.cs.batchSize) && !isSkip(&buf[i+n]) {
			n++
		}
		batch = append(batch[:0], buf[i:i+n]...)
		clear(buf[i : i+n])
		i += n
		if !w.deliver(batch) {
			return
		}
		clear(batch)
	}
}

// fetchQueue carries fetched messages from a partition's fetcher goroutine
// to its worker: the fetcher appends one at a time, the worker takes all
// that are there at once, so that a worker busy with a message finds the
// ones fetched meanwhile in one hand-over rather than one each, and a
// goroutine is woken only when the other side waits (an empty queue, a
// full one).
type fetchQueue struct {
	capacity int // queue-capacity

	mu      sync.Mutex
	msgs    []kafkago.Message
	closed  bool
	takerW  bool          // the worker waits for a message
	putterW bool          // the fetcher waits for room
	ready   chan struct{} // wakes the worker (capacity 1)
	room    chan struct{} // wakes the fetcher (capacity 1)
}

func newFetchQueue(capacity int) *fetchQueue {
	return &fetchQueue{
		capacity: capacity,
		msgs:     make([]kafkago.Message, 0, capacity),
		ready:    make(chan struct{}, 1),
		room:     make(chan struct{}, 1),
	}
}

func wake(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// put appends m, waiting while capacity messages are queued (waited
// says so); ok is false when done is closed first.
func (q *fetchQueue) put(m *kafkago.Message, done <-chan struct{}) (waited, ok bool) {
	for {
		q.mu.Lock()
		if len(q.msgs) < q.capacity {
			q.msgs = append(q.msgs, *m)
			w := q.takerW
			q.takerW = false
			q.mu.Unlock()
			if w {
				wake(q.ready)
			}
			return waited, true
		}
		q.putterW = true
		q.mu.Unlock()
		waited = true
		select {
		case <-q.room:
		case <-done:
			return waited, false
		}
	}
}

// close tells the worker that nothing more comes.
func (q *fetchQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	wake(q.ready)
}

// queued is the number of messages waiting.
func (q *fetchQueue) queued() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.msgs)
}

// take returns every queued message, waiting for one; prev, the slice the
// worker took before (handled and cleared), becomes the queue's, so the
// two arrays alternate. false when the queue is closed and empty or done
// is closed first.
func (q *fetchQueue) take(prev []kafkago.Message, done <-chan struct{}) ([]kafkago.Message, bool) {
	for {
		out, got, open := q.poll(prev)
		if got {
			return out, true
		}
		if !open {
			return nil, false
		}
		select {
		case <-q.ready:
		case <-done:
			return nil, false
		}
	}
}

// poll is take without waiting: got is false when nothing is queued (the
// worker is then woken through ready when a message comes), open is false
// when the queue is closed and empty.
func (q *fetchQueue) poll(prev []kafkago.Message) (out []kafkago.Message, got, open bool) {
	q.mu.Lock()
	if len(q.msgs) > 0 {
		out = q.msgs
		q.msgs = prev[:0]
		w := q.putterW
		q.putterW = false
		q.mu.Unlock()
		if w {
			wake(q.room)
		}
		return out, true, true
	}
	closed := q.closed
	if !closed {
		q.takerW = true
	}
	q.mu.Unlock()
	return prev[:0], false, !closed
}

// acquireSlot waits for a concurrency slot unless the worker holds one;
// false when the generation winds down first.
func (w *partWorker) acquireSlot() bool {
	if w.holding {
		return true
	}
	if w.wctx.Err() != nil {
		// Winding down: never a slot then (a select with both ready
		// picks one at random).
		return false
	}
	select {
	case w.r.slots <- struct{}{}:
	case <-w.wctx.Done():
		return false
	}
	w.holding, w.heldFor, w.heldSince = true, 0, time.Time{}
	return true
}

// releaseSlot gives the worker's slot back, if it holds one.
func (w *partWorker) releaseSlot() {
	if w.holding {
		w.holding = false
		<-w.r.slots
	}
}

// keepSlot reports whether the worker keeps its slot for its next
// message: only while that message is already fetched (queued > 0, so the
// worker does not wait for the broker holding a slot), within a turn, and
// never on a retry topic. The turn's time is read at every 4th message
// (a clock read costs about as much as the rest of a message's way here),
// so slow handlers overrun it by at most 3 calls.
func (w *partWorker) keepSlot(queued int) bool {
	if queued == 0 || w.retryTopic || w.heldFor >= slotTurn {
		return false
	}
	if w.heldSince.IsZero() {
		w.heldSince = time.Now()
	}
	return w.heldFor%4 != 0 || time.Since(w.heldSince) < slotTurnTime
}

// deliver handles ms (one message, or a batch) until it is acknowledged,
// terminated (dead-lettered or dropped) or the generation winds down; it
// marks the partition processed up to the last message and reports
// whether the worker goes on. A handler call that succeeds keeps the
// worker's slot (the caller decides whether to give it back); every other
// outcome gives it back before waiting, retrying or dead-lettering.
func (w *partWorker) deliver(ms []kafkago.Message) bool {
	r := w.r
	c := r.c
	var envs []stream.Envelope
	if len(ms) == 1 {
		envs = w.oneEnv[:]
		defer func() { w.oneEnv[0] = stream.Envelope{} }()
	} else {
		envs = make([]stream.Envelope, len(ms))
	}
	for i := range ms {
		envs[i] = w.envelope(&ms[i])
	}
	if !c.spec.Consumer.BatchMode && w.retryTopic && !w.holdUntilDue(envs[0]) { // retrytopics.go
		return false
	}
	last := ms[len(ms)-1].Offset + 1
	ok, k, err := w.call(ms, envs)
	if !ok {
		return false
	}
	ms, envs = ms[k:], envs[k:] // the rest: err is its outcome
	if err != nil && !w.failed(ms, envs, err, time.Time{}) {
		return false
	}
	w.finished(last)
	w.cm.mark(w.po, last)
	return true
}

// call makes one handler call for ms (envs), with a concurrency slot and
// counted in flight (for Pause); ok is false when the generation winds
// down before the call. A call that succeeds keeps the slot (outside
// batch mode); every other outcome gives it back. In batch mode, settled
// is how many of the first messages the core settled early
// (stream.BatchSettler): the partition is marked processed past them at
// once (the committer commits it), before the failed message's retries.
// A worker's batch is one partition's, so they are its contiguous prefix.
// err is then the outcome of the others, ms[settled:] (stream.BatchTail).
func (w *partWorker) call(ms []kafkago.Message, envs []stream.Envelope) (ok bool, settled int, err error) {
	r := w.r
	c := r.c
	if !w.acquireSlot() {
		return false, 0, nil
	}
	if !r.enter(w.wctx) {
		w.releaseSlot()
		return false, 0, nil
	}
	stuck := false  // an early-settled message could not be: commit nothing past it
	counted := true // the call is counted in flight (enter) and holds a slot
	if c.spec.Consumer.BatchMode {
		ctx, prefix := batchprefix.New(w.hctx, len(ms), func(from, to int, outcome error) error {
			if stuck {
				return errNotSettled
			}
			if outcome != nil {
				// One that failed for good is dead-lettered (or dropped)
				// first, as settle does at the end, held while the DLQ
				// refuses it; winding down meanwhile, it is left
				// uncommitted. As a hold after the call is (failed), the
				// hold is outside the call's count and slot: Pause does
				// not wait for it, nor do the other partitions' workers.
				// Before the function goes on, the call takes a slot and
				// is counted again, waiting while paused, so it never
				// runs on a paused binding.
				r.leave()
				w.releaseSlot()
				counted = false
				if !w.settleFailed(ms[from:to], envs[from:to], outcome) {
					stuck = true
					return errNotSettled
				}
			}
			next := ms[to-1].Offset + 1
			w.finished(next)
			w.cm.mark(w.po, next)
			if !counted {
				// Stop or a rebalance that began meanwhile ends the batch:
				// the function does not go on, the rest is not committed
				// past and comes again.
				if !w.acquireSlot() {
					stuck = true // the generation wound down: nothing more committed past
					return errWoundDown
				}
				if !r.enter(w.wctx) {
					w.releaseSlot()
					stuck = true
					return errWoundDown
				}
				counted = true
			}
			return nil
		})
		settled, err = prefix.Rest(c.spec.BatchHandler(ctx, envs))
	} else {
		err = c.spec.Handler(w.hctx, envs[0])
	}
	if counted {
		r.leave()
	}
	w.heldFor++
	if err != nil || c.spec.Consumer.BatchMode {
		w.releaseSlot()
	}
	if stuck {
		// Winding down: the rest is not committed past either.
		return false, settled, err
	}
	return true, settled, err
}

// errNotSettled is what a batch's settler (stream.BatchSettler) returns
// when a message that failed for good could not be dead-lettered before
// the generation wound down: it and the messages after it are not
// committed past, and come again.
var errNotSettled = fmt.Errorf("kafka: the generation wound down before a failed message's dead letter was written; not committed past it: %w", stream.ErrBatchStop)

// errWoundDown is what it returns when the failed message was settled but
// the generation wound down (Stop, a rebalance) before the call could be
// counted again: the function does not go on, the rest comes again.
var errWoundDown = fmt.Errorf("kafka: the generation wound down while a failed message was settled; the rest of the batch is not committed past: %w", stream.ErrBatchStop)

// settleFailed settles a batch's messages ms (envs) that the core settles
// early (stream.BatchSettler) by their outcome: the failed ones
// dead-lettered (dlq) or dropped, as settle does; false when the
// generation wound down before their dead letters were written.
func (w *partWorker) settleFailed(ms []kafkago.Message, envs []stream.Envelope, outcome error) bool {
	if w.r.c.dlq {
		return w.deadLetter(ms, envs, outcome)
	}
	for i := range ms {
		if cause := stream.BatchMessageErr(outcome, i); cause != nil {
			w.log.Debug("kafka: message dropped after a failure (no dlq)", "offset", ms[i].Offset, "error", w.r.c.bd.logErr(cause))
		}
	}
	return true
}

// failed goes on from a handler call for ms (envs) that failed with err
// until the messages are handled (true: commit past them) or the
// generation winds down (false): settle, and after a Nak another
// (synchronous) handler call, as often as it takes. since, when not
// zero, is when the failure came (a pipelined message that waited behind
// earlier ones): the first redelivery-delay counts from then.
func (w *partWorker) failed(ms []kafkago.Message, envs []stream.Envelope, err error, since time.Time) bool {
	c := w.r.c
	retry := !c.spec.Consumer.BatchMode
	delay := c.cs.redeliveryDelay
	if !since.IsZero() {
		delay = max(delay-time.Since(since), 0)
	}
	for {
		w.releaseSlot() // not held while waiting, retrying or dead-lettering
		var bo *stream.BatchOutcome
		if c.spec.Consumer.BatchMode && w.hctx.Err() == nil && errors.As(err, &bo) {
			if j := bo.NakFrom(); j > 0 && j < len(ms) {
				// The messages before j are settled by their own outcomes
				// (the failed ones dead-lettered or dropped); those from j
				// on, Nak'ed, are handled again: committed past with the
				// batch once they are.
				if c.dlq && !w.deadLetter(ms[:j], envs[:j], err) {
					return false
				}
				ms, envs, err = ms[j:], envs[j:], bo.Err(j)
			}
		}
		h := w.settle(ms, envs, err, retry, delay)
		delay = c.cs.redeliveryDelay
		switch h {
		case settled:
			return true
		case windDown:
			return false
		}
		ok, k, cerr := w.call(ms, envs)
		if !ok {
			return false
		}
		if ms, envs, err = ms[k:], envs[k:], cerr; err == nil {
			return true
		}
	}
}

// handled is what became of a handler call that failed.
type handled int

const (
	settled  handled = iota // parked on a retry topic, dead-lettered or dropped: commit past it
	again                   // Nak (or a failure while winding down): redelivery-delay waited, call the handler again
	windDown                // the generation winds down first: left uncommitted, redelivered
)

// settle carries out the failure err of a handler call for ms (envs), the
// one rule of deliver and deliverKeyed: a DelayedRetry parks the message on
// its retry topic (retry: not batch mode); a Nak, or any failure while the
// handlers wind down, waits delay (redelivery-delay, or what is left of
// it) for another call; any other failure dead-letters (dlq) or drops.
func (w *partWorker) settle(ms []kafkago.Message, envs []stream.Envelope, err error, retry bool, delay time.Duration) handled {
	c := w.r.c
	if dr := stream.AsDelayedRetry(err); dr != nil && retry && w.hctx.Err() == nil { // retrytopics.go
		switch w.retryLater(&ms[0], envs[0], dr) {
		case parked:
			return settled
		case parkStopped:
			return windDown
		case parkNever:
			err = dr.Err // dead-lettered or dropped below
		}
	}
	switch {
	case errors.Is(err, stream.ErrNak) || w.hctx.Err() != nil:
		// Nak: not committed; handled again unless winding down.
		if !w.wait(delay) {
			return windDown
		}
		return again
	case c.dlq:
		if !w.deadLetter(ms, envs, err) {
			return windDown
		}
	default:
		w.log.Debug("kafka: message dropped after a failure (no dlq)", "offset", ms[0].Offset, "error", c.bd.logErr(err))
	}
	return settled
}

// wait waits d; false if the generation winds down first.
func (w *partWorker) wait(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return w.wctx.Err() == nil
	case <-w.wctx.Done():
		return false
	}
}

// envelope converts a record. The headers map is new; payload and key are
// the record's own (kafka-go does not reuse them). A header the record
// has more than once reads as its last value, and all its values are in
// NativeHeaders (headerValues); so is a header the record's types header
// lists with a class that is not text (javaTyped).
//
// A record of Spring's Kafka header mapper (a Java SCSt producer's) has
// the headers its spring_json_header_types header lists as text decoded,
// and that header left out (recordHeaders, jsontypes.go).
func envelope(m *kafkago.Message) stream.Envelope {
	h, distinct := recordHeaders(m.Headers, nil, bytesString)
	return stream.Envelope{Payload: m.Value, Headers: h, Key: m.Key, NativeHeaders: javaTypedHeaders(m.Headers, nil, repeatedHeaders(m.Headers, distinct))}
}

func bytesString(b []byte) string { return string(b) }

// envelope is the package's envelope with header values interned: the
// same few values (content types, source names) recur on every message.
func (w *partWorker) envelope(m *kafkago.Message) stream.Envelope {
	h, distinct := recordHeaders(m.Headers, &w.types, w.intern)
	native := javaTypedHeaders(m.Headers, &w.types, repeatedHeaders(m.Headers, distinct))
	return stream.Envelope{Payload: m.Value, Headers: h, Key: m.Key, NativeHeaders: native, Received: w.received(m)}
}

// received is how m was received (stream.Received): the worker's
// destination (a retry topic's message reports the retry topic), the
// record's partition, offset and timestamp.
func (w *partWorker) received(m *kafkago.Message) stream.Received {
	return stream.Received{Destination: w.dest, Partition: m.Partition, HasPartition: true,
		Offset: m.Offset, HasOffset: true, Timestamp: m.Time}
}

// intern returns b as a string, shared with earlier equal values while
// there are few short ones (others are copied as usual).
func (w *partWorker) intern(b []byte) string {
	if len(b) > internLen {
		return string(b)
	}
	if v, ok := w.values[string(b)]; ok { // no allocation for the lookup
		return v
	}
	v := string(b)
	if w.values == nil {
		w.values = make(map[string]string, 8)
	}
	if len(w.values) < internMax {
		w.values[v] = v
	}
	return v
}

// String describes the consumer for debugging.
func (c *consumer) String() string {
	return fmt.Sprintf("kafka consumer %s (%s, group %q)", c.spec.Binding, strings.Join(c.topics, ","), c.spec.Group)
}
