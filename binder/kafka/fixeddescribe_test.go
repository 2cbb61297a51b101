package kafka_test

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/kafka/kafkatest"
	"github.com/streambind/streambind/stream"
)

// lockedLog is a log sink safe for the binder's goroutines.
type lockedLog struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// A fixed-assignment instance says which partitions it reads: the
// binding's description (the app's "binding bound" line) gives the rule,
// and the run logs the partitions at INFO, readable ("<topic>:1,3"), when
// it starts reading them. A new user of auto-rebalance-enabled: false
// found the same "binding bound" line on both instances and the
// partitions only at DEBUG, as a Go map with offset sentinels.
func TestFixedAssignmentSaysItsPartitions(t *testing.T) {
	t.Parallel()
	c := kafkatest.Start(t)
	b := newBinder(t, c, nil)
	closeBinder(t, b)
	dest := uniqueTopic(t)
	createTopic(t, c, dest, 4, nil)
	var logged lockedLog
	spec := fixedSpec(dest, 1, 2, func(context.Context, stream.Envelope) error { return nil })
	spec.Logger = slog.New(slog.NewTextHandler(&logged, nil))
	cons := bindStarted(t, b, spec)
	defer stopConsumer(t, cons)
	d, ok := cons.(stream.BindingDescriber)
	if !ok {
		t.Fatalf("%T is no stream.BindingDescriber", cons)
	}
	if got, want := d.DescribeBinding()["assignment"], "fixed: partitions p with p % 2 = 1"; got != want {
		t.Errorf("assignment %q, want %q", got, want)
	}
	want := `level=INFO msg="kafka: fixed assignment (auto-rebalance-enabled: false): reading these partitions" partitions=` + dest + `:1,3`
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(logged.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("no line %s in:\n%s", want, logged.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}
