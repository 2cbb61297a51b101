package nats

import (
	"context"
	"errors"
	"strings"
	"testing"

	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// TestSettleCtxEndedAsAttemptRefused: a send whose ctx ended as JetStream
// refused its attempt returns ctx's error, saying the message was not
// stored. It returned the refusal alone with "no PubAck (the message may
// still have been stored)", which a caller testing for ctx's error did not
// recognise (TestSendCtxEndsInBackoff failed so once under load: the
// window between an attempt's refusal and the check of ctx is narrow, so
// settle is called here with the refusal in hand and ctx already ended).
func TestSettleCtxEndedAsAttemptRefused(t *testing.T) {
	p := &producer{bd: &Binder{}}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	refused := &jetstream.APIError{Code: 503, ErrorCode: 10039, Description: "jetstream temporarily unavailable"}
	err := p.settle(ctx, &natsgo.Msg{Subject: "orders"}, "id-1", 5, false, refused)
	if !errors.Is(err, context.Canceled) || !errors.Is(err, refused) {
		t.Fatalf("settle = %v, want ctx's error and the refusal", err)
	}
	if text := err.Error(); strings.Contains(text, "may still have been stored") || !strings.Contains(text, "not stored") {
		t.Errorf("settle = %v; the attempt was refused: the error must say the message was not stored", err)
	}
}
