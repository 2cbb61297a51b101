package stream_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/streambind/streambind/stream"
	"github.com/streambind/streambind/stream/streamtest"
)

var panicDecodes, panicEncodes atomic.Int64

// panicIn panics in UnmarshalJSON, panicOut in MarshalJSON.
type panicIn struct{}

func (*panicIn) UnmarshalJSON([]byte) error { panicDecodes.Add(1); panic("boom in") }

type panicOut struct{}

func (panicOut) MarshalJSON() ([]byte, error) { panicEncodes.Add(1); panic("boom out") }

// A converter that panics (a type's UnmarshalJSON or MarshalJSON) fails
// the conversion as an error it returned does: a permanent ConversionError
// naming the binding, the content type, the type and the panic, so the
// message is dead-lettered after one attempt (README: "every conversion
// failure, skip the retries"). It was a handler panic, retried
// max-attempts times; and on the bridge it panicked in the caller.
func TestConverterPanicIsPermanentConversionError(t *testing.T) {
	fns := stream.NewCatalog()
	var outCalls atomic.Int64
	stream.AddConsumer(fns, "in", func(context.Context, panicIn) error { return nil })
	stream.AddFunction(fns, "out", func(context.Context, string) (panicOut, error) { outCalls.Add(1); return panicOut{}, nil })
	cons := stream.ConsumerConfig{DLQ: true, MaxAttempts: 3, BackOffInitialInterval: time.Millisecond}
	cfg := &stream.Config{
		Function:       stream.FunctionConfig{Definition: "in;out"},
		OutputBindings: "bridged",
		Bindings: map[string]stream.BindingConfig{
			"in-in-0":   {Destination: "p-in", Group: "g", Consumer: cons},
			"out-in-0":  {Destination: "p-out-in", Group: "g", Consumer: cons},
			"out-out-0": {Destination: "p-out"},
			"bridged":   {Destination: "p-bridged"},
		},
	}
	env := streamtest.Start(t, cfg, fns)
	panicDecodes.Store(0)
	panicEncodes.Store(0)

	for _, c := range []struct {
		binding string
		payload string
		calls   *atomic.Int64
		want    []string
	}{
		{"in-in-0", `{}`, &panicDecodes, []string{"binding in-in-0: cannot decode application/json as stream_test.panicIn", "panic: boom in"}},
		{"out-in-0", `"x"`, &outCalls, []string{"binding out-out-0: cannot encode application/json as stream_test.panicOut", "panic: boom out"}},
	} {
		env.Send(t, c.binding, []byte(c.payload))
		dl, err := env.DeadLetter(c.binding)
		if err != nil {
			t.Fatal(err)
		}
		msg := dl.Headers[stream.HeaderExceptionMessage]
		for _, w := range c.want {
			if !strings.Contains(msg, w) {
				t.Errorf("%s: dead letter's exception message %q does not say %q", c.binding, msg, w)
			}
		}
		if strings.Contains(msg, "handler panic") {
			t.Errorf("%s: a converter's panic is a conversion failure, not a handler panic: %q", c.binding, msg)
		}
		if n := c.calls.Load(); n != 1 {
			t.Errorf("%s: handled %d times, want 1 (conversion failures are not retried)", c.binding, n)
		}
	}
	env.ExpectNoOutput(t, "out-out-0")

	err := func() (err error) {
		defer func() {
			if r := recover(); r != nil {
				err = errors.New("Send panicked")
			}
		}()
		return env.App.Bridge().Send(context.Background(), "bridged", panicOut{})
	}()
	var ce *stream.ConversionError
	if !errors.As(err, &ce) || !stream.IsPermanent(err) || ce.Binding != "bridged" || !strings.Contains(err.Error(), "panic: boom out") {
		t.Fatalf("bridge Send of a value whose MarshalJSON panics: want a permanent ConversionError naming bridged and the panic, got %v", err)
	}
	var pe *stream.PanicError
	if !errors.As(err, &pe) || pe.Value != "boom out" {
		t.Errorf("the ConversionError of a converter's panic wraps its *PanicError: %#v", err)
	}
}
