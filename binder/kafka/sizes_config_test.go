package kafka_test

import (
	"context"
	"strings"
	"testing"

	"github.com/streambind/streambind/binder/kafka"
	"github.com/streambind/streambind/stream"
)

// TestSizeKeysTakeDataSizes: the byte keys take a size as Spring writes
// it (1MB), as spring.kafka's sizes already did; max-bytes: 1MB was
// refused, with a follow-on error about fetch.min.bytes (config breaker
// trial).
func TestSizeKeysTakeDataSizes(t *testing.T) {
	b, err := kafka.New(context.Background(), stream.BinderSettings{Name: "k", Type: kafka.Type})
	if err != nil {
		t.Fatal(err)
	}
	v := b.(stream.SpecValidator)
	if err := v.ValidateProducer(stream.ProducerSpec{Binding: "o-out-0", Extension: map[string]any{"batch-bytes": "2MB"}}); err != nil {
		t.Errorf("batch-bytes: 2MB: %v", err)
	}
	if err := v.ValidateConsumer(stream.ConsumerSpec{Binding: "i-in-0", Extension: map[string]any{"max-bytes": "1MB"}}); err != nil {
		t.Errorf("max-bytes: 1MB: %v", err)
	}
	err = v.ValidateConsumer(stream.ConsumerSpec{Binding: "i-in-0", Extension: map[string]any{"max-bytes": "1.5MB"}})
	if err == nil || !strings.Contains(err.Error(), "max-bytes: want a size such as 16384, 16KB or 1MB") {
		t.Errorf("max-bytes: 1.5MB: %v; want the size error", err)
	}
}
