package kafka_test

// Set-up and checks shared by the pipelining tests (pipeline_test.go,
// pipeline_adv_test.go, pipeline_recheck_test.go).

import (
	"context"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/streambind/streambind/binder/kafka/kafkatest"
	"github.com/streambind/streambind/stream"
)

// pipeTopics creates on c a pipeParts-partition input topic and an output
// topic ("<input>-out") of outParts partitions with the topic configs
// outConfigs, and a pipeWriter to the input. The writer is closed when
// the test ends; a test that counts goroutines closes it itself first.
func pipeTopics(t *testing.T, c *kafkatest.Cluster, outParts int32, outConfigs map[string]string) (in, out string, pw *pipeWriter) {
	t.Helper()
	in, out = uniqueTopic(t), uniqueTopic(t)+"-out"
	createTopic(t, c, in, pipeParts, nil)
	createTopic(t, c, out, outParts, outConfigs)
	pw = newPipeWriter(c, in)
	t.Cleanup(func() { _ = pw.w.Close() })
	return in, out, pw
}

// pipeDLQ creates the dead-letter topic of in's group g and returns its
// name.
func pipeDLQ(t *testing.T, c *kafkatest.Cluster, in string) string {
	t.Helper()
	dlq := stream.DLQName(in, "g")
	createTopic(t, c, dlq, 1, nil)
	return dlq
}

// pipeClient is a client of c for the group's committed offsets.
func pipeClient(c *kafkatest.Cluster) *kafkago.Client {
	return &kafkago.Client{Addr: kafkago.TCP(c.Addrs()...), Timeout: 10 * time.Second}
}

// newOutputs is an empty output collector.
func newOutputs() *outputs {
	return &outputs{changed: make(chan struct{}, 1)}
}

// readOutputs reads topic from the start as group on a binder of its own
// (closed when the test ends).
func readOutputs(t *testing.T, c *kafkatest.Cluster, topic, group string) *outputs {
	t.Helper()
	b := newBinder(t, c, nil)
	closeBinder(t, b)
	o := newOutputs()
	startConsumer(t, b, consumerSpec(topic, group, o.handler))
	return o
}

// advReadTopic reads topic from the start with a group of its own.
func advReadTopic(t *testing.T, c *kafkatest.Cluster, topic string) *outputs {
	t.Helper()
	return readOutputs(t, c, topic, "check-"+strconv.FormatInt(time.Now().UnixNano(), 36))
}

// withoutOutput returns the inputs of pw below the committed offsets that
// have no output ("out:"+input) among vals.
func withoutOutput(pw *pipeWriter, committed [pipeParts]int64, vals []string) []string {
	have := make(map[string]bool, len(vals))
	for _, v := range vals {
		have[strings.TrimPrefix(v, "out:")] = true
	}
	var lost []string
	for _, v := range pw.below(committed) {
		if !have[v] {
			lost = append(lost, v)
		}
	}
	return lost
}

// relayedAll waits until the group committed all n inputs of pw (topic
// in) and checks that each has an output among the records out holds
// then, read by o; it returns those outputs and the duplicates among them
// (allowed: after a shutdown or a restart some inputs are relayed again).
func relayedAll(t *testing.T, c *kafkatest.Cluster, in, out string, o *outputs, pw *pipeWriter, n int64) (vals []string, dups int) {
	t.Helper()
	waitAllCommitted(t, pipeClient(c), in, n)
	vals = o.waitLen(t, endOffset(t, c, out, 0), pipeTimeout)
	return vals, checkOutputs(t, pw, vals, nil, false)
}

// relayFns is the function "relay" (value → "out:"+value), counting its
// calls in calls.
func relayFns(calls *atomic.Int64) *stream.Catalog {
	fns := stream.NewCatalog()
	stream.AddFunction(fns, "relay", func(_ context.Context, v []byte) ([]byte, error) {
		calls.Add(1)
		return append([]byte("out:"), v...), nil
	})
	return fns
}

// pollCommitted polls the group's committed offsets of in until all n
// inputs are committed or their sum has not moved for stall (at most 10 ×
// stall in all), and returns the last ones (the caller judges them).
func pollCommitted(t testing.TB, cl *kafkago.Client, in string, n int64, stall time.Duration) [pipeParts]int64 {
	t.Helper()
	// Progress, not a deadline, decides: a stuck binding commits nothing
	// more, while a loaded CI machine runs max-in-flight 1 (one message a
	// partition at a time, under -race) at a few dozen messages a second.
	// The cap only bounds a binding that keeps creeping.
	limit := time.Now().Add(10 * stall)
	var committed [pipeParts]int64
	last, moved := int64(-1), time.Now()
	for now := time.Now(); now.Before(limit) && now.Sub(moved) < stall; now = time.Now() {
		committed = committedParts(t, cl, "g", in)
		s := sum(committed)
		if s == n {
			break
		}
		if s != last {
			last, moved = s, now
		}
		time.Sleep(20 * time.Millisecond) // polling the committed offsets
	}
	return committed
}

// goroutineBase is the goroutine count once the writer's goroutines have
// ended.
func goroutineBase() int {
	runtime.GC()
	time.Sleep(200 * time.Millisecond) // let the writer's goroutines end before the baseline
	return runtime.NumGoroutine()
}

// goroutinesDownTo polls the goroutine count until it is at most limit or
// within has passed, and returns the last count.
func goroutinesDownTo(limit int, within time.Duration) int {
	now := runtime.NumGoroutine()
	for deadline := time.Now().Add(within); now > limit && time.Now().Before(deadline); now = runtime.NumGoroutine() {
		time.Sleep(50 * time.Millisecond) // polling the goroutine count
	}
	return now
}
