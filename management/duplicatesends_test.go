package management_test

import (
	"context"
	"testing"

	"github.com/streambind/streambind/management"
	"github.com/streambind/streambind/stream"
)

// reportingBinder is the in-process binder whose producers report
// duplicates sends, as NATS JetStream's do.
type reportingBinder struct{ stream.Binder }

func (b reportingBinder) BindProducer(ctx context.Context, spec stream.ProducerSpec) (stream.Producer, error) {
	p, err := b.Binder.BindProducer(ctx, spec)
	if err != nil {
		return nil, err
	}
	return reportingProducer{p}, nil
}

type reportingProducer struct{ stream.Producer }

func (reportingProducer) SendStats() stream.SendStats { return stream.SendStats{Duplicates: 5} }

// TestDuplicateSendsServed: a binder's count of sends the broker took for
// duplicates (stream.SendReporter) is served as
// streambind_binding_duplicate_sends_total for output bindings, by
// /metrics and /actuator/bindings alike, and not for input bindings.
func TestDuplicateSendsServed(t *testing.T) {
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "sink", func(context.Context, string) error { return nil })
	cfg := &stream.Config{
		Function:       stream.FunctionConfig{Definition: "sink"},
		OutputBindings: "orders-out",
		Bindings: map[string]stream.BindingConfig{
			"orders-out": {Destination: "orders"},
			"sink-in-0":  {Destination: "orders", Group: "g"},
		},
	}
	base := runWithWrappedMemory(t, cfg, fns, func(b stream.Binder) stream.Binder { return reportingBinder{b} })
	const name = "streambind_binding_duplicate_sends_total"
	var views []management.BindingView
	getJSON(t, base+"/actuator/bindings", &views)
	for _, v := range views {
		n, ok := v.Counters[name]
		switch v.BindingName {
		case "orders-out":
			if !ok || n != 5 {
				t.Errorf("%s: %s = %d (served: %v), want 5", v.BindingName, name, n, ok)
			}
		default:
			if ok {
				t.Errorf("%s (input): %s served", v.BindingName, name)
			}
		}
	}
	fam := scrape(t, base)[name]
	if fam == nil || len(fam.GetMetric()) != 1 {
		t.Fatalf("/metrics: %s = %v, want one series", name, fam)
	}
	m := fam.GetMetric()[0]
	if label(m, "binding") != "orders-out" || m.GetCounter().GetValue() != 5 {
		t.Errorf("/metrics: %s{binding=%q} = %v, want orders-out 5", name, label(m, "binding"), m.GetCounter().GetValue())
	}
}
