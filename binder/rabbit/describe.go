package rabbit

import (
	"slices"
	"strings"

	"github.com/streambind/streambind/stream"
)

var (
	_ stream.BindingDescriber = (*consumer)(nil)
	_ stream.BindingDescriber = consumers(nil)
	_ stream.BindingDescriber = (*producer)(nil)
)

// DescribeBinding says what the consumer reads, for the start-up line of
// its binding (the binder's own "rabbit: consumer bound" line has the
// whole topology): the destination's exchange, the queue (an anonymous
// consumer's is named at each Start) and the DLQ.
func (c *consumer) DescribeBinding() map[string]string {
	d := map[string]string{"exchange": c.opts.exchange(c.dest)}
	if c.queue != "" {
		d["queue"] = c.queue
	} else {
		d["queue"] = c.opts.anonymousQueue(c.dest, "<id, at start>")
	}
	if c.dlq() {
		d["dlq"] = c.opts.dlqName(c.opts.baseQueue(c.dest, c.spec.Group))
	}
	return d
}

// DescribeBinding of the consumers of several destinations: each key's
// values, in destination order, comma-separated (one DLQ named once).
func (cs consumers) DescribeBinding() map[string]string {
	vals := map[string][]string{}
	for _, c := range cs {
		for k, v := range c.DescribeBinding() {
			if !slices.Contains(vals[k], v) {
				vals[k] = append(vals[k], v)
			}
		}
	}
	d := make(map[string]string, len(vals))
	for k, v := range vals {
		d[k] = strings.Join(v, ",")
	}
	return d
}

// DescribeBinding says where the producer publishes, for the start-up
// line of its binding: the destination's exchange.
func (p *producer) DescribeBinding() map[string]string {
	return map[string]string{"exchange": p.exchange}
}
