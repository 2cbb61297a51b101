package main

import (
	"context"
	"encoding/json"
	"io"
	"strings"
	"testing"

	"github.com/streambind/streambind/config"
	"github.com/streambind/streambind/examples/internal/extest"
	"github.com/streambind/streambind/stream"
	"github.com/streambind/streambind/stream/streamtest"
)

// The function through its bindings, on the in-process binder: streamtest
// runs every binding in process whatever binders the configuration names.
func TestPlanShipment(t *testing.T) {
	loaded, err := config.Load(config.Options{Env: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	env := streamtest.Start(t, loaded.Stream, catalog())

	env.Send(t, "planShipment-in-0", Order{ID: "o-1", Country: "fr", Items: 2})
	if got := streamtest.Receive[Shipment](t, env, "planShipment-out-0").Payload; got != (Shipment{OrderID: "o-1", Warehouse: "lyon", Items: 2}) {
		t.Fatalf("shipment %+v", got)
	}
	env.Send(t, "planShipment-in-0", Order{ID: "o-2", Country: "NZ", Items: 1})
	dl := streamtest.ReceiveDeadLetter[Order](t, env, "planShipment-in-0")
	if msg := dl.Headers.Get("x-exception-message"); dl.Payload.ID != "o-2" || !strings.Contains(msg, `no warehouse serves the country "NZ"`) {
		t.Fatalf("dead letter %+v, %q", dl.Payload, msg)
	}
}

// main with the inprocess profile: both named binders in process (on one
// broker the test shares, to feed orders and read shipments).
func TestRunInProcess(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	broker, side := extest.InProcess(t, ctx)
	r := extest.Start(t, ctx, func(ctx context.Context, _, logs io.Writer) int {
		return run(ctx, []string{"--profile", "inprocess"}, []string{}, logs, extest.WithBroker(broker))
	})
	r.WaitLog(t, "planShipment-in-0 on events")
	roundTrip(t, ctx, side, side, r)
	r.Stop(t)
}

// main for real: orders from a Kafka cluster (kfake, in process), shipments
// to the local RabbitMQ in a virtual host of the test's own, configured by
// the environment variables application.yaml reads. Skipped (loudly) when
// RabbitMQ is not there, except in CI.
func TestRunOnKafkaAndRabbitMQ(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	vhost, shipments := extest.RabbitMQ(t, ctx)
	brokers, orders := extest.Kafka(t, ctx)
	env := append([]string{"KAFKA_BROKERS=" + brokers}, extest.RabbitEnv(vhost)...)
	r := extest.Start(t, ctx, func(ctx context.Context, _, logs io.Writer) int { return run(ctx, nil, env, logs) })
	r.WaitLog(t, "msg=ready")
	roundTrip(t, ctx, orders, shipments, r)

	// The undeliverable order is on Kafka's dead-letter topic.
	dls := extest.Consume(t, ctx, orders, stream.ConsumerSpec{Binding: "test-dlq", Destination: "error.orders.shipping", Group: "test"})
	m := r.Receive(t, dls, "dead letter on error.orders.shipping")
	if !strings.Contains(string(m.Payload), `"o-2"`) || m.Headers.Get("x-original-topic") != "orders" {
		t.Fatalf("dead letter %s %v", m.Payload, m.Headers)
	}
	r.Stop(t)
}

// roundTrip sends an undeliverable and a good order to "orders" through
// in, and expects the good one's shipment on the queue of group warehouse
// of "shipments" through out.
func roundTrip(t *testing.T, ctx context.Context, in, out stream.Binder, r *extest.Run) {
	t.Helper()
	got := extest.Consume(t, ctx, out, stream.ConsumerSpec{Binding: "test-warehouse", Destination: "shipments", Group: "warehouse"})
	extest.SendJSON(t, ctx, in, "orders", `{"id":"o-2","country":"NZ","items":1}`)
	extest.SendJSON(t, ctx, in, "orders", `{"id":"o-1","country":"DE","items":3}`)
	m := r.Receive(t, got, "shipment")
	var s Shipment
	if err := json.Unmarshal(m.Payload, &s); err != nil {
		t.Fatalf("shipment %q: %v", m.Payload, err)
	}
	if s != (Shipment{OrderID: "o-1", Warehouse: "leipzig", Items: 3}) {
		t.Fatalf("shipment %+v", s)
	}
}

// Every profile of this directory loads and builds (without connecting to
// anything), so none can rot unnoticed.
func TestProfilesBuild(t *testing.T) {
	extest.ProfilesBuild(t, func(loaded *config.Loaded) error {
		_, _, err := buildApp(loaded, io.Discard)
		return err
	})
}
