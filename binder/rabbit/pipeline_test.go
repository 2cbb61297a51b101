package rabbit

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/streambind/streambind/binder/rabbit/rabbittest"
	"github.com/streambind/streambind/config"
	"github.com/streambind/streambind/internal/syncbuf"
	"github.com/streambind/streambind/stream"
)

// Pipelined processing (stream.AsyncHandler, stream.AsyncProducer) through
// a stream.App: a []byte → []byte function from pipe.in (group g) to
// pipe.out, whose queue pipe.out.q the test reads on a connection of its
// own. The App reaches the broker through a loopback proxy the test runs,
// so that it can cut the App's connections (and no one else's) and watch
// the consumer's acks.

const (
	pipeIn   = "pipe.in"
	pipeOut  = "pipe.out"
	pipeInQ  = pipeIn + ".g"
	pipeOutQ = pipeOut + ".q"
	pipeDLQ  = pipeInQ + ".dlq"
)

type pipeApp struct {
	t     *testing.T
	vh    string
	px    *rabbittest.Proxy
	app   *stream.App
	in    *stream.Binding
	admin *amqp.Channel // confirm mode, on the test's own connection

	calls   atomic.Int64
	maxSeen atomic.Int64 // most calls in flight (called, output not confirmed) seen by a call

	// The consumer's settlements as the proxy saw them: basic.ack/nack
	// delivery tags per channel, checked to rise (input order), and each
	// ack's tag against the messages processed at that moment.
	mu        sync.Mutex
	lastTag   map[uint16]uint64
	tagErrs   []string
	ackedUpTo atomic.Uint64 // highest delivery tag acked (multiple or not)

	outMu sync.Mutex
	outs  []string // output payloads in arrival order
	outCh chan struct{}
}

type pipeOpts struct {
	consumer string // YAML lines under the input binding's consumer:
	env      string // YAML lines under the binder's environment:
	checkAck bool   // check the acks' tags (one consumer worker, no fault)
	attempts int    // consumer max-attempts; 0: 1
	fn       func(p []byte) ([]byte, error)
	log      *slog.Logger // default testLogger()
}

func indent(s, pfx string) string {
	if s == "" {
		return ""
	}
	lines := strings.Split(strings.TrimSpace(s), "\n")
	for i := range lines {
		lines[i] = pfx + strings.TrimSpace(lines[i])
	}
	return strings.Join(lines, "\n") + "\n"
}

// startPipeApp starts the App with its input binding stopped (declared).
func startPipeApp(t *testing.T, o pipeOpts) *pipeApp {
	t.Helper()
	p := &pipeApp{t: t, vh: rabbittest.VHost(t), lastTag: map[uint16]uint64{}, outCh: make(chan struct{}, 1)}
	p.px = rabbittest.NewProxy(t, p.onFrame(o.checkAck))
	conn, err := amqp.Dial(rabbittest.VHostURL(p.vh))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	if p.admin, err = conn.Channel(); err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(p.admin.Confirm(false))
	must(p.admin.ExchangeDeclare(pipeOut, "topic", true, false, false, false, nil))
	_, err = p.admin.QueueDeclare(pipeOutQ, true, false, false, false, nil)
	must(err)
	must(p.admin.QueueBind(pipeOutQ, "#", pipeOut, false, nil))
	outCh, err := conn.Channel()
	must(err)
	ds, err := outCh.Consume(pipeOutQ, "", true, false, false, false, nil)
	must(err)
	go func() {
		for d := range ds {
			p.outMu.Lock()
			p.outs = append(p.outs, string(d.Body))
			p.outMu.Unlock()
			select {
			case p.outCh <- struct{}{}:
			default:
			}
		}
	}()

	fns := stream.NewCatalog()
	stream.AddFunction(fns, "transform", func(_ context.Context, b []byte) ([]byte, error) {
		// Calls whose output is not confirmed yet, this one included:
		// exactly 1 when each output is confirmed before the next call.
		n := p.calls.Add(1) - p.in.Stats().Processed - p.in.Stats().Failed
		for {
			m := p.maxSeen.Load()
			if n <= m || p.maxSeen.CompareAndSwap(m, n) {
				break
			}
		}
		return o.fn(b)
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
        reconnect-initial-interval: 50ms
        reconnect-max-interval: 500ms
%s  bindings:
    transform-in-0:
      destination: %s
      group: g
      content-type: application/octet-stream
      consumer:
        auto-startup: false
        max-attempts: %d
%s    transform-out-0:
      destination: %s
      content-type: application/octet-stream
`, p.px.Addr(), p.vh, indent(o.env, "        "), pipeIn, max(o.attempts, 1), indent(o.consumer, "        "), pipeOut)
	l, err := config.Load(config.Options{Data: []byte(yaml), Env: []string{}})
	must(err)
	log := o.log
	if log == nil {
		log = testLogger()
	}
	p.app, err = stream.NewApp(l.Stream, fns, stream.WithBinderType(Type, New), stream.WithoutSignals(), stream.WithLogger(log))
	must(err)
	p.in = p.app.Binding("transform-in-0")
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- p.app.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-ran; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	select {
	case <-p.app.Ready():
	case err := <-ran:
		t.Fatalf("Run ended: %v", err)
	case <-time.After(time.Minute):
		t.Fatal("the App was not ready in a minute")
	}
	return p
}

// onFrame watches the basic.ack and basic.nack frames clients send
// through the proxy (only the consumer acks): their delivery tags must
// rise per channel (settled in delivery order), and with checkAck an ack
// must not run ahead of the outputs confirmed (Processed counts an input
// once its output was confirmed; the queue was filled before the binding
// started, so delivery tag i is the i-th message).
func (p *pipeApp) onFrame(checkAck bool) func(typ byte, ch uint16, payload []byte) {
	return func(typ byte, ch uint16, pl []byte) {
		if typ != 1 || len(pl) < 12 {
			return
		}
		class, method := binary.BigEndian.Uint16(pl), binary.BigEndian.Uint16(pl[2:])
		if class != 60 || (method != 80 && method != 120) {
			return
		}
		tag := binary.BigEndian.Uint64(pl[4:])
		p.mu.Lock()
		defer p.mu.Unlock()
		if prev := p.lastTag[ch]; tag <= prev && checkAck {
			p.tagErrs = append(p.tagErrs, fmt.Sprintf("channel %d: settled tag %d after %d", ch, tag, prev))
		}
		p.lastTag[ch] = tag
		if method == 80 && checkAck {
			if done := p.in.Stats().Processed + p.in.Stats().Failed; uint64(done) < tag {
				p.tagErrs = append(p.tagErrs, fmt.Sprintf("ack of tag %d with only %d inputs finished", tag, done))
			}
			p.ackedUpTo.Store(tag)
		}
	}
}

// fill publishes n inputs "k<i%keys>:<i>" (confirmed), in order.
func (p *pipeApp) fill(n, keys int) {
	p.t.Helper()
	var window []*amqp.DeferredConfirmation
	for i := range n {
		k := "k" + strconv.Itoa(i%keys)
		dc, err := p.admin.PublishWithDeferredConfirm(pipeIn, "x", true, false, amqp.Publishing{
			DeliveryMode: amqp.Persistent,
			Headers:      amqp.Table{keyHeader: k},
			Body:         []byte(k + ":" + strconv.Itoa(i)),
		})
		if err != nil {
			p.t.Fatal(err)
		}
		if window = append(window, dc); len(window) == 256 {
			if !window[0].Wait() {
				p.t.Fatal("fill: nacked")
			}
			window = window[1:]
		}
	}
	for _, dc := range window {
		if !dc.Wait() {
			p.t.Fatal("fill: nacked")
		}
	}
}

func (p *pipeApp) outputs() []string {
	p.outMu.Lock()
	defer p.outMu.Unlock()
	return append([]string(nil), p.outs...)
}

// waitOutputs waits until every input in want (payloads) has an output;
// it returns how many are missing and the duplicates.
func (p *pipeApp) waitOutputs(want map[string]bool, d time.Duration) (missing, dups int) {
	deadline := time.After(d)
	for {
		seen := map[string]int{}
		for _, o := range p.outputs() {
			seen[strings.TrimPrefix(o, "out:")]++
		}
		missing, dups = 0, 0
		for w := range want {
			switch n := seen[w]; {
			case n == 0:
				missing++
			case n > 1:
				dups += n - 1
			}
		}
		if missing == 0 {
			return
		}
		select {
		case <-p.outCh:
		case <-deadline:
			return
		}
	}
}

// waitFinished waits until n inputs finished (processed or failed).
func (p *pipeApp) waitFinished(n int64, d time.Duration) {
	p.t.Helper()
	deadline := time.Now().Add(d)
	for {
		s := p.in.Stats()
		if s.Processed+s.Failed >= n {
			return
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("%d processed and %d failed of %d in %s", s.Processed, s.Failed, n, d)
		}
		time.Sleep(5 * time.Millisecond) // polling the binding's counters
	}
}

// stopAndCheckDrained stops the input binding and checks that its queue
// holds nothing: every input was acked (unacked ones return to ready when
// the consumer's channel closes).
func (p *pipeApp) stopAndCheckDrained() {
	p.t.Helper()
	if err := p.in.Stop(context.Background()); err != nil {
		p.t.Fatal(err)
	}
	qi, err := p.admin.QueueDeclarePassive(pipeInQ, true, false, false, false, nil)
	if err != nil {
		p.t.Fatal(err)
	}
	if qi.Messages != 0 || qi.Consumers != 0 {
		p.t.Fatalf("input queue: %d messages, %d consumers after the binding stopped; want 0, 0 (all acked)", qi.Messages, qi.Consumers)
	}
}

func (p *pipeApp) checkTags() {
	p.t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, e := range p.tagErrs {
		if i == 10 {
			p.t.Errorf("... %d more", len(p.tagErrs)-10)
			break
		}
		p.t.Error(e)
	}
}

// checkOrder checks that the outputs of each key come in input order.
func checkOrder(t *testing.T, outs []string) {
	t.Helper()
	last := map[string]int{}
	bad := 0
	for _, o := range outs {
		k, i, ok := strings.Cut(strings.TrimPrefix(o, "out:"), ":")
		if !ok {
			t.Fatalf("output %q", o)
		}
		n, _ := strconv.Atoi(i)
		if prev, seen := last[k]; seen && n <= prev {
			if bad++; bad <= 5 {
				t.Errorf("key %s: output of input %d after that of %d", k, n, prev)
			}
		}
		last[k] = n
	}
}

func outFn(b []byte) ([]byte, error) { return append([]byte("out:"), b...), nil }

func wantAll(n, keys int) map[string]bool {
	want := map[string]bool{}
	for i := range n {
		want["k"+strconv.Itoa(i%keys)+":"+strconv.Itoa(i)] = true
	}
	return want
}

// TestPipelineApp: a pipelined function binding (default max-in-flight)
// processes N inputs of several keys: every input has one output, outputs
// keep the inputs' order per key, every input is acked, acks go out in
// delivery order and never ahead of the confirmed outputs, and the
// function ran ahead of the confirms (more than one call in flight).
// With concurrency 3 and two publishing lanes the order per key is kept
// too (a key's inputs go to one worker, its outputs to one lane).
func TestPipelineApp(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, consumer, env string
	}{
		{"concurrency1", "", ""},
		{"concurrency3-lanes2", "concurrency: 3", "publisher-channels: 2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			const n, keys = 1000, 7
			p := startPipeApp(t, pipeOpts{consumer: tc.consumer, env: tc.env, checkAck: tc.consumer == "", fn: outFn})
			p.fill(n, keys)
			if err := p.in.Start(context.Background()); err != nil {
				t.Fatal(err)
			}
			missing, dups := p.waitOutputs(wantAll(n, keys), time.Minute)
			if missing != 0 || dups != 0 {
				t.Fatalf("%d inputs have no output, %d duplicates", missing, dups)
			}
			p.waitFinished(n, 30*time.Second)
			p.stopAndCheckDrained()
			checkOrder(t, p.outputs())
			p.checkTags()
			if s := p.in.Stats(); s.Processed != n || s.Failed != 0 {
				t.Errorf("stats: %+v; want %d processed", s, n)
			}
			t.Logf("most calls in flight: %d; acked up to tag %d", p.maxSeen.Load(), p.ackedUpTo.Load())
			if p.maxSeen.Load() <= 1 {
				t.Errorf("at most %d call in flight: the function waited for each confirm", p.maxSeen.Load())
			}
			if m := p.maxSeen.Load(); m > DefaultPrefetch*3 {
				t.Errorf("%d calls in flight; the window is prefetch (%d) per worker", m, DefaultPrefetch)
			}
		})
	}
}

// TestPipelineRetryInPlaceKeepsOrder: a pipelined function that fails
// once on every fifth input is retried in place (max-attempts 2, no send
// fails), so its outputs keep the inputs' order also with four publishing
// lanes: the retry's output (Send, waiting for its confirm) goes on the
// lane of its key, as the SendAsyncs before it did. On a lane of its own
// (round robin) it was stored before earlier outputs still unconfirmed on
// the key's lane (every run had some: "output of input 61 after that of
// 63").
func TestPipelineRetryInPlaceKeepsOrder(t *testing.T) {
	t.Parallel()
	const n, keys = 3000, 2
	var mu sync.Mutex
	failed := map[string]bool{}
	fn := func(b []byte) ([]byte, error) {
		_, i, _ := strings.Cut(string(b), ":")
		if seq, _ := strconv.Atoi(i); seq%5 == 3 {
			mu.Lock()
			first := !failed[string(b)]
			failed[string(b)] = true
			mu.Unlock()
			if first {
				return nil, errors.New("failing once")
			}
		}
		return outFn(b)
	}
	p := startPipeApp(t, pipeOpts{attempts: 2, consumer: "back-off-initial-interval: 1\nback-off-max-interval: 1",
		env: "publisher-channels: 4", fn: fn})
	p.fill(n, keys)
	if err := p.in.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if missing, dups := p.waitOutputs(wantAll(n, keys), time.Minute); missing != 0 || dups != 0 {
		t.Fatalf("%d inputs have no output, %d duplicates", missing, dups)
	}
	p.waitFinished(n, 30*time.Second)
	checkOrder(t, p.outputs())
}

// TestPipelineMaxInFlightOne: with consumer.max-in-flight 1 each output is
// confirmed before the next call (exactly one in flight), and all else is
// as pipelined.
func TestPipelineMaxInFlightOne(t *testing.T) {
	t.Parallel()
	const n, keys = 500, 3
	p := startPipeApp(t, pipeOpts{consumer: "max-in-flight: 1", checkAck: true, fn: outFn})
	p.fill(n, keys)
	if err := p.in.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if missing, dups := p.waitOutputs(wantAll(n, keys), time.Minute); missing != 0 || dups != 0 {
		t.Fatalf("%d inputs have no output, %d duplicates", missing, dups)
	}
	p.waitFinished(n, 30*time.Second)
	p.stopAndCheckDrained()
	checkOrder(t, p.outputs())
	p.checkTags()
	if m := p.maxSeen.Load(); m != 1 {
		t.Errorf("%d calls in flight; want exactly 1 with max-in-flight 1", m)
	}
}

// TestPipelineMaxInFlightBound: max-in-flight 4 bounds the calls in flight.
func TestPipelineMaxInFlightBound(t *testing.T) {
	t.Parallel()
	const n, keys = 1000, 3
	p := startPipeApp(t, pipeOpts{consumer: "max-in-flight: 4", checkAck: true, fn: outFn})
	p.fill(n, keys)
	if err := p.in.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if missing, dups := p.waitOutputs(wantAll(n, keys), time.Minute); missing != 0 || dups != 0 {
		t.Fatalf("%d inputs have no output, %d duplicates", missing, dups)
	}
	p.waitFinished(n, 30*time.Second)
	p.stopAndCheckDrained()
	checkOrder(t, p.outputs())
	p.checkTags()
	if m := p.maxSeen.Load(); m > 4 || m < 2 {
		t.Errorf("%d calls in flight; want 2 to 4 with max-in-flight 4", m)
	}
}

// TestPipelineFailingMessage: the function fails for one input among many
// (max-attempts 1, dlq): that input is dead-lettered, every other one has
// its output in order per key, every input is acked, and the settlements
// go out in delivery order.
func TestPipelineFailingMessage(t *testing.T) {
	t.Parallel()
	const n, keys = 1000, 5
	const bad = "k2:707"
	p := startPipeApp(t, pipeOpts{consumer: "dlq: true", checkAck: true, fn: func(b []byte) ([]byte, error) {
		if string(b) == bad {
			return nil, errors.New("bad input")
		}
		return outFn(b)
	}})
	p.fill(n, keys)
	if err := p.in.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := wantAll(n, keys)
	delete(want, bad)
	if missing, dups := p.waitOutputs(want, time.Minute); missing != 0 || dups != 0 {
		t.Fatalf("%d inputs have no output, %d duplicates", missing, dups)
	}
	p.waitFinished(n, 30*time.Second)
	p.stopAndCheckDrained()
	for _, o := range p.outputs() {
		if o == "out:"+bad {
			t.Errorf("the failed input has an output")
		}
	}
	checkOrder(t, p.outputs())
	p.checkTags()
	if s := p.in.Stats(); s.Processed != n-1 || s.Failed != 1 {
		t.Errorf("stats: %+v; want %d processed, 1 failed", s, n-1)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		qi, err := p.admin.QueueDeclarePassive(pipeDLQ, true, false, false, false, nil)
		if err != nil {
			t.Fatal(err)
		}
		if qi.Messages == 1 {
			break
		}
		if qi.Messages > 1 || time.Now().After(deadline) {
			t.Fatalf("DLQ holds %d messages; want 1", qi.Messages)
		}
		time.Sleep(10 * time.Millisecond) // the DLQ's count is the broker's
	}
	d, ok, err := p.admin.Get(pipeDLQ, true)
	if err != nil || !ok {
		t.Fatalf("get from DLQ: %v %v", ok, err)
	}
	if string(d.Body) != bad {
		t.Errorf("dead letter %q; want %q", d.Body, bad)
	}
}

// TestPipelineNetworkCut: the network between the App and the broker is
// cut (the test's proxy closes both connections) three times while a
// pipelined function works through N inputs; see pipelineFault.
func TestPipelineNetworkCut(t *testing.T) {
	t.Parallel()
	pipelineFault(t, 3000, outFn, func(p *pipeApp, _ int) int { return p.px.Cut() })
}

// pipelineFault runs a pipelined function fn over n inputs and disrupts
// the App's connections three times (disrupt(p, i), i = 0, 1, 2), once a
// further sixth of the outputs arrived; disrupt returns how many it
// closed. Nothing
// is lost: every input has an output (duplicates are possible and
// counted), and after the last recovery the input queue is drained — an
// input acked before its output was confirmed, whose output was then lost
// with the connection, would show as missing.
func pipelineFault(t *testing.T, n int, fn func([]byte) ([]byte, error), disrupt func(p *pipeApp, i int) int) {
	const keys = 7
	p := startPipeApp(t, pipeOpts{fn: fn})
	p.fill(n, keys)
	if err := p.in.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		// Disrupt once a further sixth of the outputs arrived.
		want := (i + 1) * n / 6
		deadline := time.Now().Add(time.Minute)
		for len(p.outputs()) < want {
			if time.Now().After(deadline) {
				t.Fatalf("fault %d: %d outputs of %d in a minute", i, len(p.outputs()), want)
			}
			select {
			case <-p.outCh:
			case <-time.After(100 * time.Millisecond):
			}
		}
		// The previous fault's connections may not be back yet (the
		// binder reconnects with back-off): wait for one to cut.
		for reconnect := time.Now().Add(30 * time.Second); disrupt(p, i) == 0; {
			if time.Now().After(reconnect) {
				t.Fatalf("fault %d: no connection to close in 30s", i)
			}
			time.Sleep(50 * time.Millisecond)
		}
		processed := p.in.Stats().Processed
		t.Logf("fault %d after %d outputs, %d processed", i, len(p.outputs()), processed)
		if processed >= int64(n) {
			t.Fatalf("fault %d came after all %d inputs were processed: the test needs a longer stream", i, n)
		}
	}
	missing, dups := p.waitOutputs(wantAll(n, keys), 2*time.Minute)
	t.Logf("%d inputs, %d outputs: %d missing, %d duplicates; %d processed, %d failed, %d redelivered-or-retried calls",
		n, len(p.outputs()), missing, dups, p.in.Stats().Processed, p.in.Stats().Failed, p.calls.Load()-int64(n))
	if missing != 0 {
		t.Fatalf("%d inputs have no output", missing)
	}
	// Every input is acked eventually (none is lost or left unacked).
	deadline := time.Now().Add(time.Minute)
	for {
		qi, err := p.admin.QueueDeclarePassive(pipeInQ, true, false, false, false, nil)
		if err != nil {
			t.Fatal(err)
		}
		if qi.Messages == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d inputs still ready a minute after all outputs arrived", qi.Messages)
		}
		time.Sleep(20 * time.Millisecond) // the broker's queue count
	}
	if s := p.in.Stats(); s.Failed != 0 {
		t.Errorf("%d inputs failed", s.Failed)
	}
	p.stopAndCheckDrained()
}

// TestPipelinePause: Pause of a pipelined binding mid-stream returns once
// every message handed over finished (its output confirmed), and nothing
// is handed over while paused; after Resume the rest is processed, in
// order per key, and every input acked.
func TestPipelinePause(t *testing.T) {
	t.Parallel()
	const n, keys = 2000, 5
	p := startPipeApp(t, pipeOpts{checkAck: true, fn: outFn})
	p.fill(n, keys)
	if err := p.in.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Minute)
	for len(p.outputs()) < n/4 {
		if time.Now().After(deadline) {
			t.Fatalf("%d outputs of %d in a minute", len(p.outputs()), n/4)
		}
		select {
		case <-p.outCh:
		case <-time.After(100 * time.Millisecond):
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := p.in.Pause(ctx); err != nil {
		t.Fatal(err)
	}
	calls := p.calls.Load()
	s := p.in.Stats()
	if s.Processed+s.Failed != calls {
		t.Errorf("Pause returned with %d calls and %d of them finished", calls, s.Processed+s.Failed)
	}
	if calls >= n {
		t.Fatalf("all %d processed before Pause; the test needs a longer stream", n)
	}
	time.Sleep(300 * time.Millisecond) // a quiet period: nothing may be handed over
	if c := p.calls.Load(); c != calls {
		t.Errorf("%d calls while paused", c-calls)
	}
	t.Logf("paused after %d calls", calls)
	if err := p.in.Resume(ctx); err != nil {
		t.Fatal(err)
	}
	if missing, dups := p.waitOutputs(wantAll(n, keys), time.Minute); missing != 0 || dups != 0 {
		t.Fatalf("%d inputs have no output, %d duplicates", missing, dups)
	}
	p.waitFinished(n, 30*time.Second)
	p.stopAndCheckDrained()
	checkOrder(t, p.outputs())
	p.checkTags()
}

// TestPipelineBoundLog: the input binding's "bound" line gives the window
// a worker really uses, min(max-in-flight, prefetch): 128 with the
// defaults (prefetch 128, max-in-flight 256), 4 with max-in-flight 4.
func TestPipelineBoundLog(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ consumer, want string }{
		{"", "pipelined=true max_in_flight=128"},
		{"max-in-flight: 4", "pipelined=true max_in_flight=4"},
	} {
		t.Run(tc.want, func(t *testing.T) {
			var buf syncbuf.Buffer
			startPipeApp(t, pipeOpts{consumer: tc.consumer, fn: outFn, log: slog.New(slog.NewTextHandler(&buf, nil))})
			var line string
			for _, l := range strings.Split(buf.String(), "\n") {
				if strings.Contains(l, "binding=transform-in-0") && strings.Contains(l, "pipelined=") {
					line = l
				}
			}
			if !strings.Contains(line, tc.want) {
				t.Errorf("bound line %q, want %s", line, tc.want)
			}
		})
	}
}
