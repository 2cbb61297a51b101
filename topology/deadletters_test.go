package topology_test

import (
	"context"
	"testing"

	"github.com/streambind/streambind/binder/memory"
	"github.com/streambind/streambind/binder/rabbit"
	"github.com/streambind/streambind/stream"
	"github.com/streambind/streambind/topology"
)

// readerApp builds (without connecting) an app with a dead-letter reader,
// auditDeadLetters-in-0, of chargePayment-in-0 (orders, group payment,
// dlq; on RabbitMQ its dead-letter queue is payment-dead). With withSource
// the app binds chargePayment too; else it only configures its binding
// (the reader runs in a process of its own).
func readerApp(t *testing.T, binderType string, withSource bool) *stream.App {
	t.Helper()
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "auditDeadLetters", func(context.Context, []byte) error { return nil })
	stream.AddConsumer(fns, "chargePayment", func(context.Context, []byte) error { return nil })
	def := "auditDeadLetters"
	if withSource {
		def = "chargePayment;auditDeadLetters"
	}
	cfg := &stream.Config{
		DefaultBinder: binderType,
		Function:      stream.FunctionConfig{Definition: def},
		Bindings: map[string]stream.BindingConfig{
			"chargePayment-in-0":    {Destination: "orders", Group: "payment", Consumer: stream.ConsumerConfig{DLQ: true}},
			"auditDeadLetters-in-0": {Consumer: stream.ConsumerConfig{DeadLettersOf: "chargePayment-in-0"}},
		},
	}
	if binderType == rabbit.Type {
		cfg.Extensions = map[string]stream.ExtensionConfig{rabbit.Type: {Bindings: map[string]stream.ExtensionBindingConfig{
			"chargePayment-in-0": {Consumer: map[string]any{"dead-letter-queue-name": "payment-dead"}},
		}}}
	}
	app, err := stream.NewApp(cfg, fns, stream.WithBinderType(rabbit.Type, rabbit.New), stream.WithBinderType(memory.Type, memory.New))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, b := range app.Binders() {
			_ = b.Close(context.Background())
		}
	})
	return app
}

// bindingIDs lists a service's bindings as "name → destination ids".
func bindingIDs(s topology.Service) []string {
	var out []string
	for _, b := range s.Bindings {
		line := b.Name + " →"
		for _, id := range b.DestinationIDs {
			line += " " + id
		}
		if len(b.DeadLetterIDs) > 0 {
			line += " dl"
			for _, id := range b.DeadLetterIDs {
				line += " " + id
			}
		}
		out = append(out, line)
	}
	return out
}

// destKinds lists the destinations as "id kind dead-letter consumers".
func destKinds(m *topology.Model) []string {
	var out []string
	for _, d := range m.Destinations {
		line := d.ID + " " + d.Kind
		if d.DeadLetter {
			line += " dead-letter"
		}
		for _, c := range d.Consumers {
			line += " c=" + c.Binding
		}
		out = append(out, line)
	}
	return out
}

func findingKinds(m *topology.Model) []string {
	var out []string
	for _, f := range m.Findings {
		out = append(out, f.Kind+" "+f.DestinationID)
	}
	return out
}

// A running dead-letter reader's app has rewritten the reader's binding
// (RabbitMQ: destination DLX, group payment-dead, queue-name-group-only):
// the model has it read the dead-letter queue payment-dead, as streambind
// graph does from the files, not the exchange DLX (it had rabbit:DLX and
// "DLX (rabbit) is consumed by auditDeadLetters-in-0 but produced by
// none").
func TestFromAppDeadLetterReaderOfItsOwn(t *testing.T) {
	m := topology.Build([]topology.ServiceSpec{topology.FromApp(readerApp(t, rabbit.Type, false), "audit")})
	check(t, "bindings", bindingIDs(m.Services[0]), []string{"auditDeadLetters-in-0 → rabbit:payment-dead"})
	check(t, "destinations", destKinds(m), []string{"rabbit:payment-dead queue dead-letter c=auditDeadLetters-in-0"})
	check(t, "findings", findingKinds(m), nil)
	if b := m.Services[0].Bindings[0]; len(b.Queues) != 1 || b.Queues[0] != "payment-dead" {
		t.Errorf("queues %v, want [payment-dead]", b.Queues)
	}

	// In process: the reader reads error.orders.payment in its own group.
	m = topology.Build([]topology.ServiceSpec{topology.FromApp(readerApp(t, memory.Type, false), "audit")})
	check(t, "in-process bindings", bindingIDs(m.Services[0]), []string{"auditDeadLetters-in-0 → memory:error.orders.payment"})
	check(t, "in-process destinations", destKinds(m), []string{"memory:error.orders.payment  dead-letter c=auditDeadLetters-in-0"})
	check(t, "in-process findings", findingKinds(m), nil)
}

// A reader in the process of the binding it reads: both meet on the
// dead-letter destination.
func TestFromAppDeadLetterReaderBesideItsSource(t *testing.T) {
	m := topology.Build([]topology.ServiceSpec{topology.FromApp(readerApp(t, rabbit.Type, true), "shop")})
	check(t, "bindings", bindingIDs(m.Services[0]), []string{
		"chargePayment-in-0 → rabbit:orders dl rabbit:payment-dead",
		"auditDeadLetters-in-0 → rabbit:payment-dead",
	})
	check(t, "destinations", destKinds(m), []string{
		"rabbit:orders exchange c=chargePayment-in-0",
		"rabbit:payment-dead queue dead-letter c=auditDeadLetters-in-0",
	})
	check(t, "findings", findingKinds(m), []string{"consumed-not-produced rabbit:orders"})

	m = topology.Build([]topology.ServiceSpec{topology.FromApp(readerApp(t, memory.Type, true), "shop")})
	check(t, "in-process bindings", bindingIDs(m.Services[0]), []string{
		"chargePayment-in-0 → memory:orders dl memory:error.orders.payment",
		"auditDeadLetters-in-0 → memory:error.orders.payment",
	})
	check(t, "in-process findings", findingKinds(m), []string{"consumed-not-produced memory:orders"})
}

// A dead-letter reader reads a dead-letter destination, also when the
// binding whose dead letters it reads is not in the model (it runs in
// another service, not given).
func TestBuildDeadLetterReaderAlone(t *testing.T) {
	m := topology.Build([]topology.ServiceSpec{{Name: "audit",
		Functions: []topology.FunctionSpec{{Name: "auditDeadLetters", Kind: "consumer"}},
		Bindings: []topology.BindingSpec{
			{Name: "auditDeadLetters-in-0", Function: "auditDeadLetters", Input: true, Configured: true,
				Destinations: []string{"error.orders.payment"}, Group: "audit", BinderName: "kafka", BinderType: "kafka",
				Consumer: stream.ConsumerConfig{DeadLettersOf: "chargePayment-in-0"}},
		}}})
	check(t, "bindings", bindingIDs(m.Services[0]), []string{"auditDeadLetters-in-0 → kafka:error.orders.payment"})
	check(t, "destinations", destKinds(m), []string{"kafka:error.orders.payment  dead-letter c=auditDeadLetters-in-0"})
	check(t, "findings", findingKinds(m), nil)
}
