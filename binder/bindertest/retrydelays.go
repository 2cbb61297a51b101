package bindertest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/streambind/streambind/stream"
)

// RetryDelaysHarness describes a binder for [RunRetryDelays], the test of
// non-blocking retries (consumer.retry-delays, docs/retries.md).
type RetryDelaysHarness struct {
	// Type and Factory register the binder with the app; Environment is
	// its stream.binders.<name>.environment.
	Type        string
	Factory     stream.BinderFactory
	Environment map[string]any
	// Destination is a destination name of the test's own.
	Destination string
	// Interrupt, if set, is called while the retried message waits out its
	// first delay (after every other message was handled): it cuts the
	// binder's broker connections (its own only). The message must still
	// come back, nothing may be lost.
	Interrupt func(t *testing.T)
	// Duplicates: the binder may deliver a message again after the
	// interruption (Kafka: offsets not yet committed), so duplicates are
	// tolerated; losses are failures either way.
	Duplicates bool
	// Others is how many other messages are sent behind the retried one.
	// Default 1000.
	Others int
	// Logger, default discards.
	Logger *slog.Logger
}

// The delays RunRetryDelays configures.
const (
	retryDelay1 = 2 * time.Second
	retryDelay2 = time.Second
	// slack is the generous upper bound added to the delays: a shared
	// machine may be slow, but a delay must not be much longer than asked.
	retryDelaySlack = 20 * time.Second
	// retryDelayEarly is how much shorter than asked a delay may look:
	// RabbitMQ expires a wait queue's copy by its own clock in whole
	// milliseconds (a full run measured 1.999 s for 2 s and 998.5 ms for
	// 1 s, between two handler calls on the test's clock).
	retryDelayEarly = 5 * time.Millisecond
)

// RunRetryDelays runs an app with one consumer binding (concurrency 1,
// dlq, retry-delays 2s,1s) on the binder and sends three kinds of message
// to it, in this order:
//
//   - "retried" fails twice and then succeeds: it must be handled a third
//     time, no sooner than 2s after the first failure and 1s after the
//     second, and carry the retry headers (attempts, first-failure time,
//     the last x-exception-message);
//   - "poison" always fails: after its third attempt it must reach the
//     DLQ (read with dead-letters-of) with x-streambind-retry-attempts = 3
//     and the last failure's x-exception-message;
//   - "redriven" always fails and arrives with the retry headers of an
//     earlier arrival (attempts 2, a first failure and a due time long
//     ago), as a replayed dead letter does: attempts are counted per
//     arrival, so it too is handled 3 times (the first without the stale
//     attempts header) and dead-lettered with attempts 3 and its own
//     first-failure time;
//   - "permanent" fails with stream.Permanent: it is dead-lettered at once,
//     handled once, with x-streambind-retry-attempts = 1 (the attempts it
//     had) and its first failure's time, and no x-streambind-retry-due: a
//     binding with retry-delays records both on every dead letter;
//   - Others messages that succeed: all must be handled before the retried
//     message's first delay is over (they do not wait behind it).
func RunRetryDelays(t *testing.T, h RetryDelaysHarness) {
	t.Helper()
	if h.Others == 0 {
		h.Others = 1000
	}
	log := h.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	type attempt struct {
		at time.Time
		h  stream.Headers
	}
	var (
		mu        sync.Mutex
		attempts  = map[string][]attempt{}
		othersN   int                 // deliveries
		othersSet = map[string]bool{} // distinct
		othersEnd time.Time
		othersAll = make(chan struct{})
		retriedOK = make(chan struct{})
		deadCh    = make(chan stream.Message[string], 10)
	)
	manual := false // started once every message is sent
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "work", func(_ context.Context, m stream.Message[string]) error {
		mu.Lock()
		defer mu.Unlock()
		id := m.Payload
		if id != "retried" && id != "poison" && id != "redriven" && id != "permanent" {
			othersN++
			if othersSet[id] {
				return nil
			}
			if othersSet[id] = true; len(othersSet) == h.Others {
				othersEnd = time.Now()
				close(othersAll)
			}
			return nil
		}
		attempts[id] = append(attempts[id], attempt{at: time.Now(), h: m.Headers.Clone()})
		n := len(attempts[id])
		if id == "retried" && n == 3 {
			close(retriedOK)
			return nil
		}
		if id == "retried" && n > 3 {
			return nil // a duplicate; reported below
		}
		if id == "permanent" {
			return stream.Permanent(fmt.Errorf("permanent fails (attempt %d)", n))
		}
		return fmt.Errorf("%s fails (attempt %d)", id, n)
	})
	stream.AddConsumer(fns, "dead", func(_ context.Context, m stream.Message[string]) error {
		select {
		case deadCh <- m:
		default:
		}
		return nil
	})
	cfg := &stream.Config{
		Function:       stream.FunctionConfig{Definition: "work;dead"},
		OutputBindings: "send",
		DefaultBinder:  "b",
		Binders:        map[string]stream.BinderConfig{"b": {Type: h.Type, Environment: h.Environment}},
		Bindings: map[string]stream.BindingConfig{
			"send": {Destination: h.Destination, ContentType: "text/plain"},
			"work-in-0": {Destination: h.Destination, Group: "g", ContentType: "text/plain",
				Consumer: stream.ConsumerConfig{DLQ: true, Concurrency: 1, RetryDelays: []time.Duration{retryDelay1, retryDelay2}, AutoStartup: &manual}},
			"dead-in-0": {ContentType: "text/plain", Consumer: stream.ConsumerConfig{DeadLettersOf: "work-in-0"}},
		},
	}
	app, err := stream.NewApp(cfg, fns, stream.WithBinderType(h.Type, h.Factory), stream.WithoutSignals(), stream.WithLogger(log))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- app.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("Run: %v", err)
		}
	}()
	wait := func(ch <-chan struct{}, d time.Duration, what string) {
		t.Helper()
		select {
		case <-ch:
		case err := <-done:
			t.Fatalf("app stopped while waiting for %s: %v", what, err)
		case <-time.After(d):
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
	}
	wait(app.Ready(), 30*time.Second, "the app to be ready")
	br := app.Bridge()
	for _, id := range []string{"retried", "poison", "permanent"} {
		if err := br.Send(ctx, "send", id); err != nil {
			t.Fatal(err)
		}
	}
	if err := br.Send(ctx, "send", stream.NewMessage("redriven", stream.HeaderRetryAttempts, "2",
		stream.HeaderRetryFirstFailure, "1000", stream.HeaderRetryDue, "2000")); err != nil {
		t.Fatal(err)
	}
	// The others are sent by several goroutines: a send waits for the
	// broker's confirm.
	const senders = 16
	sendErr := make(chan error, senders)
	for s := range senders {
		go func() {
			var err error
			for i := s; i < h.Others && err == nil; i += senders {
				err = br.Send(ctx, "send", "m-"+strconv.Itoa(i))
			}
			sendErr <- err
		}()
	}
	for range senders {
		if err := <-sendErr; err != nil {
			t.Fatal(err)
		}
	}
	// Everything is sent before the consumer starts, so that what is timed
	// is the consumer's work, not the producer's.
	if err := app.Binding("work-in-0").Start(ctx); err != nil {
		t.Fatal(err)
	}
	wait(othersAll, 30*time.Second, "the other messages")
	mu.Lock()
	first := attempts["retried"][0].at
	end := othersEnd
	mu.Unlock()
	if flow := end.Sub(first); flow >= retryDelay1 {
		t.Errorf("the %d other messages were handled %s after the retried message's first failure; want them all before its first delay (%s) ends", h.Others, flow, retryDelay1)
	} else {
		t.Logf("%d other messages handled within %s of the first failure (delay %s)", h.Others, flow, retryDelay1)
	}
	if h.Interrupt != nil {
		mu.Lock()
		n := len(attempts["retried"])
		mu.Unlock()
		if n != 1 {
			t.Fatalf("retried was handled %d times before the interruption; the test needs it parked (1)", n)
		}
		h.Interrupt(t)
	}
	wait(retriedOK, retryDelay1+retryDelay2+retryDelaySlack, "the third attempt of the retried message")

	var dl, rdl, pdl stream.Message[string]
	for dl.Payload == "" || rdl.Payload == "" || pdl.Payload == "" {
		select {
		case m := <-deadCh:
			switch m.Payload {
			case "redriven":
				rdl = m
			case "permanent":
				pdl = m
			default:
				dl = m
			}
		case <-time.After(retryDelay1 + retryDelay2 + retryDelaySlack):
			t.Fatalf("the poison, redriven and permanent messages did not all reach the DLQ (poison: %t, redriven: %t, permanent: %t)", dl.Payload != "", rdl.Payload != "", pdl.Payload != "")
		}
	}

	mu.Lock()
	defer mu.Unlock()
	r := attempts["retried"]
	if len(r) != 3 && !(h.Duplicates && len(r) > 3) {
		t.Fatalf("retried handled %d times, want 3", len(r))
	}
	r = r[:3]
	for i, want := range []time.Duration{retryDelay1, retryDelay2} {
		got := r[i+1].at.Sub(r[i].at)
		if got < want-retryDelayEarly || got > want+retryDelaySlack {
			t.Errorf("attempt %d came %s after attempt %d; want at least %s (and under %s)", i+2, got, i+1, want-retryDelayEarly, want+retryDelaySlack)
		}
	}
	for i, a := range r {
		if got, want := a.h[stream.HeaderRetryAttempts], strconv.Itoa(i); i > 0 && got != want {
			t.Errorf("attempt %d: %s = %q, want %q", i+1, stream.HeaderRetryAttempts, got, want)
		}
		if i == 0 {
			if v, ok := a.h[stream.HeaderRetryAttempts]; ok {
				t.Errorf("first attempt carries %s = %q", stream.HeaderRetryAttempts, v)
			}
			continue
		}
		ff, err := strconv.ParseInt(a.h[stream.HeaderRetryFirstFailure], 10, 64)
		if err != nil || ff < r[0].at.UnixMilli() || ff > r[1].at.UnixMilli() {
			t.Errorf("attempt %d: %s = %q, want the first failure's time (%d..%d)", i+1, stream.HeaderRetryFirstFailure, a.h[stream.HeaderRetryFirstFailure], r[0].at.UnixMilli(), r[1].at.UnixMilli())
		}
		if got, want := a.h[stream.HeaderExceptionMessage], fmt.Sprintf("retried fails (attempt %d)", i); got != want {
			t.Errorf("attempt %d: %s = %q, want %q", i+1, stream.HeaderExceptionMessage, got, want)
		}
	}
	if dl.Payload != "poison" {
		t.Errorf("dead letter %q, want poison", dl.Payload)
	}
	if got := dl.Headers[stream.HeaderRetryAttempts]; got != "3" {
		t.Errorf("dead letter: %s = %q, want 3", stream.HeaderRetryAttempts, got)
	}
	// The handler numbers its calls of a payload, duplicates included: a
	// binder that redelivers after the interruption (Duplicates) counts
	// the arrival's third attempt as its own 3 while the handler may be
	// at a later call. The failure is the third attempt's either way,
	// never an earlier one's.
	if got := dl.Headers[stream.HeaderExceptionMessage]; !strings.Contains(got, "poison fails (attempt 3)") {
		k := -1
		if i := strings.Index(got, "poison fails (attempt "); i >= 0 && h.Duplicates {
			_, _ = fmt.Sscanf(got[i:], "poison fails (attempt %d)", &k)
		}
		if k < 3 {
			t.Errorf("dead letter: %s = %q, want the last failure", stream.HeaderExceptionMessage, got)
		}
	}
	if p := attempts["poison"]; len(p) != 3 && !(h.Duplicates && len(p) > 3) {
		t.Errorf("poison handled %d times, want 3", len(p))
	}
	rd := attempts["redriven"]
	if len(rd) != 3 && !(h.Duplicates && len(rd) > 3) {
		t.Errorf("redriven (arrived with %s = 2) handled %d times, want 3: attempts count per arrival", stream.HeaderRetryAttempts, len(rd))
	}
	if len(rd) == 0 {
		t.Fatal("redriven was dead-lettered without a handler call")
	}
	if v, ok := rd[0].h[stream.HeaderRetryAttempts]; ok {
		t.Errorf("redriven: first attempt carries %s = %q, want none", stream.HeaderRetryAttempts, v)
	}
	if got := rdl.Headers[stream.HeaderRetryAttempts]; got != "3" {
		t.Errorf("redriven dead letter: %s = %q, want 3", stream.HeaderRetryAttempts, got)
	}
	if ff, err := strconv.ParseInt(rdl.Headers[stream.HeaderRetryFirstFailure], 10, 64); err != nil || ff < rd[0].at.UnixMilli()-1 {
		t.Errorf("redriven dead letter: %s = %q, want its own first failure (from %d)", stream.HeaderRetryFirstFailure, rdl.Headers[stream.HeaderRetryFirstFailure], rd[0].at.UnixMilli())
	}
	// A permanent failure skips the delays; its dead letter says it had
	// one attempt, and when it failed.
	pa := attempts["permanent"]
	if len(pa) != 1 && !(h.Duplicates && len(pa) > 1) {
		t.Errorf("permanent handled %d times, want 1", len(pa))
	}
	if got := pdl.Headers[stream.HeaderRetryAttempts]; got != "1" {
		t.Errorf("permanent dead letter: %s = %q, want 1", stream.HeaderRetryAttempts, got)
	}
	if len(pa) > 0 {
		if ff, err := strconv.ParseInt(pdl.Headers[stream.HeaderRetryFirstFailure], 10, 64); err != nil || ff < pa[0].at.UnixMilli()-1 {
			t.Errorf("permanent dead letter: %s = %q, want its failure's time (from %d)", stream.HeaderRetryFirstFailure, pdl.Headers[stream.HeaderRetryFirstFailure], pa[0].at.UnixMilli())
		}
	}
	if v, ok := pdl.Headers[stream.HeaderRetryDue]; ok {
		t.Errorf("permanent dead letter carries %s = %q", stream.HeaderRetryDue, v)
	}
	if othersN != h.Others && !h.Duplicates {
		t.Errorf("%d other messages handled, want %d (duplicates)", othersN, h.Others)
	}
	stats := app.Binding("work-in-0").Stats()
	if got := stats.DelayedRetries; h.Duplicates && len(got) == 2 && got[0] >= 3 && got[1] >= 3 {
		// duplicates may be retried again
	} else if len(got) != 2 || got[0] != 3 || got[1] != 3 {
		t.Errorf("DelayedRetries = %v, want [3 3] (retried, poison and redriven, each at both levels)", got)
	}
}
