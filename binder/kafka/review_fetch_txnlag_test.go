package kafka_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/streambind/streambind/binder/kafka/kafkatest"
	"github.com/streambind/streambind/stream"
)

// TestReviewFetchTransactionalTopic: a read_committed consumer of a
// topic written by a transactional producer (an aborted transaction of
// two records, then a committed one of three) is handed the three
// committed records only, and then has no lag although the partition's
// high-water mark counts the aborted records and both markers.
//
// Known and not fixed: kafka-go neither drops the records of aborted
// transactions (it reads the fetch answer's aborted transactions and
// discards them) nor control batches (it does not expose a batch's
// attributes), so the handler is given ["aborted-1" "aborted-2"
// "\x00\x00\x00\x00\x00\x00" "a" "b" "c" "\x00\x00\x00\x00\x00\x00"]:
// the aborted records and both markers' values, with read_uncommitted
// too (the markers).
// Skipped unless KAFKA_REVIEW_KNOWN=1. A fix that drops them must still
// move the lag's position past the offsets it dropped, or an idle
// consumer shows lag for every marker (the lag below is 0 today only
// because the marker was handled as a message).
func TestReviewFetchTransactionalTopic(t *testing.T) {
	if os.Getenv("KAFKA_REVIEW_KNOWN") == "" {
		t.Skip("known: kafka-go delivers aborted records and transaction markers; KAFKA_REVIEW_KNOWN=1 runs it")
	}
	t.Parallel()
	c := kafkatest.Start(t)
	b := newBinder(t, c, map[string]any{"lag-interval": "200ms"})
	closeBinder(t, b)
	dest := uniqueTopic(t)
	bindProducer(t, b, dest, 1) // creates the topic
	got := make(chan string, 16)
	spec := consumerSpec(dest, "g-"+dest, func(_ context.Context, m stream.Envelope) error {
		got <- string(m.Payload)
		return nil
	})
	spec.Extension = map[string]any{"configuration": map[string]any{"isolation.level": "read_committed"}}
	cons := startConsumer(t, b, spec)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	cl, err := kgo.NewClient(kgo.SeedBrokers(c.Addrs()...), kgo.TransactionalID("tx-"+dest), kgo.DefaultProduceTopic(dest))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	txn := func(end kgo.TransactionEndTry, vals ...string) {
		t.Helper()
		if err := cl.BeginTransaction(); err != nil {
			t.Fatal(err)
		}
		for _, v := range vals {
			if err := cl.ProduceSync(ctx, &kgo.Record{Value: []byte(v)}).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}
		if err := cl.EndTransaction(ctx, end); err != nil {
			t.Fatal(err)
		}
	}
	txn(kgo.TryAbort, "aborted-1", "aborted-2")
	txn(kgo.TryCommit, "a", "b", "c")
	want := []string{"a", "b", "c"}
	var recv []string
	quiet := time.After(5 * time.Second)
wait:
	for {
		select {
		case m := <-got:
			recv = append(recv, m)
		case <-quiet:
			break wait
		}
	}
	if len(recv) != len(want) || recv[0] != "a" || recv[1] != "b" || recv[2] != "c" {
		t.Errorf("handler got %q; want %q", recv, want)
	}
	lr := cons.(stream.LagReporter)
	lags, _ := lr.Lag(ctx)
	if len(lags) != 1 || lags[0].Lag != 0 {
		t.Errorf("every committed record handled, Lag %+v; want 0", lags)
	}
}
