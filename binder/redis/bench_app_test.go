package redis_test

import (
	"bytes"
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
	e := env{prefix: redistest.Prefix(b), name: "sbbench"}
	binDest, appDest := "conapp.binder", "conapp.app"
	fc := redistest.Client(b, redistest.Addr(), "", "")
	var cnt bindertest.RoundCounter

	bd := e.binder(b, nil)
	bc, appBinding := bindertest.ConsumeStacks(b, bd, redisbinder.Type, redisbinder.New,
		map[string]any{"address": redistest.Addr(), "key-prefix": e.prefix, "client-name": e.name},
		binDest, appDest, &cnt, stream.WithLogger(testLogger(b)))

	bindertest.CompareAppToBinder(b, appRounds, &cnt, func(dest, _ string, n int) {
		publishEntries(b, fc, redisbinder.StreamKey(e.prefix, dest, -1), n, 0, appEntry)
	},
		bc, binDest, appBinding, appDest)
}
