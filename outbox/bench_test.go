package outbox_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/streambind/streambind/outbox"
)

// BenchmarkRelay measures messages per second from the first insert to
// the last row deleted, b.N messages in one transaction each (64 keys),
// for a relay to Kafka (kfake), to RabbitMQ and to the in-process binder,
// each beside its baseline:
//
//   - baseline: the same rows stored by the same Outbox.Send (one
//     transaction each, by an outbox without a relay, on a table of its
//     own), then deleted by a plain loop, 100 rows (the relay's batch size)
//     a statement — the database work of an outbox without a broker,
//     batched as the relay batches it;
//   - relay: the rows stored with Outbox.Send (one transaction each) while
//     a relay sends them with the broker's confirms and deletes them;
//     timed until it has deleted the last one.
//
// The machine is shared and its load swings within seconds, so the two
// alternate in phases of b.N/8 messages (baseline then relay, then relay
// then baseline, ...), and each rate sums its phases: both see the same
// load. A relay phase ends when the relay deleted its last row; a run
// without phases would wait for that tail once, so the relay's time is
// its storing loops' plus one average tail (tail-ms, reported). Between its phases the relay is idle (listening) and the broker
// has nothing to do. Nothing consumes the messages on Kafka and RabbitMQ
// (where producer.required-groups declares the queue that takes them): a
// consumer's work is not the relay's. The in-process binder needs its
// consumer (its queues are bounded); it costs next to nothing.
//
// Reported: msgs/s of the relay, baseline-msgs/s, x-baseline (their ratio:
// the target is at least 0.8), stored/s (the storing loop alone while the
// relay runs) and msgs/batch.
//
// Run: go test -run '^$' -bench BenchmarkRelay -benchtime 2000x -count 5 ./outbox/
func BenchmarkRelay(b *testing.B) {
	const keys = 64
	const batchSize = 100
	const phases = 8
	store := func(b *testing.B, ob *outbox.Outbox, pool *pgxpool.Pool, from, to int) {
		ctx := context.Background()
		for i := from; i < to; i++ {
			key := fmt.Sprintf("k%d", i%keys)
			err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
				return ob.Send(ctx, tx, "events", event{Key: key, Seq: i}, outbox.Key(key))
			})
			if err != nil {
				b.Fatal(err)
			}
		}
	}
	// memory: the in-process binder, whose sends cost next to nothing —
	// the relay's own cost beside the baseline, without a broker's.
	for _, kind := range []string{"memory", "kafka", "rabbit"} {
		b.Run(kind, func(b *testing.B) {
			ctx := context.Background()
			// The baseline's outbox: no relay; the app only encodes.
			bpool, btable := migrate(b)
			ba := startApp(b, newBroker(b, "memory"), appSpec{table: btable})
			del := "DELETE FROM " + btable + " WHERE id IN (SELECT id FROM " + btable + " ORDER BY id LIMIT $1)"
			baseline := func(from, to int) time.Duration {
				start := time.Now()
				store(b, ba.ob, bpool, from, to)
				for deleted := int64(0); deleted < int64(to-from); {
					tag, err := bpool.Exec(ctx, del, batchSize)
					if err != nil {
						b.Fatal(err)
					}
					if tag.RowsAffected() == 0 {
						b.Fatalf("baseline deleted %d of %d rows", deleted, to-from)
					}
					deleted += tag.RowsAffected()
				}
				return time.Since(start)
			}
			pool, table := migrate(b)
			// RabbitMQ returns a message no queue takes; the in-process
			// binder's queue holds 1024 messages: it needs a consumer.
			a := startApp(b, newBroker(b, kind), appSpec{relay: true, table: table, batchSize: batchSize,
				producer: "required-groups: g", consume: kind == "memory"})
			// storeTook sums the relay phases' storing loops; tailTook
			// what each phase waited after its loop for the relay to
			// delete its last rows.
			var storeTook, tailTook time.Duration
			relay := func(from, to int) {
				start := time.Now()
				store(b, a.ob, pool, from, to)
				stored := time.Now()
				storeTook += stored.Sub(start)
				deadline := stored.Add(time.Minute)
				for a.ob.Relay().Relayed() < int64(to) {
					if time.Now().After(deadline) {
						b.Fatalf("relayed %d of %d within a minute", a.ob.Relay().Relayed(), to)
					}
					time.Sleep(time.Millisecond) // polling an in-process counter
				}
				tailTook += time.Since(stored)
			}
			var baseTook time.Duration
			b.ResetTimer()
			for p := range phases {
				from, to := b.N*p/phases, b.N*(p+1)/phases
				if p%2 == 0 {
					baseTook += baseline(from, to)
					relay(from, to)
				} else {
					relay(from, to)
					baseTook += baseline(from, to)
				}
			}
			b.StopTimer()
			if n := rowCount(b, pool, table); n != 0 {
				b.Fatalf("%d rows left in the relay's table", n)
			}
			// One run without phases would wait for the relay's last rows
			// once, not once a phase: the relay's time is the storing
			// loops' plus one (average) tail.
			relayTook := storeTook + tailTook/phases
			rate, base := float64(b.N)/relayTook.Seconds(), float64(b.N)/baseTook.Seconds()
			b.ReportMetric(rate, "msgs/s")
			b.ReportMetric(base, "baseline-msgs/s")
			b.ReportMetric(rate/base, "x-baseline")
			b.ReportMetric(float64(b.N)/storeTook.Seconds(), "stored/s")
			b.ReportMetric(float64(tailTook.Milliseconds())/phases, "tail-ms")
			b.ReportMetric(float64(b.N)/float64(max(a.ob.Relay().Batches(), 1)), "msgs/batch")
		})
	}
	// drain: the relay alone, on rows stored before it starts.
	for _, kind := range []string{"kafka", "rabbit"} {
		b.Run(kind+"-drain", func(b *testing.B) {
			pool, table := migrate(b)
			br := newBroker(b, kind)
			w := startApp(b, br, appSpec{table: table, producer: "required-groups: g"})
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
			a := startApp(b, br, appSpec{relay: true, table: table, batchSize: batchSize, producer: "required-groups: g"})
			waitEmpty(b, pool, table, 5*time.Minute)
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
			b.StopTimer()
			a.stop() // the counts are final once the relay stopped
			b.ReportMetric(float64(b.N)/float64(max(a.ob.Relay().Batches(), 1)), "msgs/batch")
			if got := a.ob.Relay().Relayed(); got != int64(b.N) {
				b.Fatalf("relayed %d of %d", got, b.N)
			}
		})
	}
}
