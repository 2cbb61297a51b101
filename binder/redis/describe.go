package redis

import (
	"strings"

	"github.com/streambind/streambind/stream"
)

var (
	_ stream.BindingDescriber = (*consumer)(nil)
	_ stream.BindingDescriber = (*producer)(nil)
)

// DescribeBinding says what the consumer reads, for the start-up line of
// its binding: its streams (the keys, key-prefix included: the
// destination's own and the partitions it reads), its name in the group
// and the stream its dead letters are added to. An anonymous consumer
// reads the destination's stream and the partitions it finds at Start.
func (c *consumer) DescribeBinding() map[string]string {
	d := map[string]string{}
	if c.group == "" {
		d["streams"] = c.bd.key(c.dest, -1)
		return d
	}
	d["streams"] = strings.Join(c.groupKeys, ",")
	d["consumer"] = c.name
	if c.dlq {
		d["dlq"] = c.dlqKey
	}
	return d
}

// DescribeBinding says where the producer adds entries, for the start-up
// line of its binding: the destination's stream (the key, key-prefix
// included) and, when partitioned, how many partition streams it has.
func (p *producer) DescribeBinding() map[string]string {
	d := map[string]string{"stream": p.base}
	if n := len(p.keys) - 1; n > 0 {
		d["partition_streams"] = p.bd.key(p.dest, 0) + " .. " + p.bd.key(p.dest, n-1)
	}
	return d
}
