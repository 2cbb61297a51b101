package rabbit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/streambind/streambind/binder/bindertest"
	"github.com/streambind/streambind/binder/rabbit/rabbittest"
	"github.com/streambind/streambind/config"
	"github.com/streambind/streambind/internal/syncbuf"
	"github.com/streambind/streambind/stream"
)

// TestHugeHandlerErrorLoggedBounded: a handler error of 2 MiB on a
// message whose parked retry copy the broker cannot take (its headers,
// with the copy's exception texts, are over frame_max) is dead-lettered
// at once, and the binder's ERROR line about the refused copy carries at
// most the core's 2 KiB of the error, not all of it (it was a 2 MiB line,
// and each requeue of a copy that failed for now logged one).
func TestHugeHandlerErrorLoggedBounded(t *testing.T) {
	t.Parallel()
	vhost := rabbittest.VHost(t)
	dest := uniqueDest(t, "hugeerr")
	huge := strings.Repeat("e", 2<<20)
	calls := make(chan struct{}, 8)
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "pay", func(context.Context, string) error {
		calls <- struct{}{}
		return errors.New(huge)
	})
	logs, stop := runPayApp(t, fns, vhost, dest, slog.LevelInfo, `
      consumer:
        dlq: true
        retry-delays: 1s
`)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ch := rabbittest.Channel(t, vhost)
	// Headers that fit a frame, but not with the parked copy's 3 KiB of
	// exception texts besides.
	big := amqp.Table{"big": strings.Repeat("b", 130_000)}
	if err := ch.PublishWithContext(ctx, dest, "", false, false, amqp.Publishing{ContentType: "text/plain", Headers: big, Body: []byte("order-1")}); err != nil {
		t.Fatal(err)
	}
	for {
		q, err := ch.QueueDeclarePassive(dest+".g.dlq", true, false, false, false, nil)
		if err != nil {
			t.Fatal(err)
		}
		if q.Messages == 1 {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("no dead letter; log:\n%.3000s", logs.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if n := len(calls); n != 1 {
		t.Errorf("handled %d times, want 1 (the copy refused for good: dead-lettered at once)", n)
	}
	out := logs.String()
	if !strings.Contains(out, "refuses the failed message's copy for its wait queue") {
		t.Errorf("no line about the refused copy; log:\n%.3000s", out)
	}
	checkLinesBounded(t, out)
}

// TestHugeHandlerErrorDebugBounded: with republish-to-dlq: false the
// DEBUG line about a failed message the broker dead-letters carries at
// most 2 KiB of its handler's 2 MiB error (it carried all of it, one such
// line per message).
func TestHugeHandlerErrorDebugBounded(t *testing.T) {
	t.Parallel()
	vhost := rabbittest.VHost(t)
	dest := uniqueDest(t, "hugedebug")
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "pay", func(context.Context, string) error { return errors.New(strings.Repeat("e", 2<<20)) })
	logs, stop := runPayApp(t, fns, vhost, dest, slog.LevelDebug, `
      consumer:
        dlq: true
        max-attempts: 1
  rabbit:
    bindings:
      pay-in-0:
        consumer:
          republish-to-dlq: false
`)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ch := rabbittest.Channel(t, vhost)
	if err := ch.PublishWithContext(ctx, dest, "", false, false, amqp.Publishing{ContentType: "text/plain", Body: []byte("order-1")}); err != nil {
		t.Fatal(err)
	}
	for !strings.Contains(logs.String(), "failed message rejected; the broker dead-letters it") {
		select {
		case <-ctx.Done():
			t.Fatalf("no DEBUG line; log:\n%.3000s", logs.String())
		case <-time.After(10 * time.Millisecond): // polling the log
		}
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	checkLinesBounded(t, logs.String())
}

// runPayApp runs an App whose consumer pay reads dest (group g, text/plain)
// on the test's vhost, with the binding's consumer settings (and any
// sections after them) given as YAML lines, logging at level into the
// returned buffer; stop shuts it down.
func runPayApp(t *testing.T, fns *stream.Catalog, vhost, dest string, level slog.Level, consumerYAML string) (logs *syncbuf.Buffer, stop func() error) {
	t.Helper()
	yaml := fmt.Sprintf(`stream:
  function:
    definition: pay
  default-binder: r
  binders:
    r:
      type: rabbit
      environment:
        addresses: %q
        virtual-host: %q
  bindings:
    pay-in-0:
      destination: %s
      group: g
      content-type: text/plain`, rabbittest.Address(), vhost, dest) + consumerYAML
	l, err := config.Load(config.Options{Data: []byte(yaml), Env: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	logs = new(syncbuf.Buffer)
	app, err := stream.NewApp(l.Stream, fns, stream.WithBinderType(Type, New), stream.WithoutSignals(),
		stream.WithLogger(slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: level}))))
	if err != nil {
		t.Fatal(err)
	}
	return logs, bindertest.RunApp(t, app)
}

// checkLinesBounded fails t for every log line over 8 KiB.
func checkLinesBounded(t *testing.T, out string) {
	t.Helper()
	for _, line := range strings.Split(out, "\n") {
		if len(line) > 8<<10 {
			t.Errorf("a log line of %d bytes: %.300s…", len(line), line)
		}
	}
}
