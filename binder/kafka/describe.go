package kafka

import (
	"slices"
	"strings"

	"github.com/streambind/streambind/stream"
)

var (
	_ stream.BindingDescriber = (*consumer)(nil)
	_ stream.BindingDescriber = (*producer)(nil)
)

// DescribeBinding says what the consumer reads, for the start-up line of
// its binding: its topics, its retry topics (retry-delays, and those of
// delays no longer configured that it drains) and the topics its dead
// letters go to. An anonymous consumer's group id (anonymous.<uuid>) is
// made at each Start.
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
