package stream_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/streambind/streambind/stream"
)

// goOnBinder's one consumer hands its messages to the handler one after
// the other, each after the previous one's handler returned, and goes on
// after a Nak, as a binder does that leaves a Nak'ed message's
// redelivery to its broker (NATS); Stop waits for the handler in flight,
// (which hands every message).
type goOnBinder struct {
	msgs    []string
	mu      sync.Mutex
	results map[string]error
	handled chan string // the payload of each handler call
}

func (b *goOnBinder) BindProducer(context.Context, stream.ProducerSpec) (stream.Producer, error) {
	return nil, errors.New("no producers")
}

func (b *goOnBinder) BindConsumer(_ context.Context, spec stream.ConsumerSpec) (stream.Consumer, error) {
	return &goOnConsumer{b: b, spec: spec}, nil
}

func (b *goOnBinder) Close(context.Context) error { return nil }

type goOnConsumer struct {
	b    *goOnBinder
	spec stream.ConsumerSpec
	once sync.Once
	done chan struct{}
}

func (c *goOnConsumer) Start(context.Context) error {
	c.once.Do(func() {
		c.done = make(chan struct{})
		go func() {
			defer close(c.done)
			for _, m := range c.b.msgs {
				err := c.spec.Handler(context.Background(), stream.Envelope{Payload: []byte(m),
					Headers: stream.Headers{stream.HeaderContentType: "text/plain"}})
				c.b.mu.Lock()
				c.b.results[m] = err
				c.b.mu.Unlock()
			}
		}()
	})
	return nil
}

func (c *goOnConsumer) Stop(ctx context.Context) error {
	select {
	case <-c.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (c *goOnConsumer) Pause(context.Context) error  { return nil }
func (c *goOnConsumer) Resume(context.Context) error { return nil }

// A message whose back-off the app's shutdown cuts short is given back
// unhandled (ErrNak with ErrStopping), and so is every later message the
// binder hands the binding during the shutdown, without a call of the
// function: none overtakes the one given back. Before, a binder that
// goes on after a Nak (NATS) had the messages after it handled — and
// their outputs sent — during the shutdown, and the failed one came back
// after the restart, behind them (a trial: big5 and after5).
func TestShutdownGivesBackWhatFollowsOneGivenBack(t *testing.T) {
	b := &goOnBinder{msgs: []string{"big", "after1", "after2"}, results: map[string]error{},
		handled: make(chan string, 8)}
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "sink", func(_ context.Context, s string) error {
		b.handled <- s
		if s == "big" {
			return errors.New("big always fails")
		}
		return nil
	})
	cfg := &stream.Config{
		Function:      stream.FunctionConfig{Definition: "sink"},
		DefaultBinder: "goon",
		Bindings: map[string]stream.BindingConfig{
			"sink-in-0": {Destination: "orders", Group: "g", ContentType: "text/plain",
				Consumer: stream.ConsumerConfig{MaxAttempts: 3, BackOffInitialInterval: time.Hour,
					BackOffMaxInterval: time.Hour, BackOffMultiplier: 2}},
		},
	}
	factory := func(context.Context, stream.BinderSettings) (stream.Binder, error) { return b, nil }
	app, err := stream.NewApp(cfg, fns, stream.WithBinderType("goon", factory), stream.WithoutSignals(), stream.WithLogger(testLogger(t)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	runErr := make(chan error, 1)
	go func() { runErr <- app.Run(ctx) }()
	if got := recv(t, b.handled); got != "big" {
		t.Fatalf("first call: %q", got)
	}
	// big is in its back-off (an hour) or about to be: shut down.
	cancel()
	select {
	case err := <-runErr:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(wait):
		t.Fatal("Run did not return")
	}
	close(b.handled)
	var calls []string
	for s := range b.handled {
		calls = append(calls, s)
	}
	if len(calls) > 0 {
		t.Errorf("handled during the shutdown, after big was given back: %v", calls)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, m := range b.msgs {
		if err := b.results[m]; !errors.Is(err, stream.ErrNak) || !errors.Is(err, stream.ErrStopping) {
			t.Errorf("%s: result %v, want ErrNak and ErrStopping (given back for the shutdown)", m, err)
		}
	}
}
