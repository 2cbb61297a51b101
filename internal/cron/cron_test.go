package cron

import (
	"strings"
	"testing"
	"time"
)

func at(s string) time.Time {
	t, err := time.Parse(time.DateTime, s)
	if err != nil {
		panic(err)
	}
	return t
}

// The expectations are what Spring's CronExpression.next gives (its
// documented examples and rules: SUN=7 and 0, AND of the day fields).
func TestNext(t *testing.T) {
	for _, tc := range []struct {
		expr, from string
		want       []string
	}{
		{"0 0 * * * *", "2026-12-04 21:30:00", []string{"2026-12-04 22:00:00", "2026-12-04 23:00:00"}},
		{"*/10 * * * * *", "2026-12-04 21:30:05", []string{"2026-12-04 21:30:10", "2026-12-04 21:30:20"}},
		{"0 0 8-10 * * *", "2026-12-04 09:30:00", []string{"2026-12-04 10:00:00", "2026-12-05 08:00:00"}},
		{"0 0 6,19 * * *", "2026-12-04 07:00:00", []string{"2026-12-04 19:00:00", "2026-12-05 06:00:00"}},
		{"0 0/30 8-10 * * *", "2026-12-04 10:30:00", []string{"2026-12-05 08:00:00", "2026-12-05 08:30:00"}},
		// 2026-12-04 is a Friday.
		{"0 0 9-17 * * MON-FRI", "2026-12-04 17:00:00", []string{"2026-12-07 09:00:00"}},
		{"0 0 0 25 DEC ?", "2026-12-04 00:00:00", []string{"2026-12-25 00:00:00", "2027-12-25 00:00:00"}},
		// Sunday is 7, 0 and SUN; MON-SUN is every day; 7 starting a range is 0.
		{"0 0 12 * * 7", "2026-12-04 00:00:00", []string{"2026-12-06 12:00:00", "2026-12-13 12:00:00"}},
		{"0 0 12 * * 0", "2026-12-04 00:00:00", []string{"2026-12-06 12:00:00"}},
		{"0 0 12 * * sun", "2026-12-04 00:00:00", []string{"2026-12-06 12:00:00"}},
		{"0 0 12 * * MON-SUN", "2026-12-04 13:00:00", []string{"2026-12-05 12:00:00", "2026-12-06 12:00:00", "2026-12-07 12:00:00"}},
		{"0 0 12 * * 7-1", "2026-12-04 00:00:00", []string{"2026-12-06 12:00:00", "2026-12-07 12:00:00", "2026-12-13 12:00:00"}},
		// */2 over Spring's 1-7: Monday, Wednesday, Friday, Sunday.
		{"0 0 12 * * */2", "2026-12-04 13:00:00", []string{"2026-12-06 12:00:00", "2026-12-07 12:00:00", "2026-12-09 12:00:00", "2026-12-11 12:00:00"}},
		// Both day fields restricted: both must match (Friday the 13th).
		{"0 0 0 13 * FRI", "2026-01-01 00:00:00", []string{"2026-02-13 00:00:00", "2026-03-13 00:00:00", "2026-11-13 00:00:00", "2027-08-13 00:00:00"}},
		{"@hourly", "2026-12-04 21:30:00", []string{"2026-12-04 22:00:00"}},
		{"@WEEKLY", "2026-12-04 21:30:00", []string{"2026-12-06 00:00:00"}},
		{"@yearly", "2026-12-04 21:30:00", []string{"2027-01-01 00:00:00"}},
		{"0 0 0 29 2 *", "2026-12-04 00:00:00", []string{"2028-02-29 00:00:00"}},
	} {
		s, err := Parse(tc.expr)
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.expr, err)
			continue
		}
		from := at(tc.from)
		for _, w := range tc.want {
			got := s.Next(from)
			if !got.Equal(at(w)) {
				t.Errorf("%q after %s: got %s, want %s", tc.expr, from.Format(time.DateTime), got.Format(time.DateTime), w)
				break
			}
			from = got
		}
	}
}

func TestNextIsAfter(t *testing.T) {
	s, err := Parse("* * * * * *")
	if err != nil {
		t.Fatal(err)
	}
	from := at("2026-12-04 21:30:00").Add(999 * time.Millisecond)
	if got := s.Next(from); !got.Equal(at("2026-12-04 21:30:01")) {
		t.Fatalf("got %s", got)
	}
	if got := s.Next(at("2026-12-04 21:30:00")); !got.Equal(at("2026-12-04 21:30:01")) {
		t.Fatalf("from a matching time: got %s, want the next second", got)
	}
}

func TestNextInLocation(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skip("no time zone data:", err)
	}
	s, err := Parse("0 30 2 * * *")
	if err != nil {
		t.Fatal(err)
	}
	// 2026-03-29 02:30 does not exist in Berlin (clocks go from 02:00 to 03:00).
	got := s.Next(time.Date(2026, 3, 28, 12, 0, 0, 0, berlin))
	if got.Location() != berlin || got.Hour() != 2 && got.Hour() != 3 {
		t.Fatalf("got %s", got)
	}
	if got.Before(time.Date(2026, 3, 29, 0, 0, 0, 0, berlin)) {
		t.Fatalf("got %s, before the 29th", got)
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct{ expr, want string }{
		{"", "empty cron expression"},
		{"   ", "empty cron expression"},
		{"0 * * * *", `has 5 fields, want 6 (second minute hour day-of-month month day-of-week); a Unix crontab line has no seconds field: put "0 " in front of it`},
		{"0 0 0 * * * 2026", "has 7 fields"},
		{"@every 5s", "unknown macro"},
		{"@reboot", "unknown macro"},
		{"61 * * * * *", `second field "61"`},
		{"0 0 24 * * *", `hour field "24"`},
		{"0 0 0 L * *", `day-of-month field "L": the Quartz extensions L (last day) and W`},
		{"0 0 0 15W * *", `day-of-month field "15W"`},
		{"0 0 0 ? * 5L", `day-of-week field "5L": the Quartz extensions L`},
		{"0 0 0 ? * FRI#2", `day-of-week field "FRI#2"`},
		{"0 0 0 * * 8", `"8" is not a day of the week`},
		{"0 0 0 * * FRI-MON", `range "5-1" runs backwards`},
		{"0 0 0 * * */0", `step "0"`},
		{"0 0 0 * * 1,,2", `"" is not a day of the week`},
		{"? * * * * *", "? stands alone, and only in day-of-month or day-of-week"},
		{"0 0 0 ?5 * *", "? stands alone"},
		{"0 0 0 * FOO *", `month field "FOO"`},
		{"0 0 0 31 2 *", "matches no time in the next five years"},
		{"CRON_TZ=UTC 0 0 0 * * *", "has 7 fields"},
	} {
		_, err := Parse(tc.expr)
		if err == nil {
			t.Errorf("Parse(%q): no error", tc.expr)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%q): %v; want it to say %q", tc.expr, err, tc.want)
		}
	}
}
