package stream_test

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/memory"
	"github.com/streambind/streambind/stream"
)

// An output that refuses every send makes its input fail at every
// redelivery: the warning that says so came at every redelivery (three a
// second on RabbitMQ and Kafka, without end). It is let through at growing
// intervals, the others logged at debug, and the next warning says how
// many were held back.
func TestSendFailureWarningIsPaced(t *testing.T) {
	shared, failing := failingOutputBinders(t, memory.Config{RedeliveryDelay: 5 * time.Millisecond}, errors.New("broker unavailable"), false)
	cfg := loadYAML(t, `spring.cloud.stream:
  function.definition: relay
  binders:
    orders: { type: memory }
    warehouse: { type: failing }
  bindings:
    relay-in-0: { binder: orders, destination: in, group: g, consumer: { max-attempts: 1 } }
    relay-out-0: { binder: warehouse, destination: out }
`)
	const msg = "output send failed after every attempt; input left for redelivery"
	h := &recordingHandler{msg: msg, ch: make(chan logRecord, 1000)}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sender := runWithSender(ctx, t, cfg, slog.New(h), shared, failing, shared)
	p, err := sender.BindProducer(ctx, stream.ProducerSpec{Binding: "sender", Destination: "in"})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Send(ctx, stream.Envelope{Payload: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	var warns, debugs int
	var lastWarn logRecord
	for warns+debugs < 60 {
		select {
		case rec := <-h.ch:
			switch rec.level {
			case slog.LevelWarn:
				warns++
				lastWarn = rec
			case slog.LevelDebug:
				debugs++
			}
		case <-ctx.Done():
			t.Fatalf("%d warnings and %d debug records of %q in 30s", warns, debugs, msg)
		}
	}
	// 60 redeliveries take 0.3s and more: one warning, a few on a slow
	// machine (at 0s, 1s, 3s, 7s...).
	if warns < 1 || warns > 4 {
		t.Errorf("%d warnings and %d debug records for 60 failures, want 1 to 4 warnings", warns, debugs)
	}
	if warns > 1 && lastWarn.attrs["suppressed"] == "0" {
		t.Errorf("a later warning says it held back nothing: %v", lastWarn.attrs)
	}
	if lastWarn.attrs["output_binder"] != "warehouse" {
		t.Errorf("warning attributes %v, want output_binder=warehouse", lastWarn.attrs)
	}
}
