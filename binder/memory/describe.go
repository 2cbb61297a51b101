package memory

import (
	"strconv"

	"github.com/streambind/streambind/stream"
)

var _ stream.BindingDescriber = (*consumer)(nil)

// DescribeBinding says what the consumer reads, for the start-up line of
// its binding: its group's queue (instance index of instance-count when
// partitioned; an anonymous consumer's queue is its own) and the
// dead-letter destination.
func (c *consumer) DescribeBinding() map[string]string {
	d := map[string]string{}
	if c.group != nil {
		d["queue"] = c.destName + "." + c.spec.Group
		if c.instances > 1 {
			d["queue"] += " #" + strconv.Itoa(c.index) + "/" + strconv.Itoa(c.instances)
		}
	} else {
		d["queue"] = c.destName + ".(anonymous)"
	}
	if c.dlq != nil {
		d["dlq"] = c.dlq.name
	}
	return d
}
