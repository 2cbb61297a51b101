package rabbit

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/streambind/streambind/binder/rabbit/rabbittest"
	"github.com/streambind/streambind/stream"
)

// TestDeadLetteredAtSurvivesCut: a dead letter whose headers must be cut
// to fit the frame (here 5,500 small ones, an old timestamp) keeps its
// x-streambind-dead-lettered-at header, so the DeadLetterStore dates it
// when it was dead-lettered. Before, the header went into the cut with
// the original's: the largest of them, it was the first dropped, and the
// dead letter's time was the original's timestamp (2023), which dlq ls
// showed and --since/--until filtered by (purge --until 7d took it).
func TestDeadLetteredAtSurvivesCut(t *testing.T) {
	t.Parallel()
	vhost := rabbittest.VHost(t)
	b, tr := newTestBinder(t, map[string]any{"virtual-host": vhost})
	dest := uniqueDest(t, "dlatfit")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	spec := stream.ConsumerSpec{Binding: "fit-in-0", Destination: dest, Group: "g",
		Consumer: stream.ConsumerConfig{DLQ: true, MaxAttempts: 1}}
	cs := spec
	cs.Handler = func(context.Context, stream.Envelope) error { return errors.New("refused") }
	c, err := tr.BindConsumer(ctx, cs)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop(context.Background())
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	start := time.Now().Add(-time.Second)
	ch := rabbittest.Channel(t, vhost)
	h := amqp.Table{}
	for i := 0; i < 5500; i++ {
		h[fmt.Sprintf("k%04d", i)] = "vvvvvvvvvv"
	}
	if err := ch.PublishWithContext(ctx, dest, "", false, false, amqp.Publishing{Headers: h, Timestamp: time.Unix(1700000000, 0), Body: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	awaitReady(t, func() int {
		st, err := ch.QueueDeclarePassive(dest+".g.dlq", true, false, false, false, nil)
		if err != nil {
			t.Fatal(err)
		}
		return st.Messages
	}, 1, 10*time.Second, "dead letter")
	dl, err := b.OpenDeadLetters(ctx, spec, stream.DeadLetterOpen{})
	if err != nil {
		t.Fatal(err)
	}
	defer dl.Close(ctx)
	d, err := dl.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if d.Headers[stream.HeaderTruncated] == "" {
		t.Fatal("the dead letter was not cut: the test needs more headers")
	}
	if d.Time.Before(start) {
		t.Errorf("dead letter time %v, want when it was dead-lettered (after %v)", d.Time, start)
	}
}
