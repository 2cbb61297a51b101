package binding

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/streambind/streambind/stream"
)

func TestDestinations(t *testing.T) {
	noSpace := func(d string) error {
		if strings.Contains(d, " ") {
			return errors.New("bad " + d)
		}
		return nil
	}
	got, err := Destinations(" a, ,b ,,c", noSpace)
	if err != nil || !reflect.DeepEqual(got, []string{"a", "b", "c"}) {
		t.Fatalf("got %q, %v", got, err)
	}
	if got, err := Destinations(" , ", noSpace); err != nil || len(got) != 0 {
		t.Fatalf("empty list: %q, %v", got, err)
	}
	if _, err := Destinations("a,b c", noSpace); err == nil || err.Error() != "bad b c" {
		t.Fatalf("want the check's error, got %v", err)
	}
}

func TestCheckConsumer(t *testing.T) {
	h := func(context.Context, stream.Envelope) error { return nil }
	bh := func(context.Context, []stream.Envelope) error { return nil }
	one := []string{"d"}
	for _, tc := range []struct {
		name  string
		spec  stream.ConsumerSpec
		dests []string
		want  string
	}{
		{"ok", stream.ConsumerSpec{Handler: h}, one, ""},
		{"no destination", stream.ConsumerSpec{Handler: h}, nil, "no destination"},
		{"batch without batch handler", stream.ConsumerSpec{Handler: h, Consumer: stream.ConsumerConfig{BatchMode: true}}, one, "batch mode without a batch handler"},
		{"batch ok", stream.ConsumerSpec{BatchHandler: bh, Consumer: stream.ConsumerConfig{BatchMode: true}}, one, ""},
		{"no handler", stream.ConsumerSpec{BatchHandler: bh}, one, "no handler"},
		{"index too large", stream.ConsumerSpec{Handler: h, Consumer: stream.ConsumerConfig{Partitioned: true, InstanceIndex: 2, InstanceCount: 2}}, one, "instance-index 2 is not below instance-count 2"},
		{"negative index", stream.ConsumerSpec{Handler: h, Consumer: stream.ConsumerConfig{Partitioned: true, InstanceIndex: -1, InstanceCount: 2}}, one, "instance-index -1 is not below instance-count 2"},
		{"count 0 counts as 1", stream.ConsumerSpec{Handler: h, Consumer: stream.ConsumerConfig{Partitioned: true, InstanceIndex: 1}}, one, "instance-index 1 is not below instance-count 1"},
		{"partitioned ok", stream.ConsumerSpec{Handler: h, Consumer: stream.ConsumerConfig{Partitioned: true, InstanceIndex: 1, InstanceCount: 2}}, one, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckConsumer(tc.spec, tc.dests)
			if (err == nil) != (tc.want == "") || (err != nil && err.Error() != tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
}

func TestError(t *testing.T) {
	down := stream.Unavailable(errors.New("dial refused"))
	got := Error(down, errors.New("bind consumer b: dial refused"))
	if !errors.Is(got, stream.ErrUnavailable) || got.Error() != "bind consumer b: dial refused" {
		t.Fatalf("got %v", got)
	}
	wrapped := errors.New("bind consumer b: bad")
	if got := Error(errors.New("bad"), wrapped); got != wrapped || errors.Is(got, stream.ErrUnavailable) {
		t.Fatalf("got %v", got)
	}
}

type fakeConsumer struct {
	name  string
	err   error
	calls *[]string
	stats stream.DeadLetterStats
}

func (f *fakeConsumer) do(op string) error {
	*f.calls = append(*f.calls, op+" "+f.name)
	return f.err
}
func (f *fakeConsumer) Start(context.Context) error             { return f.do("start") }
func (f *fakeConsumer) Stop(context.Context) error              { return f.do("stop") }
func (f *fakeConsumer) Pause(context.Context) error             { return f.do("pause") }
func (f *fakeConsumer) Resume(context.Context) error            { return f.do("resume") }
func (f *fakeConsumer) Health(context.Context) error            { return f.do("health") }
func (f *fakeConsumer) DeadLetterStats() stream.DeadLetterStats { return f.stats }

func TestGroup(t *testing.T) {
	var calls []string
	errB := errors.New("b failed")
	g := Group[*fakeConsumer]{
		{name: "a", calls: &calls, stats: stream.DeadLetterStats{Truncated: 1, HeadersOnly: 2, Dropped: 3}},
		{name: "b", calls: &calls, err: errB, stats: stream.DeadLetterStats{Truncated: 10, HeadersOnly: 20, Dropped: 30}},
		{name: "c", calls: &calls},
	}
	ctx := context.Background()
	for _, f := range []func(context.Context) error{g.Start, g.Pause, g.Resume, g.Stop, g.Health} {
		if err := f(ctx); !errors.Is(err, errB) {
			t.Fatalf("got %v, want b's error", err)
		}
	}
	want := "start a,start b,start c,pause a,pause b,pause c,resume a,resume b,resume c,stop a,stop b,stop c,health a,health b,health c"
	if got := strings.Join(calls, ","); got != want {
		t.Fatalf("calls\n%s\nwant\n%s", got, want)
	}
	if got := g.DeadLetterStats(); got != (stream.DeadLetterStats{Truncated: 11, HeadersOnly: 22, Dropped: 33}) {
		t.Fatalf("stats %+v", got)
	}
}

type closer struct {
	entered *sync.WaitGroup
	all     chan struct{}
	err     error
}

func TestCloseAllConsumersAtOnceThenProducers(t *testing.T) {
	const n = 3
	var entered sync.WaitGroup
	entered.Add(n)
	all := make(chan struct{})
	go func() { entered.Wait(); close(all) }()
	errC := errors.New("consumer failed")
	cs := []*closer{{entered: &entered, all: all}, {entered: &entered, all: all, err: errC}, {entered: &entered, all: all}}
	var consumersDone atomic.Int32
	closeConsumer := func(c *closer, ctx context.Context) error {
		c.entered.Done()
		select { // each returns only once all have begun: they run at once
		case <-c.all:
		case <-time.After(5 * time.Second):
			return errors.New("consumers closed one after another")
		}
		consumersDone.Add(1)
		return c.err
	}
	errP := errors.New("producer failed")
	var order []string
	closeProducer := func(p string, ctx context.Context) error {
		if consumersDone.Load() != n {
			return errors.New("producer closed before the consumers")
		}
		order = append(order, p)
		if p == "p2" {
			return errP
		}
		return nil
	}
	errs := CloseAll(context.Background(), cs, closeConsumer, []string{"p1", "p2"}, closeProducer)
	if len(errs) != 2 || errs[0] != errC || errs[1] != errP {
		t.Fatalf("errors %v, want [consumer failed producer failed]", errs)
	}
	if strings.Join(order, ",") != "p1,p2" {
		t.Fatalf("producer order %v", order)
	}
}
