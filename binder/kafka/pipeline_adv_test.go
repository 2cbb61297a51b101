package kafka_test

// Adversarial tests of pipelined processing (consumer.max-in-flight)
// through a stream.App built from YAML, as a user would: cross-binder
// outputs, the memory binder's fallback, oversized outputs, shutdown with
// outputs in flight and a restart, Stop/Start with full windows, failures,
// panics and Skip among many in composed functions, partitioned outputs,
// retry topics, and goroutines after Close. Written by the adversarial
// review (advpipe); see each test's comment for what it checks.

import (
	"context"
	"encoding/json"
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
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/streambind/streambind/binder/kafka"
	"github.com/streambind/streambind/binder/kafka/kafkatest"
	"github.com/streambind/streambind/binder/memory"
	"github.com/streambind/streambind/binder/rabbit"
	"github.com/streambind/streambind/binder/rabbit/rabbittest"
	"github.com/streambind/streambind/config"
	"github.com/streambind/streambind/internal/syncbuf"
	"github.com/streambind/streambind/stream"
)

// advApp is a running App and how to end it.
type advApp struct {
	app    *stream.App
	cancel context.CancelFunc
	ran    chan error
	once   sync.Once
	err    error
	// explicit: the test stopped it and judged Run's error itself.
	explicit atomic.Bool
}

// stop ends Run and returns its error (once; later calls return it too).
func (a *advApp) stop(t testing.TB) error {
	a.explicit.Store(true)
	return a.end(t)
}

func (a *advApp) end(t testing.TB) error {
	a.once.Do(func() {
		a.cancel()
		select {
		case a.err = <-a.ran:
		case <-time.After(90 * time.Second):
			a.err = errors.New("Run did not return 90s after its context ended")
			t.Error(a.err)
		}
	})
	return a.err
}

// advRun loads yaml, builds the App with the Kafka, RabbitMQ and memory
// binders and runs it until the test ends (or stop).
func advRun(t *testing.T, yaml string, fns *stream.Catalog, opts ...stream.Option) *advApp {
	t.Helper()
	l, err := config.Load(config.Options{Data: []byte(yaml), Env: []string{}})
	if err != nil {
		t.Fatalf("load: %v\n%s", err, yaml)
	}
	app, err := stream.NewApp(l.Stream, fns, append([]stream.Option{
		stream.WithBinderType(kafka.Type, kafka.New),
		stream.WithBinderType(rabbit.Type, rabbit.New),
		stream.WithBinderType(memory.Type, memory.New),
		stream.WithoutSignals(), stream.WithLogger(testLogger(t))}, opts...)...)
	if err != nil {
		t.Fatalf("new app: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	a := &advApp{app: app, cancel: cancel, ran: make(chan error, 1)}
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

// advKafkaYAML is a relay function from the Kafka topic in (group g) to
// out, with extra YAML lines under the input's consumer (consumer) and
// the output binding (outLines, at binding level: binder:, producer:...).
func advKafkaYAML(c *kafkatest.Cluster, def, fn, in, out, consumer, outLines, binders string) string {
	return fmt.Sprintf(`stream:
  function:
    definition: %s
  default-binder: k
  binders:
    k:
      type: kafka
      environment:
        brokers: %q
%s  bindings:
    %s-in-0:
      destination: %s
      group: g
      content-type: application/octet-stream
      consumer:
%s    %s-out-0:
      destination: %s
      content-type: application/octet-stream
%s`, def, c.Brokers(), binders, fn, in, advIndent(consumer, "        "), fn, out, advIndent(outLines, "      "))
}

func advIndent(s, pfx string) string {
	if strings.TrimSpace(s) == "" {
		return ""
	}
	lines := strings.Split(strings.Trim(s, "\n"), "\n")
	// Keep relative indentation: strip the first line's indent from all.
	base := len(lines[0]) - len(strings.TrimLeft(lines[0], " \t"))
	for i, l := range lines {
		if len(l) >= base {
			l = l[base:]
		}
		lines[i] = pfx + l
	}
	return strings.Join(lines, "\n") + "\n"
}

// advSlowProduce delays every produce request to topic by d, holding the
// cluster meanwhile, until stop is called. Not SleepControl, which would
// leave the rest of the cluster running: its many short sleeps on one
// connection meet a data race inside kfake (two (*bsleep).waitQueue
// goroutines for one connection when its queue drains as the next request
// sleeps; the race detector failed CI runs on it).
func advSlowProduce(c *kafkatest.Cluster, topic string, d time.Duration) (stop func()) {
	var off atomic.Bool
	c.Kfake.ControlKey(int16(kmsg.Produce), func(kr kmsg.Request) (kmsg.Response, error, bool) {
		if off.Load() {
			c.Kfake.DropControl()
			return nil, nil, false
		}
		c.Kfake.KeepControl()
		for _, rt := range kr.(*kmsg.ProduceRequest).Topics {
			if rt.Topic == topic {
				time.Sleep(d)
				break
			}
		}
		return nil, nil, false
	})
	return func() { off.Store(true) }
}

// TestAdvPipeKafkaToRabbit: a function binding reading Kafka and writing
// RabbitMQ (another binder, whose producer is an AsyncProducer too): it
// runs pipelined, every input has its output once, the outputs of each
// key are in input order, and every input is committed.
func TestAdvPipeKafkaToRabbit(t *testing.T) {
	t.Parallel()
	const n = 1500
	rabbittest.Require(t)
	vh := rabbittest.VHost(t)
	c := kafkatest.Start(t)
	in := uniqueTopic(t)
	createTopic(t, c, in, pipeParts, nil)
	pw := newPipeWriter(c, in)
	defer pw.w.Close()
	pw.write(t, n)

	// The output's exchange and a queue the test reads, declared first.
	conn, err := amqp.Dial(rabbittest.VHostURL(vh))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	if err := ch.ExchangeDeclare("adv.out", "topic", true, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := ch.QueueDeclare("adv.out.q", true, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	if err := ch.QueueBind("adv.out.q", "#", "adv.out", false, nil); err != nil {
		t.Fatal(err)
	}
	ds, err := ch.Consume("adv.out.q", "", true, false, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	o := newOutputs()
	go func() {
		for d := range ds {
			_ = o.handler(context.Background(), stream.Envelope{Payload: d.Body})
		}
	}()

	var calls, maxAhead atomic.Int64
	var outB *stream.Binding
	fns := stream.NewCatalog()
	stream.AddFunction(fns, "relay", func(_ context.Context, v []byte) ([]byte, error) {
		if ahead := calls.Add(1) - 1 - outB.Stats().Sent; ahead > maxAhead.Load() {
			maxAhead.Store(ahead)
		}
		return append([]byte("out:"), v...), nil
	})
	binders := fmt.Sprintf(`    r:
      type: rabbit
      environment:
        addresses: %q
        virtual-host: %q
`, rabbittest.Address(), vh)
	yaml := advKafkaYAML(c, "relay", "relay", in, "adv.out", "max-attempts: 1\nauto-startup: false", "binder: r", binders)
	a := advRun(t, yaml, fns)
	outB = a.app.Binding("relay-out-0")
	if err := a.app.Binding("relay-in-0").Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	cl := pipeClient(c)
	waitAllCommitted(t, cl, in, n)
	vals := o.waitLen(t, n, pipeTimeout)
	if dups := checkOutputs(t, pw, vals, nil, true); dups > 0 {
		t.Errorf("%d duplicates; want none", dups)
	}
	t.Logf("calls %d, at most %d outputs unconfirmed at a call", calls.Load(), maxAhead.Load())
	if maxAhead.Load() < 2 {
		t.Errorf("Kafka in, RabbitMQ out: at most %d outputs unconfirmed at a call; want pipelined (both producers are AsyncProducers)", maxAhead.Load())
	}
}

// TestAdvPipeKafkaToMemory: an output on the memory binder (no
// AsyncProducer) falls back to sequential processing: no call ever sees
// an earlier output unsent; nothing lost.
func TestAdvPipeKafkaToMemory(t *testing.T) {
	t.Parallel()
	const n = 600
	c := kafkatest.Start(t)
	in := uniqueTopic(t)
	createTopic(t, c, in, 1, nil)
	w := &kafkago.Writer{Addr: kafkago.TCP(c.Addrs()...), Topic: in, BatchTimeout: time.Millisecond, RequiredAcks: kafkago.RequireAll}
	defer w.Close()
	msgs := make([]kafkago.Message, n)
	for i := range msgs {
		msgs[i] = kafkago.Message{Value: []byte(strconv.Itoa(i))}
	}
	if err := w.WriteMessages(context.Background(), msgs...); err != nil {
		t.Fatal(err)
	}
	var calls, maxAhead atomic.Int64
	var outB *stream.Binding
	var mu sync.Mutex
	var got []string
	fns := stream.NewCatalog()
	stream.AddFunction(fns, "relay", func(_ context.Context, v []byte) ([]byte, error) {
		if ahead := calls.Add(1) - 1 - outB.Stats().Sent; ahead > maxAhead.Load() {
			maxAhead.Store(ahead)
		}
		return v, nil
	})
	stream.AddConsumer(fns, "sink", func(_ context.Context, v []byte) error {
		mu.Lock()
		got = append(got, string(v))
		mu.Unlock()
		return nil
	})
	yaml := fmt.Sprintf(`stream:
  function:
    definition: relay;sink
  default-binder: k
  binders:
    k:
      type: kafka
      environment:
        brokers: %q
    m:
      type: memory
  bindings:
    relay-in-0:
      destination: %s
      group: g
      content-type: application/octet-stream
      consumer:
        auto-startup: false
    relay-out-0:
      destination: mem-out
      binder: m
      content-type: application/octet-stream
    sink-in-0:
      destination: mem-out
      group: s
      binder: m
      content-type: application/octet-stream
`, c.Brokers(), in)
	a := advRun(t, yaml, fns)
	outB = a.app.Binding("relay-out-0")
	if err := a.app.Binding("relay-in-0").Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	cl := pipeClient(c)
	defer func() {
		mu.Lock()
		t.Logf("calls %d, got %d, committed %v", calls.Load(), len(got), committedParts(t, cl, "g", in))
		mu.Unlock()
	}()
	waitFor(t, pipeTimeout, "every input committed", func() bool { return committedParts(t, cl, "g", in)[0] == n })
	waitFor(t, pipeTimeout, "every output consumed", func() bool { mu.Lock(); defer mu.Unlock(); return len(got) >= n })
	if maxAhead.Load() != 0 {
		t.Errorf("memory output: a call saw %d earlier outputs unsent; want sequential (no AsyncProducer)", maxAhead.Load())
	}
}

// TestAdvPipeKafkaShutdownRestart: the output's broker is slow, so that
// the windows are full of unconfirmed outputs when the App is shut down
// mid-stream. After Run returned, every committed input has its output in
// the output topic; after a restart every input has one.
func TestAdvPipeKafkaShutdownRestart(t *testing.T) {
	t.Parallel()
	for _, mif := range []int{2, 256, 65536} {
		t.Run("max-in-flight "+strconv.Itoa(mif), func(t *testing.T) {
			const n = 3000
			c := kafkatest.Start(t)
			in, out, pw := pipeTopics(t, c, 1, nil)
			pw.write(t, n)
			stopSlow := advSlowProduce(c, out, 20*time.Millisecond)
			var calls atomic.Int64
			fns := func() *stream.Catalog { return relayFns(&calls) }
			yaml := advKafkaYAML(c, "relay", "relay", in, out, "max-attempts: 1\nmax-in-flight: "+strconv.Itoa(mif), "", "")
			a := advRun(t, yaml, fns())
			waitFor(t, pipeTimeout, "some calls", func() bool { return calls.Load() >= 400 })
			if err := a.stop(t); err != nil {
				t.Errorf("Run (shutdown with outputs in flight): %v", err)
			}
			stopSlow()
			cl := pipeClient(c)
			committed := committedParts(t, cl, "g", in)
			o := advReadTopic(t, c, out)
			end := endOffset(t, c, out, 0)
			vals := o.waitLen(t, end, pipeTimeout)
			for i, v := range withoutOutput(pw, committed, vals) {
				if i < 5 {
					t.Errorf("input %s committed (%v) without its output after shutdown", v, committed)
				}
			}
			t.Logf("at shutdown: %d calls, committed %v (%d), %d outputs", calls.Load(), committed, sum(committed), end)
			// Restart: everything is relayed.
			advRun(t, yaml, fns())
			vals, dups := relayedAll(t, c, in, out, o, pw, n)
			t.Logf("after restart: %d outputs, %d duplicates", len(vals), dups)
		})
	}
}

// TestAdvPipeKafkaOversizeOutput: the output topic's max.message.bytes is
// 20 KB; the function makes 1 KB outputs, and a 40 KB one for one input.
// With pipelining many 1 KB outputs go out in one batch (over 20 KB
// together): none of them may fail for it. The oversized one is
// permanent: dead-lettered; every other input has its output, once.
func TestAdvPipeKafkaOversizeOutput(t *testing.T) {
	t.Parallel()
	const n = 900
	const big = "k4:33" // partition 1
	c := kafkatest.Start(t)
	in, out, pw := pipeTopics(t, c, 1, map[string]string{"max.message.bytes": "20000"})
	dlq := pipeDLQ(t, c, in)
	pw.write(t, n)
	fns := stream.NewCatalog()
	pad := strings.Repeat("x", 1000)
	stream.AddFunction(fns, "relay", func(_ context.Context, v []byte) ([]byte, error) {
		p := pad
		if string(v) == big {
			p = strings.Repeat("y", 40000)
		}
		return []byte("out:" + string(v) + "|" + p), nil
	})
	yaml := advKafkaYAML(c, "relay", "relay", in, out, "max-attempts: 2\nback-off-initial-interval: 10ms\ndlq: true", "", "")
	a := advRun(t, yaml, fns)
	cl := pipeClient(c)
	waitAllCommitted(t, cl, in, n)
	o := advReadTopic(t, c, out)
	vals := o.waitLen(t, endOffset(t, c, out, 0), pipeTimeout)
	for i, v := range vals {
		vals[i], _, _ = strings.Cut(v, "|")
	}
	dups := checkOutputs(t, pw, vals, map[string]bool{big: true}, true)
	if dups > 0 {
		t.Errorf("%d duplicates", dups)
	}
	st := a.app.Binding("relay-in-0").Stats()
	t.Logf("input stats %+v; %d dead letters", st, endOffset(t, c, dlq, 0))
	if got := endOffset(t, c, dlq, 0); got != 1 {
		t.Errorf("%d dead letters; want 1 (the oversized output's input)", got)
	}
}

// TestAdvPipeKafkaStopStartFullWindow: the binding is stopped (through the
// App's binding API, as the actuator does) while its windows are full of
// unconfirmed outputs, then started again, twice. Stop returns within its
// deadline; at each stop every committed input has its output; in the end
// every input has its output.
func TestAdvPipeKafkaStopStartFullWindow(t *testing.T) {
	t.Parallel()
	const n = 3000
	c := kafkatest.Start(t)
	in, out, pw := pipeTopics(t, c, 1, nil)
	pw.write(t, n)
	stopSlow := advSlowProduce(c, out, 15*time.Millisecond)
	defer stopSlow()
	var calls atomic.Int64
	fns := relayFns(&calls)
	yaml := advKafkaYAML(c, "relay", "relay", in, out, "max-attempts: 1\nmax-in-flight: 64", "", "")
	a := advRun(t, yaml, fns)
	inB := a.app.Binding("relay-in-0")
	cl := pipeClient(c)
	o := advReadTopic(t, c, out)
	for round := range 2 {
		target := calls.Load() + 300
		waitFor(t, pipeTimeout, "more calls", func() bool { return calls.Load() >= target })
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		start := time.Now()
		err := inB.Stop(ctx)
		cancel()
		t.Logf("round %d: Stop took %s (err %v), state %s", round, time.Since(start), err, inB.State())
		if err != nil {
			t.Errorf("Stop with full windows: %v", err)
		}
		callsAtStop := calls.Load()
		committed := committedParts(t, cl, "g", in)
		end := endOffset(t, c, out, 0)
		for _, v := range withoutOutput(pw, committed, o.waitLen(t, end, pipeTimeout)) {
			t.Fatalf("round %d: input %s committed (%v) without its output after Stop", round, v, committed)
		}
		// Nothing is called after Stop returned.
		time.Sleep(200 * time.Millisecond) // observation window for stray calls after Stop
		if got := calls.Load(); got != callsAtStop {
			t.Errorf("round %d: %d function calls after Stop returned", round, got-callsAtStop)
		}
		if err := inB.Start(context.Background()); err != nil {
			t.Fatalf("Start: %v", err)
		}
	}
	stopSlow()
	vals, dups := relayedAll(t, c, in, out, o, pw, n)
	t.Logf("%d outputs, %d duplicates, %d calls", len(vals), dups, calls.Load())
}

// TestAdvPipeKafkaComposedMixed: a composed function a|b where a fails
// permanently for some inputs, returns Skip for others, panics once for
// others (then succeeds), and b returns nil for others; outputs to a
// 4-partition topic partitioned by a payload key expression with
// header-mode none. For max-in-flight 2 and 65536: every input is
// committed; exactly the failed ones are dead-lettered; exactly the
// others (not skipped, not nil) have outputs, once, in order per key
// within their partition.
func TestAdvPipeKafkaComposedMixed(t *testing.T) {
	t.Parallel()
	for _, mif := range []int{2, 65536} {
		t.Run("max-in-flight "+strconv.Itoa(mif), func(t *testing.T) {
			const n = 1800
			c := kafkatest.Start(t)
			in, out, pw := pipeTopics(t, c, 4, nil)
			dlq := pipeDLQ(t, c, in)
			pw.write(t, n)
			kind := func(v string) int { // by the input's seq
				_, s, _ := strings.Cut(v, ":")
				i, _ := strconv.Atoi(s)
				return i % 17
			}
			var panicked sync.Map
			type rec struct {
				Key string `json:"key"`
				V   string `json:"v"`
			}
			fns := stream.NewCatalog()
			stream.AddFunction(fns, "a", func(_ context.Context, v []byte) (rec, error) {
				s := string(v)
				switch kind(s) {
				case 3:
					return rec{}, stream.Permanent(errors.New("a fails for good"))
				case 5:
					return rec{}, stream.Skip
				case 7:
					if _, loaded := panicked.LoadOrStore(s, true); !loaded {
						panic("a panics once for " + s)
					}
				}
				k, _, _ := strings.Cut(s, ":")
				return rec{Key: k, V: s}, nil
			})
			stream.AddFunction(fns, "b", func(_ context.Context, r rec) (*rec, error) {
				if kind(r.V) == 11 {
					return nil, nil
				}
				r.V = "out:" + r.V
				return &r, nil
			})
			cons := fmt.Sprintf("max-attempts: 2\nback-off-initial-interval: 5ms\ndlq: true\nmax-in-flight: %d", mif)
			outLines := `content-type: application/json
producer:
  partition-key-expression: payload.key
  partition-count: 4
  header-mode: none`
			yaml := strings.Replace(advKafkaYAML(c, "a|b", "ab", in, out, cons, outLines, ""),
				"      destination: "+out+"\n      content-type: application/octet-stream\n",
				"      destination: "+out+"\n", 1)
			a := advRun(t, yaml, fns)
			cl := pipeClient(c)
			waitAllCommitted(t, cl, in, n)
			want, fails := 0, 0
			skip := map[string]bool{}
			for i := range n {
				v := string(pipeInput(i).Value)
				switch kind(v) {
				case 3:
					fails++
					skip[v] = true
				case 5, 11:
					skip[v] = true
				default:
					want++
				}
			}
			var total int64
			parts := map[string]int{}
			var all []string
			for p := range 4 {
				total += endOffset(t, c, out, p)
			}
			o := advReadTopic(t, c, out)
			vals := o.waitLen(t, total, pipeTimeout)
			for _, v := range vals {
				var r rec
				if err := json.Unmarshal([]byte(v), &r); err != nil {
					t.Fatalf("output %q: %v", v, err)
				}
				all = append(all, r.V)
				parts[r.Key]++
			}
			// Outputs read through one consumer of 4 partitions: order per
			// key holds within a partition, and a key has one partition.
			dups := checkOutputs(t, pw, all, skip, true)
			var names []string
			var inB *stream.Binding
			for _, b := range a.app.Bindings() {
				names = append(names, b.Name())
				if b.IsInput() {
					inB = b
				}
			}
			if a.app.Binding("a|b-in-0") == nil || a.app.Binding("ab-in-0") == nil {
				t.Logf("App.Binding: a|b-in-0 %v, ab-in-0 %v; bindings %v", a.app.Binding("a|b-in-0") != nil, a.app.Binding("ab-in-0") != nil, names)
			}
			st := inB.Stats()
			t.Logf("%d outputs (want %d), %d duplicates, %d dead letters (want %d); stats %+v", len(all), want, dups, endOffset(t, c, dlq, 0), fails, st)
			if dups > 0 {
				t.Errorf("%d duplicates", dups)
			}
			if got := endOffset(t, c, dlq, 0); got != int64(fails) {
				t.Errorf("%d dead letters; want %d", got, fails)
			}
			for _, v := range all {
				if skip[strings.TrimPrefix(v, "out:")] {
					t.Errorf("output %s of an input that failed, was skipped or gave nil", v)
				}
			}
		})
	}
}

// TestAdvPipeKafkaRetryTopics: retry-delays (retry topics) on a pipelined
// main binding: every 10th input fails its first attempt (then succeeds
// from the retry topic); every input ends with an output, and the main
// topic's offsets are committed only over inputs that have an output or
// sit in a retry topic.
func TestAdvPipeKafkaRetryTopics(t *testing.T) {
	t.Parallel()
	const n = 900
	c := kafkatest.Start(t)
	in, out, pw := pipeTopics(t, c, 1, nil)
	pw.write(t, n)
	var mu sync.Mutex
	failed := map[string]bool{}
	fns := stream.NewCatalog()
	stream.AddFunction(fns, "relay", func(_ context.Context, v []byte) ([]byte, error) {
		s := string(v)
		_, seq, _ := strings.Cut(s, ":")
		if i, _ := strconv.Atoi(seq); i%10 == 0 {
			mu.Lock()
			first := !failed[s]
			failed[s] = true
			mu.Unlock()
			if first {
				return nil, errors.New("first attempt fails")
			}
		}
		return append([]byte("out:"), v...), nil
	})
	yaml := advKafkaYAML(c, "relay", "relay", in, out, "max-attempts: 1\nretry-delays: 100ms\ndlq: true", "", "")
	a := advRun(t, yaml, fns)
	cl := pipeClient(c)
	waitAllCommitted(t, cl, in, n)
	o := advReadTopic(t, c, out)
	vals := o.waitLen(t, int64(n), pipeTimeout)
	dups := checkOutputs(t, pw, vals, nil, false)
	t.Logf("%d outputs, %d duplicates; stats %+v", len(vals), dups, a.app.Binding("relay-in-0").Stats())
}

// TestAdvPipeKafkaGoroutines: after an App with pipelined bindings (full
// windows against a slow output broker) shut down, the goroutines it
// started are gone.
func TestAdvPipeKafkaGoroutines(t *testing.T) {
	const n = 1500
	c := kafkatest.Start(t)
	in, out, pw := pipeTopics(t, c, 1, nil)
	pw.write(t, n)
	pw.w.Close() // closed before the goroutines are counted
	stopSlow := advSlowProduce(c, out, 10*time.Millisecond)
	defer stopSlow()
	base := goroutineBase()
	var calls atomic.Int64
	fns := relayFns(&calls)
	yaml := advKafkaYAML(c, "relay", "relay", in, out, "max-attempts: 1", "", "")
	a := advRun(t, yaml, fns)
	waitFor(t, pipeTimeout, "some calls", func() bool { return calls.Load() >= 500 })
	if err := a.stop(t); err != nil {
		t.Errorf("Run: %v", err)
	}
	if now := goroutinesDownTo(base+2, 20*time.Second); now > base+2 {
		t.Errorf("%d goroutines 20s after Run returned; %d before the App\n%s", now, base, advStacks(advAllStacks()))
	}
}

// advStacks keeps the goroutine stacks that mention streambind.
func advStacks(all string) string {
	var keep []string
	for _, g := range strings.Split(all, "\n\n") {
		if strings.Contains(g, "streambind/") && !strings.Contains(g, "testing.tRunner") {
			keep = append(keep, g)
		}
	}
	return strings.Join(keep, "\n\n")
}

// advStuckProduce holds every produce request to topic unanswered until
// the returned release is called (also at the test's end, before the
// cluster closes). Nothing sleeps once released: a sleep on a connection
// whose queue of held requests has just drained can meet a data race
// inside kfake (see advSlowProduce).
func advStuckProduce(t *testing.T, c *kafkatest.Cluster, topic string) (release func()) {
	gate := make(chan struct{})
	var once sync.Once
	var off atomic.Bool
	open := func() { off.Store(true); once.Do(func() { close(gate) }) }
	t.Cleanup(open)
	c.Kfake.ControlKey(int16(kmsg.Produce), func(kr kmsg.Request) (kmsg.Response, error, bool) {
		if off.Load() {
			c.Kfake.DropControl()
			return nil, nil, false
		}
		c.Kfake.KeepControl()
		for _, rt := range kr.(*kmsg.ProduceRequest).Topics {
			if rt.Topic == topic {
				c.Kfake.SleepControl(func() { <-gate })
				break
			}
		}
		return nil, nil, false
	})
	return open
}

// TestAdvPipeKafkaShutdownStuckOutput: the output's broker stops answering
// produce requests while the windows are full; the App is shut down with
// shutdown-timeout 3s. Run returns within about that; nothing is committed
// past an unconfirmed output; the App's goroutines are gone once Run
// returned (the broker still stuck); after the broker answers again and a
// restart, every input has its output.
func TestAdvPipeKafkaShutdownStuckOutput(t *testing.T) {
	const n = 3000
	c := kafkatest.Start(t)
	in, out, pw := pipeTopics(t, c, 1, nil)
	pw.write(t, n)
	pw.w.Close() // closed before the goroutines are counted
	cl := pipeClient(c)
	base := goroutineBase()
	baseStacks := advAllStacks()
	var calls atomic.Int64
	fns := func() *stream.Catalog { return relayFns(&calls) }
	yaml := strings.Replace(advKafkaYAML(c, "relay", "relay", in, out, "max-attempts: 1", "", ""), "stream:\n", "stream:\n  shutdown-timeout: 3s\n", 1)
	a := advRun(t, yaml, fns())
	waitFor(t, pipeTimeout, "some calls", func() bool { return calls.Load() >= 100 })
	release := advStuckProduce(t, c, out)
	// The windows fill while the broker is stuck: outputs not stored reach
	// at least one partition's window (256), unless every input was
	// called first (a fast run). Counting calls since the broker got stuck
	// is not enough: the producer may have been a window behind already.
	// Its own transport, closed before the goroutines are counted.
	tr := &kafkago.Transport{}
	stored := func() int64 {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		res, err := (&kafkago.Client{Addr: kafkago.TCP(c.Addrs()...), Transport: tr}).ListOffsets(ctx,
			&kafkago.ListOffsetsRequest{Topics: map[string][]kafkago.OffsetRequest{out: {kafkago.LastOffsetOf(0)}}})
		if err != nil || len(res.Topics[out]) != 1 || res.Topics[out][0].Error != nil {
			t.Fatalf("list offsets of %s: %v %+v", out, err, res)
		}
		return res.Topics[out][0].LastOffset
	}
	waitFor(t, pipeTimeout, "a full window of outputs not stored", func() bool {
		called := calls.Load()
		return called == n || called-stored() >= 256
	})
	tr.CloseIdleConnections()
	start := time.Now()
	err := a.stop(t)
	took := time.Since(start)
	if now, left := advLeftAfterRun(base+2, baseStacks, 10*time.Second); left != "" {
		t.Errorf("LEAK: %d goroutines 10s after Run returned (the output broker still stuck); %d before the App; not kfake's:\n%s", now, base, left)
	}
	committed := committedParts(t, cl, "g", in)
	t.Logf("shutdown with the output stuck: %s (err %v); %d calls, committed %v (%d)", took, err, calls.Load(), committed, sum(committed))
	if took > 10*time.Second {
		t.Errorf("shutdown took %s with shutdown-timeout 3s", took)
	}
	release()
	o := advReadTopic(t, c, out)
	end := endOffset(t, c, out, 0)
	vals := o.waitLen(t, end, pipeTimeout)
	for _, v := range withoutOutput(pw, committed, vals) {
		t.Fatalf("input %s committed (%v) without its output", v, committed)
	}
	advRun(t, yaml, fns())
	vals, dups := relayedAll(t, c, in, out, o, pw, n)
	t.Logf("after restart: %d outputs, %d duplicates", len(vals), dups)
}

// TestAdvPipeKafkaRebalanceApps: two App instances in one group, output
// slow (10ms a produce request); the second joins while the first's
// windows are full, then the first shuts down mid-stream, then a third
// joins. At every check the inputs committed have their outputs; in the
// end every input has one, in order per key where no duplicate came.
func TestAdvPipeKafkaRebalanceApps(t *testing.T) {
	t.Parallel()
	const chunks, chunk = 40, 100
	c := kafkatest.Start(t)
	in, out, pw := pipeTopics(t, c, 1, nil)
	stopSlow := advSlowProduce(c, out, 10*time.Millisecond)
	defer stopSlow()
	var calls atomic.Int64
	fns := func() *stream.Catalog { return relayFns(&calls) }
	yaml := advKafkaYAML(c, "relay", "relay", in, out, "max-attempts: 1", "", "")
	cl := pipeClient(c)
	o := advReadTopic(t, c, out)
	check := func(when string) {
		committed := committedParts(t, cl, "g", in)
		end := endOffset(t, c, out, 0)
		for _, v := range withoutOutput(pw, committed, o.waitLen(t, end, pipeTimeout)) {
			t.Fatalf("%s: input %s committed (%v) without its output", when, v, committed)
		}
	}
	a1 := advRun(t, yaml, fns())
	var a2 *advApp
	for i := range chunks {
		pw.write(t, chunk)
		switch i {
		case 8:
			a2 = advRun(t, yaml, fns())
		case 20:
			if err := a1.stop(t); err != nil {
				t.Errorf("first App: %v", err)
			}
		case 28:
			advRun(t, yaml, fns())
		}
		if i%4 == 0 {
			check(fmt.Sprintf("chunk %d", i))
		}
	}
	_ = a2
	waitAllCommitted(t, cl, in, chunks*chunk)
	check("end")
	vals := o.waitLen(t, endOffset(t, c, out, 0), pipeTimeout)
	dups := checkOutputs(t, pw, vals, nil, false)
	t.Logf("%d inputs, %d outputs, %d duplicates, %d calls", chunks*chunk, len(vals), dups, calls.Load())
}

func advAllStacks() string {
	buf := make([]byte, 1<<20)
	return string(buf[:runtime.Stack(buf, true)])
}

// advLeftAfterRun polls until at most limit goroutines are left or none
// but kfake's is left of those not in before (stacks), or within has
// passed, and returns the goroutine count and the goroutines left then
// ("" when the count came down or only kfake's are left). The count alone
// stays above limit while the broker is stuck: kfake's goroutine of the
// stuck request (a wait on it took the whole of within at every run).
func advLeftAfterRun(limit int, before string, within time.Duration) (int, string) {
	for deadline := time.Now().Add(within); ; {
		now := runtime.NumGoroutine()
		if now <= limit {
			return now, ""
		}
		left := advNew(before, advAllStacks())
		if left == "" || time.Now().After(deadline) {
			return now, left
		}
		time.Sleep(50 * time.Millisecond) // polling the goroutines
	}
}

// advNew returns the goroutines of now (stacks) not in before (by id),
// leaving out kfake's own (the stuck control).
func advNew(before, now string) string {
	ids := map[string]bool{}
	for _, g := range strings.Split(before, "\n\n") {
		id, _, _ := strings.Cut(g, " [")
		ids[id] = true
	}
	var keep []string
	for _, g := range strings.Split(now, "\n\n") {
		id, _, _ := strings.Cut(g, " [")
		if ids[id] || strings.Contains(g, "kfake.") {
			continue
		}
		keep = append(keep, g)
	}
	return strings.Join(keep, "\n\n")
}

// TestAdvPipeKafkaKeyExtractorPanic — regression test (a bug found by review, fixed in e2058f8; what it was:).
// A partition key extractor registered in code (stream.WithKeyExtractor,
// producer.partition-key-extractor-name) panics for one output among
// many. Sequentially (max-in-flight 1) the panic is the attempt's error:
// retried, then dead-lettered, and everything else is relayed and
// committed. Pipelined, the panic happens inside sendAsync after the
// pipeCall was marked started (runtime.go send: c.started = true before
// rt.out.sendAsync → prepareSend → the extractor): processAsync's
// safeCall recovers it, sees c.started and returns without calling done,
// and nothing else ever will — the message never finishes, its
// partition's offset is never committed past it, and Stop/shutdown wait
// for it until their deadline.
func TestAdvPipeKafkaKeyExtractorPanic(t *testing.T) {
	t.Parallel()
	for _, mif := range []int{1, 256} {
		t.Run("max-in-flight "+strconv.Itoa(mif), func(t *testing.T) {
			const n = 300
			const bad = "k1:20" // partition 1
			c := kafkatest.Start(t)
			in, out, pw := pipeTopics(t, c, 2, nil)
			dlq := pipeDLQ(t, c, in)
			pw.write(t, n)
			fns := stream.NewCatalog()
			stream.AddFunction(fns, "relay", func(_ context.Context, v []byte) ([]byte, error) {
				return append([]byte("out:"), v...), nil
			})
			extract := func(payload any, _ stream.Headers) (any, error) {
				b, _ := payload.([]byte)
				if string(b) == "out:"+bad {
					panic("key extractor panics for " + string(b))
				}
				k, _, _ := strings.Cut(strings.TrimPrefix(string(b), "out:"), ":")
				return k, nil
			}
			cons := fmt.Sprintf("max-attempts: 2\nback-off-initial-interval: 5ms\ndlq: true\nmax-in-flight: %d", mif)
			outLines := "producer:\n  partition-key-extractor-name: byKey\n  partition-count: 2"
			yaml := strings.Replace(advKafkaYAML(c, "relay", "relay", in, out, cons, outLines, ""), "stream:\n", "stream:\n  shutdown-timeout: 2s\n", 1)
			a := advRun(t, yaml, fns, stream.WithKeyExtractor("byKey", extract))
			cl := pipeClient(c)
			committed := pollCommitted(t, cl, in, n, 20*time.Second)
			st := a.app.Binding("relay-in-0").Stats()
			t.Logf("committed %v (%d of %d); dead letters %d; stats %+v", committed, sum(committed), n, endOffset(t, c, dlq, 0), st)
			if sum(committed) != n {
				t.Errorf("only %d of %d inputs committed, none more in 20s: partition 1 stuck at %d (the input %s at offset %d, whose key extractor panicked, never finished)",
					sum(committed), n, committed[1], bad, pw.at[bad][1])
			}
			if got := endOffset(t, c, dlq, 0); got != 1 {
				t.Errorf("%d dead letters; want 1 (the input whose output's key extractor panics)", got)
			}
			start := time.Now()
			err := a.stop(t)
			t.Logf("shutdown: %s, %v", time.Since(start), err)
		})
	}
}

// TestAdvPipeKafkaNakBurst: the output binding is stopped for 1.5s
// mid-stream (sends refused) with max-attempts 2 and a 300ms back-off:
// a window of inputs per partition fails its sends and is Nak'ed at about
// the same time. When the output is back the stream finishes soon: each
// Nak'ed message waits only what is left of its redelivery-delay (the
// contrast to RabbitMQ's TestAdvPipeRabbitNakBurstStall).
func TestAdvPipeKafkaNakBurst(t *testing.T) {
	for _, mif := range []int{1, 256} {
		t.Run("max-in-flight "+strconv.Itoa(mif), func(t *testing.T) {
			const n = 3000
			c := kafkatest.Start(t)
			in, out, pw := pipeTopics(t, c, 1, nil)
			pw.write(t, n)
			stopSlow := advSlowProduce(c, out, 2*time.Millisecond)
			defer stopSlow()
			var calls atomic.Int64
			fns := relayFns(&calls)
			cons := fmt.Sprintf("max-attempts: 2\nback-off-initial-interval: 300ms\nmax-in-flight: %d", mif)
			started := time.Now()
			a := advRun(t, advKafkaYAML(c, "relay", "relay", in, out, cons, "", ""), fns)
			waitFor(t, pipeTimeout, "some calls", func() bool { return calls.Load() >= 200 })
			// The rate before the outage (joining the group included) scales
			// the bound below to the machine's load.
			rate := float64(calls.Load()) / time.Since(started).Seconds()
			outB := a.app.Binding("relay-out-0")
			if err := outB.Stop(context.Background()); err != nil {
				t.Fatal(err)
			}
			time.Sleep(1500 * time.Millisecond) // the output outage
			if err := outB.Start(context.Background()); err != nil {
				t.Fatal(err)
			}
			stopSlow()
			back, left := time.Now(), n-calls.Load()
			cl := pipeClient(c)
			waitAllCommitted(t, cl, in, n)
			took := time.Since(back)
			st := a.app.Binding("relay-in-0").Stats()
			// The stall this guards against: each Nak'ed message waiting
			// its whole redelivery-delay one after another, 256 × 300ms ≈
			// 77s for one pipelined window. The bound is what is left at
			// the rate before the outage, twice, plus 5s: 6-7s on a quiet
			// machine, more on a loaded one, where max-in-flight 1 (one
			// message a partition at a time under -race) took 22s at
			// load 22 — not a fixed figure a loaded CI run overshoots.
			bound := 5*time.Second + time.Duration(2*float64(left)/rate*float64(time.Second))
			t.Logf("all committed %s after the output came back (bound %s: %d left at %.0f calls/s); calls %d; stats %+v", took, bound, left, rate, calls.Load(), st)
			if took > bound {
				t.Errorf("the stream took %s to finish after the output came back; bound %s", took, bound)
			}
		})
	}
}

// TestAdvPipeKafkaErrorHandlerSendsToOutput — regression test (a bug found by review,
// introduced by fd86378 and fixed after it; what it was:). The binding's ErrorHandler
// (stream.WithErrorHandler) reports each failed message on the output
// binding through the App's bridge — a common pattern ("publish an error
// event"), and what max-in-flight 1 handles fine. One output is over the
// topic's max.message.bytes: a permanent send failure. Pipelined,
// pipeCall.sent now runs retryAfter — and with it the user's
// ErrorHandler — synchronously inside the producer's SendAsync callback,
// i.e. on the Kafka produce loop's goroutine (the AsyncProducer contract:
// done must not block). The handler's bridge Send queues to that same
// loop and waits for it: the loop waits for the handler, the handler for
// the loop — the output binding is deadlocked; nothing more is written,
// the partition never commits, shutdown runs into its timeout.
func TestAdvPipeKafkaErrorHandlerSendsToOutput(t *testing.T) {
	t.Parallel()
	for _, mif := range []int{1, 256} {
		t.Run("max-in-flight "+strconv.Itoa(mif), func(t *testing.T) {
			const n = 600
			const big = "k2:30" // partition 2
			c := kafkatest.Start(t)
			in, out, pw := pipeTopics(t, c, 1, map[string]string{"max.message.bytes": "20000"})
			dlq := pipeDLQ(t, c, in)
			pw.write(t, n)
			fns := stream.NewCatalog()
			stream.AddFunction(fns, "relay", func(_ context.Context, v []byte) ([]byte, error) {
				if string(v) == big {
					return []byte("out:" + big + "|" + strings.Repeat("y", 40000)), nil
				}
				return append([]byte("out:"), v...), nil
			})
			var app atomic.Pointer[stream.App]
			var reported atomic.Int64
			onFail := func(ctx context.Context, m stream.FailedMessage) {
				sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
				defer cancel()
				if err := app.Load().Bridge().Send(sctx, "relay-out-0", []byte("failed:"+string(m.Envelope.Payload))); err != nil {
					t.Logf("error event not sent: %v", err)
				}
				reported.Add(1)
			}
			cons := fmt.Sprintf("max-attempts: 1\ndlq: true\nmax-in-flight: %d", mif)
			yaml := strings.Replace(advKafkaYAML(c, "relay", "relay", in, out, cons, "", ""), "stream:\n", "stream:\n  shutdown-timeout: 3s\n", 1)
			yaml = strings.Replace(yaml, "      consumer:\n", "      consumer:\n        auto-startup: false\n", 1)
			// The App's log is shown when the test fails: what the binder
			// saw (a rebalance, a refused commit) tells why inputs stalled.
			var logBuf syncbuf.Buffer
			logger := slog.New(slog.NewTextHandler(&logBuf, &slog.HandlerOptions{Level: slog.LevelInfo}))
			a := advRun(t, yaml, fns, stream.WithErrorHandler("relay-in-0", onFail), stream.WithLogger(logger))
			app.Store(a.app)
			if err := a.app.Binding("relay-in-0").Start(context.Background()); err != nil {
				t.Fatal(err)
			}
			cl := pipeClient(c)
			committed := pollCommitted(t, cl, in, n, 20*time.Second)
			t.Logf("committed %v (%d of %d); error events %d; output records %d; dead letters %d",
				committed, sum(committed), n, reported.Load(), endOffset(t, c, out, 0), endOffset(t, c, dlq, 0))
			if sum(committed) != n {
				t.Errorf("only %d of %d inputs committed, none more in 20s: the output binding is stuck (its produce loop waits in the ErrorHandler, which waits for the loop)", sum(committed), n)
				t.Logf("the App's log:\n%s", logBuf.String())
			}
			start := time.Now()
			err := a.stop(t)
			t.Logf("shutdown: %s, %v", time.Since(start), err)
		})
	}
}
