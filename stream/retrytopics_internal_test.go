package stream

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"
)

// delayedRetry: the attempts count up, the first-failure time stays, the
// due time is never before the full delay, the exception texts of a parked
// copy are bounded, and after the last delay there is none.
func TestDelayedRetryHeaders(t *testing.T) {
	delays := []time.Duration{time.Second, time.Minute}
	t0 := time.UnixMilli(1_700_000_000_000).Add(300 * time.Microsecond)
	env := Envelope{Payload: []byte("p"), Headers: Headers{"id": "m1"}}
	big := errors.New(strings.Repeat("é", 5000))
	dr, n := delayedRetry(delays, env, big, t0)
	if dr == nil || n != 1 || dr.Level != 0 || dr.Delay != time.Second {
		t.Fatalf("first failure: %+v, %d", dr, n)
	}
	h := dr.Headers
	if h[HeaderRetryAttempts] != "1" || h["id"] != "m1" || h[HeaderRetryFirstFailure] != strconv.FormatInt(t0.UnixMilli(), 10) {
		t.Errorf("headers %v", h)
	}
	if due, _ := strconv.ParseInt(h[HeaderRetryDue], 10, 64); time.UnixMilli(due).Before(t0.Add(time.Second)) {
		t.Errorf("due %d is before the full delay (%d)", due, t0.Add(time.Second).UnixMilli())
	}
	if m := h[HeaderExceptionMessage]; len(m) > maxRetryMessage+len(cutMark) || !strings.HasSuffix(m, cutMark) {
		t.Errorf("x-exception-message of %d bytes, want at most %d ending in %q", len(m), maxRetryMessage+len(cutMark), cutMark)
	}
	if st := h[HeaderExceptionStacktrace]; len(st) > maxRetryStacktrace+len(cutMark) {
		t.Errorf("x-exception-stacktrace of %d bytes", len(st))
	}
	if env.Headers[HeaderRetryAttempts] != "" {
		t.Error("the original headers were changed")
	}
	dr2, n := delayedRetry(delays, Envelope{Headers: h}, errors.New("second"), t0.Add(time.Second))
	if dr2 == nil || n != 2 || dr2.Delay != time.Minute || dr2.Headers[HeaderRetryFirstFailure] != h[HeaderRetryFirstFailure] || dr2.Headers[HeaderExceptionMessage] != "second" {
		t.Fatalf("second failure: %+v, %d", dr2, n)
	}
	if dr3, n := delayedRetry(delays, Envelope{Headers: dr2.Headers}, errors.New("third"), t0); dr3 != nil || n != 3 {
		t.Fatalf("after the last delay: %+v, %d; want none, 3", dr3, n)
	}
	dl := DeadLetterHeaders(dr2.Headers, &retriesExhausted{err: errors.New("third"), attempts: 3})
	if dl[HeaderRetryAttempts] != "3" || dl[HeaderExceptionMessage] != "third" || strings.Contains(dl[HeaderExceptionStacktrace], "retriesExhausted") {
		t.Errorf("dead letter headers %v", dl)
	}
}

// takeRetryMark: the retry headers count only on a delivery the binder
// marked; the mark (a forged one too) never reaches the handler, a parked
// copy or a dead letter, and the binder's headers are left as they were.
func TestTakeRetryMark(t *testing.T) {
	stale := Headers{"id": "m1", HeaderRetryAttempts: "2", HeaderRetryFirstFailure: "1000"}
	env, retry := takeRetryMark(Envelope{Headers: stale})
	if retry || env.Headers[HeaderRetryAttempts] != "" || env.Headers["id"] != "m1" || stale[HeaderRetryAttempts] != "2" {
		t.Errorf("unmarked: retry %t, headers %v (binder's %v)", retry, env.Headers, stale)
	}
	if dr, n := delayedRetry([]time.Duration{time.Second}, env, errors.New("x"), time.UnixMilli(5000)); dr == nil || n != 1 || dr.Headers[HeaderRetryFirstFailure] != "5000" {
		t.Errorf("unmarked arrival: %+v, %d; want the first delay, attempt 1, first failure 5000", dr, n)
	}

	forged := Headers{HeaderRetryAttempts: "2", headerRetryMark: "guess"}
	if env, retry := takeRetryMark(Envelope{Headers: forged}); retry || len(env.Headers) != 0 {
		t.Errorf("forged mark: retry %t, headers %v", retry, env.Headers)
	}

	marked := Headers{HeaderRetryAttempts: "2"}
	MarkRetryDelivery(marked)
	env, retry = takeRetryMark(Envelope{Headers: marked})
	if _, ok := env.Headers[headerRetryMark]; !retry || ok || RetryAttempts(env.Headers) != 2 {
		t.Errorf("marked: retry %t, headers %v", retry, env.Headers)
	}
	if _, ok := marked[headerRetryMark]; !ok {
		t.Error("the binder's headers lost the mark (a redelivery of the same delivery would not count)")
	}
	if _, ok := DeadLetterHeaders(marked, errors.New("x"))[headerRetryMark]; ok {
		t.Error("the dead letter carries the mark")
	}
	MarkRetryDelivery(nil) // no headers, nothing to mark

	if env, retry := takeRetryMark(Envelope{Headers: Headers{"id": "m2"}}); retry || env.Headers["id"] != "m2" {
		t.Errorf("plain: %t %v", retry, env.Headers)
	}
}
