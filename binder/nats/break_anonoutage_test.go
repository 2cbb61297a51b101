package nats_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/nats/natstest"
	"github.com/streambind/streambind/stream"
)

// TestBreakAnonymousOutage: an anonymous consumer's connection is
// black-holed for longer than inactive-threshold, so that the server
// removes its ephemeral consumer, while another binder goes on sending.
// Once the connection is back, the consumer is made again after the last
// message it received and everything sent meanwhile is handled.
func TestBreakAnonymousOutage(t *testing.T) {
	t.Parallel() // waits on ack-wait and timers: runs beside the others
	srv := natstest.Start(t, natstest.Options{})
	px := newHoleProxy(t, srv.Addr())
	b := newBinder(t, px.url(), map[string]any{"ping-interval": "500ms", "max-pings-outstanding": 2, "reconnect-initial-interval": "50ms", "reconnect-max-interval": "500ms"})
	closeBinder(t, b)
	sender := newBinder(t, srv.URL(), nil)
	closeBinder(t, sender)
	dest := unique(t, "anon")
	p := bindProducer(t, sender, stream.ProducerSpec{Destination: dest})
	tr := newTracker()
	startConsumer(t, b, stream.ConsumerSpec{Destination: dest, Handler: tr.handler(0), Extension: map[string]any{"inactive-threshold": "1s"}})
	ctx := context.Background()
	// An anonymous consumer starts at new messages: probe until it gets one.
	deadline := time.Now().Add(10 * time.Second)
	for i := 0; ; i++ {
		id := "probe-" + strconv.Itoa(i)
		if err := p.Send(ctx, msg(id)); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
		if len(tr.missing([]string{id})) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the anonymous consumer receives nothing")
		}
	}
	px.blackhole(true)
	var want []string
	for i := range 50 {
		id := "m-" + strconv.Itoa(i)
		want = append(want, id)
		if err := p.Send(ctx, msg(id)); err != nil {
			t.Fatal(err)
		}
		time.Sleep(60 * time.Millisecond) // 3s of sends: past inactive-threshold
	}
	px.blackhole(false)
	px.cut() // the black-holed connections lost bytes: start afresh
	tr.wait(t, want, 30*time.Second)
}
