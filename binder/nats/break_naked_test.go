package nats

import (
	"testing"

	"github.com/nats-io/nats.go/jetstream"
)

// TestNakedBounded: the given-back sequences a run remembers are dropped
// at or below the consumer's ack floor, and the lowest half when there
// are more than nakedMax; the lowest unsettled one is the lowest left.
func TestNakedBounded(t *testing.T) {
	r := &run{}
	for s := uint64(1); s <= nakedMax+1; s++ {
		r.noteNak(s)
	}
	if n := len(r.naked); n != nakedMax+1-(nakedMax+1)/2 {
		t.Fatalf("%d sequences kept, want %d", n, nakedMax+1-(nakedMax+1)/2)
	}
	if low, want := r.lowestUnsettled(), uint64((nakedMax+1)/2+1); low != want {
		t.Fatalf("lowest %d, want %d", low, want)
	}
	r.ackFloor(&jetstream.ConsumerInfo{AckFloor: jetstream.SequenceInfo{Stream: nakedMax}})
	if n := len(r.naked); n != 1 {
		t.Fatalf("%d sequences kept above the ack floor, want 1", n)
	}
	if low := r.lowestUnsettled(); low != nakedMax+1 {
		t.Fatalf("lowest %d, want %d", low, nakedMax+1)
	}
	h := &held{seq: 7}
	r.held.push(h)
	if low := r.lowestUnsettled(); low != 7 {
		t.Fatalf("lowest %d with sequence 7 held, want 7", low)
	}
	h.gaveBack = true
	r.untrack(h)
	if _, ok := r.naked[7]; !ok {
		t.Fatal("a held message given back is not remembered")
	}
	h = &held{seq: 7}
	r.held.push(h)
	r.untrack(h) // settled: acknowledged
	if _, ok := r.naked[7]; ok {
		t.Fatal("a message acknowledged after its Nak is still remembered as given back")
	}
}
