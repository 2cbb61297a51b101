package redis_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	redisbinder "github.com/streambind/streambind/binder/redis"
	"github.com/streambind/streambind/binder/redis/redistest"
	"github.com/streambind/streambind/stream"
)

// TestBreakStaleAfterPipelinedAcks: as TestBreakStaleConnectionsClosed's
// "after the acknowledgement", but the first reply holds several entries
// (more than half of prefetch), whose acknowledgements went in the
// pipeline of the next blocking read. The XACK's reply, received after
// that request went out, made the reader's connection look alive to the
// stale-connection sweep, so that after the path died the consumer waited
// out the read's timeout (block time + command-timeout, 12s) before it
// read again; now such a read does not block. Received within 8s of the
// send (about 2.5s with the sweep).
func TestBreakStaleAfterPipelinedAcks(t *testing.T) {
	for _, prefetch := range []int{2, 8} {
		t.Run(fmt.Sprint("prefetch ", prefetch), func(t *testing.T) {
			t.Parallel() // with its sibling only: the parent is serial
			e := newEnv(t)
			px := newHoleProxy(t)
			b := newBinder(t, map[string]any{"address": px.addr(), "key-prefix": e.prefix, "client-name": e.name,
				"health-interval": "200ms", "health-timeout": "200ms", "command-timeout": "10s"})
			// A direct producer: the messages do not depend on the proxy.
			p := bindProducer(t, e.binder(t, nil), stream.ProducerSpec{Destination: "staleacks",
				Producer: stream.ProducerConfig{RequiredGroups: []string{"g"}}})
			first := ids("first", prefetch)
			send(t, p, first) // before the consumer starts: its first read returns them all
			got := make(chan string, 100)
			bindReadingAhead(t, b, stream.ConsumerSpec{Destination: "staleacks", Group: "g", Extension: map[string]any{"prefetch": prefetch},
				Handler: func(_ context.Context, m stream.Envelope) error {
					got <- m.Headers[idHeader]
					return nil
				}})
			for range first {
				select {
				case <-got:
				case <-time.After(10 * time.Second):
					t.Fatal("the first entries were not received")
				}
			}
			admin := redistest.Client(t, redistest.Addr(), "", "")
			waitNonePending(t, admin, redisbinder.StreamKey(e.prefix, "staleacks", -1), "g")
			px.strand()
			stranded := time.Now()
			send(t, p, []string{"after"})
			select {
			case <-got:
				t.Logf("after: received after %v", time.Since(stranded).Round(time.Millisecond))
			case <-time.After(8 * time.Second):
				t.Fatalf("after: nothing received %v after the send (new connections work)", time.Since(stranded).Round(time.Millisecond))
			}
		})
	}
}
