package rabbit

import (
	"bytes"
	"context"
	"fmt"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/streambind/streambind/binder/bindertest"
	"github.com/streambind/streambind/binder/rabbit/rabbittest"
	"github.com/streambind/streambind/stream"
)

// Benchmarks in the shapes services run (issue 10), each beside the raw
// amqp091-go baseline of the same shape in the same run, in a vhost of
// their own (deleted with all it holds when the benchmark ends).

// shapeSenders is the number of concurrent senders of shape (a).
const shapeSenders = 64

// shapePayload is the 100-byte payload of the shapes.
var shapePayload = bytes.Repeat([]byte("x"), 100)

// benchVHost creates a vhost for the benchmark and declares topic exchange
// dest there, bound to queue dest.g (routing key #); it returns the vhost.
func benchVHost(b *testing.B, dest string) string {
	b.Helper()
	vh := rabbittest.VHost(b)
	conn := benchDial(b, vh)
	ch, err := conn.Channel()
	if err != nil {
		b.Fatal(err)
	}
	defer ch.Close()
	if err := ch.ExchangeDeclare(dest, "topic", true, false, false, false, nil); err != nil {
		b.Fatal(err)
	}
	if _, err := ch.QueueDeclare(dest+".g", true, false, false, false, nil); err != nil {
		b.Fatal(err)
	}
	if err := ch.QueueBind(dest+".g", "#", dest, false, nil); err != nil {
		b.Fatal(err)
	}
	return vh
}

func benchDial(b *testing.B, vhost string) *amqp.Connection {
	b.Helper()
	conn, err := amqp.Dial(rabbittest.VHostURL(vhost))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { conn.Close() })
	return conn
}

// rawShapeMsg is the message the binder puts on the wire for a []byte
// payload with content type application/octet-stream (CONVENTIONS:
// content_type property and contentType header, a message_id), so that the
// comparison measures the binder, not the convention.
func rawShapeMsg(id string) amqp.Publishing {
	return amqp.Publishing{Body: shapePayload, DeliveryMode: amqp.Persistent,
		ContentType: "application/octet-stream", Headers: amqp.Table{stream.HeaderContentType: "application/octet-stream"},
		MessageId: id}
}

// Paired measurement: the machine the benchmarks run on is shared, and its
// load drifts by more than the differences measured. So the stacks of a
// shape run in rounds, each in the order of a row of a Williams design
// (bindertest.Paired, bindertest.Order), each round a slice of b.N
// messages, and each stack's figures sum its rounds: drift hits every
// stack alike.

// shapeRounds is the number of rounds of a paired benchmark: a multiple
// of 6 and of 3, so that the six publishing stacks and the three consuming
// ones complete their designs (bindertest.Order).
const shapeRounds = 12

// meter measures one stack over its rounds.
type meter struct {
	name    string
	msgs    int
	wall    time.Duration // sum of the rounds' timed spans
	cpu     time.Duration // process CPU time (user+system) in those rounds
	mallocs uint64
	lats    []time.Duration // per-message latencies (senders only)

	cpu0     time.Duration
	mallocs0 uint64
}

func mallocs() uint64 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.Mallocs
}

// begin and end bracket the part of a round that is the stack's work.
func (m *meter) begin() { m.cpu0, m.mallocs0 = bindertest.CPUTime(), mallocs() }
func (m *meter) end(n int, wall time.Duration) {
	m.cpu += bindertest.CPUTime() - m.cpu0
	m.mallocs += mallocs() - m.mallocs0
	m.msgs += n
	m.wall += wall
}

func (m *meter) rate() float64 { return float64(m.msgs) / m.wall.Seconds() }

// report reports the stack's msgs/s, allocations and CPU time per message
// and, for senders, the p50/p99 latency of a send.
func (m *meter) report(b *testing.B) {
	b.ReportMetric(m.rate(), m.name+"-msgs/s")
	b.ReportMetric(float64(m.mallocs)/float64(m.msgs), m.name+"-allocs/msg")
	b.ReportMetric(float64(m.cpu.Nanoseconds())/1000/float64(m.msgs), m.name+"-cpu-µs/msg")
	if len(m.lats) > 0 {
		slices.Sort(m.lats)
		b.ReportMetric(float64(m.lats[len(m.lats)/2].Microseconds())/1000, m.name+"-p50-ms")
		b.ReportMetric(float64(m.lats[len(m.lats)*99/100].Microseconds())/1000, m.name+"-p99-ms")
	}
}

// runPaired runs each stack's round function in shapeRounds alternating
// rounds of about b.N/shapeRounds messages; round(m, n) handles n messages
// and accounts them in m (begin/end).
func runPaired(b *testing.B, ms []*meter, round func(i int, m *meter, n int)) {
	bindertest.Paired(b, shapeRounds, len(ms), func(i, n int) { round(i, ms[i], n) })
}

// sendRound has shapeSenders goroutines send n messages, each one at a
// time through send, and accounts them in m.
func sendRound(b *testing.B, m *meter, n int, send func(i int64) error) {
	var next atomic.Int64
	lats := make([][]time.Duration, shapeSenders)
	var wg sync.WaitGroup
	m.begin()
	start := time.Now()
	for g := range shapeSenders {
		wg.Go(func() {
			var mine []time.Duration
			for {
				i := next.Add(1)
				if i > int64(n) {
					break
				}
				t0 := time.Now()
				if err := send(i); err != nil {
					b.Error(err)
					break
				}
				mine = append(mine, time.Since(t0))
			}
			lats[g] = mine
		})
	}
	wg.Wait()
	m.end(n, time.Since(start))
	m.lats = append(m.lats, slices.Concat(lats...)...)
}

// BenchmarkRabbitPublishConcurrent is shape (a): 64 goroutines each
// publishing one 100-byte persistent message to a topic exchange (a queue
// bound, so it is routed) and waiting for its confirm, then the next.
// Stacks, in alternating rounds: raw<N>ch is amqp091-go with N channels in
// confirm mode shared by the senders (PublishWithDeferredConfirm, the
// confirm awaited outside any lock); binder is the binder's producer with
// its defaults (publisher-channels 2), binder<N>ch with publisher-channels
// N. raw-msgs/s is the best raw stack, binder/raw the default binder's
// share of it, binder/raw2ch its share of raw's two channels (as many
// channels on each side), best-binder/raw the best binder stack's share
// of the best raw stack.
func BenchmarkRabbitPublishConcurrent(b *testing.B) {
	dest := "bench.pubc"
	vh := benchVHost(b, dest)
	conn := benchDial(b, vh)
	chans := make([]*amqp.Channel, 4)
	for i := range chans {
		ch, err := conn.Channel()
		if err != nil {
			b.Fatal(err)
		}
		if err := ch.Confirm(false); err != nil {
			b.Fatal(err)
		}
		chans[i] = ch
	}
	rawSend := func(nch int) func(int64) error {
		return func(i int64) error {
			// amqp091-go serialises a channel's publishes itself.
			dc, err := chans[int(i)%nch].PublishWithDeferredConfirm(dest, dest, true, false, rawShapeMsg("raw-"+strconv.FormatInt(i, 36)))
			if err != nil {
				return err
			}
			if !dc.Wait() {
				return fmt.Errorf("nack")
			}
			return nil
		}
	}
	ctx := context.Background()
	binderSend := func(lanes int) func(int64) error { // lanes 0: the default
		conf := map[string]any{"virtual-host": vh}
		if lanes > 0 {
			conf["publisher-channels"] = lanes
		}
		_, tr := newTestBinder(b, conf)
		p, err := tr.BindProducer(ctx, stream.ProducerSpec{Binding: "b-out-0", Destination: dest, ContentType: "application/octet-stream"})
		if err != nil {
			b.Fatal(err)
		}
		return func(int64) error { return p.Send(ctx, stream.Envelope{Payload: shapePayload}) }
	}
	sends := []func(int64) error{rawSend(1), rawSend(2), rawSend(4), binderSend(0), binderSend(1), binderSend(4)}
	ms := []*meter{{name: "raw1ch"}, {name: "raw2ch"}, {name: "raw4ch"}, {name: "binder"}, {name: "binder1ch"}, {name: "binder4ch"}}
	b.ReportAllocs()
	runPaired(b, ms, func(i int, m *meter, n int) { sendRound(b, m, n, sends[i]) })
	best := ms[0]
	for _, m := range ms[:3] {
		m.report(b)
		if m.rate() > best.rate() {
			best = m
		}
	}
	for _, m := range ms[3:] {
		m.report(b)
	}
	b.ReportMetric(best.rate(), "raw-msgs/s")
	b.ReportMetric(ms[3].rate()/best.rate(), "binder/raw")
	b.ReportMetric(ms[3].rate()/ms[1].rate(), "binder/raw2ch")
	b.ReportMetric(max(ms[3].rate(), ms[4].rate(), ms[5].rate())/best.rate(), "best-binder/raw")
}

// BenchmarkRabbitConsumeApp is shape (b) on RabbitMQ: one consumer,
// prefetch 128, each message acked after it was handled, the queue filled
// with the round's messages (100 bytes each) before the consumer starts.
// Stacks, in alternating rounds: raw is amqp091-go (ack each); binder the
// bare binder consumer; app a stream.App with a typed []byte consumer.
// A round is timed from its first message handled to its last (start-up
// is not counted). app/raw and app/binder are the App's shares.
func BenchmarkRabbitConsumeApp(b *testing.B) {
	dest := "bench.conapp"
	vh := benchVHost(b, dest)
	queues := map[string]string{}
	pubCh, err := benchDial(b, vh).Channel()
	if err != nil {
		b.Fatal(err)
	}
	if err := pubCh.Confirm(false); err != nil {
		b.Fatal(err)
	}
	// Each stack has a queue of its own, bound with its name as routing
	// key, so that filling it does not fill the others.
	for _, s := range []string{"raw", "binder", "app"} {
		q := dest + "." + s
		if _, err := pubCh.QueueDeclare(q, true, false, false, false, nil); err != nil {
			b.Fatal(err)
		}
		if err := pubCh.QueueBind(q, s, dest, false, nil); err != nil {
			b.Fatal(err)
		}
		queues[s] = q
	}
	fill := func(key string, n int) {
		var window []*amqp.DeferredConfirmation
		for i := range n {
			dc, err := pubCh.PublishWithDeferredConfirm(dest, key, true, false, rawShapeMsg("pre-"+strconv.Itoa(i)))
			if err != nil {
				b.Fatal(err)
			}
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
	}
	rawConn := benchDial(b, vh)

	// counter is the handler side of the binder and app stacks: it times
	// a round from its first message to its last.
	type counter struct {
		n, want atomic.Int64
		first   time.Time
		done    chan struct{}
	}
	var cnt counter
	handled := func() {
		i := cnt.n.Add(1)
		if i == 1 {
			cnt.first = time.Now()
		}
		if i == cnt.want.Load() {
			close(cnt.done)
		}
	}
	arm := func(n int) {
		cnt.n.Store(0)
		cnt.want.Store(int64(n))
		cnt.done = make(chan struct{})
	}

	_, tr := newTestBinder(b, map[string]any{"virtual-host": vh})
	bc, err := tr.BindConsumer(context.Background(), stream.ConsumerSpec{Binding: "sink-in-0", Destination: dest, Group: "binder",
		ContentType: "application/octet-stream", Extension: map[string]any{"binding-routing-key": "binder"},
		Handler: func(context.Context, stream.Envelope) error { handled(); return nil }})
	if err != nil {
		b.Fatal(err)
	}

	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "sink", func(_ context.Context, p []byte) error { handled(); return nil })
	cfg := &stream.Config{
		Function:      stream.FunctionConfig{Definition: "sink"},
		DefaultBinder: "r",
		Binders: map[string]stream.BinderConfig{"r": {Type: Type, Environment: map[string]any{
			"addresses": rabbittest.Address(), "virtual-host": vh}}},
		Bindings: map[string]stream.BindingConfig{
			"sink-in-0": {Destination: dest, Group: "app", ContentType: "application/octet-stream",
				Consumer: stream.ConsumerConfig{AutoStartup: new(bool)}},
		},
		Extensions: map[string]stream.ExtensionConfig{Type: {Bindings: map[string]stream.ExtensionBindingConfig{
			"sink-in-0": {Consumer: map[string]any{"binding-routing-key": "app"}}}}},
	}
	app, err := stream.NewApp(cfg, fns, stream.WithBinderType(Type, New), stream.WithoutSignals(), stream.WithLogger(testLogger()))
	if err != nil {
		b.Fatal(err)
	}
	bindertest.RunApp(b, app)
	appBinding := app.Binding("sink-in-0")

	wait := func(what string) {
		select {
		case <-cnt.done:
		case <-time.After(time.Minute):
			b.Fatalf("%s: %d of %d messages handled in a minute", what, cnt.n.Load(), cnt.want.Load())
		}
	}
	rounds := []func(m *meter, n int){
		func(m *meter, n int) { // raw
			fill("raw", n)
			ch, err := rawConn.Channel()
			if err != nil {
				b.Fatal(err)
			}
			defer ch.Close()
			if err := ch.Qos(DefaultPrefetch, 0, false); err != nil {
				b.Fatal(err)
			}
			m.begin()
			ds, err := ch.Consume(queues["raw"], "", false, false, false, false, nil)
			if err != nil {
				b.Fatal(err)
			}
			var first time.Time
			for i := range n {
				d := <-ds
				if i == 0 {
					first = time.Now()
				}
				if err := d.Ack(false); err != nil {
					b.Fatal(err)
				}
			}
			m.end(n, time.Since(first))
		},
		func(m *meter, n int) { // binder
			fill("binder", n)
			arm(n)
			m.begin()
			if err := bc.Start(context.Background()); err != nil {
				b.Fatal(err)
			}
			wait("binder")
			m.end(n, time.Since(cnt.first))
			if err := bc.Stop(context.Background()); err != nil {
				b.Fatal(err)
			}
		},
		func(m *meter, n int) { // app
			fill("app", n)
			arm(n)
			m.begin()
			if err := appBinding.Start(context.Background()); err != nil {
				b.Fatal(err)
			}
			wait("app")
			m.end(n, time.Since(cnt.first))
			if err := appBinding.Stop(context.Background()); err != nil {
				b.Fatal(err)
			}
		},
	}
	ms := []*meter{{name: "raw"}, {name: "binder"}, {name: "app"}}
	b.ReportAllocs()
	runPaired(b, ms, func(i int, m *meter, n int) { rounds[i](m, n) })
	for _, m := range ms {
		m.report(b)
	}
	b.ReportMetric(ms[2].rate()/ms[0].rate(), "app/raw")
	b.ReportMetric(ms[2].rate()/ms[1].rate(), "app/binder")
}
