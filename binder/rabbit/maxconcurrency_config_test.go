package rabbit_test

import (
	"context"
	"strings"
	"testing"

	"github.com/streambind/streambind/binder/rabbit"
	"github.com/streambind/streambind/stream"
)

// TestMaxConcurrencyAtSCStDefault: SCSt's listener container grows beyond
// concurrency only when max-concurrency is above it; up to concurrency
// (1, SCSt's default, included) it asks for nothing the binder does not
// do. It was refused at every value, then above 1, so an SCSt file with
// concurrency: 4 and max-concurrency: 4 did not load. Above concurrency it
// stays refused, with the reason, at its key, at validation and at bind.
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
	}{{1, 1}, {1, "1"}, {0, 1}, {4, 4}, {4, 2}} {
		if err := sv.ValidateConsumer(spec(tc.conc, tc.v)); err != nil {
			t.Errorf("concurrency %d, max-concurrency %v: %v", tc.conc, tc.v, err)
		}
	}
	for _, tc := range []struct{ conc, max int }{{1, 4}, {4, 5}} {
		err := sv.ValidateConsumer(spec(tc.conc, tc.max))
		if err == nil || !strings.Contains(err.Error(), "stream.rabbit.bindings.in.consumer.maxConcurrency") || !strings.Contains(err.Error(), "above consumer.concurrency") {
			t.Errorf("concurrency %d, max-concurrency %d: %v", tc.conc, tc.max, err)
		}
		if _, err := b.BindConsumer(context.Background(), spec(tc.conc, tc.max)); err == nil || !strings.Contains(err.Error(), "above consumer.concurrency") {
			t.Errorf("BindConsumer: concurrency %d, max-concurrency %d: %v", tc.conc, tc.max, err)
		}
	}
}
