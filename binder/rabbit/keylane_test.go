package rabbit

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/streambind/streambind/binder/rabbit/rabbittest"
	"github.com/streambind/streambind/stream"
)

// laneMark is what a lane has published so far: its channel and the
// delivery tag of its next publish there.
type laneMark struct {
	s   *laneSession
	seq uint64
}

func laneMarks(pub *publisher) []laneMark {
	m := make([]laneMark, len(pub.lanes))
	for i, l := range pub.lanes {
		if s := l.cur.Load(); s != nil {
			m[i] = laneMark{s: s, seq: s.ch.GetNextPublishSeqNo()}
		}
	}
	return m
}

// published is how many messages the lane published between marks before
// and after: on the channel it had, and on a new one (opened again after
// a channel error closed it; its delivery tags start at 1).
func published(before, after laneMark) uint64 {
	if before.s == after.s {
		return after.seq - before.seq
	}
	var n uint64
	if before.s != nil {
		n = before.s.ch.GetNextPublishSeqNo() - before.seq
	}
	if after.s != nil {
		n += after.seq - 1
	}
	return n
}

// checkLanes fails unless lane want published n messages since before
// and no other lane published any.
func checkLanes(t *testing.T, how string, pub *publisher, before []laneMark, want int, n uint64) {
	t.Helper()
	after := laneMarks(pub)
	for i := range after {
		got := published(before[i], after[i])
		switch {
		case i == want && got != n:
			t.Errorf("%s: %d messages published on lane %d of the message's key, want %d", how, got, i, n)
		case i != want && got != 0:
			t.Errorf("%s: %d messages published on lane %d, not on lane %d of the message's key", how, got, i, want)
		}
	}
}

// checkOneLane fails unless one lane published n messages since before
// and no other lane published any: a Send's publishes (the first and the
// one again) go on the lane it took, whichever that is (sendLane).
func checkOneLane(t *testing.T, how string, pub *publisher, before []laneMark, n uint64) {
	t.Helper()
	after := laneMarks(pub)
	for i := range after {
		if got := published(before[i], after[i]); got != 0 {
			checkLanes(t, how, pub, before, i, n)
			return
		}
	}
	t.Errorf("%s: no lane published a message", how)
}

// laneProducer binds a producer of a new destination (queue of group g
// declared) on a binder of env (a virtual host of its own and
// publisher-channels 4 added) and returns the binder, the producer (closed
// at the test's end) and the virtual host.
func laneProducer(t *testing.T, ctx context.Context, env map[string]any, name string) (*Binder, *producer, string) {
	t.Helper()
	vhost := rabbittest.VHost(t)
	m := map[string]any{"virtual-host": vhost, "publisher-channels": 4}
	for k, v := range env {
		m[k] = v
	}
	b, tr := newTestBinder(t, m)
	sp, err := tr.BindProducer(ctx, stream.ProducerSpec{Binding: name + "-out-0", Destination: uniqueDest(t, name),
		Producer: stream.ProducerConfig{RequiredGroups: []string{"g"}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sp.Close(context.Background()) })
	return b, sp.(*producer), vhost
}

// bigTyped is a message whose NativeHeaders do not fit the frame in their
// AMQP types (15000 int64 zeros, 9 bytes each: over the 128 KiB frame_max)
// but do as text (2 bytes each): Send and SendAsync send it with its
// headers as text (sendAsText).
func bigTyped(key, payload string) stream.Envelope {
	zeros := make([]any, 15000)
	for i := range zeros {
		zeros[i] = int64(0)
	}
	return stream.Envelope{Key: []byte(key), Payload: []byte(payload),
		Headers:       stream.Headers{"zeros": headerString(zeros)},
		NativeHeaders: map[string]any{"zeros": zeros}}
}

// TestRepublishOnKeyLane: with publisher-channels 4, a message sent again
// by SendAsync — with its headers as text because the typed ones did not fit
// (sendAsText), or once more after its exchange was found deleted and
// declared again — goes on the lane of its key (laneFor), as its first
// publish and every other message of its key do; by Send, on the lane its
// first publish took (sendLane: Sends take the lanes in turn). On a lane
// chosen round robin, four sends of one key used four lanes. (Which lane a message
// went on is what the test can see for sure: whether a message on
// another lane overtakes the key's earlier ones is up to the broker's
// channel processes.)
func TestRepublishOnKeyLane(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	b, p, vhost := laneProducer(t, ctx, nil, "keylane")
	pub := b.pub
	if len(pub.lanes) != 4 {
		t.Fatalf("%d lanes, want 4", len(pub.lanes))
	}
	laneOf := func(m stream.Envelope) int {
		key, err := p.routingKey(m)
		if err != nil {
			t.Fatal(err)
		}
		l := pub.laneFor(m, key)
		for i := range pub.lanes {
			if pub.lanes[i] == l {
				return i
			}
		}
		t.Fatal("laneFor returned no lane of the publisher")
		return -1
	}
	admin := rabbittest.Channel(t, vhost)
	sendAsync := func(ctx context.Context, m stream.Envelope) error {
		done := make(chan error, 1)
		p.SendAsync(ctx, m, func(err error) { done <- err })
		select {
		case err := <-done:
			return err
		case <-ctx.Done():
			return ctx.Err()
		}
	}

	for _, send := range []struct {
		name string
		f    func(context.Context, stream.Envelope) error
	}{{"Send", p.Send}, {"SendAsync", sendAsync}} {
		check := func(how string, before []laneMark, m stream.Envelope, n uint64) {
			if send.name == "Send" {
				checkOneLane(t, how, pub, before, n)
			} else {
				checkLanes(t, how, pub, before, laneOf(m), n)
			}
		}
		for i := range 4 {
			m := bigTyped("k", "text-"+strconv.Itoa(i))
			before := laneMarks(pub)
			if err := send.f(ctx, m); err != nil {
				t.Fatalf("%s as text: %v", send.name, err)
			}
			// The typed copy was refused before it was published.
			check(fmt.Sprintf("%s as text %d", send.name, i), before, m, 1)
		}
		for i := range 4 {
			if err := admin.ExchangeDelete(p.exchange, false, false); err != nil {
				t.Fatal(err)
			}
			m := stream.Envelope{Key: []byte("k"), Payload: []byte("redeclared-" + strconv.Itoa(i))}
			before := laneMarks(pub)
			if err := send.f(ctx, m); err != nil {
				t.Fatalf("%s after the exchange was deleted: %v", send.name, err)
			}
			// Refused with 404 NOT_FOUND, then published again.
			check(fmt.Sprintf("%s after the exchange was deleted %d", send.name, i), before, m, 2)
		}
	}
}

// TestSendAsyncAsTextKeepsKeyOrder: messages of one key passed to
// SendAsync one after another are stored in that order also when some go
// with their headers as text (their typed headers did not fit the frame):
// the text copy is published on the caller's goroutine, on the key's
// lane, before SendAsync returns. Published from a goroutine of its own
// it came after the messages sent after it.
func TestSendAsyncAsTextKeepsKeyOrder(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	_, p, vhost := laneProducer(t, ctx, nil, "asynctext")

	const n = 200
	res := make(chan error, n)
	for i := range n {
		m := stream.Envelope{Key: []byte("k"), Payload: []byte(strconv.Itoa(i))}
		if i%4 == 0 {
			m = bigTyped("k", strconv.Itoa(i))
		}
		p.SendAsync(ctx, m, func(err error) { res <- err })
	}
	for range n {
		select {
		case err := <-res:
			if err != nil {
				t.Fatal(err)
			}
		case <-ctx.Done():
			t.Fatal("not all sends reported")
		}
	}

	ch := rabbittest.Channel(t, vhost)
	ds, err := ch.ConsumeWithContext(ctx, p.exchange+".g", "", true, false, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	bad := 0
	for want := range n {
		var d amqp.Delivery
		select {
		case d = <-ds:
		case <-ctx.Done():
			t.Fatalf("%d messages received of %d", want, n)
		}
		if got := string(d.Body); got != strconv.Itoa(want) {
			if bad++; bad <= 5 {
				t.Errorf("message %s stored where %d was sent", got, want)
			}
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d messages stored out of the order sent", bad, n)
	}
}
