package idempotency_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/streambind/streambind/stream"
)

// BenchmarkConsumer measures the time per message of a consumer on the
// in-process binder, from the send through the bridge to the handler's
// return, b.N messages of distinct ids sent one after the other and
// handled by one consumer (concurrency 1): "plain" without idempotency,
// then each store. The handler does nothing, so the difference to plain
// is the idempotent consumer's overhead per message (postgres: a
// transaction with the mark's insert; redis: the lease script and the
// mark's SET; memory: two map operations under a mutex).
//
// Run: go test -run '^$' -bench BenchmarkConsumer -benchtime 2000x ./idempotency/
func BenchmarkConsumer(b *testing.B) {
	for _, store := range []string{"", "memory", "redis", "postgres"} {
		name := store
		if name == "" {
			name = "plain"
		}
		b.Run(name, func(b *testing.B) {
			st := newStores(b, store)
			if store == "" {
				st = newStores(b, "memory")
			}
			var handled atomic.Int64
			all := make(chan struct{})
			n := int64(b.N)
			ta := startApp(b, newBroker(b, "memory"), st, appSpec{store: store, handler: func(context.Context, stream.Message[order]) error {
				if handled.Add(1) == n {
					close(all)
				}
				return nil
			}})
			ids := make([]string, b.N)
			for i := range ids {
				ids[i] = fmt.Sprintf("bench-%d", i)
			}
			b.ResetTimer()
			for i := range b.N {
				ta.send(b, ids[i], i)
			}
			select {
			case <-all:
			case <-time.After(5 * time.Minute):
				b.Fatalf("%d of %d handled", handled.Load(), b.N)
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
			ta.stop()
		})
	}
}
