package stream_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/rabbit"
	"github.com/streambind/streambind/binder/rabbit/rabbittest"
	"github.com/streambind/streambind/stream"
)

// TestHeldOutputRabbitPipelined is TestHeldOutputCallsFunctionOnce on
// RabbitMQ, pipelined (max-in-flight, the binder's AsyncHandler): with the
// output paused, the function is called at most once per input over 50
// redelivery-delays, nothing counts as an error or a retry, and once the
// output is resumed every input's output arrives once and every input is
// acknowledged. Each call's output send failed: the input was requeued
// and the function called again every redelivery-delay.
func TestHeldOutputRabbitPipelined(t *testing.T) {
	t.Parallel()
	const n = 10
	const delay = 20 * time.Millisecond
	vhost := rabbittest.VHost(t)
	admin := rabbittest.Channel(t, vhost)
	var mu sync.Mutex
	calls := map[string]int{}
	called := make(chan struct{}, 100)
	fns := stream.NewCatalog()
	stream.AddFunction(fns, "relay", func(_ context.Context, s string) (string, error) {
		mu.Lock()
		calls[s]++
		mu.Unlock()
		select {
		case called <- struct{}{}:
		default: // the test counts calls in the map
		}
		return s, nil
	})
	cfg := &stream.Config{
		DefaultBinder: "rabbit",
		Function:      stream.FunctionConfig{Definition: "relay"},
		Binders: map[string]stream.BinderConfig{"rabbit": {Type: rabbit.Type,
			Environment: map[string]any{"addresses": rabbittest.Address(), "virtual-host": vhost}}},
		Bindings: map[string]stream.BindingConfig{
			"relay-in-0":  {Destination: "in", Group: "g", ContentType: "text/plain", Consumer: stream.ConsumerConfig{MaxAttempts: 3, BackOffInitialInterval: time.Millisecond, BackOffMaxInterval: 5 * time.Millisecond, MaxInFlight: 16}},
			"relay-out-0": {Destination: "out", ContentType: "text/plain"},
		},
		Extensions: map[string]stream.ExtensionConfig{rabbit.Type: {Bindings: map[string]stream.ExtensionBindingConfig{
			"relay-in-0": {Consumer: map[string]any{"redelivery-delay": delay.String()}},
		}}},
	}
	logs := &lineCounter{sub: "outputs wait until"}
	app, err := stream.NewApp(cfg, fns, stream.WithBinderType(rabbit.Type, rabbit.New), stream.WithoutSignals(), stream.WithLogger(slog.New(logs)))
	if err != nil {
		t.Fatal(err)
	}
	r := runApp(t, app)
	if _, err := admin.QueueDeclare("out-tap", false, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	if err := admin.QueueBind("out-tap", "#", "out", false, nil); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	in, out := app.Binding("relay-in-0"), app.Binding("relay-out-0")
	if err := out.Pause(ctx); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if err := app.Bridge().Send(ctx, "relay-in-0", fmt.Sprint("m-", i)); err != nil {
			t.Fatal(err)
		}
	}
	recv(t, called)
	// Calls within 50 redelivery-delays: each input's at most once.
	window := time.After(50 * delay)
	for done := false; !done; {
		select {
		case <-called:
		case <-window:
			done = true
		}
	}
	mu.Lock()
	for id, c := range calls {
		if c > 1 {
			t.Errorf("input %s: the function was called %d times while the output was paused, want once", id, c)
		}
	}
	held := len(calls)
	mu.Unlock()
	if s := in.Stats(); s.Errors != 0 || s.Retried != 0 || s.Processed != 0 {
		t.Errorf("input stats while the output is paused: %+v, want no errors, no retries, nothing processed", s)
	}
	if lines, text := logs.count(); lines != 1 {
		t.Errorf("%d log lines about the held outputs, want one:\n%s", lines, text)
	}
	t.Logf("%d inputs handled and held while the output was paused", held)
	if err := out.Resume(ctx); err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for len(got) < n {
		d, ok, err := admin.Get("out-tap", true)
		switch {
		case err != nil:
			t.Fatal(err)
		case ok:
			got[string(d.Body)]++
		case ctx.Err() != nil:
			t.Fatalf("outputs %v, want %d", got, n)
		default:
			time.Sleep(10 * time.Millisecond)
		}
	}
	for in.Stats().Processed < n && ctx.Err() == nil {
		time.Sleep(10 * time.Millisecond)
	}
	// Any duplicate would come within a few redelivery-delays.
	for quiet := time.Now().Add(10 * delay); time.Now().Before(quiet); {
		if d, ok, err := admin.Get("out-tap", true); err != nil {
			t.Fatal(err)
		} else if ok {
			t.Fatalf("output %q more than the %d inputs", d.Body, n)
		}
		time.Sleep(delay / 4)
	}
	for id, c := range got {
		if c != 1 {
			t.Errorf("output %s arrived %d times", id, c)
		}
	}
	mu.Lock()
	var twice []string
	for id, c := range calls {
		if c != 1 {
			twice = append(twice, fmt.Sprintf("%s: %d", id, c))
		}
	}
	if len(calls) != n || len(twice) > 0 {
		t.Errorf("the function was called for %d inputs, %s; want each of %d once", len(calls), strings.Join(twice, ", "), n)
	}
	mu.Unlock()
	if s := in.Stats(); s.Processed != n || s.Errors != 0 || s.Retried != 0 {
		t.Errorf("input stats %+v, want %d processed, no errors, no retries", s, n)
	}
	if q, err := admin.QueueDeclarePassive("in.g", true, false, false, false, nil); err != nil || q.Messages != 0 {
		t.Errorf("input queue: %+v, %v; want it empty", q, err)
	}
	if err := r.stop(); err != nil {
		t.Fatal(err)
	}
}
