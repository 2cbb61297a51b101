package conf

import (
	"fmt"

	"github.com/streambind/streambind/stream"
)

// AnonymousDLQ returns the problem of a consumer binding with dlq on and
// no group, nil for any other: SCSt's Kafka binder refuses it at start-up
// ("DLQ support is not available for anonymous subscriptions"), as the
// dead-letter destination is named after the group, and the binders that
// name theirs so (kafka, nats, redis) refuse it too instead of dropping
// the binding's failed messages. The key is the binding's consumer.dlq
// (SCSt: enable-dlq); the app reports it at stream.default.consumer.dlq
// when the binding inherits it from there.
func AnonymousDLQ(binderType string, spec stream.ConsumerSpec) error {
	if !spec.Consumer.DLQ || spec.Group != "" {
		return nil
	}
	return &stream.ConfigError{Path: "stream.bindings." + spec.Binding + ".consumer.dlq",
		Msg: fmt.Sprintf("DLQ support is not available for anonymous subscriptions (as in SCSt's Kafka binder): binding %s has no group, and the %s binder names its dead-letter destination after the group; set group, or dlq (SCSt: enable-dlq) false",
			spec.Binding, binderType)}
}
