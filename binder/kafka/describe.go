package kafka

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/streambind/streambind/stream"
)

var (
	_ stream.BindingDescriber = (*consumer)(nil)
	_ stream.BindingDescriber = (*producer)(nil)
)

// DescribeBinding says what the consumer reads, for the start-up line of
// its binding: its topics, its retry topics (retry-delays, and those of
// delays no longer configured that it drains) and the topics its dead
// letters go to, and with auto-rebalance-enabled: false the rule that
// assigns its partitions. An anonymous consumer's group id
// (anonymous.<uuid>) is made at each Start.
func (c *consumer) DescribeBinding() map[string]string {
	var main, retry []string
	for _, t := range c.topics {
		if _, ok := c.retryMain(t); ok {
			retry = append(retry, t)
		} else {
			main = append(main, t)
		}
	}
	d := map[string]string{"topics": strings.Join(main, ",")}
	if c.cs.fixed && c.spec.Group != "" {
		// Which partitions: the count may grow, the rule stays (the run
		// logs the partitions it reads).
		cc := c.spec.Consumer
		if n := max(cc.InstanceCount, 1); n > 1 {
			d["assignment"] = fmt.Sprintf("fixed: partitions p with p %% %d = %d", n, cc.InstanceIndex)
		} else {
			d["assignment"] = "fixed: every partition"
		}
	}
	if len(retry) > 0 {
		d["retry_topics"] = strings.Join(retry, ",")
	}
	if c.dlq {
		var dlqs []string
		for _, t := range c.topics {
			if q := c.dlqTopic(t); !slices.Contains(dlqs, q) {
				dlqs = append(dlqs, q)
			}
		}
		d["dlq"] = strings.Join(dlqs, ",")
	}
	return d
}

// DescribeBinding says where the producer sends, for the start-up line of
// its binding: its topic.
func (p *producer) DescribeBinding() map[string]string {
	return map[string]string{"topic": p.topic}
}

// assignmentText is a partition assignment as a log line shows it:
// "orders:0,2 payments:1", topics sorted. A topic without partitions is
// left out (kafka-go gives a member every topic it subscribes to, also
// one of which it got no partition), so that a member with none shows
// "" rather than "orders:".
func assignmentText(asg map[string][]kafkago.PartitionAssignment) string {
	topics := make([]string, 0, len(asg))
	for t, ps := range asg {
		if len(ps) > 0 {
			topics = append(topics, t)
		}
	}
	slices.Sort(topics)
	var b strings.Builder
	for i, t := range topics {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(t)
		b.WriteByte(':')
		ps := make([]int, 0, len(asg[t]))
		for _, a := range asg[t] {
			ps = append(ps, a.ID)
		}
		slices.Sort(ps)
		for j, p := range ps {
			if j > 0 {
				b.WriteByte(',')
			}
			b.WriteString(strconv.Itoa(p))
		}
	}
	return b.String()
}
