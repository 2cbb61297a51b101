package stream_test

import (
	"context"
	"reflect"
	"testing"

	"github.com/streambind/streambind/stream"
)

func TestFunctionsAndBoundFunctions(t *testing.T) {
	fns := stream.NewCatalog()
	stream.AddSupplier(fns, "tick", func(context.Context) (string, error) { return "", stream.Skip })
	stream.AddFunction(fns, "parse", func(_ context.Context, b []byte) (Order, error) { return Order{}, nil })
	stream.AddFunction(fns, "enrich", func(_ context.Context, o Order) (stream.Message[Payment], error) {
		return stream.Message[Payment]{}, nil
	})
	stream.AddConsumer(fns, "audit", func(context.Context, Payment) error { return nil })
	cfg := &stream.Config{Function: stream.FunctionConfig{Definition: "parse|enrich;tick"}}
	r := start(t, cfg, fns)
	got := r.app.Functions()
	want := []stream.FunctionInfo{
		{Name: "audit", Kind: "consumer", InputType: "stream_test.Payment"},
		{Name: "enrich", Kind: "function", InputType: "stream_test.Order", OutputType: "stream.Message[github.com/streambind/streambind/stream_test.Payment]", Bound: true, BoundAs: []string{"parse|enrich"}},
		{Name: "parse", Kind: "function", InputType: "[]uint8", OutputType: "stream_test.Order", Bound: true, BoundAs: []string{"parse|enrich"}},
		{Name: "tick", Kind: "supplier", OutputType: "string", Bound: true, BoundAs: []string{"tick"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Functions:\n got %+v\nwant %+v", got, want)
	}
	bound := r.app.BoundFunctions()
	wantBound := []stream.BoundFunction{
		{Name: "parse|enrich", Kind: "function", Input: "parse|enrich-in-0", Output: "parse|enrich-out-0"},
		{Name: "tick", Kind: "supplier", Output: "tick-out-0"},
	}
	if !reflect.DeepEqual(bound, wantBound) {
		t.Errorf("BoundFunctions:\n got %+v\nwant %+v", bound, wantBound)
	}
}
