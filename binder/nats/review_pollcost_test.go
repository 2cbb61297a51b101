package nats_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
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
	// Consumer info requests by consumer ($JS.API.CONSUMER.INFO.<stream>.<consumer>).
	var mu sync.Mutex
	infos := map[string]int{}
	count := func() map[string]int {
		mu.Lock()
		defer mu.Unlock()
		out := make(map[string]int, len(infos))
		for k, v := range infos {
			out[k] = v
		}
		return out
	}
	if _, err := raw.Subscribe("$JS.API.CONSUMER.INFO.>", func(m *natsgo.Msg) {
		name := m.Subject[strings.LastIndexByte(m.Subject, '.')+1:]
		mu.Lock()
		infos[name]++
		mu.Unlock()
	}); err != nil {
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
	from := count()
	const span = 11 * time.Second
	time.Sleep(span) // a measurement, not a synchronisation
	// Counted by consumer, not in total: in 11s a member asking every 5s
	// asks twice or three times, by its phase, which depends on how long
	// the 100 bindings took to start (a total of at most 210 failed a CI
	// run on a loaded machine with 223). Four would be more often than
	// every 5s; a request about a consumer of no group, an anonymous
	// consumer's ephemeral, is one too many.
	n, durables := 0, map[string]bool{}
	for i := range groups {
		durables[natsbinder.DurableName(fmt.Sprintf("g%d", i), -1)] = true
	}
	for name, c := range count() {
		c -= from[name]
		n += c
		switch {
		case !durables[name] && c > 0:
			t.Errorf("%d consumer info requests about %s, no group's durable (an anonymous consumer's?)", c, name)
		case c > 3:
			t.Errorf("%d consumer info requests about %s in %s: more often than every 5s", c, name, span)
		}
	}
	t.Logf("%d group bindings, %d anonymous: %d consumer info requests in %s (%.1f/s)", groups, anons, n, span, float64(n)/span.Seconds())
	if n < groups {
		t.Errorf("%d consumer info requests in %s, want at least one a group binding (%d)", n, span, groups)
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
