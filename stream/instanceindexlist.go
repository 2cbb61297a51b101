package stream

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// consumer.instance-index-list (SCSt's instanceIndexList): a partitioned
// consumer with a group reads the partitions of several instance indexes,
// one binder consumer per index, each given the consumer configuration
// with instance-index set to it (SCSt's BindingService.bindConsumer does
// the same), so that no binder has anything to do for it.

// validateInstanceIndexList checks consumer.instance-index-list where it
// applies (partitioned: SCSt ignores it otherwise, and a file SCSt runs
// must run here): each index below instance-count and named once, since
// two consumers of one index would each handle its partitions' messages.
// A negative index is skipped at bind time with a warning, as SCSt skips it.
func validateInstanceIndexList(c ConsumerConfig, bad func(key, msg string, args ...any)) {
	if !c.Partitioned {
		return
	}
	at := map[int]int{}
	if len(c.InstanceIndexList) > 0 && slices.Max(c.InstanceIndexList) < 0 {
		// SCSt would bind no consumer at all: surely not what was meant.
		bad("consumer.instance-index-list", "has no index of 0 or more (negative ones are skipped): the binding would consume nothing; got %v", c.InstanceIndexList)
		return
	}
	for i, x := range c.InstanceIndexList {
		key := fmt.Sprintf("consumer.instance-index-list[%d]", i)
		switch j, dup := at[x]; {
		case x < 0:
		case x >= c.InstanceCount:
			bad(key, "must be in [0, instance-count=%d), got %d", c.InstanceCount, x)
		case dup:
			bad(key, "index %d is already instance-index-list[%d]: two consumers would read the same partitions, each message handled twice", x, j)
		default:
			at[x] = i
		}
	}
}

// InstanceIndexes returns the instance indexes a consumer binding with
// group reads as, one binder consumer each: those of instance-index-list
// without its negative entries when the list applies (a partitioned
// consumer with a group, a list with an index of 0 or more), else nil
// (one consumer, of instance-index).
func (c ConsumerConfig) InstanceIndexes(group string) []int {
	if !c.Partitioned || group == "" {
		return nil
	}
	var out []int
	for _, x := range c.InstanceIndexList {
		if x >= 0 {
			out = append(out, x)
		}
	}
	return out
}

// perInstance returns the consumer configurations a consumer binding with
// group binds, one binder consumer each: c itself, or with
// instance-index-list a copy of c per index (InstanceIndexes) with
// InstanceIndex set to it.
func (c ConsumerConfig) perInstance(group string) []ConsumerConfig {
	idx := c.InstanceIndexes(group)
	if len(idx) == 0 {
		return []ConsumerConfig{c}
	}
	out := make([]ConsumerConfig, len(idx))
	for i, x := range idx {
		out[i] = c
		out[i].InstanceIndex = x
	}
	return out
}

// joinInts renders indexes as "0,2", for the log line.
func joinInts(xs []int, sep string) string {
	ss := make([]string, len(xs))
	for i, x := range xs {
		ss[i] = strconv.Itoa(x)
	}
	return strings.Join(ss, sep)
}
