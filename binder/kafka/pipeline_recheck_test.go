package kafka_test

// Regression tests from the re-check of the pipelining fixes: Pause during
// an output outage, sequential vs pipelined, on Kafka (compare
// binder/rabbit's TestRecheckRabbitPauseDuringOutage).

import (
	"context"
	"fmt"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/streambind/streambind/binder/kafka/kafkatest"
	"github.com/streambind/streambind/stream"
)

// Not parallel with the package's other tests (Pause's time is bounded);
// its two cases, each with a cluster of its own, run beside each other:
// Pause took 0.5 s and 1.6 s of the 10 s allowed in a full run.
func TestRecheckKafkaPauseDuringOutage(t *testing.T) {
	for _, mif := range []int{1, 256} {
		t.Run("max-in-flight "+strconv.Itoa(mif), func(t *testing.T) {
			t.Parallel()
			const n = 3000
			c := kafkatest.Start(t)
			in, out, pw := pipeTopics(t, c, 1, nil)
			pw.write(t, n)
			stopSlow := advSlowProduce(c, out, 2*time.Millisecond)
			defer stopSlow()
			var calls atomic.Int64
			// Paced after 200 calls (see paceAfter): on an idle machine the
			// relay finished all inputs before the outage began.
			pace := paceAfter(200, 200*time.Microsecond)
			fns := stream.NewCatalog()
			stream.AddFunction(fns, "relay", func(_ context.Context, v []byte) ([]byte, error) {
				calls.Add(1)
				_ = pace(string(v))
				return append([]byte("out:"), v...), nil
			})
			cons := fmt.Sprintf("max-attempts: 3\nback-off-initial-interval: 1s\nmax-in-flight: %d", mif)
			yaml := advKafkaYAML(c, "relay", "relay", in, out, cons, "", "") + "  kafka:\n    bindings:\n      relay-out-0:\n        producer:\n          send-attempts: 1\n"
			a := advRun(t, yaml, fns)
			waitFor(t, pipeTimeout, "some calls", func() bool { return calls.Load() >= 200 })
			stopSlow()
			ref := refuseProduceTo(c, out, kerr.TopicAuthorizationFailed, -1)
			t.Cleanup(ref.stop)
			waitFor(t, 20*time.Second, "refused produces", func() bool { return ref.hits.Load() >= 2 })
			time.Sleep(1500 * time.Millisecond) // into the retries: the outage goes on
			inB := a.app.Binding("relay-in-0")
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			c0 := calls.Load()
			start := time.Now()
			perr := inB.Pause(ctx)
			took := time.Since(start)
			cancel()
			t.Logf("Pause with the output down: %s, err %v; function calls during Pause %d", took, perr, calls.Load()-c0)
			if perr != nil || took > 10*time.Second {
				t.Errorf("Pause took %s (err %v) with a ~3s retry cycle", took, perr)
			}
			ref.stop()
			if err := inB.Resume(context.Background()); err != nil {
				t.Fatal(err)
			}
			cl := pipeClient(c)
			waitAllCommitted(t, cl, in, n)
			t.Logf("all %d committed after resume; output end offset %d", n, endOffset(t, c, out, 0))
		})
	}
}
