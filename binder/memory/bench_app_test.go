package memory_test

import (
	"bytes"
	"context"
	"log/slog"
	"testing"

	"github.com/streambind/streambind/binder/bindertest"
	"github.com/streambind/streambind/binder/memory"
	"github.com/streambind/streambind/stream"
)

// appPayload is the 100-byte payload of BenchmarkMemoryConsumeApp.
var appPayload = bytes.Repeat([]byte("x"), 100)

// appRounds is the number of alternating rounds of BenchmarkMemoryConsumeApp.
const appRounds = 10

// BenchmarkMemoryConsumeApp is shape (b) of issue 10 on the in-process
// binder: one consumer (concurrency 1) of a named group whose queue a bare
// producer filled with the round's messages (100-byte payloads, content
// type application/octet-stream) before the consumer starts (not timed);
// the broker's queues are sized to hold a whole round. Stacks, in
// appRounds alternating rounds (see bindertest.Paired), each on a
// destination and group of its own on one shared broker:
//
//   - binder: the bare binder consumer, its handler counting;
//   - app: a stream.App with a typed []byte consumer (the binding's
//     auto-startup off, started and stopped with the App's binding each
//     round).
//
// A round is measured from its first message handled to its last: msgs/s,
// and the process's CPU time (cpu-µs/msg) and allocations (allocs/msg)
// over that span; start-up, Stop and the fill are not counted.
// app-cpu/binder is the App's CPU per message over the bare binder's
// (issue 10's target: at most 1.15), app/binder the App's share of the
// bare binder's msgs/s.
//
//	go test -run '^$' -bench BenchmarkMemoryConsumeApp -benchtime 1000000x -count 3 ./binder/memory
func BenchmarkMemoryConsumeApp(b *testing.B) {
	ctx := context.Background()
	// A round's messages wait in the queue before its consumer starts: the
	// queues hold them all (b.N is more than a round's share).
	br := newBroker(b, memory.Config{BufferSize: max(b.N, 1)})
	bd := newBinder(b, br, nil)
	const ct = "application/octet-stream"
	binDest, appDest := "conapp.binder", "conapp.app"
	var cnt bindertest.RoundCounter

	bc, appBinding := bindertest.ConsumeStacks(b, bd, memory.Type, memory.Factory(br), nil,
		binDest, appDest, &cnt, stream.WithLogger(slog.New(slog.DiscardHandler)))
	producers := map[string]stream.Producer{}
	for _, d := range []string{binDest, appDest} {
		producers[d] = producer(b, bd, stream.ProducerSpec{Binding: "fill-out-0", Destination: d, ContentType: ct})
	}

	fill := func(dest, group string, n int) {
		p := producers[dest]
		for range n {
			if err := p.Send(ctx, stream.Envelope{Payload: appPayload}); err != nil {
				b.Fatal(err)
			}
		}
		if depth, _ := br.Depth(dest, group); depth != n {
			b.Fatalf("%s: %d messages in the queue of group %s, want %d", dest, depth, group, n)
		}
	}
	bindertest.CompareAppToBinder(b, appRounds, &cnt, fill, bc, binDest, appBinding, appDest)
}
