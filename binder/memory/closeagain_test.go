package memory_test

import (
	"context"
	"errors"
	"testing"

	"github.com/streambind/streambind/binder/memory"
	"github.com/streambind/streambind/stream"
)

// stuckConsumer binds and starts a consumer of bd whose handler ignores
// its context: it signals entered and returns when release is closed,
// closing returned first. A message is sent and handled.
func stuckConsumer(t *testing.T, bd stream.Binder) (entered, release, returned chan struct{}) {
	t.Helper()
	ctx := ctxT(t)
	entered, release, returned = make(chan struct{}), make(chan struct{}), make(chan struct{})
	c, err := bd.BindConsumer(ctx, stream.ConsumerSpec{Binding: "in", Destination: "d", Group: "g", Handler: func(context.Context, stream.Envelope) error {
		close(entered)
		<-release
		close(returned)
		return nil
	}})
	must(t, err)
	must(t, c.Start(ctx))
	p, err := bd.BindProducer(ctx, stream.ProducerSpec{Binding: "out", Destination: "d"})
	must(t, err)
	must(t, p.Send(ctx, stream.Envelope{Payload: []byte("x")}))
	<-entered
	return entered, release, returned
}

func endedCtx() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}

// A Binder.Close or Broker.Close after a Binder.Close that ran out of time
// returns nil only once the handler it left running has returned: the
// binder counted itself closed at its first Close, and a second one (and
// the broker's, which closes its binders) returned nil at once, with the
// handler still running.
func TestCloseAgainAfterTimeoutWaitsForHandlers(t *testing.T) {
	br, err := memory.NewBroker(memory.Config{})
	must(t, err)
	bd, err := memory.Factory(br)(ctxT(t), stream.BinderSettings{Name: "a"})
	must(t, err)
	_, release, returned := stuckConsumer(t, bd)
	defer func() {
		select {
		case <-release:
		default:
			close(release)
		}
	}()

	if err := bd.Close(endedCtx()); err == nil {
		t.Fatal("Binder.Close with an ended context beside a running handler: nil")
	}
	if err := bd.Close(endedCtx()); err == nil {
		t.Fatal("second Binder.Close with an ended context, handler still running: nil")
	}
	if err := br.Close(endedCtx()); err == nil {
		t.Fatal("Broker.Close with an ended context, handler still running: nil")
	}
	close(release)
	must(t, bd.Close(ctxT(t)))
	select {
	case <-returned:
	default:
		t.Fatal("Binder.Close returned nil before the handler returned")
	}
	must(t, br.Close(ctxT(t)))
}

// A Close beside a Close that is still waiting for a handler does not
// return nil while the handler runs; the broker's Close neither. Both
// returned nil at once: the binder was marked closed by the first.
func TestCloseBesideCloseWaitsForHandlers(t *testing.T) {
	br, err := memory.NewBroker(memory.Config{})
	must(t, err)
	bd, err := memory.Factory(br)(ctxT(t), stream.BinderSettings{Name: "a"})
	must(t, err)
	_, release, returned := stuckConsumer(t, bd)

	first := make(chan error, 1)
	go func() { first <- bd.Close(ctxT(t)) }()
	// Until the first Close has begun: the binder refuses new bindings.
	for {
		_, err := bd.BindProducer(ctxT(t), stream.ProducerSpec{Binding: "probe", Destination: "e"})
		if errors.Is(err, stream.ErrClosed) {
			break
		}
		must(t, err)
	}
	if err := bd.Close(endedCtx()); err == nil {
		t.Error("Binder.Close beside another, handler still running: nil")
	}
	if err := br.Close(endedCtx()); err == nil {
		t.Error("Broker.Close beside a Binder.Close, handler still running: nil")
	}
	close(release)
	must(t, <-first)
	<-returned
	must(t, br.Close(ctxT(t)))
}
