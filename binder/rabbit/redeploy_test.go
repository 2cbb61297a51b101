package rabbit

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/streambind/streambind/stream"
)

// A group's consumers made partitioned between two deployments bind the
// queues <destination>.<group>-<i>; the group's queue of before,
// <destination>.<group>, stays bound to the destination with "#" and keeps
// every message, read by no one, growing without bound (seen: all 4 messages
// sent after the redeploy stayed in it, with no log line). The partitioned
// bind says so with a WARN naming the queue; with no such queue, none.
func TestPartitionedBindWarnsOfUnpartitionedQueue(t *testing.T) {
	_, tr := newTestBinder(t, nil)
	dest := uniqueDest(t, "repart")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	h := func(context.Context, stream.Envelope) error { return nil }
	bind := func(cc stream.ConsumerConfig) string {
		t.Helper()
		var mu sync.Mutex
		var buf bytes.Buffer
		c, err := tr.BindConsumer(ctx, stream.ConsumerSpec{Binding: "in-0", Destination: dest, Group: "g", Handler: h, Consumer: cc, Logger: newLockedLogger(&buf, &mu)})
		if err != nil {
			t.Fatal(err)
		}
		_ = c.Stop(ctx)
		mu.Lock()
		defer mu.Unlock()
		return buf.String()
	}
	part := stream.ConsumerConfig{Concurrency: 1, MaxAttempts: 1, Partitioned: true, InstanceIndex: 0, InstanceCount: 2}
	if log := bind(part); strings.Contains(log, "unpartitioned queue") {
		t.Fatalf("warned with no unpartitioned queue: %s", log)
	}
	bind(stream.ConsumerConfig{Concurrency: 1, MaxAttempts: 1, InstanceCount: 1})
	log := bind(part)
	t.Logf("%s", log)
	if !strings.Contains(log, "level=WARN") || !strings.Contains(log, "unpartitioned queue") || !strings.Contains(log, "queue="+dest+".g ") {
		t.Fatalf("no WARN naming queue %s.g: %s", dest, log)
	}
}
