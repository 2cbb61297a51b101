package rabbit

import (
	"context"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/rabbit/rabbittest"
	"github.com/streambind/streambind/stream"
)

// TestDeadLetterCopyNotRoutedByCC: the copy a dead-letter listing puts
// back for a quorum DLQ's dead letter at the delivery limit goes to the
// default exchange; a CC header it kept (the broker keeps a message's CC
// when it dead-letters it: a message sent to queue "work" with CC
// ["audit"], say) routed a copy to the queue named by it as well, so each
// listing that copied it put an old message into a live queue (1 copy in
// 3 listings without the fix). The copy leaves CC and BCC out.
func TestDeadLetterCopyNotRoutedByCC(t *testing.T) {
	t.Parallel()
	vhost := rabbittest.VHost(t)
	b, _ := newTestBinder(t, map[string]any{"virtual-host": vhost})
	spec, ch := quorumDLQFixture(t, vhost, 1, 0, map[string]any{"dlq-quorum": map[string]any{"enabled": true, "delivery-limit": 1}})
	q := spec.Destination + ".g.dlq"
	if _, err := ch.QueueDeclare("live", true, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	dl := quorumDL(0)
	dl.Headers["CC"] = []any{"live"}
	c, err := ch.PublishWithDeferredConfirm("", q, false, false, dl)
	if err != nil {
		t.Fatal(err)
	}
	if !c.Wait() {
		t.Fatal("publish nacked")
	}
	if _, err := ch.QueuePurge("live", false); err != nil { // its CC copy
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for round := range 3 {
		cur, err := b.OpenDeadLetters(ctx, spec, stream.DeadLetterOpen{})
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		if _, err := cur.Next(ctx); err != nil {
			t.Fatalf("round %d: Next: %v", round, err)
		}
		if err := cur.Close(ctx); err != nil {
			t.Fatalf("round %d: Close: %v", round, err)
		}
		waitReady(t, ch, q, 1)
	}
	st, err := ch.QueueDeclarePassive("live", true, false, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if st.Messages != 0 {
		t.Errorf("the live queue got %d copies of the dead letter", st.Messages)
	}
	d, ok, err := ch.Get(q, true)
	if err != nil || !ok {
		t.Fatalf("the dead letter: %v %v", ok, err)
	}
	if _, ok := d.Headers["CC"]; ok {
		t.Errorf("the copy kept CC: %v", d.Headers)
	}
}
