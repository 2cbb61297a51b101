package kafka

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/kafka/kafkatest"
	"github.com/streambind/streambind/stream"
)

// A wait for a topic's metadata that its context ends (a cancelled
// start-up, a bind's deadline) says so in its error's chain: it said only
// "0 partitions visible, want 1", so errors.Is(err, context.Canceled) was
// false for the error of a start-up the user cancelled (scale trial).
func TestMetadataWaitEndedByContext(t *testing.T) {
	k := kafkatest.Start(t)
	b, err := New(context.Background(), stream.BinderSettings{Name: "kafka", Type: Type, Environment: map[string]any{"brokers": k.Brokers()}})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close(context.Background())
	bd := b.(*Binder)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	_, err = bd.waitPartitions(ctx, "no-such-topic-metadatawait", 1)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("waitPartitions ended by its context: %v; want context.Canceled in its chain", err)
	}
}
