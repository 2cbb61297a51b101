package nats

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/streambind/streambind/binder/nats/natstest"
	"github.com/streambind/streambind/stream"
)

// A renewal whose reply was lost (its context ended while the update was
// on its way: a replay interrupted with Ctrl-C) may have been applied,
// leaving the leases a revision behind the entry. The claim is still the
// cursor's: the next renewal keeps it and Release deletes it. Before, the
// renewal reported it lost and Release took the wrong revision for
// "expired", leaving the claim to hold up the next replay for a lease
// (TestDLQReplayPipelinedInterruptedNATS: "1 claims left").
func TestClaimRenewalWithLostReplyStaysOurs(t *testing.T) {
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
	name := "rvclaimlost" + uuid.NewString()[:8]
	natstest.DeleteKeyValueBuckets(t, natstest.URL(), name)
	natstest.DeleteStreams(t, natstest.URL(), func() []string { return []string{name} })
	s, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: name, Subjects: []string{name + ".>"}})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := js.Publish(ctx, name+".dl", []byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	kv, err := claimBucket(ctx, js, name, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	l := &natsLeases{kv: kv, s: s, prefix: name + ".", revs: map[string]uint64{}}
	const token = "tok"
	for _, id := range []string{"1", "2"} {
		r, err := l.Claim(ctx, stream.DeadLetter{ID: id}, token, time.Minute)
		if err != nil || r != 0 {
			t.Fatalf("claim %s: %v, %v", id, r, err)
		}
		// The renewal the server applied, whose reply never came.
		if _, err := kv.Put(ctx, name+"."+id, []byte(token)); err != nil {
			t.Fatal(err)
		}
	}
	lost, err := l.Renew(ctx, []string{"1"}, token, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if len(lost) > 0 {
		t.Errorf("a claim whose renewal's reply was lost was reported lost: %v", lost)
	}
	if err := l.Release(ctx, []string{"1", "2"}, token); err != nil {
		t.Fatal(err)
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
		t.Errorf("claims left after Release (they hold up the next replay or purge for a lease): %v", left)
	}

	// Another cursor's claim is not ours: a stale revision leaves it.
	other, err := kv.Create(ctx, name+".9", []byte("other"))
	if err != nil {
		t.Fatal(err)
	}
	l.revs["9"] = other - 1
	if err := l.Release(ctx, []string{"9"}, token); err != nil {
		t.Fatal(err)
	}
	if e, err := kv.Get(ctx, name+".9"); err != nil || string(e.Value()) != "other" {
		t.Errorf("another cursor's claim was released: %v", err)
	}
}
