package outbox_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/streambind/streambind/outbox"
)

// BenchmarkRelay measures messages per second from the first insert to
// the last row deleted, b.N messages in one transaction each:
//
//   - baseline: the rows inserted (one transaction each, as Send stores
//     them) and then deleted one by one by a plain loop — the database
//     work of an outbox without a broker;
//   - kafka, rabbit: the rows stored with Outbox.Send (one transaction
//     each) while a relay sends them to Kafka (kfake) or RabbitMQ with the
//     broker's confirms and deletes them; timed until the table is empty.
//
// Run: go test -run '^$' -bench BenchmarkRelay -benchtime 2000x ./outbox/
// (the target: each relay at least 0.8 of the baseline's msgs/s).
func BenchmarkRelay(b *testing.B) {
	const keys = 64
	b.Run("baseline", func(b *testing.B) {
		pool, table := migrate(b)
		ctx := context.Background()
		payload := []byte(`{"key":"k1","seq":1}`)
		b.ResetTimer()
		start := time.Now()
		ids := make([]int64, 0, b.N)
		for i := range b.N {
			var id int64
			err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
				return tx.QueryRow(ctx, "INSERT INTO "+table+" (name, key, payload, headers) VALUES ($1, $2, $3, $4::jsonb) RETURNING id",
					"events", []byte(fmt.Sprintf("k%d", i%keys)), payload, `{"id":"x"}`).Scan(&id)
			})
			if err != nil {
				b.Fatal(err)
			}
			ids = append(ids, id)
		}
		for _, id := range ids {
			if _, err := pool.Exec(ctx, "DELETE FROM "+table+" WHERE id = $1", id); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
	})
	for _, kind := range []string{"kafka", "rabbit"} {
		b.Run(kind, func(b *testing.B) {
			pool, table := migrate(b)
			br := newBroker(b, kind)
			// A consumer: RabbitMQ refuses (returns) a message no queue takes.
			a := startApp(b, br, appSpec{consume: true, relay: true, table: table, batchSize: 100})
			ctx := context.Background()
			b.ResetTimer()
			start := time.Now()
			for i := range b.N {
				key := fmt.Sprintf("k%d", i%keys)
				err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
					return a.ob.Send(ctx, tx, "events", event{Key: key, Seq: i}, outbox.Key(key))
				})
				if err != nil {
					b.Fatal(err)
				}
			}
			inserted := time.Since(start)
			waitEmpty(b, pool, table, time.Minute)
			b.ReportMetric(float64(b.N)/inserted.Seconds(), "stored/s")
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
			b.ReportMetric(float64(b.N)/float64(max(a.ob.Relay().Batches(), 1)), "msgs/batch")
			if got := a.ob.Relay().Relayed(); got != int64(b.N) {
				b.Fatalf("relayed %d of %d", got, b.N)
			}
		})
	}
	// drain: the relay alone, on rows stored before it starts.
	for _, kind := range []string{"kafka", "rabbit"} {
		b.Run(kind+"-drain", func(b *testing.B) {
			pool, table := migrate(b)
			br := newBroker(b, kind)
			w := startApp(b, br, appSpec{consume: true, table: table})
			ctx := context.Background()
			for i := 0; i < b.N; i += 500 {
				err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
					for j := i; j < min(i+500, b.N); j++ {
						key := fmt.Sprintf("k%d", j%keys)
						if err := w.ob.Send(ctx, tx, "events", event{Key: key, Seq: j}, outbox.Key(key)); err != nil {
							return err
						}
					}
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ResetTimer()
			start := time.Now()
			a := startApp(b, br, appSpec{relay: true, table: table, batchSize: 100})
			waitEmpty(b, pool, table, 5*time.Minute)
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
			b.ReportMetric(float64(b.N)/float64(max(a.ob.Relay().Batches(), 1)), "msgs/batch")
			if got := a.ob.Relay().Relayed(); got != int64(b.N) {
				b.Fatalf("relayed %d of %d", got, b.N)
			}
		})
	}
}
