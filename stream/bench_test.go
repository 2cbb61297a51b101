package stream_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/memory"
	"github.com/streambind/streambind/stream"
)

// benchPipeline runs source → (function) → consumer on the in-process binder
// for b.N messages of what emit produces, and reports msgs/s.
func benchPipeline[T any](b *testing.B, v T, withFunction bool) {
	b.Helper()
	startCh := make(chan int)
	done := make(chan struct{})
	n := 0
	fns := stream.NewCatalog()
	stream.AddSource(fns, "src", func(ctx context.Context, emit stream.Emitter[T]) error {
		count := <-startCh
		for range count {
			if err := emit(ctx, v); err != nil {
				return err
			}
		}
		return nil
	})
	def := "src;sink"
	sinkIn := "out"
	if withFunction {
		stream.AddFunction(fns, "fn", func(_ context.Context, in T) (T, error) { return in, nil })
		def = "src;fn;sink"
		sinkIn = "fnout"
	}
	target := 0
	stream.AddConsumer(fns, "sink", func(_ context.Context, in T) error {
		n++
		if n == target {
			close(done)
		}
		return nil
	})
	cfg := &stream.Config{
		Function: stream.FunctionConfig{Definition: def},
		Bindings: map[string]stream.BindingConfig{
			"src-out-0": {Destination: "out", Producer: stream.ProducerConfig{RequiredGroups: []string{"g"}}},
			"fn-in-0":   {Destination: "out", Group: "g"},
			"fn-out-0":  {Destination: "fnout", Producer: stream.ProducerConfig{RequiredGroups: []string{"g"}}},
			"sink-in-0": {Destination: sinkIn, Group: "g"},
		},
	}
	if !withFunction {
		delete(cfg.Bindings, "fn-in-0")
		delete(cfg.Bindings, "fn-out-0")
	}
	app, err := stream.NewApp(cfg, fns, stream.WithBinderType(memory.Type, memory.New), stream.WithoutSignals(),
		stream.WithLogger(discardLogger()))
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	runDone := make(chan error, 1)
	go func() { runDone <- app.Run(ctx) }()
	<-app.Ready()
	target = b.N
	b.ReportAllocs()
	b.ResetTimer()
	begin := time.Now()
	startCh <- b.N
	<-done
	elapsed := time.Since(begin)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msgs/s")
	cancel()
	if err := <-runDone; err != nil {
		b.Fatal(err)
	}
}

// BenchmarkMemoryPipelineBytes: supplier → function → consumer with []byte
// payloads on the in-process binder. One op is one message through all three.
func BenchmarkMemoryPipelineBytes(b *testing.B) {
	benchPipeline(b, []byte(`{"orderId":"o-1","customerId":"c-7"}`), true)
}

type benchOrder struct {
	OrderID    string    `json:"orderId"`
	CustomerID string    `json:"customerId"`
	ProductID  string    `json:"productId"`
	Quantity   int       `json:"quantity"`
	Amount     float64   `json:"amount"`
	CreatedAt  time.Time `json:"createdAt"`
}

var sampleOrder = benchOrder{OrderID: "o-1", CustomerID: "c-7", ProductID: "p-3", Quantity: 2, Amount: 19.98,
	CreatedAt: time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)}

// BenchmarkJSONBare is the baseline of BenchmarkJSONFramework: the same
// struct through encoding/json marshal and unmarshal.
func BenchmarkJSONBare(b *testing.B) {
	b.ReportAllocs()
	begin := time.Now()
	for b.Loop() {
		data, err := json.Marshal(sampleOrder)
		if err != nil {
			b.Fatal(err)
		}
		var o benchOrder
		if err := json.Unmarshal(data, &o); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(begin).Seconds(), "msgs/s")
}

// BenchmarkJSONFramework sends the struct from a typed supplier to a typed
// consumer on the in-process binder: one marshal and one unmarshal, as in
// the baseline, plus the framework.
func BenchmarkJSONFramework(b *testing.B) {
	benchPipeline(b, sampleOrder, false)
}
