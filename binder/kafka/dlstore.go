package kafka

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/streambind/streambind/stream"
)

// DefaultDeadLetterGroup is the consumer group whose committed offsets
// say which dead letters streambind dlq removed from a dead-letter topic
// (a Kafka topic keeps its records; "removed" is "behind this group's
// position"), unless [stream.DeadLetterOpen.Group] names another.
const DefaultDeadLetterGroup = "streambind-dlq"

// removedPrefix starts the offset-commit metadata that lists the dead
// letters removed beyond the committed offset.
const removedPrefix = "streambind-dlq-removed:"

// maxRemovedMetadata bounds that list (brokers keep at most
// offset.metadata.max.bytes, 4096 by default, per partition).
const maxRemovedMetadata = 4000

// OpenDeadLetters implements [stream.DeadLetterStore] over the dead-letter
// topic of spec (dlq-name, default error.<destination>.<group>). The
// dead letters are the records from the position of group o.Group
// (default [DefaultDeadLetterGroup]; the earliest offset when it has
// none) to the end offsets at open, partition by partition. Remove commits
// the group past a dead letter: the committed offset moves over every
// removed dead letter at its front, and those removed behind a kept one
// are listed in the commit's metadata, so that no later cursor returns
// them. A dead letter's ID is "partition/offset"; its Time is the
// record's timestamp.
//
// The topic is read committed, up to each partition's last stable offset
// at open, with the consumer's protocol-level filter (fetchtxn.go): the
// transaction markers and the records of aborted transactions of a topic
// written in transactions (a Java service whose DLQ sends are in its
// transactions) are no dead letters. Remove moves the committed offset
// over those it read as over removed dead letters, so that removing the
// last dead letter commits the end of the partition; a claiming cursor
// that reads a partition to its end commits over those at its front even
// when it removed nothing (passSkipped).
//
// A claiming cursor (o.Claim) joins the group as a member (the group
// protocol of Kafka's consumers, with o.LeaseOf() as its session and
// rebalance timeouts): it reads only the partitions the group assigns it,
// from the group's committed position of the generation it joined, and
// commits as that generation's member, so that the broker refuses the
// commit of a member whose partitions went to another. A rebalance (a
// replay joins or leaves, a member's session runs out) waits for the
// dead letters the cursor returned and holds (a batch, see NextBatch) to
// be removed or passed, so that no two members hold one partition's dead
// letters at once; a member that died loses its partitions when its
// session runs out. The group is the
// one whose commits mark what was removed: no other group is made, and a
// member leaves it on Close.
func (bd *Binder) OpenDeadLetters(ctx context.Context, spec stream.ConsumerSpec, o stream.DeadLetterOpen) (stream.DeadLetters, error) {
	cs, err := parseConsumer(spec.Binding, spec.Extension)
	if err != nil {
		return nil, err
	}
	topic := stream.ErrorDestinationSource(spec, cs.dlqName).Destination
	if bd.conns.done.Load() {
		return nil, bd.wrap(bd.conns.errClosed, "kafka: dead letters of %s", topic)
	}
	group := o.Group
	if group == "" {
		group = DefaultDeadLetterGroup
	}
	md, err := bd.admin.Metadata(ctx, &kafkago.MetadataRequest{Topics: []string{topic}})
	if err != nil {
		return nil, bd.dlErr(err, "kafka: metadata of %s", topic)
	}
	var parts []int
	for _, t := range md.Topics {
		if t.Name != topic {
			continue
		}
		if t.Error != nil {
			if errors.Is(t.Error, kafkago.UnknownTopicOrPartition) {
				return nil, fmt.Errorf("kafka: topic %s: %w", topic, stream.ErrNoDeadLetters)
			}
			return nil, fmt.Errorf("kafka: topic %s: %w", topic, t.Error)
		}
		for _, p := range t.Partitions {
			parts = append(parts, p.ID)
		}
	}
	if len(parts) == 0 {
		return nil, fmt.Errorf("kafka: topic %s: %w", topic, stream.ErrNoDeadLetters)
	}
	sort.Ints(parts)
	req := map[string][]kafkago.OffsetRequest{}
	for _, p := range parts {
		req[topic] = append(req[topic], kafkago.FirstOffsetOf(p), kafkago.LastOffsetOf(p))
	}
	// Read committed: the end is the last stable offset, which a
	// transaction still open has not passed.
	lo, err := bd.admin.ListOffsets(ctx, &kafkago.ListOffsetsRequest{Topics: req, IsolationLevel: kafkago.ReadCommitted})
	if err != nil {
		return nil, bd.dlErr(err, "kafka: offsets of %s", topic)
	}
	fetch, err := bd.admin.OffsetFetch(ctx, &kafkago.OffsetFetchRequest{GroupID: group, Topics: map[string][]int{topic: parts}})
	if err == nil {
		err = fetch.Error
	}
	if errors.Is(err, kafkago.GroupIdNotFound) {
		// A group that never committed (some brokers say so rather
		// than answering -1): every dead letter is there.
		fetch, err = &kafkago.OffsetFetchResponse{}, nil
	}
	if err != nil {
		return nil, bd.dlErr(err, "kafka: offsets of group %s on %s", group, topic)
	}
	c := &kafkaDeadLetters{bd: bd, topic: topic, group: group, notice: o.Notice}
	committedAny, deadLetters := false, false
	for _, p := range parts {
		dp := &dlPartition{id: p, committed: -1, reread: -1}
		for _, po := range lo.Topics[topic] {
			if po.Partition == p && po.Error == nil {
				dp.first, dp.end = po.FirstOffset, po.LastOffset
			}
		}
		for _, f := range fetch.Topics[topic] {
			if f.Partition != p {
				continue
			}
			if f.Error != nil {
				// Not "never committed": read from the log's start, the
				// dead letters removed would be returned (replayed) again
				// and the first removal would commit the group back.
				return nil, bd.dlErr(f.Error, "kafka: offset of group %s on %s[%d]", group, topic, p)
			}
			dp.committed = f.CommittedOffset
			committedAny = committedAny || f.CommittedOffset >= 0 || f.Metadata != ""
			removed, err := parseRemoved(f.Metadata)
			if err != nil {
				return nil, fmt.Errorf("kafka: group %s on %s[%d]: %w (refused: ignoring it would return those dead letters again)", group, topic, p, err)
			}
			dp.setRemoved(removed)
		}
		dp.seek(max(dp.first, dp.committed))
		deadLetters = deadLetters || dp.end > dp.first
		c.parts = append(c.parts, dp)
	}
	if o.Notice != nil && !committedAny && deadLetters {
		if note := bd.neverCommittedNote(ctx, topic, group, parts, o.Group == "" || o.Group == DefaultDeadLetterGroup); note != "" {
			o.Notice(slog.LevelWarn, note)
		}
	}
	if o.Claim {
		if err := c.join(ctx, o.LeaseOf()); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// dlErr is wrap for the errors of the dead-letter store: those that mean
// that no broker could be reached (refused, reset or closed connections,
// DNS failures) are marked [stream.Unavailable], as bindErr marks the
// binds', so that streambind dlq retries them within --connect-timeout.
func (bd *Binder) dlErr(err error, format string, args ...any) error {
	werr := bd.wrap(err, format, args...)
	if bd.unreachable(err) {
		return stream.Unavailable(werr)
	}
	return werr
}

// dlMember is a claiming cursor's membership of the group.
type dlMember struct {
	cg       *kafkago.ConsumerGroup
	gen      *kafkago.Generation
	assigned map[int]bool
	// ending is closed when the generation ends (a rebalance); the
	// generation waits for release, closed by the cursor once it holds
	// no dead letter (releaseOnce).
	ending, release chan struct{}
	releaseOnce     *sync.Once
	lease           time.Duration
	closed          chan struct{}
	closeOnce       sync.Once
	// lost: the broker said the member is no longer in gen (Hold): the
	// cursor takes the next generation.
	lost bool
}

// join makes c a member of its group. When ctx (OpenDeadLetters') ends,
// the member leaves at Close, or a lease (its session) later, as a NATS
// or Redis claim outlives its cursor's ctx by its lease: a replay
// interrupted (Ctrl-C ends the ctx it opened the cursor with) removes the
// batch whose copies were confirmed after it, which a member that left at
// once could not (the broker refused the commit, and the next replay sent
// the batch again).
func (c *kafkaDeadLetters) join(ctx context.Context, lease time.Duration) error {
	cg, err := kafkago.NewConsumerGroup(kafkago.ConsumerGroupConfig{ID: c.group, Brokers: c.bd.st.brokers, Dialer: c.bd.dialer,
		Topics: []string{c.topic}, SessionTimeout: lease, RebalanceTimeout: lease, HeartbeatInterval: max(lease/30, 100*time.Millisecond),
		JoinGroupBackoff: time.Second, StartOffset: kafkago.FirstOffset})
	if err != nil {
		return fmt.Errorf("kafka: join group %s for %s: %w", c.group, c.topic, err)
	}
	// The first Next takes the first generation: joining waits for a
	// killed member's session to run out, which is no part of opening.
	c.m = &dlMember{cg: cg, lease: lease, closed: make(chan struct{})}
	go func() {
		select {
		case <-ctx.Done():
		case <-c.m.closed:
			return
		}
		t := time.NewTimer(lease)
		defer t.Stop()
		select {
		case <-t.C:
		case <-c.m.closed:
			return
		}
		c.m.leave()
	}()
	return nil
}

// leave gives the generation up and leaves the group.
func (m *dlMember) leave() {
	m.closeOnce.Do(func() {
		close(m.closed)
		m.releaseGen()
		_ = m.cg.Close()
	})
}

func (m *dlMember) releaseGen() {
	if m.releaseOnce != nil {
		m.releaseOnce.Do(func() { close(m.release) })
	}
}

// nextGeneration waits for the group's next generation (retrying what a
// rebalance reports, for up to a lease) and takes its partitions: those
// new to the cursor are read from the group's committed position.
func (c *kafkaDeadLetters) nextGeneration(ctx context.Context) error {
	m := c.m
	deadline := time.Now().Add(m.lease)
	var gen *kafkago.Generation
	if c.notice != nil {
		// Joining waits, silently, for the members the group has to
		// rejoin: one killed is dropped only when its session times out.
		// Said once per cursor (joinNoted): a later rebalance that takes
		// long waits for the same reasons.
		fired := make(chan struct{})
		t := time.AfterFunc(joinNoticeAfter, func() {
			defer close(fired)
			c.joinNoted.Do(func() {
				c.notice(slog.LevelInfo, fmt.Sprintf("kafka: joining group %s on %s takes long: waiting for the partitions of a previous replay or purge that did not leave the group (killed: up to %s, the session timeout, if it ran with the same --lease; one still running gives them up once its batch is done)",
					c.group, c.topic, m.lease))
			})
		})
		defer func() {
			if !t.Stop() {
				<-fired
			}
		}()
	}
	for {
		var err error
		gen, err = m.cg.Next(ctx)
		if err == nil {
			break
		}
		if ctx.Err() != nil || errors.Is(err, kafkago.ErrGroupClosed) || time.Now().After(deadline) {
			return fmt.Errorf("kafka: join group %s for %s: %w", c.group, c.topic, err)
		}
	}
	ending, release, once := make(chan struct{}), make(chan struct{}), &sync.Once{}
	gen.Start(func(gctx context.Context) {
		<-gctx.Done()
		close(ending)
		<-release
	})
	prev := m.assigned
	m.gen, m.ending, m.release, m.releaseOnce = gen, ending, release, once
	m.assigned = map[int]bool{}
	var ids []int
	for _, pa := range gen.Assignments[c.topic] {
		m.assigned[pa.ID] = true
		ids = append(ids, pa.ID)
	}
	if len(ids) == 0 {
		return nil
	}
	// Another member may have removed dead letters of these meanwhile:
	// of those new to the cursor, and of those it kept, if it was
	// dropped from the group in between without knowing.
	fetch, err := c.bd.admin.OffsetFetch(ctx, &kafkago.OffsetFetchRequest{GroupID: c.group, Topics: map[string][]int{c.topic: ids}})
	if err == nil {
		err = fetch.Error
	}
	if err != nil {
		return fmt.Errorf("kafka: offsets of group %s on %s: %w", c.group, c.topic, err)
	}
	for _, f := range fetch.Topics[c.topic] {
		for _, p := range c.parts {
			if p.id != f.Partition {
				continue
			}
			if f.Error != nil {
				// As OpenDeadLetters: the position is unknown, not absent.
				return c.bd.dlErr(f.Error, "kafka: offset of group %s on %s[%d]", c.group, c.topic, p.id)
			}
			removed, err := parseRemoved(f.Metadata)
			if err != nil {
				return fmt.Errorf("kafka: group %s on %s[%d]: %w (refused: ignoring it would return those dead letters again)", c.group, c.topic, p.id, err)
			}
			p.committed = f.CommittedOffset
			p.setRemoved(removed)
			if prev[p.id] {
				// Kept: what the cursor passed over stays passed.
				p.seek(max(p.pos, p.first, p.committed))
			} else {
				p.seek(max(p.first, p.committed))
			}
		}
	}
	return nil
}

// joinNoticeAfter is how long a claiming cursor's join waits before
// DeadLetterOpen.Notice says what it waits for (once per cursor).
const joinNoticeAfter = 2 * time.Second

// maxGroupsLooked bounds the groups neverCommittedNote asks for their
// offsets, and groupLookTimeout the time it takes (defaultGroupLookTimeout
// for the default group, whose note is only about other groups: the
// lookup is made at each ls or show until its first commit).
const (
	maxGroupsLooked         = 64
	groupLookTimeout        = 3 * time.Second
	defaultGroupLookTimeout = time.Second
)

// neverCommittedNote is the note for a group that never committed on
// topic (of partitions parts): every dead letter counts as not removed
// for it. It names the groups that have committed on the topic, as the
// brokers list them (a ListGroups, then an OffsetFetch per group, at most
// maxGroupsLooked within groupLookTimeout; those not found in time are
// not named). When a lookup failed (an ACL without Describe, a broker
// that did not answer in time) the note says so, with the error, rather
// than that no other group committed. "" for the default group when no
// other group was found to have committed (the first replay or purge of
// the topic, or a lookup that failed: the default group's note is only
// about the others).
func (bd *Binder) neverCommittedNote(ctx context.Context, topic, group string, parts []int, isDefault bool) string {
	timeout := groupLookTimeout
	if isDefault {
		timeout = defaultGroupLookTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var (
		groups  []string
		lookErr error // the first lookup that failed
	)
	// One ListGroups: kafka-go asks every broker of the cluster and
	// merges their answers (dropping a broker's error code: only a
	// failure to ask one is seen).
	seen := map[string]bool{group: true}
	lg, err := bd.admin.ListGroups(ctx, &kafkago.ListGroupsRequest{})
	if err == nil && lg.Error != nil {
		err = lg.Error
	}
	if err != nil {
		lookErr = bd.wrap(err, "list groups")
	} else {
		for _, g := range lg.Groups {
			if !seen[g.GroupID] {
				seen[g.GroupID] = true
				groups = append(groups, g.GroupID)
			}
		}
	}
	sort.Strings(groups)
	var committed []string
	for i, g := range groups {
		if i == maxGroupsLooked {
			if lookErr == nil {
				lookErr = fmt.Errorf("looked at the first %d of %d groups", maxGroupsLooked, len(groups))
			}
			break
		}
		if err := ctx.Err(); err != nil {
			if lookErr == nil {
				lookErr = fmt.Errorf("looked at %d of %d groups in %s", i, len(groups), timeout)
			}
			break
		}
		f, err := bd.admin.OffsetFetch(ctx, &kafkago.OffsetFetchRequest{GroupID: g, Topics: map[string][]int{topic: parts}})
		if err == nil && f.Error != nil {
			err = f.Error
		}
		if err != nil {
			if lookErr == nil {
				lookErr = bd.wrap(err, "offsets of group %s", g)
			}
			continue
		}
		for _, p := range f.Topics[topic] {
			if p.Error == nil && (p.CommittedOffset >= 0 || p.Metadata != "") {
				committed = append(committed, g)
				break
			}
		}
	}
	const head = "kafka: group %s has never removed a dead letter of %s (no offset committed): every dead letter counts as not replayed for this group"
	if len(committed) == 0 {
		switch {
		case isDefault:
			return ""
		case lookErr != nil:
			return fmt.Sprintf(head+"; whether other groups have committed on %s is not known: could not list the groups: %s", group, topic, topic, strings.TrimPrefix(lookErr.Error(), "kafka: "))
		}
		return fmt.Sprintf(head+"; no other group has committed on %s either", group, topic, topic)
	}
	note := fmt.Sprintf(head+", also those replayed with another --group; groups that have committed on %s: %s",
		group, topic, topic, strings.Join(committed, ", "))
	if lookErr != nil {
		note += fmt.Sprintf(" (there may be others: could not list the groups: %s)", strings.TrimPrefix(lookErr.Error(), "kafka: "))
	}
	return note
}

// turn lets a generation that is ending end, once the cursor holds no
// dead letter, and takes the next.
func (c *kafkaDeadLetters) turn(ctx context.Context) error {
	if c.m.gen == nil {
		return c.nextGeneration(ctx)
	}
	if !c.m.lost {
		select {
		case <-c.m.ending:
		default:
			return nil
		}
		if c.nheld > 0 {
			// A cursor that reads on holding what it read (a purge,
			// until it removes): the rebalance waits for those (up to
			// the lease, then the broker drops the member and fences
			// its removals). Turning gave its partitions to another
			// member, which read and removed them too, and a later
			// generation could give them back unfenced.
			return nil
		}
	} else {
		// Dropped from the group: what it read of its partitions was
		// not kept (Remove was refused), so a partition the next
		// generation gives it again is read from the group's position.
		// What it still holds was read under the lost generation: its
		// claim is lost too (another member may have replayed it), so
		// its removal fails, and it is not returned again while the
		// caller has it (a purge would list and remove it twice).
		c.m.assigned = nil
		for _, p := range c.parts {
			if len(p.held) > 0 {
				p.stale = append(p.stale, p.held...)
				slices.Sort(p.stale)
				p.stale = slices.Compact(p.stale)
				p.held = nil
			}
		}
		c.nheld = 0
	}
	c.m.lost = false
	c.m.releaseGen()
	c.cur = 0 // the generation may bring back a partition passed
	return c.nextGeneration(ctx)
}

type dlPartition struct {
	id int
	// first is the log's first offset, end its last stable offset at
	// open (read committed: the records of a transaction still open are
	// not dead letters yet).
	first, end int64
	// committed is the group's committed offset (-1: none); pos the next
	// offset to read.
	committed, pos int64
	// removed are the offsets at or beyond committed that were removed,
	// as ranges that span the skipped offsets between two removed ones
	// (bridge), as the commit's metadata lists them: a filtered replay
	// that keeps one dead letter and removes those behind it makes one
	// range, also on a topic written in transactions.
	removed offsetRanges
	// skipped are the offsets at or beyond committed that the cursor
	// read and that hold no dead letter: transaction markers and records
	// of aborted transactions. Remove moves the committed offset over
	// them as over removed ones; unlike those they are not listed in the
	// commit's metadata (every cursor finds them in the log again), but
	// for those between two removed ones. Those next to a dead letter
	// kept (Next returned another after it) go (pruneSkipped), so that a
	// listing of a big topic written in transactions (a marker after each
	// dead letter) holds no more of them than one fetch brings.
	skipped offsetRanges
	// last is the offset of the dead letter Next returned last (-1: none
	// since the last seek).
	last int64
	// buf holds the dead letters fetched from pos on and not returned
	// yet; fetched is the offset the next fetch starts at.
	buf     []kafkago.Message
	fetched int64
	// held are the offsets of the dead letters a claiming cursor
	// returned and that were neither removed nor passed over since
	// (sorted); released those passed over (Release) whose skipped
	// neighbours were not pruned yet (pruneReleased): a batch's dead
	// letters are all held when the next is read, and one passed over
	// before those read ahead of it in its batch were removed keeps the
	// markers between those (a filtered replay's removed range).
	held, released []int64
	// stale are the offsets of dead letters the cursor held when its
	// member was dropped from the group (turn), neither removed nor
	// released since: their removal fails with ErrClaimLost, and Next
	// does not return them until then. reread (-1: none) is the first of
	// those whose removal failed, which Next reads again (rewind).
	stale  []int64
	reread int64
}

// seek makes off the partition's next offset to read, dropping what was
// fetched ahead.
func (p *dlPartition) seek(off int64) {
	p.pos, p.fetched, p.buf, p.last = off, off, nil, -1
}

// setRemoved makes removed (the group's commit metadata, just read) p's
// removed offsets, joining the ranges that the skipped offsets p read
// bridge, and drops the skipped offsets before the committed offset.
func (p *dlPartition) setRemoved(removed offsetRanges) {
	p.skipped.trimBelow(max(p.committed, p.first))
	p.removed = removed
	p.removed.bridge(&p.skipped, 0, math.MaxInt64-1)
	for _, r := range p.removed.r {
		p.dropCoveredSkipped(r.lo)
	}
}

// addSkipped adds off to the skipped offsets, joining the removed ranges
// it now bridges.
func (p *dlPartition) addSkipped(off int64) {
	if p.removed.contains(off) {
		return // in a removed range already (the metadata's)
	}
	g := p.skipped.r[p.skipped.add(off, off)]
	p.removed.bridge(&p.skipped, p.removed.search(g.lo-1), g.hi)
	p.dropCoveredSkipped(g.lo)
}

// dropCoveredSkipped drops the skipped ranges inside the removed range
// holding off, which bridged two removed ones: a cursor passes over its
// offsets as removed ones, and those inside a filtered replay's removed
// range (a marker after each dead letter) would pile up.
func (p *dlPartition) dropCoveredSkipped(off int64) {
	r, ok := p.removed.find(off)
	if !ok {
		return
	}
	i := p.skipped.search(r.lo)
	if i < len(p.skipped.r) && p.skipped.r[i].lo < r.lo {
		i++
	}
	j := i
	for j < len(p.skipped.r) && p.skipped.r[j].hi <= r.hi {
		j++
	}
	p.skipped.r = slices.Delete(p.skipped.r, i, j)
}

// frontier is where the group's committed offset can move to: over the
// removed and skipped offsets (removed as given) at its front.
func (p *dlPartition) frontier(removed *offsetRanges) int64 {
	return p.frontierFrom(max(p.committed, p.first), removed)
}

// frontierFrom is frontier from the committed offset c.
func (p *dlPartition) frontierFrom(c int64, removed *offsetRanges) int64 {
	for {
		if r, ok := removed.find(c); ok {
			c = r.hi + 1
		} else if r, ok := p.skipped.find(c); ok {
			c = r.hi + 1
		} else {
			return c
		}
	}
}

// pruneSkipped drops the skipped offsets that matter no more once the
// dead letter at kept (returned, neither removed nor below the committed
// offset) was passed over (Next returns the next one; streambind dlq
// removes or releases each before that): those before it beyond the
// frontier, and those right after it. A skipped offset matters only on
// the committed offset's way (frontier) and between two removed dead
// letters, which are one range already (bridge); those beside a kept one
// would join a removed range only if it were removed after all, which
// still removes it, with a longer list and the committed offset before
// those skipped offsets (a later replay moves it on).
func (p *dlPartition) pruneSkipped(kept int64) {
	i := p.skipped.search(p.frontier(&p.removed))
	j := p.skipped.search(kept + 2)
	if j < len(p.skipped.r) && p.skipped.r[j].lo == kept+1 {
		j++
	}
	if i < j {
		p.skipped.r = slices.Delete(p.skipped.r, i, j)
	}
}

type kafkaDeadLetters struct {
	bd    *Binder
	topic string
	group string
	parts []*dlPartition
	cur   int
	m     *dlMember // a claiming cursor's membership
	// nheld counts the dead letters of the parts' held lists: a
	// rebalance waits until none is held (letGo).
	nheld int
	// notice is DeadLetterOpen.Notice (nil: none).
	notice func(slog.Level, string)
	// joinNoted: the note that joining takes long is given once per
	// cursor, not at each rebalance of a long replay.
	joinNoted sync.Once
}

func (c *kafkaDeadLetters) Next(ctx context.Context) (stream.DeadLetter, error) {
	return c.next(ctx, true)
}

// next is Next; turn false reads on in the generation the cursor has
// (NextBatch after its first: the dead letters read before are held).
func (c *kafkaDeadLetters) next(ctx context.Context, turn bool) (stream.DeadLetter, error) {
	if err := ctx.Err(); err != nil {
		// Said even when what was fetched holds the next one: a replay
		// interrupted (Ctrl-C) reads no more. A batched replay removes
		// with a ctx of its own, and read on from a fetch that held the
		// whole topic to its end.
		return stream.DeadLetter{}, fmt.Errorf("kafka: read %s: %w", c.topic, err)
	}
	for {
		// A claiming cursor turns to the next generation first, after
		// its end too: a purge whose claims were lost in a rebalance
		// (Remove: ErrClaimLost) reads again, and the generation may have
		// given the partition back.
		if c.m != nil && turn {
			if err := c.turn(ctx); err != nil {
				return stream.DeadLetter{}, err
			}
			c.rewind()
		}
		if c.cur >= len(c.parts) {
			return stream.DeadLetter{}, io.EOF
		}
		p := c.parts[c.cur]
		if c.m != nil && !c.m.assigned[p.id] {
			c.cur++
			continue
		}
		for len(p.buf) > 0 && p.buf[0].Offset < p.pos {
			p.buf = p.buf[1:]
		}
		// One dead letter fetched beyond the one returned (or the end
		// reached): the markers and aborted records between them are
		// known when it is removed, so that the committed offset moves
		// over them, and over those at the end of the partition.
		if p.pos < p.end && len(p.buf) < 2 && p.fetched < p.end {
			if err := c.fetch(ctx, p); err != nil {
				return stream.DeadLetter{}, err
			}
			continue
		}
		if len(p.buf) == 0 {
			p.pos = p.end // only skipped records left
		}
		if p.pos >= p.end {
			c.passSkipped(ctx, p)
			c.cur++
			continue
		}
		m := p.buf[0]
		p.buf = p.buf[1:]
		p.pos = m.Offset + 1
		if p.removed.contains(m.Offset) || m.Offset < p.committed {
			// Removed; or removed behind the one returned last, whose
			// Remove moved the committed offset over it (and so took it
			// off the removed list).
			continue
		}
		if _, found := slices.BinarySearch(p.stale, m.Offset); found {
			// Returned under a lost generation, and still the caller's:
			// read again once its removal failed (rewind).
			continue
		}
		if c.m == nil {
			// A listing removes nothing: the one before is kept.
			if a := p.last; a >= 0 && a < m.Offset && a >= max(p.committed, p.first) && !p.removed.contains(a) {
				p.pruneSkipped(a)
			}
		} else {
			p.pruneReleased()
			c.hold(p, m.Offset)
		}
		p.last = m.Offset
		return stream.DeadLetter{ID: strconv.Itoa(p.id) + "/" + strconv.FormatInt(m.Offset, 10),
			Envelope: envelope(&m), Time: m.Time}, nil
	}
}

// dlFetchRetries bounds fetch's retries of a failed fetch (a broker no
// longer the leader, no answer in time): with fetchBackoff, about 4.5s.
const dlFetchRetries = 8

// fetch reads p's records from p.fetched on through the protocol layer
// with the consumer's filter (filterFetched, read committed): transaction
// markers and records of aborted transactions are no dead letters (a
// kafka-go Reader handed out each marker as a 6-byte record and the
// aborted records, kafka-go issue 1332); their offsets go to p.skipped.
// Records at or past p.end arrived after open and are left.
func (c *kafkaDeadLetters) fetch(ctx context.Context, p *dlPartition) error {
	// The records asked for exist: the answer comes after a round trip,
	// which from a far broker may take longer than the broker's wait;
	// bounded as the consumer's fetch is (fetchReadTimeout, dial-timeout
	// for request.timeout.ms).
	fp := fetchParams{maxWait: DefaultMaxWait, minBytes: 1, maxBytes: 16 << 20, isolation: kafkago.ReadCommitted,
		readTimeout: fetchReadTimeout(DefaultMaxWait, c.bd.st.dialTimeout)}
	for attempt := 0; ; attempt++ {
		if attempt > 0 && !sleepUntil(fetchBackoff(attempt), ctx.Done()) {
			return fmt.Errorf("kafka: read %s[%d] at %d: %w", c.topic, p.id, p.fetched, ctx.Err())
		}
		part, timedOut, err := c.bd.fetchPartition(ctx, c.topic, p.id, p.fetched, fp)
		if ctx.Err() != nil {
			return fmt.Errorf("kafka: read %s[%d] at %d: %w", c.topic, p.id, p.fetched, ctx.Err())
		}
		if errors.Is(err, kafkago.OffsetOutOfRange) {
			// Retention or DeleteRecords removed records since open: read
			// on from the log's first offset, as the Reader did.
			first, lerr := c.firstOffset(ctx, p.id)
			if lerr == nil && p.fetched < first {
				p.first = first
				p.seek(max(p.pos, first))
				return nil
			}
		}
		if err != nil {
			if (timedOut || staleLeader(err) || errors.Is(err, kafkago.RequestTimedOut) || c.bd.unreachable(err)) && attempt < dlFetchRetries {
				continue
			}
			return c.bd.dlErr(err, "kafka: read %s[%d] at %d", c.topic, p.id, p.fetched)
		}
		from := p.fetched
		next := from
		got, _ := filterFetched(part, c.topic, p.id, from, true, func(m *kafkago.Message) bool {
			if m.Offset < p.end {
				p.buf = append(p.buf, *m)
			}
			next = m.Offset + 1
			return true
		}, func(off int64) {
			if off < p.end {
				p.addSkipped(off)
			}
			next = off + 1
		})
		if !got || next == from {
			// Nothing at or past the position below the end (its last
			// records compacted away): the partition is read.
			next = p.end
		}
		p.fetched = next
		return nil
	}
}

// firstOffset is the log's first offset of partition part.
func (c *kafkaDeadLetters) firstOffset(ctx context.Context, part int) (int64, error) {
	lo, err := c.bd.admin.ListOffsets(ctx, &kafkago.ListOffsetsRequest{Topics: map[string][]kafkago.OffsetRequest{c.topic: {kafkago.FirstOffsetOf(part)}}})
	if err != nil {
		return 0, err
	}
	for _, po := range lo.Topics[c.topic] {
		if po.Partition == part {
			if po.Error != nil {
				return 0, po.Error
			}
			return po.FirstOffset, nil
		}
	}
	return 0, fmt.Errorf("kafka: no offsets of %s[%d]", c.topic, part)
}

func (c *kafkaDeadLetters) Remove(ctx context.Context, d stream.DeadLetter) error {
	p, off, err := c.partitionOf(d)
	if err != nil {
		c.unholdLost(d, err)
		return err
	}
	removed, committed, meta := p.removal(off)
	if len(meta) > maxRemovedMetadata {
		return fmt.Errorf("kafka: %s[%d]: too many dead letters removed behind kept ones to record; replay or purge the ones before offset %d first", c.topic, p.id, committed)
	}
	if err := c.commit(ctx, p, committed, meta); err != nil {
		if errors.Is(err, stream.ErrClaimLost) {
			c.unhold(p, off)
		}
		return fmt.Errorf("kafka: remove dead letter %s: %w", d.ID, err)
	}
	p.applyRemoval(off, removed, committed)
	c.unhold(p, off)
	c.letGo()
	return nil
}

// removal is what removing the dead letter at off makes of p: its
// removed offsets, committed offset and commit metadata, p left as it is
// (a failed commit changes nothing). O(log r + r) in the ranges r of
// removed and skipped offsets, which a filtered replay removing the dead
// letters behind a kept one keeps at one: a copy, the offset added and
// bridged to its neighbours, the committed offset moved over the front,
// the list written.
func (p *dlPartition) removal(off int64) (removed offsetRanges, committed int64, meta string) {
	return p.removalFrom(&p.removed, max(p.committed, p.first), off)
}

// removalFrom is removal over removed offsets from and a committed
// offset from (RemoveBatch's, as the removals of the batch before off
// would leave them); from is left as it is.
func (p *dlPartition) removalFrom(from *offsetRanges, fromCommitted, off int64) (removed offsetRanges, committed int64, meta string) {
	removed = from.clone()
	removed.bridge(&p.skipped, removed.add(off, off)-1, off)
	committed = p.frontierFrom(fromCommitted, &removed)
	removed.trimBelow(committed)
	return removed, committed, formatRemoved(&removed, committed)
}

// applyRemoval makes removal's answer p's, once committed.
func (p *dlPartition) applyRemoval(off int64, removed offsetRanges, committed int64) {
	p.skipped.trimBelow(committed)
	p.committed, p.removed = committed, removed
	p.dropCoveredSkipped(off)
}

// passSkipped commits, for a claiming cursor (a replay, a purge) that
// read p to its end, the group's position over the records at the front
// of what is left that hold no dead letter (transaction markers, aborted
// records; p.skipped) or were removed, up to the first kept dead letter:
// only Remove moved it, so a partition holding only an aborted
// transaction, or the tail of one aborted after a replay, stayed behind
// it for ever (lag that no replay cleared). A listing (not claiming)
// commits nothing. A failed commit is left to the next replay: the
// skipped records are none of the cursor's dead letters.
func (c *kafkaDeadLetters) passSkipped(ctx context.Context, p *dlPartition) {
	if c.m == nil || c.m.gen == nil || !c.m.assigned[p.id] || c.m.lost {
		return
	}
	committed := p.frontier(&p.removed)
	if committed == max(p.committed, p.first) {
		return
	}
	removed := p.removed.clone()
	removed.trimBelow(committed)
	if err := c.commit(ctx, p, committed, formatRemoved(&removed, committed)); err != nil {
		c.bd.log.Debug("kafka: dead letters: committing past the transaction markers and aborted records at the end of a partition failed; the next replay or purge commits it", "topic", c.topic, "partition", p.id, "offset", committed, "error", c.bd.logErr(err))
		return
	}
	p.skipped.trimBelow(committed)
	p.committed, p.removed = committed, removed
}

// partitionOf is d's partition and offset; a claiming cursor's error
// wraps [stream.ErrClaimLost] when the partition is no longer its own.
func (c *kafkaDeadLetters) partitionOf(d stream.DeadLetter) (*dlPartition, int64, error) {
	ps, offs, ok := strings.Cut(d.ID, "/")
	pid, err1 := strconv.Atoi(ps)
	off, err2 := strconv.ParseInt(offs, 10, 64)
	if !ok || err1 != nil || err2 != nil || off < 0 || off == math.MaxInt64 {
		return nil, 0, fmt.Errorf("kafka: dead letter id %q: want partition/offset", d.ID)
	}
	var p *dlPartition
	for _, x := range c.parts {
		if x.id == pid {
			p = x
		}
	}
	if p == nil {
		return nil, 0, fmt.Errorf("kafka: dead letter %s: no partition %d in %s", d.ID, pid, c.topic)
	}
	if c.m != nil && (c.m.gen == nil || !c.m.assigned[pid] || c.m.lost) {
		// A generation commits for any partition: this one's position
		// is another member's now, and this cursor's view of it stale.
		return nil, 0, fmt.Errorf("kafka: dead letter %s: partition %d of %s went to another replay or purge of group %s in a rebalance: %w", d.ID, pid, c.topic, c.group, stream.ErrClaimLost)
	}
	if _, found := slices.BinarySearch(p.stale, off); found {
		// The partition came back, but not the claim: another member
		// may have replayed or removed it meanwhile.
		return nil, 0, fmt.Errorf("kafka: dead letter %s: read before this replay or purge was dropped from group %s in a rebalance: %w", d.ID, c.group, stream.ErrClaimLost)
	}
	return p, off, nil
}

// unstale takes off from p's stale dead letters; false if it was not.
func (p *dlPartition) unstale(off int64) bool {
	i, found := slices.BinarySearch(p.stale, off)
	if found {
		p.stale = slices.Delete(p.stale, i, i+1)
	}
	return found
}

// rewind reads again, in the partitions the cursor has, the stale dead
// letters whose removal failed (a purge's next round removes them if
// they are still there), once it holds none after the first of them.
func (c *kafkaDeadLetters) rewind() {
	for i, p := range c.parts {
		if p.reread < 0 {
			continue
		}
		if !c.m.assigned[p.id] {
			p.reread = -1 // read from the group's position if it comes back
			continue
		}
		if len(p.held) > 0 && p.held[len(p.held)-1] >= p.reread {
			continue
		}
		if p.reread < p.pos {
			p.seek(max(p.reread, p.first, p.committed))
			c.cur = min(c.cur, i)
		}
		p.reread = -1
	}
}

// commit commits the group's position on p. A claiming cursor commits as
// its generation's member, which the broker refuses once the member was
// dropped from the group and p went to another member: the error then
// wraps [stream.ErrClaimLost].
func (c *kafkaDeadLetters) commit(ctx context.Context, p *dlPartition, committed int64, meta string) error {
	req := &kafkago.OffsetCommitRequest{GroupID: c.group, GenerationID: -1,
		Topics: map[string][]kafkago.OffsetCommit{c.topic: {{Partition: p.id, Offset: committed, Metadata: meta}}}}
	if c.m != nil {
		req.GenerationID, req.MemberID = int(c.m.gen.ID), c.m.gen.MemberID
	}
	var err error
	for attempt := 0; ; attempt++ {
		if attempt > 0 && !sleepUntil(fetchBackoff(attempt), ctx.Done()) {
			break
		}
		var res *kafkago.OffsetCommitResponse
		res, err = c.bd.admin.OffsetCommit(ctx, req)
		if err == nil {
			for _, r := range res.Topics[c.topic] {
				if r.Error != nil {
					err = r.Error
				}
			}
		}
		// A connection cut, or the group's coordinator moving, is
		// retried as a fetch is: committing the same position again is
		// harmless, and a removal given up sent the batch's copies
		// again with the next replay.
		if err == nil || lostMember(err) || ctx.Err() != nil || attempt >= dlFetchRetries || !c.bd.unreachable(err) {
			break
		}
	}
	if err == nil {
		return nil
	}
	if c.m != nil && lostMember(err) {
		// Dropped from the generation: it held a dead letter longer
		// than the rebalance timeout (the lease) while others joined.
		c.m.lost = true
		return fmt.Errorf("commit group %s on %s[%d]: this member was dropped from generation %d and the partition went to another replay or purge (%w): %w", c.group, c.topic, p.id, c.m.gen.ID, err, stream.ErrClaimLost)
	}
	return c.bd.dlErr(err, "kafka: commit group %s on %s[%d]", c.group, c.topic, p.id)
}

// letGo lets a generation that is ending end once the cursor holds no
// dead letter (after Remove or Release of the last it held): the
// rebalance need not wait for the next Next.
func (c *kafkaDeadLetters) letGo() {
	if c.m == nil || c.nheld > 0 {
		return
	}
	select {
	case <-c.m.ending:
		c.m.releaseGen()
	default:
	}
}

// lostMember reports whether err is the broker's refusal of a member that
// is no longer in the generation it names.
func lostMember(err error) bool {
	return errors.Is(err, kafkago.IllegalGeneration) || errors.Is(err, kafkago.UnknownMemberId) ||
		errors.Is(err, kafkago.FencedInstanceID) || errors.Is(err, kafkago.RebalanceInProgress)
}

// Release passes over d. The claim is the partition's, which the cursor
// keeps (it reads on past d): it only lets a rebalance that waits for the
// cursor go on, once the cursor holds no other dead letter.
func (c *kafkaDeadLetters) Release(_ context.Context, d stream.DeadLetter) error {
	if p, off, ok := c.heldOf(d); ok && c.m != nil {
		if c.unhold(p, off) {
			if i, found := slices.BinarySearch(p.released, off); !found {
				p.released = slices.Insert(p.released, i, off) // at the end but after a seek back
			}
		} else {
			p.unstale(off) // passed over: not read again
		}
	}
	c.letGo()
	return nil
}

// hold adds off, just returned, to p's held dead letters.
func (c *kafkaDeadLetters) hold(p *dlPartition, off int64) {
	i, found := slices.BinarySearch(p.held, off)
	if !found {
		p.held = slices.Insert(p.held, i, off)
		c.nheld++
	}
}

// unhold takes off from p's held dead letters; false if it was not held.
func (c *kafkaDeadLetters) unhold(p *dlPartition, off int64) bool {
	i, found := slices.BinarySearch(p.held, off)
	switch {
	case !found:
		return false
	case i == 0:
		// The oldest, as a purge removes what it holds: not a copy of
		// all the others (hundreds of thousands) each time.
		p.held = p.held[1:]
	default:
		p.held = slices.Delete(p.held, i, i+1)
	}
	c.nheld--
	return true
}

// unholdLost takes d from the held dead letters when err says its claim
// is lost: the caller cannot remove it, and a rebalance must not wait for
// it.
func (c *kafkaDeadLetters) unholdLost(d stream.DeadLetter, err error) {
	if !errors.Is(err, stream.ErrClaimLost) {
		return
	}
	if p, off, ok := c.heldOf(d); ok && !c.unhold(p, off) && p.unstale(off) && (p.reread < 0 || off < p.reread) {
		p.reread = off
	}
}

// heldOf is d's partition and offset, whoever holds the partition now.
func (c *kafkaDeadLetters) heldOf(d stream.DeadLetter) (*dlPartition, int64, bool) {
	ps, offs, ok := strings.Cut(d.ID, "/")
	pid, err1 := strconv.Atoi(ps)
	off, err2 := strconv.ParseInt(offs, 10, 64)
	if !ok || err1 != nil || err2 != nil {
		return nil, 0, false
	}
	for _, p := range c.parts {
		if p.id == pid {
			return p, off, true
		}
	}
	return nil, 0, false
}

// pruneReleased prunes (pruneSkipped) the skipped offsets beside the
// dead letters passed over, up to the first one held: those between a
// held one and one removed after it may still bridge a removed range.
func (p *dlPartition) pruneReleased() {
	if len(p.released) == 0 {
		return
	}
	lim := int64(math.MaxInt64)
	if len(p.held) > 0 {
		lim = p.held[0]
	}
	// released is sorted: those before lim, the last one kept of them
	// (O(1) but for those removed or committed since, dropped here),
	// not a pass over all of them for each dead letter read (a filtered
	// purge holds what it removes and passes over the rest).
	j, _ := slices.BinarySearch(p.released, lim)
	if j == 0 {
		return
	}
	base := max(p.committed, p.first)
	k := int64(-1)
	for i := j - 1; i >= 0; i-- {
		if o := p.released[i]; o >= base && !p.removed.contains(o) {
			k = o
			break
		}
	}
	p.released = p.released[j:]
	if k >= 0 {
		p.pruneSkipped(k)
	}
}

// Hold confirms, for a claiming cursor, that its member still holds d's
// partition, by committing the group's position there unchanged as the
// member of its generation (the fence Remove meets): a member that held a
// dead letter longer than the rebalance timeout (the lease) while others
// joined was dropped, and the partition went to another member, which
// reads d too.
func (c *kafkaDeadLetters) Hold(ctx context.Context, d stream.DeadLetter) error {
	if c.m == nil {
		return nil
	}
	p, _, err := c.partitionOf(d)
	if err != nil {
		return err
	}
	committed := max(p.committed, p.first)
	if err := c.commit(ctx, p, committed, formatRemoved(&p.removed, committed)); err != nil {
		return fmt.Errorf("kafka: confirm the claim on dead letter %s: %w", d.ID, err)
	}
	return nil
}

// HeldElsewhere is, for a claiming cursor, how many dead letters were
// there at open in the partitions other members held when it ended (at
// most: they may have removed some meanwhile, and the transaction markers
// and aborted records of a partition the cursor did not read are counted
// too).
func (c *kafkaDeadLetters) HeldElsewhere() int {
	if c.m == nil {
		return 0
	}
	n := 0
	for _, p := range c.parts {
		if c.m.assigned[p.id] || p.pos >= p.end {
			continue
		}
		// A removed range spans skipped offsets: those count once.
		k := p.end - p.pos - p.removed.countIn(p.pos, p.end) - p.skipped.countIn(p.pos, p.end) +
			p.removed.countBoth(&p.skipped, p.pos, p.end)
		n += int(max(k, 0))
	}
	return n
}

// Close leaves the group (a claiming cursor), giving its partitions to
// the other members at once; it waits for that at most until ctx ends.
func (c *kafkaDeadLetters) Close(ctx context.Context) error {
	if c.m == nil {
		return nil
	}
	done := make(chan struct{})
	go func() { c.m.leave(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("kafka: leave group %s: %w (its session ends within %s)", c.group, ctx.Err(), c.m.lease)
	}
}

// formatRemoved lists the removed offsets at or after from as ranges:
// "streambind-dlq-removed:7,9-12". A range spans the offsets between two
// removed ones that hold no dead letter (skipped: transaction markers,
// aborted records), which a cursor passes over anyway (p.removed is kept
// so, see offsetRanges.bridge): in a topic written in transactions a
// marker follows each dead letter, and "2,4,6,…" filled the broker's
// metadata limit after some 900 removed dead letters where a plain
// topic's "1-1000" is short. O(r) in the ranges.
func formatRemoved(removed *offsetRanges, from int64) string {
	return removed.format(from)
}
