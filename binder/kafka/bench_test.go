package kafka_test

import (
	"context"
	"encoding/binary"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/streambind/streambind/binder/kafka/kafkatest"
	"github.com/streambind/streambind/stream"
)

// benchParallelism is the number of concurrent senders (× GOMAXPROCS in
// RunParallel) of the produce benchmarks.
const benchParallelism = 32

var benchPayload = []byte(`{"orderId":"o-000000","customerId":"c-0000","quantity":3,"price":12.5}`)

// BenchmarkKafkaProduce compares a tuned kafka-go Writer (acks=all,
// 1ms batch timeout, sync writes from many goroutines) with the binder's
// producer (default settings) on one kfake cluster.
func BenchmarkKafkaProduce(b *testing.B) {
	c := kafkatest.Start(b)
	b.Run("raw", func(b *testing.B) {
		topic := uniqueTopic(b)
		bd := newBinder(b, c, nil)
		bindProducer(b, bd, topic, 1) // provision the topic
		w := &kafkago.Writer{
			Addr: kafkago.TCP(c.Addrs()...), Topic: topic, RequiredAcks: kafkago.RequireAll,
			BatchTimeout: time.Millisecond, BatchSize: 1000, Balancer: &kafkago.RoundRobin{}, Transport: &kafkago.Transport{},
		}
		defer w.Close()
		b.SetParallelism(benchParallelism)
		start := time.Now()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := w.WriteMessages(context.Background(), kafkago.Message{Value: benchPayload}); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
		_ = bd.Close(context.Background())
	})
	b.Run("binder", func(b *testing.B) {
		topic := uniqueTopic(b)
		bd := newBinder(b, c, nil)
		p := bindProducer(b, bd, topic, 1)
		b.SetParallelism(benchParallelism)
		start := time.Now()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := p.Send(context.Background(), stream.Envelope{Payload: benchPayload}); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
		_ = bd.Close(context.Background())
	})
}

// fill writes n messages to topic quickly (async, big batches).
func fill(b *testing.B, c *kafkatest.Cluster, topic string, n int) {
	b.Helper()
	w := &kafkago.Writer{Addr: kafkago.TCP(c.Addrs()...), Topic: topic, RequiredAcks: kafkago.RequireAll,
		BatchTimeout: time.Millisecond, BatchSize: 5000, Balancer: &kafkago.RoundRobin{}, Transport: &kafkago.Transport{}}
	defer w.Close()
	msgs := make([]kafkago.Message, 0, 5000)
	for i := 0; i < n; i++ {
		msgs = append(msgs, kafkago.Message{Value: benchPayload, Headers: []kafkago.Header{{Key: "contentType", Value: []byte("application/json")}}})
		if len(msgs) == cap(msgs) || i == n-1 {
			if err := w.WriteMessages(context.Background(), msgs...); err != nil {
				b.Fatal(err)
			}
			msgs = msgs[:0]
		}
	}
}

const consumePartitions = 4

// BenchmarkKafkaConsume compares a kafka-go Reader in a group (commit
// after processing, commits flushed every 100ms) with the binder's consumer
// (concurrency 4) reading b.N messages from a 4-partition topic.
func BenchmarkKafkaConsume(b *testing.B) {
	c := kafkatest.Start(b)
	b.Run("raw", func(b *testing.B) {
		topic := uniqueTopic(b)
		bd := newBinder(b, c, nil)
		bindProducer(b, bd, topic, consumePartitions)
		fill(b, c, topic, b.N)
		r := kafkago.NewReader(kafkago.ReaderConfig{Brokers: c.Addrs(), GroupID: "raw", Topic: topic, MinBytes: 1, MaxBytes: 10 << 20,
			MaxWait: 100 * time.Millisecond, CommitInterval: 100 * time.Millisecond, HeartbeatInterval: time.Second, StartOffset: kafkago.FirstOffset})
		defer r.Close()
		b.ResetTimer()
		start := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		for i := 0; i < b.N; i++ {
			m, err := r.FetchMessage(ctx)
			if err != nil {
				b.Fatal(err)
			}
			if err := r.CommitMessages(ctx, m); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
		_ = bd.Close(context.Background())
	})
	// binder-read-committed reads through kafka-go's protocol layer
	// (fetchtxn.go) instead of its Conn.
	for _, bc := range []struct {
		name string
		ext  map[string]any
	}{
		{"binder", nil},
		{"binder-read-committed", map[string]any{"configuration": map[string]any{"isolation.level": "read_committed"}}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			topic := uniqueTopic(b)
			bd := newBinder(b, c, nil)
			bindProducer(b, bd, topic, consumePartitions)
			fill(b, c, topic, b.N)
			var n atomic.Int64
			all := make(chan struct{})
			spec := consumerSpec(topic, "binder", func(context.Context, stream.Envelope) error {
				if n.Add(1) == int64(b.N) {
					close(all)
				}
				return nil
			})
			spec.Consumer.Concurrency = consumePartitions
			spec.Extension = bc.ext
			b.ResetTimer()
			start := time.Now()
			startConsumer(b, bd, spec)
			select {
			case <-all:
			case <-time.After(2 * time.Minute):
				b.Fatalf("consumed %d of %d", n.Load(), b.N)
			}
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
			_ = bd.Close(context.Background())
		})
	}
}

// BenchmarkKafkaLatency measures end-to-end latency (Send called →
// handler called) at a fixed 5,000 msgs/s for one second per iteration,
// with default settings, and reports p50 and p99. Run with -benchtime=1x.
func BenchmarkKafkaLatency(b *testing.B) {
	const rate, perIter = 5000, 5000
	c := kafkatest.Start(b)
	bd := newBinder(b, c, nil)
	defer bd.Close(context.Background())
	topic := uniqueTopic(b)
	var mu sync.Mutex
	var lat []time.Duration
	got := make(chan struct{}, perIter)
	startConsumer(b, bd, consumerSpec(topic, "lat", func(_ context.Context, m stream.Envelope) error {
		sent := int64(binary.BigEndian.Uint64(m.Payload))
		d := time.Duration(time.Now().UnixNano() - sent)
		mu.Lock()
		lat = append(lat, d)
		mu.Unlock()
		got <- struct{}{}
		return nil
	}))
	p := bindProducer(b, bd, topic, 1)
	// Warm up: the group is joined and the first fetch is in flight.
	warm := make([]byte, 8)
	binary.BigEndian.PutUint64(warm, uint64(time.Now().UnixNano()))
	if err := p.Send(context.Background(), stream.Envelope{Payload: warm}); err != nil {
		b.Fatal(err)
	}
	<-got
	mu.Lock()
	lat = lat[:0]
	mu.Unlock()
	b.ResetTimer()
	for b.Loop() {
		sem := make(chan struct{}, 256)
		var wg sync.WaitGroup
		start := time.Now()
		interval := time.Second / rate
		for i := range perIter {
			if d := time.Until(start.Add(time.Duration(i) * interval)); d > 0 {
				time.Sleep(d) // pacing to the fixed rate
			}
			sem <- struct{}{}
			wg.Go(func() {
				defer func() { <-sem }()
				buf := make([]byte, 8, 64)
				binary.BigEndian.PutUint64(buf, uint64(time.Now().UnixNano()))
				if err := p.Send(context.Background(), stream.Envelope{Payload: buf}); err != nil {
					b.Error(err)
				}
			})
		}
		wg.Wait()
		timeout := time.After(time.Minute)
		for range perIter {
			select {
			case <-got:
			case <-timeout:
				b.Fatal("messages missing")
			}
		}
	}
	b.StopTimer()
	mu.Lock()
	defer mu.Unlock()
	slices.Sort(lat)
	q := func(f float64) float64 { return float64(lat[int(f*float64(len(lat)-1))].Microseconds()) / 1000 }
	b.ReportMetric(q(0.50), "p50-ms")
	b.ReportMetric(q(0.99), "p99-ms")
	b.ReportMetric(q(1), "max-ms")
	b.Logf("%d messages at %d msgs/s: p50 %.2fms p99 %.2fms max %.2fms", len(lat), rate, q(0.5), q(0.99), q(1))
}
