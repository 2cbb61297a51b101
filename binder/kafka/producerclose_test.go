package kafka_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/streambind/streambind/binder/kafka/kafkatest"
	"github.com/streambind/streambind/stream"
)

// TestIdleProducerCloseWithEndedContext: Close of a producer with nothing
// to write — it never sent, or every send returned — succeeds even when
// its context has ended already (the shutdown's time was spent
// elsewhere), as the Redis and NATS producers' do. Close selected between
// the produce loop's end and the ended context at random, and the loop of
// an idle producer ends only once it ran after the stop, so such a Close
// reported 'flushing: context canceled' most of the time. A send its
// caller still waits for is still reported
// (TestCloseWithEndedContextReportsWaitingSend).
func TestIdleProducerCloseWithEndedContext(t *testing.T) {
	t.Parallel()
	c := kafkatest.Start(t)
	b := newBinder(t, c, nil)
	t.Cleanup(func() { _ = b.Close(context.Background()) })
	topic := uniqueTopic(t)
	ended, cancel := context.WithCancel(context.Background())
	cancel()
	for i := range 50 {
		p, err := b.BindProducer(context.Background(), stream.ProducerSpec{Binding: "produce-out-0", Destination: topic, ContentType: stream.DefaultContentType})
		if err != nil {
			t.Fatal(err)
		}
		if i%2 == 1 { // one that sent before, as well as one that never did
			if err := p.Send(context.Background(), stream.Envelope{Payload: []byte("x")}); err != nil {
				t.Fatal(err)
			}
		}
		if i%4 == 3 { // and one whose SendAsync completed
			done := make(chan error, 1)
			p.(stream.AsyncProducer).SendAsync(context.Background(), stream.Envelope{Payload: []byte("y")}, func(err error) { done <- err })
			if err := <-done; err != nil {
				t.Fatal(err)
			}
		}
		if err := p.Close(ended); err != nil {
			t.Fatalf("round %d: Close of an idle producer with an ended context: %v", i, err)
		}
	}
}

// TestCloseWithEndedContextReportsWaitingSend: a Send still waiting for
// the broker (its Produce held in kfake) when Close's context has ended
// fails, and Close says so.
func TestCloseWithEndedContextReportsWaitingSend(t *testing.T) {
	t.Parallel()
	c := kafkatest.Start(t)
	b := newBinder(t, c, nil)
	t.Cleanup(func() { _ = b.Close(context.Background()) })
	p, err := b.BindProducer(context.Background(), stream.ProducerSpec{Binding: "produce-out-0", Destination: uniqueTopic(t), ContentType: stream.DefaultContentType})
	if err != nil {
		t.Fatal(err)
	}
	held, gate := make(chan struct{}), make(chan struct{})
	var once sync.Once
	c.Kfake.ControlKey(int16(kmsg.Produce), func(kmsg.Request) (kmsg.Response, error, bool) {
		c.Kfake.KeepControl()
		once.Do(func() {
			close(held)
			c.Kfake.SleepControl(func() { <-gate })
		})
		return nil, nil, false
	})
	var release sync.Once
	t.Cleanup(func() { release.Do(func() { close(gate) }) })
	sent := make(chan error, 1)
	go func() { sent <- p.Send(context.Background(), stream.Envelope{Payload: []byte("x")}) }()
	select {
	case <-held:
	case <-time.After(10 * time.Second):
		t.Fatal("the send's Produce did not reach the broker")
	}
	ended, cancel := context.WithCancel(context.Background())
	cancel()
	if err := p.Close(ended); err == nil || !strings.Contains(err.Error(), "1 sends still waiting for the broker") {
		t.Errorf("Close with a send waiting and an ended context: %v, want 1 send reported", err)
	}
	if err := <-sent; err == nil {
		t.Error("the waiting send succeeded, want it failed by Close")
	}
}
