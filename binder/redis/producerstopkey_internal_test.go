package redis

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/streambind/streambind/stream"
)

// TestStoppedSendNamesItsStreamKey: a send the producer's stop fails
// before it was written names its stream key (a partition's
// "<prefix>:<destination>:<n>"), as the errors of a send written do, not
// the destination: the early-stop error (a batch taken as the producer
// stopped) and the drain's (still queued) named p.dest. Which one the
// flusher takes depends on a select of a ready queue and a closed stop,
// so both are checked over rounds.
func TestStoppedSendNamesItsStreamKey(t *testing.T) {
	const key = "sbtest:orders:3"
	for round := range 20 {
		p := &producer{dest: "orders", ps: producerSettings{batchSize: 4}, queue: make(chan *sendReq, 4), stopC: make(chan struct{})}
		r := &sendReq{ctx: context.Background(), key: key, done: make(chan error, 1)}
		p.queue <- r
		close(p.stopC)
		p.wg.Add(1)
		go p.flusher()
		select {
		case err := <-r.done:
			if !errors.Is(err, stream.ErrClosed) || !strings.Contains(err.Error(), "send to "+key+":") {
				t.Fatalf("round %d: %v, want ErrClosed naming %s", round, err, key)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("round %d: the send was not failed", round)
		}
		p.wg.Wait()
	}
}
