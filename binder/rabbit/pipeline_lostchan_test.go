package rabbit

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/streambind/streambind/stream"
)

// TestPipelineLostChannelNoRetryInPlace: deliveries whose pipelined sends
// failed wait in the worker's FIFO behind the head's retry in place while
// the App's connections are cut (its consumer channel is lost). They are
// not run again in place on the lost channel (their acks would be dropped
// and the broker redelivers them anyway: duplicate outputs, and a window
// of retries holding up the new channel's deliveries): the function's next
// call of each is its redelivery (amqp_redelivered).
//
// Four inputs of one key (one worker, max-in-flight 8), the output
// unroutable (every send fails: ErrPipelinedSend); the proxy holds the
// App's publishes until the function was called for all four, so that all
// four are in the window when their sends fail. The head's retry in place
// (its second call, on the still open channel) waits in the function while
// the test cuts the App's connections, waits for the binder to see its
// consumer channel lost, and makes the output routable again.
func TestPipelineLostChannelNoRetryInPlace(t *testing.T) {
	t.Parallel()
	const n = 4
	e := newAdvEnv(t)
	type call struct {
		payload     string
		redelivered bool
	}
	var (
		mu    sync.Mutex
		calls []call
	)
	firstCalls := make(chan struct{}, n)
	inRetry := make(chan struct{})
	release := make(chan struct{})
	head := "k0:0"
	fn := func(_ context.Context, m stream.Message[[]byte]) ([]byte, error) {
		p := string(m.Payload)
		mu.Lock()
		calls = append(calls, call{p, m.Received.Redelivered})
		k := 0
		for _, c := range calls {
			if c.payload == p {
				k++
			}
		}
		mu.Unlock()
		switch {
		case k == 1 && !m.Received.Redelivered:
			firstCalls <- struct{}{}
		case k == 2 && p == head && !m.Received.Redelivered:
			close(inRetry) // the head's retry in place
			<-release
		}
		return outFn(m.Payload)
	}
	lh := newCounting("consumer channel lost")
	restore := e.outage()
	gate := make(chan struct{})
	e.gate.Store(&gate) // the App's publishes wait in the proxy
	a := runMsgApp(e, e.yaml("max-in-flight: 8", "", "", ""), fn, slog.New(lh))
	e.fill(n, 1)
	a.start(t)
	deadline := time.After(time.Minute)
	for range n {
		select {
		case <-firstCalls:
		case <-deadline:
			t.Fatal("the function was not called for every input in a minute")
		}
	}
	e.gate.Store(nil)
	close(gate) // the sends go out now, and fail (unroutable)
	select {
	case <-inRetry:
	case <-deadline:
		t.Fatal("no retry in place of the head in a minute")
	}
	if e.px.Cut() == 0 {
		t.Fatal("no connection to cut")
	}
	for lh.counts[0].Load() == 0 {
		select {
		case <-deadline:
			t.Fatal("the consumer channel was not seen lost in a minute")
		case <-time.After(5 * time.Millisecond): // polling a log counter
		}
	}
	restore()
	close(release)
	if missing, _ := e.waitOutputs(advWant(n, 1), time.Minute); len(missing) > 0 {
		t.Fatalf("%d inputs have no output: %v", len(missing), missing)
	}
	for e.queueDepth(advInQ) != 0 {
		select {
		case <-deadline:
			t.Fatalf("%d inputs still ready", e.queueDepth(advInQ))
		case <-time.After(20 * time.Millisecond): // the broker's queue count
		}
	}
	if err := a.stop(t); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	var log []string
	for _, c := range calls {
		log = append(log, fmt.Sprintf("%s redelivered=%v", c.payload, c.redelivered))
	}
	t.Logf("calls: %s", strings.Join(log, ", "))
	for i := 1; i < n; i++ {
		p := fmt.Sprintf("k0:%d", i)
		fresh := 0
		for _, c := range calls {
			if c.payload == p && !c.redelivered {
				fresh++
			}
		}
		if fresh != 1 {
			t.Errorf("%s: called %d times as not redelivered; want 1 (run again in place on its lost channel)", p, fresh)
		}
	}
}

// runMsgApp is advEnv.run for a function that takes a Message (it reads
// Received).
func runMsgApp(e *advEnv, yaml string, fn func(context.Context, stream.Message[[]byte]) ([]byte, error), log *slog.Logger) *advRApp {
	e.t.Helper()
	fns := stream.NewCatalog()
	stream.AddFunction(fns, "transform", fn)
	return e.runCatalog(yaml, fns, stream.WithLogger(log))
}
