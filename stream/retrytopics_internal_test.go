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
