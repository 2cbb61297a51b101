package memory

import "github.com/streambind/streambind/stream"

// DeadLetterSource implements [stream.DeadLetterSourcer]: the dead letters
// of (destination, group) go to destination error.<destination>.<group>.
func (bd *Binder) DeadLetterSource(spec stream.ConsumerSpec) (stream.DeadLetterSource, error) {
	return stream.ErrorDestinationSource(spec, ""), nil
}
