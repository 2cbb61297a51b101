package cron

import (
	"testing"
	"time"
)

// TestBreakNextMidnightDSTGap: Next restricts the day-of-week itself: when
// robfig's match n falls on a wrong weekday it retries from
// time.Date(next day, 00:00) minus a second. In a zone whose daylight
// saving time starts at midnight (America/Havana, America/Santiago,
// America/Asuncion until 2024: 00:00 -> 01:00), that midnight does not
// exist and time.Date normalises it to 23:00 of the day before; a second
// earlier is 22:59:59 of the wrong day again, before or at n, so robfig
// returns n again, and again, until maxDays rounds are used up: Next
// returns the zero time. Parse then refuses a valid expression at start-up
// ("matches no time in the next five years"), or, once running, the poller
// logs "names no further time" and never polls again. Any weekday
// restriction with a match between 23:00 and midnight on the eve of the
// change is hit: "0 */30 * * * MON-FRI" on Saturday 2026-09-05 in Santiago
// stops the poller for good.
//
// Spring's CronExpression works on ZonedDateTime and rolls the day forward
// in local time (the nonexistent hour is skipped, CronExpressionTests
// daylightSaving: "0 10 2 * * *" on the Amsterdam change day fires the
// next day), so it finds Sunday's 23:30. Expected: the next match, on the
// day after the gap. Fix: in Next, retry from the first instant of the
// next day found without time.Date's gap normalisation, e.g.
// time.Date(y, m, d+1, 0, 0, 0, 0, loc) and, if its Day() is not d+1
// (normalised backwards), step forward an hour at a time until it is.
func TestBreakNextMidnightDSTGap(t *testing.T) {
	for _, tc := range []struct {
		zone, expr, from, want string
	}{
		// Sunday 2026-03-08 00:00 does not exist in Havana.
		{"America/Havana", "0 30 23 * * SUN", "2026-03-07 12:00:00", "2026-03-08 23:30:00"},
		// Sunday 2026-09-06 00:00 does not exist in Santiago.
		{"America/Santiago", "0 30 23 * * SUN", "2026-09-05 12:00:00", "2026-09-06 23:30:00"},
		{"America/Santiago", "0 */30 * * * MON-FRI", "2026-09-05 12:00:00", "2026-09-07 00:00:00"},
	} {
		loc, err := time.LoadLocation(tc.zone)
		if err != nil {
			t.Skipf("no time zone data: %v", err)
		}
		s, err := Parse(tc.expr)
		if err != nil {
			t.Fatal(err)
		}
		from, err := time.ParseInLocation(time.DateTime, tc.from, loc)
		if err != nil {
			t.Fatal(err)
		}
		got := s.Next(from)
		if got.IsZero() || got.In(loc).Format(time.DateTime) != tc.want {
			t.Errorf("%s, %q after %s: got %v, want %s", tc.zone, tc.expr, tc.from, got, tc.want)
		}
	}
}
