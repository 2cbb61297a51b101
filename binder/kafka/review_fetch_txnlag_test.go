package kafka_test

import (
	"slices"
	"testing"

	"github.com/streambind/streambind/binder/kafka/kafkatest"
)

// TestReviewFetchTransactionalTopic: a read_committed consumer of a
// topic written by a transactional producer (an aborted transaction of
// two records, then a committed one of three, written while it runs) is
// handed the three committed records only, commits the end of the
// partition and then has no lag although the partition's high-water mark
// counts the aborted records and both markers.
//
// kafka-go's connection reader handed out ["aborted-1" "aborted-2"
// "\x00\x00\x00\x00\x00\x00" "a" "b" "c" "\x00\x00\x00\x00\x00\x00"]:
// the aborted records and both markers' values (fetchtxn.go reads such
// partitions through the protocol layer). Dropping them must still move
// the position past the offsets dropped, or an idle consumer shows lag
// for the trailing marker and never commits past it.
func TestReviewFetchTransactionalTopic(t *testing.T) {
	t.Parallel()
	c := kafkatest.Start(t)
	b := newBinder(t, c, map[string]any{"lag-interval": "200ms"})
	closeBinder(t, b)
	dest := uniqueTopic(t)
	w := newTxnWriter(t, c, dest) // creates the topic
	p := &payloads{}
	spec := consumerSpec(dest, "g-"+dest, p.handler)
	spec.Extension = map[string]any{"configuration": map[string]any{"isolation.level": "read_committed"}}
	cons := startConsumer(t, b, spec)
	w.abortedThenCommitted()
	waitGroupCommitted(t, c, "g-"+dest, dest, 7)
	if got, want := p.take(), []string{"a", "b", "c"}; !slices.Equal(got, want) {
		t.Errorf("handler got %q; want %q", got, want)
	}
	checkNoLag(t, cons)
}
