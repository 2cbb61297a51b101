package redis_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/google/uuid"

	"github.com/streambind/streambind/binder/bindertest"
	redisbinder "github.com/streambind/streambind/binder/redis"
	"github.com/streambind/streambind/binder/redis/redistest"
	"github.com/streambind/streambind/stream"
)

// appPayload is the 100-byte payload of BenchmarkRedisConsumeApp.
var appPayload = bytes.Repeat([]byte("x"), 100)

// appRounds is the number of alternating rounds of BenchmarkRedisConsumeApp.
const appRounds = 10

// appEntry is the binder's entry of appPayload (content type
// application/octet-stream).
func appEntry() []any {
	return []any{"h:contentType", "application/octet-stream", "h:id", uuid.NewString(), "payload", appPayload}
}

// BenchmarkRedisConsumeApp is shape (b) of issue 10 on Redis Streams: one
// consumer group member (concurrency 1, the binder's default prefetch),
// each entry acknowledged after it was handled, its stream filled with the
// round's entries (100-byte payloads) before the consumer starts (not
// timed). Stacks, in appRounds alternating rounds (see bindertest.Paired),
// each on a stream and group of its own under the benchmark's key prefix
// (deleted at the end):
//
//   - binder: the bare binder consumer, its handler counting;
//   - app: a stream.App with a typed []byte consumer (content type
//     application/octet-stream, the binding's auto-startup off, started
//     and stopped with the App's binding each round).
//
// A round is measured from its first entry handled to its last: msgs/s,
// and the process's CPU time (cpu-µs/msg) and allocations (allocs/msg)
// over that span; start-up, Stop and the fill are not counted.
// app-cpu/binder is the App's CPU per message over the bare binder's
// (issue 10's target: at most 1.15), app/binder the App's share of the
// bare binder's msgs/s.
//
//	go test -run '^$' -bench BenchmarkRedisConsumeApp -benchtime 60000x -count 3 ./binder/redis
func BenchmarkRedisConsumeApp(b *testing.B) {
	redistest.Require(b)
	ctx := context.Background()
	e := env{prefix: redistest.Prefix(b), name: "sbbench"}
	binDest, appDest := "conapp.binder", "conapp.app"
	fc := redistest.Client(b, redistest.Addr(), "", "")
	var cnt bindertest.RoundCounter

	bd := e.binder(b, nil)
	bc, err := bd.BindConsumer(ctx, stream.ConsumerSpec{Binding: "sink-in-0", Destination: binDest, Group: "binder",
		ContentType: "application/octet-stream",
		Consumer:    stream.ConsumerConfig{Concurrency: 1, MaxAttempts: stream.DefaultMaxAttempts, InstanceCount: 1},
		Handler:     func(context.Context, stream.Envelope) error { cnt.Handled(); return nil }})
	if err != nil {
		b.Fatal(err)
	}

	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "sink", func(_ context.Context, _ []byte) error { cnt.Handled(); return nil })
	cfg := &stream.Config{
		Function:      stream.FunctionConfig{Definition: "sink"},
		DefaultBinder: "r",
		Binders: map[string]stream.BinderConfig{"r": {Type: redisbinder.Type, Environment: map[string]any{
			"address": redistest.Addr(), "key-prefix": e.prefix, "client-name": e.name}}},
		Bindings: map[string]stream.BindingConfig{
			"sink-in-0": {Destination: appDest, Group: "app", ContentType: "application/octet-stream",
				Consumer: stream.ConsumerConfig{AutoStartup: new(bool)}},
		},
	}
	app, err := stream.NewApp(cfg, fns, stream.WithBinderType(redisbinder.Type, redisbinder.New), stream.WithoutSignals(),
		stream.WithLogger(testLogger(b)))
	if err != nil {
		b.Fatal(err)
	}
	bindertest.RunApp(b, app)
	appBinding := app.Binding("sink-in-0")

	bindertest.CompareAppToBinder(b, appRounds, &cnt, func(dest, _ string, n int) {
		publishEntries(b, fc, redisbinder.StreamKey(e.prefix, dest, -1), n, 0, appEntry)
	},
		bc, binDest, appBinding, appDest)
}
