package nats_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	natsgo "github.com/nats-io/nats.go"

	natsbinder "github.com/streambind/streambind/binder/nats"
	"github.com/streambind/streambind/binder/nats/natstest"
	"github.com/streambind/streambind/stream"
)

// The cost of following the durable: one consumer info request per group
// binding every 5s (counted on the test's own server), none for an
// anonymous consumer; and a stopped member no longer answers ack-wait
// announcements (its subscription ends with its run).
func TestReviewPollCost(t *testing.T) {
	if testing.Short() {
		t.Skip("measures for 11s")
	}
	t.Parallel()
	srv := natstest.Start(t, natstest.Options{})
	raw, err := natsgo.Connect(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var infos atomic.Int64
	if _, err := raw.Subscribe("$JS.API.CONSUMER.INFO.>", func(*natsgo.Msg) { infos.Add(1) }); err != nil {
		t.Fatal(err)
	}
	_ = raw.Flush()
	b := newBinder(t, srv.URL(), nil)
	closeBinder(t, b)
	const groups, anons = 100, 20
	dest := unique(t, "poll")
	var cs []stream.Consumer
	for i := range groups {
		cs = append(cs, startConsumer(t, b, stream.ConsumerSpec{Binding: fmt.Sprintf("in-%d", i), Destination: dest, Group: fmt.Sprintf("g%d", i),
			Handler: func(context.Context, stream.Envelope) error { return nil }}))
	}
	for i := range anons {
		startConsumer(t, b, stream.ConsumerSpec{Binding: fmt.Sprintf("anon-%d", i), Destination: dest,
			Handler: func(context.Context, stream.Envelope) error { return nil }})
	}
	time.Sleep(100 * time.Millisecond)
	from := infos.Load()
	const span = 11 * time.Second
	time.Sleep(span) // a measurement, not a synchronisation
	n := infos.Load() - from
	t.Logf("%d group bindings, %d anonymous: %d consumer info requests in %s (%.1f/s)", groups, anons, n, span, float64(n)/span.Seconds())
	if n > 2*groups+groups/10 {
		t.Errorf("%d consumer info requests in %s, want about %d", n, span, 2*groups)
	}

	// A stopped member does not answer announcements.
	if err := cs[0].Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	subj := "_STREAMBIND.ACKWAIT." + natsbinder.StreamName(dest) + ".g0"
	deadline := time.Now().Add(7 * time.Second)
	for {
		_, err := raw.Request(subj, []byte("5s"), time.Second)
		if errors.Is(err, natsgo.ErrNoResponders) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a stopped member still answers announcements: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
