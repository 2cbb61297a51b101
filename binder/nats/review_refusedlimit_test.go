package nats_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/nats/natstest"
	"github.com/streambind/streambind/stream"
)

// An update JetStream refuses for a reason other than what the durable
// was made with (here: a max-ack-pending above the account's limit) must
// not advise deleting the durable (its position and unacknowledged
// messages go with it): deleting it does not help — the same bind would
// be refused making it again.
func TestReviewRefusedUpdateByLimitNoRmAdvice(t *testing.T) {
	t.Parallel()
	srv := natstest.Start(t, natstest.Options{Config: `accounts {
  APP { jetstream: { max_mem: 64MB, max_file: 256MB, max_ack_pending: 1000 }, users: [ { user: app, password: pw } ] }
}
`})
	url := strings.Replace(srv.URL(), "nats://", "nats://app:pw@", 1)
	dest := unique(t, "limit")
	var logs logBuffer
	b := authBinder(t, map[string]any{"servers": url}, &logs)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	bind := func(mp int) error {
		_, err := b.BindConsumer(ctx, stream.ConsumerSpec{Binding: "in-0", Destination: dest, Group: "g", ContentType: stream.DefaultContentType,
			Extension: map[string]any{"max-ack-pending": mp},
			Handler:   func(context.Context, stream.Envelope) error { return nil }})
		return err
	}
	if err := bind(500); err != nil {
		t.Fatal(err)
	}
	err := bind(5000)
	if err == nil {
		t.Skip("the server took max-ack-pending 5000 over the account's limit")
	}
	t.Logf("%v", err)
	if strings.Contains(err.Error(), "consumer rm") || strings.Contains(err.Error(), "delete it") {
		t.Errorf("the error advises deleting the durable, which cannot help: %v", err)
	}
}
