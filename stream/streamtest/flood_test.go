package streamtest_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/streambind/streambind/stream"
	"github.com/streambind/streambind/stream/streamtest"
)

// The harness takes in what the app sends without holding the app back,
// however much the test leaves unread: 3000 messages a function routes to
// a dynamic destination (the sendto header), 3000 through its output
// binding and 3000 the bridge sends, none read until the end. Before, the
// harness's readers had a buffer of 1024 and waited for room: the app's
// sends blocked at ~2049 (that buffer and the in-process broker's queue),
// Send failed, the bridge's send waited out its context, and the test
// ended with "handler of route-in-0 still running" blaming the app.
func TestUnreadMessagesDoNotHoldBackTheApp(t *testing.T) {
	for _, c := range []struct{ name, to string }{
		{"audit", "audit"},            // a function's sendto header
		{"route-out-0", ""},           // the output binding
		{"bridged", "bridge:bridged"}, // the bridge
	} {
		t.Run(c.name, func(t *testing.T) { floodUnread(t, c.name, c.to) })
	}
}

// floodUnread sends 3000 messages that the app sends on to name (routed by
// to: a sendto destination, "" for its output binding, "bridge:" and a
// destination for the bridge's sends), none read until all are sent.
func floodUnread(t *testing.T, name, to string) {
	const n = 3000
	fns := stream.NewCatalog()
	stream.AddFunction(fns, "route", func(_ context.Context, o stream.Message[Order]) (stream.Message[Order], error) {
		out := stream.NewMessage(o.Payload)
		if to := o.Headers["to"]; to != "" {
			out.Headers[stream.HeaderSendToDestination] = to
		}
		return out, nil
	})
	cfg := &stream.Config{
		Function: stream.FunctionConfig{Definition: "route"},
		Bindings: map[string]stream.BindingConfig{
			"route-in-0":  {Destination: "orders", Group: "g"},
			"route-out-0": {Destination: "routed"},
		},
		DynamicDestinations: []string{"audit", "bridged"},
	}
	env := streamtest.Start(t, cfg, fns)
	env.Timeout = 10 * time.Second
	// The sends run in a goroutine so that a blocked one fails the test
	// at the deadline below instead of hanging it.
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), env.Timeout)
		defer cancel()
		for i := range n {
			var err error
			if dest, ok := strings.CutPrefix(to, "bridge:"); ok {
				err = env.App.Bridge().Send(ctx, dest, Order{OrderID: "o", Quantity: i})
			} else {
				err = env.SendEnvelope("route-in-0", stream.Envelope{Payload: fmt.Appendf(nil, `{"orderId":"o","quantity":%d}`, i), Headers: stream.Headers{"to": to}})
			}
			if err != nil {
				done <- fmt.Errorf("send %d: %w", i, err)
				return
			}
		}
		done <- nil
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("%d messages to %s, unread: %v", n, name, err)
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("%d messages to %s, unread: not sent within 20s", n, name)
	}
	env.Drain(t)
	for i := range n {
		if m := streamtest.Receive[Order](t, env, name); m.Payload.Quantity != i {
			t.Fatalf("%s message %d: got %+v", name, i, m.Payload)
		}
	}
	env.ExpectNoOutput(t, name)
}

// The app sending to its own input's destination: Receive and
// ExpectNoOutput by that name say what is true (its input binding consumes
// what is sent there), at once. Before, Receive waited out the timeout and
// said "orders" is not a destination the app sent to.
func TestReceiveFromAnInputDestination(t *testing.T) {
	fns := stream.NewCatalog()
	stream.AddFunction(fns, "route", func(_ context.Context, o Order) (stream.Message[Order], error) {
		if o.Quantity > 0 { // once more, through the sendto header
			return stream.NewMessage(Order{OrderID: o.OrderID}, stream.HeaderSendToDestination, "orders"), nil
		}
		return stream.NewMessage(o), nil
	})
	cfg := &stream.Config{
		Function: stream.FunctionConfig{Definition: "route"},
		Bindings: map[string]stream.BindingConfig{
			"route-in-0":  {Destination: "orders", Group: "g"},
			"route-out-0": {Destination: "routed"},
		},
		DynamicDestinations: []string{"orders"},
	}
	env := streamtest.Start(t, cfg, fns)
	env.Send(t, "route-in-0", Order{OrderID: "o-1", Quantity: 1})
	if m := streamtest.Receive[Order](t, env, "routed"); m.Payload.OrderID != "o-1" {
		t.Fatalf("routed: got %+v", m.Payload)
	}
	env.Drain(t)
	want := `"orders" is an input destination of the app, whose messages its binding route-in-0 consumes; the app sent 1 there: the test cannot receive them`
	start := time.Now()
	if msg := fails(t, func(tb testing.TB) { streamtest.Receive[Order](tb, env, "orders") }); !strings.Contains(msg, want) {
		t.Errorf("Receive: got %q\nwant it to say %q", msg, want)
	}
	if d := time.Since(start); d >= env.Timeout {
		t.Errorf("Receive took %s: waited out the timeout for a name it knows", d)
	}
	if msg := fails(t, func(tb testing.TB) { env.ExpectNoOutput(tb, "orders") }); !strings.Contains(msg, want) {
		t.Errorf("ExpectNoOutput: got %q\nwant it to say %q", msg, want)
	}
}
