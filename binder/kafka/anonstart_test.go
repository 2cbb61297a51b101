package kafka_test

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/streambind/streambind/binder/kafka/kafkatest"
)

// holdFirstJoin holds in kfake the first JoinGroup of a group whose id
// starts with prefix until the returned release is called (also at the
// test's end); held is closed when it is held.
func holdFirstJoin(t *testing.T, c *kafkatest.Cluster, prefix string) (held chan struct{}, release func()) {
	held = make(chan struct{})
	gate := make(chan struct{})
	var once atomic.Bool
	c.Kfake.ControlKey(int16(kmsg.JoinGroup), func(kr kmsg.Request) (kmsg.Response, error, bool) {
		c.Kfake.KeepControl()
		if !strings.HasPrefix(kr.(*kmsg.JoinGroupRequest).Group, prefix) || !once.CompareAndSwap(false, true) {
			return nil, nil, false
		}
		close(held)
		c.Kfake.SleepControl(func() { <-gate })
		return nil, nil, false
	})
	var o sync.Once
	release = func() { o.Do(func() { close(gate) }) }
	t.Cleanup(release)
	return held, release
}

// TestAnonymousConsumerGetsWhatIsSentAfterStart: an anonymous consumer
// (start-offset latest) gets every record sent after its Start returned,
// though its group's first assignment comes later — as a consumer on the
// other binders does (a RabbitMQ queue, a NATS consumer, a Redis group
// exist when Start returns). A broker delays a new group's first
// assignment by group.initial.rebalance.delay.ms (3s by default); before,
// the latest offset was read at the assignment, and what was sent in
// between was skipped. What was sent before Start is not delivered.
func TestAnonymousConsumerGetsWhatIsSentAfterStart(t *testing.T) {
	for _, tc := range []struct {
		name   string
		group  string
		offset string
	}{{"anonymous", "", ""}, {"named-start-offset-latest", "g", "latest"}} {
		t.Run(tc.name, func(t *testing.T) {
			c := kafkatest.Start(t)
			b := newBinder(t, c, nil)
			closeBinder(t, b)
			dest := uniqueTopic(t)
			p := bindProducer(t, b, dest, 2)
			ctx := context.Background()
			send := func(id string, part int) {
				t.Helper()
				if err := p.Send(ctx, toPartition(id, part)); err != nil {
					t.Fatal(err)
				}
			}
			send("before-0", 0)
			send("before-1", 1)
			prefix := tc.group
			if prefix == "" {
				prefix = "anonymous."
			}
			held, release := holdFirstJoin(t, c, prefix)
			tr := newTracker()
			spec := consumerSpec(dest, tc.group, tr.handler())
			if tc.offset != "" {
				spec.Extension = map[string]any{"start-offset": tc.offset}
			}
			startConsumer(t, b, spec)
			select {
			case <-held:
			case <-time.After(20 * time.Second):
				t.Fatal("the consumer did not join its group")
			}
			send("after-0", 0)
			send("after-1", 1)
			release()
			tr.waitReceived(t, 2, 20*time.Second)
			tr.mu.Lock()
			defer tr.mu.Unlock()
			if tr.got["after-0"] != 1 || tr.got["after-1"] != 1 || len(tr.got) != 2 {
				t.Fatalf("received %v; want after-0 and after-1 once each", tr.got)
			}
		})
	}
}
