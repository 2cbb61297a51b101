package rabbit

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/rabbit/rabbittest"
	"github.com/streambind/streambind/stream"
)

// TestConcurrentSendsSpreadOverLanes: with publisher-channels 4,
// concurrent Sends of messages without a key to one destination (one
// routing key) are published on every lane. On the lane of their routing
// key, as before, all of them went on one channel and publisher-channels
// did nothing for them.
func TestConcurrentSendsSpreadOverLanes(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	b, sp, _ := laneProducer(t, ctx, nil, "spread")
	// Every lane's channel open, so that the marks count from 0.
	for i := range 8 {
		if err := sp.Send(ctx, stream.Envelope{Payload: []byte("warm-" + strconv.Itoa(i))}); err != nil {
			t.Fatal(err)
		}
	}
	before := laneMarks(b.pub)
	const senders, each = 16, 8
	var wg sync.WaitGroup
	for g := range senders {
		wg.Go(func() {
			for i := range each {
				if err := sp.Send(ctx, stream.Envelope{Payload: []byte(strconv.Itoa(g*each + i))}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	after := laneMarks(b.pub)
	total := uint64(0)
	for i := range after {
		n := published(before[i], after[i])
		total += n
		if n == 0 {
			t.Errorf("lane %d published none of %d concurrent Sends", i, senders*each)
		}
	}
	if total != senders*each {
		t.Errorf("%d publishes on the lanes, want %d", total, senders*each)
	}
}

// TestSendAfterSendAsyncsStaysOnKeyLane: a Send of a key while SendAsyncs
// of that key are unconfirmed goes on the key's lane, behind them (a
// pipelined function's retry in place after its earlier outputs), not on
// the next lane in turn. The broker's confirms are held back by a proxy,
// so that the SendAsyncs stay unconfirmed while the Sends publish; each of
// four Sends then goes on lane of the key, where without the rule three
// of them went on other lanes.
func TestSendAfterSendAsyncsStaysOnKeyLane(t *testing.T) {
	t.Parallel()
	px := rabbittest.NewProxy(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	b, p, _ := laneProducer(t, ctx, map[string]any{"addresses": px.Addr()}, "afterasync")
	pub := b.pub
	m := stream.Envelope{Key: []byte("k"), Payload: []byte("x")}
	key, err := p.routingKey(m)
	if err != nil {
		t.Fatal(err)
	}
	want := -1
	for i, l := range pub.lanes {
		if l == pub.laneFor(m, key) {
			want = i
		}
	}
	// Every lane's channel open, so that the marks count from 0.
	for i := range 8 {
		if err := p.Send(ctx, stream.Envelope{Payload: []byte("warm-" + strconv.Itoa(i))}); err != nil {
			t.Fatal(err)
		}
	}

	px.Stall() // no confirm reaches the binder from here on
	before := laneMarks(pub)
	const async, sends = 3, 4
	results := make(chan error, async+sends)
	for i := range async {
		p.SendAsync(ctx, stream.Envelope{Key: []byte("k"), Payload: []byte("async-" + strconv.Itoa(i))}, func(err error) { results <- err })
	}
	for i := range sends {
		go func() {
			results <- p.Send(ctx, stream.Envelope{Key: []byte("k"), Payload: []byte("send-" + strconv.Itoa(i))})
		}()
	}
	// Wait (bounded) until all are published: the Sends wait for confirms
	// the proxy holds.
	for {
		after := laneMarks(pub)
		var n uint64
		for i := range after {
			n += published(before[i], after[i])
		}
		if n == async+sends {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%d of %d messages published", n, async+sends)
		case <-time.After(5 * time.Millisecond):
		}
	}
	checkLanes(t, "Sends after unconfirmed SendAsyncs of their key", pub, before, want, async+sends)
	px.Unstall()
	for range async + sends {
		select {
		case err := <-results:
			if err != nil {
				t.Error(err)
			}
		case <-ctx.Done():
			t.Fatal("not every send returned after the confirms were let through")
		}
	}
}
