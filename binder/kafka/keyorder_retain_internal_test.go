package kafka

import (
	"testing"

	kafkago "github.com/segmentio/kafka-go"
)

// TestPrefixKeepsNoHandledMessage: a message handled behind the first
// unhandled one of its partition (ordering: key; another key stalls the
// prefix) is not kept by the prefix until the prefix passes it: only its
// offset and that it was handled are. Held, a key Nak'ed for ever kept
// up to concurrency × queue-capacity handled messages' payloads in
// memory for as long as it stalled. The first unhandled message keeps
// its own (the stall WARN names its key).
func TestPrefixKeepsNoHandledMessage(t *testing.T) {
	p := &prefix{window: make(chan struct{}, 4), idle: make(chan struct{})}
	kms := make([]*keyedMsg, 4)
	for i := range kms {
		kms[i] = &keyedMsg{m: kafkago.Message{Offset: int64(10 + i), Key: []byte{'k', byte('0' + i)}, Value: make([]byte, 1<<10)}}
		if _, ok := p.add(kms[i].m.Offset, kms[i], nil); !ok {
			t.Fatalf("add %d refused", i)
		}
	}
	// Offset 10 (seq 0) stays unhandled; 11..13 are handled behind it.
	for _, km := range kms[1:] {
		p.handled(km.seq)
	}
	if len(p.ents) != 4 || p.base != 0 {
		t.Fatalf("prefix moved past the unhandled message: base %d, %d entries", p.base, len(p.ents))
	}
	if p.ents[0].km != kms[0] {
		t.Errorf("the first unhandled message is not kept (the stall WARN names it)")
	}
	for i, e := range p.ents[1:] {
		if !e.done || e.off != int64(11+i) {
			t.Errorf("entry %d: offset %d done %v, want offset %d handled", i+1, e.off, e.done, 11+i)
		}
		if e.km != nil {
			t.Errorf("entry %d (offset %d): the handled message is kept by the prefix until it passes it", i+1, e.off)
		}
	}
}
