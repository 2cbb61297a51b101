package redis_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/streambind/streambind/stream"
)

// TestCloseRacingSends: 8 goroutines send while the producer is closed
// with a context that already ended (a shutdown whose time was spent),
// 30 rounds: every Send returns, a refused one with stream.ErrClosed or
// its own outcome, within 10 s (a breaker's race: a send that queued
// after the flushers' last drain waited for ever; it failed within 5
// rounds before the fix, see TestSendAfterFlushersExitedIsClosed).
func TestCloseRacingSends(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.binder(t, nil)
	for round := range 30 {
		p, err := b.BindProducer(context.Background(), stream.ProducerSpec{Binding: "race-out-0", Destination: "closerace", ContentType: "text/plain"})
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		start := make(chan struct{})
		errs := make(chan error, 8)
		for range 8 {
			wg.Go(func() {
				<-start
				for i := range 20 {
					if err := p.Send(context.Background(), stream.Envelope{Payload: fmt.Appendf(nil, "%d", i)}); err != nil {
						errs <- err
						return
					}
				}
			})
		}
		close(start)
		ended, cancel := context.WithCancel(context.Background())
		cancel()
		_ = p.Close(ended) // may report sends still waiting: they are
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("round %d: a Send still waits 10s after Close", round)
		}
		close(errs)
		for err := range errs {
			if !errors.Is(err, stream.ErrClosed) {
				t.Errorf("round %d: Send racing Close: %v, want stream.ErrClosed", round, err)
			}
		}
	}
}
