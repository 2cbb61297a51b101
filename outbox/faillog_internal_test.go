package outbox

import (
	"fmt"
	"testing"
	"time"
)

// TestFailReports: the first failure of its kind is reported at once; its
// repeats at most once per failReportEvery, with their count; another
// name or error at once; a failure that did not recur for failForget is
// new again; the failures remembered are bounded.
func TestFailReports(t *testing.T) {
	t.Parallel()
	var f failReports
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	check := func(at time.Duration, name, err string, wantFirst bool, wantRepeats int64) {
		t.Helper()
		first, repeats, _ := f.note(t0.Add(at), name, err)
		if first != wantFirst || repeats != wantRepeats {
			t.Errorf("%s: note(%s, %s) = first %t, repeats %d; want %t, %d", at, name, err, first, repeats, wantFirst, wantRepeats)
		}
	}
	check(0, "a", "refused", true, 0)
	for i := 1; i < 60; i++ { // one a second: not reported
		check(time.Duration(i)*time.Second, "a", "refused", false, 0)
	}
	check(30*time.Second, "a", "timeout", true, 0) // another error
	check(30*time.Second, "b", "refused", true, 0) // another name
	check(60*time.Second, "a", "refused", false, 60)
	check(61*time.Second, "a", "refused", false, 0)
	check(121*time.Second, "a", "refused", false, 2) // the 61s one and this one
	// Quiet for longer than failForget: new again.
	check(121*time.Second+failForget+time.Second, "a", "refused", true, 0)
	first, repeats, since := f.note(t0.Add(121*time.Second+failForget+failReportEvery+time.Second), "a", "refused")
	if first || repeats != 1 || !since.Equal(t0.Add(121*time.Second+failForget+time.Second)) {
		t.Errorf("after a new report: first %t, repeats %d, since %s", first, repeats, since)
	}

	var g failReports
	for i := range 3 * maxFailReports {
		g.note(t0.Add(time.Duration(i)*time.Millisecond), fmt.Sprint("n", i), "refused") // names are not classed as errors are
	}
	if len(g.m) > maxFailReports {
		t.Errorf("%d failures remembered; want at most %d", len(g.m), maxFailReports)
	}
}

// TestFailClass: the numbers and quoted values of an error text do not
// make another failure; its words do.
func TestFailClass(t *testing.T) {
	same := [][2]string{
		{"kafka: send to evt: record of 1048577 bytes over batch-bytes 1048576", "kafka: send to evt: record of 2000001 bytes over batch-bytes 1048576"},
		{`publish to exchange "evt" with routing key "order-17": unroutable`, `publish to exchange "evt" with routing key "order-\"18\"": unroutable`},
		{"dial tcp 10.0.0.5:5672: connection refused", "dial tcp 10.0.0.6:5672: connection refused"},
	}
	for _, p := range same {
		if a, b := failClass(p[0]), failClass(p[1]); a != b {
			t.Errorf("failClass(%q) = %q, failClass(%q) = %q; want one failure", p[0], a, p[1], b)
		}
	}
	if failClass("[10] MESSAGE_TOO_LARGE") == failClass("[3] UNKNOWN_TOPIC_OR_PARTITION") {
		t.Error("two errors of different words are one failure")
	}
	if got := failClass(`unterminated "quote 12`); got != `unterminated "quote 12` {
		t.Errorf("an unterminated quote: %q, kept as written", got)
	}
}
