package stream_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/memory"
	"github.com/streambind/streambind/binder/rabbit/rabbittest"
	"github.com/streambind/streambind/stream"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(rabbittest.Wrap(m)) }

const wait = 10 * time.Second

type Order struct {
	OrderID    string  `json:"orderId"`
	CustomerID string  `json:"customerId"`
	Quantity   int     `json:"quantity"`
	Amount     float64 `json:"amount"`
}

type Payment struct {
	OrderID string  `json:"orderId"`
	Amount  float64 `json:"amount"`
}

// running is an app started by start; stop shuts it down and returns Run's
// error.
type running struct {
	app  *stream.App
	stop func() error
}

func start(t *testing.T, cfg *stream.Config, fns *stream.Catalog, opts ...stream.Option) *running {
	t.Helper()
	opts = append([]stream.Option{stream.WithBinderType(memory.Type, memory.New), stream.WithoutSignals(), stream.WithLogger(testLogger(t))}, opts...)
	app, err := stream.NewApp(cfg, fns, opts...)
	if err != nil {
		t.Fatalf("NewApp: %v", err)
	}
	return runApp(t, app)
}

func runApp(t *testing.T, app *stream.App) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- app.Run(ctx) }()
	select {
	case <-app.Ready():
	case err := <-done:
		cancel()
		t.Fatalf("Run ended before ready: %v", err)
	case <-time.After(wait):
		cancel()
		t.Fatal("app not ready in time")
	}
	var once sync.Once
	var runErr error
	stop := func() error {
		once.Do(func() {
			cancel()
			select {
			case runErr = <-done:
			case <-time.After(wait):
				runErr = errors.New("Run did not return after cancel")
			}
		})
		return runErr
	}
	t.Cleanup(func() { _ = stop() })
	return &running{app: app, stop: stop}
}

func recv[T any](t *testing.T, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(wait):
		t.Fatal("timed out waiting for a message")
	}
	var zero T
	return zero
}

func fastRetry(max int) stream.ConsumerConfig {
	return stream.ConsumerConfig{MaxAttempts: max, BackOffInitialInterval: time.Millisecond, BackOffMaxInterval: 5 * time.Millisecond}
}

func TestPipelineSupplierFunctionConsumer(t *testing.T) {
	orders := make(chan Order)
	got := make(chan Payment, 10)
	fns := stream.NewCatalog()
	stream.AddSource(fns, "placeOrder", stream.FromChannel(orders))
	stream.AddFunction(fns, "charge", func(_ context.Context, o Order) (Payment, error) {
		return Payment{OrderID: o.OrderID, Amount: o.Amount}, nil
	})
	stream.AddConsumer(fns, "notify", func(_ context.Context, p Payment) error { got <- p; return nil })
	cfg := &stream.Config{
		Function: stream.FunctionConfig{Definition: "placeOrder;charge;notify"},
		Bindings: map[string]stream.BindingConfig{
			"placeOrder-out-0": {Destination: "orders"},
			"charge-in-0":      {Destination: "orders", Group: "payment"},
			"charge-out-0":     {Destination: "payments"},
			"notify-in-0":      {Destination: "payments", Group: "notifications"},
		},
	}
	r := start(t, cfg, fns)
	for i := range 5 {
		orders <- Order{OrderID: fmt.Sprint("o-", i), Amount: float64(i)}
	}
	for i := range 5 {
		p := recv(t, got)
		if p.OrderID != fmt.Sprint("o-", i) || p.Amount != float64(i) {
			t.Fatalf("payment %d = %+v", i, p)
		}
	}
	if err := r.stop(); err != nil {
		t.Fatal(err)
	}
	if s := r.app.Binding("charge-in-0").Stats(); s.Processed != 5 || s.Failed != 0 {
		t.Fatalf("charge-in-0 stats %+v", s)
	}
	if s := r.app.Binding("charge-out-0").Stats(); s.Sent != 5 {
		t.Fatalf("charge-out-0 stats %+v", s)
	}
}

// dlqApp binds fn on "work" (group g) with the given consumer settings and a
// reader of its DLQ.
func dlqApp(t *testing.T, fn func(context.Context, Order) error, cc stream.ConsumerConfig, opts ...stream.Option) (*running, chan stream.Message[[]byte], *atomic.Int64) {
	t.Helper()
	dead := make(chan stream.Message[[]byte], 10)
	calls := new(atomic.Int64)
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "work", func(ctx context.Context, o Order) error { calls.Add(1); return fn(ctx, o) })
	stream.AddConsumer(fns, "dlq", func(_ context.Context, m stream.Message[[]byte]) error { dead <- m; return nil })
	cc.DLQ = true
	cfg := &stream.Config{
		Function:       stream.FunctionConfig{Definition: "work;dlq"},
		OutputBindings: "in",
		Bindings: map[string]stream.BindingConfig{
			"work-in-0": {Destination: "work", Group: "g", Consumer: cc},
			"dlq-in-0":  {Destination: stream.DLQName("work", "g"), Group: "reader"},
			"in":        {Destination: "work"},
		},
	}
	return start(t, cfg, fns, opts...), dead, calls
}

func TestRetryThenSuccess(t *testing.T) {
	var n atomic.Int64
	done := make(chan struct{})
	r, _, calls := dlqApp(t, func(_ context.Context, o Order) error {
		if n.Add(1) < 3 {
			return errors.New("transient")
		}
		close(done)
		return nil
	}, fastRetry(3))
	if err := r.app.Bridge().Send(context.Background(), "in", Order{OrderID: "o-1"}); err != nil {
		t.Fatal(err)
	}
	recv(t, done)
	_ = r.stop()
	if s := r.app.Binding("work-in-0").Stats(); s.Processed != 1 || s.Retried != 2 || s.Failed != 0 || calls.Load() != 3 {
		t.Fatalf("stats %+v calls %d", s, calls.Load())
	}
}

func TestFailuresAreDeadLettered(t *testing.T) {
	cases := []struct {
		name      string
		payload   any
		fn        func(context.Context, Order) error
		wantCalls int64
		wantMsg   string
	}{
		{"exhausted", Order{OrderID: "o-1"}, func(context.Context, Order) error { return errors.New("boom") }, 3, "boom"},
		{"permanent", Order{OrderID: "o-1"}, func(context.Context, Order) error { return stream.Permanent(errors.New("bad order")) }, 1, "bad order"},
		{"panic", Order{OrderID: "o-1"}, func(context.Context, Order) error { panic("kaboom") }, 3, "kaboom"},
		{"undecodable", []byte(`{"orderId":`), func(context.Context, Order) error { return nil }, 0, "cannot decode application/json as stream_test.Order"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			failed := make(chan stream.FailedMessage, 1)
			r, dead, calls := dlqApp(t, c.fn, fastRetry(3), stream.WithErrorHandler("work-in-0", func(_ context.Context, m stream.FailedMessage) { failed <- m }))
			if err := r.app.Bridge().Send(context.Background(), "in", c.payload); err != nil {
				t.Fatal(err)
			}
			m := recv(t, dead)
			fm := recv(t, failed)
			if !strings.Contains(m.Headers[stream.HeaderExceptionMessage], c.wantMsg) || m.Headers[stream.HeaderExceptionFQCN] == "" || m.Headers[stream.HeaderExceptionStacktrace] == "" {
				t.Fatalf("dead letter headers %v", m.Headers)
			}
			if c.name == "undecodable" && !strings.Contains(m.Headers[stream.HeaderExceptionMessage], "work-in-0") {
				t.Fatalf("conversion error must name the binding: %q", m.Headers[stream.HeaderExceptionMessage])
			}
			if !fm.DeadLettered || fm.Binding != "work-in-0" {
				t.Fatalf("error handler got %+v", fm)
			}
			_ = r.stop()
			if calls.Load() != c.wantCalls {
				t.Fatalf("handler called %d times, want %d", calls.Load(), c.wantCalls)
			}
			if s := r.app.Binding("work-in-0").Stats(); s.Failed != 1 || s.DeadLettered != 1 || s.Retried != max(c.wantCalls-1, 0) {
				t.Fatalf("stats %+v", s)
			}
		})
	}
}

func TestSkipSendsNothing(t *testing.T) {
	got := make(chan string, 10)
	fns := stream.NewCatalog()
	stream.AddFunction(fns, "filter", func(_ context.Context, s string) (*string, error) {
		switch s {
		case "skip":
			return nil, stream.Skip
		case "nil":
			return nil, nil
		}
		return &s, nil
	})
	stream.AddConsumer(fns, "sink", func(_ context.Context, s string) error { got <- s; return nil })
	cfg := &stream.Config{
		Function:       stream.FunctionConfig{Definition: "filter;sink"},
		OutputBindings: "src",
		Bindings: map[string]stream.BindingConfig{
			"src":          {Destination: "a"},
			"filter-in-0":  {Destination: "a", Group: "g"},
			"filter-out-0": {Destination: "b"},
			"sink-in-0":    {Destination: "b", Group: "g", ContentType: "text/plain"},
		},
	}
	r := start(t, cfg, fns)
	for _, s := range []string{"skip", "nil", "keep"} {
		if err := r.app.Bridge().Send(context.Background(), "src", s); err != nil {
			t.Fatal(err)
		}
	}
	if s := recv(t, got); s != `"keep"` {
		t.Fatalf("got %q", s) // *string is JSON-encoded on an application/json binding
	}
	_ = r.stop()
	if s := r.app.Binding("filter-in-0").Stats(); s.Processed != 3 {
		t.Fatalf("stats %+v", s)
	}
	if len(got) != 0 {
		t.Fatalf("skipped messages were sent: %d", len(got))
	}
}

func TestPartitioning(t *testing.T) {
	got := make(chan stream.Message[Order], 100)
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "sink", func(_ context.Context, m stream.Message[Order]) error { got <- m; return nil })
	cfg := &stream.Config{
		Function:       stream.FunctionConfig{Definition: "sink"},
		OutputBindings: "orders-out",
		Bindings: map[string]stream.BindingConfig{
			"orders-out": {Destination: "orders", Producer: stream.ProducerConfig{PartitionKeyExpression: "payload.customerId", PartitionCount: 3}},
			"sink-in-0":  {Destination: "orders", Group: "g"},
		},
	}
	r := start(t, cfg, fns)
	for _, c := range []string{"c-1", "c-2", "c-7", "c-1"} {
		if err := r.app.Bridge().Send(context.Background(), "orders-out", Order{CustomerID: c}); err != nil {
			t.Fatal(err)
		}
	}
	for range 4 {
		m := recv(t, got)
		want := fmt.Sprint(stream.SelectPartition(stream.StringHash(m.Payload.CustomerID), 3))
		if m.Headers[stream.HeaderPartition] != want {
			t.Fatalf("%s: partition %q, want %s", m.Payload.CustomerID, m.Headers[stream.HeaderPartition], want)
		}
	}
	// "c-7" hashes to 96589; 96589 % 3 == 1.
	if stream.SelectPartition(stream.StringHash("c-7"), 3) != 1 {
		t.Fatal("SCSt partition of c-7 over 3 must be 1")
	}
	// A message without the key field cannot be routed: a permanent error.
	err := r.app.Bridge().Send(context.Background(), "orders-out", map[string]string{"other": "x"})
	if !stream.IsPermanent(err) || !strings.Contains(err.Error(), "customerId") {
		t.Fatalf("want a permanent partition-key error, got %v", err)
	}
}

func TestCompositionAndBatch(t *testing.T) {
	got := make(chan []Order, 10)
	fns := stream.NewCatalog()
	stream.AddFunction(fns, "parse", func(_ context.Context, b []byte) (Order, error) {
		return Order{OrderID: strings.ToUpper(string(b))}, nil
	})
	stream.AddFunction(fns, "enrich", func(_ context.Context, o Order) (Order, error) { o.Quantity = 1; return o, nil })
	stream.AddConsumer(fns, "batch", func(_ context.Context, os []Order) error { got <- os; return nil })
	cfg := &stream.Config{
		Function:       stream.FunctionConfig{Definition: "parse|enrich;batch"},
		OutputBindings: "raw",
		Bindings: map[string]stream.BindingConfig{
			"raw":               {Destination: "raw"},
			"parse|enrich-in-0": {Destination: "raw", Group: "g"},
			"parse|enrich-out-0": {Destination: "parsed", Producer: stream.ProducerConfig{
				RequiredGroups: []string{"g"}}},
			"batch-in-0": {Destination: "parsed", Group: "g", Consumer: stream.ConsumerConfig{BatchMode: true, AutoStartup: ptr(false)}},
		},
	}
	r := start(t, cfg, fns)
	for _, s := range []string{"a", "b", "c"} {
		if err := r.app.Bridge().Send(context.Background(), "raw", s); err != nil {
			t.Fatal(err)
		}
	}
	// The batch consumer starts once all three wait in its queue.
	deadline := time.Now().Add(wait)
	for r.app.Binding("parse|enrich-in-0").Stats().Processed < 3 {
		if time.Now().After(deadline) {
			t.Fatal("composed function did not process")
		}
		time.Sleep(time.Millisecond) // polling a counter, bounded by the deadline
	}
	if err := r.app.Binding("batch-in-0").Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	var all []Order
	for len(all) < 3 {
		all = append(all, recv(t, got)...)
	}
	if all[0] != (Order{OrderID: "A", Quantity: 1}) || all[2].OrderID != "C" {
		t.Fatalf("got %+v", all)
	}
}

func ptr[T any](v T) *T { return &v }

func TestBridgeDynamicDestinations(t *testing.T) {
	got := make(chan string, 100)
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "sink", func(_ context.Context, s string) error { got <- s; return nil })
	cfg := &stream.Config{
		Function:                    stream.FunctionConfig{Definition: "sink"},
		DynamicDestinationCacheSize: 2,
		Bindings: map[string]stream.BindingConfig{
			"sink-in-0": {Destination: "d1,d2,d3", Group: "g"},
		},
	}
	r := start(t, cfg, fns)
	br := r.app.Bridge()
	var wg sync.WaitGroup
	for i := range 30 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := br.Send(context.Background(), fmt.Sprint("d", i%3+1), fmt.Sprint(i)); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	seen := map[string]bool{}
	for range 30 {
		seen[recv(t, got)] = true
	}
	if len(seen) != 30 {
		t.Fatalf("received %d distinct of 30", len(seen))
	}
	if n := len(br.DynamicDestinations()); n != 2 {
		t.Fatalf("cache holds %d producers, want 2", n)
	}
	// An input binding's name: its first destination, not cached.
	if err := br.Send(context.Background(), "sink-in-0", "x"); err != nil {
		t.Fatal(err)
	}
	if s := recv(t, got); s != "x" {
		t.Fatalf("got %q", s)
	}
	if n := len(br.DynamicDestinations()); n != 2 {
		t.Fatalf("cache holds %d producers, want 2", n)
	}
}

func TestBridgeAllowList(t *testing.T) {
	fns := stream.NewCatalog()
	cfg := &stream.Config{DynamicDestinations: []string{"ok"}}
	r := start(t, cfg, fns)
	if err := r.app.Bridge().Send(context.Background(), "ok", "x"); err != nil {
		t.Fatal(err)
	}
	if err := r.app.Bridge().Send(context.Background(), "other", "x"); err == nil {
		t.Fatal("a destination outside dynamic-destinations was accepted")
	}
}

func TestOrderPerKeyWithConcurrency(t *testing.T) {
	var mu sync.Mutex
	last := map[string]int{}
	var inflight, peak atomic.Int64
	done := make(chan struct{})
	var total atomic.Int64
	const keys, perKey = 8, 50
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "sink", func(_ context.Context, m stream.Message[map[string]any]) error {
		n := inflight.Add(1)
		defer inflight.Add(-1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		k := m.Payload["key"].(string)
		seq := int(m.Payload["seq"].(float64))
		mu.Lock()
		if prev, ok := last[k]; ok && seq != prev+1 {
			t.Errorf("key %s: %d after %d", k, seq, prev)
		}
		last[k] = seq
		mu.Unlock()
		time.Sleep(100 * time.Microsecond) // widen the window for reordering
		if total.Add(1) == keys*perKey {
			close(done)
		}
		return nil
	})
	cfg := &stream.Config{
		Function:       stream.FunctionConfig{Definition: "sink"},
		OutputBindings: "out",
		Bindings: map[string]stream.BindingConfig{
			"out":       {Destination: "keyed", Producer: stream.ProducerConfig{PartitionKeyExpression: "payload.key", PartitionCount: 8}},
			"sink-in-0": {Destination: "keyed", Group: "g", Consumer: stream.ConsumerConfig{Concurrency: 4}},
		},
	}
	r := start(t, cfg, fns)
	for i := range perKey {
		for k := range keys {
			if err := r.app.Bridge().Send(context.Background(), "out", map[string]any{"key": fmt.Sprint("k", k), "seq": i}); err != nil {
				t.Fatal(err)
			}
		}
	}
	recv(t, done)
	if peak.Load() < 2 {
		t.Errorf("concurrency 4 never ran two handlers at once (peak %d)", peak.Load())
	}
}

func TestGracefulShutdownFinishesInFlight(t *testing.T) {
	entered := make(chan struct{})
	release := make(chan struct{})
	var finished atomic.Bool
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "slow", func(ctx context.Context, s string) error {
		close(entered)
		<-release
		finished.Store(true)
		return nil
	})
	cfg := fedBySrc("slow", "")
	r := start(t, cfg, fns)
	if err := r.app.Bridge().Send(context.Background(), "src", "x"); err != nil {
		t.Fatal(err)
	}
	recv(t, entered)
	stopped := make(chan error, 1)
	go func() { stopped <- r.stop() }()
	select {
	case err := <-stopped:
		t.Fatalf("Run returned (%v) while a message was in flight", err)
	case <-time.After(50 * time.Millisecond): // shutdown must still be waiting
	}
	close(release)
	if err := recv(t, stopped); err != nil {
		t.Fatal(err)
	}
	if !finished.Load() || r.app.Binding("slow-in-0").Stats().Processed != 1 {
		t.Fatal("in-flight message did not finish before shutdown completed")
	}
}

func TestShutdownTimeoutBoundsStuckHandler(t *testing.T) {
	fns := stream.NewCatalog()
	entered := make(chan struct{})
	stream.AddConsumer(fns, "stuck", func(ctx context.Context, s string) error {
		close(entered)
		<-ctx.Done() // only the end of the grace period frees it
		return ctx.Err()
	})
	cfg := fedBySrc("stuck", "")
	cfg.ShutdownTimeout = 100 * time.Millisecond
	r := start(t, cfg, fns)
	if err := r.app.Bridge().Send(context.Background(), "src", "x"); err != nil {
		t.Fatal(err)
	}
	recv(t, entered)
	begin := time.Now()
	err := r.stop()
	if took := time.Since(begin); took > 5*time.Second {
		t.Fatalf("shutdown took %s with a 100ms timeout", took)
	}
	if err != nil && strings.Contains(err.Error(), "did not return") {
		t.Fatal(err)
	}
	if s := r.app.Binding("stuck-in-0").Stats(); s.Failed != 0 {
		t.Fatalf("an interrupted message must be left for redelivery, not failed: %+v", s)
	}
}

func TestSignalStopsRunWithSignals(t *testing.T) {
	app, err := stream.NewApp(&stream.Config{}, stream.NewCatalog(), stream.WithBinderType(memory.Type, memory.New), stream.WithSignals())
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- app.Run(context.Background()) }()
	recv(t, app.Ready())
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := recv(t, done); err != nil {
		t.Fatal(err)
	}
}

func TestPolledSupplier(t *testing.T) {
	var n atomic.Int64
	got := make(chan int64, 100)
	fns := stream.NewCatalog()
	stream.AddSupplier(fns, "tick", func(context.Context) (*int64, error) {
		v := n.Add(1)
		if v%2 == 0 {
			return nil, nil // nothing this time
		}
		return &v, nil
	})
	stream.AddConsumer(fns, "sink", func(_ context.Context, v int64) error { got <- v; return nil })
	cfg := &stream.Config{
		Function: stream.FunctionConfig{Definition: "tick;sink"},
		Bindings: map[string]stream.BindingConfig{
			"tick-out-0": {Destination: "ticks", Producer: stream.ProducerConfig{Poller: stream.PollerConfig{FixedDelay: time.Millisecond}}},
			"sink-in-0":  {Destination: "ticks", Group: "g"},
		},
	}
	start(t, cfg, fns)
	for _, want := range []int64{1, 3, 5} {
		if v := recv(t, got); v != want {
			t.Fatalf("got %d want %d", v, want)
		}
	}
}

func TestStoppedBindingReceivesNothingThenEverything(t *testing.T) {
	got := make(chan string, 100)
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "sink", func(_ context.Context, s string) error { got <- s; return nil })
	cfg := fedBySrc("sink", "text/plain")
	r := start(t, cfg, fns)
	b := r.app.Binding("sink-in-0")
	ctx := context.Background()
	for _, op := range []struct {
		name  string
		off   func(context.Context) error
		on    func(context.Context) error
		state stream.State
	}{{"stop", b.Stop, b.Start, stream.StateStopped}, {"pause", b.Pause, b.Resume, stream.StatePaused}} {
		if err := op.off(ctx); err != nil {
			t.Fatal(err)
		}
		if b.State() != op.state {
			t.Fatalf("%s: state %s", op.name, b.State())
		}
		for i := range 10 {
			if err := r.app.Bridge().Send(ctx, "src", fmt.Sprint(op.name, i)); err != nil {
				t.Fatal(err)
			}
		}
		select {
		case s := <-got:
			t.Fatalf("%s: received %q while %s", op.name, s, op.state)
		case <-time.After(50 * time.Millisecond): // a quiet period is the assertion
		}
		if err := op.on(ctx); err != nil {
			t.Fatal(err)
		}
		for i := range 10 {
			if s := recv(t, got); s != fmt.Sprint(op.name, i) {
				t.Fatalf("got %q", s)
			}
		}
	}
}

func TestNewAppReportsEveryProblem(t *testing.T) {
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "ship", func(context.Context, Order) error { return nil })
	stream.AddFunction(fns, "charge", func(_ context.Context, o Order) (Order, error) { return o, nil })
	cfg := &stream.Config{
		Function:      stream.FunctionConfig{Definition: "ship;charge;missing"},
		DefaultBinder: "memory",
		Binders:       map[string]stream.BinderConfig{"k": {Type: "kafka"}},
		Bindings: map[string]stream.BindingConfig{
			"ship-in-0":    {Consumer: stream.ConsumerConfig{MaxAttempts: -1, BatchMode: true}},
			"charge-out-0": {Binder: "nowhere", Producer: stream.ProducerConfig{PartitionCount: 3, PartitionSelectorExpression: "hashCode()"}},
			"orphan-in-0":  {Group: "x"},
		},
		Origins: map[string]string{"stream.bindings.orphan-in-0": "application.yaml:7"},
	}
	_, err := stream.NewApp(cfg, fns, stream.WithBinderType(memory.Type, memory.New))
	var errs stream.ConfigErrors
	if !errors.As(err, &errs) {
		t.Fatalf("want ConfigErrors, got %v", err)
	}
	want := []string{
		`stream.function.definition: function "missing" is not registered`,
		`stream.binders.k.type: unknown binder type "kafka"`,
		`stream.bindings.ship-in-0.consumer.max-attempts: must be at least 1`,
		`stream.bindings.ship-in-0.consumer.batch-mode: function "ship" does not take a slice`,
		`stream.bindings.charge-out-0.producer.partition-selector-expression: selects a partition from the key, but neither`,
		`stream.bindings.charge-out-0.binder: binder "nowhere" is neither declared`,
	}
	msg := err.Error()
	for _, w := range want {
		if !strings.Contains(msg, w) {
			t.Errorf("error does not contain %q:\n%s", w, msg)
		}
	}
	if len(errs) != len(want) {
		t.Errorf("want %d problems, got %d:\n%s", len(want), len(errs), msg)
	}
}

func TestContentTypeHeaderWins(t *testing.T) {
	got := make(chan string, 1)
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "sink", func(_ context.Context, s Text) error { got <- string(s); return nil })
	cfg := fedBySrc("sink", "")
	r := start(t, cfg, fns)
	msg := stream.NewMessage([]byte("plain words"), stream.HeaderContentType, "text/plain")
	if err := r.app.Bridge().Send(context.Background(), "src", msg); err != nil {
		t.Fatal(err)
	}
	if s := recv(t, got); s != "PLAIN WORDS" {
		t.Fatalf("got %q", s)
	}
}

// Text decodes text/plain through encoding.TextUnmarshaler.
type Text string

func (t *Text) UnmarshalText(b []byte) error { *t = Text(strings.ToUpper(string(b))); return nil }

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// testLogger logs to the test's output with -v (STREAM_TEST_LOG=1), and
// nowhere otherwise.
func testLogger(t *testing.T) *slog.Logger {
	if os.Getenv("STREAM_TEST_LOG") == "" {
		return discardLogger()
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// A bridge send stuck on a full queue does not hold shutdown past its
// timeout.
func TestShutdownBoundedWithBridgeSendBlocked(t *testing.T) {
	fns := stream.NewCatalog()
	release := make(chan struct{})
	stream.AddConsumer(fns, "slow", func(ctx context.Context, s string) error {
		select {
		case <-release:
		case <-ctx.Done():
		}
		return nil
	})
	cfg := &stream.Config{
		Function:        stream.FunctionConfig{Definition: "slow"},
		ShutdownTimeout: 200 * time.Millisecond,
		Binders:         map[string]stream.BinderConfig{"memory": {Type: "memory", Environment: map[string]any{"buffer-size": 1}}},
		Bindings:        map[string]stream.BindingConfig{"slow-in-0": {Destination: "dyn", Group: "g"}},
	}
	defer close(release)
	r := start(t, cfg, fns)
	sent := make(chan error, 3)
	for range 3 { // one handled (stuck), one queued, one blocked
		go func() { sent <- r.app.Bridge().Send(context.Background(), "dyn", "x") }()
	}
	<-sent
	<-sent
	begin := time.Now()
	_ = r.stop()
	if took := time.Since(begin); took > 5*time.Second {
		t.Fatalf("shutdown took %s with a 200ms timeout", took)
	}
	if err := recv(t, sent); err == nil {
		t.Fatal("the blocked send reported success")
	}
}

// A Message output is partitioned by its payload's fields.
func TestPartitionMessageOutput(t *testing.T) {
	got := make(chan stream.Message[Order], 1)
	fns := stream.NewCatalog()
	stream.AddFunction(fns, "tag", func(_ context.Context, o Order) (stream.Message[Order], error) {
		return stream.NewMessage(o, "tagged", "yes"), nil
	})
	stream.AddConsumer(fns, "sink", func(_ context.Context, m stream.Message[Order]) error { got <- m; return nil })
	cfg := &stream.Config{
		Function:       stream.FunctionConfig{Definition: "tag;sink"},
		OutputBindings: "src",
		Bindings: map[string]stream.BindingConfig{
			"src":       {Destination: "in"},
			"tag-in-0":  {Destination: "in", Group: "g"},
			"tag-out-0": {Destination: "out", Producer: stream.ProducerConfig{PartitionKeyExpression: "payload.customerId", PartitionCount: 3, RequiredGroups: []string{"g"}}},
			"sink-in-0": {Destination: "out", Group: "g"},
		},
	}
	r := start(t, cfg, fns)
	if err := r.app.Bridge().Send(context.Background(), "src", Order{OrderID: "o-1", CustomerID: "c-7"}); err != nil {
		t.Fatal(err)
	}
	m := recv(t, got)
	if m.Headers["tagged"] != "yes" || m.Headers[stream.HeaderPartition] != "1" {
		t.Fatalf("headers %v (c-7 over 3 partitions is partition 1)", m.Headers)
	}
}

// A Pause that runs out of time waiting for a handler still leaves the
// binding PAUSED (its intake is stopped), so that Resume brings it back.
func TestPauseTimeoutThenResume(t *testing.T) {
	entered := make(chan struct{}, 1)
	release := make(chan struct{})
	got := make(chan string, 10)
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "sink", func(ctx context.Context, s string) error {
		if s == "slow" {
			entered <- struct{}{}
			<-release
		}
		got <- s
		return nil
	})
	cfg := fedBySrc("sink", "text/plain")
	r := start(t, cfg, fns)
	b := r.app.Binding("sink-in-0")
	ctx := context.Background()
	if err := r.app.Bridge().Send(ctx, "src", "slow"); err != nil {
		t.Fatal(err)
	}
	recv(t, entered)
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	err := b.Pause(short)
	cancel()
	if err == nil {
		t.Fatal("Pause returned nil while a handler was still running past its ctx")
	}
	if b.State() != stream.StatePaused {
		t.Fatalf("state %s after a timed-out Pause, want PAUSED", b.State())
	}
	close(release)
	if s := recv(t, got); s != "slow" {
		t.Fatalf("got %q", s)
	}
	if err := b.Resume(ctx); err != nil {
		t.Fatal(err)
	}
	if err := r.app.Bridge().Send(ctx, "src", "after"); err != nil {
		t.Fatal(err)
	}
	if s := recv(t, got); s != "after" {
		t.Fatalf("got %q after Resume", s)
	}
}

// fedBySrc configures consumer fn on destination "s" (group g, the given
// content type, "" for the default) and the output binding "src" that feeds
// it through the bridge.
func fedBySrc(fn, contentType string) *stream.Config {
	return &stream.Config{
		Function:       stream.FunctionConfig{Definition: fn},
		OutputBindings: "src",
		Bindings: map[string]stream.BindingConfig{
			"src":        {Destination: "s"},
			fn + "-in-0": {Destination: "s", Group: "g", ContentType: contentType},
		},
	}
}
