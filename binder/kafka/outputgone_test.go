package kafka_test

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/streambind/streambind/binder/kafka"
	"github.com/streambind/streambind/binder/kafka/kafkatest"
	"github.com/streambind/streambind/stream"
)

// runApp runs an app of cfg and fns on the Kafka binder, logging to log,
// until the test ends; it returns once the app is ready.
func runApp(t *testing.T, cfg *stream.Config, fns *stream.Catalog, log *slog.Logger) *stream.App {
	t.Helper()
	app, err := stream.NewApp(cfg, fns, stream.WithBinderType(kafka.Type, kafka.New), stream.WithoutSignals(), stream.WithLogger(log))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- app.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("app: %v", err)
		}
	})
	select {
	case <-app.Ready():
	case err := <-done:
		t.Fatalf("app ended before it was ready: %v", err)
	case <-time.After(20 * time.Second):
		t.Fatal("app not ready within 20s")
	}
	return app
}

// TestOutputDestinationDown (issue 8; reported by a reviewer): the output
// topic of a function is deleted while auto-create-topics is off, or the
// broker refuses the binder's records for it (TOPIC_AUTHORIZATION_FAILED).
// Neither is the input's fault, so, as the conventions say of a failed
// output send, every input is left for redelivery — none is dropped or
// dead-lettered — and the output binding reports itself down (readiness);
// once the topic takes records again, every input is relayed and the
// binding is up.
//
// The retry is not a hot loop, although the sends fail at once
// (send-attempts 1: no retries inside kafka-go to slow it down), and there
// are no more WARN lines than handler calls. With the core's default
// retries (3 attempts, back-off 1s then 2s) the handler runs a few times a
// second at most; without them (max-attempts 1) the consumer's
// redelivery-delay (100ms) bounds it: at most one call per delay.
func TestOutputDestinationDown(t *testing.T) {
	t.Parallel()
	const window = 2 * time.Second
	retries := []struct {
		name        string
		maxAttempts int
		maxCalls    int64 // in window
	}{
		{"core retries", 0, 3 * int64(window/time.Second)},
		{"no retries", 1, int64(window/kafka.DefaultRedeliveryDelay) + 1},
	}
	for _, tc := range []struct {
		name string
		// fail makes topic unusable and returns what makes it usable again.
		fail func(t *testing.T, c *kafkatest.Cluster, topic string) (recovers func())
	}{
		{"topic deleted",
			func(t *testing.T, c *kafkatest.Cluster, topic string) func() {
				if err := c.Kfake.DeleteTopic(topic); err != nil {
					t.Fatal(err)
				}
				return func() { createTopic(t, c, topic, 1, nil) }
			}},
		{"not authorised",
			func(t *testing.T, c *kafkatest.Cluster, topic string) func() {
				ref := refuseProduceTo(c, topic, kerr.TopicAuthorizationFailed, -1)
				t.Cleanup(ref.stop)
				return ref.stop
			}},
	} {
		for _, rc := range retries {
			for _, pipelined := range []bool{false, true} {
				name := tc.name + "/" + rc.name + "/sequential"
				if pipelined {
					name = tc.name + "/" + rc.name + "/pipelined"
				}
				t.Run(name, func(t *testing.T) {
					// Each case has a cluster of its own; the window
					// bounds the calls from above only, which a busy
					// CPU cannot break.
					t.Parallel()
					outputDown(t, tc.fail, rc.maxAttempts, pipelined, window, rc.maxCalls)
				})
			}
		}
	}
}

// outputDown runs TestOutputDestinationDown's case: fail makes the output
// topic unusable, recovers usable again. Sequential (max-in-flight 1) or
// pipelined (the default): pipelined, the inputs in flight when the
// output went down each fail and are Nak'ed (the slack allows each one
// call more); then, as sequentially, only the oldest is handled again
// until it gets through.
func outputDown(t *testing.T, fail func(t *testing.T, c *kafkatest.Cluster, topic string) (recovers func()), maxAttempts int, pipelined bool, window time.Duration, maxCalls int64) {
	const inputs = 5
	maxInFlight, slack := 1, int64(0)
	if pipelined {
		maxInFlight, slack = 0, inputs
	}
	c := kafkatest.Start(t)
	in, out := uniqueTopic(t), uniqueTopic(t)+"-out"
	createTopic(t, c, in, 1, nil)
	createTopic(t, c, out, 1, nil)
	var calls atomic.Int64
	fns := stream.NewCatalog()
	stream.AddFunction(fns, "relay", func(_ context.Context, s string) (string, error) {
		calls.Add(1)
		return s, nil
	})
	logs := &logRecorder{}
	cfg := &stream.Config{
		Function:      stream.FunctionConfig{Definition: "relay"},
		DefaultBinder: "k",
		Binders: map[string]stream.BinderConfig{"k": {Type: kafka.Type, Environment: map[string]any{
			"brokers": c.Brokers(), "auto-create-topics": false, "health-interval": "200ms"}}},
		Bindings: map[string]stream.BindingConfig{
			"relay-in-0":  {Destination: in, Group: "g", Consumer: stream.ConsumerConfig{MaxAttempts: maxAttempts, MaxInFlight: maxInFlight}},
			"relay-out-0": {Destination: out},
		},
		Extensions: map[string]stream.ExtensionConfig{kafka.Type: {Bindings: map[string]stream.ExtensionBindingConfig{
			"relay-out-0": {Producer: map[string]any{"send-attempts": 1}},
		}}},
	}
	app := runApp(t, cfg, fns, logs.logger())
	inB, outB := app.Binding("relay-in-0"), app.Binding("relay-out-0")
	recovers := fail(t, c, out)

	b := newBinder(t, c, nil)
	closeBinder(t, b)
	p := bindProducer(t, b, in, 1)
	tr := newTracker()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for i := range inputs {
		order := fmt.Sprintf(`"order-%d"`, i)
		if err := p.Send(ctx, stream.Envelope{Payload: []byte(order)}); err != nil {
			t.Fatal(err)
		}
		tr.confirm(order)
	}
	waitFor(t, 10*time.Second, "the first handler call", func() bool { return calls.Load() > 0 })
	waitFor(t, 5*time.Second, "the output binding down", func() bool { return outB.Health(ctx) != nil })
	t.Logf("output binding down: %v", outB.Health(ctx))

	// The retry loop, measured.
	start, n0 := time.Now(), calls.Load()
	<-time.After(window)
	n := calls.Load() - n0
	warns := logs.count(slog.LevelWarn, "", start)
	t.Logf("while the output is down: %d handler calls and %d WARN lines in %s", n, warns, window)
	if n > maxCalls+slack {
		t.Errorf("%d handler calls in %s; want at most %d", n, window, maxCalls+slack)
	}
	// At most one per call, give or take the call that failed just before
	// the window and the binder's one line about the binding going down.
	if int64(warns) > n+2+slack {
		t.Errorf("%d WARN lines for %d handler calls; want at most one per call", warns, n)
		for _, l := range logs.since(slog.LevelWarn, start) {
			t.Log(l)
		}
	}
	if st := inB.Stats(); st.Dropped > 0 || st.DeadLettered > 0 || st.Failed > 0 {
		t.Fatalf("input stats %+v: inputs failed (dropped, dead-lettered) because the output is down; want them left for redelivery", st)
	}

	recovers()
	startConsumer(t, b, consumerSpec(out, "check", func(_ context.Context, m stream.Envelope) error {
		tr.receive(string(m.Payload))
		return nil
	}))
	tr.waitAll(t, 20*time.Second)
	waitFor(t, 5*time.Second, "the output binding up", func() bool { return outB.Health(ctx) == nil })
	if st := inB.Stats(); st.Dropped > 0 || st.DeadLettered > 0 || st.Failed > 0 {
		t.Errorf("input stats %+v", st)
	}
	if n := logs.count(slog.LevelWarn, "kafka: the topic is missing or refuses", time.Time{}); n != 1 {
		t.Errorf("%d WARN lines for the output going down; want 1", n)
	}
	// The producer logs the binding back up when it handles the answer to
	// the first write that got through, which the check consumer may have
	// read before, and after Health cleared: wait for the line.
	waitFor(t, 5*time.Second, "the INFO line for the output coming back", func() bool {
		return logs.count(slog.LevelInfo, "kafka: the topic takes records again", time.Time{}) > 0
	})
	if n := logs.count(slog.LevelInfo, "kafka: the topic takes records again", time.Time{}); n != 1 {
		t.Errorf("%d INFO lines for the output coming back; want 1", n)
	}
	logs.checkHygiene(t)
}
