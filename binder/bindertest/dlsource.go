package bindertest

import (
	"maps"

	"github.com/streambind/streambind/stream"
)

// deadLetterReader is the consumer spec with which FailureDeadLetters reads
// the dead letters of (dest, group): the binder's own answer when it is a
// [stream.DeadLetterSourcer] (what consumer.dead-letters-of uses), else the
// harness's DLQConsumerSpec, else error.<dest>.<group> in group
// "dlq-reader". When the binder answers and the harness says too, they must
// agree on destination and group.
func deadLetterReader(s *suite, dest, group string) stream.ConsumerSpec {
	def := stream.ConsumerSpec{Destination: stream.DLQName(dest, group), Group: "dlq-reader"}
	if s.h.DLQConsumerSpec != nil {
		def = s.h.DLQConsumerSpec(dest, group)
	}
	ds, ok := s.b.(stream.DeadLetterSourcer)
	if !ok {
		return def
	}
	src, err := ds.DeadLetterSource(stream.ConsumerSpec{Destination: dest, Group: group,
		Consumer: stream.ConsumerConfig{DLQ: true}})
	if err != nil {
		s.t.Fatalf("DeadLetterSource(%s, %s): %v", dest, group, err)
	}
	spec := stream.ConsumerSpec{Destination: src.Destination, Group: "dlq-reader", Extension: maps.Clone(src.Extension)}
	if src.Group != "" {
		spec.Group = src.Group
	}
	if s.h.DLQConsumerSpec != nil && (def.Destination != spec.Destination || (src.Group != "" && def.Group != spec.Group)) {
		s.t.Errorf("the binder's DeadLetterSource says destination %q group %q; the harness's DLQConsumerSpec %q group %q",
			spec.Destination, spec.Group, def.Destination, def.Group)
	}
	return spec
}

// startDeadLetters starts a reader of the dead letters of dest's group g
// (deadLetterReader) and returns the collector it records them in.
func startDeadLetters(s *suite, dest string) *collector {
	spec := deadLetterReader(s, dest, "g")
	if spec.Binding == "" {
		spec.Binding = "bindertest-dlq-in-0"
	}
	dead := newCollector()
	spec.Handler = dead.handler(0)
	s.started(s.b, spec)
	return dead
}
