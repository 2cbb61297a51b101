package kafka

import (
	"slices"
	"testing"

	kafkago "github.com/segmentio/kafka-go"
)

// TestPartQTakeDropsGaveUp: take leaves out the records whose Sends gave
// up (but for the first, which dispatch checked just before) and keeps the
// queue's order, record count and bytes right; skipAbandoned drops those
// at the head.
func TestPartQTakeDropsGaveUp(t *testing.T) {
	mk := func(id string, gaveUp bool) *sendReq {
		r := &sendReq{msg: kafkago.Message{Value: []byte(id)}, size: 10}
		r.abandoned.Store(gaveUp)
		return r
	}
	ids := func(rs []*sendReq) []string {
		var out []string
		for _, r := range rs {
			out = append(out, string(r.msg.Value))
		}
		return out
	}
	q := &partQ{}
	for _, r := range []*sendReq{mk("g1", true), mk("g2", true), mk("a", false), mk("g3", true), mk("b", false), mk("c", false), mk("g4", true), mk("d", false)} {
		q.push(r)
	}
	q.skipAbandoned()
	if q.len() != 6 || q.bytes != 60 {
		t.Fatalf("after skipAbandoned: %d records, %d bytes; want 6, 60", q.len(), q.bytes)
	}
	// At most 2 records: g3 is dropped on the way, c waits.
	if got := ids(q.take(2, 1000)); !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("take = %v, want [a b]", got)
	}
	if q.len() != 3 || q.bytes != 30 {
		t.Fatalf("after take: %d records, %d bytes; want 3, 30", q.len(), q.bytes)
	}
	if got := ids(q.take(10, 1000)); !slices.Equal(got, []string{"c", "d"}) {
		t.Fatalf("take = %v, want [c d]", got)
	}
	if q.len() != 0 || q.bytes != 0 {
		t.Fatalf("emptied: %d records, %d bytes; want 0, 0", q.len(), q.bytes)
	}
	// A record of SendAsync (a callback) is always waited for.
	r := mk("async", true)
	r.cb = func(error) {}
	q.push(mk("e", false))
	q.push(r)
	if got := ids(q.take(10, 1000)); !slices.Equal(got, []string{"e", "async"}) {
		t.Fatalf("take = %v, want [e async]", got)
	}
}
