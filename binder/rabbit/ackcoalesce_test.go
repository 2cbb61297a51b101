package rabbit

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/streambind/streambind/binder/rabbit/rabbittest"
	"github.com/streambind/streambind/stream"
)

// fillQueue declares topic exchange dest bound to queue dest.g in vhost
// and publishes n messages (x-id 0..n-1) with confirms.
func fillQueue(t *testing.T, vhost, dest string, n int) {
	t.Helper()
	conn, err := amqp.Dial(rabbittest.VHostURL(vhost))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	if err := ch.ExchangeDeclare(dest, "topic", true, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := ch.QueueDeclare(dest+".g", true, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	if err := ch.QueueBind(dest+".g", "#", dest, false, nil); err != nil {
		t.Fatal(err)
	}
	if err := ch.Confirm(false); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		dc, err := ch.PublishWithDeferredConfirm(dest, dest, true, false, amqp.Publishing{Body: []byte("m"),
			DeliveryMode: amqp.Persistent, ContentType: "text/plain", Headers: amqp.Table{"x-id": strconv.Itoa(i)}})
		if err != nil {
			t.Fatal(err)
		}
		if !dc.Wait() {
			t.Fatal("nacked")
		}
	}
}

// unacked is the queue's messages_unacknowledged count in vhost.
func unacked(t *testing.T, vhost, queue string) int {
	t.Helper()
	for _, line := range strings.Split(rabbittest.Ctl(t, "-s", "list_queues", "-p", vhost, "name", "messages_unacknowledged"), "\n") {
		if f := strings.Fields(line); len(f) == 2 && f[0] == queue {
			n, err := strconv.Atoi(f[1])
			if err != nil {
				t.Fatalf("list_queues: %q", line)
			}
			return n
		}
	}
	t.Fatalf("queue %s not listed", queue)
	return 0
}

// TestCoalescedAcksSettleInOrder: with one worker and a pre-filled queue
// the acks are coalesced into multiple acks; a message Nak'ed in between
// is still redelivered (a multiple ack never covers it: that would make
// its nack fail and close the channel, redelivering everything), and every
// other message is handled exactly once with nothing left in the queue.
func TestCoalescedAcksSettleInOrder(t *testing.T) {
	t.Parallel()
	vh := rabbittest.VHost(t)
	const n = 300
	dest := "coalesce"
	fillQueue(t, vh, dest, n)
	_, tr := newTestBinder(t, map[string]any{"virtual-host": vh})
	var mu sync.Mutex
	calls := map[string]int{}
	done := make(chan struct{})
	handled := 0
	c, err := tr.BindConsumer(context.Background(), stream.ConsumerSpec{Binding: "c-in-0", Destination: dest, Group: "g",
		ContentType: "text/plain", Extension: map[string]any{"redelivery-delay": "10ms"},
		Handler: func(_ context.Context, m stream.Envelope) error {
			id := m.Headers["x-id"]
			mu.Lock()
			defer mu.Unlock()
			calls[id]++
			if (id == "57" || id == "58" || id == "200") && calls[id] == 1 {
				return stream.ErrNak
			}
			if handled++; handled == n {
				close(done)
			}
			return nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatalf("handled %d of %d in 30s", handled, n)
	}
	if err := c.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	for i := range n {
		id := strconv.Itoa(i)
		want := 1
		if id == "57" || id == "58" || id == "200" {
			want = 2
		}
		if calls[id] != want {
			t.Errorf("message %s handled %d times, want %d", id, calls[id], want)
		}
	}
	mu.Unlock()
	if got := c.(*consumer).staleAcks.Load(); got != 0 {
		t.Errorf("%d acks dropped as stale: the consuming channel was lost", got)
	}
	if q := unacked(t, vh, dest+".g"); q != 0 {
		t.Errorf("%d messages unacknowledged after Stop", q)
	}
	conn, err := amqp.Dial(rabbittest.VHostURL(vh))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ch, _ := conn.Channel()
	q, err := ch.QueueDeclarePassive(dest+".g", true, false, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if q.Messages != 0 {
		t.Errorf("%d messages left in the queue, want 0", q.Messages)
	}
}

// TestCoalescedAcksSentOnPause: when Pause returns, every message handled
// so far is acked (no ack is held by the paused worker); the prefetched
// rest stays unacked.
func TestCoalescedAcksSentOnPause(t *testing.T) {
	t.Parallel()
	vh := rabbittest.VHost(t)
	const n, stopAt = 60, 40 // n below prefetch: all are delivered at once
	dest := "coalesce-pause"
	fillQueue(t, vh, dest, n)
	_, tr := newTestBinder(t, map[string]any{"virtual-host": vh})
	reached, release := make(chan struct{}), make(chan struct{})
	var mu sync.Mutex
	handled := 0
	c, err := tr.BindConsumer(context.Background(), stream.ConsumerSpec{Binding: "c-in-0", Destination: dest, Group: "g",
		ContentType: "text/plain",
		Handler: func(context.Context, stream.Envelope) error {
			mu.Lock()
			handled++
			k := handled
			mu.Unlock()
			if k == stopAt {
				close(reached)
				<-release
			}
			return nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	select {
	case <-reached:
	case <-time.After(30 * time.Second):
		t.Fatal("message 40 not handled in 30s")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	paused := make(chan error, 1)
	go func() { paused <- c.Pause(ctx) }()
	// Release the handler only once Pause has marked the run paused.
	r := c.(*consumer).latest.Load()
	for {
		r.mu.Lock()
		p := r.paused
		r.mu.Unlock()
		if p {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatal("Pause did not take effect")
		case <-time.After(time.Millisecond):
		}
	}
	close(release)
	if err := <-paused; err != nil {
		t.Fatal(err)
	}
	// The acks are settled by the broker asynchronously: poll, bounded.
	want := n - stopAt
	got := unacked(t, vh, dest+".g")
	for got != want && ctx.Err() == nil {
		time.Sleep(20 * time.Millisecond)
		got = unacked(t, vh, dest+".g")
	}
	if got != want {
		t.Fatalf("after Pause %d messages unacknowledged, want %d (the %d handled acked)", got, want, stopAt)
	}
	if err := c.Resume(context.Background()); err != nil {
		t.Fatal(err)
	}
}
