package kafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	kafkago "github.com/segmentio/kafka-go"
)

// New partitions.
//
// kafka-go's own partition watcher (ConsumerGroupConfig.
// WatchPartitionChanges) takes the partition count it compares against
// when the generation starts, not when the assignment was computed: a
// partition added between the leader's metadata read in the join and the
// start of the generation is in its baseline, no change is ever seen, and
// the new partition stays unassigned — its records are never consumed
// while the group runs. So the binder watches itself, against the counts
// the assignment was computed from: the group leader's balancer records
// them (assignView), and a member that is not the leader takes the
// counts at the start of the generation (the leader's watch covers the
// race there: its rejoin is what rebalances the group).

// assignView holds the partition counts that the last assignment computed
// by this member (as the group's leader) was made from.
type assignView struct {
	mu     sync.Mutex
	counts map[string]int // nil: none since the last take
}

func (v *assignView) set(counts map[string]int) {
	v.mu.Lock()
	v.counts = counts
	v.mu.Unlock()
}

// take returns the recorded counts and forgets them: nil when this member
// computed no assignment since the last take (it is not the leader).
func (v *assignView) take() map[string]int {
	v.mu.Lock()
	defer v.mu.Unlock()
	c := v.counts
	v.counts = nil
	return c
}

// recordingBalancer is a kafka-go group balancer that records the
// partition counts of the topics it assigns, then assigns as its inner
// balancer does (same protocol name and user data: the wire is unchanged).
type recordingBalancer struct {
	kafkago.GroupBalancer
	view   *assignView
	topics []string
}

func (b recordingBalancer) AssignGroups(members []kafkago.GroupMember, partitions []kafkago.Partition) kafkago.GroupMemberAssignments {
	counts := make(map[string]int, len(b.topics))
	for _, t := range b.topics {
		counts[t] = 0
	}
	for _, p := range partitions {
		if _, ok := counts[p.Topic]; ok {
			counts[p.Topic]++
		}
	}
	b.view.set(counts)
	return b.GroupBalancer.AssignGroups(members, partitions)
}

// groupBalancers are kafka-go's default balancers (range, then round
// robin), recording into view.
func groupBalancers(view *assignView, topics []string) []kafkago.GroupBalancer {
	return []kafkago.GroupBalancer{
		recordingBalancer{GroupBalancer: kafkago.RangeGroupBalancer{}, view: view, topics: topics},
		recordingBalancer{GroupBalancer: kafkago.RoundRobinGroupBalancer{}, view: view, topics: topics},
	}
}

// partitionCounts asks the cluster (not kafka-go's metadata cache) for the
// partition counts of topics; a missing topic has 0.
func (bd *Binder) partitionCounts(ctx context.Context, topics []string) (map[string]int, error) {
	ctx, cancel := context.WithTimeout(ctx, bd.st.healthTimeout)
	defer cancel()
	res, err := bd.freshMetadata(ctx, topics)
	if err != nil {
		return nil, err
	}
	counts := make(map[string]int, len(topics))
	for _, t := range topics {
		counts[t] = 0
	}
	for _, t := range res.Topics {
		if _, ok := counts[t.Name]; !ok {
			continue
		}
		if t.Error != nil {
			if errors.Is(t.Error, kafkago.UnknownTopicOrPartition) {
				continue
			}
			return nil, fmt.Errorf("topic %s: %w", t.Name, t.Error)
		}
		counts[t.Name] = len(t.Partitions)
	}
	return counts, nil
}

// watchPartitions returns — which ends the generation, so that the member
// rejoins and the group is assigned anew — as soon as a topic's partition
// count differs from base (the counts the assignment was made from; nil
// when unknown: then the first read is the base). It checks at once and
// then every partition watch interval. It returns when ctx ends (the
// generation ended), and once the run stops it only waits for that.
func (r *run) watchPartitions(ctx context.Context, base map[string]int, log *slog.Logger) {
	bd := r.c.bd
	t := time.NewTicker(bd.st.partitionWatch)
	defer t.Stop()
	for {
		counts, err := bd.partitionCounts(ctx, r.c.topics)
		switch {
		case err != nil:
			if ctx.Err() == nil {
				log.Debug("kafka: reading the partition counts failed", "error", bd.logErr(err))
			}
		case base == nil:
			base = counts
		case r.fixed && !maps.Equal(counts, base) && !r.c.fixedChanged(base, counts):
			// Partitions of other instances (fixed.go): nothing changes here.
			base = counts
		case r.fixed && !maps.Equal(counts, base):
			// A fixed assignment reads the new set in its next generation
			// (no group: no rejoin, nothing to loop on).
			log.Info("kafka: the partitions of the topics changed; reading this instance's fixed partitions anew", "was", base, "now", counts)
			return
		case !maps.Equal(counts, base) && len(missingTopics(counts)) > 0:
			// A topic the group subscribes to was deleted: kafka-go's
			// balancer assigns nothing while one is missing, so a rejoin
			// now would only come back here (it looped, a thousand
			// generations a second). Wait for the counts to change again
			// (the topic made again) before rejoining.
			log.Warn("kafka: a topic the binding reads does not exist; not rejoining the group until it exists again (a rebalance meanwhile assigns nothing: create it again, or restart the binding without it)",
				"missing", missingTopics(counts))
			base = counts
		case !maps.Equal(counts, base):
			log.Info("kafka: the partitions of the topics changed; rebalancing", "was", base, "now", counts)
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-r.stopC:
			// Stop leaves the group; a rejoin now would only delay it.
			<-ctx.Done()
			return
		case <-t.C:
		}
	}
}

// missingTopics lists the topics of counts without partitions (deleted,
// or not there).
func missingTopics(counts map[string]int) []string {
	var out []string
	for t, n := range counts {
		if n == 0 {
			out = append(out, t)
		}
	}
	slices.Sort(out)
	return out
}

// topicPart names a partition.
type topicPart struct {
	topic string
	part  int
}

// startOffsets returns where each partition of a generation's assignment
// starts: its committed offset, or — for a partition without one, or all
// of them on a reset — the start offset, which is the earliest unless
// start-offset latest applies. Latest applies only to a brand-new group:
// a partition created after this run's first assignment (counts is what
// that assignment was made from), or one of a topic the group has
// committed offsets for, starts at the earliest offset, since each of its
// records was written after the group began consuming the topic. Latest
// is the partition's end when the run started (startEnds), so that a
// record sent after Start returned is delivered however late the group's
// first assignment comes, and a partition created since Start (at or
// above the count Start read: every record of it was written after Start)
// starts at the earliest offset; a partition of a topic Start could not
// read starts at its end now. A reset never goes back behind the group's
// committed offset: another member may have handled what was sent since
// this one's Start. A partition that starts at the latest offset gets that
// offset resolved and listed in commit, so that it is committed at once:
// the group is no longer new there, and a later generation resumes from it
// even when nothing was handled.
func (r *run) startOffsets(ctx context.Context, assignments map[string][]kafkago.PartitionAssignment, reset bool, counts map[string]int, log *slog.Logger) (offs map[topicPart]int64, commit map[topicPart]bool) {
	offs = map[topicPart]int64{}
	commit = map[topicPart]bool{}
	start := r.startOffset()
	var latest []topicPart
	var committed map[string]bool // topics the group has commits for; nil until asked
	var floor map[topicPart]int64 // the committed offsets of partitions reset to latest
	for topic, parts := range assignments {
		for _, pa := range parts {
			k := topicPart{topic, pa.ID}
			n, known := r.startCounts[topic]
			switch {
			case pa.Offset >= 0 && !reset:
				offs[k] = pa.Offset
			case start != kafkago.LastOffset:
				offs[k] = start
			case known && pa.ID >= n:
				log.Info("kafka: a partition created since the binding started starts at the earliest offset", "topic", topic, "partition", pa.ID)
				offs[k] = kafkago.FirstOffset
				if pa.Offset >= 0 { // reset: not behind the group's commit
					offs[k] = pa.Offset
				}
			case reset:
				latest = append(latest, k)
				if pa.Offset >= 0 {
					if floor == nil {
						floor = map[topicPart]int64{}
					}
					floor[k] = pa.Offset
				}
			case r.c.isRetryTopic(topic):
				// The group's own parked messages (a retry topic, or one
				// left from delays no longer configured): never skipped by
				// start-offset latest.
				offs[k] = kafkago.FirstOffset
			case counts != nil && pa.ID >= counts[topic]:
				log.Info("kafka: a partition added while the group runs starts at the earliest offset", "topic", topic, "partition", pa.ID)
				offs[k] = kafkago.FirstOffset
			default:
				if committed == nil {
					committed = r.committedTopics(ctx, log)
				}
				if committed[topic] {
					log.Info("kafka: a partition without a committed offset of a topic the group has consumed starts at the earliest offset", "topic", topic, "partition", pa.ID)
					offs[k] = kafkago.FirstOffset
					continue
				}
				latest = append(latest, k)
			}
		}
	}
	if len(latest) == 0 {
		return offs, commit
	}
	req := map[string][]kafkago.OffsetRequest{}
	unread := latest[:0]
	for _, k := range latest {
		if end, ok := r.startEnds[k]; ok {
			if c, ok := floor[k]; ok && c > end {
				end = c
			}
			offs[k] = end
			commit[k] = true
			continue
		}
		offs[k] = kafkago.LastOffset // unless resolved below
		req[k.topic] = append(req[k.topic], kafkago.LastOffsetOf(k.part))
		unread = append(unread, k)
	}
	if latest = unread; len(latest) == 0 {
		return offs, commit
	}
	bd := r.c.bd
	lctx, cancel := context.WithTimeout(ctx, bd.st.healthTimeout)
	defer cancel()
	res, err := bd.admin.ListOffsets(lctx, &kafkago.ListOffsetsRequest{Topics: req})
	if err != nil {
		log.Debug("kafka: reading the latest offsets failed; the partitions start at their end when fetching", "error", bd.logErr(err))
		return offs, commit
	}
	for _, k := range latest {
		for _, po := range res.Topics[k.topic] {
			if po.Partition == k.part && po.Error == nil && po.LastOffset >= 0 {
				offs[k] = po.LastOffset
				commit[k] = true
			}
		}
	}
	return offs, commit
}

// endOffsets returns the end offset of every partition of topics, or what
// of them it could read (a topic that does not exist yet has none): the
// callers fall back to reading it later. It takes at most health-timeout
// (and ctx): a Start with the cluster unreachable is delayed by that much.
func (bd *Binder) endOffsets(ctx context.Context, topics []string, log *slog.Logger) (map[topicPart]int64, map[string]int) {
	ctx, cancel := context.WithTimeout(ctx, bd.st.healthTimeout)
	defer cancel()
	failed := func(err error) (map[topicPart]int64, map[string]int) {
		log.Debug("kafka: reading the partitions' end offsets at start failed; latest is read at the assignment", "error", bd.logErr(err))
		return nil, nil
	}
	counts, err := bd.partitionCounts(ctx, topics)
	if err != nil {
		return failed(err)
	}
	req := map[string][]kafkago.OffsetRequest{}
	for t, n := range counts {
		for p := range n {
			req[t] = append(req[t], kafkago.LastOffsetOf(p))
		}
	}
	if len(req) == 0 {
		return nil, counts // no partitions yet: each one made later starts at the earliest offset
	}
	res, err := bd.admin.ListOffsets(ctx, &kafkago.ListOffsetsRequest{Topics: req})
	if err != nil {
		return failed(err)
	}
	ends := map[topicPart]int64{}
	for t, pos := range res.Topics {
		for _, po := range pos {
			if po.Error == nil && po.LastOffset >= 0 {
				ends[topicPart{t, po.Partition}] = po.LastOffset
			}
		}
	}
	return ends, counts
}

// committedTopics returns the topics of the run for which the group has a
// committed offset. When the cluster cannot tell, every topic is taken as
// consumed: a duplicate rather than a loss.
func (r *run) committedTopics(ctx context.Context, log *slog.Logger) map[string]bool {
	bd := r.c.bd
	out := make(map[string]bool, len(r.c.topics))
	ctx, cancel := context.WithTimeout(ctx, bd.st.healthTimeout)
	defer cancel()
	res, err := bd.admin.OffsetFetch(ctx, &kafkago.OffsetFetchRequest{GroupID: r.groupID})
	if err == nil {
		err = res.Error
	}
	if errors.Is(err, kafkago.GroupIdNotFound) {
		// No such group (some brokers' answer, kfake's, for a group that
		// never committed; Kafka's is no offsets): a fixed assignment's
		// group is not made by joining it.
		return out
	}
	if err != nil {
		log.Warn("kafka: cannot read the group's committed offsets; partitions without one start at the earliest offset", "error", bd.logErr(err))
		for _, t := range r.c.topics {
			out[t] = true
		}
		return out
	}
	for _, t := range r.c.topics {
		for _, p := range res.Topics[t] {
			if p.Error == nil && p.CommittedOffset >= 0 {
				out[t] = true
			}
		}
	}
	return out
}
