package kafka

import (
	"context"
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/streambind/streambind/binder/kafka/kafkatest"
	"github.com/streambind/streambind/stream"
)

// TestDeadLettersRangesStaySmall: on a dead-letter topic written in
// transactions (a marker after each dead letter), a listing holds no more
// skipped offsets than a fetch brings (it held one per marker read, for
// ever: an ls of a big topic grew without bound), and a filtered replay
// that keeps the first dead letter and removes those behind it holds one
// removed range and a few skipped ones at each Remove (a map of every
// removed offset, copied and sorted at each Remove: quadratic).
//
// Parallel: waiting in t.Parallel, this test's goroutine has the binder's
// package in its stack; the goroutine-leak checks of the serial tests
// (TestBreakKeyOrder*) leave such goroutines out (pausedTest).
func TestDeadLettersRangesStaySmall(t *testing.T) {
	t.Parallel()
	k := kafkatest.Start(t)
	b, err := New(context.Background(), stream.BinderSettings{Name: "kafka", Type: Type, Environment: map[string]any{"brokers": k.Brokers()}})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close(context.Background())
	bd := b.(*Binder)
	spec := stream.ConsumerSpec{Binding: "test-in-0", Destination: "ranges-" + fmt.Sprint(time.Now().UnixNano()), Group: "g",
		ContentType: stream.DefaultContentType, Consumer: stream.ConsumerConfig{Concurrency: 1, MaxAttempts: 1, InstanceCount: 1}}
	dlq := stream.ErrorDestinationSource(spec, "").Destination
	if err := k.Kfake.CreateTopic(dlq, 1, nil); err != nil {
		t.Fatal(err)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(k.Addrs()...), kgo.TransactionalID("a-"+dlq), kgo.DefaultProduceTopic(dlq))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	const n = 600 // dead letters, each in a transaction of its own: d C d C …
	for i := range n {
		if err := cl.BeginTransaction(); err != nil {
			t.Fatal(err)
		}
		if err := cl.ProduceSync(ctx, &kgo.Record{Value: fmt.Appendf(nil, "dead-%d", i)}).FirstErr(); err != nil {
			t.Fatal(err)
		}
		if err := cl.EndTransaction(ctx, kgo.TryCommit); err != nil {
			t.Fatal(err)
		}
	}
	// run reads every dead letter; remove says which to remove. check
	// is called after each dead letter with the partition's sets.
	run := func(o stream.DeadLetterOpen, remove func(int) bool, check func(i int, p *dlPartition)) int {
		t.Helper()
		dl, err := bd.OpenDeadLetters(ctx, spec, o)
		if err != nil {
			t.Fatal(err)
		}
		defer dl.Close(context.Background())
		c := dl.(*kafkaDeadLetters)
		i := 0
		for ; ; i++ {
			d, err := dl.Next(ctx)
			if errors.Is(err, io.EOF) {
				return i
			}
			if err != nil {
				t.Fatal(err)
			}
			if remove(i) {
				if err := dl.Remove(ctx, d); err != nil {
					t.Fatal(err)
				}
			}
			check(i, c.parts[0])
		}
	}
	// A fetch brings up to 16 MiB: all of this topic. What is left of
	// the skipped offsets is those ahead of the dead letter returned.
	maxAhead := func(p *dlPartition) int { return int(p.end-p.pos)/2 + 2 }
	got := run(stream.DeadLetterOpen{}, func(int) bool { return false }, func(i int, p *dlPartition) {
		if i > 0 && len(p.skipped.r) > maxAhead(p) {
			t.Fatalf("listing, dead letter %d: %d skipped ranges held, %d ahead of it", i, len(p.skipped.r), maxAhead(p))
		}
	})
	if got != n {
		t.Fatalf("listed %d dead letters, want %d", got, n)
	}
	replay := stream.DeadLetterOpen{Claim: true, Lease: 6 * time.Second}
	run(replay, func(i int) bool { return i > 0 }, func(i int, p *dlPartition) {
		if i == 0 {
			return
		}
		if p.committed > 0 || len(p.removed.r) != 1 || len(p.skipped.r) > maxAhead(p) {
			t.Fatalf("replay, dead letter %d: committed %d, %d removed ranges %v, %d skipped ranges (%d ahead); want the first kept, one removed range", i, p.committed, len(p.removed.r), p.removed.r, len(p.skipped.r), maxAhead(p))
		}
		want := removedPrefix + "2"
		if i > 1 {
			want += fmt.Sprintf("-%d", 2*i)
		}
		if p.removed.format(0) != want {
			t.Fatalf("replay, dead letter %d: metadata %q, want %q", i, p.removed.format(0), want)
		}
	})
	if got := run(replay, func(int) bool { return true }, func(int, *dlPartition) {}); got != 1 {
		t.Fatalf("second replay read %d dead letters, want 1 (the first)", got)
	}
}
