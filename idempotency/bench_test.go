package idempotency_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/streambind/streambind/idempotency"
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
// The pair "plain-tx-write" / "postgres-tx-write" compares handlers that
// write one row: the plain one in a transaction of its own, the idempotent
// one through idempotency.Tx — the overhead of the postgres store over a
// handler that commits its own writes anyway (the mark's insert).
//
// Run: go test -run '^$' -bench BenchmarkConsumer -benchtime 2000x ./idempotency/
func BenchmarkConsumer(b *testing.B) {
	type run struct {
		name, store string
		write       bool // the handler writes a row
	}
	for _, r := range []run{{"plain", "", false}, {"memory", "memory", false}, {"redis", "redis", false}, {"postgres", "postgres", false},
		{"plain-tx-write", "", true}, {"postgres-tx-write", "postgres", true}} {
		store := r.store
		b.Run(r.name, func(b *testing.B) {
			st := newStores(b, store)
			if store == "" {
				st = newStores(b, "postgres")
			}
			var handled atomic.Int64
			all := make(chan struct{})
			n := int64(b.N)
			insert := "INSERT INTO " + st.schema + ".effects (n) VALUES ($1)"
			ta := startApp(b, newBroker(b, "memory"), st, appSpec{store: store, handler: func(ctx context.Context, m stream.Message[order]) error {
				switch {
				case !r.write:
				case store == "":
					if err := pgx.BeginFunc(ctx, st.pool, func(tx pgx.Tx) error {
						_, err := tx.Exec(ctx, insert, m.Payload.N)
						return err
					}); err != nil {
						return err
					}
				default:
					if _, err := idempotency.Tx(ctx).Exec(ctx, insert, m.Payload.N); err != nil {
						return err
					}
				}
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
