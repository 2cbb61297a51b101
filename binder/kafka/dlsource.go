package kafka

import "github.com/streambind/streambind/stream"

// DeadLetterSource implements [stream.DeadLetterSourcer]: the dead letters
// of (destination, group) go to the consumer's dlq-name, by default
// error.<destination>.<group>.
func (bd *Binder) DeadLetterSource(spec stream.ConsumerSpec) (stream.DeadLetterSource, error) {
	cs, err := parseConsumer(spec.Binding, spec.Extension)
	if err != nil {
		return stream.DeadLetterSource{}, err
	}
	return stream.ErrorDestinationSource(spec, cs.dlqName), nil
}
