package kafka_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/streambind/streambind/binder/kafka"
	"github.com/streambind/streambind/stream"
)

// TestDeadLettersBatchLostWhileReadingNotTwice: a purge (a claiming
// cursor that reads everything, holding it, before it removes) whose
// member is refused while it reads (passSkipped's commit past an aborted
// transaction: ILLEGAL_GENERATION, and the generation ends) turns to the
// next generation, which gives the partition back. The dead letters it
// read under the lost generation fail removal with ErrClaimLost, as
// conventions.md says of a dropped member's, and are not returned again
// while they are in the caller's list: the next round reads them again
// and removes them, once. turn kept them held and re-read the partition
// from the group's position: the purge listed each dead letter twice and
// removed both, under the new generation (purged 20 of 10).
func TestDeadLettersBatchLostWhileReadingNotTwice(t *testing.T) {
	t.Parallel()
	c, b, spec, dlq := deadLetterSetup(t)
	if err := c.Kfake.CreateTopic(dlq, 1, nil); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.Addrs()...), kgo.TransactionalID("a-"+dlq), kgo.DefaultProduceTopic(dlq))
	if err != nil {
		t.Fatal(err)
	}
	// x A (aborted, offsets 0-1: the front passSkipped commits over),
	// then d0..d9 C.
	for i, how := range []kgo.TransactionEndTry{kgo.TryAbort, kgo.TryCommit} {
		if err := cl.BeginTransaction(); err != nil {
			t.Fatal(err)
		}
		var recs []*kgo.Record
		if i == 0 {
			recs = append(recs, &kgo.Record{Value: []byte("x")})
		} else {
			for k := range 10 {
				recs = append(recs, &kgo.Record{Value: fmt.Appendf(nil, "d%d", k)})
			}
		}
		if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
			t.Fatal(err)
		}
		if err := cl.EndTransaction(ctx, how); err != nil {
			t.Fatal(err)
		}
	}
	cl.Close()

	// The first commit (passSkipped's, at the partition's end) is
	// refused as a dropped member's; the member's next heartbeat then
	// ends its generation, and it joins the next (alone: the partition
	// comes back).
	var refused atomic.Bool
	var beats atomic.Int32
	c.Kfake.ControlKey(int16(kmsg.OffsetCommit), func(req kmsg.Request) (kmsg.Response, error, bool) {
		if refused.Swap(true) {
			return nil, nil, false
		}
		return offsetCommitRefused(req, kerr.IllegalGeneration.Code), nil, true
	})
	c.Kfake.ControlKey(int16(kmsg.Heartbeat), func(req kmsg.Request) (kmsg.Response, error, bool) {
		c.Kfake.KeepControl()
		if !refused.Load() || beats.Add(1) != 1 {
			return nil, nil, false
		}
		resp := req.ResponseKind().(*kmsg.HeartbeatResponse)
		resp.ErrorCode = kerr.RebalanceInProgress.Code
		return resp, nil, true
	})

	dl, err := b.(*kafka.Binder).OpenDeadLetters(ctx, spec, stream.DeadLetterOpen{Claim: true, Lease: 6 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer dl.Close(context.Background())
	bt := dl.(stream.DeadLetterBatcher)
	// Rounds, as purge's: read all, holding it, then remove; read again
	// those whose removal lost its claim.
	removed := map[string]int{}
	for round := 1; round <= 3; round++ {
		var doomed []stream.DeadLetter
		seen := map[string]bool{}
		for {
			ds, err := bt.NextBatch(ctx, 256)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range ds {
				if seen[d.ID] {
					t.Errorf("round %d: dead letter %s (%s) returned twice", round, d.ID, d.Envelope.Payload)
				}
				seen[d.ID] = true
			}
			doomed = append(doomed, ds...)
		}
		if len(doomed) == 0 {
			break
		}
		errs := bt.RemoveBatch(ctx, doomed)
		lost := 0
		for i, d := range doomed {
			switch {
			case errs == nil || errs[i] == nil:
				removed[string(d.Envelope.Payload)]++
			case errors.Is(errs[i], stream.ErrClaimLost):
				lost++
			default:
				t.Fatalf("round %d: remove %s: %v", round, d.ID, errs[i])
			}
		}
		t.Logf("round %d: read %d, %d lost their claim", round, len(doomed), lost)
		if lost == 0 {
			break
		}
	}
	if !refused.Load() || beats.Load() < 1 {
		t.Fatalf("the fault did not happen (commit refused %v, heartbeats %d)", refused.Load(), beats.Load())
	}
	n := 0
	for k := range 10 {
		if got := removed[fmt.Sprintf("d%d", k)]; got != 1 {
			t.Errorf("d%d removed %d times; want once", k, got)
		}
		n += removed[fmt.Sprintf("d%d", k)]
	}
	if n != 10 {
		t.Errorf("removed %d; want 10", n)
	}
	if got, _ := readDeadLetters(t, b, spec, stream.DeadLetterOpen{}, nil); len(got) != 0 {
		t.Errorf("left %q", got)
	}
}
