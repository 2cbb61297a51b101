package kafka_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/streambind/streambind/stream"
)

// TestDeadLettersBatchCommitRetried: a batched replay whose removal meets
// the group's coordinator moving (NOT_COORDINATOR, COORDINATOR_LOAD_IN_
// PROGRESS) or its connection cut, once, removes every dead letter: the
// commit is retried as a fetch is. It failed the batch's removal at once,
// and the replay stopped with 128 copies sent whose dead letters the
// next replay sent again.
func TestDeadLettersBatchCommitRetried(t *testing.T) {
	t.Parallel()
	for _, fault := range []string{"not-coordinator", "load-in-progress", "cut"} {
		t.Run(fault, func(t *testing.T) {
			t.Parallel()
			c, b, spec, dlq := deadLetterSetup(t)
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			produceDeadLetters(ctx, t, c, dlq, 500)
			// The second batch's commit meets the fault, once.
			commits := 0
			c.Kfake.ControlKey(int16(kmsg.OffsetCommit), func(req kmsg.Request) (kmsg.Response, error, bool) {
				c.Kfake.KeepControl()
				if commits++; commits != 2 {
					return nil, nil, false
				}
				if fault == "cut" {
					return nil, errors.New("connection cut"), true
				}
				code := kerr.NotCoordinator.Code
				if fault == "load-in-progress" {
					code = kerr.CoordinatorLoadInProgress.Code
				}
				return offsetCommitRefused(req, code), nil, true
			})
			read, removed, failed := batchReplay(t, b, spec, 128, func(stream.DeadLetter) bool { return true })
			if failed != nil || removed != 500 || len(read) != 500 {
				var first error
				if failed != nil {
					first = failed[0]
				}
				t.Fatalf("read %d, removed %d (%d failed, the first: %v); want 500, 500", len(read), removed, len(failed), first)
			}
			if off, meta := dlqCommitted(t, c, dlq); off != 500 || meta != "" {
				t.Errorf("committed %d %q; want 500, nothing listed", off, meta)
			}
		})
	}
}
