package stream_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/memory"
	"github.com/streambind/streambind/stream"
)

// consumer.retry-delays is read from YAML as a comma-separated list and
// inherited from stream.default; unset it is nil (retries in process).
func TestRetryDelaysConfig(t *testing.T) {
	cfg := loadYAML(t, "stream:\n  function:\n    definition: a;b\n  default:\n    consumer:\n      retry-delays: 1s,10s,1m\n  bindings:\n    a-in-0:\n      group: g\n    b-in-0:\n      group: g\n      consumer:\n        retry-delays: [250ms]\n")
	if got, want := cfg.Binding("a-in-0").Consumer.RetryDelays, []time.Duration{time.Second, 10 * time.Second, time.Minute}; !reflect.DeepEqual(got, want) {
		t.Errorf("a-in-0: %v, want %v", got, want)
	}
	if got, want := cfg.Binding("b-in-0").Consumer.RetryDelays, []time.Duration{250 * time.Millisecond}; !reflect.DeepEqual(got, want) {
		t.Errorf("b-in-0: %v, want %v", got, want)
	}
	if got := loadYAML(t, "stream:\n  bindings:\n    a-in-0:\n      group: g\n").Binding("a-in-0").Consumer.RetryDelays; got != nil {
		t.Errorf("unset: %v, want nil", got)
	}
}

// noDelays is a binder that does not implement stream.DelayedRetrier.
type noDelays struct{ stream.Binder }

func TestRetryDelaysValidation(t *testing.T) {
	const key = "stream.bindings.a-in-0.consumer.retry-delays"
	without := func(ctx context.Context, s stream.BinderSettings) (stream.Binder, error) {
		b, err := memory.New(ctx, s)
		return noDelays{b}, err
	}
	for _, tc := range []struct {
		name string
		bc   stream.BindingConfig
		typ  stream.BinderFactory
		want []string
	}{
		{"negative", stream.BindingConfig{Group: "g", Consumer: stream.ConsumerConfig{RetryDelays: []time.Duration{time.Second, -time.Second}}}, nil, []string{key + "[1]", "between 1ms"}},
		{"sub-millisecond", stream.BindingConfig{Group: "g", Consumer: stream.ConsumerConfig{RetryDelays: []time.Duration{1500 * time.Microsecond}}}, nil, []string{key + "[0]", "whole milliseconds"}},
		{"batch mode", stream.BindingConfig{Group: "g", Consumer: stream.ConsumerConfig{BatchMode: true, RetryDelays: []time.Duration{time.Second}}}, nil, []string{key, "batch-mode"}},
		{"anonymous", stream.BindingConfig{Consumer: stream.ConsumerConfig{RetryDelays: []time.Duration{time.Second}}}, nil, []string{key, "need a consumer group"}},
		{"unsupported binder", stream.BindingConfig{Group: "g", Consumer: stream.ConsumerConfig{RetryDelays: []time.Duration{time.Second}}}, without, []string{key, "does not support non-blocking retries"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := tc.typ
			if f == nil {
				f = memory.New
			}
			fns := stream.NewCatalog()
			stream.AddConsumer(fns, "a", func(context.Context, []string) error { return nil })
			cfg := &stream.Config{Bindings: map[string]stream.BindingConfig{"a-in-0": tc.bc}}
			_, err := stream.NewApp(cfg, fns, stream.WithoutSignals(), stream.WithLogger(discardLogger()), stream.WithBinderType(memory.Type, f))
			if err == nil {
				t.Fatalf("no error, want one mentioning %q", tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

// With header-mode none the function sees no headers, but the retry
// headers still count the attempts: a message that always fails is
// dead-lettered after 1 + len(retry-delays) attempts, not retried forever.
func TestRetryDelaysHeaderModeNone(t *testing.T) {
	calls := make(chan stream.Headers, 10)
	dead := make(chan stream.Message[string], 1)
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "a", func(_ context.Context, m stream.Message[string]) error {
		calls <- m.Headers
		return errors.New("always")
	})
	stream.AddConsumer(fns, "d", func(_ context.Context, m stream.Message[string]) error {
		dead <- m
		return nil
	})
	cfg := &stream.Config{
		Function:       stream.FunctionConfig{Definition: "a;d"},
		OutputBindings: "out",
		Bindings: map[string]stream.BindingConfig{
			"out":    {Destination: "in", ContentType: "text/plain"},
			"a-in-0": {Destination: "in", Group: "g", ContentType: "text/plain", Consumer: stream.ConsumerConfig{HeaderMode: stream.HeaderModeNone, DLQ: true, RetryDelays: []time.Duration{10 * time.Millisecond, 20 * time.Millisecond}}},
			"d-in-0": {ContentType: "text/plain", Consumer: stream.ConsumerConfig{DeadLettersOf: "a-in-0"}},
		},
	}
	app, err := stream.NewApp(cfg, fns, stream.WithoutSignals(), stream.WithLogger(discardLogger()), stream.WithBinderType(memory.Type, memory.New))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- app.Run(ctx) }()
	defer func() { cancel(); <-done }()
	<-app.Ready()
	if err := app.Bridge().Send(ctx, "out", "x"); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-dead:
		if got := m.Headers[stream.HeaderRetryAttempts]; got != "3" {
			t.Errorf("dead letter %s = %q, want 3", stream.HeaderRetryAttempts, got)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no dead letter")
	}
	if n := len(calls); n != 3 {
		t.Errorf("%d attempts, want 3", n)
	}
	for range len(calls) {
		if h := <-calls; len(h) != 0 {
			t.Errorf("the function saw headers %v with header-mode none", h)
		}
	}
}
