package kafka_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/streambind/streambind/binder/bindertest"
	"github.com/streambind/streambind/binder/kafka"
	"github.com/streambind/streambind/binder/kafka/kafkatest"
	"github.com/streambind/streambind/config"
	"github.com/streambind/streambind/stream"
)

// pipelineBatch is the raw stack's batch: messages fetched, transformed,
// sent in one synchronous WriteMessages, then committed. A multiple of
// groupPartitions: the Writer spreads it evenly (round robin), so every
// partition's share fills a Writer batch and goes out at once.
const pipelineBatch = 999

// pipelineTransform is the []byte → []byte function of both stacks: a
// copy with its first byte changed (so the output is not the input).
func pipelineTransform(in []byte) []byte {
	out := append([]byte(nil), in...)
	if len(out) > 0 {
		out[0] = 'T'
	}
	return out
}

// topicEnd is the sum of the end offsets of topic's partitions (the
// number of records in it, the topic starting at 0).
func topicEnd(ctx context.Context, cl *kafkago.Client, topic string, parts int) (int64, error) {
	req := make([]kafkago.OffsetRequest, parts)
	for p := range req {
		req[p] = kafkago.LastOffsetOf(p)
	}
	res, err := cl.ListOffsets(ctx, &kafkago.ListOffsetsRequest{Topics: map[string][]kafkago.OffsetRequest{topic: req}})
	if err != nil {
		return 0, err
	}
	var sum int64
	for _, p := range res.Topics[topic] {
		if p.Error != nil {
			return 0, p.Error
		}
		sum += p.LastOffset
	}
	return sum, nil
}

// BenchmarkPipelineKafka is shape (c) of issue 10: a 3-partition input
// topic pre-filled with 100-byte records → a []byte → []byte function →
// a 3-partition output topic, timed from the first message fetched (or
// handed to the function) until every input offset is committed (the
// committed offsets, read with OffsetFetch, equal the end offsets; both
// stacks commit only after the outputs were acknowledged, acks=all, so
// that is also "every output confirmed"); the output topic's record count
// is checked after each round. The stacks run in groupRoundsPerRun
// alternating rounds of about b.N/groupRoundsPerRun records, each round on
// topics and a group of its own:
//
//   - raw: consume-transform-produce done well with kafka-go: one group
//     Reader fetching, a Writer (acks=all) sending each batch of
//     pipelineBatch (999) transformed messages in one synchronous
//     WriteMessages, then CommitMessages of the batch's last message of
//     each partition;
//   - app: a stream.App from YAML with a registered []byte → []byte
//     function (consumer concurrency 1, defaults otherwise), its input
//     binding started once the App is ready (start-up not counted).
//
// Each stack reports msgs/s, allocs/msg and cpu-µs/msg (both of the whole
// process, in-process broker included); app/raw is the App's share of
// raw's msgs/s, app-cpu/raw its CPU per message over raw's. No p50/p99:
// on a pre-filled topic a message's latency is mostly its wait in the
// backlog, so it would measure the fill, not the pipeline.
//
//	go test -run '^$' -bench BenchmarkPipelineKafka -benchtime 20000x -count 3 ./binder/kafka
func BenchmarkPipelineKafka(b *testing.B) {
	c := kafkatest.Start(b)
	bd := newBinder(b, c, nil)
	defer bd.Close(context.Background())
	cl := &kafkago.Client{Addr: kafkago.TCP(c.Addrs()...), Timeout: 10 * time.Second}
	newTopic := func(b *testing.B, suffix string) string {
		topic := uniqueTopic(b) + suffix
		bindProducer(b, bd, topic, groupPartitions) // provisions the partitions
		return topic
	}
	checkOut := func(name, topic string, n int) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		got, err := topicEnd(ctx, cl, topic, groupPartitions)
		if err != nil {
			b.Fatalf("%s: output offsets: %v", name, err)
		}
		if got < int64(n) {
			b.Fatalf("%s: %d records in the output topic; want %d", name, got, n)
		}
	}
	ctHeader := []kafkago.Header{{Key: stream.HeaderContentType, Value: []byte("application/octet-stream")}}

	raw := func(m *groupMeter, n int) {
		in, out := newTopic(b, "-in"), newTopic(b, "-out")
		fillGroupTopic(b, c, in, n, payload100, "application/octet-stream")
		r := kafkago.NewReader(kafkago.ReaderConfig{Brokers: c.Addrs(), GroupID: "raw", Topic: in,
			MinBytes: 1, MaxBytes: kafka.DefaultMaxBytes, MaxWait: kafka.DefaultMaxWait, QueueCapacity: kafka.DefaultQueueCapacity,
			HeartbeatInterval: time.Second, StartOffset: kafkago.FirstOffset})
		defer r.Close()
		// kafka-go sends a partition's batch when it is full or
		// BatchTimeout after its first message: BatchSize is a partition's
		// share of a batch, so a whole batch never waits for the timer
		// (only a round's last, partial one does).
		w := &kafkago.Writer{Addr: kafkago.TCP(c.Addrs()...), Topic: out, RequiredAcks: kafkago.RequireAll,
			BatchTimeout: time.Millisecond, BatchSize: pipelineBatch / groupPartitions, Balancer: &kafkago.RoundRobin{}, Transport: &kafkago.Transport{}}
		defer w.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		m.begin()
		var first time.Time
		var last [groupPartitions]kafkago.Message
		var seen [groupPartitions]bool
		batch := make([]kafkago.Message, 0, pipelineBatch)
		for i := range n {
			msg, err := r.FetchMessage(ctx)
			if err != nil {
				b.Fatal(err)
			}
			if i == 0 {
				first = time.Now()
			}
			batch = append(batch, kafkago.Message{Value: pipelineTransform(msg.Value), Headers: ctHeader})
			last[msg.Partition], seen[msg.Partition] = msg, true
			if len(batch) < pipelineBatch && i < n-1 {
				continue
			}
			if err := w.WriteMessages(ctx, batch...); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
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
		waitCommitted(b, cl, "raw", in, n)
		m.end(n, first)
		checkOut("raw", out, n)
	}

	app := func(m *groupMeter, n int) {
		in, out := newTopic(b, "-in"), newTopic(b, "-out")
		fillGroupTopic(b, c, in, n, payload100, "application/octet-stream")
		var calls atomic.Int64
		var first atomic.Int64
		called := make(chan struct{}) // closed at the n-th call
		fns := stream.NewCatalog()
		stream.AddFunction(fns, "transform", func(_ context.Context, p []byte) ([]byte, error) {
			k := calls.Add(1)
			if k == 1 {
				first.Store(time.Now().UnixNano())
			}
			if k == int64(n) {
				close(called)
			}
			return pipelineTransform(p), nil
		})
		yaml := fmt.Sprintf(`stream:
  function:
    definition: transform
  default-binder: k
  binders:
    k:
      type: kafka
      environment:
        brokers: %q
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
`, c.Brokers(), in, out)
		l, err := config.Load(config.Options{Data: []byte(yaml), Env: []string{}})
		if err != nil {
			b.Fatal(err)
		}
		a, err := stream.NewApp(l.Stream, fns, stream.WithBinderType(kafka.Type, kafka.New), stream.WithoutSignals(), stream.WithLogger(testLogger(b)))
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		ran := make(chan error, 1)
		go func() { ran <- a.Run(ctx) }()
		select {
		case <-a.Ready():
		case err := <-ran:
			b.Fatalf("Run ended: %v", err)
		case <-time.After(time.Minute):
			b.Fatal("the App was not ready in a minute")
		}
		m.begin()
		if err := a.Binding("transform-in-0").Start(ctx); err != nil {
			b.Fatal(err)
		}
		// Committed to the end implies every output was acknowledged: the
		// function binding commits an input only after its output's send
		// returned. The commits are polled only once every input reached
		// the function, as raw's loop knows it is done without polling:
		// each poll is two round trips to the broker in this process, and
		// a poll every millisecond during the whole round cost the App's
		// side CPU that raw's did not pay.
		select {
		case <-called:
		case <-time.After(2 * time.Minute):
			b.Fatalf("app: %d of %d inputs reached the function in 2 minutes", calls.Load(), n)
		}
		waitCommitted(b, cl, "app", in, n)
		m.end(n, time.Unix(0, first.Load()))
		checkOut("app", out, n)
		cancel()
		if err := <-ran; err != nil {
			b.Errorf("Run: %v", err)
		}
	}

	ms := []*groupMeter{{name: "raw"}, {name: "app"}}
	stacks := []func(*groupMeter, int){raw, app}
	bindertest.Paired(b, groupRoundsPerRun, len(stacks), func(i, n int) { stacks[i](ms[i], n) })
	for _, m := range ms {
		if m.msgs > 0 {
			m.report(b)
		}
	}
	if ms[0].msgs > 0 && ms[1].msgs > 0 {
		b.ReportMetric(ms[1].rate()/ms[0].rate(), "app/raw")
		b.ReportMetric(ms[1].cpuPerMsg()/ms[0].cpuPerMsg(), "app-cpu/raw")
	}
}
