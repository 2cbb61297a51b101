package management_test

import (
	"context"
	"log/slog"
	"testing"

	"github.com/streambind/streambind/binder/memory"
	"github.com/streambind/streambind/management"
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
	factory := func(ctx context.Context, s stream.BinderSettings) (stream.Binder, error) {
		b, err := memory.New(ctx, s)
		if err != nil {
			return nil, err
		}
		return slowLagBinder{b}, nil
	}
	app, err := stream.NewApp(cfg, fns, stream.WithBinderType(memory.Type, factory), stream.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	srv := management.New(app, management.Options{Config: management.Config{Address: "127.0.0.1:0"}})
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Shutdown(context.Background()) })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- app.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	select {
	case <-app.Ready():
	case err := <-done:
		t.Fatal(err)
	}
	fams := scrape(t, "http://"+srv.Addr())
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
