package streamtest_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/streambind/streambind/idempotency"
	"github.com/streambind/streambind/stream"
	"github.com/streambind/streambind/stream/streamtest"
)

// idempotentShop is shop with consumer.idempotency on its input (the
// memory store).
func idempotentShop() (*stream.Config, *stream.Catalog) {
	cfg, fns := shop()
	in := cfg.Bindings["chargePayment-in-0"]
	in.Consumer.Idempotency = stream.IdempotencyConfig{Store: stream.IdempotencyStoreMemory}
	cfg.Bindings["chargePayment-in-0"] = in
	return cfg, fns
}

// StartWith's setup installs the idempotent consumer on the built app
// before it runs: a message sent twice runs the function once. Start
// alone cannot test such an app: it refuses to start, and
// idempotency.New after Start fails (the app runs).
func TestStartWithIdempotency(t *testing.T) {
	cfg, fns := idempotentShop()
	var idem *idempotency.Consumer
	env := streamtest.StartWith(t, cfg, fns, func(app *stream.App) (err error) {
		idem, err = idempotency.New(app, idempotency.Config{}, idempotency.Options{})
		return err
	})
	for range 2 {
		env.Send(t, "chargePayment-in-0", Order{OrderID: "o-1", Quantity: 1}, stream.HeaderID, "m-1")
	}
	env.Send(t, "chargePayment-in-0", Order{OrderID: "o-2", Quantity: 1}, stream.HeaderID, "m-2")
	for _, want := range []string{"o-1", "o-2"} {
		if p := streamtest.Receive[Payment](t, env, "chargePayment-out-0"); p.Payload.OrderID != want {
			t.Fatalf("got %+v, want %s", p, want)
		}
	}
	env.ExpectNoOutput(t, "chargePayment-out-0")
	if s := idem.Stats("chargePayment-in-0"); s.Skipped != 1 || s.Processed != 2 {
		t.Fatalf("stats %+v, want 1 skipped, 2 processed", s)
	}
	if _, err := idempotency.New(env.App, idempotency.Config{}, idempotency.Options{}); err == nil || !strings.Contains(err.Error(), "already runs") {
		t.Fatalf("idempotency.New on the running app: %v", err)
	}
}

func TestStartWithoutSetupOrFailing(t *testing.T) {
	cfg, fns := idempotentShop()
	if msg := fails(t, func(tb testing.TB) { streamtest.Start(tb, cfg, fns) }); !strings.Contains(msg, "call idempotency.New(app, ...) before Run") {
		t.Fatalf("Start of an app with consumer.idempotency and no idempotent consumer: %q", msg)
	}
	ran := false
	msg := fails(t, func(tb testing.TB) {
		streamtest.StartWith(tb, cfg, fns, func(app *stream.App) error {
			ran = app.State() == "new"
			return errors.New("no database")
		})
	})
	if !ran || !strings.Contains(msg, "streamtest: setup: no database") {
		t.Fatalf("a failing setup (called on a new app: %v): %q", ran, msg)
	}
}

// A setup that needs no installing, nil, is Start.
func TestStartWithNilSetup(t *testing.T) {
	cfg, fns := shop()
	env := streamtest.StartWith(t, cfg, fns, nil)
	env.Send(t, "chargePayment-in-0", Order{OrderID: "o-1", Quantity: 1})
	if p := streamtest.Receive[Payment](t, env, "chargePayment-out-0"); p.Payload.OrderID != "o-1" {
		t.Fatalf("got %+v", p)
	}
}
