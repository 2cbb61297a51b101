package nats_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	natsbinder "github.com/streambind/streambind/binder/nats"
	"github.com/streambind/streambind/binder/nats/natstest"
	"github.com/streambind/streambind/stream"
)

// TestBreakInterestRetentionKeepsDeadLetters: with stream retention
// interest, the dead-letter stream the binder makes keeps its dead
// letters although nothing consumes it. It was made with interest
// retention too, which drops at once what no consumer reads: the dead
// letter was acknowledged (PubAck) and gone, the failed message
// terminated — lost, with nothing for streambind dlq to show.
func TestBreakInterestRetentionKeepsDeadLetters(t *testing.T) {
	b, _ := shared(t, map[string]any{"stream": map[string]any{"retention": "interest"}})
	dest := unique(t, "interest")
	failed := make(chan struct{}, 1)
	h := func(context.Context, stream.Envelope) error {
		select {
		case failed <- struct{}{}:
		default:
		}
		return errors.New("poison")
	}
	startConsumer(t, b, stream.ConsumerSpec{Destination: dest, Group: "g", Handler: h, Consumer: stream.ConsumerConfig{DLQ: true}})
	p := bindProducer(t, b, stream.ProducerSpec{Destination: dest})
	ctx := context.Background()
	if err := p.Send(ctx, msg("poison")); err != nil {
		t.Fatal(err)
	}
	<-failed
	js := jsAt(t, natstest.URL())
	dlq := natsbinder.StreamName(stream.DLQName(dest, "g"))
	var info *jetstream.StreamInfo
	deadline := time.Now().Add(10 * time.Second)
	for {
		s, err := js.Stream(ctx, dlq)
		if err != nil {
			t.Fatal(err)
		}
		if info, err = s.Info(ctx); err != nil {
			t.Fatal(err)
		}
		if info.State.LastSeq > 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond) // polling the server's state, bounded
	}
	if info.State.LastSeq == 0 {
		t.Fatal("no dead letter was published")
	}
	if info.State.Msgs != 1 {
		t.Errorf("dead-letter stream (retention %s) holds %d messages of %d published; want the dead letter kept", info.Config.Retention, info.State.Msgs, info.State.LastSeq)
	}
	// The destination's own stream keeps its configured retention.
	s, err := js.Stream(ctx, natsbinder.StreamName(dest))
	if err != nil {
		t.Fatal(err)
	}
	if r := s.CachedInfo().Config.Retention; r != jetstream.InterestPolicy {
		t.Errorf("destination stream retention %s, want interest", r)
	}
}
