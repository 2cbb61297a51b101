package binding

import (
	"errors"
	"slices"
	"testing"

	"github.com/streambind/streambind/stream"
)

func TestRegistry(t *testing.T) {
	var r Registry[int, string]
	if r.Closed() || r.CheckOpen() != nil {
		t.Fatal("a new registry is closed")
	}
	if err := r.AddConsumers(1, 2); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"a", "b", "c"} {
		if err := r.AddProducer(p); err != nil {
			t.Fatal(err)
		}
	}
	r.RemoveProducer("b")
	cs, ps, first := r.Close()
	slices.Sort(cs)
	slices.Sort(ps)
	if !first || !slices.Equal(cs, []int{1, 2}) || !slices.Equal(ps, []string{"a", "c"}) {
		t.Fatalf("Close = %v %v %v", cs, ps, first)
	}
	if cs, ps, first := r.Close(); first || cs != nil || ps != nil {
		t.Errorf("second Close = %v %v %v, want nothing", cs, ps, first)
	}
	if !r.Closed() || !errors.Is(r.CheckOpen(), stream.ErrClosed) {
		t.Error("closed registry reports open")
	}
	if err := r.AddConsumers(3); !errors.Is(err, stream.ErrClosed) {
		t.Errorf("AddConsumers after Close: %v", err)
	}
	if err := r.AddProducer("d"); !errors.Is(err, stream.ErrClosed) {
		t.Errorf("AddProducer after Close: %v", err)
	}
}

func TestGroupOne(t *testing.T) {
	a, b := &fakeConsumer{}, &fakeConsumer{}
	if got := (Group[*fakeConsumer]{a}).One(); got != stream.Consumer(a) {
		t.Errorf("One of one member = %v, want the member", got)
	}
	if got, ok := (Group[*fakeConsumer]{a, b}).One().(Group[*fakeConsumer]); !ok || len(got) != 2 {
		t.Errorf("One of two members = %v, want the group", got)
	}
}
