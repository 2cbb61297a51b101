package rabbit_test

import (
	"slices"
	"testing"

	"github.com/streambind/streambind/binder/rabbit"
	"github.com/streambind/streambind/stream"
)

// TestConsumerQueuesInstanceIndexList: a partitioned consumer with
// instance-index-list binds one consumer per listed index, so
// ConsumerQueues (streambind lint's view of what a consumer declares)
// lists each listed index's queue, each with its own dead-letter routing
// key, and then their one DLQ. It listed only the queue of
// instance-index. Without a list (or unpartitioned, where the list does
// not apply) it is the one queue of instance-index.
func TestConsumerQueuesInstanceIndexList(t *testing.T) {
	for _, tc := range []struct {
		name string
		c    stream.ConsumerConfig
		want []string
	}{
		{"list", stream.ConsumerConfig{DLQ: true, Partitioned: true, InstanceCount: 3, InstanceIndex: 1, InstanceIndexList: []int{2, 0}},
			[]string{"orders.g-2", "orders.g-0", "orders.g.dlq (DLQ)"}},
		{"negative skipped", stream.ConsumerConfig{Partitioned: true, InstanceCount: 3, InstanceIndexList: []int{-1, 1}},
			[]string{"orders.g-1"}},
		{"instance-index", stream.ConsumerConfig{DLQ: true, Partitioned: true, InstanceCount: 3, InstanceIndex: 1},
			[]string{"orders.g-1", "orders.g.dlq (DLQ)"}},
		{"unpartitioned", stream.ConsumerConfig{InstanceCount: 3, InstanceIndexList: []int{0, 2}},
			[]string{"orders.g"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			qs, err := rabbit.ConsumerQueues(stream.ConsumerSpec{Binding: "work-in-0", Destination: "orders", Group: "g", Consumer: tc.c})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, q := range qs {
				n := q.Name
				if q.DLQ {
					n += " (DLQ)"
				} else if tc.c.DLQ && q.Args["x-dead-letter-routing-key"] != q.Name {
					t.Errorf("queue %s: x-dead-letter-routing-key %v, want its name", q.Name, q.Args["x-dead-letter-routing-key"])
				}
				got = append(got, n)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("queues %q, want %q", got, tc.want)
			}
		})
	}
}
