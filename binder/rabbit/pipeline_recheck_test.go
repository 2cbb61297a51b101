package rabbit

// Regression tests from the re-check of the pipelining fixes: variations
// of the adversarial review's regression tests.

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/streambind/streambind/stream"
)

// countingHandler counts log records whose message contains one of subs
// (debug included), and passes nothing on.
type countingHandler struct {
	subs   []string
	counts []*atomic.Int64
}

func newCounting(subs ...string) *countingHandler {
	h := &countingHandler{subs: subs}
	for range subs {
		h.counts = append(h.counts, new(atomic.Int64))
	}
	return h
}

func (h *countingHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *countingHandler) Handle(_ context.Context, r slog.Record) error {
	for i, s := range h.subs {
		if strings.Contains(r.Message, s) {
			h.counts[i].Add(1)
		}
	}
	return nil
}
func (h *countingHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *countingHandler) WithGroup(string) slog.Handler      { return h }

// fillRegion publishes n inputs "k<i%keys>:<i>" with a header region,
// except for bad, which has none.
func (e *advEnv) fillRegion(n, keys int, bad string) {
	e.t.Helper()
	for i := range n {
		k := "k" + strconv.Itoa(i%keys)
		body := k + ":" + strconv.Itoa(i)
		h := amqp.Table{keyHeader: k}
		if body != bad {
			h["region"] = "r" + strconv.Itoa(i%3)
		}
		dc, err := e.admin.PublishWithDeferredConfirm(advIn, "x", true, false, amqp.Publishing{
			DeliveryMode: amqp.Persistent, Headers: h, Body: []byte(body),
		})
		e.must(err)
		if !dc.Wait() {
			e.t.Fatal("fill: nacked")
		}
	}
}

// Item 1 variation: the partition-key-expression fails (a missing header:
// an error, not a panic) for one message.
func TestRecheckRabbitKeyExpressionError(t *testing.T) {
	t.Parallel()
	for _, mif := range []int{1, 256} {
		t.Run("max-in-flight "+strconv.Itoa(mif), func(t *testing.T) {
			t.Parallel()
			const n, keys = 600, 4
			const bad = "k1:21"
			e := newAdvEnv(t)
			yaml := e.yaml(fmt.Sprintf("max-attempts: 2\nback-off-initial-interval: 5ms\ndlq: true\nmax-in-flight: %d", mif), "",
				"producer: {partition-key-expression: headers.region, partition-count: 2}", "")
			a := e.run(yaml, func(_ context.Context, b []byte) ([]byte, error) { return outFn(b) })
			e.fillRegion(n, keys, bad)
			a.start(t)
			want := advWant(n, keys)
			delete(want, bad)
			missing, dups := e.waitOutputs(want, 20*time.Second)
			st := a.app.Binding("transform-in-0").Stats()
			t.Logf("missing %d, dups %d; stats %+v", len(missing), dups, st)
			if len(missing) > 0 {
				t.Errorf("%d of %d inputs without output after 20s", len(missing), n-1)
			}
			deadline := time.Now().Add(10 * time.Second)
			for e.queueDepth(advDLQ) < 1 && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond) // polling the DLQ's depth
			}
			if d := e.queueDepth(advDLQ); d != 1 {
				t.Errorf("%d dead letters; want 1", d)
			}
			if d := e.queueDepth(advInQ); d != 0 {
				t.Errorf("%d inputs left in the input queue", d)
			}
		})
	}
}

// Item 2 variation: an output over max-message-size (permanent) with an
// ErrorHandler that sends an error event to the output via the bridge.
func TestRecheckRabbitErrorHandlerSendsToOutput(t *testing.T) {
	t.Parallel()
	for _, mif := range []int{1, 256} {
		t.Run("max-in-flight "+strconv.Itoa(mif), func(t *testing.T) {
			t.Parallel()
			const n, keys = 800, 4
			const big = "k1:401"
			e := newAdvEnv(t)
			var app atomic.Pointer[stream.App]
			var reported, sentOK atomic.Int64
			onFail := func(ctx context.Context, m stream.FailedMessage) {
				sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
				defer cancel()
				if err := app.Load().Bridge().Send(sctx, "transform-out-0", []byte("failed:"+string(m.Envelope.Payload))); err != nil {
					t.Logf("error event not sent: %v", err)
				} else {
					sentOK.Add(1)
				}
				reported.Add(1)
			}
			a := e.run(e.yaml(fmt.Sprintf("max-attempts: 1\ndlq: true\nmax-in-flight: %d", mif), "max-message-size: 4096", "", ""),
				func(_ context.Context, b []byte) ([]byte, error) {
					if string(b) == big {
						return []byte("out:" + big + "|" + strings.Repeat("y", 10000)), nil
					}
					return outFn(b)
				}, stream.WithErrorHandler("transform-in-0", onFail))
			app.Store(a.app)
			e.fill(n, keys)
			a.start(t)
			want := advWant(n, keys)
			delete(want, big)
			want["failed:"+big] = true
			missing, dups := e.waitOutputs(want, 30*time.Second)
			st := a.app.Binding("transform-in-0").Stats()
			deadline := time.Now().Add(10 * time.Second)
			for e.queueDepth(advDLQ) < 1 && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond) // polling the DLQ's depth
			}
			t.Logf("missing %d (%v), dups %d; reported %d (sent %d); DLQ %d; stats %+v", len(missing), missing[:min(5, len(missing))], dups, reported.Load(), sentOK.Load(), e.queueDepth(advDLQ), st)
			if len(missing) > 0 {
				t.Errorf("%d outputs missing after 30s (stuck?)", len(missing))
			}
			if reported.Load() != 1 || sentOK.Load() != 1 {
				t.Errorf("error handler ran %d times, sent %d; want 1, 1", reported.Load(), sentOK.Load())
			}
			if d := e.queueDepth(advDLQ); d != 1 {
				t.Errorf("%d dead letters; want 1", d)
			}
			err := a.stop(t)
			t.Logf("shutdown %s, %v", a.dur, err)
			if a.dur > 10*time.Second {
				t.Errorf("shutdown took %s (shutdown-timeout 3s)", a.dur)
			}
		})
	}
}

// outage makes every output unroutable (mandatory: the send fails with
// ErrUnroutable, transient, through SendAsync's result: the pipelined
// send failure path) until the returned func rebinds the queue.
func (e *advEnv) outage() (restore func()) {
	e.must(e.admin.QueueUnbind(advOutQ, "#", advOut, nil))
	return func() { e.must(e.admin.QueueBind(advOutQ, "#", advOut, false, nil)) }
}

const (
	logPipeFail = "pipelined output send failed"
	logRetrying = "handler failed, retrying"
)

// waitCount polls c until it reaches v or d passes.
func waitCount(c *atomic.Int64, v int64, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for c.Load() < v && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond) // polling a log counter
	}
	return c.Load() >= v
}

// Item 3 variation A: the App shuts down while a head message is inside
// retryInPlace's back-off (output unroutable): Run returns bounded by
// shutdown-timeout; after the output is back and a restart, every input
// has its output and nothing was dead-lettered or dropped.
func TestRecheckRabbitShutdownDuringRetryInPlace(t *testing.T) {
	t.Parallel()
	const n, keys = 600, 4
	e := newAdvEnv(t)
	e.publishNs.Store(int64(time.Millisecond)) // windows of unconfirmed outputs
	var calls atomic.Int64
	fn := func(_ context.Context, b []byte) ([]byte, error) {
		calls.Add(1)
		return outFn(b)
	}
	yaml := e.yaml("max-attempts: 4\nback-off-initial-interval: 2s\ndlq: true\nmax-in-flight: 256", "", "", "")
	lh := newCounting(logPipeFail, logRetrying)
	a := e.run(yaml, fn, stream.WithLogger(slog.New(lh)))
	e.fill(n, keys)
	a.start(t)
	deadline := time.Now().Add(time.Minute)
	for len(e.outputs()) < 100 && time.Now().Before(deadline) {
		time.Sleep(2 * time.Millisecond) // polling the outputs
	}
	restore := e.outage()
	if !waitCount(lh.counts[0], 1, 20*time.Second) {
		t.Fatal("no pipelined send failed in 20s")
	}
	// A retry in place has failed once and is in its back-off.
	if !waitCount(lh.counts[1], 1, 20*time.Second) {
		t.Fatal("no retry (in place) in 20s")
	}
	t.Logf("pipelined failures %d, retries %d, calls %d", lh.counts[0].Load(), lh.counts[1].Load(), calls.Load())
	err := a.stop(t)
	t.Logf("shutdown during retryInPlace: %s (err %v)", a.dur, err)
	if a.dur > 10*time.Second {
		t.Errorf("shutdown took %s with shutdown-timeout 3s", a.dur)
	}
	restore()
	e.publishNs.Store(0)
	b := e.run(yaml, fn)
	b.start(t)
	missing, dups := e.waitOutputs(advWant(n, keys), time.Minute)
	t.Logf("after restart: %d missing, %d duplicates; DLQ %d; input queue %d", len(missing), dups, e.queueDepth(advDLQ), e.queueDepth(advInQ))
	if len(missing) > 0 {
		t.Errorf("%d inputs LOST, e.g. %v", len(missing), missing[:min(5, len(missing))])
	}
	if d := e.queueDepth(advDLQ); d != 0 {
		t.Errorf("%d dead letters; want 0", d)
	}
}

// Item 3, Pause: how long Pause takes while the output is down (every
// output unroutable), sequential vs pipelined, same retry settings
// (max-attempts 3, back-off 300ms then 600ms: one retry cycle ~0.9s,
// which Pause waits for at most; a Pause that waited a cycle for each
// delivery of a pipelined window would take about 128 cycles). Bounded by
// a 30s ctx; then the output comes back, the binding resumes and every
// input must have its output.
func TestRecheckRabbitPauseDuringOutage(t *testing.T) {
	for _, mif := range []int{1, 256} {
		t.Run("max-in-flight "+strconv.Itoa(mif), func(t *testing.T) {
			t.Parallel() // with its sibling only: the test is not parallel
			const n, keys = 600, 4
			e := newAdvEnv(t)
			e.publishNs.Store(int64(time.Millisecond))
			var calls atomic.Int64
			fn := func(_ context.Context, b []byte) ([]byte, error) {
				calls.Add(1)
				return outFn(b)
			}
			yaml := e.yaml(fmt.Sprintf("max-attempts: 3\nback-off-initial-interval: 300ms\ndlq: true\nmax-in-flight: %d", mif), "", "", "")
			lh := newCounting(logPipeFail, logRetrying)
			a := e.run(yaml, fn, stream.WithLogger(slog.New(lh)))
			e.fill(n, keys)
			a.start(t)
			deadline := time.Now().Add(time.Minute)
			for len(e.outputs()) < 100 && time.Now().Before(deadline) {
				time.Sleep(2 * time.Millisecond) // polling the outputs
			}
			restore := e.outage()
			if !waitCount(lh.counts[1], 1, 20*time.Second) {
				t.Fatal("no retry in 20s")
			}
			in := a.app.Binding("transform-in-0")
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			start := time.Now()
			c0 := calls.Load()
			perr := in.Pause(ctx)
			took := time.Since(start)
			cancel()
			t.Logf("Pause with the output down: %s, err %v; function calls during Pause %d; retries logged %d", took, perr, calls.Load()-c0, lh.counts[1].Load())
			if perr != nil || took > 10*time.Second {
				t.Errorf("Pause took %s (err %v) with a ~0.9s retry cycle", took, perr)
			}
			restore()
			if err := in.Resume(context.Background()); err != nil {
				t.Fatal(err)
			}
			missing, dups := e.waitOutputs(advWant(n, keys), 90*time.Second)
			t.Logf("after resume: %d missing, %d duplicates; DLQ %d", len(missing), dups, e.queueDepth(advDLQ))
			if len(missing) > 0 {
				t.Errorf("%d inputs LOST, e.g. %v", len(missing), missing[:min(5, len(missing))])
			}
		})
	}
}

// Item 3: as TestAdvPipeRabbitOutageQuorumDeliveryLimit, but the outage
// is made by unbinding the output queue (every output unroutable: the
// send fails through SendAsync's result, so the ErrPipelinedSend path is
// certainly taken — stopping the output binding fails sends in the
// handler's call, before the hand-over, or not at all when the window was
// already drained). Outage 2s, shorter than one retry cycle (1s + 2s).
func TestRecheckRabbitQuorumDeliveryLimitUnroutable(t *testing.T) {
	t.Parallel()
	for _, mif := range []int{1, 256} {
		t.Run("max-in-flight "+strconv.Itoa(mif), func(t *testing.T) {
			t.Parallel()
			const n, keys = 600, 4
			e := newAdvEnv(t)
			e.publishNs.Store(int64(time.Millisecond))
			lh := newCounting(logPipeFail, logRetrying)
			yaml := e.yaml(fmt.Sprintf("max-in-flight: %d", mif), "", "", "") + `  rabbit:
    bindings:
      transform-in-0:
        consumer:
          quorum:
            enabled: true
            delivery-limit: 1
`
			var calls atomic.Int64
			a := e.run(yaml, func(_ context.Context, b []byte) ([]byte, error) {
				calls.Add(1)
				return outFn(b)
			}, stream.WithLogger(slog.New(lh)))
			e.fill(n, keys)
			a.start(t)
			deadline := time.Now().Add(time.Minute)
			for len(e.outputs()) < 100 && time.Now().Before(deadline) {
				time.Sleep(2 * time.Millisecond) // polling the outputs
			}
			restore := e.outage()
			time.Sleep(2 * time.Second) // the output outage
			restore()
			missing, dups := e.waitOutputs(advWant(n, keys), 60*time.Second)
			st := a.app.Binding("transform-in-0").Stats()
			t.Logf("pipelined send failures %d, retries %d; missing %d, dups %d; calls %d; input queue %d; stats %+v",
				lh.counts[0].Load(), lh.counts[1].Load(), len(missing), dups, calls.Load(), e.queueDepth(advInQ), st)
			if mif > 1 && lh.counts[0].Load() == 0 {
				t.Error("no pipelined send failed: the test did not exercise the path")
			}
			if len(missing) > 0 {
				t.Errorf("%d of %d inputs LOST, e.g. %v", len(missing), n, missing[:min(5, len(missing))])
			}
		})
	}
}
