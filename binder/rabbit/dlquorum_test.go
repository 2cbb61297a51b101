package rabbit

import (
	"context"
	"errors"
	"io"
	"reflect"
	"sort"
	"strconv"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/streambind/streambind/binder/rabbit/rabbittest"
	"github.com/streambind/streambind/stream"
)

// quorumDLQFixture declares <dest>.g.dlq in vhost as a quorum queue with
// x-delivery-limit limit and publishes n dead letters to it with typed
// headers and properties; it returns the binding's spec (ext its rabbit
// extension) and a channel on the vhost.
func quorumDLQFixture(t *testing.T, vhost string, limit int32, n int, ext map[string]any) (stream.ConsumerSpec, *amqp.Channel) {
	t.Helper()
	dest := uniqueDest(t, "dlquorum")
	q := dest + ".g.dlq"
	ch := rabbittest.Channel(t, vhost)
	if _, err := ch.QueueDeclare(q, true, false, false, false, amqp.Table{"x-queue-type": "quorum", "x-delivery-limit": limit}); err != nil {
		t.Fatal(err)
	}
	if err := ch.Confirm(false); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		c, err := ch.PublishWithDeferredConfirm("", q, false, false, quorumDL(i))
		if err != nil {
			t.Fatal(err)
		}
		if !c.Wait() {
			t.Fatal("publish nacked")
		}
	}
	return stream.ConsumerSpec{Binding: "x-in-0", Destination: dest, Group: "g", Extension: ext}, ch
}

// waitReady waits until q has n ready messages: what a closed cursor gives
// back reaches the queue after Close returns.
func waitReady(t *testing.T, ch *amqp.Channel, q string, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, err := ch.QueueDeclarePassive(q, true, false, false, false, nil)
		if err != nil {
			t.Fatal(err)
		}
		if st.Messages == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("queue %s: %d ready, want %d", q, st.Messages, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// quorumDL is the fixture's dead letter i: typed headers (the source
// queue's stale x-delivery-count among them) and properties.
func quorumDL(i int) amqp.Publishing {
	return amqp.Publishing{
		Headers: amqp.Table{"n": int32(i), "big": int64(1) << 40, "ok": true, "s": "text", "f": 1.5,
			"x-death": []any{amqp.Table{"count": int64(1), "queue": "q", "reason": "rejected"}}, "x-delivery-count": int64(5)},
		ContentType: "application/json", ContentEncoding: "identity", DeliveryMode: amqp.Persistent,
		CorrelationId: "corr-" + strconv.Itoa(i), ReplyTo: "r", MessageId: "id-" + strconv.Itoa(i),
		Timestamp: time.Unix(1700000000+int64(i), 0), Type: "t", AppId: "app", Body: []byte(strconv.Itoa(i)),
	}
}

// drainQuorum takes every message of q (acknowledging it) and checks it
// is one of the fixture's, unchanged but for the broker's count.
func drainQuorum(t *testing.T, ch *amqp.Channel, q string) []string {
	t.Helper()
	var bodies []string
	for {
		d, ok, err := ch.Get(q, true)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			break
		}
		i, err := strconv.Atoi(string(d.Body))
		if err != nil {
			t.Fatalf("body %q", d.Body)
		}
		bodies = append(bodies, string(d.Body))
		want := quorumDL(i)
		got := amqp.Publishing{Headers: d.Headers, ContentType: d.ContentType, ContentEncoding: d.ContentEncoding,
			DeliveryMode: d.DeliveryMode, CorrelationId: d.CorrelationId, ReplyTo: d.ReplyTo, MessageId: d.MessageId,
			Timestamp: d.Timestamp, Type: d.Type, AppId: d.AppId, Body: d.Body}
		if _, counted := got.Headers["x-delivery-count"]; counted {
			// The original (not copied yet): its count is the broker's.
			delete(got.Headers, "x-delivery-count")
			delete(want.Headers, "x-delivery-count")
		} else {
			// A copy has none: the broker starts it at 0.
			delete(want.Headers, "x-delivery-count")
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("dead letter %d changed:\n got %#v\nwant %#v", i, got, want)
		}
	}
	sort.Strings(bodies)
	return bodies
}

// TestListingQuorumDLQKeepsDeadLetters: reading a quorum DLQ with a
// delivery limit (dlq-quorum.delivery-limit, SCSt's dlqQuorum.deliveryLimit)
// never loses a dead letter. The cursor reads by consuming, and what it
// gives back on Close RabbitMQ 3.10 counts as a delivery: with limit 2,
// three listings dropped every dead letter. Some rounds read one dead
// letter of three, so that the two the broker sent ahead unread are
// counted too.
func TestListingQuorumDLQKeepsDeadLetters(t *testing.T) {
	t.Parallel()
	vhost := rabbittest.VHost(t)
	b, _ := newTestBinder(t, map[string]any{"virtual-host": vhost})
	ext := map[string]any{"dlq-quorum": map[string]any{"enabled": true, "delivery-limit": 2}}
	spec, ch := quorumDLQFixture(t, vhost, 2, 3, ext)
	q := spec.Destination + ".g.dlq"
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for round := range 7 {
		dl, err := b.OpenDeadLetters(ctx, spec, stream.DeadLetterOpen{})
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		read := 3
		if round%2 == 1 {
			read = 1
		}
		for i := range read {
			if _, err := dl.Next(ctx); err != nil {
				t.Fatalf("round %d: Next %d: %v", round, i, err)
			}
		}
		if read == 3 {
			if _, err := dl.Next(ctx); !errors.Is(err, io.EOF) {
				t.Fatalf("round %d: after 3: %v", round, err)
			}
		}
		if err := dl.Close(ctx); err != nil {
			t.Fatalf("round %d: Close: %v", round, err)
		}
		waitReady(t, ch, q, 3)
	}
	if got := drainQuorum(t, ch, q); !reflect.DeepEqual(got, []string{"0", "1", "2"}) {
		t.Fatalf("after 7 listings the DLQ holds %v, want [0 1 2]", got)
	}
}

// TestListingQuorumDLQDefaultLimit: a quorum DLQ whose limit the binding
// does not configure (a policy's, RabbitMQ 4.0's default of 20) is read
// as if its limit were 20: here the queue has 20, and 22 listings keep
// the dead letter.
func TestListingQuorumDLQDefaultLimit(t *testing.T) {
	t.Parallel()
	vhost := rabbittest.VHost(t)
	b, _ := newTestBinder(t, map[string]any{"virtual-host": vhost})
	spec, ch := quorumDLQFixture(t, vhost, defaultDeliveryLimit, 1, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for round := range defaultDeliveryLimit + 2 {
		dl, err := b.OpenDeadLetters(ctx, spec, stream.DeadLetterOpen{})
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		if _, err := dl.Next(ctx); err != nil {
			t.Fatalf("round %d: Next: %v", round, err)
		}
		if err := dl.Close(ctx); err != nil {
			t.Fatalf("round %d: Close: %v", round, err)
		}
		waitReady(t, ch, spec.Destination+".g.dlq", 1)
	}
	if got := drainQuorum(t, ch, spec.Destination+".g.dlq"); !reflect.DeepEqual(got, []string{"0"}) {
		t.Fatalf("after %d listings the DLQ holds %v, want [0]", defaultDeliveryLimit+2, got)
	}
}

// TestDeliveryCountAtLimit: the count the cursor reads from a delivery.
func TestDeliveryCountAtLimit(t *testing.T) {
	c := &rabbitDeadLetters{limit: 2}
	for _, tc := range []struct {
		h    amqp.Table
		want bool
	}{
		{nil, false},
		{amqp.Table{"x-delivery-count": int64(1)}, false},
		{amqp.Table{"x-delivery-count": int64(2)}, true},
		{amqp.Table{"x-delivery-count": int32(3)}, true},
		{amqp.Table{"x-delivery-count": int64(0), "x-acquired-count": int64(2)}, true},
		{amqp.Table{"x-delivery-count": "2"}, false},
	} {
		if got := c.atLimit(&amqp.Delivery{Headers: tc.h}); got != tc.want {
			t.Errorf("%v: atLimit %v, want %v", tc.h, got, tc.want)
		}
	}
	if got := dlqDeliveryLimit(nil); got != defaultDeliveryLimit {
		t.Errorf("no x-delivery-limit: %d, want %d", got, defaultDeliveryLimit)
	}
	dq, err := consumerDLQ(stream.ConsumerSpec{Binding: "x-in-0", Destination: "d", Group: "g",
		Extension: map[string]any{"dlq-quorum": map[string]any{"enabled": true, "delivery-limit": 0}}})
	if err != nil {
		t.Fatal(err)
	}
	if got := dlqDeliveryLimit(dq.args); got != 0 {
		t.Errorf("dlq-quorum.delivery-limit 0: %d", got)
	}
}
