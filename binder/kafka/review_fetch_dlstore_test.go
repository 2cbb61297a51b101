package kafka_test

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/kafka"
	"github.com/streambind/streambind/stream"
)

// TestReviewFetchDeadLettersFromFarBroker: the dead-letter cursor reads
// a dead letter from a broker 300ms of round trip away. Its kafka-go
// Reader had MaxWait 250ms, which is also the Reader's read deadline for
// a fetch's answer: an answer a round trip away never came in time, and
// Next waited until its context ended (streambind dlq commands against a
// far broker listed nothing). The end of each partition is found at
// once: with a longer MaxWait, the Reader's Close waited for its fetch
// after the last record (9.8s).
func TestReviewFetchDeadLettersFromFarBroker(t *testing.T) {
	t.Parallel()
	c, _ := startSlowCluster(t, 300*time.Millisecond)
	b, err := kafka.New(context.Background(), stream.BinderSettings{Name: "kafka", Type: kafka.Type, Logger: testLogger(t),
		Environment: map[string]any{"brokers": c.Brokers()}})
	if err != nil {
		t.Fatal(err)
	}
	closeBinder(t, b)
	dest := uniqueTopic(t)
	spec := consumerSpec(dest, "g-"+dest, func(context.Context, stream.Envelope) error { return nil })
	dlq := stream.ErrorDestinationSource(spec, "").Destination
	p := bindProducer(t, b, dlq, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := p.Send(ctx, stream.Envelope{Payload: []byte("dead"), Headers: map[string]string{idHeader: "d1"}}); err != nil {
		t.Fatal(err)
	}
	dl, err := b.(*kafka.Binder).OpenDeadLetters(ctx, spec, stream.DeadLetterOpen{})
	if err != nil {
		t.Fatal(err)
	}
	defer dl.Close(context.Background())
	nctx, ncancel := context.WithTimeout(ctx, 10*time.Second)
	defer ncancel()
	start := time.Now()
	d, err := dl.Next(nctx)
	if err != nil {
		t.Fatalf("Next after %s: %v", time.Since(start).Round(time.Millisecond), err)
	}
	t.Logf("dead letter %q read in %s", d.Envelope.Payload, time.Since(start).Round(time.Millisecond))
	start = time.Now()
	if _, err := dl.Next(nctx); err != io.EOF {
		t.Fatalf("Next at the end: %v, want io.EOF", err)
	}
	took := time.Since(start)
	t.Logf("the end found in %s", took.Round(time.Millisecond))
	// Not the Reader's fetch after the last record, which waits for
	// records up to its MaxWait (about 10s) before Close returns.
	if took > 3*time.Second {
		t.Errorf("the end of the partition found in %s; want it at once", took)
	}
}
