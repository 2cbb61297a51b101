package rabbit_test

import (
	"context"
	"testing"

	"github.com/streambind/streambind/binder/rabbit"
	"github.com/streambind/streambind/stream"
)

// TestMaxConcurrencyAtSCStDefault: SCSt's max-concurrency loads at any
// value. Up to concurrency (1, SCSt's default, included) it asks for
// nothing the binder does not do; above it SCSt's listener container
// grows from concurrency consumers under load, which the binder does not
// do: it runs concurrency consumers, with a WARN at bind
// (TestMaxConcurrencyAboveConcurrencyWarns). It was refused at every
// value, then above 1, then above concurrency, so an SCSt file with
// concurrency: 2 and max-concurrency: 8 did not load. A value that is not
// a positive number stays an error.
func TestMaxConcurrencyAtSCStDefault(t *testing.T) {
	b, err := rabbit.New(context.Background(), stream.BinderSettings{Name: "rabbit", Type: rabbit.Type})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = b.Close(context.Background()) }()
	sv := b.(stream.SpecValidator)
	spec := func(conc int, v any) stream.ConsumerSpec {
		return stream.ConsumerSpec{Binding: "in", Destination: "d", Group: "g", Consumer: stream.ConsumerConfig{Concurrency: conc},
			Extension: map[string]any{"maxConcurrency": v}}
	}
	for _, tc := range []struct {
		conc int
		v    any
	}{{1, 1}, {1, "1"}, {0, 1}, {4, 4}, {4, 2}, {1, 4}, {4, 5}, {2, "8"}} {
		if err := sv.ValidateConsumer(spec(tc.conc, tc.v)); err != nil {
			t.Errorf("concurrency %d, max-concurrency %v: %v", tc.conc, tc.v, err)
		}
	}
	for _, v := range []any{0, "many"} {
		if err := sv.ValidateConsumer(spec(1, v)); err == nil {
			t.Errorf("max-concurrency %v accepted", v)
		}
	}
}
