package kafka_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/streambind/streambind/binder/kafka"
	"github.com/streambind/streambind/stream"
)

// TestDeadLettersBatchHolderKeepsGeneration: a claiming cursor that
// reads on while it holds what it read (a purge holds every dead letter
// until the question is answered) does not let a rebalance take its
// partitions: another member that joins (a replay) reads none of the
// dead letters it holds while it holds them, and none is removed by
// both. NextBatch turned to the next generation whenever the one it had
// was ending, holding or not: the replay read and removed the dead
// letters the purge held, and once the replay left the purge took its
// partitions back and removed them too (counted twice: purged and
// replayed, each of them).
func TestDeadLettersBatchHolderKeepsGeneration(t *testing.T) {
	t.Parallel()
	c, b, spec, dlq := deadLetterSetup(t)
	const parts, per = 4, 300
	if err := c.Kfake.CreateTopic(dlq, parts, nil); err != nil {
		t.Fatal(err)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.Addrs()...), kgo.DefaultProduceTopic(dlq), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	var recs []*kgo.Record
	for p := range parts {
		for i := range per {
			recs = append(recs, &kgo.Record{Partition: int32(p), Value: fmt.Appendf(nil, "%d/%d", p, i)})
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	err = cl.ProduceSync(ctx, recs...).FirstErr()
	cl.Close()
	if err != nil {
		t.Fatal(err)
	}
	open := func() (stream.DeadLetters, stream.DeadLetterBatcher) {
		dl, err := b.(*kafka.Binder).OpenDeadLetters(ctx, spec, stream.DeadLetterOpen{Claim: true, Lease: 6 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		return dl, dl.(stream.DeadLetterBatcher)
	}
	// The purge reads everything, holding it.
	pdl, pb := open()
	defer pdl.Close(context.Background())
	var held []stream.DeadLetter
	for {
		ds, err := pb.NextBatch(ctx, 256)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, ds...)
	}
	if len(held) != parts*per {
		t.Fatalf("purge read %d; want %d", len(held), parts*per)
	}
	// A replay joins, replays (removes) what it gets, and leaves; the
	// purge reads on (at its end) meanwhile, as a purge's next round or
	// batch would.
	type result struct {
		removed map[string]bool
		err     error
	}
	rdone := make(chan result, 1)
	go func() {
		rdl, rb := open()
		defer rdl.Close(context.Background())
		removed := map[string]bool{}
		for {
			ds, err := rb.NextBatch(ctx, 128)
			if errors.Is(err, io.EOF) {
				rdone <- result{removed, nil}
				return
			}
			if err != nil {
				rdone <- result{removed, err}
				return
			}
			errs := rb.RemoveBatch(ctx, ds)
			for i, d := range ds {
				if errs == nil || errs[i] == nil {
					removed[d.ID] = true
				}
			}
		}
	}()
	var r result
	for done := false; !done; {
		if _, err := pb.NextBatch(ctx, 256); !errors.Is(err, io.EOF) {
			t.Fatalf("purge read on: %v; want io.EOF", err)
		}
		select {
		case r = <-rdone:
			done = true
		case <-time.After(50 * time.Millisecond):
		}
	}
	if r.err != nil {
		t.Fatal(r.err)
	}
	// The replay left: the purge reads on a while (the generation that
	// follows may give it the partitions back), then removes what it
	// holds.
	for end := time.Now().Add(2 * time.Second); time.Now().Before(end); {
		if _, err := pb.NextBatch(ctx, 256); !errors.Is(err, io.EOF) {
			t.Fatalf("purge read on: %v; want io.EOF", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	errs := pb.RemoveBatch(ctx, held)
	both, purged := 0, 0
	for i, d := range held {
		if errs != nil && errs[i] != nil {
			if !errors.Is(errs[i], stream.ErrClaimLost) {
				t.Errorf("purge's removal of %s: %v; want ErrClaimLost or none", d.ID, errs[i])
			}
			continue
		}
		purged++
		if r.removed[d.ID] {
			both++
		}
	}
	t.Logf("purge removed %d, replay %d", purged, len(r.removed))
	if both > 0 || purged+len(r.removed) != parts*per {
		t.Errorf("purge removed %d, replay %d, %d by both; want %d in all, none by both", purged, len(r.removed), both, parts*per)
	}
}
