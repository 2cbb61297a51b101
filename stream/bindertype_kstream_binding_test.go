package stream_test

import (
	"context"
	"strings"
	"testing"

	"github.com/streambind/streambind/stream"
)

// TestBindingBinderKafkaStreamsSaysUnsupported: SCSt's other ways to pick
// the Kafka Streams binder, by its type as a binding's binder or as the
// default-binder (binder: kstream, default-binder: ktable), fail saying
// that Kafka Streams is not supported too. Before, only a type under
// stream.binders did (da96a49): these said only "neither declared under
// stream.binders nor a registered binder type".
func TestBindingBinderKafkaStreamsSaysUnsupported(t *testing.T) {
	for key, yaml := range map[string]string{
		"stream.bindings.process-in-0.binder": `spring.cloud.function.definition: process
spring.cloud.stream.bindings:
  process-in-0: {destination: i, group: g, binder: kstream}
`,
		"stream.default-binder": `spring.cloud.function.definition: process
spring.cloud.stream.default-binder: ktable
spring.cloud.stream.bindings:
  process-in-0: {destination: i, group: g}
`,
	} {
		fns := stream.NewCatalog()
		stream.AddConsumer(fns, "process", func(context.Context, string) error { return nil })
		_, err := stream.NewApp(loadYAML(t, yaml), fns, typesOpts("kafka")...)
		if err == nil || !strings.Contains(err.Error(), key) || !strings.Contains(err.Error(), "Kafka Streams binder is not supported") {
			t.Errorf("%s: %v", key, err)
		}
	}
}
