package nats_test

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/nats/natstest"
	"github.com/streambind/streambind/stream"
)

// TestReviewStreamRemadeNewMessageAcked: a member that pulled the new
// stream's message from the durable another member made again (with the
// stream) before it noticed the stream was made again (its 5s consumer
// info) acknowledges that message once handled. It was stamped, at
// receipt, with the old stream's creation time and then taken for a
// message of the deleted stream: handled, never acknowledged, not kept in
// progress — redelivered after ack-wait and handled again.
func TestReviewStreamRemadeNewMessageAcked(t *testing.T) {
	t.Parallel()
	b, _ := shared(t, nil)
	dest := unique(t, "remade-newheld")
	ext := map[string]any{"prefetch": 1, "ack-wait": "3s"}
	var mu sync.Mutex
	calls := map[string]int{}
	oldIn, oldGo := make(chan struct{}), make(chan struct{})
	newIn, newGo, newAgain := make(chan struct{}), make(chan struct{}), make(chan struct{}, 1)
	var oldOnce, newOnce sync.Once
	releaseOld := func() { oldOnce.Do(func() { close(oldGo) }) }
	releaseNew := func() { newOnce.Do(func() { close(newGo) }) }
	defer releaseNew()
	defer releaseOld()
	handle := func(_ context.Context, m stream.Envelope) error {
		id := m.Headers[idHeader]
		mu.Lock()
		calls[id]++
		n := calls[id]
		mu.Unlock()
		switch {
		case id == "old" && n == 1:
			close(oldIn)
			<-oldGo
			return stream.ErrNak
		case id == "new" && n == 1:
			close(newIn)
			<-newGo
		case id == "new":
			select {
			case newAgain <- struct{}{}:
			default:
			}
		}
		return nil
	}
	ll := newLineLog()
	// Member B holds "old"; with prefetch 1 it ends its pull and waits for
	// room.
	startConsumer(t, b, stream.ConsumerSpec{Destination: dest, Group: "g", Handler: handle, Extension: ext, Logger: slog.New(ll)})
	p := bindProducer(t, b, stream.ProducerSpec{Destination: dest})
	ctx := context.Background()
	// "old" is the old stream's message 2: its settlement below names
	// sequence 2, not the new stream's message 1 (a race of its own).
	if err := p.Send(ctx, msg("pad")); err != nil {
		t.Fatal(err)
	}
	if !ackPending(t, dest, "g", 0, 10*time.Second) {
		t.Fatal("pad not acknowledged")
	}
	if err := p.Send(ctx, msg("old")); err != nil {
		t.Fatal(err)
	}
	<-oldIn
	if !ll.wait("ending the pull", 10*time.Second) {
		t.Fatal("member B did not end its pull")
	}
	deleteStream(t, dest)
	// Another process binds a member of the group (not started): it makes
	// the stream and the durable again.
	b2 := tracked{newBinder(t, natstest.URL(), nil), newStreams(t, natstest.URL())}
	closeBinder(t, b2)
	bctx, bcancel := context.WithTimeout(ctx, 30*time.Second)
	defer bcancel()
	if _, err := b2.BindConsumer(bctx, stream.ConsumerSpec{Binding: "test-in-0", Destination: dest, Group: "g", ContentType: stream.DefaultContentType,
		Handler: handle, Extension: ext, Consumer: stream.ConsumerConfig{Concurrency: 1, MaxAttempts: 1, InstanceCount: 1}}); err != nil {
		t.Fatal(err)
	}
	// B gives "old" back (a Nak of sequence 2, which the new durable
	// ignores: no such message of its is pending), gets room and pulls
	// again, from the new durable (pulls name it).
	releaseOld()
	if err := p.Send(bctx, msg("new")); err != nil {
		t.Fatal(err)
	}
	select {
	case <-newIn:
	case <-time.After(30 * time.Second):
		t.Fatal("new not delivered")
	}
	if ll.wait("deleted and made again", 0) {
		t.Skip("member B noticed the new stream before it received its message: not the case under test")
	}
	if !ll.wait("deleted and made again", 15*time.Second) {
		t.Fatal("member B did not notice that its stream was made again")
	}
	releaseNew()
	if !ackPending(t, dest, "g", 0, 2*time.Second) {
		t.Error("the new stream's message, handled, was not acknowledged")
	}
	select {
	case <-newAgain:
		t.Error("the new stream's message, handled, was delivered again")
	case <-time.After(4 * time.Second): // ack-wait 3s: a redelivery would have come
	}
}
