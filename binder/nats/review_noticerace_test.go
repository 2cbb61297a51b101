package nats_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	natsgo "github.com/nats-io/nats.go"

	natsbinder "github.com/streambind/streambind/binder/nats"
	"github.com/streambind/streambind/binder/nats/natstest"
	"github.com/streambind/streambind/stream"
)

// Announcements arriving all the time while a member is started, paused,
// resumed, stopped and its binder closed, with messages held: no data
// race (go test -race), nothing lost.
func TestReviewNoticesDuringLifecycle(t *testing.T) {
	natstest.Require(t)
	t.Parallel()
	url := natstest.URL()
	dest := ownDest(t, url, "noticerace")
	b := newBinder(t, url, nil)
	tr := newTracker()
	c := startConsumer(t, b, stream.ConsumerSpec{Destination: dest, Group: "g", Handler: tr.handler(0),
		Extension: map[string]any{"ack-wait": "20s"}})
	p := bindProducer(t, b, stream.ProducerSpec{Destination: dest})
	raw, err := natsgo.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		subj := "_STREAMBIND.ACKWAIT." + natsbinder.StreamName(dest) + ".g"
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			_ = raw.Publish(subj, []byte(fmt.Sprintf("%ds", 2+i%15)))
			time.Sleep(time.Millisecond)
		}
	}()
	ctx := context.Background()
	var ids []string
	for i := range 20 {
		id := fmt.Sprintf("m%d", i)
		ids = append(ids, id)
		if err := p.Send(ctx, msg(id)); err != nil {
			t.Fatal(err)
		}
		switch i % 4 {
		case 0:
			_ = c.Pause(ctx)
		case 1:
			_ = c.Resume(ctx)
		case 2:
			_ = c.Stop(ctx)
		case 3:
			if err := c.Start(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	_ = c.Resume(ctx)
	tr.wait(t, ids, 30*time.Second)
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := b.Close(cctx); err != nil {
		t.Fatal(err)
	}
	close(stop)
	wg.Wait()
}
