package stream

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"
)

// An unmarked arrival (a dead letter replayed to the destination, a
// message forwarded with its headers) brings another arrival's retry
// headers: the function must not see that arrival's first-failure and due
// times on what is its first attempt, any more than its attempt count
// (found by the retries trial: after `streambind dlq replay` the function
// saw x-streambind-retry-first-failure of the previous arrival with no
// x-streambind-retry-attempts).
func TestTakeRetryMarkDropsAnotherArrivalsTimes(t *testing.T) {
	for _, h := range []Headers{
		{"id": "m1", HeaderRetryAttempts: "3", HeaderRetryFirstFailure: "1000", HeaderRetryDue: "2000"},
		{"id": "m1", HeaderRetryFirstFailure: "1000"}, // no count: still another arrival's
		{"id": "m1", HeaderRetryDue: "2000"},
	} {
		env, retry := takeRetryMark(Envelope{Headers: h})
		if retry || env.Headers["id"] != "m1" {
			t.Fatalf("%v: retry %t, headers %v", h, retry, env.Headers)
		}
		for _, k := range []string{HeaderRetryAttempts, HeaderRetryFirstFailure, HeaderRetryDue} {
			if v, ok := env.Headers[k]; ok {
				t.Errorf("%v: the handler sees %s=%s of another arrival", h, k, v)
			}
		}
		if len(h) < 2 {
			t.Errorf("the binder's headers were changed: %v", h)
		}
	}
	// A marked delivery keeps them: they are its own.
	marked := Headers{HeaderRetryAttempts: "1", HeaderRetryFirstFailure: "1000", HeaderRetryDue: "2000"}
	MarkRetryDelivery(marked)
	env, retry := takeRetryMark(Envelope{Headers: marked})
	if !retry || env.Headers[HeaderRetryFirstFailure] != "1000" || env.Headers[HeaderRetryDue] != "2000" {
		t.Errorf("marked: retry %t, headers %v", retry, env.Headers)
	}
}

// The start-up warning about in-process retry keys that do not apply
// names the delays as durations (the telemetry logger turned a
// []time.Duration attribute into "[2e+08 5e+08 1e+09]").
func TestWarnRetryKeysUnusedDelaysReadable(t *testing.T) {
	var mu sync.Mutex
	var got []slog.Value
	h := recordHandler{fn: func(r slog.Record) {
		r.Attrs(func(a slog.Attr) bool {
			if a.Key == "retry-delays" {
				mu.Lock()
				got = append(got, a.Value.Resolve())
				mu.Unlock()
			}
			return true
		})
	}}
	a := &App{log: slog.New(h), cfg: &Config{Origins: map[string]string{"stream.bindings.b-in-0.consumer.max-attempts": "application.yaml:9"}}}
	b := &Binding{name: "b-in-0"}
	b.cfg.Consumer.RetryDelays = []time.Duration{200 * time.Millisecond, time.Second, time.Minute}
	a.warnRetryKeysUnused(b)
	if len(got) != 1 {
		t.Fatalf("warnings with retry-delays: %d, want 1", len(got))
	}
	if got[0].Kind() != slog.KindString || got[0].String() != "[200ms 1s 1m0s]" {
		t.Errorf("retry-delays logged as %v (%s), want the string [200ms 1s 1m0s]", got[0], got[0].Kind())
	}
}

type recordHandler struct{ fn func(slog.Record) }

func (h recordHandler) Enabled(context.Context, slog.Level) bool      { return true }
func (h recordHandler) Handle(_ context.Context, r slog.Record) error { h.fn(r); return nil }
func (h recordHandler) WithAttrs([]slog.Attr) slog.Handler            { return h }
func (h recordHandler) WithGroup(string) slog.Handler                 { return h }
