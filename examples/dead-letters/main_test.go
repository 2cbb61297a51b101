package main

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/streambind/streambind/config"
	"github.com/streambind/streambind/examples/internal/extest"
	"github.com/streambind/streambind/stream/streamtest"
)

// The audit sees what payment dead-letters: an order that can never be
// charged (at once), one whose card is declined (after its attempts) and
// bytes that are not an order at all; a good order is not dead-lettered.
func TestAuditReadsPaymentsDeadLetters(t *testing.T) {
	loaded, err := config.Load(config.Options{Env: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	// Retries are not what this test is about: make them quick.
	for name, b := range loaded.Stream.Bindings {
		if strings.EqualFold(name, "chargePayment-in-0") {
			b.Consumer.BackOffInitialInterval = time.Millisecond
			loaded.Stream.Bindings[name] = b
		}
	}
	if b := loaded.Stream.Binding("chargePayment-in-0"); b.Consumer.BackOffInitialInterval != time.Millisecond {
		t.Fatalf("back-off not shortened: %+v", b.Consumer)
	}

	audited := make(chan DeadLetter, 10)
	env := streamtest.Start(t, loaded.Stream, catalog(func(dl DeadLetter) { audited <- dl }))

	env.Send(t, "chargePayment-in-0", Order{ID: "o-1", AmountCents: 500, Card: "ok"})
	env.Send(t, "chargePayment-in-0", Order{ID: "o-2", AmountCents: 0, Card: "ok"})
	env.Send(t, "chargePayment-in-0", Order{ID: "o-3", AmountCents: 700, Card: "declined"})
	env.Send(t, "chargePayment-in-0", "not json")

	want := []struct{ id, reason string }{
		{"o-2", "order o-2: amount must be positive"},
		{"o-3", "order o-3: card declined"},
		{"", "invalid character"},
	}
	for _, w := range want {
		select {
		case dl := <-audited:
			if dl.OrderID != w.id || !strings.Contains(dl.Reason, w.reason) || dl.From != "orders" {
				t.Errorf("audited %+v, want order %q from orders saying %q", dl, w.id, w.reason)
			}
			if dl.Partition != 0 || time.Since(dl.Sent) > time.Minute || time.Until(dl.Sent) > time.Second {
				t.Errorf("audited %+v: want partition 0, sent within the last minute", dl)
			}
		case <-time.After(streamtest.DefaultTimeout):
			t.Fatalf("no dead letter audited; want order %q", w.id)
		}
	}
	st := env.App.Binding("chargePayment-in-0").Stats()
	if st.Processed != 1 || st.DeadLettered != 3 || st.Retried != 2 {
		t.Errorf("payment: processed %d, dead-lettered %d, retried %d; want 1, 3, 2 (only the declined card is retried)",
			st.Processed, st.DeadLettered, st.Retried)
	}
}

// main, on the in-process binder: a dead letter is reported on stdout.
func TestRun(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	broker, side := extest.InProcess(t, ctx)
	r := extest.Start(t, ctx, func(ctx context.Context, stdout, stderr io.Writer) int {
		return run(ctx, nil, []string{}, stdout, stderr, extest.WithBroker(broker))
	})
	r.WaitLog(t, "msg=ready")
	extest.SendJSON(t, ctx, side, "orders", `{"id":"o-7","amountCents":-1}`)
	r.WaitOutput(t, "dead letter from orders partition 0: order o-7: order o-7: amount must be positive (*errors.errorString)")
	r.Stop(t)
}

// main on Kafka (kfake, in process) with the kafka profile: the same
// bindings, the dead-letter topic error.orders.payment.
func TestRunOnKafka(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	brokers, side := extest.Kafka(t, ctx)
	r := extest.Start(t, ctx, func(ctx context.Context, stdout, stderr io.Writer) int {
		return run(ctx, []string{"--profile", "kafka"}, []string{"KAFKA_BROKERS=" + brokers}, stdout, stderr)
	})
	r.WaitLog(t, "msg=ready")
	extest.SendJSON(t, ctx, side, "orders", `{"id":"o-8","amountCents":-1}`)
	// The partition is read from Kafka's 4-byte x-original-partition.
	r.WaitOutput(t, "dead letter from orders partition ")
	r.WaitOutput(t, ": order o-8:")
	r.Stop(t)
}

// main on the local RabbitMQ with the rabbit profile, in a virtual host of
// the test's own: the audit reads the queue orders.payment.dlq. Skipped
// (loudly) when RabbitMQ is not there, except in CI.
func TestRunOnRabbitMQ(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	vhost, side := extest.RabbitMQ(t, ctx)
	r := extest.Start(t, ctx, func(ctx context.Context, stdout, stderr io.Writer) int {
		return run(ctx, []string{"--profile", "rabbit"}, extest.RabbitEnv(vhost), stdout, stderr)
	})
	r.WaitLog(t, "msg=ready")
	extest.SendJSON(t, ctx, side, "orders", `{"id":"o-9","amountCents":-1}`)
	r.WaitOutput(t, "dead letter from orders: order o-9:")
	r.Stop(t)
}

// Every profile of this directory loads and builds (without connecting to
// anything), so none can rot unnoticed.
func TestProfilesBuild(t *testing.T) {
	extest.ProfilesBuild(t, func(loaded *config.Loaded) error {
		_, _, err := buildApp(loaded, io.Discard, func(DeadLetter) {})
		return err
	})
}
