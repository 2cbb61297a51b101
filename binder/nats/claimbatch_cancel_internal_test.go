package nats

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"
	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/streambind/streambind/binder/nats/natstest"
	"github.com/streambind/streambind/stream"
)

// cancellingStream is a stream whose GetMsg cancels the claim's context
// (a Ctrl-C arriving while a batch is being claimed) and fails with it.
type cancellingStream struct {
	jetstream.Stream
	cancel context.CancelFunc
}

func (s cancellingStream) GetMsg(ctx context.Context, seq uint64, opts ...jetstream.GetMsgOpt) (*jetstream.RawStreamMsg, error) {
	s.cancel()
	return nil, ctx.Err()
}

// A claim batch that fails because its context ended (dlq replay or purge
// interrupted) gives back the claims it made: they are not the cursor's
// (Close does not know them), and left they would hold up the next
// replay or purge for a lease and a third, then be reported as held
// elsewhere.
func TestClaimBatchCancelledGivesBack(t *testing.T) {
	natstest.Require(t)
	t.Parallel()
	nc, err := natsgo.Connect(natstest.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	name := "rvclaimcancel" + uuid.NewString()[:8]
	natstest.DeleteKeyValueBuckets(t, natstest.URL(), name)
	natstest.DeleteStreams(t, natstest.URL(), func() []string { return []string{name} })
	s, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: name, Subjects: []string{name + ".>"}})
	if err != nil {
		t.Fatal(err)
	}
	kv, err := claimBucket(ctx, js, name, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	l := &natsLeases{kv: kv, s: cancellingStream{s, cancel}, prefix: name + ".", revs: map[string]uint64{}}
	var ds []stream.DeadLetter
	for i := 1; i <= 16; i++ {
		ds = append(ds, stream.DeadLetter{ID: strconv.Itoa(i)})
	}
	if _, err := l.ClaimBatch(cctx, ds, "tok", time.Minute); err == nil {
		t.Fatal("ClaimBatch succeeded; want the context's error")
	}
	if len(l.revs) != 0 {
		t.Errorf("the leases hold %d claims after a failed batch", len(l.revs))
	}
	keys, err := kv.ListKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var left []string
	for k := range keys.Keys() {
		left = append(left, k)
	}
	if len(left) > 0 {
		t.Errorf("claims left in the bucket after a cancelled batch (they block other replays for a lease): %v", left)
	}
}
