package stream_test

import (
	"context"
	"testing"

	"github.com/streambind/streambind/stream"
)

// An Envelope an app sends through the bridge (SendEncoded) — one its
// handler received and forwards, say, or a FailedMessage's — is sent
// without its Received, as every producer sends: the Received describes
// how the app received it, not the next reception. The in-process binder,
// which delivers a Received given to it (for stream/streamtest), handed
// the next consumer the old offset and time and, for an Envelope received
// from RabbitMQ, amqp_consumerQueue and the other amqp_* headers.
func TestBreakReceivedBridgeSendEncodedDropsReceived(t *testing.T) {
	got := make(chan stream.Message[string], 1)
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "sink", func(_ context.Context, m stream.Message[string]) error { got <- m; return nil })
	cfg := &stream.Config{
		Function:       stream.FunctionConfig{Definition: "sink"},
		OutputBindings: "out",
		Bindings: map[string]stream.BindingConfig{
			"out":       {Destination: "fwd", ContentType: "text/plain", Producer: stream.ProducerConfig{RequiredGroups: []string{"g"}}},
			"sink-in-0": {Destination: "fwd", Group: "g", ContentType: "text/plain"},
		},
	}
	r := start(t, cfg, fns)
	old := stream.Received{Destination: "orders", Offset: 99, HasOffset: true, Partition: 2, HasPartition: true,
		Exchange: "orders", RoutingKey: "eu", Queue: "orders.g", Redelivered: true}
	old.Timestamp = old.Timestamp.AddDate(2001, 0, 0)
	env := stream.Envelope{Payload: []byte("p"), Headers: stream.Headers{stream.HeaderContentType: "text/plain"}, Received: old}
	if err := r.app.Bridge().SendEncoded(context.Background(), "out", env); err != nil {
		t.Fatal(err)
	}
	m := recv(t, got)
	checkReceived(t, "forwarded", m.Received, "fwd")
	if rc := m.Received; rc.Offset != 1 || rc.HasPartition || rc.Queue != "" || rc.Exchange != "" || rc.RoutingKey != "" || rc.Redelivered || rc.Timestamp.Equal(old.Timestamp) {
		t.Fatalf("forwarded: Received %+v, want the in-process binder's own (offset 1, no partition, nothing of RabbitMQ's)", rc)
	}
}
