package kafka_test

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/kafka"
	"github.com/streambind/streambind/stream"
)

// TestFetchFromBlackHoleReconnects: a fetch whose connection goes silent
// (a black hole: the broker never answers) is given up after max-wait
// plus request.timeout.ms, with a WARN line, and the partition is read on
// a new connection once the path is back: the read deadline that lets a
// late empty answer through still bounds a dead one.
func TestFetchFromBlackHoleReconnects(t *testing.T) {
	t.Parallel()
	c, hl := startHoleCluster(t)
	rec := &logRecorder{}
	b, err := kafka.New(context.Background(), stream.BinderSettings{Name: "kafka", Type: kafka.Type, Logger: rec.logger(),
		Environment: map[string]any{"brokers": c.Brokers(), "dial-timeout": "2s"}})
	if err != nil {
		t.Fatal(err)
	}
	closeBinder(t, b)
	dest := uniqueTopic(t)
	p := bindProducer(t, b, dest, 1)
	got := make(chan string, 16)
	spec := consumerSpec(dest, "g-"+dest, func(_ context.Context, m stream.Envelope) error {
		got <- string(m.Payload)
		return nil
	})
	// Heartbeats far apart, as in TestReadCommittedBlackHoleWarns: a
	// heartbeat through the black hole fails after the 1s request timeout,
	// before the fetch, and ends the generation, whose fetcher then stops
	// without having timed out (CI: no WARN within 5.5s).
	spec.Extension = map[string]any{"configuration": map[string]any{"request.timeout.ms": 1000,
		"heartbeat.interval.ms": 10000, "session.timeout.ms": 45000}}
	startConsumer(t, b, spec)
	send := func(id string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := p.Send(ctx, stream.Envelope{Payload: []byte(id), Headers: map[string]string{idHeader: id}}); err != nil {
			t.Fatal(err)
		}
	}
	wait := func(id string, within time.Duration) {
		t.Helper()
		timeout := time.After(within)
		for {
			select {
			case m := <-got:
				if m == id {
					return
				}
			case <-timeout:
				t.Fatalf("%s not received within %s", id, within)
			}
		}
	}
	send("before")
	wait("before", 20*time.Second)

	const warn = "kafka: fetch got no answer in time"
	start := time.Now()
	hl.start()
	var once sync.Once
	end := func() { once.Do(func() { hl.hole.Store(false) }) }
	t.Cleanup(end)
	// max-wait (default 500ms) + request timeout 1s, the fetch in flight
	// sent up to that before the hole: a WARN within about 1.5s.
	bound := kafka.DefaultMaxWait + time.Second
	// The slack: alone it comes at 1.5s every time; in a full run under
	// load once only after more than 3.5s. The fix it guards against is a
	// fetch given up only after max-wait plus the default request timeout
	// (10.5s), or never.
	for rec.count(slog.LevelWarn, warn, start) == 0 {
		if time.Since(start) > bound+4*time.Second {
			t.Fatalf("no %q line within %s of the black hole (bound %s)", warn, time.Since(start).Round(time.Millisecond), bound)
		}
		time.Sleep(20 * time.Millisecond) // polls the log recorder
	}
	t.Logf("the silent fetch was given up %s after the black hole began (bound %s)", time.Since(start).Round(time.Millisecond), bound)
	end()
	send("after")
	wait("after", 30*time.Second)
	t.Logf("received again %s after the black hole began", time.Since(start).Round(time.Millisecond))
}
