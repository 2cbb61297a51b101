package nats

import (
	"context"
	"io"
	"log/slog"
	"strconv"
	"testing"
	"time"

	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/streambind/streambind/binder/bindertest"
	"github.com/streambind/streambind/stream"
)

// pathMsg is a received message without a connection: what accept and
// settle read of it, and an Ack that sends nothing.
type pathMsg struct {
	jetstream.Msg // any other method: not called on this path
	reply         string
	h             natsgo.Header
	data          []byte
}

func (m *pathMsg) Subject() string        { return "bench.path" }
func (m *pathMsg) Reply() string          { return m.reply }
func (m *pathMsg) Headers() natsgo.Header { return m.h }
func (m *pathMsg) Data() []byte           { return m.data }
func (m *pathMsg) Ack() error             { return nil }

// BenchmarkConsumePath is the binder's own part of consuming a message,
// without the network and nats.go: the client callback's accept (the
// envelope and its headers map, the ack subject's parse, the tracking),
// the hand-over to the worker, and the worker's handling and settling (a
// handler that returns nil, an Ack that sends nothing), with the
// messages BenchmarkNATSConsume consumes (contentType, id and Nats-Msg-Id
// headers). Both goroutines run at once, as in a run, so ns/op is wall
// time; cpu-ns/op is the process's CPU time a message (getrusage), the
// figure to compare:
//
//	go test -run '^$' -bench BenchmarkConsumePath -benchtime 2000000x -count 5 ./binder/nats
func BenchmarkConsumePath(b *testing.B) {
	c := &consumer{dest: "bench.path", conc: 1, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	c.cs.prefetch = DefaultPrefetch
	c.timing.ackWait.Store(int64(DefaultAckWait))
	done := make(chan struct{})
	handled := 0
	c.spec.Handler = func(context.Context, stream.Envelope) error {
		if handled++; handled == b.N {
			close(done)
		}
		return nil
	}
	r := c.newRun()
	r.alive.Store(monoNow())
	go r.work()
	msgs := make([]*pathMsg, 2*DefaultPrefetch)
	tm := strconv.FormatInt(time.Now().UnixNano(), 10)
	for i := range msgs {
		id := "bench-" + strconv.Itoa(i)
		msgs[i] = &pathMsg{
			reply: "$JS.ACK.S_bench_path.g.1." + strconv.Itoa(1000+i) + "." + strconv.Itoa(900+i) + "." + tm + ".12",
			h:     natsgo.Header{stream.HeaderContentType: {"application/json"}, stream.HeaderID: {id}, "Nats-Msg-Id": {id}},
			data:  []byte(`{"orderId":"o-123456","customerId":"c-42","quantity":3,"amount":29.97}`),
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	c0 := bindertest.CPUTime()
	for i := range b.N {
		// As pump's callback: full, wait until half is settled.
		if r.accept(msgs[i%len(msgs)], false) >= c.cs.prefetch {
			r.waitBelow(context.Background(), r.lowWater(), time.Minute)
		}
	}
	<-done
	cpu := bindertest.CPUTime() - c0
	b.StopTimer()
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
	r.shutQueue()
	<-r.workDone
}
