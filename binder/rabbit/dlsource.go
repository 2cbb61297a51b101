package rabbit

import (
	"strings"

	"github.com/streambind/streambind/stream"
)

// DeadLetterSource implements [stream.DeadLetterSourcer]. The dead letters
// of (destination, group) are in the queue the binding's DLQ is declared as
// (consumerDLQ: <prefix><destination>.<group>.dlq on the exchange
// <prefix>DLX unless its dead-letter-queue-name or dead-letter-exchange say
// otherwise). A reader consumes that queue itself: its group becomes the
// queue's name (queue-name-group-only), and it declares no exchange and
// binds nothing, since the queue is already bound where the dead letters
// arrive. Its prefix is the source's, and its group the queue's name
// without it: the name has the source's prefix once (a reader's own
// stream.rabbit.default prefix, which it shares with its source, added to
// the whole name would start it a second time, a queue nothing
// dead-letters to), and a reader with dlq of its own sends its dead
// letters to <prefix>DLX, the DLX of its configuration, as SCSt names a
// consumer's (with the prefix cleared they went to the bare DLX, an
// exchange of no environment). A DLQ named by dead-letter-queue-name
// without the prefix is read with an empty prefix: the reader's own dead
// letters then go to DLX unless it sets dead-letter-exchange.
func (b *Binder) DeadLetterSource(spec stream.ConsumerSpec) (stream.DeadLetterSource, error) {
	o, err := parseConsumerOptions(spec.Binding, spec.Consumer.Concurrency, spec.Extension)
	if err != nil {
		return stream.DeadLetterSource{}, err
	}
	q := o.dlqQueue(spec)
	prefix, group := "", q.name
	if rest, ok := strings.CutPrefix(q.name, o.prefix); ok && rest != "" {
		prefix, group = o.prefix, rest
	}
	return stream.DeadLetterSource{
		Destination: q.exchange,
		Group:       group,
		Extension: map[string]any{
			"queue-name-group-only": true,
			"declare-exchange":      false,
			"bind-queue":            false,
			"prefix":                prefix,
		},
	}, nil
}
