package nats_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	natsbinder "github.com/streambind/streambind/binder/nats"
	"github.com/streambind/streambind/binder/nats/natstest"
	"github.com/streambind/streambind/stream"
)

// TestBreakDurableFilterChangedWarns: another program that changes the
// filter subjects of a group's durable consumer while the group runs
// (nats consumer edit) makes the group read only what they say — here none
// of its destination's messages. A running member says so (WARN) at its
// next read of the durable; it went on without a word, the messages
// unread.
func TestBreakDurableFilterChangedWarns(t *testing.T) {
	t.Parallel()
	b, _ := shared(t, nil)
	dest := unique(t, "filter")
	ll := newLineLog()
	tr := newTracker()
	startConsumer(t, b, stream.ConsumerSpec{Destination: dest, Group: "g", Handler: tr.handler(0), Logger: slog.New(ll)})
	js := jsAt(t, natstest.URL())
	ctx := context.Background()
	jc, err := js.Consumer(ctx, natsbinder.StreamName(dest), "g")
	if err != nil {
		t.Fatal(err)
	}
	cfg := jc.CachedInfo().Config
	cfg.FilterSubject = dest + ".7"
	if _, err := js.UpdateConsumer(ctx, natsbinder.StreamName(dest), cfg); err != nil {
		t.Fatal(err)
	}
	if !ll.wait("filter subjects were changed", 12*time.Second) {
		t.Error("no WARN of the durable's changed filter subjects within 12s")
	}
}
