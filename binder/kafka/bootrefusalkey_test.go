package kafka_test

import (
	"context"
	"strings"
	"testing"

	"github.com/streambind/streambind/binder/kafka"
	"github.com/streambind/streambind/stream"
)

// TestBootRefusalNamesTheBinderKey: a Spring Boot spring.kafka key the
// binder does not read, in a binder's environment, is refused naming that
// binder's configuration map as the place for it, not
// stream.kafka.binder.configuration (which a binder with
// inherit-environment false does not read, and which reaches every Kafka
// binder otherwise). (8a9a878 did this for the other messages.)
func TestBootRefusalNamesTheBinderKey(t *testing.T) {
	_, err := kafka.New(context.Background(), stream.BinderSettings{Name: "kafka1", Type: kafka.Type,
		Environment: map[string]any{
			"spring": map[string]any{"kafka": map[string]any{
				"bootstrap-servers": "h:1",
				"ssl":               map[string]any{"trust-store-location": "x.jks"},
			}},
		}})
	const want = "give it as a Kafka client property under spring.kafka.properties or stream.binders.kafka1.environment.configuration"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("New: %v; want an error saying %q", err, want)
	}
	if strings.Contains(err.Error(), "stream.kafka.binder.configuration") {
		t.Errorf("New: %v; names stream.kafka.binder.configuration, which this binder's environment overrides", err)
	}
}
