package extest

import (
	"context"
	"fmt"
	"io"
	"testing"

	"github.com/streambind/streambind/stream"
)

// A run is waited for on each writer, and Stop cancels its context and
// waits for it to return.
func TestStartWaitStop(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	returned := make(chan struct{})
	r := Start(t, ctx, func(ctx context.Context, stdout, stderr io.Writer) int {
		defer close(returned)
		fmt.Fprintln(stderr, "msg=ready")
		fmt.Fprintln(stdout, "out 1")
		<-ctx.Done()
		return 0
	})
	r.WaitLog(t, "msg=ready")
	r.WaitOutput(t, "out 1")
	r.Stop(t)
	select {
	case <-returned:
	default:
		t.Fatal("Stop returned before run did")
	}
}

// What the test's side sends in process arrives at a consumer of the
// test's side, headers included.
func TestInProcessSendConsume(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, side := InProcess(t, ctx)
	got := Consume(t, ctx, side, stream.ConsumerSpec{Destination: "orders", Group: "test"})
	SendJSON(t, ctx, side, "orders", `{"id":"o-1"}`)
	r := &Run{Stderr: NewLines(), Timeout: DefaultTimeout}
	m := r.Receive(t, got, "order")
	if string(m.Payload) != `{"id":"o-1"}` || m.Headers.Get("contentType") != "application/json" {
		t.Fatalf("got %s %v", m.Payload, m.Headers)
	}
}
