package nats

import (
	"context"
	"sync"
	"testing"
	"time"

	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/streambind/streambind/stream"
)

// A run that has finished (Stop, then a new Start) may still get an
// announcement of a lowered ack-wait: its subscription ends a moment
// after its handler calls (watchConsumer), while the next run's is made.
// The late run must not take the lowered ack-wait on the consumer's
// behalf: it would signal its own (ended) keeper, and the current run's
// notice and poll would then find the ack-wait unchanged and never retime
// its keeper, which went on keeping every 10s (30s/3) — what it held was
// redelivered by the server's 2s.
func TestReviewStaleRunNoticeRetimesCurrentKeeper(t *testing.T) {
	ctx, url, dest, b := internalBinder(t, "stale")
	var mu sync.Mutex
	deliveries := 0
	started := make(chan struct{}, 4)
	sc, err := b.BindConsumer(ctx, stream.ConsumerSpec{Binding: "in-0", Destination: dest, Group: "g", ContentType: stream.DefaultContentType,
		Handler: func(hctx context.Context, _ stream.Envelope) error {
			mu.Lock()
			deliveries++
			mu.Unlock()
			started <- struct{}{}
			select {
			case <-time.After(4 * time.Second):
			case <-hctx.Done():
			}
			return nil
		},
		Consumer:  stream.ConsumerConfig{Concurrency: 2, MaxAttempts: 1, InstanceCount: 1},
		Extension: map[string]any{"ack-wait": "30s"}})
	if err != nil {
		t.Fatal(err)
	}
	c := sc.(*consumer)
	r1, err := c.startRun(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := r1.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	<-r1.Done()
	run2, err := c.startRun(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = run2.Stop(context.Background()) }()
	// The current run's keeper reads its pace when its goroutine starts:
	// let it (else it would start with the announced one by chance).
	time.Sleep(200 * time.Millisecond)
	// The announcement reaches both subscriptions, the ended run's first.
	notice := &natsgo.Msg{Data: []byte("2s")}
	r1.(*run).ackWaitNotice(notice)
	run2.(*run).ackWaitNotice(notice)

	p, err := b.BindProducer(ctx, stream.ProducerSpec{Binding: "out-0", Destination: dest, ContentType: stream.DefaultContentType})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Send(ctx, stream.Envelope{Payload: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	<-started
	// The announcing bind updates the durable.
	nc, err := natsgo.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	cfg := c.cfg
	cfg.AckWait = 2 * time.Second
	if _, err := js.UpdateConsumer(ctx, c.ref.name, cfg); err != nil {
		t.Fatal(err)
	}
	select { // a redelivery of the held message would be handled at once (concurrency 2)
	case <-started:
		t.Fatal("the message held by the current run was redelivered: its keeper kept the old pace")
	case <-time.After(5 * time.Second):
	}
	jc, err := js.Consumer(ctx, c.ref.name, c.cfg.Durable)
	if err != nil {
		t.Fatal(err)
	}
	if info, err := jc.Info(ctx); err != nil {
		t.Fatal(err)
	} else if info.NumRedelivered > 0 || info.Delivered.Consumer > 1 {
		t.Errorf("the message held by the current run was redelivered (%d deliveries): its keeper kept the old pace", info.Delivered.Consumer)
	}
}
