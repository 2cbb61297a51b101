package rabbit

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/streambind/streambind/binder/rabbit/rabbittest"
	"github.com/streambind/streambind/stream"
)

// asyncResults collects SendAsync results by message index.
type asyncResults struct {
	mu   sync.Mutex
	errs map[int]error
	all  chan struct{}
	n    int
	// outstanding: SendAsyncs returned whose done was not called yet.
	started, finished atomic.Int64
}

func newAsyncResults(n int) *asyncResults {
	return &asyncResults{errs: map[int]error{}, all: make(chan struct{}), n: n}
}

func (r *asyncResults) done(i int) func(error) {
	return func(err error) {
		r.finished.Add(1)
		r.mu.Lock()
		defer r.mu.Unlock()
		if _, dup := r.errs[i]; dup {
			panic("done called twice for message " + strconv.Itoa(i))
		}
		r.errs[i] = err
		if len(r.errs) == r.n {
			close(r.all)
		}
	}
}

func (r *asyncResults) wait(t *testing.T, d time.Duration) map[int]error {
	t.Helper()
	select {
	case <-r.all:
	case <-time.After(d):
		r.mu.Lock()
		defer r.mu.Unlock()
		t.Fatalf("%d of %d SendAsync results in %s", len(r.errs), r.n, d)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.errs
}

// TestSendAsyncResults: SendAsync's done gets what Send returns — nil for
// a confirmed message, ErrUnroutable for a returned one (matched to its
// own publish among many in flight), a permanent ErrTooLarge, ErrClosed
// after Close — and one goroutine's messages arrive in its order; a
// caller never has more than confirm-window results outstanding, and
// uses more than one of them.
func TestSendAsyncResults(t *testing.T) {
	const window = 16
	b, tr := newTestBinder(t, map[string]any{"confirm-window": window, "max-message-size": 4096})
	dest := uniqueDest(t, "sendasync")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var mu sync.Mutex
	var got []string
	c, err := tr.BindConsumer(ctx, stream.ConsumerSpec{Binding: "a-in-0", Destination: dest, Group: "g",
		Extension: map[string]any{"binding-routing-key": "ok"},
		Handler: func(_ context.Context, m stream.Envelope) error {
			mu.Lock()
			got = append(got, string(m.Payload))
			mu.Unlock()
			return nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop(context.Background())
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	sp, err := tr.BindProducer(ctx, stream.ProducerSpec{Binding: "a-out-0", Destination: dest,
		Extension: map[string]any{"routing-key-expression": "headers['rk']"}})
	if err != nil {
		t.Fatal(err)
	}
	p := sp.(stream.AsyncProducer)

	// The same error as Send for an unroutable message.
	unroutable := stream.Envelope{Payload: []byte("u"), Headers: stream.Headers{"rk": "none"}}
	sendErr := p.Send(ctx, unroutable)
	one := newAsyncResults(1)
	p.SendAsync(ctx, unroutable, one.done(0))
	if asyncErr := one.wait(t, 10*time.Second)[0]; !errors.Is(asyncErr, ErrUnroutable) || asyncErr.Error() != sendErr.Error() {
		t.Fatalf("SendAsync: %v; Send: %v (want the same, ErrUnroutable)", asyncErr, sendErr)
	}

	// Many in flight, every 7th unroutable, every 50th too large.
	const n = 1000
	res := newAsyncResults(n)
	var want []string
	maxOut := int64(0)
	for i := range n {
		m := stream.Envelope{Payload: []byte("m-" + strconv.Itoa(i)), Headers: stream.Headers{"rk": "ok"}}
		switch {
		case i%50 == 49:
			m.Payload = []byte(strings.Repeat("x", 5000))
		case i%7 == 3:
			m.Headers["rk"] = "none"
		default:
			want = append(want, string(m.Payload))
		}
		res.started.Add(1)
		p.SendAsync(ctx, m, res.done(i))
		if o := res.started.Load() - res.finished.Load(); o > maxOut {
			maxOut = o
		}
	}
	errs := res.wait(t, 30*time.Second)
	for i := range n {
		err := errs[i]
		switch {
		case i%50 == 49:
			if !errors.Is(err, ErrTooLarge) || !stream.IsPermanent(err) {
				t.Errorf("message %d (too large): %v, want a permanent ErrTooLarge", i, err)
			}
		case i%7 == 3:
			if !errors.Is(err, ErrUnroutable) {
				t.Errorf("message %d (unroutable): %v, want ErrUnroutable", i, err)
			}
		case err != nil:
			t.Errorf("message %d: %v", i, err)
		}
	}
	t.Logf("most results outstanding after a SendAsync returned: %d (confirm-window %d)", maxOut, window)
	if maxOut > window || maxOut < 2 {
		t.Errorf("%d results outstanding; want 2 to confirm-window (%d)", maxOut, window)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		mu.Lock()
		k := len(got)
		mu.Unlock()
		if k >= len(want) || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond) // the consumer's deliveries
	}
	mu.Lock()
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("received %d messages, want %d in send order", len(got), len(want))
	}
	mu.Unlock()
	// resolve counts an entry off just after calling its done, so the last
	// one may still be counted for a moment after every done returned.
	for q := b.pub.lanes[0].qn.Load(); q != 0; q = b.pub.lanes[0].qn.Load() {
		if time.Now().After(deadline) {
			t.Errorf("%d publishes still queued on the lane after every done", q)
			break
		}
		time.Sleep(time.Millisecond)
	}

	if err := sp.Close(ctx); err != nil {
		t.Fatal(err)
	}
	closed := newAsyncResults(1)
	p.SendAsync(ctx, stream.Envelope{Payload: []byte("late"), Headers: stream.Headers{"rk": "ok"}}, closed.done(0))
	if err := closed.wait(t, time.Second)[0]; !errors.Is(err, stream.ErrClosed) {
		t.Errorf("SendAsync after Close: %v, want ErrClosed", err)
	}
}

// TestSendAsyncRecovers: the publisher's connection is closed (twice)
// while one goroutine SendAsyncs, and the output exchange is deleted once:
// every done gets nil (unconfirmed messages are published again, the
// exchange declared again, as Send does) and every message arrives.
func TestSendAsyncRecovers(t *testing.T) {
	t.Parallel()
	vhost := rabbittest.VHost(t)
	b, tr := newTestBinder(t, map[string]any{"virtual-host": vhost})
	dest := uniqueDest(t, "sendasync-recover")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	got := newIDSet()
	c, err := tr.BindConsumer(ctx, stream.ConsumerSpec{Binding: "r-in-0", Destination: dest, Group: "g",
		Handler: func(_ context.Context, m stream.Envelope) error { got.add(string(m.Payload)); return nil }})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop(context.Background())
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	sp, err := tr.BindProducer(ctx, stream.ProducerSpec{Binding: "r-out-0", Destination: dest})
	if err != nil {
		t.Fatal(err)
	}
	p := sp.(stream.AsyncProducer)
	admin, err := amqp.Dial(rabbittest.VHostURL(vhost))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()

	const n = 6000
	res := newAsyncResults(n)
	var sent []string
	for i := range n {
		switch i {
		case n / 4, n / 2:
			b.pubMgr.forceClose()
		case 3 * n / 4:
			ch, err := admin.Channel()
			if err != nil {
				t.Fatal(err)
			}
			if err := ch.ExchangeDelete(dest, false, false); err != nil {
				t.Fatal(err)
			}
			_ = ch.Close()
		}
		id := "m-" + strconv.Itoa(i)
		sent = append(sent, id)
		p.SendAsync(ctx, stream.Envelope{Payload: []byte(id)}, res.done(i))
	}
	// A message published between the exchange's declaration again and
	// the binding again of its queue (rebindConsumers) is unroutable: Send
	// fails it too (the core retries it). Pipelined, hundreds are
	// published in that window.
	var confirmed []string
	unroutable := 0
	for i, err := range res.wait(t, time.Minute) {
		switch {
		case err == nil:
			confirmed = append(confirmed, sent[i])
		case errors.Is(err, ErrUnroutable):
			unroutable++
		default:
			t.Errorf("message %d: %v", i, err)
		}
	}
	lost, dups := got.waitAll(t, confirmed, time.Minute)
	t.Logf("%d sent, %d confirmed, %d unroutable; of the confirmed %d lost, %d duplicates", n, len(confirmed), unroutable, lost, dups)
	if lost > 0 {
		t.Errorf("%d confirmed messages lost", lost)
	}
}
