package management_test

import (
	"context"
	"testing"

	"github.com/streambind/streambind/stream"
)

// slowLagBinder is the in-process binder with a broker slow to tell a
// consumer's lag (its consumers' Lag takes all of its context) and a
// Health that honours its context.
type slowLagBinder struct{ stream.Binder }

func (b slowLagBinder) BindConsumer(ctx context.Context, spec stream.ConsumerSpec) (stream.Consumer, error) {
	c, err := b.Binder.BindConsumer(ctx, spec)
	if err != nil {
		return nil, err
	}
	return slowLagConsumer{c}, nil
}

func (slowLagBinder) Health(ctx context.Context) error { return ctx.Err() }

type slowLagConsumer struct{ stream.Consumer }

func (slowLagConsumer) Lag(ctx context.Context) ([]stream.PartitionLag, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

// TestSlowLagDoesNotTakeHealthsTime: a lag read that uses up its context
// leaves the binders' health its own: streambind_binder_up stays 1 for a
// binder whose Health honours its context. Before, the scrape's one 2s
// context went to the lag reads first and Health got it expired.
func TestSlowLagDoesNotTakeHealthsTime(t *testing.T) {
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "sink", func(context.Context, string) error { return nil })
	cfg := &stream.Config{
		Function: stream.FunctionConfig{Definition: "sink"},
		Bindings: map[string]stream.BindingConfig{
			"sink-in-0": {Destination: "orders", Group: "g"},
		},
	}
	fams := scrape(t, runWithWrappedMemory(t, cfg, fns, func(b stream.Binder) stream.Binder { return slowLagBinder{b} }))
	up := fams["streambind_binder_up"]
	if up == nil || len(up.Metric) == 0 {
		t.Fatal("no streambind_binder_up")
	}
	for _, m := range up.Metric {
		if v := m.GetGauge().GetValue(); v != 1 {
			t.Errorf("streambind_binder_up %v = %v, want 1 (Health got the lag reads' context)", m.GetLabel(), v)
		}
	}
	if bu := fams["streambind_binding_up"]; bu == nil || len(bu.Metric) == 0 || bu.Metric[0].GetGauge().GetValue() != 1 {
		t.Errorf("streambind_binding_up: %v, want 1", bu)
	}
	if _, ok := fams["streambind_consumer_lag"]; ok {
		t.Error("streambind_consumer_lag served for a read that did not end")
	}
}
