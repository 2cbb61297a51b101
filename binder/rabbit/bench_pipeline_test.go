package rabbit

import (
	"context"
	"fmt"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/streambind/streambind/binder/bindertest"
	"github.com/streambind/streambind/binder/rabbit/rabbittest"
	"github.com/streambind/streambind/config"
	"github.com/streambind/streambind/stream"
)

// pipelineRounds is the number of alternating rounds of
// BenchmarkPipelineRabbit (fewer than shapeRounds: each round checks the
// queues and starts a binding).
const pipelineRounds = 4

// pipelineAckEvery bounds how many confirmed inputs the raw pipeline
// holds before one multiple ack (it acks at once when no confirm is
// waiting, too).
const pipelineAckEvery = 32

// pipelineTransform is the []byte → []byte function of both stacks: a
// copy with its first byte changed.
func pipelineTransform(in []byte) []byte {
	out := append([]byte(nil), in...)
	if len(out) > 0 {
		out[0] = 'T'
	}
	return out
}

// BenchmarkPipelineRabbit is shape (c) of issue 10 on RabbitMQ: a queue
// pre-filled with 100-byte persistent messages → a []byte → []byte
// function → a topic exchange with a bound queue, publisher confirms,
// prefetch DefaultPrefetch on both stacks, in a vhost of its own. A round
// is timed from its first delivery handled until every output is
// confirmed and every input acked, then checked: the input queue has no
// message ready and, once its consumer is gone, still none (so none was
// left unacked), and the output queue holds the round's n messages.
// Stacks, in pipelineRounds alternating rounds:
//
//   - raw: consume-transform-produce done well with amqp091-go: one
//     goroutine consumes, transforms and publishes with deferred confirms
//     on a confirm channel (the window bounded by the prefetch), another
//     waits for the confirms in order and acks the inputs (multiple,
//     every pipelineAckEvery or when no confirm is waiting); the round
//     ends when the last ack went out and a QueueDeclarePassive on the
//     consuming channel, which the broker answers after those acks, says
//     nothing is ready;
//   - app: a stream.App from YAML with a registered []byte → []byte
//     function (its input binding started each round once the App is
//     ready); the round ends when the input binding counted n messages
//     processed (the function path returns to the consumer, which acks,
//     only after the output's confirm) and a QueueDeclarePassive says
//     nothing is ready.
//
// Each stack reports msgs/s, allocs/msg and cpu-µs/msg (this process:
// the broker is not in it); app/raw is the App's share of raw's msgs/s,
// app-cpu/raw its CPU per message over raw's. No p50/p99: on a pre-filled
// queue a message's latency is mostly its wait in the backlog, so it
// would measure the fill, not the pipeline.
//
//	go test -run '^$' -bench BenchmarkPipelineRabbit -benchtime 5000x -count 3 ./binder/rabbit
func BenchmarkPipelineRabbit(b *testing.B) {
	const in, out = "bench.pipe.in", "bench.pipe.out"
	outQ := out + ".q"
	vh := rabbittest.VHost(b)
	admin, err := benchDial(b, vh).Channel()
	if err != nil {
		b.Fatal(err)
	}
	if err := admin.Confirm(false); err != nil {
		b.Fatal(err)
	}
	must := func(err error) {
		b.Helper()
		if err != nil {
			b.Fatal(err)
		}
	}
	must(admin.ExchangeDeclare(in, "topic", true, false, false, false, nil))
	must(admin.ExchangeDeclare(out, "topic", true, false, false, false, nil))
	_, err = admin.QueueDeclare(outQ, true, false, false, false, nil)
	must(err)
	must(admin.QueueBind(outQ, "#", out, false, nil))
	// Each stack has an input queue of its own, bound with its name as
	// routing key, so that filling it does not fill the other.
	queues := map[string]string{}
	for _, s := range []string{"raw", "app"} {
		q := in + "." + s
		_, err := admin.QueueDeclare(q, true, false, false, false, nil)
		must(err)
		must(admin.QueueBind(q, s, in, false, nil))
		queues[s] = q
	}
	fill := func(key string, n int) {
		var window []*amqp.DeferredConfirmation
		for i := range n {
			dc, err := admin.PublishWithDeferredConfirm(in, key, true, false, rawShapeMsg("pre-"+strconv.Itoa(i)))
			must(err)
			if window = append(window, dc); len(window) == benchWindow {
				if !window[0].Wait() {
					b.Fatal("nack")
				}
				window = window[1:]
			}
		}
		for _, dc := range window {
			if !dc.Wait() {
				b.Fatal("nack")
			}
		}
		_, err := admin.QueuePurge(outQ, false)
		must(err)
	}
	// check: the stack's input queue is empty, and the output queue holds
	// the round's n messages.
	check := func(name string, n int) {
		qi, err := admin.QueueDeclarePassive(queues[name], true, false, false, false, nil)
		must(err)
		if qi.Messages != 0 || qi.Consumers != 0 {
			b.Fatalf("%s: input queue has %d messages ready (unacked ones return to ready when their consumer goes), %d consumers; want 0, 0", name, qi.Messages, qi.Consumers)
		}
		qo, err := admin.QueueDeclarePassive(outQ, true, false, false, false, nil)
		must(err)
		if qo.Messages != n {
			b.Fatalf("%s: output queue has %d messages; want %d", name, qo.Messages, n)
		}
	}

	rawConn := benchDial(b, vh)
	raw := func(m *meter, n int) {
		fill("raw", n)
		cons, err := rawConn.Channel()
		must(err)
		must(cons.Qos(DefaultPrefetch, 0, false))
		pub, err := rawConn.Channel()
		must(err)
		must(pub.Confirm(false))
		type pending struct {
			dc  *amqp.DeferredConfirmation
			tag uint64
		}
		// At most prefetch inputs are unacked, so at most that many
		// confirms are awaited.
		pend := make(chan pending, DefaultPrefetch)
		acked := make(chan error, 1)
		go func() {
			held, done := 0, 0
			var last uint64
			for p := range pend {
				if !p.dc.Wait() {
					acked <- fmt.Errorf("output of delivery %d nacked", p.tag)
					return
				}
				last, held, done = p.tag, held+1, done+1
				if held >= pipelineAckEvery || len(pend) == 0 || done == n {
					if err := cons.Ack(last, true); err != nil {
						acked <- err
						return
					}
					held = 0
				}
			}
			acked <- nil
		}()
		m.begin()
		ds, err := cons.Consume(queues["raw"], "", false, false, false, false, nil)
		must(err)
		var first time.Time
		for i := range n {
			d := <-ds
			if i == 0 {
				first = time.Now()
			}
			msg := rawShapeMsg("raw-" + strconv.Itoa(i))
			msg.Body = pipelineTransform(d.Body)
			dc, err := pub.PublishWithDeferredConfirm(out, out, false, false, msg)
			must(err)
			pend <- pending{dc, d.DeliveryTag}
		}
		close(pend)
		must(<-acked)
		// Answered after the acks before it on this channel.
		qi, err := cons.QueueDeclarePassive(queues["raw"], true, false, false, false, nil)
		must(err)
		m.end(n, time.Since(first))
		if qi.Messages != 0 {
			b.Fatalf("raw: %d input messages ready after the last ack", qi.Messages)
		}
		must(cons.Close())
		must(pub.Close())
		check("raw", n)
	}

	var calls, target atomic.Int64
	var first atomic.Int64   // unix nanos of the round's first call
	var called chan struct{} // closed at the round's target-th call
	fns := stream.NewCatalog()
	stream.AddFunction(fns, "transform", func(_ context.Context, p []byte) ([]byte, error) {
		k := calls.Add(1)
		if k == 1 {
			first.Store(time.Now().UnixNano())
		}
		if k == target.Load() {
			close(called)
		}
		return pipelineTransform(p), nil
	})
	yaml := fmt.Sprintf(`stream:
  function:
    definition: transform
  default-binder: r
  binders:
    r:
      type: rabbit
      environment:
        addresses: %q
        virtual-host: %q
  bindings:
    transform-in-0:
      destination: %s
      group: app
      content-type: application/octet-stream
      consumer:
        auto-startup: false
    transform-out-0:
      destination: %s
      content-type: application/octet-stream
  rabbit:
    bindings:
      transform-in-0:
        consumer:
          binding-routing-key: app
`, rabbittest.Address(), vh, in, out)
	l, err := config.Load(config.Options{Data: []byte(yaml), Env: []string{}})
	must(err)
	a, err := stream.NewApp(l.Stream, fns, stream.WithBinderType(Type, New), stream.WithoutSignals(), stream.WithLogger(testLogger()))
	must(err)
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- a.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-ran; err != nil {
			b.Errorf("Run: %v", err)
		}
	}()
	select {
	case <-a.Ready():
	case err := <-ran:
		b.Fatalf("Run ended: %v", err)
	case <-time.After(time.Minute):
		b.Fatal("the App was not ready in a minute")
	}
	inB := a.Binding("transform-in-0")
	app := func(m *meter, n int) {
		fill("app", n)
		calls.Store(0)
		called = make(chan struct{})
		target.Store(int64(n))
		p0 := inB.Stats().Processed
		m.begin()
		must(inB.Start(context.Background()))
		deadline := time.Now().Add(time.Minute)
		// Every input reached the function (no poll meanwhile); the last
		// outputs' confirms and the acks follow within milliseconds.
		select {
		case <-called:
		case <-time.After(time.Minute):
			b.Fatalf("app: %d of %d inputs reached the function in a minute", calls.Load(), n)
		}
		tick := time.NewTicker(time.Millisecond)
		for inB.Stats().Processed-p0 < int64(n) {
			if time.Now().After(deadline) {
				b.Fatalf("app: %d of %d processed in a minute", inB.Stats().Processed-p0, n)
			}
			<-tick.C
		}
		tick.Stop()
		for {
			qi, err := admin.QueueDeclarePassive(queues["app"], true, false, false, false, nil)
			must(err)
			if qi.Messages == 0 {
				break
			}
			if time.Now().After(deadline) {
				b.Fatalf("app: %d input messages ready after all were processed", qi.Messages)
			}
		}
		m.end(n, time.Since(time.Unix(0, first.Load())))
		must(inB.Stop(context.Background()))
		check("app", n)
	}

	ms := []*meter{{name: "raw"}, {name: "app"}}
	stacks := []func(*meter, int){raw, app}
	bindertest.Paired(b, pipelineRounds, len(stacks), func(i, n int) { stacks[i](ms[i], n) })
	for _, m := range ms {
		if m.msgs > 0 {
			m.report(b)
		}
	}
	if ms[0].msgs > 0 && ms[1].msgs > 0 {
		b.ReportMetric(ms[1].rate()/ms[0].rate(), "app/raw")
		b.ReportMetric(float64(ms[1].cpu)/float64(ms[1].msgs)/(float64(ms[0].cpu)/float64(ms[0].msgs)), "app-cpu/raw")
	}
}
