package kafka_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/kafka"
	"github.com/streambind/streambind/binder/kafka/kafkatest"
	"github.com/streambind/streambind/stream"
)

// checkErrText fails the test when err's text says "kafka: " more than
// once or carries kafka-go's call-site prefixes ("kafka.(*Client).
// Metadata: "): each wrapping adds its context once.
func checkErrText(t *testing.T, what string, err error) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: no error", what)
		return
	}
	s := err.Error()
	if strings.Count(s, "kafka: ") != 1 || strings.Contains(s, "kafka.(*") {
		t.Errorf("%s: %q: want the context \"kafka: \" once and no kafka-go call sites", what, s)
	} else {
		t.Logf("%s: %v", what, err)
	}
}

// TestLogAndErrorHygiene (reported by a newcomer): the binder's log lines
// carry each attribute once — the loggers the core hands it already carry
// binder, binding, destination and group — and its errors give each
// context once: no "kafka: … kafka: …", no kafka-go call sites
// ("kafka.(*Client).Metadata: ").
func TestLogAndErrorHygiene(t *testing.T) {
	t.Parallel()
	t.Run("errors", func(t *testing.T) {
		b, err := kafka.New(context.Background(), stream.BinderSettings{Name: "kafka", Type: kafka.Type,
			Environment: map[string]any{"brokers": closedPort(t), "dial-timeout": "2s"}, Logger: testLogger(t)})
		if err != nil {
			t.Fatal(err)
		}
		closeBinder(t, b)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		_, err = b.BindProducer(ctx, stream.ProducerSpec{Binding: "x-out-0", Destination: "x"})
		checkErrText(t, "bind without a cluster", err)

		c := kafkatest.Start(t)
		// health-timeout bounds each metadata request of the bind too: 500ms
		// failed the bind under a loaded CI machine (metadata: context
		// deadline exceeded); 2s still sees the cluster down well within 5s.
		b = newBinder(t, c, map[string]any{"health-interval": "100ms", "health-timeout": "2s"})
		dest := uniqueTopic(t)
		p := bindProducer(t, b, dest, 1)
		if err := p.Send(ctx, stream.Envelope{Payload: []byte("x")}); err != nil {
			t.Fatal(err)
		}
		// A consumer whose handler outlives Close's deadline.
		release := make(chan struct{})
		defer close(release)
		handling := make(chan struct{}, 1)
		startConsumer(t, b, consumerSpec(dest, "g", func(context.Context, stream.Envelope) error {
			select {
			case handling <- struct{}{}:
			default:
			}
			<-release
			return nil
		}))
		select {
		case <-handling:
		case <-ctx.Done():
			t.Fatal("no handler call")
		}
		c.Close()
		hc := b.(stream.HealthChecker)
		waitFor(t, 5*time.Second, "down after the cluster stopped", func() bool { return hc.Health(ctx) != nil })
		checkErrText(t, "health with the cluster gone", hc.Health(ctx))
		cctx, ccancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer ccancel()
		err = b.Close(cctx)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("close with a handler still running: %v; want a deadline error", err)
		}
		checkErrText(t, "close with a handler still running", err)
	})

	t.Run("log lines", func(t *testing.T) {
		c := kafkatest.Start(t)
		logs := &logRecorder{}
		b, err := kafka.New(context.Background(), stream.BinderSettings{Name: "k", Type: kafka.Type, Logger: logs.logger().With("binder", "k"),
			Environment: map[string]any{"brokers": c.Brokers(), "auto-create-topics": false}})
		if err != nil {
			t.Fatal(err)
		}
		closeBinder(t, b)
		dest := uniqueTopic(t)
		createTopic(t, c, dest, 1, nil)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		// As the core binds them: loggers with the binding's attributes.
		p, err := b.BindProducer(ctx, stream.ProducerSpec{Binding: "x-out-0", Destination: dest, Producer: stream.ProducerConfig{PartitionCount: 1},
			Logger: logs.logger().With("binding", "x-out-0", "destination", dest, "binder", "k")})
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close(context.Background())
		tr := newTracker()
		spec := consumerSpec(dest, "g", tr.handler())
		spec.Logger = logs.logger().With("binding", spec.Binding, "destination", dest, "binder", "k", "group", "g")
		startConsumer(t, b, spec)
		// Bound without the core: the binder adds the attributes itself.
		bareTr := newTracker()
		bare := consumerSpec(dest, "h", bareTr.handler())
		bare.Binding = "bare-in-0"
		startConsumer(t, b, bare)
		produce(ctx, t, p, tr, "m", 10, 1, 0)
		tr.waitAll(t, 10*time.Second)
		bareTr.waitReceived(t, 10, 10*time.Second)
		// A send that fails: the topic is gone.
		if err := c.Kfake.DeleteTopic(dest); err != nil {
			t.Fatal(err)
		}
		err = p.Send(ctx, stream.Envelope{Payload: []byte("x")})
		checkErrText(t, "send to a deleted topic", err)
		if n := logs.count(slog.LevelDebug, "kafka: generation started", time.Time{}); n < 2 {
			t.Errorf("%d consumer generations logged, want 2", n)
		}
		logs.checkHygiene(t)
	})
}
