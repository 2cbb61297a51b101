package rabbit

import (
	"context"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/streambind/streambind/binder/rabbit/rabbittest"
)

// TestWaitQueueDeletedBeforeKept: a wait queue refused for its durability
// (it exists durable, the binding asks for non-durable) and deleted before
// the declaration again (the migration, delete_queue --if-empty, at that
// moment) is declared as asked, non-durable, and not reported as kept: the
// declaration again finds it gone (passively) and declares the topology
// once more with the durability asked for. Before, the declaration again
// created it anew with the old durability, undoing the migration, and the
// WARN said it exists.
func TestWaitQueueDeletedBeforeKept(t *testing.T) {
	t.Parallel()
	vhost := rabbittest.VHost(t)
	b, _ := newTestBinder(t, map[string]any{"virtual-host": vhost})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dest := uniqueDest(t, "wqgone")
	q := dest + ".g"
	wq := RetryQueueName(q, 200*time.Millisecond)
	args := amqp.Table{"x-message-ttl": int64(200), "x-dead-letter-exchange": "", "x-dead-letter-routing-key": q}
	ch := rabbittest.Channel(t, vhost)
	defer ch.Close()
	if _, err := ch.QueueDeclare(wq, true, false, false, false, args); err != nil {
		t.Fatal(err)
	}
	top := topology{queues: []queueSpec{{name: wq, durable: false, keepDurability: true, args: args}}}
	calls := 0
	var kept []queueSpec
	err := top.declareKeeping(func(tt topology) error {
		calls++
		err := b.pubMgr.declare(ctx, tt)
		if calls == 1 {
			if durabilityRefusedQueue(tt, err) != wq {
				t.Fatalf("first declaration: %v, want refused for its durability", err)
			}
			if _, err := ch.QueueDelete(wq, false, true, false); err != nil {
				t.Fatalf("delete --if-empty: %v", err)
			}
		}
		return err
	}, func(q queueSpec) { kept = append(kept, q) })
	if err != nil {
		t.Fatalf("declare: %v", err)
	}
	if len(kept) > 0 {
		t.Errorf("reported kept with the other durability: %+v", kept)
	}
	if calls != 3 {
		t.Errorf("%d declarations, want 3 (refused, found gone, as asked)", calls)
	}
	// Non-durable now: declaring it so succeeds (durable, it would be
	// refused and close the channel).
	ch2 := rabbittest.Channel(t, vhost)
	defer ch2.Close()
	if _, err := ch2.QueueDeclare(wq, false, false, false, false, args); err != nil {
		t.Errorf("the wait queue is not declared non-durable as asked: %v", err)
	}
}

// durabilityRefusedQueue is the queue of t that err refused for its
// durability, or "".
func durabilityRefusedQueue(t topology, err error) string {
	if i := t.durabilityRefused(err); i >= 0 {
		return t.queues[i].name
	}
	return ""
}
