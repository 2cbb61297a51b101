package kafka_test

import (
	"context"
	"slices"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/streambind/streambind/binder/kafka"
	"github.com/streambind/streambind/stream"
)

// TestDeadLettersRemovedRangeBeyondMillion: a removed range of more than
// 2^20 offsets in the group's commit metadata (a filtered replay that
// kept one dead letter and removed the 1.1 million behind it) is read as
// removed. parseRemoved expanded every range to its offsets and ignored
// the whole list above 2^20 of them, so a later cursor returned those
// dead letters (and a replay sent them) again.
func TestDeadLettersRemovedRangeBeyondMillion(t *testing.T) {
	t.Parallel()
	c, b, spec, dlq := deadLetterSetup(t)
	p := bindProducer(t, b, dlq, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for _, v := range []string{"kept", "r1", "r2"} {
		if err := p.Send(ctx, stream.Envelope{Payload: []byte(v), Headers: map[string]string{idHeader: v}}); err != nil {
			t.Fatal(err)
		}
	}
	// Offsets 1 to 1,100,001 removed behind the kept one at 0 (this log
	// holds only the first of them; a range is never expanded, so its
	// length is all that matters).
	res, err := pipeClient(c).OffsetCommit(ctx, &kafkago.OffsetCommitRequest{GroupID: kafka.DefaultDeadLetterGroup, GenerationID: -1,
		Topics: map[string][]kafkago.OffsetCommit{dlq: {{Partition: 0, Offset: 0, Metadata: "streambind-dlq-removed:1-1100001"}}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res.Topics[dlq] {
		if r.Error != nil {
			t.Fatal(r.Error)
		}
	}
	if got, _ := readDeadLetters(t, b, spec, stream.DeadLetterOpen{}, nil); !slices.Equal(got, []string{"kept"}) {
		t.Fatalf("listed %q; want kept (the rest were removed)", got)
	}
	// A filtered replay that removes nothing leaves the list as it is.
	replay := stream.DeadLetterOpen{Claim: true, Lease: 6 * time.Second}
	if got, _ := readDeadLetters(t, b, spec, replay, func(stream.DeadLetter) bool { return false }); !slices.Equal(got, []string{"kept"}) {
		t.Fatalf("replay read %q; want kept", got)
	}
	if got, _ := readDeadLetters(t, b, spec, replay, func(stream.DeadLetter) bool { return true }); !slices.Equal(got, []string{"kept"}) {
		t.Fatalf("second replay read %q; want kept", got)
	}
	if got, _ := readDeadLetters(t, b, spec, stream.DeadLetterOpen{}, nil); len(got) != 0 {
		t.Fatalf("after removing the kept one, listed %q; want none", got)
	}
}
