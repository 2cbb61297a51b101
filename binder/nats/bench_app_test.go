package nats_test

import (
	"bytes"
	"testing"

	"github.com/streambind/streambind/binder/bindertest"
	natsbinder "github.com/streambind/streambind/binder/nats"
	"github.com/streambind/streambind/binder/nats/natstest"
	"github.com/streambind/streambind/stream"
)

// appPayload is the 100-byte payload of BenchmarkNATSConsumeApp.
var appPayload = bytes.Repeat([]byte("x"), 100)

// appRounds is the number of alternating rounds of BenchmarkNATSConsumeApp.
const appRounds = 10

// BenchmarkNATSConsumeApp is shape (b) of issue 10 on NATS JetStream: one
// consumer (concurrency 1, the binder's default prefetch and durable
// consumer settings), each message acked after it was handled, its stream
// filled with the round's messages (100 bytes each) before the consumer
// starts (not timed). Stacks, in appRounds alternating rounds (see
// bindertest.Paired), each on a stream and durable consumer of its own:
//
//   - binder: the bare binder consumer, its handler counting;
//   - app: a stream.App with a typed []byte consumer (content type
//     application/octet-stream, the binding's auto-startup off, started
//     and stopped with the App's binding each round).
//
// A round is measured from its first message handled to its last: msgs/s,
// and the process's CPU time (cpu-µs/msg) and allocations (allocs/msg)
// over that span; start-up, Stop and the fill are not counted.
// app-cpu/binder is the App's CPU per message over the bare binder's
// (issue 10's target: at most 1.15), app/binder the App's share of the
// bare binder's msgs/s.
//
//	go test -run '^$' -bench BenchmarkNATSConsumeApp -benchtime 60000x -count 3 ./binder/nats
func BenchmarkNATSConsumeApp(b *testing.B) {
	_, js := rawJS(b)
	binDest, appDest := benchStream(b, js, "conapp.binder"), benchStream(b, js, "conapp.app")
	var cnt bindertest.RoundCounter

	bd := newBinder(b, natstest.URL(), nil)
	closeBinder(b, bd)
	bc, appBinding := bindertest.ConsumeStacks(b, bd, natsbinder.Type, natsbinder.New, map[string]any{"servers": natstest.URL()},
		binDest, appDest, &cnt, stream.WithLogger(testLogger(b)))

	bindertest.CompareAppToBinder(b, appRounds, &cnt, func(dest, _ string, n int) { publishAs(b, js, dest, n, appPayload, "application/octet-stream") },
		bc, binDest, appBinding, appDest)
}
