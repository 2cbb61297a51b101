package rabbit

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/streambind/streambind/binder/rabbit/rabbittest"
	"github.com/streambind/streambind/stream"
)

// TestDeadLetterKeepsHeaderTypes: a republished dead letter (republish-to-dlq,
// the default) carries the original's headers with their AMQP types, as
// SCSt's does, not as text: above all the broker's x-death array, in which
// it counts dead-letterings. In SCSt's retry loop (a DLQ with dlq-ttl and
// dlq-dead-letter-exchange "" sends the dead letter back to the queue
// when it expires) the count grew by one a pass; republished as text, the
// broker started it again at 1 every time, so a limit on the count never
// came. And a typed header of another client's message (an int) stays one.
func TestDeadLetterKeepsHeaderTypes(t *testing.T) {
	t.Parallel()
	vhost := rabbittest.VHost(t)
	_, tr := newTestBinder(t, map[string]any{"virtual-host": vhost})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	ch := rabbittest.Channel(t, vhost)
	start := func(dest string, ext map[string]any, h stream.Handler) {
		t.Helper()
		c, err := tr.BindConsumer(ctx, stream.ConsumerSpec{Binding: "dlt-in-0", Destination: dest, Group: "g",
			Consumer: stream.ConsumerConfig{DLQ: true}, Extension: ext, Handler: h})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Stop(context.Background()) })
		if err := c.Start(ctx); err != nil {
			t.Fatal(err)
		}
	}

	// The retry loop: the x-death count the handler sees rises.
	dest := uniqueDest(t, "xdeath")
	seen := make(chan string, 8)
	start(dest, map[string]any{"dlq-ttl": 50, "dlq-dead-letter-exchange": ""}, func(_ context.Context, m stream.Envelope) error {
		seen <- m.Headers["x-death"]
		if strings.Contains(m.Headers["x-death"], "count:3") {
			return nil
		}
		return errors.New("not yet")
	})
	if err := ch.PublishWithContext(ctx, dest, "", false, false, amqp.Publishing{Body: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 4; i++ {
		select {
		case h := <-seen:
			if i > 1 && !strings.Contains(h, "count:"+strconv.Itoa(i-1)) {
				t.Fatalf("delivery %d: x-death %s, want count:%d (the dead letter's x-death array kept, the broker counting on)", i, h, i-1)
			}
		case <-ctx.Done():
			t.Fatalf("delivery %d did not come", i)
		}
	}

	// Another client's typed headers, in the DLQ as they were sent.
	dest = uniqueDest(t, "types")
	start(dest, nil, func(context.Context, stream.Envelope) error { return errors.New("poison") })
	sent := amqp.Table{"n": int32(7), "big": int64(1) << 40, "ok": true, "s": "text"}
	if err := ch.PublishWithContext(ctx, dest, "", false, false, amqp.Publishing{Headers: sent, Body: []byte("y")}); err != nil {
		t.Fatal(err)
	}
	var dl amqp.Delivery
	for {
		d, ok, err := ch.Get(dest+".g.dlq", true)
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			dl = d
			break
		}
		if ctx.Err() != nil {
			t.Fatal("no dead letter")
		}
		time.Sleep(20 * time.Millisecond) // polling the DLQ
	}
	for k, v := range sent {
		if dl.Headers[k] != v {
			t.Errorf("dead letter header %s = %#v (%T), want %#v (%T)", k, dl.Headers[k], dl.Headers[k], v, v)
		}
	}
	if dl.Headers[stream.HeaderExceptionMessage] != "poison" {
		t.Errorf("x-exception-message = %v", dl.Headers[stream.HeaderExceptionMessage])
	}
}

// TestDeadLetterWaitQueueEntriesDropped: with retry-delays the dead letter
// keeps its x-death array without the wait queues' entries: a delivery
// whose latest entry is a wait queue's is marked a retry (markRetry), and
// a dead letter moved back to the queue as it is (a shovel, the management
// UI's "move messages") is a new message, with every retry again (as
// while x-death went out as text). The handler here does the core's part:
// a first delivery is parked for a delay, a retry fails for good.
func TestDeadLetterWaitQueueEntriesDropped(t *testing.T) {
	t.Parallel()
	vhost := rabbittest.VHost(t)
	_, tr := newTestBinder(t, map[string]any{"virtual-host": vhost})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	ch := rabbittest.Channel(t, vhost)
	const delay = 50 * time.Millisecond
	dest := uniqueDest(t, "waitq")
	marked := make(chan bool, 16)
	c, err := tr.BindConsumer(ctx, stream.ConsumerSpec{Binding: "wq-in-0", Destination: dest, Group: "g",
		Consumer: stream.ConsumerConfig{DLQ: true, RetryDelays: []time.Duration{delay}},
		Handler: func(_ context.Context, m stream.Envelope) error {
			retry := m.Headers["x-streambind-retry-delivery"] != ""
			marked <- retry
			if !retry {
				return &stream.DelayedRetry{Err: errors.New("poison"), Delay: delay, Headers: m.Headers.Clone()}
			}
			return errors.New("poison")
		}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop(context.Background())
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	dlq := func() amqp.Delivery {
		t.Helper()
		for {
			d, ok, err := ch.Get(dest+".g.dlq", true)
			if err != nil {
				t.Fatal(err)
			}
			if ok {
				return d
			}
			if ctx.Err() != nil {
				t.Fatal("no dead letter")
			}
			time.Sleep(20 * time.Millisecond) // polling the DLQ
		}
	}
	calls := func() (got []bool) {
		for {
			select {
			case m := <-marked:
				got = append(got, m)
			default:
				return got
			}
		}
	}
	if err := ch.PublishWithContext(ctx, dest, "", false, false, amqp.Publishing{Body: []byte("m")}); err != nil {
		t.Fatal(err)
	}
	d := dlq()
	if got := calls(); len(got) != 2 || got[0] || !got[1] {
		t.Fatalf("handler calls (marked a retry?) %v, want [false true]", got)
	}
	xs, _ := d.Headers["x-death"].([]any)
	for _, x := range xs {
		if q, _ := x.(amqp.Table)["queue"].(string); strings.Contains(q, ".retry.") {
			t.Errorf("dead letter x-death has the wait queue's entry: %v", x)
		}
	}
	// Moved back as it is: a new message, parked again.
	if err := ch.PublishWithContext(ctx, dest, "", false, false, amqp.Publishing{Headers: d.Headers, Body: d.Body}); err != nil {
		t.Fatal(err)
	}
	dlq()
	if got := calls(); len(got) != 2 || got[0] || !got[1] {
		t.Fatalf("the dead letter moved back: handler calls (marked a retry?) %v, want [false true]", got)
	}
}

// TestDeadLetteredAtLater: a dead letter's time is the later of its latest
// x-death entry's and its x-streambind-dead-lettered-at header (without
// it, its timestamp): a republished one carries the x-death entries of
// earlier dead-letterings and the time it was republished (in the header;
// before 2026-12-07 as its timestamp); one the broker dead-lettered, the
// timestamp its producer gave it and the time of the broker's entry.
func TestDeadLetteredAtLater(t *testing.T) {
	early, late := time.Unix(1000, 0), time.Unix(2000, 0)
	xd := func(at time.Time) amqp.Table { return amqp.Table{"x-death": []any{amqp.Table{"time": at}}} }
	for _, tc := range []struct {
		d    amqp.Delivery
		want time.Time
	}{
		{amqp.Delivery{Headers: xd(early), Timestamp: late}, late}, // republished
		{amqp.Delivery{Headers: xd(late), Timestamp: early}, late}, // by the broker
		{amqp.Delivery{Headers: xd(late)}, late},
		{amqp.Delivery{Timestamp: early}, early},
		{amqp.Delivery{}, time.Time{}},
		// Republished since 2026-12-07: the header, not the original's
		// timestamp kept; the broker's later entry when it dead-lettered
		// a dead letter moved back as it was.
		{amqp.Delivery{Headers: amqp.Table{headerDeadLetteredAt: "1500000"}, Timestamp: late}, time.UnixMilli(1500000)},
		{amqp.Delivery{Headers: amqp.Table{headerDeadLetteredAt: "1500000", "x-death": []any{amqp.Table{"time": late}}}}, late},
		{amqp.Delivery{Headers: amqp.Table{headerDeadLetteredAt: "bad"}, Timestamp: early}, early},
	} {
		if got := deadLetteredAt(&tc.d); !got.Equal(tc.want) {
			t.Errorf("%v / %v: %v, want %v", tc.d.Headers, tc.d.Timestamp, got, tc.want)
		}
	}
}
