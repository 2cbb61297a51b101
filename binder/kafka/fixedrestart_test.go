package kafka_test

import (
	"testing"
	"time"

	"github.com/streambind/streambind/binder/kafka/kafkatest"
)

// TestFixedAssignmentCommitsAfterBrokerRestart: the broker restarts
// (keeping its data) while a fixed-assignment consumer runs; it handles
// what is sent after the restart and is stopped at once: its final commit
// lands (committed 10 on each partition), so that a restart does not
// handle those messages again. The binder's client had connections to the
// old broker in its pool, and each one failed one commit ("unexpected
// EOF"): the commits after the restart, the final one too, all failed,
// and the committed offsets stayed at 5.
func TestFixedAssignmentCommitsAfterBrokerRestart(t *testing.T) {
	t.Parallel()
	c := kafkatest.StartRestartable(t)
	dest := uniqueTopic(t)
	createTopic(t, c, dest, 2, nil)
	b := newBinder(t, c, nil)
	closeBinder(t, b)
	got := newFixedGot()
	cons := bindStarted(t, b, fixedSpec(dest, 0, 1, got.handler()))
	ids := produceToParts(t, c, dest, "a", []int{0, 1}, 5)
	got.waitTotal(t, 10)
	committed := func() map[int]int64 { return committedOrNone(t, c, "g", dest, []int{0, 1}) }
	waitFor(t, 10*time.Second, "offsets 5 committed", func() bool {
		o := committed()
		return o[0] == 5 && o[1] == 5
	})
	if err := c.Restart(); err != nil {
		t.Fatal(err)
	}
	ids = append(ids, produceToParts(t, c, dest, "b", []int{0, 1}, 5)...)
	got.waitTotal(t, 20)
	stopConsumer(t, cons)
	got.wantIDs(t, ids)
	if o := committed(); o[0] != 10 || o[1] != 10 {
		t.Errorf("committed %v after the stop, want 10 on each partition (the messages handled after the broker restart would be handled again)", o)
	}
}
