package bindertest

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/streambind/streambind/stream"
)

// RunShutdownKeepsOrder runs the subtest ShutdownKeepsOrder of the suite
// alone, for a binder whose [Run] skips it to run it against a broker set
// up otherwise (RabbitMQ: a virtual host of its own).
func RunShutdownKeepsOrder(t *testing.T, h Harness) {
	t.Helper()
	h = h.withDefaults(t)
	testShutdownKeepsOrder(newSuite(t, h))
}

// testShutdownKeepsOrder: a message in its in-process retry back-off when
// the app shuts down is given back unhandled, and so is every message
// queued behind it in its lane (here the one lane of concurrency 1): none
// of them is handled during the shutdown, and the next instance of the
// group handles them in the order sent, the failed one first, each once
// (the trial: on NATS the message after it was handled during the
// shutdown, its output sent, and the failed one came back only after the
// restart). Through stream.App, as a consumer and as a function with an
// output taken by a required group (pipelined where the binder
// pipelines). The messages are sent while the binding is stopped
// (auto-startup false), so that the binder holds them all from its first
// read on. Harness.Skip may name a variant ("ShutdownKeepsOrder/function").
func testShutdownKeepsOrder(s *suite) {
	for _, v := range []struct {
		name string
		fn   bool
		conc int
	}{{"consumer", false, 1}, {"function", true, 1}, {"one-key-concurrency-4", false, 4}} {
		s.t.Run(v.name, func(t *testing.T) {
			if reason, ok := s.h.Skip["ShutdownKeepsOrder/"+v.name]; ok {
				t.Skip(reason)
			}
			sub := *s
			sub.t = t
			shutdownKeepsOrder(&sub, v.name, v.fn, v.conc)
		})
	}
}

// orderLog records the payloads a handler got, in order, by app run.
type orderLog struct {
	mu      sync.Mutex
	runs    [2][]string
	attempt chan struct{} // a send per failed attempt of "big" (first run)
	changed chan struct{} // capacity 1: something was added
}

func (l *orderLog) add(run int, p string) {
	l.mu.Lock()
	l.runs[run] = append(l.runs[run], p)
	l.mu.Unlock()
	select {
	case l.changed <- struct{}{}:
	default:
	}
}

func (l *orderLog) of(run int) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.runs[run])
}

// shutdownKeepsOrder runs the scenario with a function (else a consumer)
// at concurrency conc; above 1 the messages have one key, sent to one
// of 4 partitions.
func shutdownKeepsOrder(s *suite, name string, fn bool, conc int) {
	typ := s.h.AppType
	if typ == "" {
		typ = "bindertest"
	}
	dest := s.dest("shutorder-" + name)
	after := []string{"after1", "after2", "after3"}
	log := &orderLog{attempt: make(chan struct{}, 8), changed: make(chan struct{}, 1)}
	newApp := func(run int, autoStart bool) *stream.App {
		handle := func(p string) error {
			log.add(run, p)
			if run == 0 && p == "big" {
				log.attempt <- struct{}{}
				return errors.New("bindertest: big always fails in the first run")
			}
			return nil
		}
		fns := stream.NewCatalog()
		def, in := "sink", "sink-in-0"
		send := stream.BindingConfig{Destination: dest, ContentType: "text/plain"}
		if conc > 1 {
			send.Producer = stream.ProducerConfig{PartitionKeyExpression: "headers['pk']", PartitionCount: 4}
		}
		bindings := map[string]stream.BindingConfig{"send": send}
		if fn {
			def, in = "relay", "relay-in-0"
			stream.AddFunction(fns, "relay", func(_ context.Context, p string) (string, error) { return p, handle(p) })
			// A required group, so that the outputs are taken: a RabbitMQ
			// producer publishes mandatory, and an output no queue takes
			// fails its send (ErrUnroutable, transient). The pipelined
			// input is then Nak'ed and retried in place with the binding's
			// back-off (an hour): the second run handled big twice and
			// held after2 and after3 behind it for the rest of the test
			// (when big's failed send came back before they were handed
			// out), or passed only because the test ended first.
			bindings["relay-out-0"] = stream.BindingConfig{Destination: dest + "-out", ContentType: "text/plain",
				Producer: stream.ProducerConfig{RequiredGroups: []string{"check"}}}
		} else {
			stream.AddConsumer(fns, "sink", func(_ context.Context, p string) error { return handle(p) })
		}
		bindings[in] = stream.BindingConfig{Destination: dest, Group: "g", ContentType: "text/plain",
			Consumer: stream.ConsumerConfig{AutoStartup: &autoStart, MaxAttempts: 3, Concurrency: conc,
				// Longer than the test: the back-off ends only by the shutdown.
				BackOffInitialInterval: time.Hour, BackOffMaxInterval: time.Hour, BackOffMultiplier: 2}}
		cfg := &stream.Config{
			Function:       stream.FunctionConfig{Definition: def},
			OutputBindings: "send",
			DefaultBinder:  "b",
			Binders:        map[string]stream.BinderConfig{"b": {Type: typ}},
			Bindings:       bindings,
		}
		if ext := s.h.AppConsumerExtension; ext != nil {
			cfg.Extensions = map[string]stream.ExtensionConfig{typ: {Default: stream.ExtensionBindingConfig{Consumer: ext}}}
		}
		factory := func(context.Context, stream.BinderSettings) (stream.Binder, error) { return s.h.NewBinder(s.t), nil }
		app, err := stream.NewApp(cfg, fns, stream.WithBinderType(typ, factory), stream.WithoutSignals(), stream.WithLogger(s.log))
		if err != nil {
			s.t.Fatal(err)
		}
		return app
	}
	inName := "sink-in-0"
	if fn {
		inName = "relay-in-0"
	}

	// First run: big fails, the others are held behind it.
	app := newApp(0, false)
	stop := RunApp(s.t, app)
	for _, p := range append([]string{"big"}, after...) {
		ctx, cancel := s.ctx()
		err := app.Bridge().Send(ctx, "send", stream.NewMessage(p, IDHeader, p, "pk", "k"))
		cancel()
		if err != nil {
			s.t.Fatalf("Send(%s): %v", p, err)
		}
	}
	s.do("Start "+inName, app.Binding(inName).Start)
	select {
	case <-log.attempt:
	case <-time.After(s.h.Timeout):
		s.t.Fatalf("big was not handled within %s; handled: %v", s.h.Timeout, log.of(0))
	}
	// big is in its back-off now (or about to be): shut down.
	if err := stop(); err != nil {
		s.t.Errorf("first run: Run: %v", err)
	}
	first := log.of(0)
	for _, p := range after {
		if slices.Contains(first, p) {
			s.t.Errorf("%s was handled during the shutdown of the run in which big, sent before it, was given back in its back-off (handled: %v): it overtook big", p, first)
		}
	}

	// Second run of the group: big, then the others, in the order sent.
	app = newApp(1, true)
	RunApp(s.t, app)
	// What the first run handled (reported above) does not come again.
	handledBefore := func(p string) bool { return p != "big" && slices.Contains(first, p) }
	want := slices.DeleteFunc(append([]string{"big"}, after...), handledBefore)
	timeout := time.After(s.h.Timeout)
	for {
		got := log.of(1)
		if !slices.ContainsFunc(want, func(p string) bool { return !slices.Contains(got, p) }) {
			break
		}
		select {
		case <-log.changed:
		case <-timeout:
			s.t.Fatalf("after the restart, not every message was handled within %s: %v (first run: %v)", s.h.Timeout, got, first)
		}
	}
	// Each once: nothing comes again (a retry, a redelivery) while the
	// suite watches.
	quiet := time.NewTimer(s.h.Quiet)
	<-quiet.C
	got := log.of(1)
	for _, p := range want {
		if n := count(got, p); n != 1 {
			s.t.Errorf("after the restart %s was handled %d times, want once (handled by the second run: %v; by the first: %v)", p, n, got, first)
		}
	}
	// The order of the first deliveries.
	var order []string
	for _, p := range got {
		if !slices.Contains(order, p) {
			order = append(order, p)
		}
	}
	if !slices.Equal(order, want) {
		s.t.Errorf("after the restart the messages came in the order %v, want %v (handled by the second run: %v; by the first: %v)", order, want, got, first)
	}
}

// count returns how many times p is in ps.
func count(ps []string, p string) int {
	n := 0
	for _, q := range ps {
		if q == p {
			n++
		}
	}
	return n
}
