package kafka

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"
)

// TestDeadLettersJoinNotedOnce: the note that a claiming cursor's join
// takes long is given once per cursor. It was given at each generation
// the cursor waited for (every rebalance of a long replay) while the
// Notice's doc and dlq's help say it once. Here two joins of a group
// whose coordinator cannot be reached each wait past joinNoticeAfter.
func TestDeadLettersJoinNotedOnce(t *testing.T) {
	t.Parallel()
	cg, err := kafkago.NewConsumerGroup(kafkago.ConsumerGroupConfig{ID: "g", Brokers: []string{"127.0.0.1:1"},
		Topics: []string{"error.t.g"}, JoinGroupBackoff: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer cg.Close()
	var (
		mu    sync.Mutex
		notes []string
	)
	c := &kafkaDeadLetters{topic: "error.t.g", group: "g", notice: func(_ slog.Level, msg string) {
		mu.Lock()
		defer mu.Unlock()
		notes = append(notes, msg)
	}}
	c.m = &dlMember{cg: cg, lease: time.Minute, closed: make(chan struct{})}
	for i := range 2 {
		ctx, cancel := context.WithTimeout(context.Background(), joinNoticeAfter+time.Second)
		err := c.nextGeneration(ctx)
		cancel()
		if err == nil {
			t.Fatalf("join %d: joined a group on no broker", i)
		}
	}
	// nextGeneration has returned: a note fired was given.
	mu.Lock()
	defer mu.Unlock()
	if len(notes) != 1 || !strings.Contains(notes[0], "joining group g on error.t.g takes long") {
		t.Errorf("notes %q; want one, that joining takes long", notes)
	}
}
