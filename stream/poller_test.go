package stream_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/streambind/streambind/stream"
)

type tickMsg struct{ V string }

// supplierApp runs supplier def (a supplier, or a composition starting
// with one) into consumer sink with poller settings p; got receives what
// sink gets, calls the time of each supplier call.
type supplierApp struct {
	got   chan string
	mu    sync.Mutex
	calls []time.Time
}

func (s *supplierApp) callTimes() []time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Time(nil), s.calls...)
}

// runSupplier starts the app; values are what the supplier returns call by
// call ("" for nothing), then nothing.
func runSupplier(t *testing.T, def string, p stream.PollerConfig, values ...string) *supplierApp {
	t.Helper()
	s := &supplierApp{got: make(chan string, 100)}
	fns := stream.NewCatalog()
	stream.AddSupplier(fns, "tick", func(context.Context) (*tickMsg, error) {
		s.mu.Lock()
		defer s.mu.Unlock()
		i := len(s.calls)
		s.calls = append(s.calls, time.Now())
		if i >= len(values) || values[i] == "" {
			return nil, nil
		}
		return &tickMsg{V: values[i]}, nil
	})
	stream.AddFunction(fns, "upper", func(_ context.Context, m tickMsg) (tickMsg, error) { return tickMsg{V: strings.ToUpper(m.V)}, nil })
	stream.AddConsumer(fns, "sink", func(_ context.Context, m tickMsg) error { s.got <- m.V; return nil })
	out := strings.ReplaceAll(strings.Split(def, ";")[0], "|", "") + "-out-0"
	cfg := &stream.Config{
		Function: stream.FunctionConfig{Definition: def},
		Bindings: map[string]stream.BindingConfig{
			out:         {Destination: "ticks", Producer: stream.ProducerConfig{Poller: p, RequiredGroups: []string{"g"}}},
			"sink-in-0": {Destination: "ticks", Group: "g"},
		},
	}
	start(t, cfg, fns)
	return s
}

func (s *supplierApp) expect(t *testing.T, want ...string) {
	t.Helper()
	for _, w := range want {
		if v := recv(t, s.got); v != w {
			t.Fatalf("got %q, want %q", v, w)
		}
	}
}

// An hour's fixed delay: what arrives came from the first poll.
func TestPollerMaxMessagesPerPoll(t *testing.T) {
	t.Run("supplier", func(t *testing.T) {
		s := runSupplier(t, "tick;sink", stream.PollerConfig{FixedDelay: time.Hour, MaxMessagesPerPoll: 3}, "a", "b", "c", "d")
		s.expect(t, "a", "b", "c")
	})
	t.Run("composition", func(t *testing.T) {
		s := runSupplier(t, "tick|upper;sink", stream.PollerConfig{FixedDelay: time.Hour, MaxMessagesPerPoll: 2}, "a", "b", "c")
		s.expect(t, "A", "B")
	})
	t.Run("no limit, ends at nothing", func(t *testing.T) {
		s := runSupplier(t, "tick;sink", stream.PollerConfig{FixedDelay: time.Hour, MaxMessagesPerPoll: -1}, "a", "b", "c", "d", "e", "", "f")
		s.expect(t, "a", "b", "c", "d", "e")
		// The sixth call had nothing and ended the poll; "f" would need
		// the next, an hour away.
		if n := len(s.callTimes()); n < 6 {
			t.Fatalf("%d calls", n)
		}
	})
}

func TestPollerInitialDelay(t *testing.T) {
	begin := time.Now()
	s := runSupplier(t, "tick;sink", stream.PollerConfig{InitialDelay: 300 * time.Millisecond, FixedDelay: time.Hour}, "a")
	s.expect(t, "a")
	if d := s.callTimes()[0].Sub(begin); d < 300*time.Millisecond {
		t.Fatalf("first poll %s after the start, before the initial delay", d)
	}
}

func TestPollerCronSchedule(t *testing.T) {
	begin := time.Now()
	s := runSupplier(t, "tick|upper;sink", stream.PollerConfig{Cron: "* * * * * *", FixedDelay: time.Hour}, "a", "b")
	s.expect(t, "A", "B")
	calls := s.callTimes()
	// Each poll at a whole second, the first after the start.
	if first := begin.Truncate(time.Second).Add(time.Second); calls[0].Before(first) {
		t.Fatalf("first poll at %s, before the first whole second after the start (%s)", calls[0].Format(time.StampMicro), first.Format(time.StampMicro))
	}
	if calls[1].Truncate(time.Second).Equal(calls[0].Truncate(time.Second)) {
		t.Fatalf("two polls in one second: %s, %s", calls[0].Format(time.StampMicro), calls[1].Format(time.StampMicro))
	}
}

// A supplier returns a pointer so that nil says "nothing"; with
// content-type text/plain the pointed-to text is sent (before, *string
// was refused as not a string: the value was dropped at each poll).
func TestPointerSupplierTextPlain(t *testing.T) {
	got := make(chan string, 10)
	fns := stream.NewCatalog()
	stream.AddSupplier(fns, "tick", func(context.Context) (*string, error) { s := "hello"; return &s, nil })
	stream.AddSupplier(fns, "raw", func(context.Context) (*[]byte, error) { b := []byte("bytes"); return &b, nil })
	stream.AddConsumer(fns, "sink", func(_ context.Context, s *string) error { got <- *s; return nil })
	poll := stream.PollerConfig{FixedDelay: time.Hour}
	cfg := &stream.Config{
		Function: stream.FunctionConfig{Definition: "tick;raw;sink"},
		Bindings: map[string]stream.BindingConfig{
			"tick-out-0": {Destination: "t", ContentType: "text/plain", Producer: stream.ProducerConfig{Poller: poll, RequiredGroups: []string{"g"}}},
			"raw-out-0":  {Destination: "t", ContentType: "application/octet-stream", Producer: stream.ProducerConfig{Poller: poll, RequiredGroups: []string{"g"}}},
			"sink-in-0":  {Destination: "t", Group: "g", ContentType: "text/plain"},
		},
	}
	start(t, cfg, fns)
	seen := map[string]bool{recv(t, got): true, recv(t, got): true}
	if !seen["hello"] || !seen["bytes"] {
		t.Fatalf("got %v", seen)
	}
}
