package bindertest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/streambind/streambind/stream"
)

// RunApp runs app until the test or benchmark ends (its cleanup stops the
// app and reports an error Run returned) and waits, up to a minute, for
// it to be ready; a Run that ends first fails tb. The returned stop ends
// the run earlier (a test that checks what shutdown did) and returns
// Run's error; the cleanup then reports nothing more.
func RunApp(tb testing.TB, app *stream.App) (stop func() error) {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	var runErr error
	go func() {
		defer close(done)
		runErr = app.Run(ctx)
	}()
	var once sync.Once
	end := func() error {
		cancel()
		<-done
		return runErr
	}
	tb.Cleanup(func() {
		once.Do(func() {
			if err := end(); err != nil {
				tb.Errorf("Run: %v", err)
			}
		})
	})
	select {
	case <-app.Ready():
	case <-done:
		tb.Fatalf("Run ended before the app was ready: %v", runErr)
	case <-time.After(time.Minute):
		tb.Fatal("the app is not ready after a minute")
	}
	return func() error {
		var err error
		once.Do(func() { err = end() })
		return err
	}
}

// ConsumeStacks makes the two stacks of an App-against-bare-binder consume
// benchmark (CompareAppToBinder), both counting into cnt: bare, a consumer
// of binDest on bd in group "binder" (concurrency 1, the default
// max-attempts); and app, the binding of a stream.App (run until the
// benchmark ends) with one []byte consumer "sink" of appDest in group
// "app", on a binder of type typ made by f with environment env, not
// started. Both read application/octet-stream, and both with
// stream.ConsumerSpec.LazyHeaders, which the App sets for such a consumer:
// the comparison is of the App's own work, on the same binder path. opts
// are the App's further options (its logger).
func ConsumeStacks(b *testing.B, bd stream.Binder, typ string, f stream.BinderFactory, env map[string]any,
	binDest, appDest string, cnt *RoundCounter, opts ...stream.Option) (bare, app Startable) {
	b.Helper()
	const ct = "application/octet-stream"
	bc, err := bd.BindConsumer(context.Background(), stream.ConsumerSpec{Binding: "sink-in-0", Destination: binDest, Group: "binder",
		ContentType: ct, LazyHeaders: true,
		Consumer: stream.ConsumerConfig{Concurrency: 1, MaxAttempts: stream.DefaultMaxAttempts, InstanceCount: 1},
		Handler:  func(context.Context, stream.Envelope) error { cnt.Handled(); return nil }})
	if err != nil {
		b.Fatal(err)
	}
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "sink", func(_ context.Context, _ []byte) error { cnt.Handled(); return nil })
	cfg := &stream.Config{
		Function:      stream.FunctionConfig{Definition: "sink"},
		DefaultBinder: "b",
		Binders:       map[string]stream.BinderConfig{"b": {Type: typ, Environment: env}},
		Bindings: map[string]stream.BindingConfig{
			"sink-in-0": {Destination: appDest, Group: "app", ContentType: ct,
				Consumer: stream.ConsumerConfig{AutoStartup: new(bool)}},
		},
	}
	a, err := stream.NewApp(cfg, fns, append([]stream.Option{stream.WithBinderType(typ, f), stream.WithoutSignals()}, opts...)...)
	if err != nil {
		b.Fatal(err)
	}
	RunApp(b, a)
	return bc, a.Binding("sink-in-0")
}
