package nats_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/streambind/streambind/stream"
)

// TestBreakUnusualIDs: message ids NATS headers cannot carry as they are
// (a line break, a header injected after it, leading space, non-ASCII)
// are sent, stored once each and received with the id as sent; the
// connection survives them.
func TestBreakUnusualIDs(t *testing.T) {
	b, _ := shared(t, nil)
	dest := unique(t, "ids")
	env := newEnvelopes()
	startConsumer(t, b, stream.ConsumerSpec{Destination: dest, Group: "g", Handler: env.handler})
	p := bindProducer(t, b, stream.ProducerSpec{Destination: dest})
	ids := []string{"a\nb", "c\r\nNats-Expected-Last-Sequence: 1", " lead", "trail ", "ünï", "=?utf-8?b?eA==?=", "tab\tin"}
	var want []string
	for i, id := range ids {
		tid := "t-" + strconv.Itoa(i)
		want = append(want, tid)
		m := msg(tid)
		m.Headers[stream.HeaderID] = id
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := p.Send(ctx, m)
		cancel()
		if err != nil {
			t.Errorf("Send with id %q: %v", id, err)
		}
	}
	for i := range 5 {
		id := "after-" + strconv.Itoa(i)
		want = append(want, id)
		if err := p.Send(context.Background(), msg(id)); err != nil {
			t.Fatalf("Send after the unusual ids: %v", err)
		}
	}
	env.tr.wait(t, want, 10*time.Second)
	for i, id := range ids {
		if got := env.get("t-" + strconv.Itoa(i)).Headers[stream.HeaderID]; got != id {
			t.Errorf("id %q received as %q", id, got)
		}
	}
}

// TestBreakIDsDistinctOnTheWire: two messages whose ids differ only where
// NATS headers cannot carry the text as it is (a line break against a
// space, a leading space against none) are two messages: neither is taken
// for the other's duplicate (Nats-Msg-Id) and dropped while its Send
// returns nil.
func TestBreakIDsDistinctOnTheWire(t *testing.T) {
	b, _ := shared(t, nil)
	dest := unique(t, "ids")
	env := newEnvelopes()
	startConsumer(t, b, stream.ConsumerSpec{Destination: dest, Group: "g", Handler: env.handler})
	p := bindProducer(t, b, stream.ProducerSpec{Destination: dest})
	pairs := [][2]string{{"order\n1", "order 1"}, {" order-2", "order-2"}, {"order-3\t", "order-3"}}
	var want []string
	for i, pair := range pairs {
		for j, id := range pair {
			tid := "t-" + strconv.Itoa(i) + "-" + strconv.Itoa(j)
			want = append(want, tid)
			m := msg(tid)
			m.Headers[stream.HeaderID] = id
			if err := p.Send(context.Background(), m); err != nil {
				t.Fatalf("Send with id %q: %v", id, err)
			}
		}
	}
	env.tr.wait(t, want, 10*time.Second)
}
