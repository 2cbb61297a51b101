package nats

import (
	"strings"

	"github.com/streambind/streambind/stream"
)

var (
	_ stream.BindingDescriber = (*consumer)(nil)
	_ stream.BindingDescriber = (*producer)(nil)
)

// DescribeBinding says what the consumer reads, for the start-up line of
// its binding: the stream, the subjects it reads (its filters, or the
// stream's subjects), its durable consumer (a group's; an anonymous
// consumer's is ephemeral, made at each Start), the subject its dead
// letters are published to and their stream (dlq_stream: the dead-letter
// subject's StreamName, with a hash suffix when the subject holds '_', or
// a stream of another name that captures it).
func (c *consumer) DescribeBinding() map[string]string {
	d := map[string]string{"stream": c.ref.name, "subjects": filtersOf(c.cfg)}
	if d["subjects"] == "" { // the whole stream
		d["subjects"] = strings.Join(c.ref.subjects, ", ")
	}
	if c.cfg.Durable != "" {
		d["durable"] = c.cfg.Durable
	} else {
		d["durable"] = "(ephemeral)"
	}
	if c.dlq {
		d["dlq"] = c.dlqSubject
		if r := c.dlqRef.Load(); r != nil {
			d["dlq_stream"] = r.name
		}
	}
	return d
}

// DescribeBinding says where the producer publishes, for the start-up
// line of its binding: the stream and the destination's subject
// (<subject>.<n> for partition n of a partitioned one).
func (p *producer) DescribeBinding() map[string]string {
	d := map[string]string{"subject": p.dest}
	if r := p.ref.Load(); r != nil {
		d["stream"] = r.name
	}
	return d
}
