package nats_test

import (
	"context"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/bindertest"
	natsbinder "github.com/streambind/streambind/binder/nats"
	"github.com/streambind/streambind/binder/nats/natstest"
	"github.com/streambind/streambind/stream"

	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

func TestConformance(t *testing.T) {
	t.Parallel()
	natstest.Require(t)
	s := newStreams(t, natstest.URL())
	bindertest.Run(t, bindertest.Harness{
		NewBinder: func(t *testing.T) stream.Binder {
			return tracked{newBinder(t, natstest.URL(), nil), s}
		},
		Persistent:   true,
		Duplicates:   true,
		Unsettled:    unsettled,
		ReplayGroups: true,
	})
}

// unsettled is how many messages of dest's stream its consumers have not
// acknowledged: pending (not delivered yet) and ack-pending, summed over
// the stream's consumers (the conformance subtest that asks binds one
// group).
func unsettled(t *testing.T, dest, _ string) int {
	t.Helper()
	// Polled every 50ms: a connection a call, closed at once, not at the
	// test's end (jsAt).
	nc, err := natsgo.Connect(natstest.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st, err := js.Stream(ctx, natsbinder.StreamName(dest))
	if err != nil {
		t.Fatalf("stream of %s: %v", dest, err)
	}
	n := 0
	names := st.ConsumerNames(ctx)
	for name := range names.Name() {
		jc, err := st.Consumer(ctx, name)
		if err != nil {
			t.Fatalf("consumer %s: %v", name, err)
		}
		info, err := jc.Info(ctx)
		if err != nil {
			t.Fatalf("consumer %s info: %v", name, err)
		}
		n += int(info.NumPending) + info.NumAckPending
	}
	if err := names.Err(); err != nil {
		t.Fatalf("consumers of %s: %v", dest, err)
	}
	return n
}
