package rabbit

import "github.com/streambind/streambind/stream"

// DeadLetterSource implements [stream.DeadLetterSourcer]. The dead letters
// of (destination, group) are in the queue the binding's DLQ is declared as
// (consumerDLQ: <destination>.<group>.dlq on the exchange DLX unless its
// dead-letter-queue-name or dead-letter-exchange say otherwise). A reader consumes that queue itself:
// its group becomes the queue's name (queue-name-group-only), and it
// declares no exchange and binds nothing, since the queue is already
// bound where the dead letters arrive. Its prefix is empty: the queue's
// name already has the source's prefix, and a reader's own (a
// stream.rabbit.default prefix, which the reader shares with its source)
// would start the name a second time, a queue nothing dead-letters to.
func (b *Binder) DeadLetterSource(spec stream.ConsumerSpec) (stream.DeadLetterSource, error) {
	q, err := consumerDLQ(spec)
	if err != nil {
		return stream.DeadLetterSource{}, err
	}
	return stream.DeadLetterSource{
		Destination: q.exchange,
		Group:       q.name,
		Extension: map[string]any{
			"queue-name-group-only": true,
			"declare-exchange":      false,
			"bind-queue":            false,
			"prefix":                "",
		},
	}, nil
}
