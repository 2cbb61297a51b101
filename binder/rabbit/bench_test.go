package rabbit

import (
	"context"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/streambind/streambind/binder/rabbit/rabbittest"
	"github.com/streambind/streambind/stream"
)

const benchWindow = 256

var benchPayload = []byte(`{"orderId":"o-123456","customerId":"c-42","quantity":3,"amount":29.97}`)

// benchTopology declares exchange dest and queue dest.g on a raw channel.
func benchTopology(b *testing.B, ch *amqp.Channel, dest string) {
	b.Helper()
	if err := ch.ExchangeDeclare(dest, "topic", true, false, false, false, nil); err != nil {
		b.Fatal(err)
	}
	if _, err := ch.QueueDeclare(dest+".g", true, false, false, false, nil); err != nil {
		b.Fatal(err)
	}
	if err := ch.QueueBind(dest+".g", "#", dest, false, nil); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		_, _ = ch.QueueDelete(dest+".g", false, false, false)
		_ = ch.ExchangeDelete(dest, false, false)
	})
}

// rawConn is an amqp091-go connection to the broker's default vhost and
// a channel of it, closed when tb ends.
func rawConn(tb testing.TB) (*amqp.Connection, *amqp.Channel) {
	rabbittest.Require(tb)
	conn, err := amqp.Dial(rabbittest.URL())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { conn.Close() })
	ch, err := conn.Channel()
	if err != nil {
		tb.Fatal(err)
	}
	return conn, ch
}

// rawPublish publishes n persistent messages with deferred confirms and a
// window of benchWindow unconfirmed. The messages are the ones the binder
// puts on the wire (CONVENTIONS: content_type property and contentType
// header, a message_id), so that the comparison measures the binder, not
// the convention.
func rawPublish(b *testing.B, ch *amqp.Channel, dest string, n int) {
	var window []*amqp.DeferredConfirmation
	for i := range n {
		dc, err := ch.PublishWithDeferredConfirm(dest, dest, true, false, amqp.Publishing{Body: benchPayload, DeliveryMode: amqp.Persistent,
			ContentType: "application/json", Headers: amqp.Table{stream.HeaderContentType: "application/json"},
			MessageId: "raw-" + strconv.Itoa(i)})
		if err != nil {
			b.Fatal(err)
		}
		window = append(window, dc)
		if len(window) == benchWindow {
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

func BenchmarkRabbitPublish(b *testing.B) {
	b.Run("raw", func(b *testing.B) {
		_, ch := rawConn(b)
		dest := "bench.pub.raw." + randomID()
		benchTopology(b, ch, dest)
		if err := ch.Confirm(false); err != nil {
			b.Fatal(err)
		}
		b.ResetTimer()
		start := time.Now()
		rawPublish(b, ch, dest, b.N)
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
	})
	b.Run("binder", func(b *testing.B) {
		_, ch := rawConn(b)
		dest := "bench.pub.binder." + randomID()
		benchTopology(b, ch, dest)
		_, tr := newTestBinder(b, map[string]any{"publisher-channels": 1, "confirm-window": benchWindow})
		p, err := tr.BindProducer(context.Background(), stream.ProducerSpec{Binding: "b-out-0", Destination: dest, ContentType: "application/json"})
		if err != nil {
			b.Fatal(err)
		}
		var next atomic.Int64
		var wg sync.WaitGroup
		b.ResetTimer()
		start := time.Now()
		for range benchWindow { // as many senders as the window holds
			wg.Go(func() {
				for next.Add(1) <= int64(b.N) {
					if err := p.Send(context.Background(), stream.Envelope{Payload: benchPayload}); err != nil {
						b.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
	})
}

func BenchmarkRabbitConsume(b *testing.B) {
	b.Run("raw", func(b *testing.B) {
		conn, ch := rawConn(b)
		dest := "bench.con.raw." + randomID()
		benchTopology(b, ch, dest)
		_ = ch.Confirm(false)
		rawPublish(b, ch, dest, b.N)
		cch, _ := conn.Channel()
		if err := cch.Qos(DefaultPrefetch, 0, false); err != nil {
			b.Fatal(err)
		}
		b.ResetTimer()
		start := time.Now()
		ds, err := cch.Consume(dest+".g", "", false, false, false, false, nil)
		if err != nil {
			b.Fatal(err)
		}
		for i := 0; i < b.N; i++ {
			d := <-ds
			if err := d.Ack(false); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
	})
	b.Run("binder", func(b *testing.B) { benchBinderConsume(b, "bench.con.binder.", nil) })
}

// benchBinderConsume publishes b.N messages, then times a binder consumer
// with the given RabbitMQ-specific consumer properties taking them all.
func benchBinderConsume(b *testing.B, prefix string, ext map[string]any) {
	_, ch := rawConn(b)
	dest := prefix + randomID()
	benchTopology(b, ch, dest)
	_ = ch.Confirm(false)
	rawPublish(b, ch, dest, b.N)
	_, tr := newTestBinder(b, nil)
	var n atomic.Int64
	done := make(chan struct{})
	c, err := tr.BindConsumer(context.Background(), stream.ConsumerSpec{Binding: "b-in-0", Destination: dest, Group: "g",
		ContentType: "application/json", Extension: ext,
		Handler: func(context.Context, stream.Envelope) error {
			if n.Add(1) == int64(b.N) {
				close(done)
			}
			return nil
		}})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	start := time.Now()
	if err := c.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	<-done
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
	b.StopTimer()
	_ = c.Stop(context.Background())
}

// BenchmarkRabbitLatency sends at a fixed 2,000 msgs/s through the binder
// and reports the end-to-end (Send start → handler) p50 and p99.
func BenchmarkRabbitLatency(b *testing.B) {
	_, tr := newTestBinder(b, nil)
	dest := "bench.lat." + randomID()
	var mu sync.Mutex
	var lats []time.Duration
	c, err := tr.BindConsumer(context.Background(), stream.ConsumerSpec{Binding: "l-in-0", Destination: dest, Group: "g", ContentType: "application/json",
		Handler: func(_ context.Context, m stream.Envelope) error {
			ns, _ := strconv.ParseInt(m.Headers["x-sent"], 10, 64)
			mu.Lock()
			lats = append(lats, time.Duration(time.Now().UnixNano()-ns))
			mu.Unlock()
			return nil
		}})
	if err != nil {
		b.Fatal(err)
	}
	_ = c.Start(context.Background())
	defer c.Stop(context.Background())
	p, err := tr.BindProducer(context.Background(), stream.ProducerSpec{Binding: "l-out-0", Destination: dest, ContentType: "application/json"})
	if err != nil {
		b.Fatal(err)
	}
	tick := time.NewTicker(500 * time.Microsecond)
	defer tick.Stop()
	var wg sync.WaitGroup
	b.ResetTimer()
	for range b.N {
		<-tick.C
		wg.Go(func() {
			_ = p.Send(context.Background(), stream.Envelope{Payload: benchPayload, Headers: stream.Headers{"x-sent": strconv.FormatInt(time.Now().UnixNano(), 10)}})
		})
	}
	wg.Wait()
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		got := len(lats)
		mu.Unlock()
		if got >= b.N || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Millisecond)
	}
	b.StopTimer()
	mu.Lock()
	defer mu.Unlock()
	slices.Sort(lats)
	if len(lats) > 0 {
		b.ReportMetric(float64(lats[len(lats)/2].Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(lats[len(lats)*99/100].Microseconds())/1000, "p99-ms")
	}
}

// BenchmarkRabbitConsumePrefetch is the measurement behind DefaultPrefetch:
// the binder's consume rate for several prefetch counts (SCSt's default is
// 1).
func BenchmarkRabbitConsumePrefetch(b *testing.B) {
	for _, prefetch := range []int{1, 16, 64, 128, 256} {
		b.Run(strconv.Itoa(prefetch), func(b *testing.B) {
			benchBinderConsume(b, "bench.prefetch.", map[string]any{"prefetch": prefetch})
		})
	}
}
