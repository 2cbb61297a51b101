package nats_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/nats/natstest"
	"github.com/streambind/streambind/stream"
)

// A user without permission on _STREAMBIND.> (a server with
// authorization): a bind that lowers the group's ack-wait must neither
// fail nor wait the whole announcement bound (2s) for replies that cannot
// come — the server answers a refused publish with an error, not with
// no-responders.
func TestReviewAckWaitAnnounceDenied(t *testing.T) {
	t.Parallel()
	srv := natstest.Start(t, natstest.Options{Config: `authorization {
  users = [ { user: app, password: pw, permissions: {
    publish: { allow: [">"], deny: ["_STREAMBIND.>"] },
    subscribe: { allow: [">"], deny: ["_STREAMBIND.>"] } } } ]
}
`})
	url := strings.Replace(srv.URL(), "nats://", "nats://app:pw@", 1)
	dest := unique(t, "denied")
	var logsA, logsB logBuffer
	a := authBinder(t, map[string]any{"servers": url}, &logsA)
	startConsumer(t, a, stream.ConsumerSpec{Destination: dest, Group: "g",
		Extension: map[string]any{"ack-wait": "30s"},
		Handler:   func(context.Context, stream.Envelope) error { return nil }})
	b := authBinder(t, map[string]any{"servers": url}, &logsB)
	start := time.Now()
	c, err := b.BindConsumer(context.Background(), stream.ConsumerSpec{Binding: "test-in-0", Destination: dest, Group: "g", ContentType: stream.DefaultContentType,
		Extension: map[string]any{"ack-wait": "2s"},
		Handler:   func(context.Context, stream.Envelope) error { return nil }})
	took := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	_ = c
	if took > time.Second {
		t.Logf("A logs:\n%s", logsA.String())
		t.Logf("B logs:\n%s", logsB.String())
		t.Errorf("the bind took %s: it waited for replies that a denied announcement cannot get", took)
	}
}
