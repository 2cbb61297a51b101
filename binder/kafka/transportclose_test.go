package kafka_test

import (
	"context"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/kafka"
	"github.com/streambind/streambind/binder/kafka/kafkatest"
	"github.com/streambind/streambind/stream"
)

// TestCloseEndsTransportFetchInFlight (not parallel: it looks at every
// goroutine): a read_committed consumer's fetch goes over the binder's
// shared kafka-go Transport, whose connection goroutine ((*conn).run)
// waits for the broker's answer without watching the request's context.
// A fetch long-polling when the binder closed kept that goroutine and
// its connection until the broker answered (max-wait, here 60s) or the
// read timed out (max-wait + request timeout: 10.5s by default with a
// broker that does not answer), after Close had returned: a leak goleak
// reports. Close now ends the transport's connections and waits for
// kafka-go to close them.
func TestCloseEndsTransportFetchInFlight(t *testing.T) {
	c := kafkatest.Start(t)
	topic := uniqueTopic(t)
	createTopic(t, c, topic, 1, nil)
	before := goroutineIDs()
	b, err := kafka.New(context.Background(), stream.BinderSettings{Name: "kafka", Type: kafka.Type, Logger: testLogger(t),
		Environment: map[string]any{"brokers": c.Brokers(), "auto-create-topics": false}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tr := newTracker()
	spec := consumerSpec(topic, "g", tr.handler())
	spec.Extension = map[string]any{"configuration": map[string]any{"isolation.level": "read_committed"}, "max-wait": "60s"}
	cons, err := b.BindConsumer(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	if err := cons.Start(ctx); err != nil {
		t.Fatal(err)
	}
	p, err := b.BindProducer(ctx, stream.ProducerSpec{Binding: "test-out-0", Destination: topic, ContentType: stream.DefaultContentType})
	if err != nil {
		t.Fatal(err)
	}
	produce(ctx, t, p, tr, "m", 3, 1, 0)
	tr.waitAll(t, 20*time.Second)
	// The next fetch is waiting on the broker (nothing more to read).
	waitGoroutines(t, "a transport fetch waiting for its answer", before, func(gs []string) bool {
		for _, g := range gs {
			if strings.Contains(g, "kafka-go.(*conn).run") && strings.Contains(g, "protocol.ReadResponse") {
				return true
			}
		}
		return false
	})
	if err := b.Close(ctx); err != nil {
		t.Fatalf("close: %v", err)
	}
	// kafka-go's goroutine returns right after closing the connection:
	// wait for that, bounded far below the fetch's 60s.
	waitGoroutines(t, "no goroutine of the binder or kafka-go after Close", before, func(gs []string) bool { return len(gs) == 0 })
}

// waitGoroutines waits (up to 10s) until cond holds for the goroutines
// started since before whose stacks hold kafka-go or the binder.
func waitGoroutines(t *testing.T, what string, before map[string]bool, cond func([]string) bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var gs []string
		for id, g := range goroutineStacks() {
			if !before[id] && (strings.Contains(g, "segmentio/kafka-go") || strings.Contains(g, "streambind/binder/kafka.")) {
				gs = append(gs, g)
			}
		}
		if cond(gs) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not within 10s: %s; goroutines:\n%s", what, strings.Join(gs, "\n\n"))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// goroutineStacks is every goroutine's stack by its id.
func goroutineStacks() map[string]string {
	buf := make([]byte, 8<<20)
	out := map[string]string{}
	for _, g := range strings.Split(string(buf[:runtime.Stack(buf, true)]), "\n\n") {
		id, _, _ := strings.Cut(strings.TrimPrefix(g, "goroutine "), " ")
		out[id] = g
	}
	return out
}

func goroutineIDs() map[string]bool {
	ids := map[string]bool{}
	for id := range goroutineStacks() {
		ids[id] = true
	}
	return ids
}
