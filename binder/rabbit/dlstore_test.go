package rabbit

import (
	"context"
	"errors"
	"io"
	"strconv"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/streambind/streambind/binder/rabbit/rabbittest"
	"github.com/streambind/streambind/stream"
)

// dlqFixture declares <dest>.g.dlq in vhost with n messages and returns
// the spec of its binding and a function counting the queue's ready
// messages.
func dlqFixture(t *testing.T, vhost string, n int) (stream.ConsumerSpec, func() int) {
	t.Helper()
	dest := uniqueDest(t, "dlstore")
	q := dest + ".g.dlq"
	conn, err := amqp.Dial(rabbittest.VHostURL(vhost))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ch.QueueDeclare(q, true, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if err := ch.Publish("", q, false, false, amqp.Publishing{Body: []byte(strconv.Itoa(i))}); err != nil {
			t.Fatal(err)
		}
	}
	ready := func() int {
		st, err := ch.QueueDeclarePassive(q, true, false, false, false, nil)
		if err != nil {
			t.Fatal(err)
		}
		return st.Messages
	}
	awaitReady(t, ready, n, 10*time.Second, "ready in queue "+q)
	return stream.ConsumerSpec{Binding: "x-in-0", Destination: dest, Group: "g"}, ready
}

// TestDeadLettersCancelThenClose: cancelling the command's context while
// reading must not hang Close (amqp091-go's cancel-on-ctx raced the
// channel close), and the dead letters go back to the queue.
func TestDeadLettersCancelThenClose(t *testing.T) {
	t.Parallel()
	vhost := rabbittest.VHost(t)
	b, _ := newTestBinder(t, map[string]any{"virtual-host": vhost})
	spec, ready := dlqFixture(t, vhost, 5)
	for round := range 3 {
		ctx, cancel := context.WithCancel(context.Background())
		dl, err := b.OpenDeadLetters(ctx, spec, stream.DeadLetterOpen{})
		if err != nil {
			t.Fatal(err)
		}
		for range 2 {
			if _, err := dl.Next(ctx); err != nil {
				t.Fatal(err)
			}
		}
		cancel()
		if _, err := dl.Next(ctx); !errors.Is(err, context.Canceled) {
			t.Fatalf("Next after cancel: %v", err)
		}
		closed := make(chan error, 1)
		go func() { closed <- dl.Close(ctx) }()
		select {
		case err := <-closed:
			if err != nil {
				t.Fatalf("round %d: Close: %v", round, err)
			}
		case <-time.After(8 * time.Second):
			t.Fatalf("round %d: Close hung after the context was cancelled", round)
		}
		deadline := time.Now().Add(10 * time.Second)
		for ready() != 5 {
			if time.Now().After(deadline) {
				t.Fatalf("round %d: %d dead letters back in the queue, want 5", round, ready())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// TestDeadLettersGoneMeanwhile: when fewer dead letters arrive than the
// queue held at open (they left it meanwhile), the cursor ends after its
// idle wait instead of waiting forever.
func TestDeadLettersGoneMeanwhile(t *testing.T) {
	t.Parallel()
	vhost := rabbittest.VHost(t)
	b, _ := newTestBinder(t, map[string]any{"virtual-host": vhost})
	spec, _ := dlqFixture(t, vhost, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dl, err := b.OpenDeadLetters(ctx, spec, stream.DeadLetterOpen{})
	if err != nil {
		t.Fatal(err)
	}
	defer dl.Close(context.Background())
	// Two more than the queue holds: as if they had left it between the
	// count at open and the consume.
	dl.(*rabbitDeadLetters).total += 2
	n := 0
	start := time.Now()
	for {
		_, err := dl.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("after %d: %v", n, err)
		}
		n++
	}
	if n != 3 {
		t.Fatalf("read %d dead letters, want 3", n)
	}
	if el := time.Since(start); el > dlqIdle+5*time.Second {
		t.Fatalf("the cursor took %s to end", el)
	}
	if _, err := dl.Next(ctx); !errors.Is(err, io.EOF) {
		t.Fatalf("Next after the end: %v", err)
	}
}

// TestDLQDeadLetterExchangeEmpty: dlq-dead-letter-exchange: "" (or the
// key with no value) given explicitly declares the DLQ with x-dead-letter-exchange "" (SCSt's
// retry-via-DLQ-TTL pattern); not given, the DLQ has no such argument.
func TestDLQDeadLetterExchangeEmpty(t *testing.T) {
	for _, tc := range []struct {
		ext  map[string]any
		want bool
	}{
		{map[string]any{"dlq-ttl": 1000, "dlq-dead-letter-exchange": ""}, true},
		// As SCSt's docs write the pattern in YAML: the key with no value.
		{map[string]any{"dlq-ttl": 1000, "dlq-dead-letter-exchange": nil}, true},
		{map[string]any{"dlq-ttl": 1000}, false},
	} {
		spec := stream.ConsumerSpec{Binding: "x-in-0", Destination: "d", Group: "g", Extension: tc.ext}
		dq, err := consumerDLQ(spec)
		if err != nil {
			t.Fatal(err)
		}
		v, ok := dq.args["x-dead-letter-exchange"]
		if ok != tc.want || (ok && v != "") {
			t.Errorf("%v: x-dead-letter-exchange = %v (present %v), want present %v", tc.ext, v, ok, tc.want)
		}
	}
}

// awaitReady waits, up to within, for the queue that ready counts to hold
// want messages ready (a count the broker gives on request: nothing to
// wait on but the count itself), and fails the test naming what otherwise.
func awaitReady(t *testing.T, ready func() int, want int, within time.Duration, what string) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		got := ready()
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d in the queue after %s; want %d (%s)", got, within, want, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
