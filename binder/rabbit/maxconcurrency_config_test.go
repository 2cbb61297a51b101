package rabbit_test

import (
	"context"
	"strings"
	"testing"

	"github.com/streambind/streambind/binder/rabbit"
	"github.com/streambind/streambind/stream"
)

// TestMaxConcurrencyAtSCStDefault: SCSt's max-concurrency is 1 by default,
// and its listener container grows beyond concurrency only when
// max-concurrency is above it; at 1 it asks for nothing the binder does not
// do. It was refused at every value, so an SCSt file that spells out the
// default did not load. Above 1 it stays refused, with the reason.
func TestMaxConcurrencyAtSCStDefault(t *testing.T) {
	b, err := rabbit.New(context.Background(), stream.BinderSettings{Name: "rabbit", Type: rabbit.Type})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = b.Close(context.Background()) }()
	sv := b.(stream.SpecValidator)
	for _, v := range []any{1, "1"} {
		if err := sv.ValidateConsumer(stream.ConsumerSpec{Binding: "in", Destination: "d", Group: "g", Extension: map[string]any{"maxConcurrency": v}}); err != nil {
			t.Errorf("max-concurrency %v: %v", v, err)
		}
	}
	err = sv.ValidateConsumer(stream.ConsumerSpec{Binding: "in", Destination: "d", Group: "g", Extension: map[string]any{"max-concurrency": 4}})
	if err == nil || !strings.Contains(err.Error(), "stream.rabbit.bindings.in.consumer.max-concurrency") || !strings.Contains(err.Error(), "max-concurrency is not supported but at 1") {
		t.Errorf("max-concurrency 4: %v", err)
	}
}
