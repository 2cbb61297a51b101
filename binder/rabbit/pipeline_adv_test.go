package rabbit

// Adversarial tests of pipelined processing (consumer.max-in-flight) on
// RabbitMQ through a stream.App built from YAML: Kafka as the output
// binder, retry-delays (wait queues), an output over max-message-size, a
// shutdown with outputs in flight and a restart, Stop and shutdown while
// the publisher connection is blocked. Written by the adversarial review
// (advpipe); each test's comment says what it checks. The App reaches the
// broker through a loopback proxy of the test (its own vhost), which can
// slow the App's publishing or block its connections — no one else's.

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	kafkago "github.com/segmentio/kafka-go"

	"github.com/streambind/streambind/binder/kafka"
	"github.com/streambind/streambind/binder/kafka/kafkatest"
	"github.com/streambind/streambind/binder/rabbit/rabbittest"
	"github.com/streambind/streambind/config"
	"github.com/streambind/streambind/stream"
)

const (
	advIn   = "adv.in"
	advInQ  = advIn + ".g"
	advOut  = "adv.out"
	advOutQ = advOut + ".q"
	advDLQ  = advInQ + ".dlq"
)

// advEnv is a test's vhost, proxy (with a publish delay) and a direct
// connection of the test's own, whose consumer collects the outputs.
type advEnv struct {
	t         *testing.T
	vh        string
	px        *rabbittest.Proxy
	publishNs atomic.Int64                  // delay of each basic.publish through the proxy
	gate      atomic.Pointer[chan struct{}] // when set, each basic.publish waits for it to close
	held      atomic.Int64                  // basic.publish frames that reached a closed gate
	conn      *amqp.Connection
	admin     *amqp.Channel

	mu    sync.Mutex
	outs  []string
	outCh chan struct{}
}

func newAdvEnv(t *testing.T) *advEnv {
	t.Helper()
	e := &advEnv{t: t, vh: rabbittest.VHost(t), outCh: make(chan struct{}, 1)}
	e.px = rabbittest.NewProxy(t, func(typ byte, _ uint16, pl []byte) {
		// basic.publish (60, 40): slow the App's publishing only.
		if typ == 1 && len(pl) >= 4 && binary.BigEndian.Uint16(pl) == 60 && binary.BigEndian.Uint16(pl[2:]) == 40 {
			if d := e.publishNs.Load(); d > 0 {
				time.Sleep(time.Duration(d)) // the slow broker being simulated
			}
			if g := e.gate.Load(); g != nil {
				e.held.Add(1)
				<-*g // a stuck broker
			}
		}
	})
	var err error
	if e.conn, err = amqp.Dial(rabbittest.VHostURL(e.vh)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.conn.Close() })
	if e.admin, err = e.conn.Channel(); err != nil {
		t.Fatal(err)
	}
	e.must(e.admin.Confirm(false))
	e.must(e.admin.ExchangeDeclare(advOut, "topic", true, false, false, false, nil))
	_, err = e.admin.QueueDeclare(advOutQ, true, false, false, false, nil)
	e.must(err)
	e.must(e.admin.QueueBind(advOutQ, "#", advOut, false, nil))
	ch, err := e.conn.Channel()
	e.must(err)
	ds, err := ch.Consume(advOutQ, "", true, false, false, false, nil)
	e.must(err)
	go func() {
		for d := range ds {
			e.mu.Lock()
			e.outs = append(e.outs, string(d.Body))
			e.mu.Unlock()
			select {
			case e.outCh <- struct{}{}:
			default:
			}
		}
	}()
	return e
}

func (e *advEnv) must(err error) {
	e.t.Helper()
	if err != nil {
		e.t.Fatal(err)
	}
}

func (e *advEnv) outputs() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.outs...)
}

// fill publishes n inputs "k<i%keys>:<i>" to the input exchange.
func (e *advEnv) fill(n, keys int) {
	e.t.Helper()
	var window []*amqp.DeferredConfirmation
	for i := range n {
		k := "k" + strconv.Itoa(i%keys)
		dc, err := e.admin.PublishWithDeferredConfirm(advIn, "x", true, false, amqp.Publishing{
			DeliveryMode: amqp.Persistent, Headers: amqp.Table{keyHeader: k}, Body: []byte(k + ":" + strconv.Itoa(i)),
		})
		e.must(err)
		if window = append(window, dc); len(window) == 256 {
			if !window[0].Wait() {
				e.t.Fatal("fill: nacked")
			}
			window = window[1:]
		}
	}
	for _, dc := range window {
		if !dc.Wait() {
			e.t.Fatal("fill: nacked")
		}
	}
}

// queueDepth is the messages ready in q (unacked ones count once their
// consumer is gone).
func (e *advEnv) queueDepth(q string) int {
	e.t.Helper()
	qi, err := e.admin.QueueDeclarePassive(q, true, false, false, false, nil)
	e.must(err)
	return qi.Messages
}

// expectOutputs waits up to a minute for an output of each of the n
// inputs (keys keys) and fails the test for any missing; when says at
// which point of the test.
func (e *advEnv) expectOutputs(t *testing.T, n, keys int, when string) {
	t.Helper()
	missing, dups := e.waitOutputs(advWant(n, keys), time.Minute)
	t.Logf("%s: %d missing, %d duplicates", when, len(missing), dups)
	if len(missing) > 0 {
		t.Errorf("%s: %d inputs never got an output (acked without it?), e.g. %v", when, len(missing), missing[:min(5, len(missing))])
	}
}

// waitOutputs waits until every input of want has an output (prefix
// "out:" stripped, anything after '|' ignored); it returns the missing
// and the duplicates.
func (e *advEnv) waitOutputs(want map[string]bool, d time.Duration) (missing []string, dups int) {
	deadline := time.After(d)
	for {
		seen := map[string]int{}
		for _, o := range e.outputs() {
			o, _, _ = strings.Cut(strings.TrimPrefix(o, "out:"), "|")
			seen[o]++
		}
		missing, dups = nil, 0
		for w := range want {
			switch n := seen[w]; {
			case n == 0:
				missing = append(missing, w)
			case n > 1:
				dups += n - 1
			}
		}
		if len(missing) == 0 {
			return
		}
		select {
		case <-e.outCh:
		case <-deadline:
			return
		}
	}
}

// advRApp is a running App and how to end it.
type advRApp struct {
	app    *stream.App
	cancel context.CancelFunc
	ran    chan error
	once   sync.Once
	err    error
	dur    time.Duration // how long Run took to return after cancel
	// explicit: the test stopped it and judged Run's error itself.
	explicit atomic.Bool
}

func (a *advRApp) stop(t testing.TB) error {
	a.explicit.Store(true)
	return a.end(t)
}

func (a *advRApp) end(t testing.TB) error {
	a.once.Do(func() {
		start := time.Now()
		a.cancel()
		select {
		case a.err = <-a.ran:
		case <-time.After(90 * time.Second):
			a.err = errors.New("Run did not return 90s after its context ended")
		}
		a.dur = time.Since(start)
	})
	return a.err
}

// advRabbitYAML: a function transform from adv.in (group g) on binder r
// (through the proxy) to adv.out; consumer and env are YAML lines under
// the input's consumer and r's environment; outLines go under the output
// binding; binders under binders:.
func (e *advEnv) yaml(consumer, env, outLines, binders string) string {
	return fmt.Sprintf(`stream:
  shutdown-timeout: 3s
  function:
    definition: transform
  default-binder: r
  binders:
    r:
      type: rabbit
      environment:
        addresses: %q
        virtual-host: %q
        reconnect-initial-interval: 50ms
        reconnect-max-interval: 500ms
%s%s  bindings:
    transform-in-0:
      destination: %s
      group: g
      content-type: application/octet-stream
      consumer:
        auto-startup: false
%s    transform-out-0:
      destination: %s
      content-type: application/octet-stream
%s`, e.px.Addr(), e.vh, indent(env, "        "), binders, advIn, indent(consumer, "        "), advOut, indent(outLines, "      "))
}

// run builds and runs the App (input binding stopped until start).
func (e *advEnv) run(yaml string, fn func(context.Context, []byte) ([]byte, error), opts ...stream.Option) *advRApp {
	fns := stream.NewCatalog()
	stream.AddFunction(fns, "transform", fn)
	return e.runCatalog(yaml, fns, opts...)
}

// runCatalog is run with the functions of fns (a transform of another
// signature).
func (e *advEnv) runCatalog(yaml string, fns *stream.Catalog, opts ...stream.Option) *advRApp {
	t := e.t
	t.Helper()
	l, err := config.Load(config.Options{Data: []byte(yaml), Env: []string{}})
	if err != nil {
		t.Fatalf("load: %v\n%s", err, yaml)
	}
	app, err := stream.NewApp(l.Stream, fns, append([]stream.Option{stream.WithBinderType(Type, New), stream.WithBinderType(kafka.Type, kafka.New),
		stream.WithoutSignals(), stream.WithLogger(testLogger())}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	a := &advRApp{app: app, cancel: cancel, ran: make(chan error, 1)}
	go func() { a.ran <- app.Run(ctx) }()
	t.Cleanup(func() {
		if err := a.end(t); err != nil && !a.explicit.Load() {
			t.Errorf("Run: %v", err)
		}
	})
	select {
	case <-app.Ready():
	case err := <-a.ran:
		t.Fatalf("Run ended: %v", err)
	case <-time.After(time.Minute):
		t.Fatal("the App was not ready in a minute")
	}
	return a
}

func (a *advRApp) start(t *testing.T) {
	t.Helper()
	if err := a.app.Binding("transform-in-0").Start(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func advWant(n, keys int) map[string]bool { return wantAll(n, keys) }

// TestAdvPipeRabbitToKafka: RabbitMQ in, Kafka out (another binder, an
// AsyncProducer): pipelined; every input has one output; order per key
// (one output partition).
func TestAdvPipeRabbitToKafka(t *testing.T) {
	t.Parallel()
	const n, keys = 600, 6
	e := newAdvEnv(t)
	c := kafkatest.Start(t)
	if err := c.Kfake.CreateTopic("adv-out", 1, nil); err != nil {
		t.Fatal(err)
	}
	var calls, maxAhead atomic.Int64
	var outB atomic.Pointer[stream.Binding]
	binders := fmt.Sprintf("    k:\n      type: kafka\n      environment:\n        brokers: %q\n", c.Brokers())
	yaml := strings.Replace(e.yaml("max-attempts: 1", "", "binder: k", binders), "destination: "+advOut, "destination: adv-out", 1)
	a := e.run(yaml, func(_ context.Context, b []byte) ([]byte, error) {
		if ahead := calls.Add(1) - 1 - outB.Load().Stats().Sent; ahead > maxAhead.Load() {
			maxAhead.Store(ahead)
		}
		return append([]byte("out:"), b...), nil
	})
	outB.Store(a.app.Binding("transform-out-0"))
	e.fill(n, keys)
	a.start(t)
	r := kafkago.NewReader(kafkago.ReaderConfig{Brokers: c.Addrs(), Topic: "adv-out", Partition: 0, MaxWait: time.Second})
	defer r.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var outs []string
	for len(outs) < n {
		m, err := r.ReadMessage(ctx)
		if err != nil {
			t.Fatalf("read outputs: %v after %d", err, len(outs))
		}
		outs = append(outs, string(m.Value))
	}
	checkOrder(t, outs)
	seen := map[string]bool{}
	for _, o := range outs {
		if seen[o] {
			t.Errorf("duplicate %s", o)
		}
		seen[o] = true
	}
	t.Logf("%d calls, at most %d outputs unconfirmed at a call", calls.Load(), maxAhead.Load())
	if maxAhead.Load() < 2 {
		t.Errorf("RabbitMQ in, Kafka out: at most %d outputs unconfirmed at a call; want pipelined", maxAhead.Load())
	}
}

// TestAdvPipeRabbitRetryDelays: retry-delays (wait queues) on a pipelined
// binding: every 7th input fails its first two attempts, each one parked
// in a wait queue; all inputs end with exactly one output and nothing is
// dead-lettered; the input queue is empty in the end.
func TestAdvPipeRabbitRetryDelays(t *testing.T) {
	t.Parallel()
	const n, keys = 700, 5
	e := newAdvEnv(t)
	var mu sync.Mutex
	attempts := map[string]int{}
	a := e.run(e.yaml("max-attempts: 1\nretry-delays: 50ms,100ms\ndlq: true", "", "", ""), func(_ context.Context, b []byte) ([]byte, error) {
		s := string(b)
		_, seq, _ := strings.Cut(s, ":")
		if i, _ := strconv.Atoi(seq); i%7 == 0 {
			mu.Lock()
			attempts[s]++
			k := attempts[s]
			mu.Unlock()
			if k <= 2 {
				return nil, fmt.Errorf("attempt %d fails", k)
			}
		}
		return append([]byte("out:"), b...), nil
	})
	e.fill(n, keys)
	a.start(t)
	missing, dups := e.waitOutputs(advWant(n, keys), time.Minute)
	st := a.app.Binding("transform-in-0").Stats()
	t.Logf("missing %d, dups %d; stats %+v", len(missing), dups, st)
	if len(missing) > 0 {
		t.Errorf("%d inputs without output, e.g. %v", len(missing), missing[:min(5, len(missing))])
	}
	if dups > 0 {
		t.Errorf("%d duplicate outputs", dups)
	}
	if d := e.queueDepth(advDLQ); d != 0 {
		t.Errorf("%d dead letters; want 0", d)
	}
}

// TestAdvPipeRabbitOversizeOutput: max-message-size 4096; one output is
// 10 KB among many 100-byte ones in flight: it is permanent, so its input
// is dead-lettered, once; every other input has its output, once, in
// order per key.
func TestAdvPipeRabbitOversizeOutput(t *testing.T) {
	t.Parallel()
	const n, keys = 800, 4
	const big = "k1:401"
	e := newAdvEnv(t)
	a := e.run(e.yaml("max-attempts: 2\nback-off-initial-interval: 10ms\ndlq: true", "max-message-size: 4096", "", ""), func(_ context.Context, b []byte) ([]byte, error) {
		pad := strings.Repeat("x", 100)
		if string(b) == big {
			pad = strings.Repeat("y", 10000)
		}
		return []byte("out:" + string(b) + "|" + pad), nil
	})
	e.fill(n, keys)
	a.start(t)
	want := advWant(n, keys)
	delete(want, big)
	missing, dups := e.waitOutputs(want, time.Minute)
	if len(missing) > 0 || dups > 0 {
		t.Errorf("%d inputs without output (e.g. %v), %d duplicates", len(missing), missing[:min(5, len(missing))], dups)
	}
	var outs []string
	for _, o := range e.outputs() {
		o, _, _ = strings.Cut(o, "|")
		outs = append(outs, o)
		if o == "out:"+big {
			t.Errorf("the oversized output arrived")
		}
	}
	checkOrder(t, outs)
	deadline := time.Now().Add(30 * time.Second)
	for e.queueDepth(advDLQ) < 1 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond) // polling the DLQ's depth
	}
	st := a.app.Binding("transform-in-0").Stats()
	t.Logf("stats %+v, DLQ %d", st, e.queueDepth(advDLQ))
	if d := e.queueDepth(advDLQ); d != 1 {
		t.Errorf("%d dead letters; want 1", d)
	}
}

// TestAdvPipeRabbitShutdownRestart: the App's publishing is slowed (2ms a
// publish) so that windows of unconfirmed outputs are full; the App shuts
// down mid-stream; after a restart every input has its output (an input
// acked without its output would be missing for good).
func TestAdvPipeRabbitShutdownRestart(t *testing.T) {
	t.Parallel()
	for _, mif := range []int{2, 256, 65536} {
		t.Run("max-in-flight "+strconv.Itoa(mif), func(t *testing.T) {
			t.Parallel()
			const n, keys = 800, 6
			e := newAdvEnv(t)
			e.publishNs.Store(int64(2 * time.Millisecond))
			var calls atomic.Int64
			fn := func(_ context.Context, b []byte) ([]byte, error) {
				calls.Add(1)
				return append([]byte("out:"), b...), nil
			}
			yaml := e.yaml(fmt.Sprintf("max-attempts: 2\nback-off-initial-interval: 300ms\nmax-in-flight: %d", mif), "", "", "")
			a := e.run(yaml, fn)
			e.fill(n, keys)
			a.start(t)
			deadline := time.Now().Add(time.Minute)
			for calls.Load() < 300 && time.Now().Before(deadline) {
				time.Sleep(5 * time.Millisecond) // polling the calls
			}
			err := a.stop(t)
			t.Logf("shutdown after %d calls took %s (err %v); %d outputs, %d inputs ready", calls.Load(), a.dur, err, len(e.outputs()), e.queueDepth(advInQ))
			if err != nil {
				t.Errorf("Run: %v", err)
			}
			e.publishNs.Store(0)
			b := e.run(yaml, fn)
			b.start(t)
			e.expectOutputs(t, n, keys, "after restart")
		})
	}
}

// TestAdvPipeRabbitStopWhileBlocked: the publisher connection is blocked
// (connection.blocked, as under a broker alarm) while the windows are
// full; Stop of the input binding with a 3s deadline returns within it
// (plus margin); the App's shutdown then is bounded by shutdown-timeout
// (3s) too; after a restart unblocked every input has its output.
func TestAdvPipeRabbitStopWhileBlocked(t *testing.T) {
	t.Parallel()
	const n, keys = 600, 6
	e := newAdvEnv(t)
	e.publishNs.Store(int64(time.Millisecond))
	var calls atomic.Int64
	fn := func(_ context.Context, b []byte) ([]byte, error) {
		calls.Add(1)
		return append([]byte("out:"), b...), nil
	}
	yaml := e.yaml("max-attempts: 1", "", "", "")
	a := e.run(yaml, fn)
	e.fill(n, keys)
	a.start(t)
	deadline := time.Now().Add(time.Minute)
	for calls.Load() < 200 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond) // polling the calls
	}
	if got := e.px.Block("adv test"); got == 0 {
		t.Fatal("no connection to block")
	}
	time.Sleep(300 * time.Millisecond) // let the windows fill behind the block
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	start := time.Now()
	err := a.app.Binding("transform-in-0").Stop(ctx)
	cancel()
	took := time.Since(start)
	t.Logf("Stop while blocked: %s, err %v; calls %d, outputs %d", took, err, calls.Load(), len(e.outputs()))
	if took > 8*time.Second {
		t.Errorf("Stop with a 3s deadline took %s", took)
	}
	err = a.stop(t)
	t.Logf("shutdown while blocked: %s, err %v", a.dur, err)
	if a.dur > 15*time.Second {
		t.Errorf("shutdown with shutdown-timeout 3s took %s while the publisher was blocked", a.dur)
	}
	e.px.Unblock()
	e.publishNs.Store(0)
	b := e.run(yaml, fn)
	b.start(t)
	e.expectOutputs(t, n, keys, "after restart")
}

// TestAdvPipeRabbitNakBurstStall — regression test of beb7641 (requeueLater
// holds a Nak'ed delivery only for what is left of redelivery-delay since
// its result came, not a full delay after the earlier ones were settled).
//
// A whole window fails at once: the App's basic.publish frames are held by
// the proxy (e.gate) until max-in-flight 256 / prefetch 128 inputs were
// handed out, the output is made unroutable (e.outage: mandatory, so each
// send fails through SendAsync's result, ErrPipelinedSend), and the gate
// opens: the broker returns all 128 outputs within a few ms. The worker
// then settles the window head by head, each one through requeueLater with
// a result that came long before (max-attempts 1, default
// redelivery-delay 100ms). Had each a full delay, the window would be held
// 128 x 100ms ~ 12.8s; it is requeued within about one delay:
//
//   - "pause": a Pause while the window fails (the path of a pause: no
//     retry in place, each failed head requeued) returns within 3s (12.8s
//     with a full delay each: Pause waits until every handed-out delivery
//     was settled); after the output is back and Resume every input has
//     its output;
//   - "outage": the output stays down; each head is retried in place once
//     (it fails again) and Nak'ed: 3/4 of the window is left for
//     redelivery (the core's "input left for redelivery") within 3s (~10s
//     with a full delay each); after the output is back every input has
//     its output.
//
// The stall the commit was found with — a window Nak'ed during an output
// outage held the stream for ~window x 100ms after the output came back —
// is no longer reachable that way: since 3ea1f6e a failed pipelined send is
// retried in place (the Handler, its max-attempts) and only reaches
// requeueLater when that fails too, so after the outage the heads succeed
// without a hold. (The earlier version of this test stopped the output
// binding for 1.5s: a stopped output fails the send as it is handed over,
// and the worker retries that head in place before it hands out more, so
// only ~3 sends failed, never a window, and it passed with the fix
// reverted.) Both subtests check that the whole window failed (at least
// 3/4 of it through SendAsync's result), so that they cannot pass again
// without reaching the path.
func TestAdvPipeRabbitNakBurstStall(t *testing.T) {
	const logLeft = "input left for redelivery"
	for _, pause := range []bool{true, false} {
		name := map[bool]string{true: "pause", false: "outage"}[pause]
		t.Run(name, func(t *testing.T) {
			t.Parallel() // with its sibling only: the test is not parallel
			const n, keys, window = 400, 5, 128
			e := newAdvEnv(t)
			lh := newCounting(logPipeFail, logLeft)
			var calls atomic.Int64
			a := e.run(e.yaml("max-attempts: 1\nmax-in-flight: 256", "", "", ""), func(_ context.Context, b []byte) ([]byte, error) {
				calls.Add(1)
				return append([]byte("out:"), b...), nil
			}, stream.WithLogger(slog.New(lh)))
			in := a.app.Binding("transform-in-0")
			e.fill(n, keys)
			g := make(chan struct{})
			e.gate.Store(&g)
			var once sync.Once
			open := func() { once.Do(func() { e.gate.Store(nil); close(g) }) }
			t.Cleanup(open)
			restore := e.outage()
			a.start(t)
			deadline := time.Now().Add(time.Minute)
			for calls.Load() < window && time.Now().Before(deadline) {
				time.Sleep(2 * time.Millisecond) // polling the calls
			}
			if c := calls.Load(); c < window {
				t.Fatalf("%d inputs handed out in a minute; want the window, %d", c, window)
			}
			var paused chan error
			if pause {
				paused = make(chan error, 1)
				go func() {
					ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
					defer cancel()
					paused <- in.Pause(ctx)
				}()
			}
			atOpen := calls.Load()
			open()
			opened := time.Now()
			var took time.Duration
			var reached bool
			if pause {
				perr := <-paused
				took = time.Since(opened)
				reached = true
				t.Logf("Pause with a window of failed sends: %s after the gate opened (err %v)", took, perr)
				if perr != nil {
					t.Errorf("Pause: %v", perr)
				}
			} else {
				reached = waitCount(lh.counts[1], window*3/4, 20*time.Second)
				took = time.Since(opened)
				t.Logf("%d inputs left for redelivery %s after the gate opened", lh.counts[1].Load(), took)
			}
			fails := lh.counts[0].Load()
			t.Logf("calls %d when the gate opened; pipelined send failures %d; left for redelivery %d", atOpen, fails, lh.counts[1].Load())
			if fails < window*3/4 {
				t.Errorf("%d pipelined sends failed; want most of the window (%d): the test did not fail a window at once", fails, window)
			}
			if !reached || took > 3*time.Second {
				t.Errorf("the window of failed sends was requeued %s after it failed (want about one redelivery-delay, 100ms; %d x 100ms when each is held a full delay after the earlier ones)", took, window)
			}
			restore()
			if pause {
				if err := in.Resume(context.Background()); err != nil {
					t.Fatal(err)
				}
			}
			back := time.Now()
			missing, dups := e.waitOutputs(advWant(n, keys), time.Minute)
			t.Logf("all outputs %s after the output came back: %d missing, %d duplicates; stats %+v", time.Since(back), len(missing), dups, in.Stats())
			if len(missing) > 0 {
				t.Errorf("%d inputs without output, e.g. %v", len(missing), missing[:min(5, len(missing))])
			} else if d := time.Since(back); d > 15*time.Second {
				t.Errorf("the stream took %s to finish after the output came back (%d inputs)", d, n)
			}
		})
	}
}

// TestAdvPipeRabbitKeyExtractorPanic — regression test (a bug found by review, fixed in e2058f8; what it was:).
// As TestAdvPipeKafkaKeyExtractorPanic (binder/kafka), on RabbitMQ: the
// output's partition key extractor panics for one message. With
// max-in-flight 1 it is retried and dead-lettered and every other input
// relayed. Pipelined, its AsyncHandler's done is never called
// (processAsync recovers the panic but returns without done once the
// send was marked started), so the delivery stays unfinished at the head
// of the worker's FIFO: nothing after it is ever acked, and once prefetch
// deliveries are unacked the consumer gets nothing more — the queue is
// stuck for good (a restart redelivers the same poison message).
func TestAdvPipeRabbitKeyExtractorPanic(t *testing.T) {
	t.Parallel()
	for _, mif := range []int{1, 256} {
		t.Run("max-in-flight "+strconv.Itoa(mif), func(t *testing.T) {
			t.Parallel()
			const n, keys = 600, 4
			const bad = "k1:21"
			e := newAdvEnv(t)
			extract := func(payload any, _ stream.Headers) (any, error) {
				b, _ := payload.([]byte)
				if string(b) == "out:"+bad {
					panic("key extractor panics for " + string(b))
				}
				k, _, _ := strings.Cut(strings.TrimPrefix(string(b), "out:"), ":")
				return k, nil
			}
			yaml := e.yaml(fmt.Sprintf("max-attempts: 2\nback-off-initial-interval: 5ms\ndlq: true\nmax-in-flight: %d", mif), "",
				"producer: {partition-key-extractor-name: byKey, partition-count: 2}", "")
			a := e.run(yaml, func(_ context.Context, b []byte) ([]byte, error) { return outFn(b) }, stream.WithKeyExtractor("byKey", extract))
			e.fill(n, keys)
			a.start(t)
			want := advWant(n, keys)
			delete(want, bad)
			missing, dups := e.waitOutputs(want, 20*time.Second)
			st := a.app.Binding("transform-in-0").Stats()
			t.Logf("missing %d, dups %d; stats %+v", len(missing), dups, st)
			if len(missing) > 0 {
				t.Errorf("%d of %d inputs without output after 20s (the consumer is stuck behind the message whose key extractor panicked)", len(missing), n-1)
			}
			deadline := time.Now().Add(10 * time.Second)
			for e.queueDepth(advDLQ) < 1 && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond) // polling the DLQ's depth
			}
			if d := e.queueDepth(advDLQ); d != 1 {
				t.Errorf("%d dead letters; want 1", d)
			}
		})
	}
}

// TestAdvPipeRabbitShutdownStuckPublisher: the App's publishing gets
// stuck (its basic.publish frames held by the proxy, no confirms) while
// the window is full; the App shuts down (shutdown-timeout 3s): Run
// returns within about that, and the App's goroutines (binder, core,
// amqp091) are gone afterwards although the broker never answered; after
// the broker answers again and a restart every input has its output.
func TestAdvPipeRabbitShutdownStuckPublisher(t *testing.T) {
	const n, keys = 600, 6
	e := newAdvEnv(t)
	runtime.GC()
	base := advGoroutineIDs()
	var calls atomic.Int64
	fn := func(_ context.Context, b []byte) ([]byte, error) {
		calls.Add(1)
		return append([]byte("out:"), b...), nil
	}
	// A short heartbeat: the stuck connection the shut-down App could not
	// close holds its unacked deliveries until the broker gives up on it
	// (twice the heartbeat), which the restart below waits for.
	yaml := e.yaml("max-attempts: 1", "heartbeat: 2s", "", "")
	a := e.run(yaml, fn)
	e.fill(n, keys)
	a.start(t)
	deadline := time.Now().Add(time.Minute)
	for calls.Load() < 300 && time.Now().Before(deadline) {
		time.Sleep(2 * time.Millisecond) // polling the calls
	}
	g := make(chan struct{})
	e.gate.Store(&g)
	var once sync.Once
	open := func() { once.Do(func() { e.gate.Store(nil); close(g) }) }
	t.Cleanup(open)
	// Stuck: a publish reached the gate (every frame after it waits behind
	// it in the proxy) and the function went on handing outputs to the
	// publisher. Not a fixed count more calls: how many the confirm window
	// still takes depends on how far the broker had confirmed when the gate
	// closed (under load the test waited here for its whole deadline).
	atGate := calls.Load()
	for (e.held.Load() == 0 || calls.Load() <= atGate) && time.Now().Before(deadline) {
		time.Sleep(2 * time.Millisecond) // polling the calls
	}
	if e.held.Load() == 0 || calls.Load() <= atGate {
		t.Fatalf("publishing not stuck within a minute: %d publishes held, calls %d (%d at the gate)", e.held.Load(), calls.Load(), atGate)
	}
	err := a.stop(t)
	t.Logf("shutdown with the publisher stuck: %s (err %v); calls %d", a.dur, err, calls.Load())
	if a.dur > 10*time.Second {
		t.Errorf("shutdown took %s with shutdown-timeout 3s", a.dur)
	}
	var left string
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); {
		if left = advLeft(base); left == "" {
			break
		}
		time.Sleep(50 * time.Millisecond) // polling the goroutines
	}
	if left != "" {
		t.Errorf("LEAK: goroutines of the App 10s after Run returned (the publisher still stuck):\n%s", left)
	}
	open()
	b := e.run(yaml, fn)
	b.start(t)
	e.expectOutputs(t, n, keys, "after restart")
}

func advGoroutineIDs() map[string]bool {
	buf := make([]byte, 1<<20)
	ids := map[string]bool{}
	for _, g := range strings.Split(string(buf[:runtime.Stack(buf, true)]), "\n\n") {
		id, _, _ := strings.Cut(g, " [")
		ids[id] = true
	}
	return ids
}

// advLeft: the goroutines not in base that run the App's code (the core,
// the binder, amqp091), not the test's proxy or its own connection.
func advLeft(base map[string]bool) string {
	buf := make([]byte, 1<<20)
	var keep []string
	for _, g := range strings.Split(string(buf[:runtime.Stack(buf, true)]), "\n\n") {
		id, _, _ := strings.Cut(g, " [")
		if base[id] || strings.Contains(g, "rabbittest.") || strings.Contains(g, "zz_adv_pipeline_test.go") || strings.Contains(g, "testing.") {
			continue
		}
		if strings.Contains(g, "streambind/") || strings.Contains(g, "amqp091") {
			keep = append(keep, g)
		}
	}
	return strings.Join(keep, "\n\n")
}
