package kafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/streambind/streambind/binder/internal/dispatch"
	"github.com/streambind/streambind/binder/props"
	"github.com/streambind/streambind/stream"
)

// Fixed assignment (SCSt's auto-rebalance-enabled: false).
//
// The consumer does not join its group: it reads partition p of each
// topic when p % instance-count == instance-index (SCSt's
// KafkaMessageChannelBinder.processTopic; with instance-count 1, every
// partition), starting from the group's committed offset (read with
// OffsetFetch), else the start offset, and commits to the group without
// membership (OffsetCommit with generation -1 and no member id: Kafka's
// "simple consumer" commits, accepted only while the group has no
// members). The partition set takes the place of a group generation
// (fixedGen): the same generation code runs it — workers, committer,
// retries, dead letters, Pause/Resume/Stop, lag — so that everything but
// where the partitions and commits come from is the group path's.
//
// Partitions added to a topic: SCSt reads the partitions it found at
// start-up until restarted. Here the binder's partition watch (see
// watchPartitions) ends the fixed generation when this instance's set
// changes and starts another with the new set (committing what was
// handled first), so that partitions added at run time are read by the
// instance they fall to without a restart.

// fixedGen is one partition set of a fixed-assignment run: what
// generation needs of a group generation.
type fixedGen struct {
	r   *run
	id  int32
	asg map[string][]kafkago.PartitionAssignment
	ctx context.Context // ends with the generation
	end context.CancelFunc
	wg  sync.WaitGroup
}

func (g *fixedGen) genID() int32 { return g.id }

func (g *fixedGen) assignments() map[string][]kafkago.PartitionAssignment { return g.asg }

// member is "": no group membership (fixedLoop logs the partitions).
func (g *fixedGen) member() string { return "" }

// Start runs fn in a goroutine of the generation; as in kafka-go, the
// generation ends as soon as one of them returns.
func (g *fixedGen) Start(fn func(context.Context)) {
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		defer g.end()
		fn(g.ctx)
	}()
}

// CommitOffsets commits offs to the group without membership.
func (g *fixedGen) CommitOffsets(offs map[string]map[int]int64) error {
	return g.r.fixedCommit(offs)
}

// fixedOwn reports whether partition p goes to the instance index of
// count instances.
func fixedOwn(p, index, count int) bool { return p%max(count, 1) == index }

// fixedParts returns the partitions of each topic of counts that go to
// the instance.
func fixedParts(counts map[string]int, index, count int) map[string][]int {
	out := make(map[string][]int, len(counts))
	for t, n := range counts {
		for p := range n {
			if fixedOwn(p, index, count) {
				out[t] = append(out[t], p)
			}
		}
	}
	return out
}

// fixedCount is the number of partitions of counts that go to the
// instance.
func fixedCount(counts map[string]int, index, count int) int {
	n := 0
	for _, ps := range fixedParts(counts, index, count) {
		n += len(ps)
	}
	return n
}

// fixedChanged reports whether the instance's partitions under counts
// differ from those under base.
func (c *consumer) fixedChanged(base, counts map[string]int) bool {
	idx, cnt := c.spec.Consumer.InstanceIndex, c.spec.Consumer.InstanceCount
	a, b := fixedParts(base, idx, cnt), fixedParts(counts, idx, cnt)
	if len(a) != len(b) {
		return true
	}
	for t, ps := range a {
		if !slices.Equal(ps, b[t]) {
			return true
		}
	}
	return false
}

// checkFixed validates auto-rebalance-enabled: false against the
// binding's instance-index and instance-count, at bind (the core
// validates them in an app: ValidateConsumer leaves them out).
func checkFixed(spec stream.ConsumerSpec, cs consumerSettings) error {
	if !cs.fixed || spec.Group == "" {
		return nil
	}
	key := props.BindingPath(Type, spec.Binding, "consumer") + ".auto-rebalance-enabled"
	core := "stream.bindings." + spec.Binding + ".consumer."
	switch idx, cnt := spec.Consumer.InstanceIndex, spec.Consumer.InstanceCount; {
	case cnt < 1:
		return fmt.Errorf("%s: false assigns this instance the partitions whose number modulo instance-count is its instance-index: %sinstance-count must be at least 1, got %d", key, core, cnt)
	case idx < 0 || idx >= cnt:
		return fmt.Errorf("%s: false assigns this instance the partitions whose number modulo instance-count is its instance-index: %sinstance-index must be in [0, instance-count=%d), got %d", key, core, cnt, idx)
	}
	return nil
}

// warnFixed warns, at bind, when the fixed assignment gives this
// instance no partition of topic (n partitions): it idles until
// partitions are added (SCSt refuses to bind then).
func (bd *Binder) warnFixed(spec stream.ConsumerSpec, topic string, n int) {
	idx, cnt := spec.Consumer.InstanceIndex, spec.Consumer.InstanceCount
	if fixedCount(map[string]int{topic: n}, idx, cnt) > 0 {
		return
	}
	bd.log.Warn("kafka: auto-rebalance-enabled is false and the topic has no partition for this instance (partition p goes to instance-index p % instance-count); it reads none of it until partitions are added",
		"binding", spec.Binding, "destination", topic, "partitions", n, "instance-index", idx, "instance-count", cnt)
}

// fixedAssignment reads the topics' partition counts and the group's
// committed offsets of this instance's partitions: the assignment of the
// next fixed generation (a partition without a committed offset has the
// start offset, as kafka-go's assignments have), and the counts it was
// made from.
func (r *run) fixedAssignment(ctx context.Context) (map[string][]kafkago.PartitionAssignment, map[string]int, error) {
	c := r.c
	counts, err := c.bd.partitionCounts(ctx, c.topics)
	if err != nil {
		return nil, nil, fmt.Errorf("reading the partition counts: %w", err)
	}
	own := fixedParts(counts, c.spec.Consumer.InstanceIndex, c.spec.Consumer.InstanceCount)
	asg := make(map[string][]kafkago.PartitionAssignment, len(own))
	if len(own) == 0 {
		return asg, counts, nil
	}
	ctx, cancel := context.WithTimeout(ctx, c.bd.st.healthTimeout)
	defer cancel()
	res, err := c.bd.admin.OffsetFetch(ctx, &kafkago.OffsetFetchRequest{GroupID: r.groupID, Topics: own})
	if err == nil && res.Error != nil {
		// A group that never committed: Kafka answers no offsets, some
		// brokers (kfake) GROUP_ID_NOT_FOUND.
		if errors.Is(res.Error, kafkago.GroupIdNotFound) {
			res.Topics = nil
		} else {
			err = res.Error
		}
	}
	if err != nil {
		return nil, nil, fmt.Errorf("reading the committed offsets of group %s: %w", r.groupID, err)
	}
	start := r.startOffset()
	for t, ps := range own {
		for _, p := range ps {
			pa := kafkago.PartitionAssignment{ID: p, Offset: start}
			for _, fp := range res.Topics[t] {
				if fp.Partition != p {
					continue
				}
				if fp.Error != nil && !errors.Is(fp.Error, kafkago.GroupIdNotFound) {
					return nil, nil, fmt.Errorf("reading the committed offset of %s/%d in group %s: %w", t, p, r.groupID, fp.Error)
				}
				if fp.CommittedOffset >= 0 {
					pa.Offset = fp.CommittedOffset
				}
			}
			asg[t] = append(asg[t], pa)
		}
	}
	return asg, counts, nil
}

// fixedLoop is loop for a fixed assignment: it runs a generation of this
// instance's partitions until the set changes (partitions added) or the
// run stops, then the next.
func (r *run) fixedLoop() {
	defer close(r.done)
	c := r.c
	backoff := dispatch.Backoff{Initial: 250 * time.Millisecond, Max: 5 * time.Second}
	fails := 0
	var failingSince time.Time
	first := true
	for id := int32(1); ; {
		asg, counts, err := r.fixedAssignment(r.ctx)
		if err != nil {
			if r.ctx.Err() != nil {
				return
			}
			fails++
			if fails == 1 {
				failingSince = time.Now()
			}
			retryIn := backoff.Delay(fails)
			level := slog.LevelDebug
			if fails == 1 || fails%10 == 0 {
				level = slog.LevelWarn
			}
			c.log.Log(context.Background(), level, "kafka: reading the fixed assignment's partitions and committed offsets failed; retrying",
				"attempts", fails, "retry_in", retryIn, "failing_for", time.Since(failingSince).Round(time.Millisecond), "error", c.bd.logErr(err))
			if !dispatch.Sleep(r.ctx, retryIn) {
				return
			}
			continue
		}
		if fails > 0 {
			c.log.Info("kafka: read the fixed assignment's partitions and committed offsets again", "attempts", fails, "failed_for", time.Since(failingSince).Round(time.Millisecond))
			fails = 0
		}
		gctx, end := context.WithCancel(r.ctx)
		g := &fixedGen{r: r, id: id, asg: asg, ctx: gctx, end: end}
		id++
		if len(asg) == 0 {
			// Nothing to read (warned at bind): wait for partitions.
			c.log.Debug("kafka: the fixed assignment gives this instance no partition; waiting for partitions to be added", "counts", counts)
			r.watchPartitions(gctx, counts, c.log)
			end()
			if r.ctx.Err() != nil {
				return
			}
			continue
		}
		// INFO: which partitions an instance reads is what an operator
		// of a fixed assignment checks first (it changes only when
		// partitions are added).
		c.log.Info("kafka: fixed assignment (auto-rebalance-enabled: false): reading these partitions", "partitions", assignmentText(asg))
		r.view.set(counts) // the counts the assignment was made from (generation takes them)
		reset := first && r.reset
		first = false
		r.generation(g, reset)
		g.wg.Wait()
		end()
		if r.ctx.Err() != nil {
			return
		}
	}
}

// fixedCommit commits offs to the run's group as Kafka's simple consumers
// do: generation -1, no member id. A group with members refuses it
// (UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION, REBALANCE_IN_PROGRESS): the
// error says so, and is logged as a warning once until a commit succeeds.
// It goes through the binder's client (clientCommit), which sends it again
// at once when it failed on a broken connection of the pool: else the
// final commit at Stop right after a broker restart failed and what was
// handled since was handled again after the restart.
func (r *run) fixedCommit(offs map[string]map[int]int64) error {
	c := r.c
	err := r.clientCommit(-1, "", offs)
	if err == nil {
		r.fixedRefused.Store(false)
		return nil
	}
	if errors.Is(err, kafkago.UnknownMemberId) || errors.Is(err, kafkago.IllegalGeneration) || errors.Is(err, kafkago.RebalanceInProgress) {
		err = fmt.Errorf("%w: %w", errGroupHasMembers(r.groupID), err)
		if !r.fixedRefused.Swap(true) {
			c.log.Warn("kafka: the offset commit was refused; handled messages will be redelivered after a restart", "error", c.bd.logErr(err))
		}
	}
	return err
}

// errGroupHasMembers is why a group refuses the commits of a fixed
// assignment.
func errGroupHasMembers(group string) error {
	return fmt.Errorf("group %s has active members (consumers that joined it: a binding or application using this group without auto-rebalance-enabled: false); "+
		"a fixed assignment (auto-rebalance-enabled: false) commits without joining the group, which Kafka accepts only while the group has no members: "+
		"give every consumer of the group the fixed assignment, or this binding a group of its own", group)
}
