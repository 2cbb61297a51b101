package kafka_test

import (
	"context"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/streambind/streambind/binder/bindertest"
	"github.com/streambind/streambind/binder/kafka"
	"github.com/streambind/streambind/binder/kafka/kafkatest"
	"github.com/streambind/streambind/stream"
)

// groupPartitions is the partition count of shape (b) of issue 10.
const groupPartitions = 3

// jsonPayload100 is a 100-byte JSON object for the app-json stack.
var jsonPayload100 = []byte(`{"orderId":"o-000000000000","customerId":"c-0000000000","quantity":3,"price":12.5,"note":"abcdefgh"}`)

type benchOrder struct {
	OrderID    string  `json:"orderId"`
	CustomerID string  `json:"customerId"`
	Quantity   int     `json:"quantity"`
	Price      float64 `json:"price"`
	Note       string  `json:"note"`
}

// fillGroupTopic writes n records of payload with a contentType header,
// round robin over the topic's partitions, in big asynchronous batches.
func fillGroupTopic(b *testing.B, c *kafkatest.Cluster, topic string, n int, payload []byte, contentType string) {
	b.Helper()
	w := &kafkago.Writer{Addr: kafkago.TCP(c.Addrs()...), Topic: topic, RequiredAcks: kafkago.RequireAll,
		BatchTimeout: time.Millisecond, BatchSize: 5000, Balancer: &kafkago.RoundRobin{}, Transport: &kafkago.Transport{}}
	defer w.Close()
	hs := []kafkago.Header{{Key: stream.HeaderContentType, Value: []byte(contentType)}}
	msgs := make([]kafkago.Message, 0, 5000)
	for i := range n {
		msgs = append(msgs, kafkago.Message{Value: payload, Headers: hs})
		if len(msgs) == cap(msgs) || i == n-1 {
			if err := w.WriteMessages(context.Background(), msgs...); err != nil {
				b.Fatal(err)
			}
			msgs = msgs[:0]
		}
	}
}

// groupCommitted is the sum of the group's committed offsets of topic's
// partitions (the number of records committed, the topic starting at 0).
func groupCommitted(ctx context.Context, cl *kafkago.Client, group, topic string) (int64, error) {
	parts := make([]int, groupPartitions)
	for i := range parts {
		parts[i] = i
	}
	res, err := cl.OffsetFetch(ctx, &kafkago.OffsetFetchRequest{GroupID: group, Topics: map[string][]int{topic: parts}})
	if err != nil {
		return 0, err
	}
	if res.Error != nil {
		return 0, res.Error
	}
	var sum int64
	for _, p := range res.Topics[topic] {
		if p.Error != nil {
			return 0, p.Error
		}
		if p.CommittedOffset > 0 {
			sum += p.CommittedOffset
		}
	}
	return sum, nil
}

// handlerCounter is the handler side of the binder and app stacks: it
// notes when the first message was handled and when the last one was.
type handlerCounter struct {
	want  int64
	first atomic.Int64 // unix nanos
	all   chan struct{}
	count atomic.Int64
}

func newHandlerCounter(n int) *handlerCounter {
	return &handlerCounter{want: int64(n), all: make(chan struct{})}
}

func (h *handlerCounter) handled() {
	i := h.count.Add(1)
	if i == 1 {
		h.first.Store(time.Now().UnixNano())
	}
	if i == h.want {
		close(h.all)
	}
}

// groupMeter accounts one stack of shape (b): messages and the time from
// the first message handled to every offset committed, allocations and
// process CPU (client and in-process broker) over the same span plus the
// fill-free start-up.
type groupMeter struct {
	name     string
	msgs     int
	wall     time.Duration
	cpu      time.Duration
	mallocs  uint64
	cpu0     time.Duration
	mallocs0 uint64
}

func (m *groupMeter) begin() {
	runtime.GC()
	m.mallocs0 = mallocCount()
	m.cpu0 = bindertest.CPUTime()
}

func (m *groupMeter) end(n int, first time.Time) {
	m.wall += time.Since(first)
	m.cpu += bindertest.CPUTime() - m.cpu0
	m.mallocs += mallocCount() - m.mallocs0
	m.msgs += n
}

func (m *groupMeter) rate() float64 { return float64(m.msgs) / m.wall.Seconds() }
func (m *groupMeter) cpuPerMsg() float64 {
	return float64(m.cpu.Nanoseconds()) / 1000 / float64(m.msgs)
}

func (m *groupMeter) report(b *testing.B) {
	b.ReportMetric(m.rate(), m.name+"-msgs/s")
	b.ReportMetric(float64(m.mallocs)/float64(m.msgs), m.name+"-allocs/msg")
	b.ReportMetric(m.cpuPerMsg(), m.name+"-cpu-µs/msg")
}

func mallocCount() uint64 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.Mallocs
}

// waitCommitted waits until group has committed all n records of topic.
func waitCommitted(b *testing.B, cl *kafkago.Client, group, topic string, n int) {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for {
		got, err := groupCommitted(ctx, cl, group, topic)
		if err == nil && got == int64(n) {
			return
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			b.Fatalf("%d of %d records committed in a minute (last error: %v)", got, n, err)
		}
	}
}

// BenchmarkKafkaConsumeGroup is shape (b) of issue 10: one consumer group
// on a 3-partition topic pre-filled with 100-byte records (each with a
// contentType header), the handler returning at once, timed from the first
// message handled until every offset is committed (the group join is not
// timed). The stacks run in groupRoundsPerRun alternating rounds of about
// b.N/groupRoundsPerRun records, each round of a stack on a topic and
// group of its own, so that each line holds figures of the same minutes of
// a noisy machine:
//
//   - raw: one kafka-go group Reader, FetchMessage, and CommitMessages
//     (synchronous) of the last message of each partition every 1,000
//     messages and at the end;
//   - binder: the bare binder consumer (concurrency 1, defaults);
//   - app-bytes: a stream.App with a typed []byte consumer;
//   - app-json: a stream.App with a consumer of a JSON-decoded struct.
//
// Each stack reports msgs/s, allocs/msg and cpu-µs/msg (both of the whole
// process, so they include the in-process broker and what the fill left
// to collect); binder/raw, app-bytes/raw and app-json/raw are shares of
// raw's msgs/s, and app-bytes-cpu/binder and app-json-cpu/binder the App's
// CPU per message over the bare binder's. A handler latency is not
// reported: on a pre-filled topic it would measure the fill.
// KAFKA_BENCH_STACKS (comma-separated stack names) runs only those stacks,
// for profiling one; KAFKA_BENCH_CONCURRENCY sets the bare binder's
// consumer.concurrency (1 by default, below the partition count).
//
//	go test -run '^$' -bench BenchmarkKafkaConsumeGroup -benchtime 300000x -count 3 ./binder/kafka
func BenchmarkKafkaConsumeGroup(b *testing.B) {
	c := kafkatest.Start(b)
	bd := newBinder(b, c, nil)
	defer bd.Close(context.Background())
	cl := &kafkago.Client{Addr: kafkago.TCP(c.Addrs()...), Timeout: 10 * time.Second}
	newTopic := func(b *testing.B) string {
		topic := uniqueTopic(b)
		bindProducer(b, bd, topic, groupPartitions) // provisions the partitions
		return topic
	}
	raw := func(m *groupMeter, n int) {
		topic := newTopic(b)
		fillGroupTopic(b, c, topic, n, payload100, "application/octet-stream")
		r := kafkago.NewReader(kafkago.ReaderConfig{Brokers: c.Addrs(), GroupID: "raw", Topic: topic,
			MinBytes: 1, MaxBytes: kafka.DefaultMaxBytes, MaxWait: kafka.DefaultMaxWait, QueueCapacity: kafka.DefaultQueueCapacity,
			HeartbeatInterval: time.Second, StartOffset: kafkago.FirstOffset})
		defer r.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		m.begin()
		var first time.Time
		var last [groupPartitions]kafkago.Message
		var seen [groupPartitions]bool
		commit := func() {
			var ms []kafkago.Message
			for p := range last {
				if seen[p] {
					ms = append(ms, last[p])
					seen[p] = false
				}
			}
			if err := r.CommitMessages(ctx, ms...); err != nil {
				b.Fatal(err)
			}
		}
		for i := range n {
			msg, err := r.FetchMessage(ctx)
			if err != nil {
				b.Fatal(err)
			}
			if i == 0 {
				first = time.Now()
			}
			last[msg.Partition], seen[msg.Partition] = msg, true
			if (i+1)%1000 == 0 || i == n-1 {
				commit()
			}
		}
		m.end(n, first)
	}
	// consume runs one stack whose handler calls h.handled: start begins
	// consumption, stop ends it after every offset was committed.
	consume := func(m *groupMeter, n int, group, topic string, h *handlerCounter, start func(), stop func()) {
		m.begin()
		start()
		select {
		case <-h.all:
		case <-time.After(2 * time.Minute):
			b.Fatalf("%s: handled %d of %d in 2 minutes", m.name, h.count.Load(), n)
		}
		waitCommitted(b, cl, group, topic, n)
		m.end(n, time.Unix(0, h.first.Load()))
		stop()
	}
	binder := func(m *groupMeter, n int) {
		topic := newTopic(b)
		fillGroupTopic(b, c, topic, n, payload100, "application/octet-stream")
		h := newHandlerCounter(n)
		spec := consumerSpec(topic, "binder", func(context.Context, stream.Envelope) error { h.handled(); return nil })
		spec.ContentType = "application/octet-stream"
		if c := os.Getenv("KAFKA_BENCH_CONCURRENCY"); c != "" {
			spec.Consumer.Concurrency, _ = strconv.Atoi(c)
		}
		ctx := context.Background()
		cons, err := bd.BindConsumer(ctx, spec)
		if err != nil {
			b.Fatal(err)
		}
		consume(m, n, "binder", topic, h, func() {
			if err := cons.Start(ctx); err != nil {
				b.Fatal(err)
			}
		}, func() {
			if err := cons.Stop(ctx); err != nil {
				b.Error(err)
			}
		})
	}
	app := func(m *groupMeter, n int, payload []byte, contentType string, add func(fns *stream.Catalog, h *handlerCounter)) {
		topic := newTopic(b)
		fillGroupTopic(b, c, topic, n, payload, contentType)
		h := newHandlerCounter(n)
		fns := stream.NewCatalog()
		add(fns, h)
		cfg := &stream.Config{
			Function:      stream.FunctionConfig{Definition: "sink"},
			DefaultBinder: "k",
			Binders: map[string]stream.BinderConfig{"k": {Type: kafka.Type, Environment: map[string]any{
				"brokers": c.Brokers()}}},
			Bindings: map[string]stream.BindingConfig{
				"sink-in-0": {Destination: topic, Group: "app", ContentType: contentType},
			},
		}
		a, err := stream.NewApp(cfg, fns, stream.WithBinderType(kafka.Type, kafka.New), stream.WithoutSignals(), stream.WithLogger(testLogger(b)))
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		ran := make(chan error, 1)
		consume(m, n, "app", topic, h, func() {
			go func() { ran <- a.Run(ctx) }()
		}, func() {
			cancel()
			if err := <-ran; err != nil {
				b.Errorf("Run: %v", err)
			}
		})
	}
	appBytes := func(m *groupMeter, n int) {
		app(m, n, payload100, "application/octet-stream", func(fns *stream.Catalog, h *handlerCounter) {
			stream.AddConsumer(fns, "sink", func(_ context.Context, _ []byte) error { h.handled(); return nil })
		})
	}
	appJSON := func(m *groupMeter, n int) {
		app(m, n, jsonPayload100, "application/json", func(fns *stream.Catalog, h *handlerCounter) {
			stream.AddConsumer(fns, "sink", func(_ context.Context, _ benchOrder) error { h.handled(); return nil })
		})
	}
	if len(jsonPayload100) != 100 {
		b.Fatalf("the JSON payload is %d bytes", len(jsonPayload100))
	}
	ms := []*groupMeter{{name: "raw"}, {name: "binder"}, {name: "app-bytes"}, {name: "app-json"}}
	stacks := []func(*groupMeter, int){raw, binder, appBytes, appJSON}
	only := os.Getenv("KAFKA_BENCH_STACKS") // for profiling one stack: e.g. binder,app-bytes
	bindertest.Paired(b, groupRoundsPerRun, len(stacks), func(i, n int) {
		if only == "" || slices.Contains(strings.Split(only, ","), ms[i].name) {
			stacks[i](ms[i], n)
		}
	})
	for _, m := range ms {
		if m.msgs > 0 {
			m.report(b)
		}
	}
	for _, m := range ms[1:] {
		if m.msgs > 0 && ms[0].msgs > 0 {
			b.ReportMetric(m.rate()/ms[0].rate(), m.name+"/raw")
		}
	}
	for _, m := range ms[2:] {
		if m.msgs > 0 && ms[1].msgs > 0 {
			b.ReportMetric(m.cpuPerMsg()/ms[1].cpuPerMsg(), m.name+"-cpu/binder")
		}
	}
}

// groupRoundsPerRun is the number of rounds of BenchmarkKafkaConsumeGroup:
// each stack handles about b.N/groupRoundsPerRun messages a round, in
// alternating order, so that the load of the shared machine, which
// changes by the second, weighs on every stack alike.
const groupRoundsPerRun = 4
