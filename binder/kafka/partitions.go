package kafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
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
