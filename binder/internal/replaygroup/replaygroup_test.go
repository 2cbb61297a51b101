package replaygroup

import (
	"slices"
	"testing"

	"github.com/streambind/streambind/stream"
)

func TestDrop(t *testing.T) {
	env := func(id, group string) *stream.Envelope {
		e := &stream.Envelope{Headers: stream.Headers{"id": id}}
		if group != "" {
			e.Headers[stream.HeaderReplayGroup] = group
		}
		return e
	}
	self := func(e *stream.Envelope) *stream.Envelope { return e }
	xs := []*stream.Envelope{env("1", ""), env("2", "inventory"), env("3", "payment"), env("4", ""), env("5", "inventory")}
	orig := slices.Clone(xs)
	ids := func(es []*stream.Envelope) (out []string) {
		for _, e := range es {
			out = append(out, e.Headers["id"])
		}
		return out
	}
	for _, c := range []struct {
		group         string
		kept, skipped []string
	}{
		{"payment", []string{"1", "3", "4"}, []string{"2", "5"}},
		{"inventory", []string{"1", "2", "4", "5"}, []string{"3"}},
		{"", []string{"1", "4"}, []string{"2", "3", "5"}}, // anonymous: never the one addressed
	} {
		var skipped []*stream.Envelope
		kept := Drop(xs, c.group, self, func(e *stream.Envelope) { skipped = append(skipped, e) })
		if !slices.Equal(ids(kept), c.kept) || !slices.Equal(ids(skipped), c.skipped) {
			t.Errorf("group %q: kept %v, skipped %v; want %v, %v", c.group, ids(kept), ids(skipped), c.kept, c.skipped)
		}
		if !slices.Equal(xs, orig) {
			t.Fatalf("group %q: xs modified", c.group)
		}
	}
	plain := []*stream.Envelope{env("1", ""), env("2", "")}
	if n := testing.AllocsPerRun(100, func() {
		if got := Drop(plain, "payment", self, func(*stream.Envelope) { t.Fatal("skipped") }); &got[0] != &plain[0] {
			t.Fatal("not xs itself")
		}
	}); n != 0 {
		t.Errorf("%v allocations with nothing to skip, want 0", n)
	}
}
